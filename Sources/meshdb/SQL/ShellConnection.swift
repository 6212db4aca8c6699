import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import SQLShell

/// The REPL's PostgreSQL connection: postgres-nio does the protocol. Three things postgres-nio does not
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
