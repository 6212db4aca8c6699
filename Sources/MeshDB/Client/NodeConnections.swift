import Consensus
public import NIOCore
import Synchronization

/// Native-protocol connections to a cluster's members, opened on first use and checked against
/// the key the catalog lists for each: the blob client's way to every chunk store, and a node's
/// way to its peers' chunk stores (`ChunkCensus`). Each request ends in exactly one `Answer`,
/// a timeout included, which is what the transfer state machines take as events.
public final class NodeConnections: Sendable {
    /// A member as `mesh_nodes` lists it.
    public struct Member: Sendable, Hashable {
        public let index: Int
        public let publicKeyHex: String
        public let host: String
        public let port: Int
        public let zone: String
        public let isUp: Bool

        public init(index: Int, publicKeyHex: String, host: String, port: Int, zone: String, isUp: Bool) {
            self.index = index
            self.publicKeyHex = publicKeyHex
            self.host = host
            self.port = port
            self.zone = zone
            self.isUp = isUp
        }

        /// The node's name in placement: its index, which the catalog never reassigns.
        public var placementID: String { String(index) }
    }

    /// How a request ended.
    public enum Answer: Sendable {
        case response(ClientResponse)
        /// The node answered with an error.
        case refused(GatewayError)
        /// No answer within `requestTimeout`: a lost request or reply; the node may be fine.
        case timedOut(String)
        /// The node cannot be reached: connect failed or the connection closed.
        case nodeLost(String)
    }

    public let members: [Member]
    public let requestTimeout: Duration
    /// How long a connect and its handshake may take. One that takes longer is a `.timedOut`
    /// answer, retried like a lost request (a loaded node is slow, not gone); the next connect
    /// that times out in a row, or a refused or broken connection, is `.nodeLost` (a node behind a
    /// partition must not cost every chunk placed on it two full timeouts).
    public let connectTimeout: TimeAmount
    /// Connects in a row to a member that ran out of time, by placement id.
    private let connectTimeouts = Mutex<[String: Int]>([:])
    /// Connects in a row that may time out before the member is reported lost.
    static let connectTimeoutsBeforeLost = 2
    private let connections: Mutex<[String: MeshClient]>
    private let connecting = Mutex<[String: Task<MeshClient, any Error>]>([:])

    /// `reusing`: an open connection to one of the members (found by its key), used for that member.
    public init(members: [Member], requestTimeout: Duration, connectTimeout: TimeAmount = .seconds(5), reusing existing: MeshClient? = nil) {
        self.members = members
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        let reused = existing.flatMap { client in members.first { $0.publicKeyHex == client.nodeKey.hex }.map { ($0.placementID, client) } }
        connections = Mutex(reused.map { [$0.0: $0.1] } ?? [:])
    }

    /// Closes every connection this pool opened (a reused one is left to its owner).
    public func close() async {
        let opened = connecting.withLock { tasks in
            defer { tasks.removeAll() }
            return tasks.keys.sorted().map { tasks[$0]! }
        }
        connections.withLock { $0.removeAll() }
        for task in opened {
            if let client = try? await task.value { await client.close() }
        }
    }

    /// The connection to member `node` (its placement id), opened on first use.
    func connection(to node: String) async throws -> MeshClient {
        if let client = connections.withLock({ $0[node] }) { return client }
        guard let member = members.first(where: { $0.placementID == node }) else {
            throw BlobError.unavailable("node \(node) is not a member")
        }
        let task = connecting.withLock { tasks in
            if let task = tasks[node] { return task }
            let task = Task {
                let client: MeshClient
                do {
                    client = try await MeshClient.connect(host: member.host, port: member.port, timeout: connectTimeout)
                } catch {
                    guard case .timedOut = Self.connectFailure(error) else { throw error }
                    let inARow = connectTimeouts.withLock { counts in
                        counts[node, default: 0] += 1
                        return counts[node]!
                    }
                    guard inARow >= Self.connectTimeoutsBeforeLost else { throw error }
                    throw NodeError.unavailable("\(error) (\(inARow) connects in a row timed out)")
                }
                connectTimeouts.withLock { _ = $0.removeValue(forKey: node) }
                guard client.nodeKey.hex == member.publicKeyHex else {
                    await client.close()
                    throw BlobError.unavailable("node \(node) at \(member.host):\(member.port) answered with another key than mesh_nodes lists")
                }
                return client
            }
            tasks[node] = task
            return task
        }
        do {
            let client = try await task.value
            connections.withLock { $0[node] = client }
            return client
        } catch {
            // The next request tries to connect again.
            connecting.withLock { _ = $0.removeValue(forKey: node) }
            throw error
        }
    }

    /// Sends `request` to member `node` and delivers exactly one `Answer`: the response, or a
    /// timeout after `requestTimeout`, whichever comes first (a late response is then dropped).
    func request(_ request: ClientRequest, to node: String, deliver: @escaping @Sendable (Answer) -> Void) {
        self.request(request.prepared(), to: node, deliver: deliver)
    }

    /// `request` encoded once for several nodes (a chunk for its owners).
    func request(_ request: ClientRequest.Prepared, to node: String, deliver: @escaping @Sendable (Answer) -> Void) {
        let once = Mutex(false)
        let finish: @Sendable (Answer) -> Void = { answer in
            let first = once.withLock { done in
                defer { done = true }
                return !done
            }
            if first { deliver(answer) }
        }
        let timeout = requestTimeout
        let timer = Task {
            try await Task.sleep(for: timeout)
            finish(.timedOut("no answer within request_timeout = \(timeout)"))
        }
        Task {
            defer { timer.cancel() }
            let client: MeshClient
            do {
                client = try await connection(to: node)
            } catch {
                finish(Self.connectFailure(error))
                return
            }
            do {
                finish(.response(try await client.send(request)))
            } catch let error as GatewayError {
                finish(.refused(error))
            } catch {
                connections.withLock { _ = $0.removeValue(forKey: node) }
                connecting.withLock { _ = $0.removeValue(forKey: node) }
                finish(.nodeLost("\(error)"))
            }
        }
    }

    /// A connect that ran out of time is `.timedOut` (the node may only be loaded: the transfer
    /// machines retry it there, up to their attempts per node); any other failure — refused,
    /// closed, the wrong key — is `.nodeLost`.
    static func connectFailure(_ error: any Error) -> Answer {
        switch error {
        case ChannelError.connectTimeout(let timeout):
            .timedOut("no connection within \(timeout)")
        case NodeError.timedOut(let message):
            .timedOut(message)
        default:
            .nodeLost("\(error)")
        }
    }

    /// `request` as an async call.
    func answer(_ request: ClientRequest, from node: String) async -> Answer {
        await withCheckedContinuation { continuation in
            self.request(request, to: node) { continuation.resume(returning: $0) }
        }
    }
}
