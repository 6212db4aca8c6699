import QueryPlanner

/// What a bytea column holds in place of a value larger than blob_inline_max: SQLite TEXT
/// `meshdb-blob:1:<size>:<hex of the blob root>` (docs/blobs.md, "Out-of-line SQL values").
///
/// It cannot be forged: the gateway stores every other value of a bytea column as a BLOB (text
/// is converted to its bytes, as PostgreSQL converts text to bytea) or NULL, and lets no shard
/// statement compute a bytea column's new value from anything but a bytea column, so TEXT in a
/// bytea column was written by a gateway after storing the chunks it names. The size comes
/// first so that plain SQLite on the shards can answer length() without the chunks
/// (`BlobStrategy`); decoding checks it against the root.
public struct BlobReference: Sendable, Hashable {
    public let root: BlobRoot

    public init(root: BlobRoot) {
        self.root = root
    }

    public var text: String {
        "\(BlobStrategy.referencePrefix)\(root.totalBytes):\(hex(root.encoded()))"
    }

    /// Nil for text that does not begin with the reference prefix (not a reference at all);
    /// throws for text that does but is malformed.
    public init?(text: String) throws(BlobError) {
        guard text.hasPrefix(BlobStrategy.referencePrefix) else { return nil }
        let rest = text.dropFirst(BlobStrategy.referencePrefix.count)
        guard let colon = rest.firstIndex(of: ":"), let size = Int(rest[rest.startIndex..<colon]),
              let encoding = parseHex(String(rest[rest.index(after: colon)...])) else {
            throw .invalidManifest("a blob reference must read \(BlobStrategy.referencePrefix)<size>:<hex digits>")
        }
        let root = try BlobRoot(decoding: encoding)
        guard root.totalBytes == size else {
            throw .invalidManifest("a blob reference names \(size) bytes, its root \(root.totalBytes)")
        }
        self.root = root
    }
}
