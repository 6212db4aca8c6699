import Dispatch
import CEditLine
import Foundation
import MeshDB
import SQLShell
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `meshdb sql`: the shell around SQLShell's pure core. It reads lines (libedit at a terminal, else
/// a script), lets `InputScanner` cut them into statements and backslash commands, runs statements
/// through `ShellConnection`, and prints with `ResultFormatter` and `ErrorReport`. Used from one task.
final class ShellSession {
    /// psql's exit statuses: 2 when the connection fails, 3 when a script stops at an error.
    enum ExitStatus: Int32 {
        case success = 0
        case connectionFailed = 2
        case scriptFailed = 3
    }

    private enum Step {
        case proceed
        case failed
        case quit
    }

    let connection: ShellConnection
    private var scanner = InputScanner()
    private var format: OutputFormat
    private var timing = false
    private var lastStatement: String?
    private var completion = Completion()
    private var output = OutputSink.standardOutput
    private let editor: LineEditor?
    private let interrupts: InterruptRouter

    init(connection: ShellConnection, style: OutputFormat.Style, interactive: Bool, historyPath: String?) {
        self.connection = connection
        format = OutputFormat(style: style)
        editor = interactive ? LineEditor(historyPath: historyPath) : nil
        if interactive { format.expanded = .auto }
        interrupts = InterruptRouter(connection: connection, editor: editor)
    }

