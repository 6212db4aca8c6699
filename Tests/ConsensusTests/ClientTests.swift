import Testing
@testable import Consensus

/// The client (OSDI'99 §4.1): f+1 matching replies, retransmission to all, learning the view.
@Suite struct ClientTests {
    func reply(_ cluster: TestCluster, from replica: Int, view: UInt64 = 0, timestamp: UInt64 = 1, result: [UInt8]) -> [UInt8] {
        let reply = Reply(view: view, timestamp: timestamp, client: 1, replica: replica, result: result)
        return cluster.authenticator(forReplica: replica).seal(.reply(reply), to: [.client(1)])
    }

    /// A client of `cluster` with one request out, answered by `replicas` at `views`.
    func answered(_ cluster: TestCluster, from replicas: [Int], views: [UInt64], result: [UInt8]) throws -> Client {
        var client = cluster.clients[1]!
        _ = try client.submit(operation: [1])
        for (replica, view) in zip(replicas, views) {
            _ = client.receive(frame: reply(cluster, from: replica, view: view, result: result))
        }
        return client
    }

    func completed(_ actions: [ClientAction]) -> [UInt8]? {
        for case .completed(_, let result) in actions { return result }
        return nil
    }

    @Test func osdi4_1_clientAcceptsOnFPlus1MatchingRepliesOnly() throws {
        let cluster = TestCluster()
        var client = cluster.clients[1]!
        let sent = try client.submit(operation: [1])
        #expect(sent.contains { if case .send(_, let to) = $0 { to == [.replica(0)] } else { false } })
        #expect(completed(client.receive(frame: reply(cluster, from: 0, result: [7]))) == nil)
        #expect(completed(client.receive(frame: reply(cluster, from: 1, result: [8]))) == nil)
        // The same replica twice does not count twice.
        #expect(completed(client.receive(frame: reply(cluster, from: 0, result: [7]))) == nil)
        #expect(completed(client.receive(frame: reply(cluster, from: 2, result: [7]))) == [7])
        #expect(!client.hasOutstanding)
    }

    @Test func osdi4_1_clientLearnsTheViewAndSendsToItsPrimary() throws {
        let cluster = TestCluster()
        var client = try answered(cluster, from: [2, 3], views: [1, 1], result: [7])
        #expect(client.view == 1)
        let next = try client.submit(operation: [2])
        #expect(next.contains { if case .send(_, let to) = $0 { to == [.replica(1)] } else { false } })
    }

    /// One faulty replica claiming a high view must not move the client: it takes the highest
    /// view that f+1 replies reach (at least one of them from a correct replica).
    @Test func osdi4_1_clientLearnsOnlyAViewThatFPlus1RepliesVouchFor() throws {
        let cluster = TestCluster()
        var client = try answered(cluster, from: [3, 1], views: [9, 2], result: [7])
        #expect(!client.hasOutstanding)
        #expect(client.view == 2)
        _ = try client.submit(operation: [2])
        _ = client.receive(frame: reply(cluster, from: 0, view: 1, timestamp: 2, result: [8]))
        _ = client.receive(frame: reply(cluster, from: 2, view: 1, timestamp: 2, result: [8]))
        #expect(client.view == 2, "a view never goes back")
    }

    @Test func osdi4_1_clientResendsToAllReplicasOnTimeoutAndWaitsLonger() throws {
        let cluster = TestCluster()
        var client = cluster.clients[1]!
        _ = try client.submit(operation: [1])
        let resent = client.timerFired()
        #expect(resent.contains { if case .send(_, let to) = $0 { to.count == 4 } else { false } })
        #expect(resent.contains { if case .setTimer(let ticks) = $0 { ticks == 2 * client.retransmitTimeoutTicks } else { false } })
    }

    @Test func clientRejectsForgedReplies() throws {
        let cluster = TestCluster()
        var client = cluster.clients[1]!
        _ = try client.submit(operation: [1])
        var frame = reply(cluster, from: 0, result: [7])
        frame[frame.count - 1] ^= 1
        _ = client.receive(frame: frame)
        #expect(client.droppedReplies == 1)
        #expect(throws: ClientError.requestOutstanding) { try client.submit(operation: [2]) }
    }
}
