import Foundation
import Logging
import MeshDB
import MeshWire
import PostgresNIO
import Testing
import TestSupport

/// Timeouts, cancel and TLS: the limits of issue 6 on a real server.
@Suite(.heavy, .serialized) struct ServerLimitTests {
    let logger = Logger(label: "meshwire.limits")

    func connect(port: Int, user: String = "meshdb", password: String? = nil) async throws -> PostgresConnection {
        try await connectPostgres(port: port, user: user, password: password, logger: logger)
    }

    /// With two of four nodes down no write can reach its quorum of three, so an INSERT waits:
    /// the statement timeout ends it with 57014 and the session goes on.
    @Test func statementTimeoutEndsAWriteThatCannotCommit() async throws {
        // 3 s, not 1 s: the timeout also bounds the SELECT that shows the session going on, and
        // on a loaded CI machine (the whole suite in parallel) that SELECT took over a second.
        let wire = try await WireTestCluster.start { $0.statementTimeout = .seconds(3) }
        do {
            // The table is made outside the 1 s statement timeout: under a loaded CI machine a
            // CREATE TABLE through the wire took longer and failed with 57014 (stop 12 → 13).
            _ = try await SQLSession(gateway: wire.cluster.nodes[0].gateway).execute("CREATE TABLE slow (id bigint PRIMARY KEY)")
            let connection = try await connect(port: wire.port)
            await wire.cluster.nodes[2].stop()
            await wire.cluster.nodes[3].stop()
            let started = ContinuousClock.now
            do {
                try await connection.query("INSERT INTO slow VALUES (1)", logger: logger)
                Issue.record("a write without quorum succeeded")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == "57014")
                #expect(error.serverInfo?[.message]?.contains("statement_timeout") == true)
            }
            #expect(ContinuousClock.now - started < .seconds(30))
            do {
                let rows = try await connection.query("SELECT 7", logger: logger)
                for try await value in rows.decode(Int.self) { #expect(value == 7) }
            } catch {
                Issue.record("the session did not go on after the timeout: \(String(reflecting: error))")
            }
            // The session's own statement_timeout, when shorter, is the one that ends it.
            try await connection.query("SET statement_timeout = '1s'", logger: logger)
            do {
                try await connection.query("INSERT INTO slow VALUES (2)", logger: logger)
                Issue.record("a write without quorum succeeded")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == "57014")
                #expect(error.serverInfo?[.message]?.contains("statement_timeout = 1.0 seconds") == true, "\(String(reflecting: error))")
            }
            // Closed on every path: postgres-nio asserts (and the debug test process traps)
            // when a connection is released unclosed.
            try await connection.close()
        } catch {
            await wire.stop()
            throw error
        }
        await wire.stop()
    }

    /// psql sends a CancelRequest on SIGINT; the running statement ends with 57014.
    @Test func cancelRequestFromPsqlCancelsTheRunningStatement() async throws {
        let wire = try await WireTestCluster.start()
        do {
            let connection = try await connect(port: wire.port)
            try await connection.query("CREATE TABLE stuck (id bigint PRIMARY KEY)", logger: logger)
            try await connection.close()
            await wire.cluster.nodes[2].stop()
            await wire.cluster.nodes[3].stop()
            // SIGINT goes out a second after psql has connected (under load a fixed delay could
            // reach it before it installs its cancel handler). ChildProcess starts psql with an
            // empty signal mask and SIGINT at its default disposition.
            guard let run = try await runClient("psql", ["-X", "-h", "127.0.0.1", "-p", String(wire.port),
                                                         "-U", "meshdb", "-c", "INSERT INTO stuck VALUES (1)", "meshdb"],
                                                seconds: 30, interruptAfter: .seconds(1),
                                                interruptOnceTrue: { wire.server.connectionCount > 0 }) else {
                Issue.record("psql is not installed: apt-get install postgresql-client")
                await wire.stop()
                return
            }
            #expect(run.output.contains("canceling statement due to user request"), "\(run.output)")
        } catch {
            await wire.stop()
            throw error
        }
        await wire.stop()
    }

    @Test func idleSessionTimeoutClosesTheSession() async throws {
        let wire = try await WireTestCluster.start { $0.idleSessionTimeout = .milliseconds(300) }
        do {
            let connection = try await connect(port: wire.port)
            try await Task.sleep(for: .seconds(1))
            #expect(connection.isClosed)
            #expect(wire.server.connectionCount == 0)
        } catch {
            await wire.stop()
            throw error
        }
        await wire.stop()
    }

    @Test func tlsWithPsqlSslmodeRequire() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meshwire-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard let made = try await runClient("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                                                         "-keyout", "\(directory)/key.pem", "-out", "\(directory)/cert.pem"]) else {
            Issue.record("openssl is not installed: apt-get install openssl")
            return
        }
        #expect(made.status == 0, "\(made.output)")
        let wire = try await WireTestCluster.start {
            $0.tlsCertificatePath = "\(directory)/cert.pem"
            $0.tlsPrivateKeyPath = "\(directory)/key.pem"
        }
        do {
            guard let run = try await runClient("psql", ["-X", "-At", "-c", "SELECT 'over tls'",
                                                         "host=127.0.0.1 port=\(wire.port) user=meshdb dbname=meshdb sslmode=require"]) else {
                Issue.record("psql is not installed: apt-get install postgresql-client")
                await wire.stop()
                return
            }
            #expect(run.status == 0 && run.output.contains("over tls"), "\(run.output)")
            // A client that does not ask for TLS still gets in.
            let plain = try await runClient("psql", ["-X", "-At", "-c", "SELECT 'plain'",
                                                     "host=127.0.0.1 port=\(wire.port) user=meshdb dbname=meshdb sslmode=disable"])
            #expect(plain?.output.contains("plain") == true, "\(plain?.output ?? "")")
        } catch {
            await wire.stop()
            throw error
        }
        await wire.stop()
    }
}
