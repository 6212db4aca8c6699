public import NIOCore
import NIOPosix
import Synchronization

/// The node transport over TCP: one listening port per node for nodes and clients alike,
/// mutually authenticated connections (`Handshake`), and one outbound link per peer node that
/// reconnects with backoff and bounds what it queues, so a slow or dead peer costs at most
/// `sendQueueBytesMax` of memory.
///
/// Each node dials every peer and sends only on its own outbound connection; it receives on the
/// connections peers dialed. Two connections per pair, and no tie-breaking race to get wrong.
public final class TCPTransport: Sendable {
    public struct Limits: Sendable, Hashable {
        public var frameBytesMax = 32 << 20
        /// Bytes queued or in flight to one peer; beyond it frames are dropped and counted
        /// (PBFT retransmits what matters).
        public var sendQueueBytesMax = 64 << 20
        public var inboundConnectionsMax = 1024
        public var handshakeTimeout = TimeAmount.seconds(5)
        public var reconnectDelayMin = TimeAmount.milliseconds(50)
        public var reconnectDelayMax = TimeAmount.seconds(2)

        public init() {}
    }

    public struct Peer: Sendable, Hashable {
        public let key: PublicKeyBytes
        public let host: String
        public let port: Int

        public init(key: PublicKeyBytes, host: String, port: Int) {
            self.key = key
            self.host = host
            self.port = port
        }
    }

    /// A connection that completed the handshake in the client role; replies go back on it.
    public struct ClientConnection: Sendable, Hashable {
        public let channel: any Channel
        public let key: PublicKeyBytes

        public func send(_ payload: [UInt8]) {
            channel.writeAndFlush(TransportFrame.dataBuffer(payload), promise: nil)
        }

        public func close() { channel.close(promise: nil) }

        public static func == (lhs: Self, rhs: Self) -> Bool { lhs.channel === rhs.channel }
        public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(channel)) }
    }

    public struct Handlers: Sendable {
        public var nodeFrame: @Sendable (PublicKeyBytes, [UInt8]) -> Void
        public var clientFrame: @Sendable (ClientConnection, [UInt8]) -> Void
        public var clientClosed: @Sendable (ClientConnection) -> Void

        public init(
            nodeFrame: @escaping @Sendable (PublicKeyBytes, [UInt8]) -> Void,
            clientFrame: @escaping @Sendable (ClientConnection, [UInt8]) -> Void = { _, _ in },
            clientClosed: @escaping @Sendable (ClientConnection) -> Void = { _ in }
        ) {
            self.nodeFrame = nodeFrame
            self.clientFrame = clientFrame
            self.clientClosed = clientClosed
        }
    }

    public let identity: NodeKey
    public let policy: HandshakePolicy
    public let limits: Limits
    let group: any EventLoopGroup
    let handlers: Handlers
    let links: [PublicKeyBytes: PeerLink]
    private let rejections = Mutex<[TransportRejection: Int]>([:])
    private let inboundConnections = Atomic<Int>(0)
    private let server = Mutex<(any Channel)?>(nil)
    /// Accepted connections, closed by `shutdown` (closing the listener leaves them open).
    private let accepted = Mutex<[ObjectIdentifier: any Channel]>([:])

    public init(identity: NodeKey, policy: HandshakePolicy, peers: [Peer], group: any EventLoopGroup,
                limits: Limits = Limits(), handlers: Handlers) {
        self.identity = identity
        self.policy = policy
        self.limits = limits
        self.group = group
        self.handlers = handlers
        var links: [PublicKeyBytes: PeerLink] = [:]
        for peer in peers where peer.key != identity.publicKey {
            links[peer.key] = PeerLink(peer: peer)
        }
        self.links = links
    }

    /// Binds the listening port (0 picks a free one) and starts dialing every peer.
    /// Returns the bound port.
    @discardableResult
    public func start(host: String, port: Int) async throws -> Int {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                guard inboundConnections.add(1, ordering: .relaxed).newValue <= limits.inboundConnectionsMax else {
                    inboundConnections.subtract(1, ordering: .relaxed)
                    count(.tooManyConnections)
                    return channel.close()
                }
                accepted.withLock { $0[ObjectIdentifier(channel)] = channel }
                channel.closeFuture.whenComplete { [self] _ in
                    inboundConnections.subtract(1, ordering: .relaxed)
                    accepted.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(makeHandler(expectedPeer: nil, link: nil))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        server.withLock { $0 = channel }
        for link in links.values { connect(link) }
        return channel.localAddress?.port ?? port
    }

    /// Sends `payload` to node `peer`: queued while the link connects, dropped (and counted)
    /// when the peer's queue is full or the peer is unknown. Never blocks.
    public func send(_ payload: [UInt8], to peer: PublicKeyBytes) {
        guard let link = links[peer] else {
            count(.sendQueueFull)
            return
        }
        let bytes = TransportFrame(kind: .data, payload: payload).encoded()
        if !link.enqueue(bytes, limit: limits.sendQueueBytesMax) {
            count(.sendQueueFull)
        }
    }

    /// Closes the listener and every link; no reconnects afterwards.
    public func shutdown() async {
        let listener = server.withLock { channel -> (any Channel)? in
            defer { channel = nil }
            return channel
        }
        try? await listener?.close()
        for channel in accepted.withLock({ Array($0.values) }) { try? await channel.close() }
        for link in links.values {
            if let channel = link.shutdown() { try? await channel.close() }
        }
    }

    public var rejectionCounts: [TransportRejection: Int] { rejections.withLock { $0 } }

    /// Whether the outbound link to `peer` has completed its handshake.
    public func isConnected(to peer: PublicKeyBytes) -> Bool { links[peer]?.isConnected ?? false }

    func count(_ rejection: TransportRejection) {
        rejections.withLock { $0[rejection, default: 0] += 1 }
    }

    private func makeHandler(expectedPeer: PublicKeyBytes?, link: PeerLink?) -> TransportConnectionHandler {
        var generator = SystemRandomNumberGenerator()
        let nonce = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let handshake = Handshake(identity: identity, role: .node, policy: policy, nonce: nonce, expectedPeer: expectedPeer)
        let handlers = self.handlers
        let callbacks = TransportConnectionHandler.Callbacks(
            established: { channel, _, _ in
                link?.connected(channel)
            },
            frame: { channel, key, role, payload in
                switch role {
                case .node: handlers.nodeFrame(key, payload)
                case .client: handlers.clientFrame(ClientConnection(channel: channel, key: key), payload)
                }
            },
            closed: { [self] channel, key in
                if let link {
                    scheduleReconnect(link)
                } else if let key, !policy.nodeKeys.contains(key) {
                    handlers.clientClosed(ClientConnection(channel: channel, key: key))
                }
            },
            rejected: { [self] rejection in count(rejection) }
        )
        return TransportConnectionHandler(handshake: handshake, frameBytesMax: limits.frameBytesMax,
                                          handshakeTimeout: limits.handshakeTimeout, callbacks: callbacks)
    }

    private func connect(_ link: PeerLink) {
        guard link.beginConnecting() else { return }
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(limits.handshakeTimeout)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(makeHandler(expectedPeer: link.peer.key, link: link))
                }
            }
        bootstrap.connect(host: link.peer.host, port: link.peer.port).whenFailure { [self] _ in
            scheduleReconnect(link)
        }
    }

    private func scheduleReconnect(_ link: PeerLink) {
        guard let delay = link.disconnected(min: limits.reconnectDelayMin, max: limits.reconnectDelayMax) else { return }
        group.next().scheduleTask(in: delay) { [self] in connect(link) }
    }
}

