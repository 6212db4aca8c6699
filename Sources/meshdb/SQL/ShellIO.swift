import CEditLine
import Dispatch
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
