public import QueryPlanner

/// A message from the server to a client (protocol 3.0, "Message Formats"), encoded to bytes.
public enum BackendMessage: Sendable, Equatable {
    case authentication(Authentication)
    case parameterStatus(name: String, value: String)
    case backendKeyData(processID: Int32, secretKey: Int32)
    case readyForQuery(TransactionStatus)
    case rowDescription([ColumnDescription])
    /// One row: nil is SQL NULL, otherwise the value already encoded in its column's format.
    case dataRow([[UInt8]?])
    case commandComplete(tag: String)
    case emptyQueryResponse
    /// `fatal`: the server closes the connection after it (severity FATAL rather than ERROR).
    case errorResponse(SQLError, fatal: Bool = false)
    case noticeResponse(SQLError)
    case parseComplete
    case bindComplete
    case closeComplete
    case noData
    case parameterDescription([Int32])
    case portalSuspended
    case copyInResponse(CopyResponse)
    case copyOutResponse(CopyResponse)
    case copyData([UInt8])
    case copyDone
    /// The single byte answering SSLRequest / GSSENCRequest: 'S' (go ahead with TLS) or 'N'.
    case encryptionResponse(accepted: Bool)

    public enum Authentication: Sendable, Equatable {
        case ok
        case cleartextPassword
        case sasl(mechanisms: [String])
        case saslContinue([UInt8])
        case saslFinal([UInt8])
    }

    /// ReadyForQuery's transaction status byte.
    public enum TransactionStatus: UInt8, Sendable, Equatable {
        case idle = 0x49  // 'I'
        case inTransaction = 0x54  // 'T'
        case failedTransaction = 0x45  // 'E'
    }

    /// One field of a RowDescription.
    public struct ColumnDescription: Sendable, Equatable {
        public var name: String
        public var tableOID: Int32 = 0
        public var columnNumber: Int16 = 0
        public var type: WireType
        /// 0 text, 1 binary.
        public var format: Int16

        public init(name: String, type: WireType, format: Int16 = 0) {
            self.name = name
            self.type = type
            self.format = format
        }
    }

    /// CopyInResponse / CopyOutResponse: the overall format (0 text, 1 binary) and one per column.
    public struct CopyResponse: Sendable, Equatable {
        public var format: Int8
        public var columnFormats: [Int16]

        public init(format: Int8 = 0, columnCount: Int) {
            self.format = format
            self.columnFormats = Array(repeating: Int16(format), count: columnCount)
        }
    }

    /// Appends the message, type byte and length included, to `buffer`.
    public func encode(into buffer: inout [UInt8]) {
        if case .encryptionResponse(let accepted) = self {
            buffer.append(accepted ? UInt8(ascii: "S") : UInt8(ascii: "N"))
            return
        }
        var body = WireWriter()
        let type: Character
        switch self {
        case .authentication(let authentication):
            type = "R"
            switch authentication {
            case .ok: body.int32(0)
            case .cleartextPassword: body.int32(3)
            case .sasl(let mechanisms):
                body.int32(10)
                for mechanism in mechanisms { body.cString(mechanism) }
                body.uint8(0)
            case .saslContinue(let data):
                body.int32(11)
                body.raw(data)
            case .saslFinal(let data):
                body.int32(12)
                body.raw(data)
            }
        case .parameterStatus(let name, let value):
            type = "S"
            body.cString(name)
            body.cString(value)
        case .backendKeyData(let processID, let secretKey):
            type = "K"
            body.int32(processID)
            body.int32(secretKey)
        case .readyForQuery(let status):
            type = "Z"
            body.uint8(status.rawValue)
        case .rowDescription(let columns):
            type = "T"
            body.int16(Int16(clamping: columns.count))
            for column in columns {
                body.cString(column.name)
                body.int32(column.tableOID)
                body.int16(column.columnNumber)
                body.int32(column.type.oid)
                body.int16(column.type.size)
                body.int32(-1)  // type modifier: none
                body.int16(column.format)
            }
        case .dataRow(let values):
            type = "D"
            body.int16(Int16(clamping: values.count))
            for value in values {
                if let value {
                    body.int32(Int32(clamping: value.count))
                    body.raw(value)
                } else {
                    body.int32(-1)
                }
            }
        case .commandComplete(let tag):
            type = "C"
            body.cString(tag)
        case .emptyQueryResponse: type = "I"
        case .errorResponse(let error, _), .noticeResponse(let error):
            let severity: String
            switch self {
            case .errorResponse(_, let fatal):
                type = "E"
                severity = fatal ? "FATAL" : "ERROR"
            default:
                type = "N"
                severity = "NOTICE"
            }
            body.uint8(UInt8(ascii: "S")); body.cString(severity)
            body.uint8(UInt8(ascii: "V")); body.cString(severity)
            body.uint8(UInt8(ascii: "C")); body.cString(error.state.code)
            body.uint8(UInt8(ascii: "M")); body.cString(error.message)
            if let position = error.position {
                body.uint8(UInt8(ascii: "P")); body.cString(String(position))
            }
            if let hint = error.hint {
                body.uint8(UInt8(ascii: "H")); body.cString(hint)
            }
            body.uint8(0)
        case .parseComplete: type = "1"
        case .bindComplete: type = "2"
        case .closeComplete: type = "3"
        case .noData: type = "n"
        case .parameterDescription(let types):
            type = "t"
            body.int16(Int16(clamping: types.count))
            for oid in types { body.int32(oid) }
        case .portalSuspended: type = "s"
        case .copyInResponse(let response), .copyOutResponse(let response):
            if case .copyInResponse = self { type = "G" } else { type = "H" }
            body.uint8(UInt8(bitPattern: response.format))
            body.int16(Int16(clamping: response.columnFormats.count))
            for format in response.columnFormats { body.int16(format) }
        case .copyData(let data):
            type = "d"
            body.raw(data)
        case .copyDone: type = "c"
        case .encryptionResponse: preconditionFailure("handled above: it has no header")
        }
        buffer.append(type.asciiValue!)
        var length = WireWriter()
        length.int32(Int32(body.bytes.count + 4))
        buffer.append(contentsOf: length.bytes)
        buffer.append(contentsOf: body.bytes)
    }

    public var encoded: [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer)
        return buffer
    }
}
