/// What a client asks its shell to do.
public enum ClientAction: Sendable {
    case send(frame: [UInt8], to: [Principal])
    case setTimer(ticks: UInt64)
    case cancelTimer
    /// f+1 replicas agreed on this result: the operation is done.
    case completed(timestamp: UInt64, result: [UInt8])
}

public enum ClientError: Error, Sendable, Equatable {
    case requestOutstanding
    case operationTooLarge(bytes: Int, limit: Int)
}

/// The PBFT client (OSDI'99 §4.1), used by gateways: one request outstanding at a time, sent to
/// the primary it believes in; accepted on f+1 matching replies from distinct replicas; on
/// timeout re-sent to all replicas (which relay it to the primary and start suspecting it).
public struct Client {
    public let id: UInt64
    public let configuration: GroupConfiguration
    let auth: Authenticator
    public let retransmitTimeoutTicks: UInt64
    let retransmitTimeoutTicksMax: UInt64

    /// The view the client believes current, learned from replies.
    public private(set) var view: UInt64 = 0
    public internal(set) var lastTimestamp: UInt64 = 0
    var outstanding: Request? { didSet { outstandingTimestamp = outstanding?.timestamp } }
    /// `outstanding`'s timestamp, kept apart: every reply is checked against it, and reading it
    /// through the optional request copied the request (retaining its arrays) each time.
    private(set) var outstandingTimestamp: UInt64?
    var replies: [Reply?]
    /// The primary of `primaryRecipientsView` as a recipient list, rebuilt only when the view
    /// changes (an array per request was an allocation).
    private var primaryRecipients: [Principal]
    private var primaryRecipientsView: UInt64 = 0
    var currentTimeoutTicks: UInt64
    public private(set) var droppedReplies = 0

    public init(
        id: UInt64, configuration: GroupConfiguration, identity: NodeIdentity, directory: KeyDirectory,
        retransmitTimeoutTicks: UInt64 = 300, codecLimits: CodecLimits = CodecLimits()
    ) {
        self.id = id
        self.configuration = configuration
        self.auth = Authenticator(
            me: .client(id), identity: identity, directory: directory,
            codec: MessageCodec(replicaCount: configuration.replicaCount, limits: codecLimits))
        self.retransmitTimeoutTicks = retransmitTimeoutTicks
        self.retransmitTimeoutTicksMax = retransmitTimeoutTicks * 16
        self.currentTimeoutTicks = retransmitTimeoutTicks
        self.replies = Array(repeating: nil, count: configuration.replicaCount)
        self.primaryRecipients = [.replica(configuration.primary(ofView: 0))]
    }

    public var hasOutstanding: Bool { outstanding != nil }

    /// The request awaiting replies, if any.
    public var outstandingRequest: Request? { outstanding }

    /// A sealed frame carrying `request`, for callers that manage requests themselves (a
    /// load generator, or the simulator's flooding client).
    public func frame(for request: Request, to recipients: [Principal]) -> [UInt8] {
        auth.sealRequest(request, to: recipients)
    }

    /// Builds an authenticated request (one MAC per replica) for `operation`.
    public func makeRequest(operation: [UInt8], timestamp: UInt64) -> Request {
        var request = Request(client: id, timestamp: timestamp, operation: operation)
        request.authenticator = auth.requestAuthenticator(for: request.digest, replicaCount: configuration.replicaCount)
        return request
    }

    /// Sends `operation` to the primary of the view we believe in.
    public mutating func submit(operation: [UInt8]) throws(ClientError) -> [ClientAction] {
        guard outstanding == nil else { throw .requestOutstanding }
        let limit = auth.codec.limits.operationBytesMax
        guard operation.count <= limit else { throw .operationTooLarge(bytes: operation.count, limit: limit) }
        lastTimestamp += 1
        let request = makeRequest(operation: operation, timestamp: lastTimestamp)
        outstanding = request
        for i in replies.indices { replies[i] = nil }
        currentTimeoutTicks = retransmitTimeoutTicks
        if primaryRecipientsView != view {
            primaryRecipients = [.replica(configuration.primary(ofView: view))]
            primaryRecipientsView = view
        }
        return [
            .send(frame: auth.sealRequest(request, to: primaryRecipients), to: primaryRecipients),
            .setTimer(ticks: currentTimeoutTicks),
        ]
    }

    /// No result in time: re-send to every replica and wait longer.
    public mutating func timerFired() -> [ClientAction] {
        guard let request = outstanding else { return [] }
        currentTimeoutTicks = min(currentTimeoutTicks * 2, retransmitTimeoutTicksMax)
        let everyone = (0..<configuration.replicaCount).map { Principal.replica($0) }
        return [
            .send(frame: auth.sealRequest(request, to: everyone), to: everyone),
            .setTimer(ticks: currentTimeoutTicks),
        ]
    }

    public mutating func receive(frame: [UInt8]) -> [ClientAction] {
        // Replies we would ignore anyway (late, or for an older request) skip the MAC check.
        if let late = auth.peekReplyTimestamp(frame), outstandingTimestamp != late {
            return []
        }
        guard let opened = try? auth.open(frame), case .replica(let sender) = opened.sender,
            case .reply(let reply) = opened.message, reply.replica == sender, reply.client == id
        else {
            droppedReplies += 1
            return []
        }
        guard let timestamp = outstandingTimestamp, reply.timestamp == timestamp else { return [] }
        replies[sender] = reply
        var matching = 0
        for case let other? in replies where other.result == reply.result { matching += 1 }
        guard matching >= configuration.replyQuorum else { return [] }
        // The view: the highest one that f+1 replies vouch for (at least one correct replica),
        // i.e. the highest v with f+1 replies at v or above.
        for case let candidate? in replies where candidate.view > view {
            var vouching = 0
            for case let other? in replies where other.view >= candidate.view { vouching += 1 }
            if vouching >= configuration.replyQuorum { view = candidate.view }
        }
        outstanding = nil
        return [.cancelTimer, .completed(timestamp: timestamp, result: reply.result)]
    }
}
