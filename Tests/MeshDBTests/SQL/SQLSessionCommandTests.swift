import QueryPlanner
import Testing
@testable import MeshDB
import TestSupport

/// The session resets connection pools and drivers send, RESET ALL, and the functions they call.
@Suite(.heavy, .serialized) struct SQLSessionCommandTests {
    static func state(_ error: any Error) -> String? { (error as? SQLError)?.state.code }

    @Test func poolResetsLeaveTheSessionAsItStarted() async throws {
        let demo = try await GatewayTests.startDemo()
        do {
            let session = try SQLSession(gateway: demo.nodes[0].gateway, backendPID: 3, user: "meshdb",
                                         startupSettings: [("application_name", "pool"), ("mesh.read_consistency", "local")])
            // asyncpg's reset of a released pool connection, as one simple query.
            let reset = try await session.execute("SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;")
            #expect(reset.map(\.tag) == ["SELECT 1", "CLOSE CURSOR ALL", "UNLISTEN", "RESET"])
            #expect(reset[0].rows == [[.null]])

            _ = try await session.execute("SET application_name = 'changed'; SET mesh.read_consistency = linearizable")
            _ = try await session.execute("RESET ALL")
            #expect(try await session.execute("SHOW application_name")[0].rows == [[.text("pool")]])
            #expect(try await session.execute("SHOW mesh.read_consistency")[0].rows == [[.text("local")]])

            _ = try await session.execute("SET application_name = 'changed'; CREATE TEMP VIEW tv AS SELECT 1 AS one")
            #expect(try await session.execute("DISCARD ALL")[0].tag == "DISCARD ALL")
            #expect(try await session.execute("SHOW application_name")[0].rows == [[.text("pool")]])
            await #expect(throws: SQLError.self) { try await session.execute("SELECT * FROM tv") }

            // Nothing of these exists in MeshDB: naming one is an error, as in PostgreSQL.
            await #expect { try await session.execute("DEALLOCATE p1") } throws: { Self.state($0) == "26000" }
            await #expect { try await session.execute("CLOSE c1") } throws: { Self.state($0) == "34000" }
            #expect(try await session.execute("DEALLOCATE ALL; DISCARD PLANS; DISCARD TEMP").map(\.tag)
                == ["DEALLOCATE ALL", "DISCARD PLANS", "DISCARD TEMP"])

            // DISCARD ALL is refused inside a block, which goes on failed (25P02 until ROLLBACK).
            _ = try await session.execute("BEGIN")
            await #expect { try await session.execute("DISCARD ALL") } throws: { Self.state($0) == "25001" }
            _ = try await session.execute("ROLLBACK")

            let now = try await session.execute("SELECT now() = current_timestamp, localtimestamp IS NOT NULL")
            #expect(now[0].rows == [[.integer(1), .integer(1)]])
        } catch {
            await demo.stop()
            throw error
        }
        await demo.stop()
    }
}
