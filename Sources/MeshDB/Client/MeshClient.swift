public import NIOCore
public import NIOPosix
import Consensus
import Synchronization

/// A client of one node's gateway over the node's TCP port (the native client protocol): an
/// authenticated client handshake, then requests and responses matched by id. Used by
/// `meshdb status`, tests, and later the blob commands.
public final class MeshClient: Sendable {
    public let host: String
    public let port: Int
    /// The node's key, proven in the handshake.
    public let nodeKey: PublicKeyBytes
    private let channel: any Channel
    private let state: Mutex<State>

    struct State {
        var nextID: UInt32 = 1
        var pending: [UInt32: CheckedContinuation<ClientResponse, any Error>] = [:]
        var closed: NodeError?
    }

    /// Connects and completes the handshake, or throws within `timeout`.
    public static func connect(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                               timeout: TimeAmount = .seconds(5)) async throws -> MeshClient {
        let box = ConnectBox()
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                var generator = SystemRandomNumberGenerator()
                let nonce = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
                let handshake = Handshake(identity: NodeKey.generate(), role: .client, policy: .anyNode, nonce: nonce)
                let handler = TransportConnectionHandler(
                    handshake: handshake, frameBytesMax: 64 << 20, handshakeTimeout: timeout,
                    callbacks: .init(
                        established: { _, key, _ in box.established(key) },
                        frame: { _, _, _, payload in box.client()?.receive(payload) },
                        closed: { _, _ in
                            box.failed(NodeError.unavailable("connection to \(host):\(port) closed"))
                            box.client()?.closed()
                        },
                        rejected: { reason in
                            box.failed(reason == .handshakeTimedOut
                                ? NodeError.timedOut("no handshake from \(host):\(port) within \(timeout)")
                                : NodeError.rejected("handshake with \(host):\(port): \(reason)"))
                        }))
                return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: host, port: port)
            .get()
        let key = try await box.waitForHandshake()
        let client = MeshClient(host: host, port: port, nodeKey: key, channel: channel)
        box.attach(client)
        return client
    }

    private init(host: String, port: Int, nodeKey: PublicKeyBytes, channel: any Channel) {
        self.host = host
        self.port = port
        self.nodeKey = nodeKey
        self.channel = channel
        self.state = Mutex(State())
    }

    public func close() async {
        try? await channel.close()
    }

    /// Sends `request` and waits for its response; a node-side error comes back as `GatewayError`.
    public func send(_ request: ClientRequest) async throws -> ClientResponse {
        try await send(request.prepared())
    }

    /// Sends a request encoded once for several connections (`ClientRequest.Prepared`).
    func send(_ request: ClientRequest.Prepared) async throws -> ClientResponse {
        let response: ClientResponse = try await withCheckedThrowingContinuation { continuation in
            let id: UInt32? = state.withLock { state in
                if state.closed != nil { return nil }
                let id = state.nextID
                state.nextID &+= 1
                state.pending[id] = continuation
                return id
            }
            guard let id else {
                continuation.resume(throwing: NodeError.unavailable("connection to \(host):\(port) is closed"))
                return
            }
            var idBytes = ByteWriter(capacity: 4)
            idBytes.write(id)
            channel.writeAndFlush(TransportFrame.dataBuffer(idBytes.bytes, request.body), promise: nil)
        }
        if case .error(let error) = response { throw error }
        return response
    }

    fileprivate func receive(_ payload: [UInt8]) {
        guard let (id, response) = try? ClientResponse.decode(payload) else {
            closed()
            channel.close(promise: nil)
            return
        }
        let continuation = state.withLock { $0.pending.removeValue(forKey: id) }
        continuation?.resume(returning: response)
    }

    fileprivate func closed() {
        let pending = state.withLock { state -> [CheckedContinuation<ClientResponse, any Error>] in
            state.closed = .unavailable("connection to \(host):\(port) closed")
            defer { state.pending.removeAll() }
            return state.pending.keys.sorted().map { state.pending[$0]! }
        }
        for continuation in pending {
            continuation.resume(throwing: NodeError.unavailable("connection to \(host):\(port) closed"))
        }
    }
}

/// Hands the handshake's outcome from the event loop to `connect`, and frames to the client once
/// it exists.
private final class ConnectBox: Sendable {
    private let state = Mutex<(key: PublicKeyBytes?, error: (any Error)?, waiter: CheckedContinuation<PublicKeyBytes, any Error>?, client: MeshClient?)>((nil, nil, nil, nil))

    func established(_ key: PublicKeyBytes) {
        let waiter = state.withLock { state -> CheckedContinuation<PublicKeyBytes, any Error>? in
            state.key = key
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: key)
    }

    func failed(_ error: any Error) {
        let waiter = state.withLock { state -> CheckedContinuation<PublicKeyBytes, any Error>? in
            guard state.key == nil, state.error == nil else { return nil }
            state.error = error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: error)
    }

    func waitForHandshake() async throws -> PublicKeyBytes {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<PublicKeyBytes, any Error>? = state.withLock { state in
                if let key = state.key { return .success(key) }
                if let error = state.error { return .failure(error) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    func attach(_ client: MeshClient) { state.withLock { $0.client = client } }
    func client() -> MeshClient? { state.withLock { $0.client } }
}
