public import Consensus
import Dispatch
import Foundation
public import Logging

/// The shell around a node's PBFT instances (STYLE.md §1): it feeds the pure `Replica` and
/// `Client` state machines with frames from the transport, ticks from a real clock and requests
/// from the gateway, and carries out what they return: append to the log and fsync it, then send;
/// arm timers; complete gateway requests.
///
/// Concurrency: every mutable property is touched only on `queue`, a serial queue of its own (so
/// SQLite work in state machines never blocks a NIO event loop). That confinement is what makes
/// the `@unchecked Sendable` below sound: public entry points hop onto `queue` before reading or
/// writing state, and `dispatchPrecondition` checks it in the handlers.
public final class NodeRuntime: @unchecked Sendable {
    public struct Options: Sendable {
        /// Length of one abstract tick of the state machines.
        public var tickMilliseconds = 10
        public var replica = ReplicaOptions()
        public var clientRetransmitTicks: UInt64 = 100
        /// Requests waiting for a free gateway client, per group; beyond it submit fails (53400).
        public var queuedRequestsMax = 10_000
        /// `fsync`: the PBFT log reaches the disk before any message that depends on it leaves
        /// the node. `os`: left to the OS — a power loss (not a process crash) can then lose
        /// acknowledged writes; for benchmarks that want to measure the protocol without the disk.
        public var logDurability = ShardStore.Durability.fsync
        /// How long `submit` waits for f+1 matching replies before failing with `timedOut`
        /// (the PBFT client keeps retrying underneath; only the caller stops waiting).
        public var requestTimeout = Duration.seconds(60)
        /// Blob chunk repair and garbage collection (intervals, grace period, limits).
        public var chunkMaintenance = ChunkMaintenance.Options()

        public init() {
            // A checkpoint snapshots every shard (SQLite backup) and digests it: every 128
            // batches keeps that off the common path while the log stays bounded.
            replica.checkpointIntervalSequences = 128
            replica.logWindowSequences = 512
            replica.viewChangeTimeoutTicks = 200
            replica.viewChangeTimeoutTicksMax = 200 * 16
            replica.statusIntervalTicks = 20
        }
    }

    /// What `status` reports for one group.
    public struct GroupStatus: Sendable, Hashable {
        public let group: UInt32
        public let replicaIndex: Int
        public let view: UInt64
        public let primaryNode: Int
        public let inViewChange: Bool
        public let lastExecuted: UInt64
        public let stableCheckpoint: UInt64
    }

    let index: Int
    let key: NodeKey
    public let layout: ClusterLayout
    let options: Options
    let logger: Logger
    let queue: DispatchQueue
    private let dataDirectory: String
    private let makeStateMachine: @Sendable (ClusterLayout.Group) throws -> any ReplicatedStateMachine

    // Confined to `queue`.
    private var transport: (any NodeTransport)?
    private var instances: [UInt32: GroupInstance] = [:]
    private var tick: UInt64 = 0
    private var ticker: (any DispatchSourceTimer)?
    private var stopped = false
    /// Answers read requests from other nodes' gateways (`verifiedRead`), on the queue.
    private var readHandler: (@Sendable (UInt32, [UInt8], any ReplicatedStateMachine) -> [UInt8])?
    private var nextReadID: UInt64 = 1
    private var reads: [UInt64: PendingRead] = [:]
    private var readSchedules: [UInt64: ReadSchedule] = [:]
    /// Receivers of a group's state machine after every change (`publishStateMachine`).
    private var publishers: [UInt32: [@Sendable (any ReplicatedStateMachine) -> Void]] = [:]
    private var readWaiters: [UInt64: CheckedContinuation<[UInt8], any Error>] = [:]
    /// Group commit: frames waiting for the fsync of the log records appended before them.
    private var sendsAwaitingSync: [(frame: [UInt8], to: [Principal], group: ClusterLayout.Group)] = []
    private var syncScheduled = false
    private var nextRequestToken: UInt64 = 0

