import Crypto

/// A deterministic cluster simulation (after TigerBeetle's VOPR and FoundationDB, STYLE.md §2):
/// replicas and clients are the real state machines; the network, the disks, the clock and the
/// faults are simulated from one seed, so any run replays exactly.
public final class Simulation {
    enum Event {
        case deliver(frame: [UInt8], to: Principal)
        case replicaTimer(instance: Int, timer: ReplicaTimer, generation: UInt64)
        case clientTimer(client: Int, generation: UInt64)
        case clientSubmit(client: Int)
        case crash(instance: Int)
        case restart(instance: Int)
        case partition(groups: [Int])
        case heal
        case flood
        case replay(instance: Int)
    }

    struct Instance {
        let replicaIndex: Int
        var replica: Replica?
        var log = DurableLog()
        var timerGenerations: [ReplicaTimer: UInt64] = [:]
        var mutator: ByzantineMutator?
        var received: [[UInt8]] = []
        let correct: Bool
        var crashes = 0
    }

    struct SimClient {
        var client: Client
        var remaining: Int
        var completed = 0
        var timerGeneration: UInt64 = 0
        let flooding: Bool
        var floodTimestamp: UInt64 = 1 << 40
    }

    public let config: SimulationConfig
    let configuration: GroupConfiguration
    var rng: Xoshiro256
    var now: UInt64 = 0
    var queue = EventQueue<Event>()
    var instances: [Instance] = []
    var clients: [SimClient] = []
    var checker = SafetyChecker()
    var trace = SHA256()
    var network = NetworkConditions()
    var partitionGroup: [Int]
    var healed = false
    var delivered = 0
    var scenario: [String] = []
    let identities: [NodeIdentity]
    let directory: KeyDirectory
    let recordCodec: PersistedRecordCodec

    public init(_ config: SimulationConfig) throws(ConfigurationError) {
        self.config = config
        configuration = try GroupConfiguration(replicaCount: config.replicaCount)
        rng = Xoshiro256(seed: config.seed)
        partitionGroup = Array(repeating: 0, count: config.replicaCount)
        let n = config.replicaCount
        identities = (0..<n).map { NodeIdentity.deterministic(seed: config.seed, principal: .replica($0)) }
        var clientKeys: [UInt64: PublicIdentity] = [:]
        let clientIDs = (0..<UInt64(config.correctClients + 1)).map { 100 + $0 }
        var clientIdentities: [UInt64: NodeIdentity] = [:]
        for id in clientIDs {
            let identity = NodeIdentity.deterministic(seed: config.seed, principal: .client(id))
            clientIdentities[id] = identity
            clientKeys[id] = identity.publicIdentity
        }
        directory = KeyDirectory(replicas: identities.map(\.publicIdentity), clients: clientKeys)
        recordCodec = PersistedRecordCodec(codec: MessageCodec(replicaCount: n))
        planFaults()
        for (position, id) in clientIDs.enumerated() {
            let flooding = position == config.correctClients
            guard !flooding || scenario.contains(where: { $0.hasPrefix("flood") }) else { continue }
            let client = Client(
                id: id, configuration: configuration, identity: clientIdentities[id]!, directory: directory,
                retransmitTimeoutTicks: config.clientRetransmitTicks)
            clients.append(SimClient(client: client, remaining: flooding ? 0 : config.requestsAfterHeal, flooding: flooding))
        }
    }

    // MARK: Fault plan

