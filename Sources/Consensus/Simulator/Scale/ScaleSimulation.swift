import Crypto

/// Throughput "on paper": many PBFT groups of real `Replica` state machines placed over N nodes,
/// with the limits a real cluster has (issue 9). Each node is one serial queue, as
/// `NodeRuntime` is: it runs one replica step at a time for whichever of its groups the frame
/// or timer belongs to, charging the step's cost (`NodeCostModel`); messages wait in the queue
/// while it is busy. Sends leave only after a group-commit job has fsynced every group log with
/// unsynced records (`NodeRuntime.syncThenSend`), which also runs on the queue. Links add 1 ms
/// and, optionally, transfer time. Closed-loop sessions write keys spread over the shard groups
/// through each group's pool of PBFT clients. Same config, same seed: same numbers.
///
/// No faults are injected: this measures capacity; `Simulation` checks behaviour under faults.
/// The safety checkers still watch every group.
public final class ScaleSimulation {
    enum Job {
        case frame(group: Int, replica: Int, frame: [UInt8])
        case timer(group: Int, replica: Int, timer: ReplicaTimer, generation: UInt64)
        /// The group commit: fsync the dirty logs, then release the sends that waited for it.
        case logSync
    }

    enum Event {
        /// A frame or a timer reaches a node's queue.
        case arrive(node: Int, job: Job)
        /// The node finishes the job in service.
        case finish(node: Int)
        case toClient(group: Int, client: Int, frame: [UInt8])
        case clientTimer(group: Int, client: Int, generation: UInt64)
        /// A session picks its next key and writes it.
        case sessionWrite(session: Int)
    }

    struct Outgoing {
        let group: Int
        let frame: [UInt8]
        let recipients: [Principal]
    }

    /// What the job in service releases when it finishes.
    struct Completion {
        var sends: [Outgoing] = []
        var timers: [(group: Int, replica: Int, action: ReplicaAction)] = []
        /// A log sync's sends: they leave the node now, not after another sync.
        var synced: [Outgoing] = []
    }

    /// One node's serial queue.
    struct Node {
        var jobs: [Job] = []
        var head = 0
        var busy = false
        var inService = Completion()
        var awaitingSync: [Outgoing] = []
        var syncScheduled = false
        /// Groups whose log on this node has records not yet fsynced (only counted).
        var dirtyLogs: Set<Int> = []
        var busyNanos: UInt64 = 0
        var fsyncNanos: UInt64 = 0
    }

    struct Group {
        var replicas: [Replica]
        var timerGenerations: [[ReplicaTimer: UInt64]]
        var clients: [Client]
        var clientTimerGenerations: [UInt64]
        /// The session each PBFT client serves, or nil when free.
        var clientSession: [Int?]
        var freeClients: [Int]
        var waitingSessions: [Int] = []
        var waitingHead = 0
        var checker = SafetyChecker()
    }

    static let clientIDBase: UInt64 = 1_000

    public let config: ScaleConfig
    let groupConfiguration: GroupConfiguration
    var rng: Xoshiro256
    var now: UInt64 = 0
    var queue = EventQueue<Event>()
    var nodes: [Node]
    var groups: [Group] = []
    /// Per directed node-to-node link (from * nodes + to): when it is free to send again.
    var linkFreeAt: [UInt64]
    var sessionSubmittedAt: [UInt64]
    var latencies: [UInt64] = []
    var trace = SHA256()
    /// Set when a checker reports a violation: the run stops there.
    var violated = false
    var windowStart: UInt64 { config.warmupNanos }
    var windowEnd: UInt64 { config.warmupNanos + config.measureNanos }

    public init(_ config: ScaleConfig) throws(ConfigurationError) {
        precondition(config.nodes >= 1 && config.groups.count >= 2, "a metadata group and at least one shard group")
        precondition(config.sessions >= 1 && config.clientsPerGroup >= 1, "at least one session and one client per group")
        for members in config.groups {
            precondition(members.allSatisfy { (0..<config.nodes).contains($0) } && Set(members).count == members.count,
                         "a group's replicas are distinct nodes of the cluster")
        }
        self.config = config
        groupConfiguration = try GroupConfiguration(replicaCount: config.groups[0].count)
        rng = Xoshiro256(seed: config.seed)
        nodes = Array(repeating: Node(), count: config.nodes)
        linkFreeAt = Array(repeating: 0, count: config.nodes * config.nodes)
        sessionSubmittedAt = Array(repeating: 0, count: config.sessions)
        for (g, members) in config.groups.enumerated() {
            precondition(members.count == groupConfiguration.replicaCount, "every group has the same size")
            groups.append(makeGroup(g, clientCount: g == 0 ? 0 : config.clientsPerGroup))
        }
    }

