import NIOCore

/// The NIO shell around one connection: bytes in → `TransportFrameReader` → `Handshake` until it is
/// established → data frames to the owner. Any framing error, handshake failure or timeout
/// closes the connection; nothing a peer sends can do more than that.
final class TransportConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Callbacks: Sendable {
        var established: @Sendable (any Channel, PublicKeyBytes, Handshake.Role) -> Void
        var frame: @Sendable (any Channel, PublicKeyBytes, Handshake.Role, [UInt8]) -> Void
        var closed: @Sendable (any Channel, PublicKeyBytes?) -> Void
        var rejected: @Sendable (TransportRejection) -> Void
    }

    private var reader: TransportFrameReader
    private var handshake: Handshake
    private var peer: (key: PublicKeyBytes, role: Handshake.Role)?
    private let callbacks: Callbacks
    private let handshakeTimeout: TimeAmount
    private var timeoutTask: Scheduled<Void>?

    init(handshake: Handshake, frameBytesMax: Int, handshakeTimeout: TimeAmount, callbacks: Callbacks) {
        self.handshake = handshake
        self.reader = TransportFrameReader(frameBytesMax: frameBytesMax)
        self.handshakeTimeout = handshakeTimeout
        self.callbacks = callbacks
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let rejected = callbacks.rejected
        timeoutTask = context.eventLoop.scheduleTask(in: handshakeTimeout) {
            rejected(.handshakeTimedOut)
            channel.close(promise: nil)
        }
        apply(handshake.start(), context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Straight from NIO's buffer into the reader's (no intermediate array: chunk frames are MiBs).
        unwrapInboundIn(data).withUnsafeReadableBytes { reader.append($0) }
        while context.channel.isActive {
            let frame: TransportFrame?
            do {
                frame = try reader.next()
            } catch {
                callbacks.rejected(.badFrame)
                context.close(promise: nil)
                return
            }
            guard let frame else { return }
            if let peer {
                guard frame.kind == .data else {
                    callbacks.rejected(.badFrame)
                    context.close(promise: nil)
                    return
                }
                callbacks.frame(context.channel, peer.key, peer.role, frame.payload)
            } else {
                apply(handshake.receive(frame), context: context)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeoutTask?.cancel()
        callbacks.closed(context.channel, peer?.key)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func apply(_ outputs: [Handshake.Output], context: ChannelHandlerContext) {
        for output in outputs {
            switch output {
            case .send(let frame):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: frame.encoded())), promise: nil)
            case .established(let key, let role):
                timeoutTask?.cancel()
                peer = (key, role)
                callbacks.established(context.channel, key, role)
            case .refuse(let frame, _):
                callbacks.rejected(.refused)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: frame.encoded()))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            case .fail:
                callbacks.rejected(.handshakeFailed)
                context.close(promise: nil)
            }
        }
    }
}

extension TransportFrame {
    /// A data frame whose payload is `parts` one after the other, ready for a channel: the payload
    /// is copied once, where `encoded()` then `ByteBuffer(bytes:)` would copy it twice (a chunk is
    /// up to 4 MiB).
    static func dataBuffer(_ parts: [UInt8]...) -> ByteBuffer {
        let payloadBytes = parts.reduce(0) { $0 + $1.count }
        var buffer = ByteBufferAllocator().buffer(capacity: headerBytes + payloadBytes)
        buffer.writeInteger(UInt32(2 + payloadBytes))
        buffer.writeInteger(version)
        buffer.writeInteger(Kind.data.rawValue)
        for part in parts { buffer.writeBytes(part) }
        return buffer
    }
}

/// Why the transport closed a connection or dropped a frame; counted per reason.
public enum TransportRejection: String, Sendable, CaseIterable {
    /// Undecodable bytes: a bad length, version or kind.
    case badFrame
    /// The peer's key or cluster is not ours (we sent REFUSE).
    case refused
    /// The peer broke the handshake, sent a bad proof or refused us.
    case handshakeFailed
    /// The handshake did not finish within the handshake timeout (a slow or silent peer: it may
    /// be fine, only loaded).
    case handshakeTimedOut
    /// A frame to a peer was dropped because its send queue was full.
    case sendQueueFull
    /// An inbound connection over `connections_max`.
    case tooManyConnections
}
