/// Where a node learns which blobs are alive: the roots that something durable names. Garbage
/// collection keeps exactly the chunks these roots reference, and repair restores those.
///
/// Two sources: the catalog's named blobs (`mesh_blobs`, `CatalogBlobReferences`) and the
/// out-of-line values of BYTEA/BLOB columns (`SQLBlobReferences`). `MeshNode.start` passes them to
/// `ChunkMaintenance`. A source must list every root that is committed when the call starts, or
/// name what it could not read: a root it misses silently loses its chunks once they are older
/// than the grace period.
public protocol BlobReferenceSource: Sendable {
    func referencedRoots() async -> ReferenceScan
}

/// What a `BlobReferenceSource` read: the roots, and a description of each part it could not
/// read (a shard group without a verified answer, a malformed reference). Garbage collection
/// deletes nothing unless `gaps` is empty; repair works from `roots` whatever the gaps, because
/// it only adds copies.
public struct ReferenceScan: Sendable {
    public var roots: [BlobRoot]
    public var gaps: [String]

    public init(roots: [BlobRoot] = [], gaps: [String] = []) {
        self.roots = roots
        self.gaps = gaps
    }
}

/// The named blobs of this node's catalog replica.
struct CatalogBlobReferences: BlobReferenceSource {
    let gateway: Gateway

    func referencedRoots() async -> ReferenceScan {
        do {
            return ReferenceScan(roots: try await gateway.catalog().sortedBlobs.map(\.root))
        } catch {
            return ReferenceScan(gaps: ["mesh_blobs: \(error)"])
        }
    }
}

/// The out-of-line values of every BYTEA/BLOB column of every table, read as references only
/// (`Gateway.scanBlobReferences`: no chunk is fetched), with verified reads so that one lying
/// replica cannot hide a reference.
struct SQLBlobReferences: BlobReferenceSource {
    let gateway: Gateway

    func referencedRoots() async -> ReferenceScan {
        await gateway.scanBlobReferences(consistency: .verified)
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
