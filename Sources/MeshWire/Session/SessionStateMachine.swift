public import MeshDB
public import QueryPlanner

/// One PostgreSQL connection as a pure state machine (after postgres-nio's ConnectionStateMachine,
/// seen from the server side): bytes and the shell's results go in, actions come out. It frames and
/// decodes messages, authenticates, keeps prepared statements and portals, and turns results into
/// backend messages; it never touches a socket, a clock or the SQL engine. The shell runs at most one
/// piece of work (`Action.execute`, `.describe`, `.prepareCopyIn`, `.insertCopyRows`) at a time and
/// reports it back with `statementCompleted`, `statementFailed`, `statementDescribed` or
/// `copyInPrepared`; messages that arrive meanwhile wait in the frame reader, in order.
public struct SessionStateMachine: Sendable {
    public enum AuthenticationMethod: Sendable, Equatable {
        case trust
        case cleartextPassword
        case scramSHA256
    }

    public struct Configuration: Sendable {
        public var authentication: AuthenticationMethod = .trust
        /// Password verifiers by user name, for the password methods. A user not here is asked
        /// of the shell (`Action.lookUpUser`), which looks in the catalog.
        public var users: [String: ScramVerifier] = [:]
        /// Whether SSLRequest is answered 'S' (the shell then starts TLS).
        public var tlsAvailable = false
        /// BackendKeyData: what a CancelRequest for this connection must carry.
        public var processID: Int32 = 0
        public var secretKey: Int32 = 0
        /// The server's half of the SCRAM nonce: random, from the shell.
        public var scramServerNonce = ""
        public var messageBytesMax = 1 << 30
        /// Most rows of COPY FROM handed to the shell per insert. Each insert is evaluated in one
        /// scratch statement and sent as about one ordered write per shard it touches. (When the
        /// SQL layer evaluated row by row, its cost per row grew with the statement: 100,000
        /// pgbench_accounts rows took 94 s in batches of 500 and 362 s in batches of 5,000;
        /// larger batches have not been measured since.)
        public var copyBatchRows = 500
        /// Most values per COPY insert: the shell binds each as a parameter, and the SQL parser
        /// accepts parameters up to $32766 (`Parser.Limits.parameterNumberMax`).
        public var copyBatchValuesMax = 32_766
        /// Longest COPY FROM row, in bytes.
        public var copyRowBytesMax = 1 << 26
        /// Most prepared statements and portals one session may hold at once, each.
        public var preparedStatementsMax = 10_000
        /// Sent as ParameterStatus after authentication, in this order.
        public var serverParameters: [(String, String)] = [
            ("server_version", MeshDBVersion.postgresCompatible),
            ("meshdb_version", MeshDBVersion.string),
            ("server_encoding", "UTF8"),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("IntervalStyle", "postgres"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
            ("TimeZone", "UTC"),
            ("is_superuser", "on"),
            ("session_authorization", ""),
        ]

        public init() {}
    }

    /// A column of a result as described to the client.
    public struct ResultColumn: Sendable, Equatable {
        public var name: String
        public var type: WireType

        public init(name: String, type: WireType) {
            self.name = name
            self.type = type
        }
    }

    public enum Action: Sendable, Equatable {
        case send([BackendMessage])
        /// After sending 'S': wrap the connection in TLS before reading on.
        case startTLS
        /// Run one statement (no COPY, no semicolon-separated list) with its parameters.
        case execute(sql: String, parameters: [SQLiteValue])
        /// Say which types the parameters of `sql` have (those given are nonzero OIDs; resolve
        /// the others) and which columns it returns, without side effects: `statementDescribed`.
        case describe(sql: String, parameterTypes: [Int32])
        /// Find the table of a COPY FROM and its column types: `copyInPrepared`.
        case prepareCopyIn(CopyStatement)
        /// Insert rows of a COPY FROM, already converted to the column types: `statementCompleted`.
        case insertCopyRows(CopyStatement, rows: [[SQLiteValue]])
        /// A CancelRequest: cancel the running statement of the connection with this key, then close.
        case cancel(processID: Int32, secretKey: Int32)
        /// A password method needs the verifier of a user `configuration.users` does not hold:
        /// the shell answers with `userLookedUp` (nil when there is no such user).
        case lookUpUser(String)
        /// The client authenticated as `user`: the shell opens its SQL session with `settings`
        /// (the startup packet's, in order) and answers `sessionStarted`, or `statementFailed`
        /// when a setting is refused (the login then fails, as in PostgreSQL).
        case startSession(user: String, database: String, settings: [StartupSetting])
        case close
    }

    public let configuration: Configuration
    private var reader: FrontendFrameReader
    private var state: State = .startup
    public private(set) var transactionStatus: BackendMessage.TransactionStatus = .idle
    /// Startup parameters, for application_name and the like.
    public private(set) var startupParameters: [String: String] = [:]
    /// The settings the startup packet asks for, in the order they apply (`StartupSettings`).
    public private(set) var startupSettings: [StartupSetting] = []
    private var statements: [String: PreparedStatement] = [:]
    private var portals: [String: Portal] = [:]
    /// After an error in the extended protocol, messages up to Sync are discarded.
    private var skippingUntilSync = false
    /// What the outstanding work is for, nil when none.
    private var work: Work?

    enum State: Sendable {
        case startup
        case authenticating(user: String, database: String, step: AuthenticationStep)
        case ready
        case simpleQuery(pieces: [StatementSplitter.Piece], next: Int)
        case copyIn(CopyIn, then: CopyContinuation)
        case closed
    }

    enum AuthenticationStep: Sendable {
        /// Waiting for the shell's `userLookedUp`.
        case lookingUp
        case password(ScramVerifier?)
        case saslInitial(ScramVerifier?)
        case saslFinal(SCRAM?)
    }

