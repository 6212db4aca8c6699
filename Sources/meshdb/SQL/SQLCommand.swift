import ArgumentParser
import CEditLine
import SQLShell
#if canImport(Glibc)
import Glibc
#endif

struct SQLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "The SQL shell: psql's commands and output, line editing, history, completion; or one-shot execution.",
        discussion: """
            Connects over the PostgreSQL protocol, so it works against MeshDB and PostgreSQL alike. With no \
            URL it connects to the local demo (postgres://meshdb@127.0.0.1:5433/meshdb). At a terminal it \
            is interactive (history in $MESHDB_HISTORY or ~/.meshdb_history, Ctrl-C cancels the running \
            statement or clears the line, Ctrl-D exits); with -c, -f or statements on stdin it runs them \
            and exits with status 3 at the first error (2 when it cannot connect). Type \\? for the \
            backslash commands; docs/repl.md has them all.
            """)

    @Argument(help: "postgres://user[:password]@host[:port][/database] (default: the local demo).")
    var url: String?

    @Option(name: [.customShort("c"), .customLong("command")], help: "Run SQL (statements and backslash commands) and exit; repeatable.")
    var command: [String] = []

    @Option(name: [.customShort("f"), .customLong("file")], help: "Run the statements in FILE and exit; repeatable.")
    var file: [String] = []

    @Flag(name: .long, help: "Print results as CSV (as psql --csv).")
    var csv = false

    @Flag(name: .long, help: "Print results as JSON: an array of objects per result.")
    var json = false

    func validate() throws {
        if csv && json { throw ValidationError("--csv and --json cannot be used together") }
    }

    func run() async throws {
        let target: ConnectionURL
        do {
            target = try url.map { try ConnectionURL(parsing: $0) } ?? .demo
        } catch {
            throw ValidationError("\(error)")
        }
        let status = await Self.runShell(url: target, style: csv ? .csv : json ? .json : .aligned, commands: command, files: file)
        if status != .success { throw ExitCode(status.rawValue) }
    }

    /// Connects and runs the shell: interactive at a terminal, else the commands, files or stdin.
    /// `meshdb demo` calls this on its own cluster.
    static func runShell(url: ConnectionURL, style: OutputFormat.Style, commands: [String] = [],
                         files: [String] = []) async -> ShellSession.ExitStatus {
        let connection: ShellConnection
        do {
            connection = try await ShellConnection.connect(url)
        } catch {
            let reason = ShellConnection.report(for: error).map { $0.rendered(statement: nil) } ?? ShellConnection.describe(error) + "\n"
            fputs("meshdb sql: connection to \(url) failed: \(reason)", meshdb_stderr())
            return .connectionFailed
        }
        let scripted = !commands.isEmpty || !files.isEmpty
        let interactive = !scripted && isatty(STDIN_FILENO) != 0
        let session = ShellSession(connection: connection, style: style, interactive: interactive,
                                   historyPath: interactive ? ShellSession.defaultHistoryPath() : nil)
        let status = interactive
            ? await session.runInteractive()
            : await session.runBatch(commands: commands, files: files, readStandardInput: !scripted)
        await connection.close()
        return status
    }
}
