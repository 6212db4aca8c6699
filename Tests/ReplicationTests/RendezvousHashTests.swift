import Testing
import Replication

@Suite struct RendezvousHashTests {
    let nodes = (0..<8).map { RendezvousHash.Candidate(id: "node-\($0)") }

    @Test func ownersAreDistinctAndIndependentOfInputOrder() {
        let key = Array("chunk-42".utf8)
        let owners = RendezvousHash.owners(of: key, among: nodes, count: 3)
        #expect(owners.count == 3)
        #expect(Set(owners.map(\.id)).count == 3)
        #expect(RendezvousHash.owners(of: key, among: nodes.reversed(), count: 3) == owners)
    }

    @Test func removingACandidateMovesOnlyItsKeys() {
        let keys = (0..<500).map { Array("key-\($0)".utf8) }
        let before = keys.map { RendezvousHash.owners(of: $0, among: nodes, count: 1)[0].id }
        let survivors = nodes.filter { $0.id != "node-3" }
        let after = keys.map { RendezvousHash.owners(of: $0, among: survivors, count: 1)[0].id }
        for (old, new) in zip(before, after) where old != "node-3" {
            #expect(old == new)
        }
        #expect(before.contains("node-3"), "with 500 keys every node owns some")
    }

    @Test func spreadsOverZonesBeforeDoublingUp() {
        let zoned = (0..<6).map { RendezvousHash.Candidate(id: "n\($0)", zone: "z\($0 % 3)") }
        for k in 0..<50 {
            let owners = RendezvousHash.owners(of: Array("k\(k)".utf8), among: zoned, count: 3)
            #expect(Set(owners.compactMap(\.zone)).count == 3)
        }
        let four = RendezvousHash.owners(of: Array("k".utf8), among: zoned, count: 4)
        #expect(four.count == 4 && Set(four.map(\.id)).count == 4)
    }

    @Test func askingForMoreOwnersThanCandidatesReturnsAll() {
        #expect(RendezvousHash.owners(of: [1, 2], among: Array(nodes.prefix(2)), count: 5).count == 2)
    }
}
