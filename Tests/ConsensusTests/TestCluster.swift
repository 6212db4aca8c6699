@testable import Consensus

/// A synchronous in-memory cluster for protocol-step tests: frames go into one FIFO and are
/// delivered when the test says so; timers fire only when the test fires them. Tests read like
/// transcripts: submit, deliver, check.
struct TestCluster {
    var replicas: [Replica]
    var clients: [UInt64: Client] = [:]
    var inFlight: [(frame: [UInt8], to: Principal)] = []
    var executed: [[(sequence: UInt64, digest: Digest)]]
    var persisted: [[PersistedRecord]]
    var timers: [[ReplicaTimer: UInt64]]
    var completed: [UInt64: [[UInt8]]] = [:]
    var down: Set<Int> = []
    let identities: [NodeIdentity]
    let clientIdentities: [UInt64: NodeIdentity]
    let directory: KeyDirectory
    let configuration: GroupConfiguration
    let options: ReplicaOptions

    init(replicaCount: Int = 4, clientIDs: [UInt64] = [1, 2, 3], options: ReplicaOptions = TestCluster.defaultOptions) {
        configuration = try! GroupConfiguration(replicaCount: replicaCount)
        self.options = options
        identities = (0..<replicaCount).map { NodeIdentity.deterministic(seed: 7, principal: .replica($0)) }
        var clientIdentities: [UInt64: NodeIdentity] = [:]
        for id in clientIDs { clientIdentities[id] = NodeIdentity.deterministic(seed: 7, principal: .client(id)) }
        self.clientIdentities = clientIdentities
        directory = KeyDirectory(
            replicas: identities.map(\.publicIdentity), clients: clientIdentities.mapValues(\.publicIdentity))
        replicas = []
        executed = Array(repeating: [], count: replicaCount)
        persisted = Array(repeating: [], count: replicaCount)
        timers = Array(repeating: [:], count: replicaCount)
        for i in 0..<replicaCount { replicas.append(makeReplica(i)) }
        for id in clientIDs {
            clients[id] = Client(id: id, configuration: configuration, identity: clientIdentities[id]!, directory: directory)
        }
    }

    static var defaultOptions: ReplicaOptions {
        var options = ReplicaOptions()
        options.checkpointIntervalSequences = 4
        options.logWindowSequences = 8
        options.requestsPerBatchMax = 4
        options.batchesInFlightMax = 2
        return options
    }

    func makeReplica(_ index: Int) -> Replica {
        Replica(index: index, configuration: configuration, options: options, identity: identities[index],
                directory: directory, stateMachine: HashChainStateMachine())
    }

    func authenticator(forReplica index: Int) -> Authenticator {
        Authenticator(me: .replica(index), identity: identities[index], directory: directory,
                      codec: MessageCodec(replicaCount: configuration.replicaCount))
    }

    func authenticator(forClient id: UInt64) -> Authenticator {
        Authenticator(me: .client(id), identity: clientIdentities[id]!, directory: directory,
                      codec: MessageCodec(replicaCount: configuration.replicaCount))
    }

    mutating func apply(_ actions: [ReplicaAction], from index: Int) {
        for action in actions {
            switch action {
            case .send(let frame, let to):
                for target in to { inFlight.append((frame, target)) }
            case .persist(let record):
                persisted[index].append(record)
            case .executed(let sequence, let digest, _):
                executed[index].append((sequence, digest))
            case .checkpointed, .stateTransferred:
                break
            case .setTimer(let timer, let ticks):
                timers[index][timer] = ticks
            case .cancelTimer(let timer):
                timers[index][timer] = nil
            }
        }
    }

    mutating func apply(_ actions: [ClientAction], client id: UInt64) {
        for action in actions {
            switch action {
            case .send(let frame, let to):
                for target in to { inFlight.append((frame, target)) }
            case .completed(_, let result):
                completed[id, default: []].append(result)
            case .setTimer, .cancelTimer:
                break
            }
        }
    }

    /// The client sends `operation` (to the primary it believes in).
    mutating func submit(_ operation: String, client id: UInt64 = 1) {
        let actions = try! clients[id]!.submit(operation: Array(operation.utf8))
        apply(actions, client: id)
    }

    /// Delivers frames in FIFO order until none is left (or `limit` deliveries), skipping any
    /// for which `drop` says so.
    mutating func deliverAll(limit: Int = 100_000, drop: (([UInt8], Principal) -> Bool)? = nil) {
        var count = 0
        while !inFlight.isEmpty && count < limit {
            let (frame, target) = inFlight.removeFirst()
            count += 1
            if let drop, drop(frame, target) { continue }
            deliver(frame, to: target)
        }
    }

    mutating func deliver(_ frame: [UInt8], to target: Principal) {
        switch target {
        case .replica(let i):
            guard !down.contains(i) else { return }
            let actions = replicas[i].receive(frame: frame)
            apply(actions, from: i)
        case .client(let id):
            guard clients[id] != nil else { return }
            let actions = clients[id]!.receive(frame: frame)
            apply(actions, client: id)
        }
    }

    mutating func fire(_ timer: ReplicaTimer, at index: Int) {
        timers[index][timer] = nil
        let actions = replicas[index].timerFired(timer)
        apply(actions, from: index)
    }

    /// The message kinds currently in flight, for transcript-style checks.
    func inFlightKinds() -> [String] {
        let auth = authenticator(forReplica: 0)
        return inFlight.compactMap { auth.peek($0.frame)?.message.kind }
    }
}
