import NIOCore
import NIOPosix
import Testing
@testable import MeshDB

/// How `NodeConnections` reports a connect that fails: a slow one is a timeout the transfers retry,
/// a refused one a lost node. Regression: a connect or handshake slower than 5 s while the whole
/// test suite loaded both cores was reported as "node lost", which marks the node dead for the
/// rest of a blob put; the put then ran out of nodes ("chunk 0 reached 1 of blob_write_quorum = 2
/// copies … last failure: node 0: node lost") although every node was up.
struct NodeConnectionsTests {
    /// A listener that accepts connections and never says a word: a node too loaded to handshake.
    static func silentListener() async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
    }

    static func member(port: Int) -> NodeConnections.Member {
        NodeConnections.Member(index: 0, publicKeyHex: String(repeating: "ab", count: 32), host: "127.0.0.1",
                               port: port, zone: "z", isUp: true)
    }

    @Test func aHandshakeThatTakesTooLongIsATimeoutNotALostNode() async throws {
        let listener = try await Self.silentListener()
        let connections = NodeConnections(members: [Self.member(port: listener.localAddress!.port!)],
                                          requestTimeout: .seconds(30), connectTimeout: .milliseconds(300))
        let answer = await connections.answer(.status, from: "0")
        guard case .timedOut(let reason) = answer else {
            Issue.record("expected a timeout, got \(answer)")
            await connections.close()
            try await listener.close()
            return
        }
        #expect(reason.contains("no handshake from 127.0.0.1"), "\(reason)")
        // The next connect that times out in a row reports the node lost: a node behind a
        // partition costs a transfer two timeouts, not two per chunk.
        let again = await connections.answer(.status, from: "0")
        guard case .nodeLost(let lost) = again else {
            Issue.record("expected a lost node after two timeouts in a row, got \(again)")
            await connections.close()
            try await listener.close()
            return
        }
        #expect(lost.contains("2 connects in a row timed out"), "\(lost)")
        await connections.close()
        try await listener.close()
    }

    @Test func aRefusedConnectionIsALostNodeWithItsReason() async throws {
        // A port nothing listens on: bind one, note it, close it.
        let listener = try await Self.silentListener()
        let port = listener.localAddress!.port!
        try await listener.close()
        let connections = NodeConnections(members: [Self.member(port: port)], requestTimeout: .seconds(30),
                                          connectTimeout: .seconds(5))
        let answer = await connections.answer(.status, from: "0")
        guard case .nodeLost(let reason) = answer else {
            Issue.record("expected a lost node, got \(answer)")
            return
        }
        #expect(reason.lowercased().contains("refused"), "\(reason)")
        await connections.close()
    }
}
