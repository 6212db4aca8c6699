import Foundation
public import Logging
public import MeshDB
public import NIOCore
public import NIOPosix
import NIOSSL
import QueryPlanner
import Synchronization

/// A PostgreSQL protocol v3 server on one gateway: every connection gets a `SessionStateMachine`
/// (the protocol) and a `SQLSession` (the SQL), joined by `PostgresConnectionHandler`. Limits:
/// connections (53300), message size (08P01), idle sessions (57P05) and statement time (57014).
public final class PostgresServer: Sendable {
    public struct Options: Sendable {
        public var authentication: SessionStateMachine.AuthenticationMethod = .trust
        /// Password verifiers by user name, for the password methods (`--pg-user`). A user not
        /// here is looked up in the catalog (`CREATE USER … PASSWORD`).
        public var users: [String: ScramVerifier] = [:]
        /// PEM files; TLS is offered (SSLRequest → 'S') only when both are set.
        public var tlsCertificatePath: String?
        public var tlsPrivateKeyPath: String?
        public var maxConnections = 100
        /// max_message_bytes: a simple Query of statement_bytes_max (256 MiB, which a 100 MiB
        /// bytea value sent inline as hex by psycopg2 needs) and its header.
        public var messageBytesMax = (256 << 20) + (1 << 10)
        /// A session idle (no statement running, nothing received) this long is closed; nil: never.
        public var idleSessionTimeout: Duration? = nil
        /// A statement running this long is canceled with 57014; nil: never.
        public var statementTimeout: Duration? = nil
        public var logger = Logger(label: "meshdb.wire")

        public init() {}

        /// Adds a user whose SCRAM verifier is derived from `password` with a random salt.
        public mutating func addUser(_ name: String, password: String) {
            users[name] = ScramVerifier(password: password, salt: ScramVerifier.randomSalt())
        }
    }

    public let gateway: Gateway
    public let options: Options
    /// The port bound (useful when started on port 0).
    public let port: Int
    let registry: ConnectionRegistry
    private let channel: any Channel

    private init(gateway: Gateway, options: Options, channel: any Channel, registry: ConnectionRegistry) {
        self.gateway = gateway
        self.options = options
        self.channel = channel
        self.registry = registry
        self.port = channel.localAddress?.port ?? 0
    }

    /// Listens on `host:port` (0: any free port, see `port`).
    public static func start(gateway: Gateway, host: String, port: Int, options: Options = Options(),
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> PostgresServer {
        var sslContext: NIOSSLContext?
        if let certificatePath = options.tlsCertificatePath, let keyPath = options.tlsPrivateKeyPath {
            let certificates = try NIOSSLCertificate.fromPEMFile(certificatePath)
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
            sslContext = try NIOSSLContext(configuration: configuration)
        }
        let registry = ConnectionRegistry()
        let tls = sslContext
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = PostgresConnectionHandler(gateway: gateway, options: options, registry: registry, sslContext: tls)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: host, port: port)
            .get()
        let server = PostgresServer(gateway: gateway, options: options, channel: channel, registry: registry)
        options.logger.info("PostgreSQL protocol on \(host):\(server.port)")
        return server
    }

    /// Connections open now.
    public var connectionCount: Int { registry.count }

    /// Stops listening and closes every connection.
    public func stop() async {
        try? await channel.close()
        for close in registry.closeAll() { close() }
    }
}

/// The server's connections by process ID, for CancelRequest and the connection limit.
final class ConnectionRegistry: Sendable {
    struct Entry: Sendable {
        var secretKey: Int32
        var cancel: @Sendable () -> Void
        var close: @Sendable () -> Void
    }

    private struct State {
        var entries: [Int32: Entry] = [:]
        var nextProcessID: Int32 = 1
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.entries.count } }

    /// A process ID for a new connection, or nil when `limit` connections are open.
    func register(limit: Int, secretKey: Int32, cancel: @escaping @Sendable () -> Void,
                  close: @escaping @Sendable () -> Void) -> Int32? {
        state.withLock { state in
            guard state.entries.count < limit else { return nil }
            var processID = state.nextProcessID
            while state.entries[processID] != nil { processID = processID == .max ? 1 : processID + 1 }
            state.nextProcessID = processID == .max ? 1 : processID + 1
            state.entries[processID] = Entry(secretKey: secretKey, cancel: cancel, close: close)
            return processID
        }
    }

    func unregister(_ processID: Int32) {
        _ = state.withLock { $0.entries.removeValue(forKey: processID) }
    }

    /// Cancels the running statement of `processID` when the secret matches (PostgreSQL answers a
    /// wrong key with silence too, so a CancelRequest cannot probe for process IDs).
    func cancel(processID: Int32, secretKey: Int32) {
        let entry = state.withLock { $0.entries[processID] }
        guard let entry, entry.secretKey == secretKey else { return }
        entry.cancel()
    }

    func closeAll() -> [@Sendable () -> Void] {
        state.withLock { state in state.entries.keys.sorted().compactMap { state.entries[$0]?.close } }
    }
}