/// The outbound side to one peer: its connection when up, and a bounded queue while it is not.
final class PeerLink: Sendable {
    struct State {
        var channel: (any Channel)?
        var connecting = false
        var shutDown = false
        var pending: [[UInt8]] = []
        /// Bytes queued here plus bytes handed to the channel and not yet written to the socket.
        var queuedBytes = 0
        var reconnectDelay: TimeAmount?
    }

    let peer: TCPTransport.Peer
    private let state = Mutex(State())

    init(peer: TCPTransport.Peer) { self.peer = peer }

    var isConnected: Bool { state.withLock { $0.channel != nil } }

    private enum EnqueueOutcome {
        case write(any Channel)
        case queued
        case dropped
    }

    /// Queues or writes `bytes`; false when that would exceed `limit` bytes outstanding.
    func enqueue(_ bytes: [UInt8], limit: Int) -> Bool {
        let outcome = state.withLock { state -> EnqueueOutcome in
            guard !state.shutDown, state.queuedBytes + bytes.count <= limit else { return .dropped }
            state.queuedBytes += bytes.count
            guard let channel = state.channel else {
                state.pending.append(bytes)
                return .queued
            }
            return .write(channel)
        }
        switch outcome {
        case .write(let channel):
            write(bytes, to: channel)
            return true
        case .queued:
            return true
        case .dropped:
            return false
        }
    }

    private func write(_ bytes: [UInt8], to channel: any Channel) {
        let count = bytes.count
        channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenComplete { [self] _ in
            state.withLock { $0.queuedBytes -= count }
        }
    }

    func beginConnecting() -> Bool {
        state.withLock { state in
            guard !state.shutDown, state.channel == nil, !state.connecting else { return false }
            state.connecting = true
            return true
        }
    }

    /// The handshake completed: flush what waited.
    func connected(_ channel: any Channel) {
        let pending = state.withLock { state -> [[UInt8]] in
            state.channel = channel
            state.connecting = false
            state.reconnectDelay = nil
            defer { state.pending.removeAll() }
            return state.pending
        }
        for bytes in pending { write(bytes, to: channel) }
    }

    /// The connection closed or never opened: the delay before the next attempt, doubling from
    /// `min` to `max`; nil after shutdown.
    func disconnected(min: TimeAmount, max: TimeAmount) -> TimeAmount? {
        state.withLock { state in
            state.channel = nil
            state.connecting = false
            guard !state.shutDown else { return nil }
            let delay = state.reconnectDelay.map { Swift.min($0 * 2, max) } ?? min
            state.reconnectDelay = delay
            return delay
        }
    }

    func shutdown() -> (any Channel)? {
        state.withLock { state in
            state.shutDown = true
            state.queuedBytes -= state.pending.reduce(0) { $0 + $1.count }
            state.pending.removeAll()
            return state.channel
        }
    }
}