    func makeGroup(_ g: Int, clientCount: Int) -> Group {
        // Each group has its own keys, derived from the run's seed and the group's number.
        var mix = SplitMix64(seed: config.seed ^ (UInt64(g) &* 0x9E37_79B9))
        let seed = mix.next()
        let n = groupConfiguration.replicaCount
        let identities = (0..<n).map { NodeIdentity.deterministic(seed: seed, principal: .replica($0)) }
        let clientIDs = (0..<UInt64(clientCount)).map { Self.clientIDBase + $0 }
        let clientIdentities = clientIDs.map { NodeIdentity.deterministic(seed: seed, principal: .client($0)) }
        var clientKeys: [UInt64: PublicIdentity] = [:]
        for (id, identity) in zip(clientIDs, clientIdentities) { clientKeys[id] = identity.publicIdentity }
        let directory = KeyDirectory(replicas: identities.map { $0.publicIdentity }, clients: clientKeys)
        let replicas = (0..<n).map {
            Replica(index: $0, configuration: groupConfiguration, options: config.replicaOptions,
                    identity: identities[$0], directory: directory, stateMachine: HashChainStateMachine())
        }
        let clients = zip(clientIDs, clientIdentities).map { id, identity in
            Client(id: id, configuration: groupConfiguration, identity: identity, directory: directory,
                   retransmitTimeoutTicks: config.clientRetransmitNanos)
        }
        return Group(
            replicas: replicas, timerGenerations: Array(repeating: [:], count: n), clients: clients,
            clientTimerGenerations: Array(repeating: 0, count: clientCount),
            clientSession: Array(repeating: nil, count: clientCount),
            // Popped from the end: client 0 is handed out first.
            freeClients: Array((0..<clientCount).reversed()))
    }

    // MARK: Running

    public func run() -> ScaleResult {
        for g in groups.indices {
            for r in groups[g].replicas.indices {
                let node = config.groups[g][r]
                var completion = Completion()
                _ = account(groups[g].replicas[r].start(), group: g, replica: r, node: node, into: &completion)
                release(completion, node: node)
            }
        }
        // Sessions start spread over the first link latency, not all at once.
        for s in 0..<config.sessions {
            queue.push(.sessionWrite(session: s), at: rng.below(config.linkLatencyNanos))
        }
        while let (time, event) = queue.pop(), time < windowEnd {
            now = time
            handle(event)
            if violated { break }
        }
        return result(violations: groups.flatMap(\.checker.violations))
    }

    func handle(_ event: Event) {
        switch event {
        case .arrive(let n, let job):
            nodes[n].jobs.append(job)
            if !nodes[n].busy { startNext(n) }
        case .finish(let n):
            let completion = nodes[n].inService
            nodes[n].inService = Completion()
            nodes[n].busy = false
            release(completion, node: n)
            startNext(n)
        case .toClient(let g, let c, let frame):
            let actions = groups[g].clients[c].receive(frame: frame)
            processClient(actions, group: g, client: c)
        case .clientTimer(let g, let c, let generation):
            guard groups[g].clientTimerGenerations[c] == generation else { return }
            processClient(groups[g].clients[c].timerFired(), group: g, client: c)
        case .sessionWrite(let s):
            sessionSubmittedAt[s] = now
            let g = 1 + Int(rng.below(UInt64(config.shardGroups)))
            if let c = groups[g].freeClients.popLast() {
                submit(session: s, group: g, client: c)
            } else {
                groups[g].waitingSessions.append(s)
            }
        }
    }

    // MARK: Nodes

    /// Takes the next job off the node's queue and serves it; stale timers cost nothing.
    func startNext(_ n: Int) {
        while nodes[n].head < nodes[n].jobs.count {
            let job = nodes[n].jobs[nodes[n].head]
            nodes[n].head += 1
            if nodes[n].head > 4_096 && nodes[n].head * 2 > nodes[n].jobs.count {
                nodes[n].jobs.removeFirst(nodes[n].head)
                nodes[n].head = 0
            }
            var completion = Completion()
            guard let (cpu, fsync) = serve(job, node: n, into: &completion) else { continue }
            nodes[n].busy = true
            nodes[n].inService = completion
            // The step computes first, then waits on the disk.
            nodes[n].busyNanos += overlap(now, now + cpu + fsync)
            nodes[n].fsyncNanos += overlap(now + cpu, now + cpu + fsync)
            queue.push(.finish(node: n), at: now + cpu + fsync)
            return
        }
    }

