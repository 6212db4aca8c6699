import Foundation
import MeshDB
import Testing

/// What a pgbench run printed that the tests check: transactions processed and failed.
struct PgbenchReport: Equatable {
    var processed: Int
    var failed: Int
}

extension PgbenchReport {
    /// Reads pgbench 15's summary lines ("number of transactions actually processed: 123",
    /// "number of failed transactions: 0 (0.000%)"); nil when either is missing.
    init?(parsing output: String) {
        func number(after label: String) -> Int? {
            guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(label) }) else { return nil }
            return Int(line.dropFirst(label.count).prefix { $0.isNumber })
        }
        guard let processed = number(after: "number of transactions actually processed: "),
              let failed = number(after: "number of failed transactions: ") else { return nil }
        self.processed = processed
        self.failed = failed
    }
}

/// Whether pgbench is on the PATH (Debian's postgresql-15; .ci/run installs it).
let pgbenchInstalled = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    .contains { FileManager.default.isExecutableFile(atPath: "\($0)/pgbench") }

/// The real pgbench against a 4-node cluster: `pgbench -i` with its default steps (drop, create,
/// client-side generation through COPY inside BEGIN … COMMIT, vacuum, primary keys), then short
/// runs of the select-only script, the TPC-B-like script (BEGIN … END) and a custom script of
/// single-row UPDATEs and INSERTs by key, each with no failed transaction; the balances add up.
@Suite(.serialized) struct PgbenchTests {
    /// Single-row writes by key, as a DApp's would be: an UPDATE of one account and the INSERT
    /// that records it, each its own transaction.
    static let customScript = """
        \\set aid random(1, 100000 * :scale)
        \\set delta random(-5000, 5000)
        UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
        INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, :aid, :delta, CURRENT_TIMESTAMP);

        """

    @Test func reportParsesPgbenchSummary() {
        let output = """
            transaction type: <builtin: TPC-B (sort of)>
            number of transactions actually processed: 140
            number of failed transactions: 2 (1.408%)
            latency average = 579.012 ms
            """
        #expect(PgbenchReport(parsing: output) == PgbenchReport(processed: 140, failed: 2))
        #expect(PgbenchReport(parsing: "pgbench: error: connection refused") == nil)
    }

    @Test(.enabled(if: pgbenchInstalled, "pgbench is not installed: apt-get install postgresql-15"))
    func initThenSelectOnlyTPCBAndCustomScriptWithoutFailures() async throws {
        let wire = try await WireTestCluster.start()
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("meshwire-pgbench-\(UUID().uuidString).sql").path
        do {
            try Self.customScript.write(toFile: script, atomically: true, encoding: .utf8)
            let connection = ["-h", "127.0.0.1", "-p", String(wire.port), "-U", "meshdb"]
            let initRun = try #require(try await runClient("pgbench", ["-i", "-s", "1"] + connection + ["meshdb"], seconds: 240))
            #expect(initRun.status == 0, "pgbench -i: \(initRun.output)")
            #expect(initRun.output.contains("creating primary keys..."), "\(initRun.output)")

            let session = SQLSession(gateway: wire.cluster.gateway)
            let counts = try await session.execute("""
                SELECT (SELECT count(*) FROM pgbench_branches), (SELECT count(*) FROM pgbench_tellers), (SELECT count(*) FROM pgbench_accounts)
                """)
            #expect(counts.last?.rows == [[.integer(1), .integer(10), .integer(100_000)]])

            // -S first, with pgbench's start-up vacuum and truncate of pgbench_history; the runs
            // that write come after with -n, so that history keeps every delta they record.
            let runs: [(name: String, arguments: [String])] = [
                ("select-only", ["-S"]),
                ("TPC-B-like", ["-n"]),
                ("custom script", ["-n", "-f", script]),
            ]
            for (name, arguments) in runs {
                let run = try #require(try await runClient("pgbench", arguments + ["-T", "5", "-c", "4"] + connection + ["meshdb"], seconds: 60))
                #expect(run.status == 0, "pgbench \(name): \(run.output)")
                let report = PgbenchReport(parsing: run.output)
                #expect(report != nil, "pgbench \(name) printed no summary: \(run.output)")
                #expect(report?.failed == 0, "pgbench \(name): \(run.output)")
                #expect((report?.processed ?? 0) > 0, "pgbench \(name): \(run.output)")
            }

            let balances = try await session.execute("""
                SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(delta) FROM pgbench_history), (SELECT count(*) FROM pgbench_history)
                """)
            let row = try #require(balances.last?.rows.first)
            #expect(row[0] == row[1], "sum(abalance) \(row[0]) differs from sum(delta) \(row[1])")
            if case .integer(let historyRows) = row[2] { #expect(historyRows > 0) } else { Issue.record("count(*) gave \(row[2])") }
        } catch {
            try? FileManager.default.removeItem(atPath: script)
            await wire.stop()
            throw error
        }
        try? FileManager.default.removeItem(atPath: script)
        await wire.stop()
    }
}
