import Foundation
import Logging
import MeshWire
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import PostgresNIO
import SQLShell
import Synchronization

/// The REPL's PostgreSQL connection: postgres-nio does the protocol. Two things postgres-nio does not
/// hand out (1.33) are read by `BackendTap`, a pass-through handler in front of postgres-nio's on the
/// same channel: BackendKeyData (process ID and secret key, which a CancelRequest needs), each
/// statement's CommandComplete tag ("INSERT 0 2"; the async query API returns rows and columns only)
/// and ReadyForQuery's transaction status (for the prompt).
final class ShellConnection: Sendable {
    /// One statement's outcome.
    struct Outcome: Sendable {
        /// nil for a statement that returns no rows (no RowDescription).
        var table: ResultTable?
        var commandTag: String?
    }

    let url: ConnectionURL
    private let connection: PostgresConnection
    private let tap: BackendTap
    private let logger: Logger

    private init(url: ConnectionURL, connection: PostgresConnection, tap: BackendTap, logger: Logger) {
        self.url = url
        self.connection = connection
        self.tap = tap
        self.logger = logger
    }

    static func connect(_ url: ConnectionURL) async throws -> ShellConnection {
        var logger = Logger(label: "meshdb.sql")
        logger.logLevel = .critical
        let tap = BackendTap()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: url.host, port: url.port).get()
        do {
            // TLS is negotiated here rather than by postgres-nio, so that the tap sits inside the
            // encryption and still reads the backend's messages.
            if url.sslMode != .disable {
                let accepted = try await SSLRequestHandler.negotiate(on: channel)
                if accepted {
                    var tls = TLSConfiguration.makeClientConfiguration()
                    // libpq's require and prefer encrypt without checking the certificate.
                    tls.certificateVerification = .none
                    let context = try NIOSSLContext(configuration: tls)
                    let hostname = url.host.contains(where: \.isLetter) && !url.host.contains(":") ? url.host : nil
                    // postgres-nio must not see the handshake's event (it would take it for its own
                    // TLS), so the handshake ends before its handler joins the pipeline.
                    let handshake = channel.eventLoop.makePromise(of: Void.self)
                    try await channel.eventLoop.submit {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: hostname))
                        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(done: handshake))
                    }.get()
                    try await handshake.futureResult.get()
                } else if url.sslMode == .require {
                    throw ShellError("the server does not offer TLS (it answered the SSLRequest with N), and sslmode=require")
                }
            }
            try await channel.eventLoop.submit { try channel.pipeline.syncOperations.addHandler(tap) }.get()
            let configuration = PostgresConnection.Configuration(
                establishedChannel: channel, username: url.user, password: url.password, database: url.database)
            let connection = try await PostgresConnection.connect(on: channel.eventLoop, configuration: configuration, id: 1, logger: logger).get()
            return ShellConnection(url: url, connection: connection, tap: tap, logger: logger)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// The transaction status of the last ReadyForQuery (idle, in a block, in a failed block).
    var transactionStatus: Prompt.TransactionStatus? {
        tap.transactionStatus.flatMap { Prompt.TransactionStatus(rawValue: Character(Unicode.Scalar($0))) }
    }

    /// Runs one statement and collects its rows as text.
    func run(_ sql: String) async throws -> Outcome {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        let columns = rows.columns.map { ResultTable.Column($0.name, isNumeric: CellText.isNumeric($0.dataType)) }
        var collected: [[String?]] = []
        for try await row in rows {
            collected.append(row.map(CellText.text))
        }
        let tag = tap.lastCommandTag
        let returnsRows = !columns.isEmpty || tag.map { $0.hasPrefix("SELECT") } == true
        return Outcome(table: returnsRows ? ResultTable(columns: columns, rows: collected) : nil, commandTag: tag)
    }

    /// Sends a CancelRequest for the running statement on a new connection (protocol 3.0: length 16,
    /// code 80877102, process ID, secret key); the server answers the statement with 57014.
    func cancel() async throws {
        guard let key = tap.keyData else {
            throw ShellError("the server sent no BackendKeyData, so its statements cannot be canceled")
        }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: url.host, port: url.port).get()
        var request = channel.allocator.buffer(capacity: 16)
        request.writeInteger(Int32(16))
        request.writeInteger(Int32(80_877_102))
        request.writeInteger(key.processID)
        request.writeInteger(key.secretKey)
        try await channel.writeAndFlush(request)
        try await channel.close()
    }

    func close() async {
        try? await connection.close()
    }

    /// What went wrong outside the server's answers (connection refused or closed, protocol trouble):
    /// postgres-nio's plain description hides the details, so take its code and underlying error.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        return "\(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
    }

    /// The server's error as the shell prints it, or nil when `error` did not come from the server.
    static func report(for error: any Error) -> ErrorReport? {
        guard let error = error as? PSQLError, let info = error.serverInfo, let message = info[.message] else { return nil }
        return ErrorReport(severity: info[.severity] ?? "ERROR", sqlState: info[.sqlState], message: message,
                           position: info[.position].flatMap { Int($0) }, detail: info[.detail], hint: info[.hint])
    }
}

