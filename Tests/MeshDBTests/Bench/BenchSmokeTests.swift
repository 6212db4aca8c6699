import Foundation
import Testing

/// `meshdb bench` end to end for a few seconds against `meshdb demo` and against a real
/// PostgreSQL 15 started by the test: sane figures — operations done, none failed (issue 9).
@Suite(.serialized) struct BenchSmokeTests {
    static let workloads = ["point-select", "insert", "update", "range-scan", "aggregate", "tpcb", "blob-get"]

    /// Runs each workload for 2 s with 2 clients and checks its JSON report.
    func check(_ target: String, label: String, in cluster: ProcessCluster) async throws {
        let meshdb = try builtProduct("meshdb").path
        for workload in Self.workloads {
            let run = try await runTool(meshdb, ["bench", "--target", target, "--workload", workload, "--clients", "2",
                                                 "--duration", "2s", "--rows", "500", "--value-bytes", "4096", "--json", "--quiet"],
                                        seconds: 90)
            let line = run.output.split(separator: "\n").last.map(String.init) ?? ""
            guard run.status == 0, let report = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                cluster.expect(false, "meshdb bench \(workload) against \(label) exited \(run.status):\n\(run.output)")
                continue
            }
            let operations = report["operations"] as? Int ?? 0
            let errors = report["errors"] as? Int ?? -1
            cluster.expect(operations > 0, "\(label) \(workload): no operation completed: \(line)")
            cluster.expect(errors == 0, "\(label) \(workload): \(errors) errors: \(line)")
        }
    }

    @Test func benchAgainstTheDemoAndPostgreSQL() async throws {
        let cluster = try await ProcessCluster(nodes: 4, initialize: false)
        try await cluster.run { cluster in
            let demo = try await cluster.startDemo()
            try await check(demo, label: "meshdb demo", in: cluster)
            guard LocalPostgres.isInstalled else {
                cluster.expect(false, "PostgreSQL 15 is not installed (\(LocalPostgres.binaries)): apt-get install postgresql-15")
                return
            }
            let postgres = try await LocalPostgres.start(in: cluster.dir)
            defer { postgres.stop() }
            try await check(postgres.url, label: "PostgreSQL 15", in: cluster)
        }
    }
}