    enum Work: Sendable {
        case userLookup
        /// Waiting for `sessionStarted`; the SCRAM server-final message goes out with AuthenticationOk.
        case sessionStart(saslFinal: [UInt8]?)
        case simpleStatement(StatementSplitter.Piece)
        case copyOut(CopyStatement, then: CopyContinuation)
        case copyInPrepare(CopyStatement, then: CopyContinuation)
        case copyInInsert(rows: Int)
        case describeStatement(name: String)
        case portal(name: String, then: PortalStep)
    }

    /// Where the session goes on once a COPY ends: the rest of a simple query (the piece, for
    /// error positions), or — a COPY run by Execute — the client's Sync ("COPY Operations": the
    /// backend ignores Flush and Sync during copy-in, and after an error discards messages up to Sync).
    enum CopyContinuation: Sendable {
        case simpleQuery(pieces: [StatementSplitter.Piece], next: Int, piece: StatementSplitter.Piece)
        case extended
    }

    /// What to do with a portal once its statement has run.
    enum PortalStep: Sendable { case describe, execute(rowLimit: Int32) }

    struct PreparedStatement: Sendable {
        var query: String
        var parameterTypes: [WireType]
        /// Known once described: Describe (statement) then Bind must describe the portal alike.
        var columns: [ResultColumn]?
    }

    struct Portal: Sendable {
        var statementName: String
        var statement: PreparedStatement
        var parameters: [SQLiteValue]
        var resultFormats: [Int16]
        var result: SQLResult?
        var columns: [ResultColumn]?
        var rowsSent = 0
    }

    struct CopyIn: Sendable {
        var statement: CopyStatement
        var decoder: CopyFormat.Decoder
        var columnTypes: [WireType]
        var buffered: [[SQLiteValue]] = []
        var rowsInserted = 0
        var done = false
    }

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.reader = FrontendFrameReader(messageBytesMax: configuration.messageBytesMax)
    }

    /// Whether a piece of work is out with the shell (new bytes are only buffered meanwhile).
    public var isBusy: Bool { work != nil }
    public var isClosed: Bool { if case .closed = state { true } else { false } }
    public var bufferedBytes: Int { reader.bufferedBytes }

    // MARK: Events

    /// Bytes from the client.
    public mutating func bytesReceived(_ bytes: some Sequence<UInt8>) -> [Action] {
        guard !isClosed else { return [] }
        reader.append(bytes)
        return processFrames()
    }

    /// The connection's TLS handshake finished (or it was plain all along): nothing to do but read on.
    public mutating func processFrames() -> [Action] {
        var actions: [Action] = []
        while work == nil, !isClosed {
            let frame: FrontendFrameReader.Frame?
            do {
                frame = try reader.next()
            } catch {
                actions += fatal(error)
                break
            }
            guard let frame else { break }
            let message: FrontendMessage
            do {
                message = try FrontendMessage.decode(frame, authentication: authenticationExpectation)
            } catch {
                actions += fatal(error)
                break
            }
            actions += receive(message)
            if case .startTLS = actions.last { break }
        }
        return actions
    }

    /// The statement of `Action.execute` or `.insertCopyRows` succeeded; `transactionStatus` is the
    /// session's after it.
    public mutating func statementCompleted(_ result: SQLResult, transactionStatus: BackendMessage.TransactionStatus) -> [Action] {
        guard !isClosed else { return [] }
        self.transactionStatus = transactionStatus
        guard let current = work else { preconditionFailure("statementCompleted with no statement running") }
        work = nil
        // DISCARD ALL includes DEALLOCATE ALL: the protocol-level statements are this machine's.
        if result.tag == "DISCARD ALL" { statements.removeAll() }
        var actions: [Action]
        switch current {
        case .simpleStatement(let piece):
            guard case .simpleQuery(let pieces, let next) = state else { preconditionFailure("simple statement outside a simple query") }
            _ = piece
            let columns = Self.columns(of: result, described: nil)
            var messages: [BackendMessage] = []
            if !result.columns.isEmpty {
                messages.append(.rowDescription(columns.map { BackendMessage.ColumnDescription(name: $0.name, type: $0.type) }))
                messages += Self.textDataRows(result.rows[...], columns: columns)
            }
            messages += Self.parameterStatus(after: result)
            messages.append(.commandComplete(tag: result.tag))
            actions = [.send(messages)] + runPiece(pieces, next)
        case .copyOut(let statement, let then):
            let columns = Self.columns(of: result, described: nil)
            let format = statement.format
            var messages: [BackendMessage] = [.copyOutResponse(.init(format: Int8(format.fieldFormat), columnCount: columns.count))]
            // PostgreSQL sends the binary header in the CopyData of the first row (with no rows, in
            // the trailer's), and psycopg 3 reads each CopyData as whole tuples: a header on its
            // own was "bad copy data: fields number truncated".
            var binaryHeader = format.kind == .binary ? CopyFormat.binaryHeader : []
            if format.kind == .binary, let refusal = Self.binaryRefusal(columns: columns, formats: [1]) {
                return copyFailed(refusal, then: then) + processFrames()
            }
            if format.header { messages.append(.copyData(format.line(result.columns))) }
            for row in result.rows {
                if format.kind == .binary {
                    var fields: CopyFormat.Row = []
                    for (value, column) in zip(row, columns) {
                        do {
                            fields.append(try WireValueCodec.encode(value, as: column.type, format: 1))
                        } catch {
                            return copyFailed(error, then: then) + processFrames()
                        }
                    }
                    messages.append(.copyData(binaryHeader + CopyFormat.binaryTuple(fields)))
                    binaryHeader = []
                    continue
                }
                let fields = zip(row, columns).map { value, column -> String? in
                    if case .null = value { return nil }
                    return WireValueCodec.text(value, as: column.type)
                }
                messages.append(.copyData(format.line(fields)))
            }
            if format.kind == .binary { messages.append(.copyData(binaryHeader + CopyFormat.binaryTrailer)) }
            messages += [.copyDone, .commandComplete(tag: "COPY \(result.rows.count)")]
            actions = [.send(messages)] + copyEnded(then)
        case .copyInInsert(let rows):
            guard case .copyIn(var copy, let then) = state else { preconditionFailure("COPY rows inserted outside COPY FROM") }
            copy.rowsInserted += rows
            state = .copyIn(copy, then: then)
            actions = flushCopyIn()
        case .portal(let name, let step):
            guard var portal = portals[name] else { preconditionFailure("portal \(name) ran but is gone") }
            portal.result = result
            portal.columns = Self.columns(of: result, described: portal.columns)
            portals[name] = portal
            actions = continuePortal(name, step)
        case .describeStatement, .copyInPrepare, .userLookup, .sessionStart:
            preconditionFailure("\(current) is answered by its own event")
        }
        return actions + processFrames()
    }

