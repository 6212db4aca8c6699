// meshdb-sql-fuzz: the parser's soak (`make soak-sql`). Mutates the sqllogictest corpus
// (Tests/Corpus/sqllogictest) with a seed and checks every input as ParserMutationTests does,
// printing progress and one summary line; exits 1 on any failure, printing the replay command.
import Foundation
import QueryPlanner

struct Options {
    var inputs = 1_000_000
    var seed: UInt64 = 1

    init(_ arguments: [String]) {
        var index = 0
        while index < arguments.count {
            let value = index + 1 < arguments.count ? arguments[index + 1] : ""
            switch arguments[index] {
            case "--inputs":
                guard let count = Int(value), count >= 0 else { Self.usage("--inputs takes a count") }
                inputs = count
            case "--seed":
                guard let number = UInt64(value) else { Self.usage("--seed takes an unsigned integer") }
                seed = number
            default: Self.usage("unknown argument \(arguments[index])")
            }
            index += 2
        }
    }

    static func usage(_ problem: String) -> Never {
        FileHandle.standardError.write(Data("meshdb-sql-fuzz: \(problem)\nusage: meshdb-sql-fuzz [--inputs N] [--seed S]\n".utf8))
        exit(2)
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Corpus/sqllogictest")
let names = ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).filter { $0.hasSuffix(".test") }
    + ((try? FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent("evidence").path)) ?? [])
        .filter { $0.hasSuffix(".test") }.map { "evidence/\($0)" }
var scripts: [String: String] = [:]
for name in names {
    guard let text = try? String(contentsOf: corpus.appendingPathComponent(name), encoding: .utf8) else {
        Options.usage("cannot read \(corpus.appendingPathComponent(name).path)")
    }
    scripts[name] = text
}
guard !scripts.isEmpty else { Options.usage("no sqllogictest scripts in \(corpus.path)") }
let seeds = ParserFuzz.seeds(fromScripts: scripts)
print("meshdb-sql-fuzz: \(seeds.count) corpus statements, \(options.inputs) inputs, seed \(options.seed)")

let clock = ContinuousClock()
let start = clock.now
let summary = ParserFuzz.run(seeds: seeds, inputs: options.inputs, seed: options.seed,
                             progressEvery: max(1, options.inputs / 10)) { summary in
    print("  \(summary.inputs) inputs, \(summary.failures.count) failures, \(clock.now - start)")
}
let elapsed = clock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
for failure in summary.failures.prefix(10) { print("FAILURE \(failure)") }
print("sql-fuzz seed \(options.seed): \(summary), \(Int(Double(summary.inputs) / max(seconds, 1e-9))) inputs/s, \(String(format: "%.1f", seconds)) s")
if !summary.failures.isEmpty {
    print("replay: swift run -c release meshdb-sql-fuzz --inputs \(options.inputs) --seed \(options.seed)")
    exit(1)
}
