/// One sequence number's slot in the message log (OSDI'99 §4.2). The first group of fields
/// belongs to the current view and is cleared by a view change; `preparedEntry` and
/// `prePreparedViews` survive view changes: they are the P and Q sets of TOCS §4.5.
struct Slot {
    var prePrepare: PrePrepare?
    /// Where the pre-prepare's clients are in `Replica.clients`, in batch order, when known
    /// (found while its requests were verified or batched): execution then needs no lookups.
    var clientPositions: [Int]?
    var prepares: [Digest?]
    var commits: [Digest?]
    var sentCommit = false
    var committed = false

    var preparedEntry: PreparedEntry?
    var prePreparedViews: [Digest: UInt64] = [:]

    init(replicaCount: Int) {
        prepares = Array(repeating: nil, count: replicaCount)
        commits = Array(repeating: nil, count: replicaCount)
    }

    mutating func resetForNewView() {
        prePrepare = nil
        clientPositions = nil
        for i in prepares.indices { prepares[i] = nil }
        for i in commits.indices { commits[i] = nil }
        sentCommit = false
        committed = false
    }
}

/// What the replica remembers per client for exactly-once execution (OSDI'99 §4.1): the last
/// timestamp executed and its result, re-sent when the request comes again.
struct ClientRecord: Hashable {
    var timestamp: UInt64
    var result: [UInt8]
}

/// A PBFT replica (Castro & Liskov, OSDI'99 §4; TOCS'02 §4-§5) as a pure state machine: every
/// event is a `mutating func` that returns the actions to take. No clock, socket or file in here.
public struct Replica {
    public let index: Int
    public let configuration: GroupConfiguration
    public let options: ReplicaOptions
    let auth: Authenticator
    /// Every replica but this one, built once: each broadcast used to build the array anew.
    let others: [Principal]
    var stateMachine: any ReplicatedStateMachine

    // View (OSDI'99 §4.4).
    public internal(set) var view: UInt64 = 0
    public internal(set) var inViewChange = false
    var viewChangeTimeoutTicks: UInt64
    var viewChangeTimerRunning = false
    var myViewChange: ViewChange?
    /// The latest VIEW-CHANGE from each replica (only views above ours are kept useful).
    var latestViewChange: [ViewChange?]
    var lastNewView: NewView?
    /// Older views' pre-prepares and COMMITs gathered while waiting in a view change
    /// (Replica+LateCommits.swift); emptied when a view is installed.
    var lateSlots: [UInt64: LateSlot] = [:]

    // Log (OSDI'99 §4.2-§4.3).
    var slots: [UInt64: Slot] = [:]
    public internal(set) var lastExecuted: UInt64 = 0
    /// The primary's last assigned sequence number.
    var lastAssigned: UInt64 = 0

    // Checkpoints (OSDI'99 §4.3).
    public internal(set) var stableCertificate: CheckpointCertificate
    var stableSnapshot: [UInt8]?
    var ownCheckpoints: [UInt64: (digest: Digest, snapshot: [UInt8])] = [:]
    var checkpointVotes: [UInt64: [Int: Checkpoint]] = [:]
    /// The highest certified checkpoint we have not reached by executing.
    var knownCertificate: CheckpointCertificate?
    var transferTarget: CheckpointCertificate?
    var lastExecutedAtPreviousStatus: UInt64 = 0

    // Clients (OSDI'99 §4.1).
    var clients = ClientTable()
    /// Primary only: clients (positions in `clients`) in arrival order whose pending request is
    /// not yet in a batch.
    var readyQueue: [Int] = []
    var readyQueueHead = 0

    /// Restoring from persisted records: state is rebuilt, nothing is sent.
    var restoring = false

    public internal(set) var dropped: [DropReason: Int] = [:]

    public init(
        index: Int, configuration: GroupConfiguration, options: ReplicaOptions = ReplicaOptions(),
        identity: NodeIdentity, directory: KeyDirectory, stateMachine: any ReplicatedStateMachine,
        codecLimits: CodecLimits = CodecLimits()
    ) {
        precondition((0..<configuration.replicaCount).contains(index), "replica index outside the group")
        precondition(directory.replicas.count == configuration.replicaCount, "one public identity per replica")
        precondition(options.logWindowSequences % options.checkpointIntervalSequences == 0
            && options.logWindowSequences >= 2 * options.checkpointIntervalSequences,
            "L must be a multiple of K and at least 2K (OSDI'99 §4.3)")
        precondition(options.requestsPerBatchMax >= 1 && options.requestsPerBatchMax <= codecLimits.batchRequestsMax,
            "a batch must fit the codec's request count limit, or peers could not decode our pre-prepares")
        self.index = index
        self.configuration = configuration
        self.options = options
        self.auth = Authenticator(
            me: .replica(index), identity: identity, directory: directory,
            codec: MessageCodec(replicaCount: configuration.replicaCount, limits: codecLimits))
        self.others = (0..<configuration.replicaCount).filter { $0 != index }.map { .replica($0) }
        self.stateMachine = stateMachine
        self.viewChangeTimeoutTicks = options.viewChangeTimeoutTicks
        self.latestViewChange = Array(repeating: nil, count: configuration.replicaCount)
        self.stableCertificate = CheckpointCertificate(sequence: 0, stateDigest: .zero, checkpoints: [])
        for client in directory.clients.keys.sorted() {
            _ = clients.position(creating: client, keySlot: auth.keySlot(for: .client(client)))
        }
        self.stableSnapshot = nil
        self.stableSnapshot = takeSnapshot()
    }

