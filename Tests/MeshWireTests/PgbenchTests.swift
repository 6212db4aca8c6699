import Foundation
import MeshDB
import NIOPosix
import Testing
import TestSupport

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

/// A `meshdb demo --no-repl` child process (the binary built next to the test bundle) on free
/// ports of 127.0.0.1, with its data and output in a temporary directory: pgbench runs against
/// the demo exactly as a user would start it.
struct DemoProcess {
    let process: ChildProcess
    let directory: String
    /// PostgreSQL port of node 0.
    let port: Int

    static func start(within seconds: Double = 60) async throws -> DemoProcess {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meshwire-demo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // LocalCluster's allocator, shared by every test of the process (never hands a port out twice).
        let base = try await LocalCluster.freePortRange(4, group: MultiThreadedEventLoopGroup.singleton)
        let port = try await LocalCluster.freePortRange(4, group: MultiThreadedEventLoopGroup.singleton)
        let process = try ChildProcess(try builtProduct("meshdb").path,
                                       ["demo", "--data", directory + "/data", "--port", String(port), "--base-port", String(base), "--no-repl"],
                                       output: .file(directory + "/demo.log"))
        let demo = DemoProcess(process: process, directory: directory, port: port)
        let deadline = Date().addingTimeInterval(seconds)
        while !demo.output.contains("connect: postgres://") {
            guard process.isRunning, Date() < deadline else {
                demo.stop()
                throw DemoProcessError(description: "meshdb demo did not become ready within \(seconds) s: \(demo.output)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return demo
    }

    var output: String { (try? String(contentsOfFile: directory + "/demo.log", encoding: .utf8)) ?? "" }

    /// SIGTERM (the demo shuts down), SIGKILL after 10 s; then the directory is removed.
    func stop() {
        process.send(SIGTERM)
        if process.waitUntilExit(seconds: 10) == nil {
            process.send(SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct DemoProcessError: Error, CustomStringConvertible {
    let description: String
}

/// Runs pgbench with `arguments` through `runClient` (ChildProcess starts it with no signal
/// blocked: pgbench ends a `-T` run on SIGALRM).
func runPgbench(_ arguments: [String], seconds: Double) async throws -> ClientRun? {
    try await runClient("pgbench", arguments, seconds: seconds)
}

/// Whether pgbench is on the PATH (Debian's postgresql-15; .ci/run installs it).
let pgbenchInstalled = ChildProcess.find("pgbench") != nil

/// The real pgbench against a 4-node cluster: `pgbench -i` with its default steps (drop, create,
/// client-side generation through COPY inside BEGIN … COMMIT, vacuum, primary keys), then short
/// runs of the select-only script, the TPC-B-like script (BEGIN … END) and a custom script of
/// single-row UPDATEs and INSERTs by key, each with no failed transaction; the balances add up.
@Suite(.heavy, .serialized) struct PgbenchTests {
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
        let demo = try await DemoProcess.start()
        let script = demo.directory + "/custom.sql"
        do {
            try Self.customScript.write(toFile: script, atomically: true, encoding: .utf8)
            let connection = ["-h", "127.0.0.1", "-p", String(demo.port), "-U", "meshdb"]
            func psql(_ sql: String) async throws -> String {
                let run = try #require(try await runClient("psql", ["-X", "-A", "-t", "-c", sql] + connection + ["meshdb"], seconds: 60),
                                       "psql is not installed: apt-get install postgresql-client")
                #expect(run.status == 0, "psql: \(run.output)")
                return run.output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let initRun = try #require(try await runPgbench(["-i", "-s", "1"] + connection + ["meshdb"], seconds: 240))
            #expect(initRun.status == 0, "pgbench -i: \(initRun.output)")
            #expect(initRun.output.contains("creating primary keys..."), "\(initRun.output)")
            #expect(try await psql("""
                SELECT (SELECT count(*) FROM pgbench_branches), (SELECT count(*) FROM pgbench_tellers), (SELECT count(*) FROM pgbench_accounts)
                """) == "1|10|100000")

            // -S first, with pgbench's start-up vacuum and truncate of pgbench_history; the runs
            // that write come after with -n, so that history keeps every delta they record.
            let runs: [(name: String, arguments: [String])] = [
                ("select-only", ["-S"]),
                ("TPC-B-like", ["-n"]),
                ("custom script", ["-n", "-f", script]),
            ]
            for (name, arguments) in runs {
                let run = try #require(try await runPgbench(arguments + ["-T", "5", "-c", "4"] + connection + ["meshdb"], seconds: 60))
                #expect(run.status == 0, "pgbench \(name): \(run.output)")
                let report = PgbenchReport(parsing: run.output)
                #expect(report != nil, "pgbench \(name) printed no summary: \(run.output)")
                #expect(report?.failed == 0, "pgbench \(name): \(run.output)")
                #expect((report?.processed ?? 0) > 0, "pgbench \(name): \(run.output)")
            }

            let balances = try await psql("""
                SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(delta) FROM pgbench_history), (SELECT count(*) FROM pgbench_history)
                """).split(separator: "|").map(String.init)
            #expect(balances.count == 3 && balances[0] == balances[1], "sum(abalance) | sum(delta) | history rows: \(balances)")
            #expect((Int(balances.last ?? "") ?? 0) > 0, "history rows: \(balances)")
        } catch {
            demo.stop()
            throw error
        }
        demo.stop()
    }
}