    public init(index: Int, key: NodeKey, layout: ClusterLayout, dataDirectory: String, options: Options = Options(),
                logger: Logger? = nil,
                makeStateMachine: @escaping @Sendable (ClusterLayout.Group) throws -> any ReplicatedStateMachine) {
        self.index = index
        self.key = key
        self.layout = layout
        self.options = options
        self.dataDirectory = dataDirectory
        self.makeStateMachine = makeStateMachine
        self.logger = logger ?? Logger(label: "meshdb.node.\(index)")
        self.queue = DispatchQueue(label: "meshdb.node.\(index)")
    }

    /// Opens each group's log, restores its replica from it, and starts ticking. Frames may
    /// arrive through `deliver` from then on.
    public func start(transport: any NodeTransport) throws {
        try queue.sync { () throws -> Void in
            self.transport = transport
            let identity = NodeIdentity(signingKey: key.privateKey, agreementKey: key.agreementPrivateKey)
            for group in layout.groups {
                let configuration: GroupConfiguration
                do {
                    configuration = try GroupConfiguration(replicaCount: group.members.count)
                } catch {
                    throw NodeError.configuration("group \(group.id): \(error)")
                }
                let directory = layout.keyDirectory(for: group)
                var clients: [Client] = []
                // Gateway clients keep their ids across restarts, so their timestamps must keep
                // growing too (OSDI'99 §4.1): start from the wall clock in microseconds.
                let timestampFloor = UInt64(max(0, Date().timeIntervalSince1970) * 1_000_000)
                for slot in 0..<Int(ClusterLayout.gatewayClientsPerNode) {
                    var client = Client(id: layout.gatewayClientID(node: index, slot: slot), configuration: configuration,
                                        identity: identity, directory: directory,
                                        retransmitTimeoutTicks: options.clientRetransmitTicks)
                    client.startTimestamps(after: timestampFloor)
                    clients.append(client)
                }
                var instance = GroupInstance(group: group, clients: clients)
                if let replicaIndex = group.members.firstIndex(of: index) {
                    var replica = Replica(index: replicaIndex, configuration: configuration, options: options.replica,
                                          identity: identity, directory: directory, stateMachine: try makeStateMachine(group))
                    let codec = PersistedRecordCodec(codec: MessageCodec(replicaCount: configuration.replicaCount))
                    let (log, records) = try ReplicaLog.open(path: "\(dataDirectory)/pbft/group-\(group.id).log", codec: codec,
                                                             syncs: options.logDurability == .fsync)
                    let actions = replica.restore(from: records)
                    instance.replica = replica
                    instance.log = log
                    instances[group.id] = instance
                    logger.info("group \(group.id): replica \(replicaIndex) restored \(records.count) log records, executed through \(replica.lastExecuted)")
                    perform(actions, in: group.id)
                } else {
                    instances[group.id] = instance
                }
            }
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now(), repeating: .milliseconds(options.tickMilliseconds), leeway: .milliseconds(1))
            timer.setEventHandler { [weak self] in self?.onTick() }
            timer.resume()
            ticker = timer
        }
    }

    /// Installs how this node answers `verifiedRead` requests: given the group, the query bytes and
    /// the replica's state machine, the result bytes. Runs on the node's queue.
    public func setReadHandler(_ handler: @escaping @Sendable (UInt32, [UInt8], any ReplicatedStateMachine) -> [UInt8]) {
        queue.sync { readHandler = handler }
    }

    /// Hands `publish` the state machine of this node's replica of `group` now (once the node
    /// has started) and after every event that may have changed it, on the queue before anything
    /// else runs there. For a state machine of value type (the catalog), that copy lets readers
    /// use the latest executed state without waiting for the queue behind PBFT and shard work.
    public func publishStateMachine(of group: UInt32, to publish: @escaping @Sendable (any ReplicatedStateMachine) -> Void) {
        queue.sync {
            publishers[group, default: []].append(publish)
            if let replica = instances[group]?.replica { publish(replica.stateMachineForReading) }
        }
    }

    /// Runs `query` on replicas of `group` (outside PBFT) and returns the result once f+1
    /// distinct replicas returned the same bytes: at least one of them is correct, so the result is
    /// one a correct replica computed (../shared/DESIGN.md, `verified`). Only f+1 replicas are
    /// asked at first — this node's own, when it holds one, and others in turn — so a read costs
    /// f+1 executions, not one per member; the rest are asked when those disagree, or when one has
    /// not answered within `verifiedReadHedgeMilliseconds` (down, or slow). Replicas that are a
    /// few batches apart may disagree for a moment; those are asked again (`PendingRead`) until
    /// they agree, or the read fails after `timeout`. A replica still computing a large result is
    /// waited for, never asked twice, so a slow read does not pile work onto it. The hedge, the
    /// retries and the deadline are checked at each tick (`sweepReads`), not by a timer per read.
    public func verifiedRead(group: UInt32, query: [UInt8], timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                guard !stopped, let instance = instances[group] else {
                    continuation.resume(throwing: NodeError.unavailable("no group \(group) on node \(index)"))
                    return
                }
                let id = nextReadID
                nextReadID += 1
                var pending = PendingRead(group: group, members: instance.group.members,
                                          needed: GroupConfiguration.faultsTolerated(among: instance.group.members.count) + 1, query: query)
                let first = pending.start(preferring: index, rotation: Int(truncatingIfNeeded: id))
                let now = DispatchTime.now()
                reads[id] = pending
                readWaiters[id] = continuation
                readSchedules[id] = ReadSchedule(
                    hedgeAt: now + .milliseconds(Self.verifiedReadHedgeMilliseconds),
                    retryAt: now + .milliseconds(Self.verifiedReadRetryMilliseconds),
                    deadline: now + .milliseconds(Self.milliseconds(timeout)), timeout: timeout)
                askReplicas(first, read: id)
            }
        }
    }

    /// How often a verified read asks again the replicas whose answers did not agree.
    static let verifiedReadRetryMilliseconds = 500
    /// How long a verified read waits for its first f+1 replicas before asking the others too.
    /// A node that is down costs a read this much, once; a healthy cluster answers well within it.
    static let verifiedReadHedgeMilliseconds = 30

    /// When a pending verified read next needs attention.
    struct ReadSchedule {
        var hedgeAt: DispatchTime?
        var retryAt: DispatchTime
        let deadline: DispatchTime
        let timeout: Duration
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Sends the read request to `nodes`; this node's own replica, when named, answers in place
    /// after the others were sent theirs (no hop through the queue and the envelope codec).
    private func askReplicas(_ nodes: [Int], read id: UInt64) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let pending = reads[id], !nodes.isEmpty else { return }
        let payload = Envelope(kind: .readRequest(id), group: pending.group, frame: pending.query).encoded()
        for node in nodes where node != index { transport?.send(payload, to: layout.members[node].key) }
        if nodes.contains(index), let result = answerRead(group: pending.group, query: pending.query) {
            recordReadAnswer(result, from: index, read: id)
        }
    }

    /// This node's replica's answer to a verified read of `group`; nil without a replica.
    private func answerRead(group: UInt32, query: [UInt8]) -> [UInt8]? {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let replica = instances[group]?.replica, let readHandler else { return nil }
        return readHandler(group, query, replica.stateMachineForReading)
    }

    /// Counts replica `node`'s answer to the verified read `id`, and completes or widens it.
    private func recordReadAnswer(_ result: [UInt8], from node: Int, read id: UInt64) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard var pending = reads[id] else { return }
        switch pending.record(result, from: node) {
        case .agreed(let result):
            finishRead(id)
            readWaiters.removeValue(forKey: id)?.resume(returning: result)
        case .askAgain(let nodes, let round):
            reads[id] = pending
            // Every replica answered, and not alike: some are behind. Give them a moment
            // to execute, longer each round.
            queue.asyncAfter(deadline: .now() + .milliseconds(20 * min(round, 10))) { [self] in askReplicas(nodes, read: id) }
        case .widen(let nodes):
            // The first replicas asked disagree: ask the others now.
            reads[id] = pending
            askReplicas(nodes, read: id)
        case .wait:
            reads[id] = pending
        }
    }

    /// At each tick, for every pending verified read in id order: fail it past its deadline; ask
    /// the replicas not asked yet once the hedge delay passed; at each retry interval, ask again
    /// the replicas that answered without agreement.
    private func sweepReads() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !readSchedules.isEmpty else { return }
        let now = DispatchTime.now()
        for id in readSchedules.keys.sorted() {
            guard var schedule = readSchedules[id], var pending = reads[id] else {
                readSchedules[id] = nil
                continue
            }
            guard now < schedule.deadline else {
                finishRead(id)
                readWaiters.removeValue(forKey: id)?.resume(throwing: NodeError.timedOut(
                    "verified read on group \(pending.group): no \(pending.needed) replicas agreed within \(schedule.timeout) (\(pending.answerCount) of \(pending.members.count) answered)"))
                continue
            }
            var ask: [Int] = []
            if let hedgeAt = schedule.hedgeAt, hedgeAt <= now {
                schedule.hedgeAt = nil
                ask += pending.hedge()
            }
            if schedule.retryAt <= now {
                schedule.retryAt = now + .milliseconds(Self.verifiedReadRetryMilliseconds)
                ask += pending.retryDue()
            }
            reads[id] = pending
            readSchedules[id] = schedule
            askReplicas(ask, read: id)
        }
    }

    /// Forgets a verified read that completed or ran out of time.
    private func finishRead(_ id: UInt64) {
        reads[id] = nil
        readSchedules[id] = nil
    }

    /// Stops ticking and drops further frames; pending gateway requests fail.
    public func stop() {
        queue.sync {
            stopped = true
            ticker?.cancel()
            ticker = nil
            for id in instances.keys.sorted() {
                instances[id]?.failAll(NodeError.unavailable("node \(index) is stopping"))
            }
            for id in readWaiters.keys.sorted() {
                readWaiters[id]?.resume(throwing: NodeError.unavailable("node \(index) is stopping"))
            }
            readWaiters.removeAll()
            reads.removeAll()
            readSchedules.removeAll()
        }
    }

    /// A frame from node `peer` arrived on the transport.
    public func deliver(from peer: PublicKeyBytes, payload: [UInt8]) {
        queue.async { [self] in
            // Replicas and clients are mutated in place through `instances`: a copy taken out of the
            // dictionary would share its storage, and the first write would duplicate the whole
            // replica state (slots, client table) for every frame.
            // Only the group's layout is read out here: holding a copy of the instance across the
            // mutation below would be exactly that duplication (it was: 60% of a write's CPU).
            guard !stopped, let envelope = Envelope(payload), let group = instances[envelope.group]?.group else { return }
            guard let sender = layout.member(withKey: peer) else { return }
            switch envelope.kind {
            case .toReplica:
                guard instances[envelope.group]?.replica != nil else { return }
                let actions = instances[envelope.group]!.replica!.receive(frame: envelope.frame)
                perform(actions, in: envelope.group)
            case .readRequest(let id):
                guard let result = answerRead(group: envelope.group, query: envelope.frame) else { return }
                let reply = Envelope(kind: .readReply(id), group: envelope.group, frame: result).encoded()
                if sender.index == index { deliver(from: key.publicKey, payload: reply) } else { transport?.send(reply, to: sender.key) }
            case .readReply(let id):
                guard group.members.contains(sender.index) else { return }
                recordReadAnswer(envelope.frame, from: sender.index, read: id)
            case .toClient(let clientID):
                // Replies come only from the group's replicas; the client checks their MACs itself.
                guard group.members.contains(sender.index),
                      let slot = instances[envelope.group]?.clients.firstIndex(where: { $0.id == clientID })
                else { return }
                let actions = instances[envelope.group]!.clients[slot].receive(frame: envelope.frame)
                performClient(actions, slot: slot, in: envelope.group)
            }
        }
    }

    /// Orders `operation` through group `group` and returns its result once f+1 replicas agree.
    public func submit(group: UInt32, operation: [UInt8]) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                guard !stopped, var instance = instances[group] else {
                    continuation.resume(throwing: NodeError.unavailable("no group \(group) on node \(index)"))
                    return
                }
                guard instance.waiting.count < options.queuedRequestsMax else {
                    continuation.resume(throwing: NodeError.rejected(
                        "gateway queue of group \(group) is full (queued_requests_max = \(options.queuedRequestsMax))"))
                    return
                }
                instance.waiting.append((operation, continuation))
                instances[group] = instance
                dispatchWaiting(in: group)
            }
        }
    }

    public func status() -> [GroupStatus] {
        queue.sync {
            instances.keys.sorted().compactMap { id -> GroupStatus? in
                guard let instance = instances[id], let replica = instance.replica else { return nil }
                return GroupStatus(group: id, replicaIndex: replica.index, view: replica.view,
                                   primaryNode: instance.group.members[replica.primary], inViewChange: replica.inViewChange,
                                   lastExecuted: replica.lastExecuted, stableCheckpoint: replica.stableCertificate.sequence)
            }
        }
    }

    /// The last executed sequence number of this node's replica of `group` and the state digest
    /// after it, read together on the node's queue.
    public func stateDigest(group: UInt32) throws -> (sequence: UInt64, digest: String) {
        try queue.sync {
            guard let replica = instances[group]?.replica else { throw NodeError.unavailable("node \(index) holds no replica of group \(group)") }
            return (replica.lastExecuted, hex(replica.stateMachineForReading.stateDigest.bytes))
        }
    }

    /// Runs `body` on the node's queue with the state machine of `group`, without blocking the
    /// caller's thread (the cooperative pool has one thread per core).
    public func readStateMachine<T: Sendable>(group: UInt32, _ body: @escaping @Sendable (any ReplicatedStateMachine) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                guard let replica = instances[group]?.replica else {
                    continuation.resume(throwing: NodeError.unavailable("node \(index) holds no replica of group \(group)"))
                    return
                }
                continuation.resume(with: Result { try body(replica.stateMachineForReading) })
            }
        }
    }

    /// Runs `body` on the node's queue with the state machine of `group` (for local reads).
    public func withStateMachine<T: Sendable>(group: UInt32, _ body: @Sendable (any ReplicatedStateMachine) throws -> T) throws -> T {
        try queue.sync {
            guard let replica = instances[group]?.replica else { throw NodeError.unavailable("node \(index) holds no replica of group \(group)") }
            return try body(replica.stateMachineForReading)
        }
    }

    // MARK: On the queue

    private func onTick() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !stopped else { return }
        tick += 1
        sweepReads()
        for id in instances.keys.sorted() {
            guard let due = instances[id]?.takeDueTimers(at: tick) else { continue }
            for timer in due {
                switch timer {
                case .replica(let replicaTimer):
                    guard instances[id]?.replica != nil else { continue }
                    let actions = instances[id]!.replica!.timerFired(replicaTimer)
                    perform(actions, in: id)
                case .client(let slot):
                    let actions = instances[id]!.clients[slot].timerFired()
                    performClient(actions, slot: slot, in: id)
                }
            }
        }
    }

    /// Carries out a replica's actions: log appends now; the sends wait for the fsync that
    /// makes those appends durable (ReplicaAction: a persist is durable before any later send
    /// leaves the node). The fsync runs once for every event processed meanwhile — group
    /// commit — so under load one fsync covers many messages.
    private func perform(_ actions: [ReplicaAction], in group: UInt32) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard var instance = instances[group] else { return }
        do {
            for action in actions {
                switch action {
                case .persist(let record):
                    try instance.log?.append(record)
                case .send(let frame, let to):
                    sendsAwaitingSync.append((frame, to, instance.group))
                case .setTimer(let timer, let ticks):
                    instance.timers[.replica(timer)] = tick + ticks
                case .cancelTimer(let timer):
                    instance.timers[.replica(timer)] = nil
                case .executed, .checkpointed:
                    break
                case .stateTransferred(let sequence, _):
                    logger.info("group \(group): state transfer to sequence \(sequence)")
                }
            }
        } catch {
            crashStop(group: group, error)
        }
        instances[group] = instance
        if let publish = publishers[group], let replica = instance.replica {
            for receiver in publish { receiver(replica.stateMachineForReading) }
        }
        if !sendsAwaitingSync.isEmpty, !syncScheduled {
            syncScheduled = true
            queue.async { [self] in syncThenSend() }
        }
    }

    /// fsyncs every log with unsynced records, then sends what waited for it.
    private func syncThenSend() {
        dispatchPrecondition(condition: .onQueue(queue))
        syncScheduled = false
        for id in instances.keys.sorted() {
            do {
                try instances[id]?.log?.sync()
            } catch {
                crashStop(group: id, error)
            }
        }
        let sends = sendsAwaitingSync
        sendsAwaitingSync.removeAll(keepingCapacity: true)
        for send in sends { route(send.frame, to: send.to, group: send.group) }
    }

    /// A node that cannot make its log durable must not speak: stop the process; a restart
    /// recovers from the log and the other replicas.
    private func crashStop(group: UInt32, _ error: any Error) -> Never {
        logger.critical("group \(group): \(error); stopping the node")
        fatalError("node \(index) cannot persist its PBFT log: \(error)")
    }

    private func performClient(_ actions: [ClientAction], slot: Int, in group: UInt32) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard var instance = instances[group] else { return }
        var sends: [(frame: [UInt8], to: [Principal])] = []
        var completed = false
        for action in actions {
            switch action {
            case .send(let frame, let to):
                sends.append((frame, to))
            case .setTimer(let ticks):
                instance.timers[.client(slot)] = tick + ticks
            case .cancelTimer:
                instance.timers[.client(slot)] = nil
            case .completed(_, let result):
                instance.timers[.client(slot)] = nil
                instance.inFlight[slot]?.continuation.resume(returning: result)
                instance.inFlight[slot] = nil
                completed = true
            }
        }
        instances[group] = instance
        for send in sends { route(send.frame, to: send.to, group: instance.group) }
        if completed { dispatchWaiting(in: group) }
    }

    private func dispatchWaiting(in group: UInt32) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard var instance = instances[group] else { return }
        // A slot is free when its client has nothing outstanding: a request whose caller timed
        // out still occupies its client until the group answers it.
        while !instance.waiting.isEmpty,
              let slot = instance.clients.indices.first(where: { instance.inFlight[$0] == nil && !instance.clients[$0].hasOutstanding }) {
            let (operation, continuation) = instance.waiting.removeFirst()
            let actions: [ClientAction]
            do {
                actions = try instance.clients[slot].submit(operation: operation)
            } catch {
                continuation.resume(throwing: NodeError.rejected("\(error)"))
                continue
            }
            nextRequestToken += 1
            let token = nextRequestToken
            instance.inFlight[slot] = (token, continuation)
            instances[group] = instance
            let timeout = options.requestTimeout
            queue.asyncAfter(deadline: .now() + .milliseconds(Self.milliseconds(timeout))) { [self] in
                guard let pending = instances[group]?.inFlight[slot], pending.token == token else { return }
                instances[group]?.inFlight[slot] = nil
                pending.continuation.resume(throwing: NodeError.timedOut(
                    "group \(group) did not answer within \(timeout) (request_timeout); is a quorum of its nodes up?"))
            }
            performClient(actions, slot: slot, in: group)
            guard let updated = instances[group] else { return }
            instance = updated
        }
        instances[group] = instance
    }

    private func route(_ frame: [UInt8], to principals: [Principal], group: ClusterLayout.Group) {
        guard let transport else { return }
        for principal in principals {
            let node: Int
            let kind: Envelope.Kind
            switch principal {
            case .replica(let replica):
                guard group.members.indices.contains(replica) else { continue }
                node = group.members[replica]
                kind = .toReplica
            case .client(let id):
                guard let gateway = layout.gatewayNode(ofClient: id) else { continue }
                node = gateway
                kind = .toClient(id)
            }
            let payload = Envelope(kind: kind, group: group.id, frame: frame).encoded()
            if node == index {
                deliver(from: key.publicKey, payload: payload)
            } else {
                transport.send(payload, to: layout.members[node].key)
            }
        }
    }
}

