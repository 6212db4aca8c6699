import NIOCore
import NIOTLS
import Synchronization

// The handlers `ShellConnection` puts on its channel around postgres-nio's.

/// Sends the SSLRequest (length 8, code 80877103) and reads the server's one-byte answer: `S`, go on
/// in TLS; `N`, go on in the clear. Bytes after the `S` before the TLS handshake would be a
/// man-in-the-middle's injection (CVE-2021-23222), so they end the connection.
final class SSLRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let answer: EventLoopPromise<Bool>

    private init(answer: EventLoopPromise<Bool>) {
        self.answer = answer
    }

    /// Whether the server accepted TLS.
    static func negotiate(on channel: any Channel) async throws -> Bool {
        let answer = channel.eventLoop.makePromise(of: Bool.self)
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(SSLRequestHandler(answer: answer))
            var request = channel.allocator.buffer(capacity: 8)
            request.writeInteger(Int32(8))
            request.writeInteger(Int32(80_877_103))
            channel.writeAndFlush(request, promise: nil)
        }.get()
        return try await answer.futureResult.get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard let byte = buffer.readInteger(as: UInt8.self) else { return }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        switch byte {
        case UInt8(ascii: "S") where buffer.readableBytes == 0: answer.succeed(true)
        case UInt8(ascii: "N") where buffer.readableBytes == 0: answer.succeed(false)
        default: answer.fail(ShellError("the server answered the SSLRequest with unexpected bytes"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(ShellError("the server closed the connection during the SSLRequest"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(error)
        context.close(promise: nil)
    }
}

/// Waits for the TLS handshake, keeps its completion event to itself and leaves the pipeline.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let done: EventLoopPromise<Void>

    init(done: EventLoopPromise<Void>) {
        self.done = done
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case TLSUserEvent.handshakeCompleted = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        done.succeed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(ShellError("the server closed the connection during the TLS handshake"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }
}

/// Watches the backend's messages as they pass to postgres-nio and keeps BackendKeyData, the last
/// CommandComplete tag and the last ReadyForQuery status. Only the 5-byte headers are buffered;
/// bodies are skipped, except those of the kinds it keeps (a tag is bounded by the server's message
/// size limit).
final class BackendTap: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    struct KeyData: Sendable {
        var processID: Int32
        var secretKey: Int32
    }

    private struct State {
        var header: [UInt8] = []
        var kind: UInt8 = 0
        var remaining = 0
        var body: [UInt8] = []
        var keyData: KeyData?
        var lastCommandTag: String?
        var transactionStatus: UInt8?
    }

    private let state = Mutex(State())

    var keyData: KeyData? { state.withLock { $0.keyData } }
    var lastCommandTag: String? { state.withLock { $0.lastCommandTag } }
    var transactionStatus: UInt8? { state.withLock { $0.transactionStatus } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        state.withLock { state in
            var bytes = buffer.readableBytesView[...]
            while !bytes.isEmpty {
                if state.remaining == 0 && state.header.count < 5 {
                    let take = min(5 - state.header.count, bytes.count)
                    state.header += bytes.prefix(take)
                    bytes = bytes.dropFirst(take)
                    guard state.header.count == 5 else { break }
                    state.kind = state.header[0]
                    let length = state.header[1...4].reduce(0) { $0 << 8 | Int($1) }
                    state.remaining = max(0, length - 4)
                    state.body = []
                    if state.remaining == 0 { Self.finish(&state) }
                    continue
                }
                let take = min(state.remaining, bytes.count)
                if state.kind == UInt8(ascii: "K") || state.kind == UInt8(ascii: "C") || state.kind == UInt8(ascii: "Z") {
                    state.body += bytes.prefix(take)
                }
                bytes = bytes.dropFirst(take)
                state.remaining -= take
                if state.remaining == 0 { Self.finish(&state) }
            }
        }
        context.fireChannelRead(data)
    }

    private static func finish(_ state: inout State) {
        switch state.kind {
        case UInt8(ascii: "K") where state.body.count == 8:
            func int32(_ offset: Int) -> Int32 {
                Int32(bitPattern: state.body[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            }
            state.keyData = KeyData(processID: int32(0), secretKey: int32(4))
        case UInt8(ascii: "C"):
            state.lastCommandTag = String(decoding: state.body.prefix { $0 != 0 }, as: UTF8.self)
        case UInt8(ascii: "Z") where state.body.count == 1:
            state.transactionStatus = state.body[0]
        default:
            break
        }
        state.header = []
        state.body = []
    }
}
