public import QueryPlanner

/// A message from a PostgreSQL client (protocol 3.0, "Message Formats" in the PostgreSQL
/// documentation), decoded from a frame with every length, count and string checked.
public enum FrontendMessage: Sendable, Equatable {
    /// StartupMessage: protocol 3.0 and the parameters (user, database, application_name, options...)
    /// in the order the client sent them.
    case startup(parameters: [(String, String)])
    case sslRequest
    case gssEncryptionRequest
    case cancelRequest(processID: Int32, secretKey: Int32)
    case query(String)
    case parse(statement: String, query: String, parameterTypes: [Int32])
    case bind(Bind)
    case describe(Target, name: String)
    case execute(portal: String, rowLimit: Int32)
    case sync
    case flush
    case close(Target, name: String)
    case terminate
    case password(String)
    case saslInitialResponse(mechanism: String, data: [UInt8]?)
    case saslResponse([UInt8])
    case copyData([UInt8])
    case copyDone
    case copyFail(String)

    /// What Describe and Close act on.
    public enum Target: UInt8, Sendable, Equatable {
        case statement = 0x53  // 'S'
        case portal = 0x50  // 'P'
    }

    public struct Bind: Sendable, Equatable {
        public var portal: String
        public var statement: String
        /// Per parameter: 0 text, 1 binary. Empty means all text; one entry applies to all.
        public var parameterFormats: [Int16]
        /// nil is SQL NULL.
        public var parameters: [[UInt8]?]
        /// Per result column, with the same shorthand as `parameterFormats`.
        public var resultFormats: [Int16]

        public init(portal: String, statement: String, parameterFormats: [Int16], parameters: [[UInt8]?], resultFormats: [Int16]) {
            self.portal = portal
            self.statement = statement
            self.parameterFormats = parameterFormats
            self.parameters = parameters
            self.resultFormats = resultFormats
        }
    }

    /// What a 'p' message means depends on what the server asked for: the message carries no tag.
    public enum AuthenticationExpectation: Sendable, Equatable {
        case password, saslInitialResponse, saslResponse
    }

    public static func == (lhs: FrontendMessage, rhs: FrontendMessage) -> Bool {
        switch (lhs, rhs) {
        case (.startup(let a), .startup(let b)): a.map { [$0.0, $0.1] } == b.map { [$0.0, $0.1] }
        case (.sslRequest, .sslRequest), (.gssEncryptionRequest, .gssEncryptionRequest), (.sync, .sync),
             (.flush, .flush), (.terminate, .terminate), (.copyDone, .copyDone): true
        case (.cancelRequest(let p1, let s1), .cancelRequest(let p2, let s2)): p1 == p2 && s1 == s2
        case (.query(let a), .query(let b)): a == b
        case (.parse(let s1, let q1, let t1), .parse(let s2, let q2, let t2)): s1 == s2 && q1 == q2 && t1 == t2
        case (.bind(let a), .bind(let b)): a == b
        case (.describe(let t1, let n1), .describe(let t2, let n2)): t1 == t2 && n1 == n2
        case (.execute(let p1, let l1), .execute(let p2, let l2)): p1 == p2 && l1 == l2
        case (.close(let t1, let n1), .close(let t2, let n2)): t1 == t2 && n1 == n2
        case (.password(let a), .password(let b)): a == b
        case (.saslInitialResponse(let m1, let d1), .saslInitialResponse(let m2, let d2)): m1 == m2 && d1 == d2
        case (.saslResponse(let a), .saslResponse(let b)): a == b
        case (.copyData(let a), .copyData(let b)): a == b
        case (.copyFail(let a), .copyFail(let b)): a == b
        default: false
        }
    }

    /// Request codes of the startup phase: a major version in the high 16 bits, or a magic number.
    static let protocolVersion30: Int32 = 196_608
    static let sslRequestCode: Int32 = 80_877_103
    static let gssEncryptionRequestCode: Int32 = 80_877_104
    static let cancelRequestCode: Int32 = 80_877_102
    /// Most startup parameters accepted: PostgreSQL has no limit, but a client never needs many.
    public static let startupParametersMax = 64