    /// Draws the faults of this seed, never more than f faulty replicas (Byzantine or crashing).
    func planFaults() {
        let n = config.replicaCount
        let f = configuration.faultsTolerated
        var faulty: [Int: String] = [:]
        var budget = f
        let mode = config.faults
        let networkFaults = mode == .network || mode == .all
        while budget > 0 && (mode == .crash || mode == .byzantine || mode == .all) {
            // The primary of view 0 is a favourite victim: its faults exercise view changes.
            let candidates = (0..<n).filter { faulty[$0] == nil }
            var replica = faulty.isEmpty && rng.chance(0.5) ? 0 : rng.pick(candidates)
            if faulty.isEmpty, let forced = config.forcedFaultyReplica { replica = forced }
            let byzantine = mode == .byzantine || (mode == .all && rng.chance(0.5))
            if byzantine {
                let behavior = config.forcedBehavior ?? rng.pick(ByzantineBehavior.allCases)
                faulty[replica] = behavior.rawValue
            } else {
                faulty[replica] = "crash"
            }
            budget -= 1
        }
        for index in 0..<n {
            let kind = faulty[index]
            let behavior = kind.flatMap { ByzantineBehavior(rawValue: $0) }
            var instance = Instance(replicaIndex: index, replica: makeReplica(index), correct: behavior == nil)
            if let behavior {
                instance.mutator = ByzantineMutator(behavior: behavior, auth: makeAuthenticator(index))
                scenario.append("r\(index):\(behavior.rawValue)")
            }
            instances.append(instance)
            if behavior == .twins {
                var twin = Instance(replicaIndex: index, replica: makeReplica(index), correct: false)
                twin.mutator = instance.mutator
                instances.append(twin)
            }
            if kind == "crash" {
                scenario.append("r\(index):crash")
                scheduleCrashes(instance: instances.count - 1)
            }
            if behavior == .replayer {
                queue.push(.replay(instance: instances.count - 1), at: rng.between(50, 200))
            }
        }
        if networkFaults {
            network = NetworkConditions(
                dropProbability: rng.pick([0.02, 0.1, 0.25]), duplicateProbability: 0.05,
                delayTicksMin: 1, delayTicksMax: rng.between(10, 80))
            scenario.append("net:drop\(Int(network.dropProbability * 100))%,delay≤\(network.delayTicksMax)")
            var t = rng.between(100, 600)
            while t + 100 < config.faultPhaseTicks {
                var groups = Array(repeating: 0, count: n)
                let isolated = Int(rng.between(1, UInt64(max(1, n / 2))))
                for _ in 0..<isolated { groups[Int(rng.below(UInt64(n)))] = 1 }
                queue.push(.partition(groups: groups), at: t)
                t += rng.between(100, 500)
                queue.push(.partition(groups: Array(repeating: 0, count: n)), at: t)
                t += rng.between(100, 600)
            }
        }
        if mode == .byzantine || mode == .all, rng.chance(0.5) {
            scenario.append("flood")
            queue.push(.flood, at: rng.between(10, 100))
        }
        queue.push(.heal, at: config.faultPhaseTicks)
    }

    func scheduleCrashes(instance: Int) {
        var t = rng.between(50, 800)
        while t + 50 < config.faultPhaseTicks {
            queue.push(.crash(instance: instance), at: t)
            t += rng.between(30, 600)
            queue.push(.restart(instance: instance), at: t)
            t += rng.between(100, 900)
        }
    }

    func makeAuthenticator(_ index: Int) -> Authenticator {
        Authenticator(me: .replica(index), identity: identities[index], directory: directory,
                      codec: MessageCodec(replicaCount: config.replicaCount))
    }

    func makeReplica(_ index: Int) -> Replica {
        Replica(index: index, configuration: configuration, options: config.replicaOptions,
                identity: identities[index], directory: directory, stateMachine: HashChainStateMachine())
    }

    // MARK: Running

    public func run() -> SimulationResult {
        for i in instances.indices {
            guard let actions = instances[i].replica?.start() else { continue }
            process(actions, instance: i)
        }
        for c in clients.indices where !clients[c].flooding {
            queue.push(.clientSubmit(client: c), at: rng.between(0, 50))
        }
        let deadline = config.faultPhaseTicks + config.livenessBoundTicks
        while let (time, event) = queue.pop() {
            guard time <= deadline else { break }
            now = time
            handle(event)
            if !checker.violations.isEmpty { break }
            if healed && clients.allSatisfy({ $0.flooding || $0.remaining == 0 }) { break }
        }
        let done = healed && clients.allSatisfy { $0.flooding || $0.remaining == 0 }
        let committed = clients.filter { !$0.flooding }.reduce(0) { $0 + $1.completed }
        return SimulationResult(
            seed: config.seed, violations: checker.violations,
            livenessFailure: checker.violations.isEmpty && !done, committed: committed,
            traceDigest: Digest(trace.finalize()), simulatedTicks: now, deliveredFrames: delivered,
            scenario: scenario.isEmpty ? "no faults" : scenario.joined(separator: " "),
            highestView: instances.compactMap { $0.replica?.view }.max() ?? 0)
    }