/// An error of the shell itself (not from the server); `description` is printed as is.
struct ShellError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

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

/// Text of a result cell. postgres-nio asks for binary results; the types MeshDB sends are decoded
/// with MeshWire's codec (the same code that encoded them on the server), and the other common
/// PostgreSQL types here, so the same query prints the same text against MeshDB and PostgreSQL.
enum CellText {
    private static let numericOIDs: Set<UInt32> = [20, 21, 23, 26, 700, 701, 1700]
    private static let textOIDs: Set<UInt32> = [18, 19, 25, 114, 142, 705, 1042, 1043]

    static func isNumeric(_ type: PostgresDataType) -> Bool { numericOIDs.contains(type.rawValue) }

    static func text(_ cell: PostgresCell) -> String? {
        guard var buffer = cell.bytes else { return nil }
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let oid = cell.dataType.rawValue
        if cell.format == .text || textOIDs.contains(oid) { return String(decoding: bytes, as: UTF8.self) }
        let wireType = WireType(oid: Int32(bitPattern: oid))
        if WireType.known.contains(wireType), let value = try? WireValueCodec.decode(bytes, as: wireType, format: 1, parameter: 0) {
            return WireValueCodec.text(value, as: wireType)
        }
        switch oid {
        case 24, 26, 28, 29, 2202, 2203, 2204, 2205, 2206, 4089, 4096:
            // oid and its reg* aliases travel as a 4-byte unsigned integer.
            if bytes.count == 4 { return String(bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
        case 3802 where bytes.first == 1:
            return String(decoding: bytes.dropFirst(), as: UTF8.self)
        case 2950 where bytes.count == 16:
            let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
            let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
                String(hex.dropFirst(range.lowerBound).prefix(range.count))
            }
            return parts.joined(separator: "-")
        case 1082 where bytes.count == 4:
            let days = Int32(bitPattern: bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            return dateText(daysSince2000: Int(days))
        case 1184:
            guard let value = try? WireValueCodec.decode(bytes, as: .timestamp, format: 1, parameter: 0) else { break }
            return WireValueCodec.text(value, as: .timestamp) + "+00"
        default:
            break
        }
        if let string = try? cell.decode(String.self) { return string }
        return "\\x" + bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// yyyy-mm-dd of a PostgreSQL date (days since 2000-01-01, which is day 10,957 of the Unix epoch).
    static func dateText(daysSince2000 days: Int) -> String {
        let (year, month, day) = WireValueCodec.civilFromDays(Int64(days) + 10_957)
        return String(year).leftPadded(to: 4) + "-" + String(month).leftPadded(to: 2) + "-" + String(day).leftPadded(to: 2)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
