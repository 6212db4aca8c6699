/// Named blobs: the `mesh_blobs` entries, ordered by the metadata group. The chunks are stored
/// before (`BlobPut`, by the client's transfer), so an entry never names chunks that are not
/// durable on W nodes.
extension Gateway {
    /// Names a stored blob (42710 when the name is taken).
    public func putBlob(_ blob: CatalogBlob) async throws {
        do {
            try CatalogStateMachine.validateBlobName(blob.name, try await catalog().limits)
        } catch let error as CatalogError {
            throw GatewayError(sqlState: error.sqlState, message: error.message)
        }
        _ = try await catalogCommand(.putBlob(blob))
    }

    /// Forgets a blob's name (42704 when there is none). Its chunks stay until garbage collection.
    public func removeBlob(named name: String) async throws {
        _ = try await catalogCommand(.dropBlob(name: name, ifExists: false))
    }

    /// The entry of blob `name` in this node's catalog replica.
    public func blob(named name: String) async throws -> CatalogBlob? {
        try await catalog().blob(named: name)
    }
}
