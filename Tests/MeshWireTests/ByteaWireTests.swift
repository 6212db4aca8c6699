import Foundation
import Testing
import TestSupport

/// Large bytea values through a driver that binds parameters client-side: psycopg2 sends each
/// value inside the statement as hex, so a 100 MiB value is a 200 MiB simple Query, within
/// max_message_bytes and statement_bytes_max (256 MiB); the value goes to the chunk stores.
@Suite(.heavy, .serialized) struct ByteaWireTests {
    @Test func psycopg2RoundTripsByteaValuesUpTo100MiB() async throws {
        let wire = try await WireTestCluster.start()
        let outcome: ClientRun?
        do {
            outcome = try await runClient("python3", ["\(clientScripts)/psycopg2_bytea.py", String(wire.port), "media"], seconds: 900)
        } catch {
            await wire.stop()
            throw error
        }
        await wire.stop()
        guard let run = outcome else {
            Issue.record("python3 is not installed: install python3 and pip install psycopg2-binary")
            return
        }
        if run.status == 3 {
            Issue.record("psycopg2_bytea.py needs a Python package: pip install psycopg2-binary\n\(run.output)")
        } else {
            #expect(run.status == 0 && run.output.contains("OK"), "psycopg2_bytea.py:\n\(run.output)")
        }
    }
}
