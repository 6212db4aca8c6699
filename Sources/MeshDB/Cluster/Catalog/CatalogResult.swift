public import Consensus

/// What one catalog command produced: the reply every correct replica computes alike. Errors
/// carry the SQLSTATE the gateway reports (42P07 duplicate table, 42P01 undefined table, ...).
public enum CatalogResult: Sendable, Hashable {
    /// A command tag for the client ("CREATE TABLE").
    case ok(String)
    case error(CatalogError)

    static let formatVersion: UInt8 = 1

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(Self.formatVersion)
        switch self {
        case .ok(let tag):
            w.write(UInt8(0))
            w.writeText(tag)
        case .error(let error):
            w.write(UInt8(1))
            w.writeText(error.sqlState)
            w.writeText(error.message)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(DecodeError) {
        var r = ByteReader(bytes)
        try r.expectFormatVersion(Self.formatVersion, "result format version")
        switch try r.readU8("result") {
        case 0:
            self = .ok(try r.readText("command tag", bytesMax: bytes.count))
        case 1:
            let sqlState = try r.readText("SQLSTATE", bytesMax: 5)
            self = .error(CatalogError(sqlState: sqlState, message: try r.readText("message", bytesMax: bytes.count)))
        case let tag:
            throw .unknownTag(field: "result", tag: tag)
        }
        try r.finish()
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
    static func limit(_ message: String) -> Self { Self(sqlState: "53400", message: message) }
    static func invalidName(_ message: String) -> Self { Self(sqlState: "42602", message: message) }
    static func invalidDefinition(_ message: String) -> Self { Self(sqlState: "42P16", message: message) }
    static func invalidParameter(_ message: String) -> Self { Self(sqlState: "22023", message: message) }
    static func undefinedObject(_ message: String) -> Self { Self(sqlState: "42704", message: message) }
    static func duplicateObject(_ message: String) -> Self { Self(sqlState: "42710", message: message) }
    static func prerequisite(_ message: String) -> Self { Self(sqlState: "55000", message: message) }
    static func protocolViolation(_ message: String) -> Self { Self(sqlState: "08P01", message: message) }
}
