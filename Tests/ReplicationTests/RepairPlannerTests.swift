import Testing
import Replication

/// `RepairPlanner` driven directly: census answers in, copies out.
@Suite struct RepairPlannerTests {
    static let four = ["0", "1", "2", "3"]

    static func planner(_ live: [String] = four, replicas: Int = 3, copiesMax: Int = 64) throws -> RepairPlanner {
        var options = RepairPlanner.Options()
        options.copiesPerRoundMax = copiesMax
        return try RepairPlanner(placement: ChunkPlacement(replicas: replicas, nodes: live.map { .init(id: $0) }), options: options)
    }

    static func chunk(_ n: Int) -> [UInt8] { Array("chunk-\(n)".utf8) }

    @Test func aChunkOnRNodesNeedsNothing() throws {
        let planner = try Self.planner()
        let owners = planner.placement.owners(of: Self.chunk(1))
        let plan = planner.plan([.init(chunk: Self.chunk(1), holders: Set(owners))], answered: Set(Self.four))
        #expect(plan == RepairPlanner.Plan())
    }

    @Test func aMissingCopyGoesToTheFirstNonHolderOfTheRanking() throws {
        let planner = try Self.planner()
        let ranking = planner.placement.ranking(of: Self.chunk(2))
        let holders = [ranking[0], ranking[2]]
        let plan = planner.plan([.init(chunk: Self.chunk(2), holders: Set(holders))], answered: Set(Self.four))
        #expect(plan.copies == [.init(chunk: Self.chunk(2), sources: holders, target: ranking[1])])
        #expect(plan.underReplicated == 1 && plan.lost.isEmpty && plan.deferredCopies == 0)
    }

    @Test func aNodeMarkedDownLeavesTheRankingAndItsCopiesMoveToTheFallback() throws {
        // Node 3 holds copies but is down: placement is over the three live nodes only.
        let live = try Self.planner(["0", "1", "2"])
        var census: [RepairPlanner.Census] = []
        for n in 0..<40 {
            let full = try Self.planner().placement.owners(of: Self.chunk(n))
            census.append(.init(chunk: Self.chunk(n), holders: Set(full)))
        }
        let plan = live.plan(census, answered: ["0", "1", "2"])
        let lostCopy = census.filter { $0.holders.contains("3") }
        #expect(!lostCopy.isEmpty, "with 40 chunks node 3 holds some")
        #expect(plan.underReplicated == lostCopy.count)
        #expect(plan.copies.count == lostCopy.count)
        for copy in plan.copies {
            let holders = census.first { $0.chunk == copy.chunk }!.holders
            #expect(!holders.contains(copy.target) && copy.target != "3")
            #expect(Set(copy.sources) == holders.subtracting(["3"]))
        }
    }

    @Test func aSilentNodeIsNeitherAHolderNorATargetAndItsPossibleCopyIsAwaited() throws {
        let planner = try Self.planner()
        let ranking = planner.placement.ranking(of: Self.chunk(3))
        let plan = planner.plan([.init(chunk: Self.chunk(3), holders: [ranking[0]])], answered: Set(ranking.filter { $0 != ranking[1] }))
        #expect(plan.copies == [.init(chunk: Self.chunk(3), sources: [ranking[0]], target: ranking[2])])
        #expect(plan.awaitingAnswer == 1 && plan.underReplicated == 1)
        // Two holders and one silent node: nothing to copy until it answers or is marked down.
        let waiting = planner.plan([.init(chunk: Self.chunk(3), holders: [ranking[0], ranking[2]])], answered: Set(ranking.filter { $0 != ranking[1] }))
        #expect(waiting.copies.isEmpty && waiting.awaitingAnswer == 1)
    }

    @Test func aChunkNobodyHoldsIsReportedLost() throws {
        let planner = try Self.planner()
        let plan = planner.plan([.init(chunk: Self.chunk(4), holders: [])], answered: Set(Self.four))
        #expect(plan.lost == [Self.chunk(4)] && plan.copies.isEmpty && plan.underReplicated == 1)
    }

    @Test func copiesBeyondTheRoundLimitAreDeferred() throws {
        let planner = try Self.planner(copiesMax: 5)
        let census = (0..<10).map { n in RepairPlanner.Census(chunk: Self.chunk(n), holders: [planner.placement.ranking(of: Self.chunk(n))[0]]) }
        let plan = planner.plan(census, answered: Set(Self.four))
        #expect(plan.copies.count == 5 && plan.deferredCopies == 15 && plan.underReplicated == 10)
        #expect(plan.copies.map(\.chunk) == [Self.chunk(0), Self.chunk(0), Self.chunk(1), Self.chunk(1), Self.chunk(2)])
    }

    @Test func withFewerLiveNodesThanRTheLiveNodesAreTheTarget() throws {
        let planner = try Self.planner(["0", "1"])
        let plan = planner.plan([.init(chunk: Self.chunk(5), holders: ["0"])], answered: ["0", "1"])
        #expect(plan.copies.map(\.target) == ["1"], "R is capped by the live nodes: two copies is all two nodes can hold")
        #expect(planner.plan([.init(chunk: Self.chunk(5), holders: ["0", "1"])], answered: ["0", "1"]) == RepairPlanner.Plan())
        let answeredOne = planner.plan([.init(chunk: Self.chunk(5), holders: ["0"])], answered: ["0"])
        #expect(answeredOne.copies.isEmpty && answeredOne.awaitingAnswer == 1)
        let three = try Self.planner(["0", "1", "2"])
        let twoAnswered = three.plan([.init(chunk: Self.chunk(5), holders: ["0", "1"])], answered: ["0", "1"])
        #expect(twoAnswered.copies.isEmpty && twoAnswered.awaitingAnswer == 1)
    }

    @Test func eachChunkHasExactlyOneDriverAndEveryNodeAgrees() throws {
        let planner = try Self.planner()
        let chunks = (0..<200).map(Self.chunk)
        let driven = Self.four.map { planner.chunks(drivenBy: $0, among: chunks + chunks) }
        #expect(driven.map(\.count).reduce(0, +) == chunks.count, "every chunk once, duplicates dropped")
        #expect(driven.allSatisfy { !$0.isEmpty }, "the work spreads over every node")
        let reordered = try RepairPlanner(placement: ChunkPlacement(nodes: Self.four.reversed().map { .init(id: $0) }))
        #expect(chunks.allSatisfy { planner.driver(of: $0) == reordered.driver(of: $0) })
    }

    @Test func aRoundChecksABoundedWindowAndTheNextRoundsTakeTheRestInTurn() throws {
        var options = RepairPlanner.Options()
        options.censusChunksPerRoundMax = 4
        let planner = try RepairPlanner(placement: ChunkPlacement(nodes: Self.four.map { .init(id: $0) }), options: options)
        let driven = Array(0..<10)
        var cursor = 0
        var seen: [Int] = []
        for _ in 0..<3 {
            let (chunks, next) = planner.window(of: driven, from: cursor)
            #expect(chunks.count == 4)
            seen += chunks
            cursor = next
        }
        #expect(seen == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1] && cursor == 2)
        #expect(planner.window(of: Array(0..<3), from: 2) == ([0, 1, 2], 0), "a short list is checked whole")
        #expect(planner.window(of: driven, from: 50).chunks == [0, 1, 2, 3], "a cursor past a shrunken list starts over")
    }

    @Test func invalidOptionsAreRefusedByName() throws {
        #expect(throws: BlobTransferError.invalidOptions("repair_copies_per_round_max must be at least 1; got 0")) {
            _ = try Self.planner(copiesMax: 0)
        }
    }
}
