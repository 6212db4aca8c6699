/// Where a node learns which blobs are alive: the roots that something durable names. Garbage
/// collection keeps exactly the chunks these roots reference, and repair restores those.
///
/// Today the only source is the catalog (`mesh_blobs`, `CatalogBlobReferences`). Out-of-line SQL
/// values (BLOB/BYTEA above blob_inline_max) will be a second source that lists every root their
/// rows hold; `MeshNode.start` passes the sources to `ChunkMaintenance`, which is the one place
/// to add it. A source must list every root that is committed when the call starts: a root it
/// misses loses its chunks once they are older than the grace period.
public protocol BlobReferenceSource: Sendable {
    func referencedRoots() async throws -> [BlobRoot]
}

/// The named blobs of this node's catalog replica.
struct CatalogBlobReferences: BlobReferenceSource {
    let gateway: Gateway

    func referencedRoots() async throws -> [BlobRoot] {
        try await gateway.catalog().sortedBlobs.map(\.root)
    }
}

/// The chunks a set of roots references.
struct ReferencedChunks: Sendable {
    /// Distinct, ascending: a direct root's chunks; an indirect root's index chunks and the data
    /// chunks of the full manifest read through the index.
    var ids: [ChunkID]
    /// Indirect roots whose index could not be read now: their data chunks are missing from
    /// `ids`, so garbage collection must not trust the set (repair still restores the index).
    var unreadableIndexes: [String]

    /// `readIndex` returns the full manifest's encoding, read (hash-checked) through the index.
    static func of(_ roots: [BlobRoot], readIndex: (BlobManifest) async throws -> [UInt8]) async -> ReferencedChunks {
        var ids = Set<ChunkID>()
        var unreadable: [String] = []
        for root in roots {
            switch root {
            case .direct(let manifest):
                ids.formUnion(manifest.chunks.map(\.id))
            case .indirect(let indirect):
                ids.formUnion(indirect.index.chunks.map(\.id))
                do {
                    ids.formUnion(try root.full(from: try await readIndex(indirect.index)).chunks.map(\.id))
                } catch {
                    unreadable.append("\(root.sha256Hex): \(error)")
                }
            }
        }
        return ReferencedChunks(ids: ids.sorted(), unreadableIndexes: unreadable)
    }
}
