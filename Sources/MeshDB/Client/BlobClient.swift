import Replication

/// The shell around `BlobPut` and `BlobGet` (STYLE.md §1): it connects to every live node over
/// the native client protocol, carries out the state machines' sends and fetches, turns answers,
/// errors and timeouts into their events, and names the blob in `mesh_blobs` once every chunk is
/// durable. `meshdb blob` and the tests use it; memory stays within the transfer windows however
/// large the blob.
public final class BlobClient: Sendable {
    public struct Options: Sendable {
        /// R: copies of each chunk.
        public var replicas = ChunkPlacement.defaultReplicas
        /// W: acks that make a chunk durable. nil: f + 1 for the cluster's n = 3f + 1 nodes.
        public var writeQuorum: Int?
        /// Chunks in flight or buffered, per transfer.
        public var windowChunks = 8
        /// How long one chunk request may take before it counts as failed (a lost ack).
        public var requestTimeout = Duration.seconds(30)
        /// Bytes read from the source per call.
        public var readBytes = 1 << 20
        public var chunkLimits = ContentDefinedChunker.Limits.standard
        public var manifestLimits = BlobManifest.Limits()

        public init() {}
    }

    public typealias Member = NodeConnections.Member

    /// What a transfer has done so far, for a progress line.
    public struct Progress: Sendable, Hashable {
        /// Bytes of the value read (put) or written out (get).
        public let bytes: Int
        public let chunks: Int
    }

    /// What a get did besides returning the bytes.
    public struct GetReport: Sendable, Hashable {
        public let blob: CatalogBlob
        /// Copies found missing or damaged and stored again.
        public let repairedCopies: Int
    }

    public let options: Options
    public var members: [Member] { nodes.members }
    /// The node the client asked first: it orders the catalog commands.
    let gatewayClient: MeshClient
    let nodes: NodeConnections

    /// Connects to the node at `host:port` and learns the members from its `mesh_nodes`.
    public static func connect(host: String, port: Int, options: Options = Options()) async throws -> BlobClient {
        let client = try await MeshClient.connect(host: host, port: port)
        do {
            guard case .rows(let rows) = try await client.send(.systemTable("mesh_nodes")) else {
                throw BlobError.unavailable("node \(host):\(port) did not answer mesh_nodes with rows")
            }
            return BlobClient(gateway: client, members: try members(from: rows), options: options)
        } catch {
            await client.close()
            throw error
        }
    }

    private init(gateway: MeshClient, members: [Member], options: Options) {
        self.gatewayClient = gateway
        self.options = options
        nodes = NodeConnections(members: members, requestTimeout: options.requestTimeout, reusing: gateway)
    }

    static func members(from rows: Gateway.Rows) throws -> [Member] {
        func column(_ name: String) throws -> Int {
            guard let index = rows.columns.firstIndex(of: name) else {
                throw BlobError.unavailable("mesh_nodes has no column \(name): \(rows.columns)")
            }
            return index
        }
        let (index, key, host, port, zone, state) = (try column("node_index"), try column("public_key"), try column("host"),
                                                     try column("port"), try column("zone"), try column("state"))
        return rows.rows.compactMap { row in
            guard case .integer(let number) = row[index], case .text(let keyHex) = row[key], case .text(let hostName) = row[host],
                  case .integer(let portNumber) = row[port], case .text(let zoneName) = row[zone], case .text(let stateName) = row[state]
            else { return nil }
            return Member(index: Int(number), publicKeyHex: keyHex, host: hostName, port: Int(portNumber), zone: zoneName,
                          isUp: stateName == "up")
        }
    }

    public func close() async {
        await nodes.close()
        await gatewayClient.close()
    }

    /// Placement over the members the catalog lists as up, zones included when any are set.
    func placement() throws -> ChunkPlacement {
        let live = members.filter(\.isUp).map { RendezvousHash.Candidate(id: $0.placementID, zone: $0.zone.isEmpty ? nil : $0.zone) }
        do {
            return try ChunkPlacement(replicas: options.replicas, nodes: live)
        } catch {
            throw BlobError.unavailable(error.description)
        }
    }

    /// f + 1 for n = 3f + 1 members: at least one correct node holds every durable chunk.
    var writeQuorum: Int { options.writeQuorum ?? (members.count - 1) / 3 + 1 }

    // MARK: Catalog

    /// A `mesh_blobs` row.
    public struct Listing: Sendable, Hashable {
        public let name: String
        public let manifest: BlobManifest
        /// As `mesh_blobs.created` renders it (UTC).
        public let created: String
    }

    /// Every named blob, by name.
    public func list() async throws -> [Listing] {
        guard case .rows(let rows) = try await gatewayClient.send(.systemTable("mesh_blobs")),
              let name = rows.columns.firstIndex(of: "name"), let manifest = rows.columns.firstIndex(of: "manifest"),
              let created = rows.columns.firstIndex(of: "created")
        else { throw BlobError.unavailable("mesh_blobs did not answer with its name, manifest and created columns") }
        return try rows.rows.map { row in
            guard case .text(let blobName) = row[name], case .blob(let bytes) = row[manifest], case .text(let createdText) = row[created] else {
                throw BlobError.invalidManifest("a mesh_blobs row of unexpected types")
            }
            return Listing(name: blobName, manifest: try BlobManifest(decoding: bytes, limits: options.manifestLimits), created: createdText)
        }
    }

    public func blob(named name: String) async throws -> CatalogBlob? {
        guard case .blob(let blob) = try await gatewayClient.send(.blob(name: name)) else {
            throw BlobError.unavailable("the node did not answer the blob request with a blob")
        }
        return blob
    }

    /// Forgets the name; the chunks stay for garbage collection (other blobs may share them).
    public func remove(named name: String) async throws {
        _ = try await gatewayClient.send(.blobRemove(name: name))
    }
}
