import CEditLine
import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where results go: stdout, or the file of `\o FILE`.
struct OutputSink {
    let file: UnsafeMutablePointer<FILE>

    static var standardOutput: OutputSink { OutputSink(file: meshdb_stdout()) }

    func write(_ text: String) {
        fputs(text, file)
        if file == meshdb_stdout() { fflush(file) }
    }

    var isStandardOutput: Bool { file == meshdb_stdout() }

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

/// The size of the terminal stdout is, if it is one.
struct TerminalSize {
    var columns: Int
    var rows: Int

    static func ofStandardOutput() -> TerminalSize? {
        guard isatty(STDOUT_FILENO) != 0 else { return nil }
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return nil }
        return TerminalSize(columns: Int(size.ws_col), rows: Int(size.ws_row))
    }
}

/// psql's pager: at the terminal, a result taller than the screen goes through `$MESHDB_PAGER`, else
/// `$PAGER`, else `less -FRSX` (-S scrolls a wide table sideways instead of folding it); an empty
/// variable turns paging off.
struct Pager {
    let command: String?

    static func fromEnvironment() -> Pager {
        let environment = ProcessInfo.processInfo.environment
        if let command = environment["MESHDB_PAGER"] ?? environment["PAGER"] {
            return Pager(command: command.isEmpty ? nil : command)
        }
        return Pager(command: FileManager.default.isExecutableFile(atPath: "/usr/bin/less") ? "less -FRSX" : nil)
    }

    /// Whether `text` fills more than a screen of `rows` rows (one is kept for the prompt).
    static func isNeeded(for text: String, rows: Int) -> Bool {
        text.utf8.lazy.filter { $0 == UInt8(ascii: "\n") }.count >= rows - 1
    }

    /// Shows `text` in the pager when it is needed; false when the caller should print it instead.
    func show(_ text: String, terminal: TerminalSize?) -> Bool {
        guard let command, let terminal, Self.isNeeded(for: text, rows: terminal.rows) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let input = Pipe()
        process.standardInput = input
        do {
            try process.run()
        } catch {
            return false
        }
        // The pager may quit before reading everything (q in less): a write to its closed pipe must
        // not kill the shell.
        signal(SIGPIPE, SIG_IGN)
        try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        return true
    }
}