/// A `verifiedRead` collecting answers: the latest answer of each replica node, agreed once
/// `needed` of them are equal. A pure record of who was asked and who answered what; the runtime
/// sends the requests it names and checks its deadlines.
struct PendingRead {
    enum Step: Equatable {
        case agreed([UInt8])
        /// The nodes asked so far all answered, without agreement: ask these, not asked yet, now.
        case widen([Int])
        /// Ask these nodes again (after a pause that grows with `round`).
        case askAgain([Int], round: Int)
        case wait
    }

    let group: UInt32
    let members: [Int]
    let needed: Int
    let query: [UInt8]
    private var answers: [Int: [UInt8]] = [:]
    /// Nodes asked that have not answered since: not asked again while they work on it.
    private var outstanding: Set<Int> = []
    /// Members not asked yet, in the order they will be.
    private var unasked: [Int] = []
    private var rounds = 0

    init(group: UInt32, members: [Int], needed: Int, query: [UInt8]) {
        self.group = group
        self.members = members
        self.needed = needed
        self.query = query
    }

    var answerCount: Int { answers.count }

    /// The nodes to ask first: `needed` of them — `local` when it is a member, then the other
    /// members in turn from `rotation` (so that the gateways' reads spread evenly over the other
    /// replicas). The rest wait for `hedge` or a disagreement.
    mutating func start(preferring local: Int?, rotation: Int) -> [Int] {
        var order: [Int] = []
        if let local, members.contains(local) { order.append(local) }
        let others = members.filter { $0 != local }
        let offset = others.isEmpty ? 0 : Int(UInt(bitPattern: rotation) % UInt(others.count))
        order += others.indices.map { others[(offset + $0) % others.count] }
        let first = Array(order.prefix(needed))
        unasked = Array(order.dropFirst(needed))
        outstanding = Set(first)
        return first
    }

