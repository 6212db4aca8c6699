/// The node transport's framing: every frame on a node's TCP port is
///
///     u32 length (big-endian, counts what follows) | u8 version | u8 kind | payload
///
/// The length is checked against `frameBytesMax` before anything is buffered, so a peer cannot
/// make a node allocate more than that; an unknown version or kind ends the connection.
public struct TransportFrame: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, CaseIterable {
        /// Handshake, first message each way: who I am and a fresh nonce.
        case hello = 1
        /// Handshake, second message each way: my signature over both nonces.
        case proof = 2
        /// The connection is refused; the payload says why (UTF-8).
        case refuse = 3
        /// After the handshake: an application frame (PBFT traffic, client requests, chunks).
        case data = 16
    }

    public static let version: UInt8 = 1
    static let headerBytes = 6

    public let kind: Kind
    public let payload: [UInt8]

    public init(kind: Kind, payload: [UInt8]) {
        self.kind = kind
        self.payload = payload
    }

    /// The frame's bytes on the wire.
    public func encoded() -> [UInt8] {
        let length = UInt32(2 + payload.count)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + Int(length))
        bytes += [UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
        bytes += [Self.version, kind.rawValue]
        bytes += payload
        return bytes
    }
}

public enum TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    case frameTooLarge(bytes: Int, limit: Int)
    case frameTooShort(bytes: Int)
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)
    case handshake(String)
    case refusedByPeer(String)

    public var description: String {
        switch self {
        case .frameTooLarge(let bytes, let limit): "frame of \(bytes) bytes exceeds frame_bytes_max = \(limit)"
        case .frameTooShort(let bytes): "frame of \(bytes) bytes is shorter than its 2-byte header"
        case .unsupportedVersion(let version): "unsupported transport version \(version) (this node speaks \(TransportFrame.version))"
        case .unknownKind(let kind): "unknown frame kind \(kind)"
        case .handshake(let reason): "handshake failed: \(reason)"
        case .refusedByPeer(let reason): "refused by peer: \(reason)"
        }
    }
}

/// Cuts frames out of a byte stream; pure, so it can be fuzzed without sockets.
public struct TransportFrameReader: Sendable {
    public let frameBytesMax: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0

    public init(frameBytesMax: Int) {
        precondition(frameBytesMax >= 2)
        self.frameBytesMax = frameBytesMax
    }

    public var bufferedBytes: Int { buffer.count - readIndex }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if readIndex > 0, readIndex * 2 >= buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame, nil when more bytes are needed, or why the stream is invalid.
    public mutating func next() throws(TransportError) -> TransportFrame? {
        guard buffer.count - readIndex >= 4 else { return nil }
        let length = buffer[readIndex..<readIndex + 4].reduce(0) { ($0 << 8) | Int($1) }
        guard length <= frameBytesMax else { throw .frameTooLarge(bytes: length, limit: frameBytesMax) }
        guard length >= 2 else { throw .frameTooShort(bytes: length) }
        guard buffer.count - readIndex >= 4 + length else { return nil }
        let version = buffer[readIndex + 4]
        guard version == TransportFrame.version else { throw .unsupportedVersion(version) }
        guard let kind = TransportFrame.Kind(rawValue: buffer[readIndex + 5]) else { throw .unknownKind(buffer[readIndex + 5]) }
        let payload = Array(buffer[readIndex + 6..<readIndex + 4 + length])
        readIndex += 4 + length
        return TransportFrame(kind: kind, payload: payload)
    }
}