    // MARK: Derived values

    public var primary: Int { configuration.primary(ofView: view) }
    public var isPrimary: Bool { primary == index }
    var f: Int { configuration.faultsTolerated }
    var quorum: Int { configuration.quorum }
    var lowWaterMark: UInt64 { stableCertificate.sequence }
    var highWaterMark: UInt64 { lowWaterMark + options.logWindowSequences }
    var otherReplicas: [Principal] { others }

    /// The digest of the replicated state the replica has executed up to `lastExecuted`.
    public var stateDigest: Digest { Digest.of(takeSnapshot()) }

    /// Pending requests not yet executed, for observers and tests.
    public var pendingRequestCount: Int { clients.pendingCount }

    func inWindow(_ sequence: UInt64) -> Bool {
        sequence > lowWaterMark && sequence <= highWaterMark
    }

    mutating func drop(_ reason: DropReason) {
        dropped[reason, default: 0] += 1
    }

    // MARK: Events

    /// Starts the replica: arms the status timer. Call once after `init` (or after `restore`).
    public mutating func start() -> [ReplicaAction] {
        var actions: [ReplicaAction] = [.setTimer(.status, ticks: options.statusIntervalTicks)]
        if inViewChange, let vc = myViewChange {
            broadcast(.viewChange(vc), &actions)
        }
        actions.append(contentsOf: statusActions())
        return actions
    }

    /// A frame arrived from the network. Unauthenticated or malformed frames are dropped and
    /// counted (DESIGN.md, Security).
    public mutating func receive(frame: [UInt8]) -> [ReplicaAction] {
        let opened: (sender: Principal, message: Message)
        do {
            opened = try auth.open(frame)
        } catch {
            switch error {
            case .unknownSender: drop(.unknownSender)
            case .malformed: drop(.malformed)
            case .badMAC, .notAddressedToUs, .badSignature: drop(.badMAC)
            case .batchDigestMismatch: drop(.badDigest)
            }
            return []
        }
        var actions: [ReplicaAction] = []
        handle(opened.message, from: opened.sender, &actions)
        return actions
    }

    /// A client request handed over in-process (for a gateway co-located with the replica).
    public mutating func submit(_ request: Request) -> [ReplicaAction] {
        var actions: [ReplicaAction] = []
        receiveRequest(request, from: .client(request.client), &actions)
        return actions
    }

    public mutating func timerFired(_ timer: ReplicaTimer) -> [ReplicaAction] {
        var actions: [ReplicaAction] = []
        switch timer {
        case .status:
            statusTick(&actions)
            actions.append(.setTimer(.status, ticks: options.statusIntervalTicks))
        case .viewChange:
            viewChangeTimerRunning = false
            viewChangeTimerExpired(&actions)
        }
        return actions
    }

    mutating func handle(_ message: Message, from sender: Principal, _ actions: inout [ReplicaAction]) {
        // Every replica-originated message names its sender; it must be the authenticated one.
        switch message {
        case .request(let request):
            receiveRequest(request, from: sender, &actions)
        case .prePrepare(let pp):
            guard sender == .replica(configuration.primary(ofView: pp.view)) else { return drop(.wrongSender) }
            receivePrePrepare(pp, &actions)
        case .prepare(let vote):
            guard sender == .replica(vote.replica) else { return drop(.wrongSender) }
            receivePrepare(vote, &actions)
        case .commit(let vote):
            guard sender == .replica(vote.replica) else { return drop(.wrongSender) }
            receiveCommit(vote, &actions)
        case .checkpoint(let checkpoint):
            guard sender == .replica(checkpoint.replica) else { return drop(.wrongSender) }
            receiveCheckpoint(checkpoint, &actions)
        case .checkpointCertificate(let certificate):
            guard case .replica = sender else { return drop(.wrongSender) }
            receiveCertificate(certificate, &actions)
        case .viewChange(let vc):
            guard sender == .replica(vc.replica) else { return drop(.wrongSender) }
            receiveViewChange(vc, &actions)
        case .newView(let nv):
            guard sender == .replica(nv.replica) else { return drop(.wrongSender) }
            receiveNewView(nv, &actions)
        case .status(let status):
            guard sender == .replica(status.replica) else { return drop(.wrongSender) }
            receiveStatus(status, &actions)
        case .fetchSnapshot(let fetch):
            guard sender == .replica(fetch.replica) else { return drop(.wrongSender) }
            receiveFetch(fetch, &actions)
        case .snapshot(let transfer):
            guard sender == .replica(transfer.replica) else { return drop(.wrongSender) }
            receiveSnapshot(transfer, &actions)
        case .reply:
            drop(.unexpected)
        }
    }

    // MARK: Sending

    func send(_ message: Message, to recipients: [Principal], _ actions: inout [ReplicaAction]) {
        guard !restoring, !recipients.isEmpty else { return }
        actions.append(.send(frame: auth.seal(message, to: recipients), to: recipients))
    }

    func broadcast(_ message: Message, _ actions: inout [ReplicaAction]) {
        send(message, to: otherReplicas, &actions)
    }

    func persist(_ record: PersistedRecord, _ actions: inout [ReplicaAction]) {
        guard !restoring else { return }
        actions.append(.persist(record))
    }
}