    /// The outstanding statement failed.
    public mutating func statementFailed(_ error: SQLError, transactionStatus: BackendMessage.TransactionStatus) -> [Action] {
        guard !isClosed else { return [] }
        self.transactionStatus = transactionStatus
        guard let current = work else { preconditionFailure("statementFailed with no statement running") }
        work = nil
        var shown = error
        switch current {
        case .userLookup, .sessionStart:
            // The catalog could not be read, or the session refused a startup setting: the
            // login is refused.
            return fatal(error)
        case .simpleStatement(let piece):
            if let position = error.position {
                shown = SQLError(error.state, error.message, position: position + piece.characterOffset, hint: error.hint)
            }
            state = .ready
            return [.send([.errorResponse(shown), .readyForQuery(transactionStatus)])] + processFrames()
        case .copyOut(_, let then), .copyInPrepare(_, let then):
            return copyFailed(error, then: then) + processFrames()
        case .copyInInsert:
            guard case .copyIn(_, let then) = state else { preconditionFailure("COPY rows inserted outside COPY FROM") }
            return copyFailed(error, then: then) + processFrames()
        case .describeStatement, .portal:
            return extendedError(error) + processFrames()
        }
    }

    /// The answer to `Action.describe`: the parameter types (the given ones unchanged, the others
    /// resolved, text when nothing tells) and the result columns, nil when the statement returns none.
    public mutating func statementDescribed(parameterTypes: [WireType], columns: [ResultColumn]?) -> [Action] {
        guard !isClosed else { return [] }
        guard case .describeStatement(let name) = work, var statement = statements[name] else {
            preconditionFailure("statementDescribed without a Describe running")
        }
        work = nil
        precondition(parameterTypes.count == statement.parameterTypes.count, "one type per parameter")
        statement.parameterTypes = parameterTypes
        statement.columns = columns ?? []
        statements[name] = statement
        let message: BackendMessage = if let columns, !columns.isEmpty {
            .rowDescription(columns.map { .init(name: $0.name, type: $0.type) })
        } else {
            .noData
        }
        return [.send([.parameterDescription(parameterTypes.map(\.oid)), message])] + processFrames()
    }

    /// The answer to `Action.lookUpUser`: the user's verifier from the catalog, nil when there is
    /// no such user.
    public mutating func userLookedUp(_ verifier: ScramVerifier?) -> [Action] {
        guard !isClosed else { return [] }
        guard case .userLookup = work, case .authenticating(let user, let database, .lookingUp) = state else {
            preconditionFailure("userLookedUp without a user being looked up")
        }
        work = nil
        return requestPassword(user: user, database: database, verifier: verifier) + processFrames()
    }

    /// The answer to `Action.startSession`: the session is open; the client learns it is in.
    /// `reported` holds the session's values of the parameters ParameterStatus reports, by
    /// lower-cased name (`clientReportedParameters`), as the session settled them from the startup
    /// settings (canonical spellings, the last of repeated names); the others keep the server's.
    public mutating func sessionStarted(reported: [String: String] = [:]) -> [Action] {
        guard !isClosed else { return [] }
        guard case .sessionStart(let final) = work else { preconditionFailure("sessionStarted without a session starting") }
        work = nil
        var messages: [BackendMessage] = []
        if let final { messages.append(.authentication(.saslFinal(final))) }
        messages.append(.authentication(.ok))
        let user = startupParameters["user"] ?? ""
        for (name, value) in configuration.serverParameters {
            let value = name == "session_authorization" ? user : reported[name.lowercased()] ?? value
            messages.append(.parameterStatus(name: name, value: value))
        }
        messages.append(.parameterStatus(name: "application_name", value: reported["application_name"] ?? ""))
        messages.append(.backendKeyData(processID: configuration.processID, secretKey: configuration.secretKey))
        messages.append(.readyForQuery(transactionStatus))
        return [.send(messages)] + processFrames()
    }

    /// The answer to `Action.prepareCopyIn`: the types of the columns the COPY fills, in order.
    public mutating func copyInPrepared(columnTypes: [WireType]) -> [Action] {
        guard !isClosed else { return [] }
        guard case .copyInPrepare(let statement, let then) = work else {
            preconditionFailure("copyInPrepared without a COPY FROM being prepared")
        }
        work = nil
        let decoder = CopyFormat.Decoder(format: statement.format, rowBytesMax: configuration.copyRowBytesMax)
        state = .copyIn(CopyIn(statement: statement, decoder: decoder, columnTypes: columnTypes), then: then)
        let response = BackendMessage.CopyResponse(format: Int8(statement.format.fieldFormat), columnCount: columnTypes.count)
        return [.send([.copyInResponse(response)])] + processFrames()
    }

