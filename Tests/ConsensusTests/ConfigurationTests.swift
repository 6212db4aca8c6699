import Testing
@testable import Consensus

@Suite struct ConfigurationTests {
    @Test func quorumsFollowThreeFPlusOne() throws {
        let four = try GroupConfiguration(replicaCount: 4)
        #expect(four.faultsTolerated == 1)
        #expect(four.quorum == 3)
        #expect(four.replyQuorum == 2)
        let seven = try GroupConfiguration(replicaCount: 7)
        #expect(seven.faultsTolerated == 2)
        #expect(seven.quorum == 5)
        let one = try GroupConfiguration(replicaCount: 1)
        #expect(one.quorum == 1 && one.replyQuorum == 1)
    }

    @Test func rejectsCountsThatAreNotThreeFPlusOne() {
        for n in [0, 2, 3, 5, 6, 8] {
            #expect(throws: ConfigurationError.replicaCountNotThreeFPlusOne(n)) {
                try GroupConfiguration(replicaCount: n)
            }
        }
    }

    @Test func primaryRotatesWithView() throws {
        let config = try GroupConfiguration(replicaCount: 4)
        #expect((0..<8).map { config.primary(ofView: UInt64($0)) } == [0, 1, 2, 3, 0, 1, 2, 3])
    }
}
