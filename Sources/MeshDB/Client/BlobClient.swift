
/// Named blobs (`meshdb blob`): learns the members from one node's `mesh_nodes`, streams values
/// through a `ChunkTransfer` to every live node's chunk store, and names them in `mesh_blobs`
/// through that node once every chunk is durable. Memory stays within the transfer windows
/// however large the blob.
public final class BlobClient: Sendable {
    public struct Options: Sendable {
        public var transfer = ChunkTransfer.Options()
        /// How long one chunk request may take before it counts as failed (a lost ack).
        public var requestTimeout = Duration.seconds(30)

        public init() {}
    }

    public typealias Member = NodeConnections.Member
    public typealias Progress = ChunkTransfer.Progress

    /// What a get did besides returning the bytes.
    public struct GetReport: Sendable, Hashable {
        public let blob: CatalogBlob
        /// Copies found missing or damaged and stored again.
        public let repairedCopies: Int
    }

    public let options: Options
    public var members: [Member] { transfer.nodes.members }
    /// The node the client asked first: it orders the catalog commands.
    let gatewayClient: MeshClient
    let transfer: ChunkTransfer

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
        transfer = ChunkTransfer(nodes: NodeConnections(members: members, requestTimeout: options.requestTimeout, reusing: gateway),
                                 options: options.transfer)
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
        await transfer.nodes.close()
        await gatewayClient.close()
    }

    // MARK: Catalog

    /// A `mesh_blobs` row.
    public struct Listing: Sendable, Hashable {
        public let name: String
        public let root: BlobRoot
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
            return Listing(name: blobName, root: try BlobRoot(decoding: bytes, limits: options.transfer.rootLimits), created: createdText)
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

    // MARK: Transfers

    /// Stores the value `read` returns as blob `name` (see `ChunkTransfer.put`): the name is
    /// committed once every chunk is durable, and only if f + 1 nodes confirm it (`ChunkCensus`).
    /// A bad or taken name is refused before anything is read.
    public func put(name: String, createdMicros: Int64, read: (Int) throws -> [UInt8],
                    progress: (Progress) -> Void = { _ in }) async throws -> CatalogBlob {
        // The catalog checks again when the name is committed: another client may take it meanwhile.
        do {
            try CatalogStateMachine.validateBlobName(name, CatalogLimits())
        } catch {
            throw GatewayError(sqlState: error.sqlState, message: error.message)
        }
        if try await blob(named: name) != nil {
            throw GatewayError(sqlState: "42710", message: "blob \"\(name)\" already exists; remove it first")
        }
        let root = try await transfer.put(read: read, progress: progress) { root in
            _ = try await gatewayClient.send(.blobCommit(CatalogBlob(name: name, root: root, createdMicros: createdMicros)))
        }
        return CatalogBlob(name: name, root: root, createdMicros: createdMicros)
    }

    /// Reads blob `name` into `write` (see `ChunkTransfer.get`).
    public func get(name: String, write: ([UInt8]) throws -> Void, progress: (Progress) -> Void = { _ in }) async throws -> GetReport {
        guard let blob = try await blob(named: name) else { throw BlobError.notFound("blob \"\(name)\" does not exist") }
        do {
            let repaired = try await transfer.get(blob.root, write: write, progress: progress)
            return GetReport(blob: blob, repairedCopies: repaired)
        } catch let error as BlobError {
            throw error.about("blob \"\(name)\"")
        }
    }
}
