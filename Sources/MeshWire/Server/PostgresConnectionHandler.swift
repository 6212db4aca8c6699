import Foundation
import Logging
import MeshDB
import NIOCore
import NIOSSL
import NIOTLS
import QueryPlanner

/// The shell around one connection's `SessionStateMachine`: feeds it the bytes read, carries out
/// its actions (writes, TLS, SQL on a Task, close) and reports the SQL's outcome back on the event
/// loop. Everything here runs on the channel's event loop except the SQL itself.
final class PostgresConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Bytes the reader may hold while a statement runs before the handler stops reading.
    static let bufferedBytesHighWater = 1 << 20

    private let gateway: Gateway
    /// The connection's SQL session, opened once the client has authenticated (with its user,
    /// its process id and its startup settings).
    private var session: SQLSession?

    /// The session, for the actions the machine asks for only once it has started.
    private var startedSession: SQLSession {
        guard let session else { preconditionFailure("the machine runs statements only after the session started") }
        return session
    }
    private let options: PostgresServer.Options
    private let registry: ConnectionRegistry
    private let sslContext: NIOSSLContext?
    private var machine: SessionStateMachine
    private var context: ChannelHandlerContext?
    private var processID: Int32?
    /// Identifies the running statement: a result that arrives after its statement was canceled
    /// or timed out carries an old number and is dropped.
    private var workGeneration = 0
    private var runningTask: Task<Void, Never>?
    private var statementTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var reading = true

    init(gateway: Gateway, options: PostgresServer.Options, registry: ConnectionRegistry, sslContext: NIOSSLContext?) {
        self.gateway = gateway
        self.options = options
        self.registry = registry
        self.sslContext = sslContext
        var generator = SystemRandomNumberGenerator()
        var configuration = SessionStateMachine.Configuration()
        configuration.authentication = options.authentication
        configuration.users = options.users
        configuration.tlsAvailable = sslContext != nil
        configuration.secretKey = Int32.random(in: .min ... .max, using: &generator)
        configuration.scramServerNonce = Data((0..<18).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
        configuration.messageBytesMax = options.messageBytesMax
        self.machine = SessionStateMachine(configuration: configuration)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        processID = registry.register(
            limit: options.maxConnections, secretKey: machine.configuration.secretKey,
            cancel: { loop.execute { bound.value.interruptStatement(SQLError(.queryCanceled, "canceling statement due to user request")) } },
            close: { loop.execute { bound.value.context?.close(promise: nil) } })
        guard let processID else {
            let error = SQLError(SQLState("53300"), "sorry, too many clients already (max_connections = \(options.maxConnections))")
            write([.errorResponse(error, fatal: true)])
            context.flush()
            context.close(promise: nil)
            return
        }
        var configuration = machine.configuration
        configuration.processID = processID
        machine = SessionStateMachine(configuration: configuration)
        armIdleTimer()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let processID { registry.unregister(processID) }
        processID = nil
        runningTask?.cancel()
        statementTimer?.cancel()
        idleTimer?.cancel()
        // A client gone inside a transaction block leaves nothing behind: roll it back now
        // rather than at the idle-in-transaction timeout.
        if let session { Task { await session.close() } }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard processID != nil else { return }
        let buffer = unwrapInboundIn(data)
        armIdleTimer()
        perform(machine.bytesReceived(buffer.readableBytesView))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            perform(machine.processFrames())
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        options.logger.debug("connection error: \(error)")
        context.close(promise: nil)
    }

    // MARK: Actions

    private func perform(_ actions: [SessionStateMachine.Action]) {
        guard let context else { return }
        var pending = actions[...]
        while let action = pending.popFirst() {
            switch action {
            case .send(let messages):
                write(messages)
            case .startTLS:
                context.flush()
                guard let sslContext else { preconditionFailure("the machine offers TLS only when it is configured") }
                do {
                    try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext), position: .first)
                } catch {
                    context.close(promise: nil)
                }
            case .execute(let sql, let parameters):
                let session = startedSession
                run {
                    let results = try await session.execute(sql, parameters: parameters)
                    return .completed(results.last ?? SQLResult(tag: ""))
                }
            case .describe(let sql, let parameterTypes):
                let session = startedSession
                run {
                    do {
                        return try await Self.describe(sql, parameterTypes: parameterTypes, session: session)
                    } catch {
                        // As in PostgreSQL, where this error would come from Parse: it aborts the
                        // transaction block (25P02 until ROLLBACK). The describe itself runs
                        // outside the block, so the block is failed here.
                        await session.failTransaction()
                        throw error
                    }
                }
            case .prepareCopyIn(let statement):
                let gateway = gateway
                run { .copyColumns(try await Self.copyColumnTypes(statement, gateway: gateway)) }
            case .insertCopyRows(let statement, let rows):
                let session = startedSession
                run {
                    let (sql, parameters) = Self.insertStatement(statement, rows: rows)
                    let results = try await session.execute(sql, parameters: parameters)
                    return .completed(results.last ?? SQLResult(tag: ""))
                }
            case .lookUpUser(let name):
                let gateway = gateway
                run { .userVerifier(try await gateway.userVerifier(name: name)) }
            case .cancel(let processID, let secretKey):
                registry.cancel(processID: processID, secretKey: secretKey)
            case .startSession(let user, let database, let settings):
                options.logger.debug("session \(processID ?? 0): user \(user), database \(database)")
                do {
                    let opened = try SQLSession(gateway: gateway, backendPID: processID ?? 0, user: user,
                                                startupSettings: settings.map { ($0.name, $0.value) })
                    session = opened
                    var reported: [String: String] = [:]
                    for name in SessionStateMachine.clientReportedParameters.keys { reported[name] = opened.valueAtStart(of: name) }
                    pending += machine.sessionStarted(reported: reported)
                } catch {
                    pending += machine.statementFailed(error, transactionStatus: .idle)
                }
            case .close:
                context.flush()
                context.close(promise: nil)
            }
        }
        context.flush()
        let shouldRead = !(machine.isBusy && machine.bufferedBytes > Self.bufferedBytesHighWater)
        if shouldRead != reading {
            reading = shouldRead
            context.channel.setOption(.autoRead, value: shouldRead).whenFailure { _ in }
        }
    }

    private func write(_ messages: [BackendMessage]) {
        guard let context else { return }
        var bytes: [UInt8] = []
        for message in messages { message.encode(into: &bytes) }
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    /// The session's transaction status after its last statement: ReadyForQuery's byte.
    private var transactionStatus: BackendMessage.TransactionStatus = .idle

    private enum Outcome: Sendable {
        case completed(SQLResult)
        case described(parameterTypes: [WireType], columns: [SessionStateMachine.ResultColumn]?)
        case copyColumns([WireType])
        case userVerifier(ScramVerifier?)
    }

    /// Runs one piece of SQL work on a Task and reports it back on the event loop.
    private func run(_ body: @escaping @Sendable () async throws -> Outcome) {
        guard let context else { return }
        workGeneration += 1
        let generation = workGeneration
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let session = self.session
        idleTimer?.cancel()
        // The shorter of the server's --statement-timeout and the session's statement_timeout.
        let sessionTimeout = session?.statementTimeout
        if let timeout = options.statementTimeout.map({ min($0, sessionTimeout ?? $0) }) ?? sessionTimeout {
            statementTimer = loop.scheduleTask(in: Self.timeAmount(timeout)) {
                bound.value.interruptStatement(SQLError(.queryCanceled, "canceling statement due to statement timeout (statement_timeout = \(timeout))"))
            }
        }
        runningTask = Task {
            let outcome: Result<Outcome, SQLError>
            do {
                outcome = .success(try await body())
            } catch let error as SQLError {
                outcome = .failure(error)
            } catch {
                outcome = .failure(SQLError(.internalError, "\(error)"))
            }
            let status = if let session { BackendMessage.TransactionStatus(await session.transactionStatus) } else { BackendMessage.TransactionStatus.idle }
            loop.execute { bound.value.finish(generation: generation, outcome, status: status) }
        }
    }

    private func finish(generation: Int, _ outcome: Result<Outcome, SQLError>, status: BackendMessage.TransactionStatus) {
        guard generation == workGeneration, machine.isBusy else { return }
        statementTimer?.cancel()
        statementTimer = nil
        runningTask = nil
        transactionStatus = status
        switch outcome {
        case .success(.completed(let result)): perform(machine.statementCompleted(result, transactionStatus: status))
        case .success(.described(let parameterTypes, let columns)):
            perform(machine.statementDescribed(parameterTypes: parameterTypes, columns: columns))
        case .success(.copyColumns(let types)): perform(machine.copyInPrepared(columnTypes: types))
        case .success(.userVerifier(let verifier)): perform(machine.userLookedUp(verifier))
        case .failure(let error): perform(machine.statementFailed(error, transactionStatus: status))
        }
        if !machine.isBusy { armIdleTimer() }
    }

    /// Ends the running statement with `error` now (cancel or timeout); its Task is told to stop,
    /// and whatever it returns later is dropped. A write already ordered by the cluster may still
    /// take effect, as a PostgreSQL cancel that arrives too late does not undo a commit.
    private func interruptStatement(_ error: SQLError) {
        guard machine.isBusy else { return }
        workGeneration += 1
        runningTask?.cancel()
        runningTask = nil
        statementTimer?.cancel()
        statementTimer = nil
        // Inside a block the interrupted statement aborts it, as in PostgreSQL (25P02 until ROLLBACK).
        if transactionStatus != .idle {
            transactionStatus = .failedTransaction
            if let session { Task { await session.failTransaction() } }
        }
        perform(machine.statementFailed(error, transactionStatus: transactionStatus))
        if !machine.isBusy { armIdleTimer() }
    }

    private func armIdleTimer() {
        idleTimer?.cancel()
        idleTimer = nil
        guard let timeout = options.idleSessionTimeout, let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: Self.timeAmount(timeout)) {
            let handler = bound.value
            guard !handler.machine.isBusy, let context = handler.context else { return }
            handler.write([.errorResponse(SQLError(SQLState("57P05"), "terminating connection due to idle-session timeout (idle_session_timeout = \(timeout))"), fatal: true)])
            context.flush()
            context.close(promise: nil)
        }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    // MARK: SQL for the protocol

    /// A prepared statement's parameter types (see `ParameterTypeInference`) and the columns it
    /// returns: a SELECT is run with NULL parameters (no side effects) and its columns taken, typed
    /// from the catalog where it can; other statements return none.
    private static func describe(_ sql: String, parameterTypes given: [Int32], session: SQLSession) async throws(SQLError) -> Outcome {
        let statements = try Parser.parseStatements(sql)
        let catalog = try? await session.gateway.catalog()
        let inferred = statements.count == 1 && catalog != nil ? ParameterTypeInference.types(of: statements[0], catalog: catalog!) : [:]
        let parameterTypes = given.enumerated().map { index, oid in oid != 0 ? WireType(oid: oid) : inferred[index + 1] ?? .text }
        let columns: [SessionStateMachine.ResultColumn]?
        if statements.count == 1, let catalog, let returning = CatalogResultTypes.returningColumns(of: statements[0], catalog: catalog) {
            columns = returning
        } else {
            columns = try await describeColumns(statements, sql: sql, parameterCount: given.count, catalog: catalog, session: session)
        }
        return .described(parameterTypes: parameterTypes, columns: columns)
    }

    /// `catalog`: the one `describe` read, so a Describe reads the catalog once.
    private static func describeColumns(_ statements: [Statement], sql: String, parameterCount: Int, catalog: CatalogStateMachine?,
                                        session: SQLSession) async throws(SQLError) -> [SessionStateMachine.ResultColumn]? {
        guard statements.count == 1 else { return nil }
        switch statements[0] {
        case .select(let select):
            let result = try await session.describeSelect(select, sql: sql, parameterCount: parameterCount, catalogVersion: catalog?.version)
            guard !result.columns.isEmpty else { return nil }
            let inferred = SessionStateMachine.columns(of: result, described: nil)
            guard let catalog, let types = CatalogResultTypes.types(of: select, catalog: catalog), types.count == inferred.count else { return inferred }
            return zip(inferred, types).map { column, type in
                SessionStateMachine.ResultColumn(name: column.name, type: type ?? column.type)
            }
        case .show, .explain:
            let results = try await session.execute(sql, parameters: Array(repeating: .null, count: parameterCount))
            guard let result = results.last, !result.columns.isEmpty else { return nil }
            return SessionStateMachine.columns(of: result, described: nil)
        default:
            return nil
        }
    }

    /// The wire types of the columns a COPY FROM fills, from the table in the catalog.
    static func copyColumnTypes(_ statement: CopyStatement, gateway: Gateway) async throws -> [WireType] {
        guard case .table(let written, let columns) = statement.source else { preconditionFailure("COPY FROM has a table") }
        let name = identifier(written)
        let catalog = try await gateway.catalog()
        guard let table = catalog.table(named: name) else {
            throw SQLError(.undefinedTable, "relation \"\(name)\" does not exist")
        }
        let chosen = columns.isEmpty ? table.spec.columns.map(\.name) : columns.map(identifier)
        var types: [WireType] = []
        for column in chosen {
            guard let spec = table.spec.columns.first(where: { $0.name == column }) else {
                throw SQLError(.undefinedColumn, "column \"\(column)\" of relation \"\(name)\" does not exist")
            }
            types.append(CatalogScope.wireType(spec.type))
        }
        return types
    }

    /// A name as written in SQL to the name stored: quoted names keep their case, others fold to
    /// lower case; a schema prefix (public., pg_temp.) is dropped.
    static func identifier(_ written: String) -> String {
        var name = written
        if let dot = name.lastIndex(of: "."), !name.hasSuffix("\"") || name[name.index(after: dot)] == "\"" {
            name = String(name[name.index(after: dot)...])
        }
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
            return String(name.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
        }
        return name.lowercased()
    }

    /// One multi-row INSERT for a batch of COPY rows, the values as parameters.
    static func insertStatement(_ statement: CopyStatement, rows: [[SQLiteValue]]) -> (String, [SQLiteValue]) {
        guard case .table(let name, let columns) = statement.source else { preconditionFailure("COPY FROM has a table") }
        var sql = "INSERT INTO \(name)"
        if !columns.isEmpty { sql += " (\(columns.joined(separator: ", ")))" }
        sql += " VALUES "
        var parameters: [SQLiteValue] = []
        parameters.reserveCapacity(rows.count * (rows.first?.count ?? 0))
        for (rowIndex, row) in rows.enumerated() {
            if rowIndex > 0 { sql += ", " }
            sql += "("
            for (columnIndex, value) in row.enumerated() {
                parameters.append(value)
                sql += (columnIndex > 0 ? ", $" : "$") + String(parameters.count)
            }
            sql += ")"
        }
        return (sql, parameters)
    }
}

extension BackendMessage.TransactionStatus {
    /// ReadyForQuery's byte for the SQL session's transaction status.
    init(_ status: SQLSession.TransactionStatus) {
        switch status {
        case .idle: self = .idle
        case .inTransaction: self = .inTransaction
        case .failed: self = .failedTransaction
        }
    }
}
