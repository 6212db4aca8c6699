import ArgumentParser
import Foundation
import SQLLogicTestKit

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run sqllogictest scripts on an engine and report passed / failed / skipped per file.",
        discussion: """
            Each script runs on a fresh, empty engine. Records guarded by skipif/onlyif for other \
            engines are skipped and counted by reason; so are records a --skip-list names. Exits \
            with status 1 when any record fails.
            """)

    @Option(name: .long, help: "Engine under test: sqlite (the reference) or meshdb.", transform: parseEngineKind)
    var engine: SQLTestEngineKind = .sqlite

    @Argument(help: "Script files or directories of *.test files (default: the corpus in Tests/Corpus/sqllogictest).")
    var paths: [String] = []

    @Flag(name: .long, help: "Print every file's skip reasons and progress.")
    var verbose = false

    @Option(name: .long, help: "Failures shown per file, with SQL, expected and actual values.")
    var maxFailures = 10

    @Option(name: .long, help: "Skip list: lines `line FILE:N => reason` or `sql REGEX => reason`.")
    var skipList: String?

    @Option(name: .long, parsing: .singleValue,
            help: "Engine name skipif/onlyif also match (repeatable; meshdb defaults to sqlite, since it executes on SQLite).")
    var guardAlias: [String] = []

    @Option(name: .long, help: "Hash results of more than N values, overriding hash-threshold records (0: never).")
    var hashThreshold: Int?

    func run() async throws {
        var options = SQLLogicTestRunner.Options()
        options.guardAliases = guardAlias.isEmpty ? engine.defaultGuardAliases : guardAlias
        options.failuresKeptMax = maxFailures
        options.hashThreshold = hashThreshold
        if let skipList {
            let text = try String(contentsOfFile: skipList, encoding: .utf8)
            options.skipList = try SQLLogicTestSkipList(parsing: text, source: skipList)
        }
        let runner = SQLLogicTestRunner(options: options)
        let files = try SQLLogicTestFiles.collect(paths.isEmpty ? [SQLLogicTestFiles.corpusDirectory] : paths)
        var reports: [SQLLogicTestFileReport] = []
        for file in files {
            let script = try SQLLogicTestFiles.load(file)
            let engineInstance = try await startEngine(engine, for: .scripts)
            let started = ContinuousClock.now
            let report = await runner.run(script, on: engineInstance)
            await engineInstance.close()
            if verbose { print("\(file): \(report.passed) passed, \(report.failed) failed in \(ContinuousClock.now - started)") }
            reports.append(report)
            for failure in report.failures { print(failure) }
            if report.failed > report.failures.count {
                print("\(file): \(report.failed - report.failures.count) more failures not shown (--max-failures)")
            }
        }
        print(SQLLogicTestSummary.render(reports, includeGuardReasons: verbose))
        if reports.contains(where: { $0.failed > 0 }) { throw ExitCode.failure }
    }
}
