import ArgumentParser
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Load a PostgreSQL-protocol server (MeshDB or PostgreSQL) with one workload and report ops/s and latency.",
        discussion: """
            Speaks the PostgreSQL protocol (postgres-nio), so the same run measures `meshdb demo` and \
            a PostgreSQL server alike. The setup step drops and creates the workload's tables \
            (bench_kv, bench_insert, bench_blobs, bench_accounts/tellers/branches/history) and loads \
            them; --no-setup reuses what is there. Each client has its own connection and runs one \
            operation at a time. A progress line per second goes to stderr (ops/s, p50, p99, errors); \
            the final report, from an HdrHistogram of every latency, goes to stdout (text, or one JSON \
            object with --json). The exit status is 0 even when operations failed: read `errors`.

            Workloads: point-select, insert, update, mixed (80 % point-select, 20 % update), \
            range-scan (100 keys), aggregate (count/sum/min/max over the table), blob-put and \
            blob-get (one bytea value of --value-bytes), tpcb (pgbench's TPC-B-like transaction).
            """)

    @Option(name: .long, help: "postgresql://[user[:password]@]host[:port][/database][?sslmode=disable|require]")
    var target = BenchTarget.defaultURL

    @Option(name: .long, help: "One of: \(Workload.allCases.map(\.rawValue).joined(separator: ", ")).")
    var workload: String = Workload.pointSelect.rawValue

    @Option(name: .long, help: "Concurrent clients, one connection each (1...1000).")
    var clients = 4

    @Option(name: .long, help: "How long to run: 30s, 2m, 500ms, or seconds as a number.")
    var duration = "10s"

    @Option(name: .long, help: "Rows the setup loads (keys 1...rows; accounts for tpcb).")
    var rows = 10_000

    @Option(name: .customLong("value-bytes"), help: "Size of a blob-put / blob-get value (0...64 MiB).")
    var valueBytes = 16_384

    @Option(name: .customLong("blob-rows"), help: "Values the blob-get setup stores.")
    var blobRows = 16

    @Flag(name: .customLong("no-setup"), help: "Use the tables already there.")
    var noSetup = false

    @Flag(name: .long, help: "Print the report as one JSON object.")
    var json = false

    @Flag(name: .long, help: "No progress lines.")
    var quiet = false

    func validate() throws {
        guard Workload(rawValue: workload) != nil else {
            throw ValidationError("unknown workload \"\(workload)\": use one of \(Workload.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (1...1000).contains(clients) else { throw ValidationError("--clients must be 1...1000, got \(clients)") }
        guard (1...100_000_000).contains(rows) else { throw ValidationError("--rows must be 1...100000000, got \(rows)") }
        guard (0...(64 << 20)).contains(valueBytes) else { throw ValidationError("--value-bytes must be 0...67108864 (64 MiB), got \(valueBytes)") }
        guard (1...100_000).contains(blobRows) else { throw ValidationError("--blob-rows must be 1...100000, got \(blobRows)") }
        _ = try Self.parseDuration(duration)
        _ = try BenchTarget(url: target)
    }

    func run() async throws {
        let workload = Workload(rawValue: workload)!
        let target = try BenchTarget(url: target)
        let settings = Workload.Settings(rows: rows, valueBytes: valueBytes, blobRows: blobRows)
        var runner = BenchRunner(target: target, workload: workload, clients: clients, duration: try Self.parseDuration(duration),
                                 settings: settings, progress: !quiet)
        runner.setUp = !noSetup
        let report: BenchReport
        do {
            report = try await runner.run()
        } catch let error as BenchError {
            throw ValidationError(error.description)
        }
        print(json ? report.json : report.text)
    }

    /// `30s`, `2m`, `500ms`, `1.5` (seconds); 0 < duration ≤ 24 h.
    static func parseDuration(_ text: String) throws -> Duration {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = text
        var scale = 1.0
        for unit in units where text.hasSuffix(unit.suffix) {
            number = String(text.dropLast(unit.suffix.count))
            scale = unit.seconds
            break
        }
        guard let value = Double(number), value > 0, value * scale <= 86_400 else {
            throw ValidationError("--duration must be a positive time up to 24h such as 30s, 2m or 500ms, got \"\(text)\"")
        }
        return .milliseconds(Int64((value * scale * 1000).rounded()))
    }
}
