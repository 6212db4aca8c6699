public import QueryPlanner

/// Cuts a byte stream from a PostgreSQL client into messages (protocol v3, "Message Flow" and
/// "Message Formats" in the PostgreSQL documentation). The first message of a connection has no type
/// byte (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest); every later one is a type byte and
/// an Int32 length that counts itself. A pure value: the server feeds it bytes, it returns frames.
public struct FrontendFrameReader: Sendable {
    public enum Phase: Sendable, Equatable { case startup, regular }

    /// One complete message: `type` is nil for a startup-phase message.
    public struct Frame: Sendable, Equatable {
        public let type: UInt8?
        public let body: [UInt8]
    }

    /// The largest message accepted, header included; larger ones end the connection with 08P01.
    public let messageBytesMax: Int
    public private(set) var phase: Phase = .startup
    private var buffer: [UInt8] = []
    private var readIndex = 0
    var bufferedCount: Int { buffer.count - readIndex }

    public init(messageBytesMax: Int = 1 << 30) {
        precondition(messageBytesMax >= 8, "a message needs at least its 8-byte header")
        self.messageBytesMax = messageBytesMax
    }

    /// The startup phase ends once the session has answered the startup message.
    public mutating func startupCompleted() { phase = .regular }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if readIndex > 4096, readIndex * 2 > buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message, nil when more bytes are needed, or a protocol violation.
    public mutating func next() throws(SQLError) -> Frame? {
        let headerBytes = phase == .startup ? 4 : 5
        guard buffer.count - readIndex >= headerBytes else { return nil }
        let type: UInt8? = phase == .startup ? nil : buffer[readIndex]
        let lengthAt = readIndex + headerBytes - 4
        let length = buffer[lengthAt..<lengthAt + 4].reduce(0) { ($0 << 8) | Int($1) }
        guard length >= 4 else {
            throw SQLError(.protocolViolation, "invalid message length \(length): it must count its own 4 bytes")
        }
        let totalBytes = headerBytes - 4 + length
        guard totalBytes <= messageBytesMax else {
            throw SQLError(
                .protocolViolation,
                "message of \(totalBytes) bytes exceeds the limit max_message_bytes = \(messageBytesMax)")
        }
        guard buffer.count - readIndex >= totalBytes else { return nil }
        let body = Array(buffer[lengthAt + 4..<readIndex + totalBytes])
        readIndex += totalBytes
        return Frame(type: type, body: body)
    }
}

extension FrontendFrameReader {
    /// Bytes received and not yet taken as frames.
    public var bufferedBytes: Int { bufferedCount }
}
