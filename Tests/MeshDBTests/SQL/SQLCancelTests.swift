import Foundation
import QueryPlanner
import Testing
@testable import MeshDB
import TestSupport

/// A canceled statement stops working, not only answering. Regression (found by the REPL's
/// Ctrl-C test): a cross join finished in the gateway's scratch SQLite kept running after its
/// Task was canceled, holding one of the cooperative pool's threads for as long as its SQL ran.
@Suite(.heavy, .serialized) struct SQLCancelTests {
    @Test func cancelingTheTaskInterruptsTheScratchQuery() async throws {
        let demo = try await GatewayTests.startDemo()
        do {
            let session = SQLSession(gateway: demo.nodes[0].gateway)
            _ = try await session.execute("CREATE TABLE spin (id bigint PRIMARY KEY)")
            _ = try await session.execute("INSERT INTO spin SELECT g FROM generate_series(1, 2000) AS g")
            // 8 * 10^9 rows: hours of work if nothing stops it.
            let query = Task { try await session.execute("SELECT count(*) FROM spin a, spin b, spin c") }
            try await Task.sleep(for: .milliseconds(500))
            let canceledAt = ContinuousClock.now
            query.cancel()
            let outcome = await query.result
            let took = ContinuousClock.now - canceledAt
            switch outcome {
            case .success(let results): Issue.record("the cross join finished: \(results)")
            case .failure: break
            }
            // Generous: an uninterrupted run takes hours; an interrupted one stops at its next step.
            #expect(took < .seconds(30), "the canceled statement ran on for \(took)")
            // The session is usable afterwards.
            #expect(try await session.execute("SELECT count(*) FROM spin")[0].rows == [[.integer(2000)]])
        } catch {
            await demo.stop()
            throw error
        }
        await demo.stop()
    }
}