    /// Runs one job on the node: the replica step happens now, its outputs leave at the finish.
    /// Returns its CPU and fsync service times, or nil for a timer that was cancelled or re-armed.
    func serve(_ job: Job, node n: Int, into completion: inout Completion) -> (cpu: UInt64, fsync: UInt64)? {
        let costs = config.costs
        switch job {
        case .frame(let g, let r, let frame):
            let opened = FrameShape(frame: frame).map(costs.receiveNanos) ?? costs.frameOpenNanos
            let actions = groups[g].replicas[r].receive(frame: frame)
            let (cpu, fsync) = account(actions, group: g, replica: r, node: n, into: &completion)
            return (opened + costs.stepNanos + cpu, fsync)
        case .timer(let g, let r, let timer, let generation):
            guard groups[g].timerGenerations[r][timer] == generation else { return nil }
            let actions = groups[g].replicas[r].timerFired(timer)
            let (cpu, fsync) = account(actions, group: g, replica: r, node: n, into: &completion)
            return (costs.stepNanos + cpu, fsync)
        case .logSync:
            nodes[n].syncScheduled = false
            let fsync = UInt64(nodes[n].dirtyLogs.count) * costs.logSyncNanos
            nodes[n].dirtyLogs.removeAll(keepingCapacity: true)
            completion.synced = nodes[n].awaitingSync
            nodes[n].awaitingSync.removeAll(keepingCapacity: true)
            return (0, fsync)
        }
    }

    /// Charges a replica step's actions and collects what they release; feeds the checkers.
    func account(_ actions: [ReplicaAction], group g: Int, replica r: Int, node n: Int,
                 into completion: inout Completion) -> (cpu: UInt64, fsync: UInt64) {
        let costs = config.costs
        var cpu: UInt64 = 0
        var fsync: UInt64 = 0
        for action in actions {
            switch action {
            case .send(let frame, let recipients):
                if let shape = FrameShape(frame: frame) {
                    cpu += costs.sendNanos(shape, destinations: recipients.count)
                }
                completion.sends.append(Outgoing(group: g, frame: frame, recipients: recipients))
            case .persist:
                nodes[n].dirtyLogs.insert(g)
            case .executed(let sequence, let digest, let requests):
                let execute = costs.executeNanos(rows: requests.count)
                let commit = requests.isEmpty ? 0 : costs.shardCommitNanos
                cpu += execute - commit
                fsync += commit
                groups[g].checker.recordExecution(replica: r, sequence: sequence, batchDigest: digest, requests: requests)
                violated = violated || !groups[g].checker.violations.isEmpty
            case .checkpointed(let sequence, let digest), .stateTransferred(let sequence, let digest):
                groups[g].checker.recordCheckpoint(replica: r, sequence: sequence, stateDigest: digest)
                violated = violated || !groups[g].checker.violations.isEmpty
            case .setTimer, .cancelTimer:
                completion.timers.append((g, r, action))
            }
        }
        return (cpu, fsync)
    }

    /// A finished job's outputs: timers arm, sends wait for the next log sync (scheduled at the
    /// tail of the queue, as `NodeRuntime.perform` does), a sync's sends leave.
    func release(_ completion: Completion, node n: Int) {
        for (g, r, action) in completion.timers {
            switch action {
            case .setTimer(let timer, let ticks):
                groups[g].timerGenerations[r][timer, default: 0] += 1
                let generation = groups[g].timerGenerations[r][timer]!
                queue.push(.arrive(node: n, job: .timer(group: g, replica: r, timer: timer, generation: generation)),
                           at: now + ticks)
            case .cancelTimer(let timer):
                groups[g].timerGenerations[r][timer, default: 0] += 1
            default:
                preconditionFailure("only timer actions are deferred")
            }
        }
        for outgoing in completion.synced {
            for recipient in outgoing.recipients { transmit(outgoing.frame, group: outgoing.group, from: n, to: recipient) }
        }
        nodes[n].awaitingSync.append(contentsOf: completion.sends)
        if !nodes[n].awaitingSync.isEmpty && !nodes[n].syncScheduled {
            nodes[n].syncScheduled = true
            nodes[n].jobs.append(.logSync)
        }
    }

    /// The part of [start, end) inside the measurement window.
    func overlap(_ start: UInt64, _ end: UInt64) -> UInt64 {
        let from = max(start, windowStart)
        let to = min(end, windowEnd)
        return to > from ? to - from : 0
    }

