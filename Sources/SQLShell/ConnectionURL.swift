/// `postgres://user[:password]@host[:port][/database][?sslmode=...]`, the URL `meshdb sql` takes
/// (DESIGN.md: client commands reach a cluster through the PostgreSQL URL of any node). Missing
/// parts default to the local demo: user and database `meshdb`, 127.0.0.1, port 5433.
public struct ConnectionURL: Sendable, Equatable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, Equatable {
        case disable, prefer, require
    }

    public var user = "meshdb"
    public var password: String?
    public var host = "127.0.0.1"
    public var port = 5433
    public var database = "meshdb"
    public var sslMode = SSLMode.disable

    public static let demo = ConnectionURL()

    public init() {}

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws(ParseError) {
        var rest = Substring(text)
        guard let scheme = rest.firstRange(of: "://") else {
            throw ParseError(description: "not a PostgreSQL URL: \"\(text)\" (expected postgres://user@host:port/database)")
        }
        guard ["postgres", "postgresql"].contains(rest[..<scheme.lowerBound].lowercased()) else {
            throw ParseError(description: "unsupported URL scheme \"\(rest[..<scheme.lowerBound])\": use postgres://")
        }
        rest = rest[scheme.upperBound...]
        if let question = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ParseError(description: "URL parameter \"\(pair)\" has no value") }
                switch parts[0] {
                case "sslmode":
                    guard let mode = SSLMode(rawValue: parts[1]) else {
                        throw ParseError(description: "sslmode \"\(parts[1])\" is not supported: use disable, prefer or require")
                    }
                    sslMode = mode
                case "user": user = Self.decoded(parts[1])
                case "password": password = Self.decoded(parts[1])
                default: throw ParseError(description: "URL parameter \"\(parts[0])\" is not supported (sslmode, user, password are)")
                }
            }
            rest = rest[..<question]
        }
        if let slash = rest.firstIndex(of: "/") {
            let name = rest[rest.index(after: slash)...]
            if !name.isEmpty { database = Self.decoded(String(name)) }
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            if let colon = credentials.firstIndex(of: ":") {
                user = Self.decoded(String(credentials[..<colon]))
                password = Self.decoded(String(credentials[credentials.index(after: colon)...]))
            } else if !credentials.isEmpty {
                user = Self.decoded(String(credentials))
            }
            rest = rest[rest.index(after: at)...]
        }
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            let portText = rest[rest.index(after: colon)...]
            guard let port = Int(portText), (1...65_535).contains(port) else {
                throw ParseError(description: "port \"\(portText)\" is not a number in 1...65535")
            }
            self.port = port
            rest = rest[..<colon]
        }
        if !rest.isEmpty { host = String(rest).trimmingCharacters(in: "[]") }
    }

    /// The URL without the password.
    public var description: String {
        "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
            + (sslMode == .disable ? "" : "?sslmode=\(sslMode.rawValue)")
    }

    /// Percent-decoding of URL parts (`%40` in a password is `@`).
    private static func decoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
               let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