    // MARK: Messages

    private var authenticationExpectation: FrontendMessage.AuthenticationExpectation? {
        guard case .authenticating(_, _, let step) = state else { return nil }
        switch step {
        case .lookingUp: return nil
        case .password: return .password
        case .saslInitial: return .saslInitialResponse
        case .saslFinal: return .saslResponse
        }
    }

    private mutating func receive(_ message: FrontendMessage) -> [Action] {
        if case .terminate = message {
            state = .closed
            return [.close]
        }
        switch state {
        case .startup:
            return receiveStartup(message)
        case .authenticating(let user, let database, let step):
            return receiveAuthentication(message, user: user, database: database, step: step)
        case .ready:
            return receiveReady(message)
        case .copyIn:
            return receiveCopyIn(message)
        case .simpleQuery:
            preconditionFailure("a simple query always has work out with the shell")
        case .closed:
            return []
        }
    }

    private mutating func receiveStartup(_ message: FrontendMessage) -> [Action] {
        switch message {
        case .sslRequest:
            return configuration.tlsAvailable
                ? [.send([.encryptionResponse(accepted: true)]), .startTLS]
                : [.send([.encryptionResponse(accepted: false)])]
        case .gssEncryptionRequest:
            return [.send([.encryptionResponse(accepted: false)])]
        case .cancelRequest(let processID, let secretKey):
            state = .closed
            return [.cancel(processID: processID, secretKey: secretKey), .close]
        case .startup(let parameters):
            for (name, value) in parameters where startupParameters[name] == nil { startupParameters[name] = value }
            guard let user = startupParameters["user"], !user.isEmpty else {
                return fatal(SQLError(SQLState("28000"), "no PostgreSQL user name specified in startup packet"))
            }
            do {
                startupSettings = try StartupSettings.settings(from: parameters)
            } catch {
                return fatal(error)
            }
            let database = startupParameters["database"] ?? user
            reader.startupCompleted()
            switch configuration.authentication {
            case .trust:
                return authenticationSucceeded(user: user, database: database, final: nil)
            case .cleartextPassword, .scramSHA256:
                if let verifier = configuration.users[user] {
                    return requestPassword(user: user, database: database, verifier: verifier)
                }
                state = .authenticating(user: user, database: database, step: .lookingUp)
                work = .userLookup
                return [.lookUpUser(user)]
            }
        default:
            return fatal(SQLError(.protocolViolation, "expected a startup message, got \(Self.name(of: message))"))
        }
    }

