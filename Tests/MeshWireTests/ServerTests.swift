import Foundation
import Logging
import MeshDB
import MeshWire
import PostgresNIO
import Testing
import TestSupport

/// The server end to end: a 4-node cluster, real sockets, real drivers.
@Suite(.heavy, .serialized) struct ServerTests {
    let logger = Logger(label: "meshwire.tests")

    func connect(port: Int, user: String = "meshdb", password: String? = nil) async throws -> PostgresConnection {
        try await connectPostgres(port: port, user: user, password: password, logger: logger)
    }

    @Test func postgresNIOCrud() async throws {
        let wire = try await WireTestCluster.start()
        do {
            let connection = try await connect(port: wire.port)
            try await connection.query("CREATE TABLE nio (id bigint PRIMARY KEY, name text, score double precision)", logger: logger)
            for id in 1...5 {
                try await connection.query("INSERT INTO nio VALUES (\(id), \("name \(id)"), \(Double(id) / 2))", logger: logger)
            }
            let rows = try await connection.query("SELECT id, name, score FROM nio WHERE id >= \(2) ORDER BY id", logger: logger)
            var seen: [(Int, String, Double)] = []
            for try await row in rows.decode((Int, String, Double).self) { seen.append(row) }
            #expect(seen.map(\.0) == [2, 3, 4, 5])
            #expect(seen.first?.1 == "name 2" && seen.first?.2 == 1.0)
            try await connection.query("UPDATE nio SET name = \("renamed") WHERE id = \(1)", logger: logger)
            try await connection.query("DELETE FROM nio WHERE id = \(5)", logger: logger)
            let count = try await connection.query("SELECT count(*) FROM nio", logger: logger)
            for try await (value) in count.decode(Int.self) { #expect(value == 4) }
            let renamed = try await connection.query("SELECT name FROM nio WHERE id = \(1)", logger: logger)
            for try await (name) in renamed.decode(String.self) { #expect(name == "renamed") }
            await #expect(throws: PSQLError.self) { try await connection.query("SELECT * FROM missing_table", logger: self.logger) }
            // The session survives the error.
            let again = try await connection.query("SELECT count(*) FROM nio", logger: logger)
            for try await (value) in again.decode(Int.self) { #expect(value == 4) }
            try await connection.close()
        } catch {
            await wire.stop()
            throw error
        }
        await wire.stop()
    }

    /// postgres-nio's `copyFrom` runs COPY through the extended protocol (Parse, Describe, Bind,
    /// Execute, Sync; then CopyData, CopyDone, Sync); a bad row fails it and the session goes on.
    @Test func postgresNIOCopyFromInTheExtendedProtocol() async throws {
        let wire = try await WireTestCluster.start()
        guard let connection = try? await connect(port: wire.port) else {
            await wire.stop()
            Issue.record("cannot connect")
            return
        }
        do {
            try await connection.query("CREATE TABLE niocopy (id bigint PRIMARY KEY, name text)", logger: logger)
            try await connection.copyFrom(table: "niocopy", columns: ["id", "name"], logger: logger) { writer in
                for id in 1...300 {
                    var buffer = ByteBuffer()
                    buffer.writeString("\(id)\tname \(id)\n")
                    try await writer.write(buffer)
                }
            }
            let count = try await connection.query("SELECT count(*), max(id) FROM niocopy", logger: logger)
            for try await (rows, highest) in count.decode((Int, Int).self) {
                #expect(rows == 300 && highest == 300)
            }
            await #expect(throws: PSQLError.self) {
                try await connection.copyFrom(table: "niocopy", logger: self.logger) { writer in
                    try await writer.write(ByteBuffer(string: "not a number\tx\n"))
                }
            }
            let after = try await connection.query("SELECT count(*) FROM niocopy", logger: logger)
            for try await (rows) in after.decode(Int.self) { #expect(rows == 300) }
            try await connection.close()
        } catch {
            // An unclosed postgres-nio connection traps the test process.
            try? await connection.close()
            await wire.stop()
            throw error
        }
        await wire.stop()
    }

    @Test func scramSHA256RightPasswordInWrongPasswordOut() async throws {
        let wire = try await WireTestCluster.start { options in
            options.authentication = .scramSHA256
            options.addUser("alice", password: "correct horse")
        }
        do {
            let connection = try await connect(port: wire.port, user: "alice", password: "correct horse")
            let rows = try await connection.query("SELECT 1", logger: logger)
            for try await value in rows.decode(Int.self) { #expect(value == 1) }
            try await connection.close()
            do {
                _ = try await connect(port: wire.port, user: "alice", password: "wrong")
                Issue.record("a wrong password was accepted")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == "28P01")
            }
        } catch {
            await wire.stop()
            throw error
        }
        await wire.stop()
    }

    /// Logins are checked against the users of the catalog (CREATE / ALTER / DROP USER), not
    /// only against the server's `--pg-user` list.
    @Test func scramLoginsAgainstCatalogUsers() async throws {
        let wire = try await WireTestCluster.start { options in
            options.authentication = .scramSHA256
            options.addUser("admin", password: "admin secret")
        }
        func logsIn(_ user: String, _ password: String) async throws -> Bool {
            do {
                let connection = try await connect(port: wire.port, user: user, password: password)
                let rows = try await connection.query("SELECT 1", logger: logger)
                for try await value in rows.decode(Int.self) { #expect(value == 1) }
                try await connection.close()
                return true
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "28P01" {
                return false
            }
        }
        do {
            let admin = try await connect(port: wire.port, user: "admin", password: "admin secret")
            #expect(try await !logsIn("bob", "b0b"), "a user that does not exist yet logged in")
            try await admin.query("CREATE USER bob PASSWORD 'b0b'", logger: logger)
            #expect(try await logsIn("bob", "b0b"))
            #expect(try await !logsIn("bob", "wrong"))
            try await admin.query("ALTER USER bob PASSWORD 'n3w'", logger: logger)
            #expect(try await !logsIn("bob", "b0b"), "the old password still works after ALTER USER")
            #expect(try await logsIn("bob", "n3w"))
            try await admin.query("DROP USER bob", logger: logger)
            #expect(try await !logsIn("bob", "n3w"), "a dropped user still logs in")
            try await admin.close()
        } catch {
            await wire.stop()
            throw error
        }
        await wire.stop()
    }

    @Test func connectionLimitAnswers53300() async throws {
        let wire = try await WireTestCluster.start { $0.maxConnections = 1 }
        do {
            let first = try await connect(port: wire.port)
            do {
                _ = try await connect(port: wire.port)
                Issue.record("a connection over max_connections was accepted")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == "53300")
            }
            try await first.close()
        } catch {
            await wire.stop()
            throw error
        }
        await wire.stop()
    }

    @Test func pythonDrivers() async throws {
        let wire = try await WireTestCluster.start()
        let drivers = [("psycopg2_crud.py", "psycopg2-binary"), ("psycopg3_crud.py", "psycopg"), ("asyncpg_crud.py", "asyncpg"),
                       ("psycopg2_transactions.py", "psycopg2-binary"), ("psycopg2_session.py", "psycopg2-binary"),
                       ("asyncpg_pool.py", "asyncpg"), ("psycopg3_prepared.py", "psycopg")]
        for (index, (script, package)) in drivers.enumerated() {
            guard let run = (try? await runClient("python3", ["\(clientScripts)/\(script)", String(wire.port), "py\(index)"])) ?? nil else {
                Issue.record("python3 is not installed (or did not start): install python3 and pip install \(package)")
                continue
            }
            if run.status == 3 {
                Issue.record("\(script) needs a Python package: pip install \(package)\n\(run.output)")
            } else {
                #expect(run.status == 0 && run.output.contains("OK"), "\(script):\n\(run.output)")
            }
        }
        await wire.stop()
    }

    @Test func psqlCreateInsertSelectCopyAndErrors() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meshwire-psql-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "3,c\n4,\"d,e\"\n".write(toFile: "\(directory)/in.csv", atomically: true, encoding: .utf8)
        let wire = try await WireTestCluster.start()
        let script = """
            CREATE TABLE ps (id int PRIMARY KEY, name text);
            INSERT INTO ps VALUES (1, 'a'), (2, 'b');
            \\copy ps from '\(directory)/in.csv' csv
            SELECT id, name FROM ps ORDER BY id;
            \\copy (SELECT id, name FROM ps ORDER BY id) to '\(directory)/out.csv' csv header
            \\d ps_pkey
            \\set VERBOSITY verbose
            SELECT nope FROM ps;
            """
        let psql = try? await runClient("psql", ["-X", "-h", "127.0.0.1", "-p", String(wire.port), "-U", "meshdb", "meshdb"],
                                        input: script)
        await wire.stop()
        guard let run = psql ?? nil else {
            Issue.record("psql is not installed (or did not start): apt-get install postgresql-client")
            return
        }
        #expect(run.output.contains("COPY 2"), "\(run.output)")
        #expect(run.output.contains("d,e"), "\(run.output)")
        #expect(run.output.contains("(4 rows)"), "\(run.output)")
        #expect(run.output.contains("42703"), "\(run.output)")
        #expect(run.output.contains("LINE 1: SELECT nope FROM ps"), "\(run.output)")
        // \d of an index lists its key columns (pg_attribute rows of the index, pg_index.indnullsnotdistinct).
        #expect(run.output.contains(" id     | integer | yes  | id"), "\(run.output)")
        #expect(run.output.contains("primary key, btree, for table \"public.ps\""), "\(run.output)")
        let exported = try String(contentsOfFile: "\(directory)/out.csv", encoding: .utf8)
        #expect(exported == "id,name\n1,a\n2,b\n3,c\n4,\"d,e\"\n")
    }
}