    /// Records `node`'s answer, replacing its earlier one: a replica asked again has executed
    /// more. Each node counts once however often it answers.
    mutating func record(_ result: [UInt8], from node: Int) -> Step {
        guard members.contains(node) else { return .wait }
        answers[node] = result
        outstanding.remove(node)
        if answers.values.filter({ $0 == result }).count >= needed { return .agreed(result) }
        guard outstanding.isEmpty else { return .wait }
        if !unasked.isEmpty { return .widen(hedge()) }
        rounds += 1
        outstanding = Set(members)
        return .askAgain(members, round: rounds)
    }

    /// The members not asked yet, now marked as asked: when the first ones are slow to answer.
    mutating func hedge() -> [Int] {
        let nodes = unasked
        unasked = []
        outstanding.formUnion(nodes)
        return nodes
    }

    /// At each retry interval: the nodes that answered, without agreement, and are not working
    /// on a request. A node that never answered (down, or slow) is not asked again.
    mutating func retryDue() -> [Int] {
        let idle = members.filter { answers[$0] != nil && !outstanding.contains($0) }
        outstanding.formUnion(idle)
        return idle
    }
}

/// How a node hands frames to its peers: TCP between processes, a hub in one process.
public protocol NodeTransport: Sendable {
    func send(_ payload: [UInt8], to peer: PublicKeyBytes)
}

