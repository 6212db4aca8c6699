import Testing
@testable import MeshDB

@Suite struct ClusterLayoutTests {
    func members(_ count: Int, zones: [String] = []) -> [ClusterLayout.Member] {
        (0..<count).map { index in
            let key = NodeKey.generate()
            return ClusterLayout.Member(index: index, key: key.publicKey, agreementKey: key.agreementPublicKey, host: "127.0.0.1",
                                        port: 7400 + index, pgPort: 5433 + index, zone: zones.isEmpty ? nil : zones[index % zones.count])
        }
    }

    @Test(arguments: [1, 4, 7])
    func smallClustersPutEveryNodeInEveryGroup(count: Int) {
        let groups = ClusterLayout.placeGroups(members(count))
        #expect(groups.map(\.id) == [0, 1])
        #expect(groups.allSatisfy { $0.members == Array(0..<count) })
    }

    @Test func largerClustersMakeMoreGroupsOfAtMostSeven() {
        let nodes = members(16)
        let groups = ClusterLayout.placeGroups(nodes)
        #expect(groups.count == 1 + 16 / 7)
        #expect(groups.allSatisfy { $0.members.count == 7 && Set($0.members).count == 7 })
        // Every node computes the same placement, whatever order it lists the members in.
        #expect(ClusterLayout.placeGroups(nodes.reversed()) == groups)
    }

    @Test func groupsSpreadOverZones() {
        let groups = ClusterLayout.placeGroups(members(10, zones: ["a", "b", "c"]))
        for group in groups {
            let zones = Set(group.members.map { ["a", "b", "c"][$0 % 3] })
            #expect(zones.count == 3, "group \(group.id) uses every zone")
        }
    }

    @Test func fiveNodesMakeGroupsOfFour() {
        let groups = ClusterLayout.placeGroups(members(5))
        #expect(groups.allSatisfy { $0.members.count == 4 })
    }
}
