public import Consensus

/// What one catalog command produced: the reply every correct replica computes alike. Errors
/// carry the SQLSTATE the gateway reports (42P07 duplicate table, 42P01 undefined table, ...).
public enum CatalogResult: Sendable, Hashable {
    /// A command tag for the client ("CREATE TABLE").
    case ok(String)
    /// IF [NOT] EXISTS found nothing to do: the command tag and the notice PostgreSQL sends
    /// ("relation \"t\" already exists, skipping"). Nothing changed.
    case skipped(String, notice: String)
    /// The first of the row ids `allocateRowIDs` handed out.
    case rowIDs(first: Int64)
    case error(CatalogError)

    /// 2: `skipped` and `rowIDs`.
    static let formatVersion: UInt8 = 2

    private enum Tag: UInt8 {
        case ok = 0, error = 1, skipped = 2, rowIDs = 3
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(Self.formatVersion)
        switch self {
        case .ok(let tag):
            w.write(Tag.ok.rawValue)
            w.writeText(tag)
        case .error(let error):
            w.write(Tag.error.rawValue)
            w.writeText(error.sqlState)
            w.writeText(error.message)
        case .skipped(let tag, let notice):
            w.write(Tag.skipped.rawValue)
            w.writeText(tag)
            w.writeText(notice)
        case .rowIDs(let first):
            w.write(Tag.rowIDs.rawValue)
            w.write(UInt64(bitPattern: first))
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(DecodeError) {
        var r = ByteReader(bytes)
        try r.expectFormatVersion(Self.formatVersion, "result format version")
        let rawTag = try r.readU8("result")
        guard let tag = Tag(rawValue: rawTag) else { throw .unknownTag(field: "result", tag: rawTag) }
        switch tag {
        case .ok:
            self = .ok(try r.readText("command tag", bytesMax: bytes.count))
        case .error:
            let sqlState = try r.readText("SQLSTATE", bytesMax: 5)
            self = .error(CatalogError(sqlState: sqlState, message: try r.readText("message", bytesMax: bytes.count)))
        case .skipped:
            let commandTag = try r.readText("command tag", bytesMax: bytes.count)
            self = .skipped(commandTag, notice: try r.readText("notice", bytesMax: bytes.count))
        case .rowIDs:
            self = .rowIDs(first: Int64(bitPattern: try r.readU64("first row id")))
        }
        try r.finish()
    }
}

/// What the metadata group replies to one request: the command's result and the catalog's
/// `version` after it. A gateway waits until its own catalog replica has reached that version
/// before it returns from DDL, so that whatever runs next through it sees the change (its
/// replica may trail the f+1 replicas that replied).
public struct CatalogReply: Sendable, Hashable {
    public let result: CatalogResult
    public let version: UInt64

    public init(result: CatalogResult, version: UInt64) {
        self.result = result
        self.version = version
    }

    static let formatVersion: UInt8 = 1

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 80)
        w.write(Self.formatVersion)
        w.write(version)
        w.writeRaw(result.encoded())
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(DecodeError) {
        var r = ByteReader(bytes)
        try r.expectFormatVersion(Self.formatVersion, "reply format version")
        version = try r.readU64("catalog version")
        result = try CatalogResult(decoding: Array(bytes[r.offset...]))
    }
}

/// A refused catalog command: SQLSTATE and a message naming the input or limit at fault.
public struct CatalogError: Error, Sendable, Hashable, CustomStringConvertible {
    public let sqlState: String
    public let message: String

    public init(sqlState: String, message: String) {
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String { "\(sqlState): \(message)" }

    static func duplicateTable(_ name: String) -> Self { Self(sqlState: "42P07", message: "relation \"\(name)\" already exists") }
    static func undefinedTable(_ name: String) -> Self { Self(sqlState: "42P01", message: "relation \"\(name)\" does not exist") }
    static func wrongObjectType(_ message: String) -> Self { Self(sqlState: "42809", message: message) }
    static func undefinedColumn(_ message: String) -> Self { Self(sqlState: "42703", message: message) }
    static func duplicateColumn(_ message: String) -> Self { Self(sqlState: "42701", message: message) }
    static func notSupported(_ message: String) -> Self { Self(sqlState: "0A000", message: message) }
    static func limit(_ message: String) -> Self { Self(sqlState: "53400", message: message) }
    static func invalidName(_ message: String) -> Self { Self(sqlState: "42602", message: message) }
    static func invalidDefinition(_ message: String) -> Self { Self(sqlState: "42P16", message: message) }
    static func invalidParameter(_ message: String) -> Self { Self(sqlState: "22023", message: message) }
    static func undefinedObject(_ message: String) -> Self { Self(sqlState: "42704", message: message) }
    static func duplicateObject(_ message: String) -> Self { Self(sqlState: "42710", message: message) }
    static func prerequisite(_ message: String) -> Self { Self(sqlState: "55000", message: message) }
    static func protocolViolation(_ message: String) -> Self { Self(sqlState: "08P01", message: message) }
}
