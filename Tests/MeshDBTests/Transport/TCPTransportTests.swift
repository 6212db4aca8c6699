import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import MeshDB
import TestSupport

/// Real sockets on 127.0.0.1: authenticated delivery, refusal of unknown keys, garbage frames.
@Suite(.heavy, .serialized) struct TCPTransportTests {
    final class Inbox: Sendable {
        let frames = Mutex<[(PublicKeyBytes, [UInt8])]>([])
        func add(_ key: PublicKeyBytes, _ bytes: [UInt8]) { frames.withLock { $0.append((key, bytes)) } }
        var count: Int { frames.withLock { $0.count } }
    }

    static func freePort() throws -> Int {
        let group = MultiThreadedEventLoopGroup.singleton
        let channel = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress!.port!
        try channel.close().wait()
        return port
    }

    static func waitUntil(_ seconds: Double = 30, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    struct Cluster {
        let identities: [NodeKey]
        let ports: [Int]
        let transports: [TCPTransport]
        let inboxes: [Inbox]
        let policy: HandshakePolicy
    }

    static func startCluster(nodes: Int, clusterID: [UInt8] = Array(repeating: 7, count: 32)) async throws -> Cluster {
        let identities = (0..<nodes).map { _ in NodeKey.generate() }
        let ports = try (0..<nodes).map { _ in try freePort() }
        let policy = HandshakePolicy(clusterID: clusterID, nodeKeys: Set(identities.map(\.publicKey)), acceptsClients: true)
        let peers = zip(identities, ports).map { TCPTransport.Peer(key: $0.publicKey, host: "127.0.0.1", port: $1) }
        let inboxes = (0..<nodes).map { _ in Inbox() }
        var transports: [TCPTransport] = []
        for index in 0..<nodes {
            let inbox = inboxes[index]
            let transport = TCPTransport(identity: identities[index], policy: policy, peers: peers,
                                         group: MultiThreadedEventLoopGroup.singleton,
                                         handlers: .init(nodeFrame: { key, bytes in inbox.add(key, bytes) }))
            try await transport.start(host: "127.0.0.1", port: ports[index])
            transports.append(transport)
        }
        return Cluster(identities: identities, ports: ports, transports: transports, inboxes: inboxes, policy: policy)
    }

    @Test func everyNodeReachesEveryOtherAuthenticated() async throws {
        let cluster = try await Self.startCluster(nodes: 3)
        for (from, transport) in cluster.transports.enumerated() {
            for (to, identity) in cluster.identities.enumerated() where to != from {
                for k in 0..<10 { transport.send([UInt8(from), UInt8(to), UInt8(k)], to: identity.publicKey) }
            }
        }
        try await Self.waitUntil { cluster.inboxes.allSatisfy { $0.count == 20 } }
        for (to, inbox) in cluster.inboxes.enumerated() {
            let frames = inbox.frames.withLock { $0 }
            #expect(frames.count == 20)
            for (key, bytes) in frames {
                // The sender named on delivery is the one whose key signed the handshake.
                #expect(cluster.identities[Int(bytes[0])].publicKey == key)
                #expect(Int(bytes[1]) == to)
            }
            // Per link, order is kept.
            let fromZero = frames.filter { $0.1[0] == (to == 0 ? 1 : 0) }.map { $0.1[2] }
            #expect(fromZero == Array(0..<10))
        }
        for transport in cluster.transports { await transport.shutdown() }
    }

    @Test func nodeWithAnUnknownKeyIsRefusedAndDeliversNothing() async throws {
        let cluster = try await Self.startCluster(nodes: 2)
        let stranger = NodeKey.generate()
        let strangerPolicy = HandshakePolicy(clusterID: cluster.policy.clusterID,
                                             nodeKeys: cluster.policy.nodeKeys.union([stranger.publicKey]), acceptsClients: false)
        let target = TCPTransport.Peer(key: cluster.identities[0].publicKey, host: "127.0.0.1", port: cluster.ports[0])
        let impostor = TCPTransport(identity: stranger, policy: strangerPolicy, peers: [target],
                                    group: MultiThreadedEventLoopGroup.singleton, handlers: .init(nodeFrame: { _, _ in }))
        try await impostor.start(host: "127.0.0.1", port: try Self.freePort())
        impostor.send([1, 2, 3], to: target.key)
        try await Self.waitUntil { (cluster.transports[0].rejectionCounts[.refused] ?? 0) > 0 }
        #expect((cluster.transports[0].rejectionCounts[.refused] ?? 0) > 0)
        #expect(!impostor.isConnected(to: target.key))
        #expect(cluster.inboxes[0].count == 0)
        await impostor.shutdown()
        for transport in cluster.transports { await transport.shutdown() }
    }

    @Test func garbageFramesAreDisconnectedCountedAndHarmNoOne() async throws {
        let cluster = try await Self.startCluster(nodes: 2)
        var random = SeededBytes(seed: 5)
        for attempt in 0..<20 {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: cluster.ports[0]).get()
            // A few plausible headers among the noise: huge length, bad version, unknown kind.
            let garbage: [UInt8] = switch attempt % 4 {
            case 0: [0xFF, 0xFF, 0xFF, 0xFF] + random.bytes(64)
            case 1: [0, 0, 0, 8, 42] + random.bytes(8)
            case 2: [0, 0, 0, 2, 1, 200]
            default: random.bytes(512)
            }
            try await channel.writeAndFlush(ByteBuffer(bytes: garbage))
            // Garbage that parses as the start of a handshake is closed by the handshake timeout
            // (5 s), so wait longer than that.
            try await Self.waitUntil(15) { !channel.isActive }
            #expect(!channel.isActive, "the node closes a connection that sent garbage")
            try? await channel.close()
        }
        let counts = cluster.transports[0].rejectionCounts
        let closed: Int = [TransportRejection.badFrame, .handshakeFailed, .handshakeTimedOut].reduce(0) { $0 + (counts[$1] ?? 0) }
        #expect(closed >= 20)
        // The honest link still works.
        cluster.transports[1].send([42], to: cluster.identities[0].publicKey)
        try await Self.waitUntil { cluster.inboxes[0].count == 1 }
        #expect(cluster.inboxes[0].frames.withLock { $0.map(\.1) } == [[42]])
        for transport in cluster.transports { await transport.shutdown() }
    }