    /// Decodes a frame; `authentication` says how to read a 'p' message.
    public static func decode(_ frame: FrontendFrameReader.Frame,
                              authentication: AuthenticationExpectation? = nil) throws(SQLError) -> FrontendMessage {
        guard let type = frame.type else { return try decodeStartup(frame.body) }
        switch type {
        case UInt8(ascii: "Q"):
            var reader = WireReader(frame.body, message: "Query")
            let query = try reader.cString("query string")
            try reader.expectEnd()
            return .query(query)
        case UInt8(ascii: "P"):
            var reader = WireReader(frame.body, message: "Parse")
            let statement = try reader.cString("statement name")
            let query = try reader.cString("query string")
            let count = try reader.count16("parameter type count")
            var types: [Int32] = []
            for index in 0..<count { types.append(try reader.int32("parameter type \(index + 1)")) }
            try reader.expectEnd()
            return .parse(statement: statement, query: query, parameterTypes: types)
        case UInt8(ascii: "B"):
            return .bind(try decodeBind(frame.body))
        case UInt8(ascii: "D"), UInt8(ascii: "C"):
            let name = type == UInt8(ascii: "D") ? "Describe" : "Close"
            var reader = WireReader(frame.body, message: name)
            let kind = try reader.uint8("target kind")
            guard let target = Target(rawValue: kind) else {
                throw reader.malformed("target kind \(kind) is neither 'S' nor 'P'")
            }
            let objectName = try reader.cString("\(target == .statement ? "statement" : "portal") name")
            try reader.expectEnd()
            return type == UInt8(ascii: "D") ? .describe(target, name: objectName) : .close(target, name: objectName)
        case UInt8(ascii: "E"):
            var reader = WireReader(frame.body, message: "Execute")
            let portal = try reader.cString("portal name")
            let limit = try reader.int32("row limit")
            try reader.expectEnd()
            return .execute(portal: portal, rowLimit: limit)
        case UInt8(ascii: "S"), UInt8(ascii: "H"), UInt8(ascii: "X"), UInt8(ascii: "c"):
            let names: [UInt8: (String, FrontendMessage)] = [
                UInt8(ascii: "S"): ("Sync", .sync), UInt8(ascii: "H"): ("Flush", .flush),
                UInt8(ascii: "X"): ("Terminate", .terminate), UInt8(ascii: "c"): ("CopyDone", .copyDone),
            ]
            let (name, message) = names[type]!
            try WireReader(frame.body, message: name).expectEnd()
            return message
        case UInt8(ascii: "d"):
            return .copyData(frame.body)
        case UInt8(ascii: "f"):
            var reader = WireReader(frame.body, message: "CopyFail")
            let reason = try reader.cString("error message")
            try reader.expectEnd()
            return .copyFail(reason)
        case UInt8(ascii: "p"):
            return try decodeAuthentication(frame.body, authentication)
        default:
            let shown = (0x20...0x7E).contains(type) ? "'\(Character(Unicode.Scalar(type)))'" : "0x\(String(type, radix: 16))"
            throw SQLError(.protocolViolation, "unsupported frontend message type \(shown)")
        }
    }

    private static func decodeStartup(_ body: [UInt8]) throws(SQLError) -> FrontendMessage {
        var reader = WireReader(body, message: "startup")
        let code = try reader.int32("protocol version")
        switch code {
        case sslRequestCode:
            try reader.expectEnd()
            return .sslRequest
        case gssEncryptionRequestCode:
            try reader.expectEnd()
            return .gssEncryptionRequest
        case cancelRequestCode:
            let processID = try reader.int32("process ID")
            let secret = try reader.int32("secret key")
            try reader.expectEnd()
            return .cancelRequest(processID: processID, secretKey: secret)
        case protocolVersion30:
            var parameters: [(String, String)] = []
            while true {
                let name = try reader.cString("parameter name")
                if name.isEmpty { break }
                guard parameters.count < startupParametersMax else {
                    throw reader.malformed("more than startup_parameters_max = \(startupParametersMax) parameters")
                }
                parameters.append((name, try reader.cString("value of parameter \(name)")))
            }
            try reader.expectEnd()
            return .startup(parameters: parameters)
        default:
            throw SQLError(.protocolViolation,
                           "unsupported frontend protocol \(code >> 16).\(code & 0xFFFF): server supports 3.0 only")
        }
    }

    private static func decodeBind(_ body: [UInt8]) throws(SQLError) -> Bind {
        var reader = WireReader(body, message: "Bind")
        let portal = try reader.cString("portal name")
        let statement = try reader.cString("statement name")
        let formatCount = try reader.count16("parameter format count")
        var formats: [Int16] = []
        for index in 0..<formatCount { formats.append(try reader.int16("parameter format \(index + 1)")) }
        let parameterCount = try reader.count16("parameter count")
        var parameters: [[UInt8]?] = []
        for index in 0..<parameterCount {
            let length = try reader.int32("length of parameter \(index + 1)")
            if length == -1 {
                parameters.append(nil)
            } else {
                guard length >= 0 else { throw reader.malformed("parameter \(index + 1) has length \(length)") }
                parameters.append(try reader.bytes(Int(length), "parameter \(index + 1)"))
            }
        }
        let resultCount = try reader.count16("result format count")
        var resultFormats: [Int16] = []
        for index in 0..<resultCount { resultFormats.append(try reader.int16("result format \(index + 1)")) }
        try reader.expectEnd()
        for format in formats + resultFormats where format != 0 && format != 1 {
            throw reader.malformed("format code \(format) is neither 0 (text) nor 1 (binary)")
        }
        guard formats.count <= 1 || formats.count == parameterCount else {
            throw reader.malformed("\(formats.count) parameter formats for \(parameterCount) parameters")
        }
        return Bind(portal: portal, statement: statement, parameterFormats: formats, parameters: parameters,
                    resultFormats: resultFormats)
    }

    private static func decodeAuthentication(_ body: [UInt8],
                                             _ expectation: AuthenticationExpectation?) throws(SQLError) -> FrontendMessage {
        switch expectation {
        case nil:
            throw SQLError(.protocolViolation, "unexpected password message: no authentication is in progress")
        case .password:
            var reader = WireReader(body, message: "PasswordMessage")
            let password = try reader.cString("password")
            try reader.expectEnd()
            return .password(password)
        case .saslInitialResponse:
            var reader = WireReader(body, message: "SASLInitialResponse")
            let mechanism = try reader.cString("mechanism")
            let length = try reader.int32("data length")
            let data: [UInt8]? = length == -1 ? nil : try reader.bytes(Int(length), "data")
            try reader.expectEnd()
            return .saslInitialResponse(mechanism: mechanism, data: data)
        case .saslResponse:
            return .saslResponse(body)
        }
    }
}