    /// The history file: $MESHDB_HISTORY, else ~/.meshdb_history ($HOME respected).
    static func defaultHistoryPath() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["MESHDB_HISTORY"], !path.isEmpty { return path }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".meshdb_history")
    }

    // MARK: Interactive

    /// The read-eval-print loop at a terminal, until `\q` or Ctrl-D.
    func runInteractive() async -> ExitStatus {
        guard let editor else { preconditionFailure("runInteractive needs a terminal") }
        print("meshdb sql \(MeshDBVersion.string), connected to \(connection.url). Type \\? for help, \\q to quit.")
        interrupts.install()
        await refreshCatalog()
        var historyLines: [String] = []
        while true {
            let prompt = "\(connection.url.database)\(scanner.continuation.rawValue)> "
            let pending = scanner.buffer
            let completion = self.completion
            let input = await withCheckedContinuation { (continuation: CheckedContinuation<LineEditor.Input, Never>) in
                Thread { continuation.resume(returning: editor.readLine(prompt: prompt, pendingText: pending, completion: completion)) }.start()
            }
            switch input {
            case .endOfInput:
                print("")
                return .success
            case .interrupted:
                scanner.reset()
                historyLines = []
                continue
            case .line(let line):
                historyLines.append(line)
                var items: [InputScanner.Item] = []
                for part in line.split(separator: "\n", omittingEmptySubsequences: false) {
                    items += scanner.feed(line: String(part))
                }
                if !items.isEmpty || scanner.isEmpty {
                    editor.remember(historyLines.joined(separator: "\n").trimmingCharacters(in: .whitespaces))
                    historyLines = []
                }
                for item in items {
                    if case .quit = await execute(item) { return .success }
                }
            }
        }
    }

    // MARK: Scripts

    /// Runs a script (`-c`, `-f`, `\i`, stdin) line by line; with `stopOnError`, stops at the first
    /// error and returns false.
    func runScript(nextLine: () -> String?, stopOnError: Bool) async -> (ok: Bool, quit: Bool) {
        var scanner = InputScanner()
        swap(&scanner, &self.scanner)
        defer { swap(&scanner, &self.scanner) }
        var ok = true
        while let line = nextLine() {
            for item in self.scanner.feed(line: line) {
                switch await execute(item) {
                case .proceed: break
                case .quit: return (ok, true)
                case .failed:
                    ok = false
                    if stopOnError { return (false, false) }
                }
            }
        }
        if let rest = self.scanner.finish() {
            if case .failed = await execute(.statement(rest)) { ok = false }
        }
        return (ok, false)
    }

    func runScript(text: String, stopOnError: Bool) async -> (ok: Bool, quit: Bool) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
        if text.hasSuffix("\n") { lines = lines.dropLast() }
        return await runScript(nextLine: { lines.popFirst() }, stopOnError: stopOnError)
    }

    /// Runs `-c` / `-f` / stdin and returns the exit status.
    func runBatch(commands: [String], files: [String], readStandardInput: Bool) async -> ExitStatus {
        interrupts.install()
        await refreshCatalog()
        for command in commands {
            let result = await runScript(text: command, stopOnError: true)
            if !result.ok { return .scriptFailed }
            if result.quit { return .success }
        }
        for file in files {
            guard let text = readFile(file) else { return .scriptFailed }
            let result = await runScript(text: text, stopOnError: true)
            if !result.ok { return .scriptFailed }
            if result.quit { return .success }
        }
        if readStandardInput {
            let result = await runScript(nextLine: { Swift.readLine(strippingNewline: true) }, stopOnError: true)
            if !result.ok { return .scriptFailed }
        }
        return .success
    }

    // MARK: One item

    private func execute(_ item: InputScanner.Item) async -> Step {
        switch item {
        case .statement(let sql):
            return await runStatement(sql) ? .proceed : .failed
        case .command(let text):
            do {
                return try await runCommand(MetaCommand.parse(text))
            } catch {
                printError("\(error)")
                return .failed
            }
        }
    }

    /// Sends one statement, prints its rows or tag, and `Time:` with `\timing`.
    @discardableResult
    private func runStatement(_ sql: String, title: String? = nil, remember: Bool = true, emptyMessage: String? = nil) async -> Bool {
        if remember { lastStatement = sql }
        let started = ContinuousClock.now
        interrupts.statementStarted()
        defer { interrupts.statementEnded() }
        do {
            let outcome = try await connection.run(sql)
            if var table = outcome.table {
                if table.rows.isEmpty, let emptyMessage {
                    printError(emptyMessage)
                } else {
                    table.title = title
                    format.terminalWidth = Self.terminalWidth()
                    output.write(ResultFormatter.render(table, as: format))
                }
            } else if let tag = outcome.commandTag {
                output.write(tag + "\n")
                let verb = tag.prefix { $0 != " " }
                if ["CREATE", "DROP", "ALTER"].contains(String(verb)) { await refreshCatalog() }
            }
        } catch {
            reportFailure(error, statement: sql)
            return false
        }
        if timing && remember {
            let elapsed = ContinuousClock.now - started
            let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            output.write("Time: \(String(format: "%.3f", milliseconds)) ms\n")
        }
        return true
    }

    private func runCommand(_ command: MetaCommand) async throws -> Step {
        switch command {
        case .help:
            let width = MetaCommand.catalog.map { $0.name.count + 1 + $0.arguments.count }.max() ?? 0
            for entry in MetaCommand.catalog {
                let head = entry.arguments.isEmpty ? entry.name : "\(entry.name) \(entry.arguments)"
                output.write("  " + head + String(repeating: " ", count: max(1, width - head.count + 2)) + entry.summary + "\n")
            }
        case .quit:
            return .quit
        case .listTables(let pattern):
            return await listRelations(kinds: "'r','p'", pattern: pattern)
        case .describe(nil):
            return await listRelations(kinds: "'r','p','v'", pattern: nil)
        case .describe(let name?):
            let literal = Self.literal(name)
            let sql = """
                SELECT column_name AS "Column", data_type AS "Type", \
                CASE WHEN is_nullable = 'NO' THEN 'not null' ELSE '' END AS "Nullable" \
                FROM information_schema.columns \
                WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_name = \(literal) \
                ORDER BY ordinal_position
                """
            return await runStatement(sql, title: "Table \"public.\(name)\"", remember: false,
                                      emptyMessage: "Did not find any relation named \"\(name)\".") ? .proceed : .failed
        case .listDatabases:
            let sql = """
                SELECT d.datname AS "Name", pg_catalog.pg_get_userbyid(d.datdba) AS "Owner", \
                pg_catalog.pg_encoding_to_char(d.encoding) AS "Encoding" FROM pg_catalog.pg_database d ORDER BY 1
                """
            return await runStatement(sql, title: "List of databases", remember: false) ? .proceed : .failed
        case .expanded(let toggle):
            format.expanded = toggle ?? (format.expanded == .on ? .off : .on)
            switch format.expanded {
            case .on: output.write("Expanded display is on.\n")
            case .off: output.write("Expanded display is off.\n")
            case .auto: output.write("Expanded display is used automatically.\n")
            }
        case .timing(let on):
            timing = on ?? !timing
            output.write("Timing is \(timing ? "on" : "off").\n")
        case .include(let path):
            guard let text = readFile(path) else { return .failed }
            let result = await runScript(text: text, stopOnError: editor == nil)
            if result.quit { return .quit }
            return result.ok ? .proceed : .failed
        case .output(let path):
            output.close()
            output = .standardOutput
            if let path {
                guard let file = fopen(path, "w") else {
                    printError("\(path): \(String(cString: strerror(errno)))")
                    return .failed
                }
                output = OutputSink(file: file)
            }
        case .copy(let copy):
            return await runCopy(copy) ? .proceed : .failed
        case .edit(let path):
            return await edit(path: path)
        case .connectionInfo:
            let url = connection.url
            output.write("You are connected to database \"\(url.database)\" as user \"\(url.user)\" on host \"\(url.host)\" at port \"\(url.port)\".\n")
        case .nodes:
            return await runStatement("SELECT * FROM mesh_nodes", title: "Nodes", remember: false) ? .proceed : .failed
        case .groups:
            return await runStatement("SELECT * FROM mesh_groups", title: "Groups", remember: false) ? .proceed : .failed
        case .explain:
            guard let last = lastStatement else {
                printError("\\explain: no statement has run yet")
                return .failed
            }
            let statement = last.hasSuffix(";") ? String(last.dropLast()) : last
            return await runStatement("EXPLAIN " + statement, remember: false) ? .proceed : .failed
        case .send:
            if let buffered = scanner.finish() {
                return await runStatement(buffered) ? .proceed : .failed
            }
            guard let last = lastStatement else {
                printError("\\g: the query buffer is empty and no statement has run yet")
                return .failed
            }
            return await runStatement(last) ? .proceed : .failed
        case .resetBuffer:
            scanner.reset()
            output.write("Query buffer reset (cleared).\n")
        case .printBuffer:
            let text = scanner.buffer.isEmpty ? lastStatement : scanner.buffer
            output.write((text ?? "Query buffer is empty.") + "\n")
        }
        return .proceed
    }

    // MARK: Commands with more to them

    /// `\dt [PATTERN]`, `\d`: psql's pg_catalog query (MeshDB answers it from its catalog replica).
    private func listRelations(kinds: String, pattern: String?) async -> Step {
        var filter = ""
        if let pattern { filter = "AND c.relname ~ \(Self.literal("^(" + Self.regex(fromWildcard: pattern) + ")$"))" }
        let sql = """
            SELECT n.nspname AS "Schema", c.relname AS "Name", \
            CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'p' THEN 'partitioned table' END AS "Type", \
            pg_catalog.pg_get_userbyid(c.relowner) AS "Owner" \
            FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
            WHERE c.relkind IN (\(kinds)) AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' \
            AND n.nspname !~ '^pg_toast' AND pg_catalog.pg_table_is_visible(c.oid) \(filter) ORDER BY 1, 2
            """
        let empty = pattern.map { "Did not find any relation named \"\($0)\"." } ?? "Did not find any relations."
        return await runStatement(sql, title: "List of relations", remember: false, emptyMessage: empty) ? .proceed : .failed
    }

    private func runCopy(_ copy: CopyCommand) async -> Bool {
        switch copy.direction {
        case .to:
            let outcome: ShellConnection.Outcome
            do {
                outcome = try await connection.run(copy.selectStatement)
            } catch {
                reportFailure(error, statement: copy.selectStatement)
                return false
            }
            guard let table = outcome.table else {
                printError("\\copy: the query returned no rows to copy")
                return false
            }
            let text = copy.encode(columns: table.columns.map(\.name), rows: table.rows)
            if let path = copy.path {
                guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
                    printError("\\copy: cannot write \(path)")
                    return false
                }
            } else {
                output.write(text)
            }
            output.write("COPY \(table.rows.count)\n")
            return true
        case .from:
            guard let path = copy.path else {
                printError("\\copy ... from stdin is not supported: name a file")
                return false
            }
            guard let text = readFile(path) else { return false }
            do {
                let rows = try copy.decode(text)
                for statement in try copy.insertStatements(rows: rows) {
                    do {
                        _ = try await connection.run(statement)
                    } catch {
                        reportFailure(error, statement: nil)
                        return false
                    }
                }
                output.write("COPY \(rows.count)\n")
                return true
            } catch {
                printError("\(error)")
                return false
            }
        }
    }

    /// `\e [FILE]`: the query buffer (or the last statement, or FILE) in $VISUAL / $EDITOR / vi; what
    /// comes back is scanned as if typed, so complete statements run.
    private func edit(path: String?) async -> Step {
        let environment = ProcessInfo.processInfo.environment
        let editorCommand = environment["VISUAL"] ?? environment["EDITOR"] ?? "vi"
        let file = path ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("meshdb-edit-\(getpid()).sql")
        if path == nil {
            let text = scanner.buffer.isEmpty ? (lastStatement ?? "") : scanner.buffer
            guard FileManager.default.createFile(atPath: file, contents: Data((text + "\n").utf8)) else {
                printError("\\e: cannot write \(file)")
                return .failed
            }
        }
        defer { if path == nil { try? FileManager.default.removeItem(atPath: file) } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\(editorCommand) \"$1\"", "sh", file]
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            printError("\\e: cannot run \(editorCommand): \(error)")
            return .failed
        }
        guard process.terminationStatus == 0, let text = readFile(file) else {
            printError("\\e: \(editorCommand) exited with status \(process.terminationStatus)")
            return .failed
        }
        for item in scanner.load(text.hasSuffix("\n") ? String(text.dropLast()) : text) {
            if case .quit = await execute(item) { return .quit }
        }
        return .proceed
    }

    // MARK: Helpers

    /// Reads the tables and columns completion offers (information_schema, so PostgreSQL answers too).
    private func refreshCatalog() async {
        let sql = """
            SELECT table_name, column_name FROM information_schema.columns \
            WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY table_name, ordinal_position
            """
        guard let table = try? await connection.run(sql).table else { return }
        var columns: [String: [String]] = [:]
        for row in table.rows {
            guard row.count == 2, let name = row[0], let column = row[1] else { continue }
            columns[name, default: []].append(column)
        }
        completion.catalog = Completion.Catalog(tables: Array(columns.keys), columns: columns)
    }

    private func reportFailure(_ error: any Error, statement: String?) {
        if let report = ShellConnection.report(for: error) {
            printError(report.rendered(statement: statement), newline: false)
        } else {
            printError(ShellConnection.describe(error))
        }
    }

    private func printError(_ text: String, newline: Bool = true) {
        output.flush()
        fputs(text + (newline ? "\n" : ""), meshdb_stderr())
        fflush(meshdb_stderr())
    }

    private func readFile(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else {
            printError("\(path): \(FileManager.default.fileExists(atPath: path) ? "cannot read" : "No such file or directory")")
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// psql's name patterns: `*` any run, `?` one character, the rest literal.
    static func regex(fromWildcard pattern: String) -> String {
        var regex = ""
        for character in pattern {
            switch character {
            case "*": regex += ".*"
            case "?": regex += "."
            case _ where "\\.^$|()[]{}+".contains(character): regex += "\\" + String(character)
            default: regex.append(character)
            }
        }
        return regex
    }

    /// The terminal's width when stdout is one.
    static func terminalWidth() -> Int? {
        guard isatty(STDOUT_FILENO) != 0 else { return nil }
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}

/// Where results go: stdout, or the file of `\o FILE`.
struct OutputSink {
    let file: UnsafeMutablePointer<FILE>

    static var standardOutput: OutputSink { OutputSink(file: meshdb_stdout()) }

    func write(_ text: String) {
        fputs(text, file)
        if file == meshdb_stdout() { fflush(file) }
    }

    func flush() { fflush(file) }

    func close() {
        if file != meshdb_stdout() { fclose(file) }
    }
}

/// Routes SIGINT: while a statement runs it sends a CancelRequest (the server answers the statement
/// with 57014); at the prompt it wakes the line editor, which abandons the line; in a script with
/// nothing running it exits with 130, as a shell would.
final class InterruptRouter: Sendable {
    private let connection: ShellConnection
    private let editor: LineEditor?
    private let running = Mutex(false)
    /// Set once by `install`, from the session's task; kept so the source lives as long as the router.
    private nonisolated(unsafe) var signalSource: (any DispatchSourceSignal)?

    init(connection: ShellConnection, editor: LineEditor?) {
        self.connection = connection
        self.editor = editor
    }

    func install() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue(label: "meshdb.sql.sigint"))
        source.setEventHandler { [self] in
            if running.withLock({ $0 }) {
                let connection = self.connection
                Task {
                    do {
                        try await connection.cancel()
                    } catch {
                        fputs("could not send the cancel request: \(error)\n", meshdb_stderr())
                    }
                }
            } else if let editor {
                editor.interrupt()
            } else {
                exit(130)
            }
        }
        source.resume()
        signalSource = source
    }

    func statementStarted() { running.withLock { $0 = true } }
    func statementEnded() { running.withLock { $0 = false } }
}
