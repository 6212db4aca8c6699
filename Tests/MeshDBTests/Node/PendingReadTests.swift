import Testing

@testable import MeshDB

/// The tally of a verified read (f = 1: four replicas, two matching answers needed), driven as
/// the node runtime drives it: answers arrive, retry intervals pass.
@Suite struct PendingReadTests {
    static func read() -> PendingRead {
        var read = PendingRead(group: 1, members: [0, 1, 2, 3], needed: 2, query: [9])
        #expect(read.start() == [0, 1, 2, 3])
        return read
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
