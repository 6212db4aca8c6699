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

    enum Step {
        case proceed
        case failed
        case quit
    }

    let connection: ShellConnection
    var scanner = InputScanner()
    var format: OutputFormat
    var timing = false
    var lastStatement: String?
    var completion = Completion()
    var output = OutputSink.standardOutput
    let editor: LineEditor?
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
            let prompt = Prompt.render(database: connection.url.database, continuation: scanner.continuation,
                                       transaction: connection.transactionStatus)
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

    func execute(_ item: InputScanner.Item) async -> Step {
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

    /// Sends one statement, prints its rows or tag, and `Time:` with `\timing`. `emptyMessage` is
    /// printed instead of an empty table (`\dt`, `\d NAME`), and fails the command when
    /// `emptyIsError`, as psql's `\d` of a missing relation does.
    @discardableResult
    func runStatement(_ sql: String, title: String? = nil, remember: Bool = true, emptyMessage: String? = nil,
                      emptyIsError: Bool = false) async -> Bool {
        if remember { lastStatement = sql }
        let started = ContinuousClock.now
        interrupts.statementStarted()
        defer { interrupts.statementEnded() }
        do {
            let outcome = try await connection.run(sql)
            if var table = outcome.table {
                if table.rows.isEmpty, let emptyMessage {
                    printError(emptyMessage)
                    if emptyIsError { return false }
                } else {
                    table.title = title
                    let terminal = output.isStandardOutput ? TerminalSize.ofStandardOutput() : nil
                    format.terminalWidth = terminal?.columns
                    let text = ResultFormatter.render(table, as: format)
                    if editor == nil || !Pager.fromEnvironment().show(text, terminal: terminal) {
                        output.write(text)
                    }
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

    // MARK: Helpers

    /// Reads the tables and columns completion offers (information_schema, so PostgreSQL answers too).
    func refreshCatalog() async {
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

    func reportFailure(_ error: any Error, statement: String?) {
        if let report = ShellConnection.report(for: error) {
            printError(report.rendered(statement: statement), newline: false)
        } else {
            printError(ShellConnection.describe(error))
        }
    }

    func printError(_ text: String, newline: Bool = true) {
        output.flush()
        fputs(text + (newline ? "\n" : ""), meshdb_stderr())
        fflush(meshdb_stderr())
    }

    func readFile(_ path: String) -> String? {
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
}