extension TCPTransport: NodeTransport {}

/// One PBFT instance on this node: its replica (when the node is a member), its log, the gateway
/// clients, their timers and the requests waiting for a client.
struct GroupInstance {
    enum TimerKey: Hashable {
        case replica(ReplicaTimer)
        case client(Int)
    }

    let group: ClusterLayout.Group
    var replica: Replica?
    var log: ReplicaLog?
    var clients: [Client]
    /// The caller waiting on each client slot, with the token of its request (a timeout only
    /// fails the request it was armed for).
    var inFlight: [Int: (token: UInt64, continuation: CheckedContinuation<[UInt8], any Error>)] = [:]
    var waiting: [([UInt8], CheckedContinuation<[UInt8], any Error>)] = []
    var timers: [TimerKey: UInt64] = [:]

    init(group: ClusterLayout.Group, clients: [Client]) {
        self.group = group
        self.clients = clients
    }

    /// The timers due at `tick`, removed, in a fixed order (replica first, then clients by slot).
    mutating func takeDueTimers(at tick: UInt64) -> [TimerKey] {
        let due = timers.filter { $0.value <= tick }.map(\.key).sorted { lhs, rhs in
            switch (lhs, rhs) {
            case (.replica(let a), .replica(let b)): "\(a)" < "\(b)"
            case (.replica, .client): true
            case (.client, .replica): false
            case (.client(let a), .client(let b)): a < b
            }
        }
        for key in due { timers[key] = nil }
        return due
    }