    func handle(_ event: Event) {
        switch event {
        case .deliver(let frame, let recipient):
            deliver(frame, to: recipient)
        case .replicaTimer(let i, let timer, let generation):
            guard instances[i].timerGenerations[timer] == generation, instances[i].replica != nil else { return }
            let actions = instances[i].replica!.timerFired(timer)
            process(actions, instance: i)
        case .clientTimer(let c, let generation):
            guard clients[c].timerGeneration == generation else { return }
            let actions = clients[c].client.timerFired()
            process(actions, client: c)
        case .clientSubmit(let c):
            let operation = (0..<rng.between(4, 24)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            guard let actions = try? clients[c].client.submit(operation: operation),
                let request = clients[c].client.outstandingRequest
            else { return }
            checker.recordSubmitted(request)
            process(actions, client: c)
        case .crash(let i):
            guard instances[i].replica != nil else { return }
            instances[i].replica = nil
            instances[i].crashes += 1
            instances[i].log.crash(&rng)
            instances[i].timerGenerations = [:]
            bumpTimers(i)
        case .restart(let i):
            restart(i)
        case .partition(let groups):
            if !healed { partitionGroup = groups }
        case .heal:
            healed = true
            network = NetworkConditions()
            partitionGroup = Array(repeating: 0, count: config.replicaCount)
            for i in instances.indices where instances[i].replica == nil { restart(i) }
        case .flood:
            flood()
        case .replay(let i):
            if instances[i].replica != nil, !instances[i].received.isEmpty {
                let frame = rng.pick(instances[i].received)
                let target = Principal.replica(Int(rng.below(UInt64(config.replicaCount))))
                transmit(frame, to: target)
            }
            queue.push(.replay(instance: i), at: now + rng.between(5, 40))
        }
    }

    func bumpTimers(_ i: Int) {
        for timer in [ReplicaTimer.status, .viewChange] {
            instances[i].timerGenerations[timer, default: 0] += 1
        }
    }

    func restart(_ i: Int) {
        guard instances[i].replica == nil else { return }
        var replica = makeReplica(instances[i].replicaIndex)
        let records = instances[i].log.recover(with: recordCodec)
        let actions = replica.restore(from: records)
        instances[i].replica = replica
        process(actions, instance: i)
    }

    /// A faulty client: a new request every few ticks to every replica, some with a bad MAC.
    func flood() {
        guard let c = clients.firstIndex(where: \.flooding), !healed else { return }
        clients[c].floodTimestamp += 1
        let operation = (0..<8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var request = clients[c].client.makeRequest(operation: operation, timestamp: clients[c].floodTimestamp)
        checker.recordSubmitted(request)
        if rng.chance(0.2) { request.authenticator = request.authenticator.map { _ in Digest(w0: 1, w1: 2, w2: 3, w3: 4) } }
        let everyone = (0..<config.replicaCount).map { Principal.replica($0) }
        let frame = clients[c].client.frame(for: request, to: everyone)
        for target in everyone { transmit(frame, to: target) }
        queue.push(.flood, at: now + rng.between(2, 10))
    }

    // MARK: Actions

    func process(_ actions: [ReplicaAction], instance i: Int) {
        let index = instances[i].replicaIndex
        for action in actions {
            switch action {
            case .send(let frame, let recipients):
                // A persist before a send must be durable when the send leaves.
                instances[i].log.sync()
                if let mutator = instances[i].mutator {
                    for (rewritten, targets) in mutator.rewrite(frame, to: recipients, &rng) {
                        for target in targets { transmit(rewritten, from: .replica(index), to: target) }
                    }
                } else {
                    for target in recipients { transmit(frame, from: .replica(index), to: target) }
                }
            case .persist(let record):
                instances[i].log.append(recordCodec.encode(record))
            case .executed(let sequence, let digest, let requests):
                if instances[i].correct {
                    checker.recordExecution(replica: index, sequence: sequence, batchDigest: digest, requests: requests)
                }
            case .checkpointed(let sequence, let digest), .stateTransferred(let sequence, let digest):
                if instances[i].correct {
                    checker.recordCheckpoint(replica: index, sequence: sequence, stateDigest: digest)
                }
            case .setTimer(let timer, let ticks):
                instances[i].timerGenerations[timer, default: 0] += 1
                queue.push(.replicaTimer(instance: i, timer: timer, generation: instances[i].timerGenerations[timer]!),
                           at: now + ticks)
            case .cancelTimer(let timer):
                instances[i].timerGenerations[timer, default: 0] += 1
            }
        }
    }

    func process(_ actions: [ClientAction], client c: Int) {
        for action in actions {
            switch action {
            case .send(let frame, let recipients):
                for target in recipients { transmit(frame, to: target) }
            case .setTimer(let ticks):
                clients[c].timerGeneration += 1
                queue.push(.clientTimer(client: c, generation: clients[c].timerGeneration), at: now + ticks)
            case .cancelTimer:
                clients[c].timerGeneration += 1
            case .completed(let timestamp, _):
                var w = ByteWriter()
                w.write(now); w.write(clients[c].client.id); w.write(timestamp)
                trace.update(data: w.bytes)
                clients[c].completed += 1
                if healed { clients[c].remaining -= 1 }
                if clients[c].remaining > 0 {
                    queue.push(.clientSubmit(client: c), at: now + rng.between(0, config.clientThinkTicksMax))
                }
            }
        }
    }
}
