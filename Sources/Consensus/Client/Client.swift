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
    var outstanding: Request?
    var replies: [Reply?]
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
        let primary = Principal.replica(configuration.primary(ofView: view))
        return [
            .send(frame: auth.sealRequest(request, to: [primary]), to: [primary]),
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
        if let late = auth.peekReplyTimestamp(frame), outstanding?.timestamp != late {
            return []
        }
        guard let opened = try? auth.open(frame), case .replica(let sender) = opened.sender,
            case .reply(let reply) = opened.message, reply.replica == sender, reply.client == id
        else {
            droppedReplies += 1
            return []
        }
        guard let request = outstanding, reply.timestamp == request.timestamp else { return [] }
        replies[sender] = reply
        let matching = replies.lazy.compactMap { $0 }.filter { $0.result == reply.result }
        guard matching.count >= configuration.replyQuorum else { return [] }
        // The view: the highest one that f+1 replies vouch for (at least one correct replica).
        let views = replies.compactMap { $0?.view }.sorted(by: >)
        if views.count >= configuration.replyQuorum {
            view = max(view, views[configuration.replyQuorum - 1])
        }
        outstanding = nil
        return [.cancelTimer, .completed(timestamp: request.timestamp, result: reply.result)]
    }
}
