import Testing
@testable import Consensus

/// The deterministic simulator (STYLE.md §2): many seeds with mixed faults must show no safety
/// violation and no liveness failure; a run replays from its seed; the checkers can fail.
@Suite struct SimulationTests {
    /// Shorter runs than `meshdb sim`, so that CI stays fast in a debug build.
    static func config(seed: UInt64, replicas: Int, faults: FaultMode) -> SimulationConfig {
        var config = SimulationConfig(seed: seed, replicaCount: replicas, faults: faults)
        config.faultPhaseTicks = 1_200
        config.correctClients = 2
        config.requestsAfterHeal = 2
        config.clientThinkTicksMax = 120
        return config
    }

    static let modes: [FaultMode] = [.all, .byzantine, .network, .crash, .all, .none]

    /// 300 seeds in all: 200 with n = 4 and 100 with n = 7, faults mixed by seed.
    @Test(arguments: 0..<10)
    func mixedFaultSeedsStaySafeAndLive(chunk: Int) throws {
        var sweep = SimulationSweep()
        for offset in 0..<30 {
            let seed = UInt64(chunk * 30 + offset + 1)
            let replicas = seed % 3 == 0 ? 7 : 4
            let faults = Self.modes[Int(seed % UInt64(Self.modes.count))]
            let result = try Simulation(Self.config(seed: seed, replicas: replicas, faults: faults)).run()
            sweep.add(result)
            #expect(result.passed, "meshdb sim --seeds 1 --seed \(seed) --replicas \(replicas) --faults \(faults): \(result.violations.first ?? "liveness") [\(result.scenario)]")
        }
        #expect(sweep.seeds == 30)
        #expect(sweep.violations == 0 && sweep.livenessFailures == 0)
        #expect(sweep.committed > 0)
    }

    @Test func sameSeedGivesTheSameTrace() throws {
        let first = try Simulation(Self.config(seed: 11, replicas: 4, faults: .all)).run()
        let second = try Simulation(Self.config(seed: 11, replicas: 4, faults: .all)).run()
        let other = try Simulation(Self.config(seed: 12, replicas: 4, faults: .all)).run()
        #expect(first.traceDigest == second.traceDigest)
        #expect(first.committed == second.committed && first.simulatedTicks == second.simulatedTicks)
        #expect(first.traceDigest != other.traceDigest)
    }

    /// The agreement checker can fail: replicas that match votes without the digest, under an
    /// equivocating primary, execute different batches at one sequence number.
    @Test func agreementCheckerCatchesBrokenVoteMatching() throws {
        var caught = 0
        for seed: UInt64 in 1...10 {
            var config = Self.config(seed: seed, replicas: 4, faults: .byzantine)
            config.forcedBehavior = .equivocatingPrimary
            config.forcedFaultyReplica = 0
            config.replicaOptions.brokenVoteMatchingForTests = true
            let result = try Simulation(config).run()
            if result.violations.contains(where: { $0.hasPrefix("agreement") }) { caught += 1 }
        }
        #expect(caught > 0)
        // The same scenario with correct replicas is safe.
        for seed: UInt64 in 1...10 {
            var config = Self.config(seed: seed, replicas: 4, faults: .byzantine)
            config.forcedBehavior = .equivocatingPrimary
            config.forcedFaultyReplica = 0
            let result = try Simulation(config).run()
            #expect(result.passed, "seed \(seed): \(result.violations.first ?? "liveness")")
        }
    }

    /// The liveness check can fail: with no time after healing, requests cannot all complete.
    @Test func livenessCheckFailsWhenThereIsNoTimeToRecover() throws {
        var config = Self.config(seed: 3, replicas: 4, faults: .network)
        config.livenessBoundTicks = 0
        let result = try Simulation(config).run()
        #expect(result.livenessFailure)
        #expect(!result.passed)
    }

    @Test func checkersFlagHandMadeViolatingHistories() {
        let a = Request(client: 1, timestamp: 1, operation: [1])
        let b = Request(client: 1, timestamp: 2, operation: [2])
        var clean = SafetyChecker()
        clean.recordSubmitted(a)
        clean.recordExecution(replica: 0, sequence: 1, batchDigest: batchDigest([a]), requests: [a])
        clean.recordExecution(replica: 1, sequence: 1, batchDigest: batchDigest([a]), requests: [a])
        clean.recordCheckpoint(replica: 0, sequence: 8, stateDigest: .zero)
        clean.recordCheckpoint(replica: 1, sequence: 8, stateDigest: .zero)
        #expect(clean.violations.isEmpty)

        var agreement = clean
        agreement.recordSubmitted(b)
        agreement.recordExecution(replica: 2, sequence: 1, batchDigest: batchDigest([b]), requests: [b])
        #expect(agreement.violations.contains { $0.hasPrefix("agreement") })

        var invented = clean
        invented.recordExecution(replica: 0, sequence: 2, batchDigest: batchDigest([b]), requests: [b])
        #expect(invented.violations.contains { $0.hasPrefix("validity") })

        var twice = clean
        twice.recordExecution(replica: 0, sequence: 2, batchDigest: batchDigest([a]), requests: [a])
        #expect(twice.violations.contains { $0.contains("twice") })

        var diverged = clean
        diverged.recordCheckpoint(replica: 2, sequence: 8, stateDigest: Digest.of([1]))
        #expect(diverged.violations.contains { $0.hasPrefix("checkpoint") })
    }

    /// Regression: no progress after a transient partition heals. Two replicas on each side:
    /// neither side has a quorum; both try view changes; once healed, VIEW-CHANGEs are re-sent,
    /// the view change completes and the request commits.
    @Test func progressResumesAfterATransientPartitionHeals() {
        var cluster = TestCluster()
        let sideA: Set<Int> = [0, 1]
        func split(_ frame: [UInt8], _ target: Principal) -> Bool { false }
        cluster.submit("x")
        var senders: [Int] = []
        func crossesPartition(from: Int, to: Principal) -> Bool {
            guard case .replica(let r) = to else { return false }
            return sideA.contains(from) != sideA.contains(r)
        }
        let peek = cluster.authenticator(forReplica: 0)
        let partitioned: ([UInt8], Principal) -> Bool = { frame, target in
            guard case .replica(let from)? = peek.peek(frame)?.sender else { return false }
            return crossesPartition(from: from, to: target)
        }
        cluster.deliverAll(drop: partitioned)
        cluster.apply(cluster.clients[1]!.timerFired(), client: 1)
        cluster.deliverAll(drop: partitioned)
        for i in 1...3 where cluster.timers[i][.viewChange] != nil { senders.append(i); cluster.fire(.viewChange, at: i) }
        cluster.deliverAll(drop: partitioned)
        #expect(!senders.isEmpty)
        #expect(cluster.completed[1] == nil)
        #expect(cluster.replicas.allSatisfy { $0.lastExecuted == 0 })
        // Heal: the next status round re-sends what was lost.
        for round in 0..<3 {
            _ = round
            for i in 0...3 { cluster.fire(.status, at: i) }
            cluster.deliverAll()
        }
        #expect(cluster.completed[1]?.count == 1)
        let views = Set(cluster.replicas.map(\.view))
        #expect(views.count == 1)
        #expect(cluster.replicas.allSatisfy { $0.lastExecuted == 1 && !$0.inViewChange })
    }
}