    // MARK: Network

    func transmit(_ frame: [UInt8], group g: Int, from n: Int, to recipient: Principal) {
        switch recipient {
        case .replica(let r):
            let destination = config.groups[g][r]
            var departure = now
            if let rate = config.linkBytesPerSecond {
                let link = n * config.nodes + destination
                let start = max(now, linkFreeAt[link])
                departure = start + UInt64(frame.count) * 1_000_000_000 / rate
                linkFreeAt[link] = departure
            }
            queue.push(.arrive(node: destination, job: .frame(group: g, replica: r, frame: frame)),
                       at: departure + config.linkLatencyNanos)
        case .client(let id):
            queue.push(.toClient(group: g, client: Int(id - Self.clientIDBase), frame: frame), at: now + config.linkLatencyNanos)
        }
    }

    // MARK: Sessions and clients

    func submit(session s: Int, group g: Int, client c: Int) {
        groups[g].clientSession[c] = s
        var operation: [UInt8] = []
        operation.reserveCapacity(config.operationBytes)
        while operation.count < config.operationBytes {
            withUnsafeBytes(of: rng.next()) { operation.append(contentsOf: $0.prefix(config.operationBytes - operation.count)) }
        }
        // The pool hands out only clients with nothing outstanding, and operations fit the codec.
        let actions = try! groups[g].clients[c].submit(operation: operation)
        groups[g].checker.recordSubmitted(groups[g].clients[c].outstandingRequest!)
        processClient(actions, group: g, client: c)
    }

    func processClient(_ actions: [ClientAction], group g: Int, client c: Int) {
        for action in actions {
            switch action {
            case .send(let frame, let recipients):
                for case .replica(let r) in recipients {
                    queue.push(.arrive(node: config.groups[g][r], job: .frame(group: g, replica: r, frame: frame)),
                               at: now + config.linkLatencyNanos)
                }
            case .setTimer(let ticks):
                groups[g].clientTimerGenerations[c] += 1
                queue.push(.clientTimer(group: g, client: c, generation: groups[g].clientTimerGenerations[c]), at: now + ticks)
            case .cancelTimer:
                groups[g].clientTimerGenerations[c] += 1
            case .completed(let timestamp, _):
                guard let s = groups[g].clientSession[c] else { preconditionFailure("a completion without a session") }
                complete(session: s, group: g, client: c, timestamp: timestamp)
            }
        }
    }

    func complete(session s: Int, group g: Int, client c: Int, timestamp: UInt64) {
        if now >= windowStart {
            latencies.append(now - sessionSubmittedAt[s])
            var w = ByteWriter()
            w.write(now); w.write(UInt64(g)); w.write(UInt64(c)); w.write(timestamp)
            trace.update(data: w.bytes)
        }
        groups[g].clientSession[c] = nil
        if groups[g].waitingHead < groups[g].waitingSessions.count {
            let next = groups[g].waitingSessions[groups[g].waitingHead]
            groups[g].waitingHead += 1
            submit(session: next, group: g, client: c)
        } else {
            groups[g].freeClients.append(c)
        }
        queue.push(.sessionWrite(session: s), at: now)
    }

    // MARK: Result

    func result(violations: [String]) -> ScaleResult {
        let window = Double(config.measureNanos)
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> UInt64 {
            guard !sorted.isEmpty else { return 0 }
            let rank = Int((p * Double(sorted.count)).rounded(.up))
            return sorted[min(sorted.count, max(1, rank)) - 1]
        }
        var nodeGroups = Array(repeating: 0, count: config.nodes)
        var nodePrimaries = Array(repeating: 0, count: config.nodes)
        for members in config.groups {
            for node in members { nodeGroups[node] += 1 }
            nodePrimaries[members[groupConfiguration.primary(ofView: 0)]] += 1
        }
        return ScaleResult(
            nodes: config.nodes, shardGroups: config.shardGroups, batch: config.batch, sessions: config.sessions,
            orderedWrites: latencies.count,
            writesPerSecond: Double(latencies.count) / (window / 1e9),
            latencyP50Nanos: percentile(0.5), latencyP99Nanos: percentile(0.99),
            nodeBusy: nodes.map { Double($0.busyNanos) / window },
            nodeFsync: nodes.map { Double($0.fsyncNanos) / window },
            nodeGroups: nodeGroups, nodePrimaries: nodePrimaries,
            violations: violations,
            highestView: groups.flatMap { $0.replicas.map(\.view) }.max() ?? 0,
            traceDigest: Digest(trace.finalize()))
    }
}
