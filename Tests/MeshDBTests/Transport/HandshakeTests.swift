import Testing
@testable import MeshDB

@Suite struct HandshakeTests {
    let clusterID = [UInt8](repeating: 0xC1, count: 32)
    let alice = NodeKey.generate()
    let bob = NodeKey.generate()
    let mallory = NodeKey.generate()

    func policy(_ members: [NodeKey], clients: Bool = true, cluster: [UInt8]? = nil) -> HandshakePolicy {
        HandshakePolicy(clusterID: cluster ?? clusterID, nodeKeys: Set(members.map(\.publicKey)), acceptsClients: clients)
    }

    func nonce(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: 32) }

    /// Runs two handshakes against each other until neither has anything to send.
    func run(_ a: inout Handshake, _ b: inout Handshake) -> (a: [Handshake.Output], b: [Handshake.Output]) {
        var outA = a.start(), outB = b.start()
        var allA = outA, allB = outB
        for _ in 0..<4 {
            let toB = outA.compactMap { if case .send(let f) = $0 { f } else if case .refuse(let f, _) = $0 { f } else { nil } }
            let toA = outB.compactMap { if case .send(let f) = $0 { f } else if case .refuse(let f, _) = $0 { f } else { nil } }
            outA = toA.flatMap { a.receive($0) }
            outB = toB.flatMap { b.receive($0) }
            allA += outA
            allB += outB
        }
        return (allA, allB)
    }

    @Test func membersProveTheirKeysToEachOther() {
        var a = Handshake(identity: alice, role: .node, policy: policy([alice, bob]), nonce: nonce(1), expectedPeer: bob.publicKey)
        var b = Handshake(identity: bob, role: .node, policy: policy([alice, bob]), nonce: nonce(2))
        let (outA, outB) = run(&a, &b)
        #expect(outA.contains(.established(peer: bob.publicKey, role: .node)))
        #expect(outB.contains(.established(peer: alice.publicKey, role: .node)))
        #expect(a.isEstablished && b.isEstablished)
    }

    @Test func unknownNodeKeyIsRefusedNamingIt() {
        var m = Handshake(identity: mallory, role: .node, policy: policy([alice, mallory]), nonce: nonce(3))
        var b = Handshake(identity: bob, role: .node, policy: policy([alice, bob]), nonce: nonce(4))
        let (outM, outB) = run(&m, &b)
        #expect(outB.contains { if case .refuse(_, let reason) = $0 { reason.contains(mallory.publicKey.short) } else { false } })
        #expect(outM.contains { if case .fail(.refusedByPeer(let reason)) = $0 { reason.contains("not a member") } else { false } })
        #expect(!b.isEstablished)
    }

    @Test func anotherClusterIsRefused() {
        var a = Handshake(identity: alice, role: .node, policy: policy([alice, bob], cluster: nonce(9)), nonce: nonce(1))
        var b = Handshake(identity: bob, role: .node, policy: policy([alice, bob]), nonce: nonce(2))
        let (_, outB) = run(&a, &b)
        #expect(outB.contains { if case .refuse(_, let reason) = $0 { reason.contains("another cluster") } else { false } })
    }

    @Test func clientsAreAcceptedOnlyWhereAllowed() {
        let client = NodeKey.generate()
        var c = Handshake(identity: client, role: .client, policy: policy([alice], clients: false), nonce: nonce(5))
        var a = Handshake(identity: alice, role: .node, policy: policy([alice], clients: true), nonce: nonce(6))
        let (outC, outA) = run(&c, &a)
        #expect(outA.contains(.established(peer: client.publicKey, role: .client)))
        #expect(outC.contains(.established(peer: alice.publicKey, role: .node)))

        var c2 = Handshake(identity: client, role: .client, policy: policy([alice], clients: false), nonce: nonce(7))
        var a2 = Handshake(identity: alice, role: .node, policy: policy([alice], clients: false), nonce: nonce(8))
        let (_, outA2) = run(&c2, &a2)
        #expect(outA2.contains { if case .refuse = $0 { true } else { false } })
    }

    /// Mallory knows Alice's public key but not her private key: a proof recorded from one of
    /// Alice's handshakes does not verify on a connection with a different nonce.
    @Test func replayedProofFromAnotherConnectionFails() {
        var a = Handshake(identity: alice, role: .node, policy: policy([alice, bob]), nonce: nonce(1))
        var b1 = Handshake(identity: bob, role: .node, policy: policy([alice, bob]), nonce: nonce(2))
        let (outA, _) = run(&a, &b1)
        let recordedProof = outA.compactMap { if case .send(let f) = $0, f.kind == .proof { f } else { nil } }.first!
        let recordedHello = outA.compactMap { if case .send(let f) = $0, f.kind == .hello { f } else { nil } }.first!

        var b2 = Handshake(identity: bob, role: .node, policy: policy([alice, bob]), nonce: nonce(3))
        _ = b2.start()
        _ = b2.receive(recordedHello)
        let result = b2.receive(recordedProof)
        #expect(result.contains { if case .fail(.handshake(let reason)) = $0 { reason.contains("bad signature") } else { false } })
        #expect(!b2.isEstablished)
    }

    @Test func dialingTheWrongNodeIsRefused() {
        var a = Handshake(identity: alice, role: .node, policy: policy([alice, bob, mallory]), nonce: nonce(1), expectedPeer: bob.publicKey)
        var m = Handshake(identity: mallory, role: .node, policy: policy([alice, bob, mallory]), nonce: nonce(2))
        let (outA, _) = run(&a, &m)
        #expect(outA.contains { if case .refuse(_, let reason) = $0 { reason.contains("expected node") } else { false } })
    }

    @Test func dataBeforeTheHandshakeEndsIt() {
        var b = Handshake(identity: bob, role: .node, policy: policy([alice, bob]), nonce: nonce(2))
        _ = b.start()
        #expect(b.receive(TransportFrame(kind: .data, payload: [1])).contains { if case .fail = $0 { true } else { false } })
    }

    @Test func aClientKnowingOnlyTheAddressReachesAnyNodeAndLearnsItsKey() {
        let client = NodeKey.generate()
        var c = Handshake(identity: client, role: .client, policy: .anyNode, nonce: nonce(5))
        var a = Handshake(identity: alice, role: .node, policy: policy([alice]), nonce: nonce(6))
        let (outC, outA) = run(&c, &a)
        #expect(outC.contains(.established(peer: alice.publicKey, role: .node)))
        #expect(outA.contains(.established(peer: client.publicKey, role: .client)))
    }

    @Test func aNodeNeverAcceptsAnotherNodeClaimingTheUnknownCluster() {
        var m = Handshake(identity: mallory, role: .node, policy: .anyNode, nonce: nonce(5))
        var a = Handshake(identity: alice, role: .node, policy: policy([alice, mallory]), nonce: nonce(6))
        let (_, outA) = run(&m, &a)
        #expect(outA.contains { if case .refuse(_, let reason) = $0 { reason.contains("another cluster") } else { false } })
    }
}
