import Testing

@testable import MeshDB

/// The tally of a verified read (f = 1: four replicas, two matching answers needed), driven as
/// the node runtime drives it: answers arrive, retry intervals pass.
@Suite struct PendingReadTests {
    /// A read from node 0's gateway, with every replica asked (the first two, then the hedge).
    static func read() -> PendingRead {
        var read = PendingRead(group: 1, members: [0, 1, 2, 3], needed: 2, query: [9])
        #expect(read.start(preferring: 0, rotation: 0) == [0, 1])
        #expect(read.hedge() == [2, 3])
        return read
    }

    /// f + 1 replicas are asked first: the gateway's own, then others in turn, so that the reads
    /// of the cluster's gateways spread over the replicas.
    @Test func theFirstAskedAreTheLocalReplicaAndOthersInTurn() {
        for (local, rotation, first) in [(0, 0, [0, 1]), (0, 1, [0, 2]), (0, 2, [0, 3]), (0, 7, [0, 2]),
                                          (2, 0, [2, 0]), (2, 2, [2, 3])] {
            var read = PendingRead(group: 1, members: [0, 1, 2, 3], needed: 2, query: [9])
            #expect(read.start(preferring: local, rotation: rotation) == first, "local \(local), rotation \(rotation)")
        }
        // A gateway without a replica of the group asks two others.
        var read = PendingRead(group: 1, members: [4, 5, 6, 7], needed: 2, query: [9])
        #expect(read.start(preferring: 0, rotation: 1) == [5, 6])
    }

    /// The first two disagree (one lies, or lags): the others are asked at once, and two matching
    /// answers among all four decide.
    @Test func aDisagreementAmongTheFirstAskedWidensTheReadToTheOthers() {
        var read = PendingRead(group: 1, members: [0, 1, 2, 3], needed: 2, query: [9])
        #expect(read.start(preferring: 0, rotation: 0) == [0, 1])
        #expect(read.record([6, 6, 6], from: 0) == .wait)
        #expect(read.record([1], from: 1) == .widen([2, 3]))
        #expect(read.hedge() == [])
        #expect(read.record([1], from: 3) == .agreed([1]))
    }

    /// One of the first two never answers (down): the hedge asks the others, and two of them
    /// agree; the silent one is not asked again.
    @Test func theHedgeAsksTheOthersWhenOneOfTheFirstIsSilent() {
        var read = PendingRead(group: 1, members: [0, 1, 2, 3], needed: 2, query: [9])
        #expect(read.start(preferring: 0, rotation: 0) == [0, 1])
        #expect(read.record([1], from: 0) == .wait)
        #expect(read.hedge() == [2, 3])
        #expect(read.hedge() == [])
        #expect(read.record([1], from: 2) == .agreed([1]))
    }

    /// A read that agrees at once never asks more than f + 1 replicas.
    @Test func twoMatchingFirstAnswersAskNobodyElse() {
        var read = PendingRead(group: 1, members: [0, 1, 2, 3], needed: 2, query: [9])
        #expect(read.start(preferring: 3, rotation: 5) == [3, 2])
        #expect(read.record([4], from: 2) == .wait)
        #expect(read.record([4], from: 3) == .agreed([4]))
    }

    @Test func twoMatchingAnswersAgreeWhateverTheOthersSay() {
        var read = Self.read()
        #expect(read.record([1], from: 0) == .wait)
        #expect(read.record([6, 6, 6], from: 3) == .wait)
        #expect(read.record([1], from: 2) == .agreed([1]))
    }

    @Test func aNodeCountsOnceHoweverOftenItAnswers() {
        var read = Self.read()
        #expect(read.record([6], from: 3) == .wait)
        #expect(read.record([6], from: 3) == .wait)
        #expect(read.record([6], from: 7) == .wait)  // not a member
        #expect(read.record([6], from: 1) == .agreed([6]))
    }

    /// Replicas a few batches apart answer differently; once all have, all are asked again, and
    /// their newer answers replace the old ones.
    @Test func disagreeingReplicasAreAllAskedAgainAndTheirNewAnswersCount() {
        var read = Self.read()
        #expect(read.record([1], from: 0) == .wait)
        #expect(read.record([2], from: 1) == .wait)
        #expect(read.record([3], from: 2) == .wait)
        #expect(read.record([4], from: 3) == .askAgain([0, 1, 2, 3], round: 1))
        // Asked again: nobody is idle, so the retry interval asks no one twice.
        #expect(read.retryDue() == [])
        #expect(read.record([4], from: 0) == .agreed([4]))
    }

    /// A replica that never answers (down, or still computing a large result) is not asked
    /// again; the ones that answered without agreement are, at each retry interval.
    @Test func theRetryIntervalAsksOnlyIdleNodesThatAnswered() {
        var read = Self.read()
        #expect(read.record([1], from: 0) == .wait)
        #expect(read.record([2], from: 1) == .wait)
        #expect(read.record([3], from: 2) == .wait)
        #expect(read.retryDue() == [0, 1, 2])
        #expect(read.retryDue() == [])
        #expect(read.record([2], from: 0) == .agreed([2]))
    }
}