    /// Asks the client for its password, or starts SCRAM, against `verifier` (nil: no such user;
    /// the exchange still runs and fails at the end, so it does not tell which users exist).
    private mutating func requestPassword(user: String, database: String, verifier: ScramVerifier?) -> [Action] {
        switch configuration.authentication {
        case .trust:
            preconditionFailure("trust asks for no password")
        case .cleartextPassword:
            state = .authenticating(user: user, database: database, step: .password(verifier))
            return [.send([.authentication(.cleartextPassword)])]
        case .scramSHA256:
            state = .authenticating(user: user, database: database, step: .saslInitial(verifier))
            return [.send([.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"]))])]
        }
    }

    private mutating func receiveAuthentication(_ message: FrontendMessage, user: String, database: String,
                                                step: AuthenticationStep) -> [Action] {
        let wrongPassword = SQLError(SQLState("28P01"), "password authentication failed for user \"\(user)\"")
        switch (step, message) {
        case (.password(let verifier), .password(let password)):
            guard let verifier, verifier.matches(password: password) else { return fatal(wrongPassword) }
            return authenticationSucceeded(user: user, database: database, final: nil)
        case (.saslInitial(let verifier), .saslInitialResponse(let mechanism, let data)):
            guard mechanism == "SCRAM-SHA-256" else {
                return fatal(SQLError(.protocolViolation, "SASL mechanism \(mechanism) is not supported: use SCRAM-SHA-256"))
            }
            // An unknown user goes through the exchange with a verifier nobody knows the password
            // of and fails at the proof, so the answer does not tell which user names exist.
            var scram = SCRAM(verifier: verifier ?? ScramVerifier(password: configuration.scramServerNonce + "\u{0}",
                                                                  salt: Array(user.utf8), iterations: 1),
                              serverNonce: configuration.scramServerNonce)
            do {
                let serverFirst = try scram.receiveClientFirst(data ?? [])
                state = .authenticating(user: user, database: database, step: .saslFinal(verifier == nil ? nil : scram))
                return [.send([.authentication(.saslContinue(serverFirst))])]
            } catch {
                return fatal(error)
            }
        case (.saslFinal(let scram), .saslResponse(let data)):
            guard let scram else { return fatal(wrongPassword) }
            do {
                let serverFinal = try scram.receiveClientFinal(data, user: user)
                return authenticationSucceeded(user: user, database: database, final: serverFinal)
            } catch {
                return fatal(error)
            }
        default:
            return fatal(SQLError(.protocolViolation, "expected an authentication response, got \(Self.name(of: message))"))
        }
    }

    private mutating func authenticationSucceeded(user: String, database: String, final: [UInt8]?) -> [Action] {
        state = .ready
        work = .sessionStart(saslFinal: final)
        return [.startSession(user: user, database: database, settings: startupSettings)]
    }

    /// The parameters PostgreSQL reports in ParameterStatus that a client may set, by lower-cased
    /// name: at startup, and again whenever SET changes one.
    static let clientReportedParameters: [String: String] = [
        "application_name": "application_name", "client_encoding": "client_encoding", "datestyle": "DateStyle",
        "intervalstyle": "IntervalStyle", "timezone": "TimeZone",
    ]

    /// ParameterStatus for each reported parameter a SET, RESET ALL or DISCARD ALL changed, sent
    /// before its CommandComplete.
    static func parameterStatus(after result: SQLResult) -> [BackendMessage] {
        result.changedSettings.compactMap { changed in
            clientReportedParameters[changed.name.lowercased()].map { BackendMessage.parameterStatus(name: $0, value: changed.value) }
        }
    }

    private mutating func receiveReady(_ message: FrontendMessage) -> [Action] {
        if skippingUntilSync {
            guard case .sync = message else { return [] }
            skippingUntilSync = false
            return [.send([.readyForQuery(transactionStatus)])]
        }
        switch message {
        case .query(let sql):
            let pieces = StatementSplitter.split(sql)
            guard !pieces.isEmpty else { return [.send([.emptyQueryResponse, .readyForQuery(transactionStatus)])] }
            portals[""] = nil
            return runPiece(pieces, 0)
        case .parse(let name, let query, let types):
            return parse(name: name, query: query, types: types)
        case .bind(let bind):
            return self.bind(bind)
        case .describe(.statement, let name):
            guard let statement = statements[name] else { return extendedError(Self.noStatement(name)) }
            let parameters: BackendMessage = .parameterDescription(statement.parameterTypes.map(\.oid))
            if let columns = statement.columns {
                return [.send([parameters, columns.isEmpty ? .noData : .rowDescription(columns.map { .init(name: $0.name, type: $0.type) })])]
            }
            guard !statement.query.isEmpty, !CopyStatement.isCopy(statement.query) else { return [.send([parameters, .noData])] }
            work = .describeStatement(name: name)
            return [.describe(sql: statement.query, parameterTypes: statement.parameterTypes.map { $0 == .unknown ? 0 : $0.oid })]
        case .describe(.portal, let name):
            guard portals[name] != nil else { return extendedError(Self.noPortal(name)) }
            return continuePortal(name, .describe)
        case .execute(let name, let rowLimit):
            guard portals[name] != nil else { return extendedError(Self.noPortal(name)) }
            return continuePortal(name, .execute(rowLimit: rowLimit))
        case .sync:
            return [.send([.readyForQuery(transactionStatus)])]
        case .flush:
            return []
        case .close(let target, let name):
            if target == .statement {
                statements[name] = nil
                for portal in portals.keys.sorted() where portals[portal]?.statementName == name { portals[portal] = nil }
            } else {
                portals[name] = nil
            }
            return [.send([.closeComplete])]
        case .copyData, .copyDone, .copyFail:
            // Left over from a COPY FROM that failed: PostgreSQL drops them too.
            return []
        case .startup, .sslRequest, .gssEncryptionRequest, .cancelRequest:
            return fatal(SQLError(.protocolViolation, "\(Self.name(of: message)) is only valid as the first message of a connection"))
        case .password, .saslInitialResponse, .saslResponse, .terminate:
            return fatal(SQLError(.protocolViolation, "unexpected \(Self.name(of: message)) message"))
        }
    }

    // MARK: Simple query

    /// Starts statement `next` of a simple query, or ends the query with ReadyForQuery.
    private mutating func runPiece(_ pieces: [StatementSplitter.Piece], _ next: Int) -> [Action] {
        guard next < pieces.count else {
            state = .ready
            return [.send([.readyForQuery(transactionStatus)])]
        }
        let piece = pieces[next]
        state = .simpleQuery(pieces: pieces, next: next + 1)
        if let deallocation = Self.deallocation(piece.text) {
            work = .simpleStatement(piece)
            return deallocate(deallocation)
        }
        guard CopyStatement.isCopy(piece.text) else {
            work = .simpleStatement(piece)
            return [.execute(sql: piece.text, parameters: [])]
        }
        let statement: CopyStatement
        do {
            statement = try CopyStatement(parsing: piece.text)
        } catch {
            work = .simpleStatement(piece)
            return statementFailed(error, transactionStatus: transactionStatus)
        }
        return startCopy(statement, then: .simpleQuery(pieces: pieces, next: next + 1, piece: piece))
    }

    /// What a `DEALLOCATE [PREPARE] name | ALL` statement drops (nil: not one).
    static func deallocation(_ text: String) -> SessionCommand.Kind? {
        guard CopyStatement.Tokenizer.firstWord(of: text) == "deallocate",
            let statements = try? Parser.parseStatements(text), statements.count == 1,
            case .session(let command) = statements[0], case .deallocate = command.kind
        else { return nil }
        return command.kind
    }

    /// DEALLOCATE by simple query, answered here: PostgreSQL's SQL-level and protocol-level
    /// prepared statements share one namespace, and the protocol-level ones are this machine's
    /// (psycopg 3 drops its `_pg3_n` statements and, after a rollback, all of them this way).
    private mutating func deallocate(_ deallocation: SessionCommand.Kind) -> [Action] {
        switch applyDeallocation(deallocation) {
        case .success(let result): statementCompleted(result, transactionStatus: transactionStatus)
        case .failure(let error): statementFailed(error, transactionStatus: transactionStatus)
        }
    }

    /// Drops what a DEALLOCATE names, in either protocol (psycopg 3's pipeline mode sends it
    /// through Parse/Bind/Execute).
    private mutating func applyDeallocation(_ deallocation: SessionCommand.Kind) -> Result<SQLResult, SQLError> {
        guard transactionStatus != .failedTransaction else {
            return .failure(SQLError(SQLState("25P02"), "current transaction is aborted, commands ignored until end of transaction block"))
        }
        guard case .deallocate(let name) = deallocation else { preconditionFailure("not a DEALLOCATE") }
        if let name {
            guard statements.removeValue(forKey: name.name) != nil else {
                return .failure(SQLError(SQLState("26000"), "prepared statement \"\(name.name)\" does not exist"))
            }
        } else {
            statements.removeAll()
        }
        return .success(SQLResult(tag: name == nil ? "DEALLOCATE ALL" : "DEALLOCATE"))
    }

    /// Starts a COPY: the shell looks up the columns of a COPY FROM, or runs the query of a COPY TO.
    private mutating func startCopy(_ statement: CopyStatement, then: CopyContinuation) -> [Action] {
        switch (statement.direction, statement.source) {
        case (.fromStdin, _):
            work = .copyInPrepare(statement, then: then)
            return [.prepareCopyIn(statement)]
        case (.toStdout, .query(let query)):
            work = .copyOut(statement, then: then)
            return [.execute(sql: query, parameters: [])]
        case (.toStdout, .table(let name, let columns)):
            work = .copyOut(statement, then: then)
            return [.execute(sql: "SELECT \(columns.isEmpty ? "*" : columns.joined(separator: ", ")) FROM \(name)", parameters: [])]
        }
    }

    /// A COPY has ended (CommandComplete sent): on with the simple query, or wait for Sync.
    private mutating func copyEnded(_ then: CopyContinuation) -> [Action] {
        switch then {
        case .simpleQuery(let pieces, let next, _):
            return runPiece(pieces, next)
        case .extended:
            state = .ready
            return []
        }
    }

    /// A COPY failed: the error (its position within the query of a simple query's piece), then
    /// ReadyForQuery, or — after Execute — nothing until Sync. CopyData, CopyDone and CopyFail
    /// that are still on their way are dropped in `ready` (protocol "COPY Operations").
    private mutating func copyFailed(_ error: SQLError, then: CopyContinuation) -> [Action] {
        state = .ready
        switch then {
        case .simpleQuery(_, _, let piece):
            let shown = error.position.map { SQLError(error.state, error.message, position: $0 + piece.characterOffset, hint: error.hint) } ?? error
            return [.send([.errorResponse(shown), .readyForQuery(transactionStatus)])]
        case .extended:
            return extendedError(error)
        }
    }

    // MARK: COPY FROM STDIN

    private mutating func receiveCopyIn(_ message: FrontendMessage) -> [Action] {
        guard case .copyIn(var copy, let then) = state else { preconditionFailure("not in COPY FROM") }
        switch message {
        case .copyData(let data):
            // `state` lets go of the COPY while it grows: sharing its buffers, every frame copied
            // the rows buffered so far (a third of this function's time under `pgbench -i`).
            state = .closed
            do {
                let rows = try copy.decoder.append(data)
                for row in rows { copy.buffered.append(try convert(row, copy: copy)) }
            } catch {
                return copyFailed(error, then: then)
            }
            state = .copyIn(copy, then: then)
            return copy.buffered.count >= copyBatchRows(copy) ? flushCopyIn() : []
        case .copyDone:
            state = .closed
            do {
                for row in try copy.decoder.finish() { copy.buffered.append(try convert(row, copy: copy)) }
            } catch {
                return copyFailed(error, then: then)
            }
            copy.done = true
            state = .copyIn(copy, then: then)
            return flushCopyIn()
        case .copyFail(let reason):
            return copyFailed(SQLError(.queryCanceled, "COPY from stdin failed: \(reason)"), then: then)
        case .flush, .sync:
            // Allowed during COPY by the protocol, and meaningless there.
            return []
        default:
            return copyFailed(SQLError(.protocolViolation, "unexpected \(Self.name(of: message)) message during COPY from stdin"), then: then)
        }
    }

    /// The fields of one COPY row as values of the column types.
    private func convert(_ fields: CopyFormat.Row, copy: CopyIn) throws(SQLError) -> [SQLiteValue] {
        let line = copy.decoder.lineNumber
        guard fields.count <= copy.columnTypes.count else {
            throw SQLError(SQLState("22P04"), "extra data after last expected column (COPY line \(line))")
        }
        guard fields.count == copy.columnTypes.count else {
            throw SQLError(SQLState("22P04"), "missing data for column \(fields.count + 1) (COPY line \(line))")
        }
        var values: [SQLiteValue] = []
        for (index, field) in fields.enumerated() {
            guard let field else {
                values.append(.null)
                continue
            }
            values.append(try WireValueCodec.decode(field, as: copy.columnTypes[index], format: copy.statement.format.fieldFormat,
                                                    parameter: index + 1))
        }
        return values
    }

    /// Sends a full batch to the shell, or ends the COPY when the client is done and all is inserted.
    private mutating func flushCopyIn() -> [Action] {
        guard case .copyIn(var copy, let then) = state else { preconditionFailure("not in COPY FROM") }
        let batchRows = copyBatchRows(copy)
        if !copy.buffered.isEmpty, copy.buffered.count >= batchRows || copy.done {
            let batch = Array(copy.buffered.prefix(batchRows))
            state = .closed  // as in receiveCopyIn: no second reference while the buffer shrinks
            copy.buffered.removeFirst(batch.count)
            state = .copyIn(copy, then: then)
            work = .copyInInsert(rows: batch.count)
            return [.insertCopyRows(copy.statement, rows: batch)]
        }
        guard copy.done else { return [] }
        return [.send([.commandComplete(tag: "COPY \(copy.rowsInserted)")])] + copyEnded(then)
    }

    /// Rows per COPY insert: `copyBatchRows`, fewer for wide tables so the values fit one statement.
    private func copyBatchRows(_ copy: CopyIn) -> Int {
        max(1, min(configuration.copyBatchRows, configuration.copyBatchValuesMax / max(copy.columnTypes.count, 1)))
    }

    // MARK: Extended query

    private mutating func parse(name: String, query: String, types: [Int32]) -> [Action] {
        if !name.isEmpty, statements[name] != nil {
            return extendedError(SQLError(SQLState("42P05"), "prepared statement \"\(name)\" already exists"))
        }
        guard statements.count < configuration.preparedStatementsMax || statements[name] != nil else {
            return extendedError(SQLError(.configurationLimitExceeded,
                                          "session holds prepared_statements_max = \(configuration.preparedStatementsMax) prepared statements: close some"))
        }
        let pieces = StatementSplitter.split(query)
        guard pieces.count <= 1 else {
            return extendedError(SQLError(.syntaxError, "cannot insert multiple commands into a prepared statement"))
        }
        let count = max(types.count, Self.highestParameter(in: query))
        guard count <= Int(Int16.max) else {
            return extendedError(SQLError(.programLimitExceeded, "more than \(Int16.max) parameters"))
        }
        let parameterTypes = (0..<count).map { index in
            index < types.count && types[index] != 0 ? WireType(oid: types[index]) : WireType.unknown
        }
        statements[name] = PreparedStatement(query: pieces.first?.text ?? "", parameterTypes: parameterTypes, columns: nil)
        return [.send([.parseComplete])]
    }

    private mutating func bind(_ bind: FrontendMessage.Bind) -> [Action] {
        guard let statement = statements[bind.statement] else { return extendedError(Self.noStatement(bind.statement)) }
        if !bind.portal.isEmpty, portals[bind.portal] != nil {
            return extendedError(SQLError(SQLState("42P03"), "portal \"\(bind.portal)\" already exists"))
        }
        guard portals.count < configuration.preparedStatementsMax || portals[bind.portal] != nil else {
            return extendedError(SQLError(.configurationLimitExceeded,
                                          "session holds prepared_statements_max = \(configuration.preparedStatementsMax) portals: close some"))
        }
        guard bind.parameters.count == statement.parameterTypes.count else {
            return extendedError(SQLError(.protocolViolation,
                                          "bind message supplies \(bind.parameters.count) parameters, but prepared statement \"\(bind.statement)\" requires \(statement.parameterTypes.count)"))
        }
        var values: [SQLiteValue] = []
        for (index, bytes) in bind.parameters.enumerated() {
            guard let bytes else {
                values.append(.null)
                continue
            }
            let format = bind.parameterFormats.isEmpty ? 0 : bind.parameterFormats[bind.parameterFormats.count == 1 ? 0 : index]
            do {
                values.append(try WireValueCodec.decode(bytes, as: statement.parameterTypes[index], format: format, parameter: index + 1))
            } catch {
                return extendedError(error)
            }
        }
        portals[bind.portal] = Portal(statementName: bind.statement, statement: statement, parameters: values,
                                      resultFormats: bind.resultFormats, result: nil, columns: statement.columns)
        return [.send([.bindComplete])]
    }

    /// Describes or executes a portal, running its statement first if it has not run yet (a
    /// portal's rows are computed once; Execute with a row limit then hands them out in pieces).
    private mutating func continuePortal(_ name: String, _ step: PortalStep) -> [Action] {
        guard var portal = portals[name] else { preconditionFailure("portal \(name) checked before") }
        if portal.statement.query.isEmpty {
            if case .describe = step { return [.send([.noData])] }
            return [.send([.emptyQueryResponse])]
        }
        if CopyStatement.isCopy(portal.statement.query) {
            // A COPY returns no rows: it describes as NoData, and Execute runs the copy itself.
            guard case .execute = step else { return [.send([.noData])] }
            do {
                return startCopy(try CopyStatement(parsing: portal.statement.query), then: .extended)
            } catch {
                return extendedError(error)
            }
        }
        if portal.result == nil, let deallocation = Self.deallocation(portal.statement.query) {
            switch applyDeallocation(deallocation) {
            case .success(let result):
                portal.result = result
                portal.columns = []
                portals[name] = portal
            case .failure(let error):
                return extendedError(error)
            }
        }
        guard let result = portal.result else {
            work = .portal(name: name, then: step)
            return [.execute(sql: portal.statement.query, parameters: portal.parameters)]
        }
        let columns = portal.columns ?? []
        let formats = Self.formats(portal.resultFormats, count: columns.count)
        // PostgreSQL refuses binary for a type without a send function when the portal is bound;
        // MeshWire learns the types when the portal runs, and refuses it there.
        if let refusal = Self.binaryRefusal(columns: columns, formats: formats) { return extendedError(refusal) }
        switch step {
        case .describe:
            guard !result.columns.isEmpty else { return [.send([.noData])] }
            return [.send([.rowDescription(zip(columns, formats).map { .init(name: $0.name, type: $0.type, format: $1) })])]
        case .execute(let rowLimit):
            let end = rowLimit > 0 ? min(result.rows.count, portal.rowsSent + Int(rowLimit)) : result.rows.count
            var messages: [BackendMessage]
            do {
                messages = try Self.dataRows(result.rows[portal.rowsSent..<end], columns: columns, formats: formats)
            } catch {
                return extendedError(error)
            }
            portal.rowsSent = end
            portals[name] = portal
            if end < result.rows.count {
                messages.append(.portalSuspended)
            } else {
                messages += Self.parameterStatus(after: result)
                messages.append(.commandComplete(tag: result.tag))
            }
            return [.send(messages)]
        }
    }

    /// An error in the extended protocol: report it, then discard messages until Sync.
    private mutating func extendedError(_ error: SQLError) -> [Action] {
        skippingUntilSync = true
        return [.send([.errorResponse(error)])]
    }

    // MARK: Helpers

    /// An error that ends the connection (malformed message, failed authentication).
    private mutating func fatal(_ error: SQLError) -> [Action] {
        state = .closed
        work = nil
        return [.send([.errorResponse(SQLError(error.state, error.message, position: nil, hint: error.hint), fatal: true)]), .close]
    }

    private static func noStatement(_ name: String) -> SQLError {
        SQLError(SQLState("26000"), "prepared statement \"\(name)\" does not exist")
    }

    private static func noPortal(_ name: String) -> SQLError {
        SQLError(SQLState("34000"), "portal \"\(name)\" does not exist")
    }

    /// The columns of a result: the described ones when the client was told them, else the SQL
    /// layer's types, else inferred from the values.
    static func columns(of result: SQLResult, described: [ResultColumn]?) -> [ResultColumn] {
        if let described, described.count == result.columns.count { return described }
        return result.columns.enumerated().map { index, name in
            ResultColumn(name: name, type: declaredType(of: result, column: index) ?? WireValueCodec.inferType(column: index, rows: result.rows))
        }
    }

    /// The SQL layer's type of a result column, when it knows one. SQLite stores 64-bit integers
    /// in a column declared `integer` (int4): such a column is sent as int8 when a value would not
    /// fit, never truncated.
    static func declaredType(of result: SQLResult, column: Int) -> WireType? {
        guard column < result.columnTypes.count, let type = result.columnTypes[column] else { return nil }
        let wire = WireType(oid: Int32(bitPattern: type.oid))
        let limit: ClosedRange<Int64>? = switch wire.oid {
        case WireType.int2.oid: Int64(Int16.min)...Int64(Int16.max)
        case WireType.int4.oid: Int64(Int32.min)...Int64(Int32.max)
        default: nil
        }
        if let limit, result.rows.contains(where: { row in
            if column < row.count, case .integer(let value) = row[column] { return !limit.contains(value) }
            return false
        }) {
            return .int8
        }
        return wire
    }

    /// Bind's result format codes spread over `count` columns (none: text; one: for all).
    static func formats(_ codes: [Int16], count: Int) -> [Int16] {
        switch codes.count {
        case 0: Array(repeating: 0, count: count)
        case 1: Array(repeating: codes[0], count: count)
        default: (0..<count).map { $0 < codes.count ? codes[$0] : 0 }
        }
    }

    /// The error for the first column asked for in binary (`formats` as Bind gives them) whose
    /// type has no binary form, nil when there is none. Sending its text instead would be read
    /// as binary by the drivers that decode by the statement's RowDescription (asyncpg).
    static func binaryRefusal(columns: [ResultColumn], formats: [Int16]) -> SQLError? {
        let formats = Self.formats(formats, count: columns.count)
        guard let column = zip(columns, formats).first(where: { $1 == 1 && !WireValueCodec.hasBinaryForm($0.type) })?.0 else { return nil }
        return WireValueCodec.noBinaryForm(column.type, column: column.name)
    }

    /// DataRows in the formats Bind asked for; fails when a value has no binary form as its
    /// column's type (`WireValueCodec.binary`).
    static func dataRows(_ rows: ArraySlice<[SQLiteValue]>, columns: [ResultColumn], formats: [Int16]) throws(SQLError) -> [BackendMessage] {
        var messages: [BackendMessage] = []
        messages.reserveCapacity(rows.count)
        for row in rows {
            var fields: [[UInt8]?] = []
            fields.reserveCapacity(row.count)
            for (index, value) in row.enumerated() {
                let type = index < columns.count ? columns[index].type : .text
                fields.append(try WireValueCodec.encode(value, as: type, format: index < formats.count ? formats[index] : 0))
            }
            messages.append(.dataRow(fields))
        }
        return messages
    }

    /// DataRows in text, which every value has (a simple Query's results).
    static func textDataRows(_ rows: ArraySlice<[SQLiteValue]>, columns: [ResultColumn]) -> [BackendMessage] {
        rows.map { row in
            .dataRow(row.enumerated().map { index, value in
                WireValueCodec.textBytes(value, as: index < columns.count ? columns[index].type : .text)
            })
        }
    }

    /// The highest `$n` in `sql` outside quotes and comments: the statement's parameter count.
    static func highestParameter(in sql: String) -> Int {
        let bytes = Array(sql.utf8)
        var highest = 0
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                let quote = bytes[index]
                index += 1
                while index < bytes.count, bytes[index] != quote { index += 1 }
                index += 1
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "$"):
                index += 1
                var number = 0
                var digits = 0
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]), digits < 6 {
                    number = number * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                    digits += 1
                    index += 1
                }
                highest = max(highest, number)
            default:
                index += 1
            }
        }
        return highest
    }

    static func name(of message: FrontendMessage) -> String {
        switch message {
        case .startup: "StartupMessage"
        case .sslRequest: "SSLRequest"
        case .gssEncryptionRequest: "GSSENCRequest"
        case .cancelRequest: "CancelRequest"
        case .query: "Query"
        case .parse: "Parse"
        case .bind: "Bind"
        case .describe: "Describe"
        case .execute: "Execute"
        case .sync: "Sync"
        case .flush: "Flush"
        case .close: "Close"
        case .terminate: "Terminate"
        case .password: "PasswordMessage"
        case .saslInitialResponse: "SASLInitialResponse"
        case .saslResponse: "SASLResponse"
        case .copyData: "CopyData"
        case .copyDone: "CopyDone"
        case .copyFail: "CopyFail"
        }
    }
}