    @Test func framesSentWhilePeerIsDownArriveOnceItStarts() async throws {
        let identities = [NodeKey.generate(), NodeKey.generate()]
        let ports = [try Self.freePort(), try Self.freePort()]
        let policy = HandshakePolicy(clusterID: Array(repeating: 1, count: 32), nodeKeys: Set(identities.map(\.publicKey)), acceptsClients: false)
        let peers = zip(identities, ports).map { TCPTransport.Peer(key: $0.publicKey, host: "127.0.0.1", port: $1) }
        let inbox = Inbox()
        let sender = TCPTransport(identity: identities[0], policy: policy, peers: peers,
                                  group: MultiThreadedEventLoopGroup.singleton, handlers: .init(nodeFrame: { _, _ in }))
        try await sender.start(host: "127.0.0.1", port: ports[0])
        for k in 0..<5 { sender.send([UInt8(k)], to: identities[1].publicKey) }
        try await Task.sleep(for: .milliseconds(300))   // a few failed connection attempts
        let receiver = TCPTransport(identity: identities[1], policy: policy, peers: peers,
                                    group: MultiThreadedEventLoopGroup.singleton, handlers: .init(nodeFrame: { key, bytes in inbox.add(key, bytes) }))
        try await receiver.start(host: "127.0.0.1", port: ports[1])
        try await Self.waitUntil { inbox.count == 5 }
        #expect(inbox.frames.withLock { $0.map(\.1) } == (0..<5).map { [UInt8($0)] })
        await sender.shutdown()
        await receiver.shutdown()
    }

    /// Regression: shutdown closed the listener but not the connections it had accepted, so peers
    /// kept "sending" to a stopped node, and a node restarted on the same port never heard them.
    @Test func shutdownClosesAcceptedConnectionsSoPeersReconnectToARestart() async throws {
        let cluster = try await Self.startCluster(nodes: 2)
        let target = cluster.identities[1].publicKey
        try await Self.waitUntil { cluster.transports[0].isConnected(to: target) }
        #expect(cluster.transports[0].isConnected(to: target))
        await cluster.transports[1].shutdown()
        try await Self.waitUntil { !cluster.transports[0].isConnected(to: target) }
        #expect(!cluster.transports[0].isConnected(to: target), "the peer saw the stopped node's connection close")

        let inbox = Inbox()
        let peers = zip(cluster.identities, cluster.ports).map { TCPTransport.Peer(key: $0.publicKey, host: "127.0.0.1", port: $1) }
        let restarted = TCPTransport(identity: cluster.identities[1], policy: cluster.policy, peers: peers,
                                     group: MultiThreadedEventLoopGroup.singleton, handlers: .init(nodeFrame: { key, bytes in inbox.add(key, bytes) }))
        try await restarted.start(host: "127.0.0.1", port: cluster.ports[1])
        cluster.transports[0].send([9], to: target)
        try await Self.waitUntil { inbox.count == 1 }
        #expect(inbox.count == 1)
        await restarted.shutdown()
        await cluster.transports[0].shutdown()
    }
}