    mutating func failAll(_ error: NodeError) {
        for slot in inFlight.keys.sorted() { inFlight[slot]?.continuation.resume(throwing: error) }
        inFlight.removeAll()
        for (_, continuation) in waiting { continuation.resume(throwing: error) }
        waiting.removeAll()
    }
}

/// The node-to-node payload: `kind (1) | group id (4) | [client id (8)] | PBFT frame`. The
/// client id routes a reply to the gateway client it answers without opening the frame.
struct Envelope {
    enum Kind: Equatable {
        case toReplica
        case toClient(UInt64)
        case readRequest(UInt64)
        case readReply(UInt64)
    }

    let kind: Kind
    let group: UInt32
    let frame: [UInt8]

    init(kind: Kind, group: UInt32, frame: [UInt8]) {
        self.kind = kind
        self.group = group
        self.frame = frame
    }

    init?(_ payload: [UInt8]) {
        guard payload.count >= 5 else { return nil }
        group = payload.readUInt32(at: 1)
        switch payload[0] {
        case 1:
            kind = .toReplica
            frame = Array(payload[5...])
        case 2, 3, 4:
            guard payload.count >= 13 else { return nil }
            let id = UInt64(payload.readUInt32(at: 5)) << 32 | UInt64(payload.readUInt32(at: 9))
            kind = payload[0] == 2 ? .toClient(id) : payload[0] == 3 ? .readRequest(id) : .readReply(id)
            frame = Array(payload[13...])
        default:
            return nil
        }
    }

    func encoded() -> [UInt8] {
        switch kind {
        case .toReplica:
            [1] + group.bigEndianBytes + frame
        case .toClient(let id):
            [2] + group.bigEndianBytes + Self.idBytes(id) + frame
        case .readRequest(let id):
            [3] + group.bigEndianBytes + Self.idBytes(id) + frame
        case .readReply(let id):
            [4] + group.bigEndianBytes + Self.idBytes(id) + frame
        }
    }

    private static func idBytes(_ id: UInt64) -> [UInt8] {
        UInt32(id >> 32).bigEndianBytes + UInt32(truncatingIfNeeded: id).bigEndianBytes
    }
}
