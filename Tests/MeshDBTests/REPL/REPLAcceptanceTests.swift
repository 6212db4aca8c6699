import Foundation
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 7's acceptance: `meshdb sql` driven in a pseudo-terminal (python3's `pty` module types
/// into it as a person would), and one script run with `meshdb sql -f` against `meshdb demo` and
/// against a PostgreSQL 15 the test starts, which must print the same thing.
@Suite(.heavy, .serialized)
struct REPLAcceptanceTests {
    // MARK: The terminal session

    @Test func aSessionInAPseudoTerminal() async throws {
        let cluster = try await ProcessCluster(nodes: 4, initialize: false)
        try await cluster.run { cluster in
            let url = try await cluster.startDemo()
            let driver = cluster.dir.file("drive.py")
            try Self.ptyDriver.write(toFile: driver, atomically: true, encoding: .utf8)
            let history = cluster.dir.file("history")
            let meshdb = try builtProduct("meshdb").path

            // The pager is a sed that marks what it shows; the terminal is 40 rows high.
            let first = try await runTool("/usr/bin/env", ["python3", driver, "session", meshdb, url], history: history,
                                          environment: ["MESHDB_PAGER": "sed s/^/paged:/"], seconds: 240)
            cluster.expect(first.status == 0, "the terminal session failed (status \(first.status)):\n\(first.output)")
            let transcript = first.output
            // A multi-line statement: continuation prompts, then one INSERT of both rows.
            cluster.expect(transcript.contains("meshdb-> VALUES (1, 'one'),") && transcript.contains("INSERT 0 2"),
                           "the multi-line INSERT:\n\(transcript)")
            // Tab completed `repl_i` to the table name: the query ran and found both rows.
            cluster.expect(transcript.contains(" label \r\n-------\r\n one\r\n two\r\n(2 rows)"), "the completed SELECT:\n\(transcript)")
            cluster.expect(transcript.contains("Expanded display is on.") && transcript.contains("-[ RECORD 1 ]"), "\\x:\n\(transcript)")
            cluster.expect(transcript.contains("Timing is on.") && transcript.range(of: #"Time: \d+\.\d{3} ms"#, options: .regularExpression) != nil,
                           "\\timing:\n\(transcript)")
            cluster.expect(transcript.contains(" public | repl_items | table | meshdb"), "\\dt:\n\(transcript)")
            cluster.expect(transcript.contains("""
                ERROR:  42703: column "nope" does not exist\r
                LINE 1: SELECT nope FROM repl_items;\r
                               ^
                """), "the error with its caret:\n\(transcript)")
            cluster.expect(transcript.contains("ERROR:  57014: canceling statement due to user request"),
                           "Ctrl-C during the long query:\n\(transcript)")
            cluster.expect(transcript.contains(" still_here \r\n------------\r\n          1"), "the session after the cancel:\n\(transcript)")
            cluster.expect(transcript.contains(" after_interrupt \r\n-----------------\r\n fresh"), "Ctrl-C at the prompt did not clear the line:\n\(transcript)")

            cluster.expect(transcript.contains("BEGIN\r\nmeshdb=*> ") && transcript.contains("meshdb=!> ROLLBACK;"),
                           "the prompt in a transaction block:\n\(transcript)")
            cluster.expect(transcript.contains("paged:(60 rows)") && !transcript.contains("paged: label"),
                           "only the result taller than the terminal goes through the pager:\n\(transcript)")

            let saved = (try? String(contentsOfFile: history, encoding: .utf8)) ?? ""
            cluster.expect(saved.contains("repl_items\\040\\040ORDER\\040BY") || saved.contains("repl_items  ORDER BY"),
                           "the history file lacks the completed statement:\n\(saved)")

            // Run 2: the up arrow brings back run 1's last statement.
            let second = try await runTool("/usr/bin/env", ["python3", driver, "history", meshdb, url], history: history, seconds: 120)
            cluster.expect(second.status == 0, "the second session failed (status \(second.status)):\n\(second.output)")
            cluster.expect(second.output.contains("history-marker-7"), "the recalled statement did not run:\n\(second.output)")
        }
    }

    @Test func demoOpensTheShellOnItsOwnCluster() async throws {
        let cluster = try await ProcessCluster(nodes: 4, initialize: false)
        try await cluster.run { cluster in
            let driver = cluster.dir.file("drive.py")
            try Self.ptyDriver.write(toFile: driver, atomically: true, encoding: .utf8)
            let meshdb = try builtProduct("meshdb").path
            let run = try await runTool("/usr/bin/env", [
                "python3", driver, "demo", meshdb, cluster.dir.file("demo"), "\(cluster.basePort)", "\(cluster.pgBasePort)",
            ], history: cluster.dir.file("history"), seconds: 120)
            cluster.expect(run.status == 0, "the demo's shell (status \(run.status)):\n\(run.output)")
            cluster.expect(run.output.contains("You are connected to database \"meshdb\" as user \"meshdb\" on host \"127.0.0.1\" at port \"\(cluster.pgBasePort)\""),
                           "\\conninfo in the demo:\n\(run.output)")
            cluster.expect(run.output.contains("stopping the demo"), "the demo did not stop after \\q:\n\(run.output)")
        }
    }

    // MARK: The same script against MeshDB and PostgreSQL

    @Test(.enabled(if: LocalPostgres.isInstalled,
                   "PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin/initdb): apt-get install postgresql-15"))
    func theSameScriptGivesTheSameRowsOnMeshDBAndPostgreSQL() async throws {
        let cluster = try await ProcessCluster(nodes: 4, initialize: false)
        try await cluster.run { cluster in
            let meshURL = try await cluster.startDemo()
            let postgres = try await LocalPostgres.start(in: cluster.dir)
            defer { postgres.stop() }
            let meshdb = try builtProduct("meshdb").path
            var outputs: [String] = []
            for (name, url) in [("meshdb", meshURL), ("postgres", postgres.url)] {
                let script = cluster.dir.file("compare-\(name).sql")
                let copyFile = cluster.dir.file("copy-\(name).csv")
                try Self.comparisonScript.replacingOccurrences(of: "COPYFILE", with: copyFile)
                    .write(toFile: script, atomically: true, encoding: .utf8)
                let run = try await runTool(meshdb, ["sql", url, "-f", script], seconds: 120)
                cluster.expect(run.status == 0, "meshdb sql -f against \(name) (status \(run.status)):\n\(run.output)")
                outputs.append(run.output)
            }
            cluster.expect(outputs[0] == outputs[1], """
                MeshDB and PostgreSQL printed different results.
                ----- MeshDB
                \(outputs[0])
                ----- PostgreSQL
                \(outputs[1])
                """)
            cluster.expect(outputs[0].contains("(4 rows)") && outputs[0].contains("COPY 3"), "the script did not run through:\n\(outputs[0])")

            // -c exits non-zero at an error, and names it.
            let failing = try await runTool(meshdb, ["sql", postgres.url, "-c", "SELECT nope"], seconds: 60)
            cluster.expect(failing.status == 3 && failing.output.contains("ERROR:  42703"), "-c with an error: \(failing.status)\n\(failing.output)")
            let plain = try await runTool(meshdb, ["sql", postgres.url + "?sslmode=require", "-c", "SELECT 1"], seconds: 60)
            cluster.expect(plain.status == 2 && plain.output.contains("answered the SSLRequest with N"),
                           "sslmode=require against a server without TLS: \(plain.status)\n\(plain.output)")
        }
    }

    // MARK: Backslash commands in scripts

    @Test func backslashCommandsAndStandardInputInScripts() async throws {
        let cluster = try await ProcessCluster(nodes: 4, initialize: false)
        try await cluster.run { cluster in
            let url = try await cluster.startDemo()
            let meshdb = try builtProduct("meshdb").path
            let include = cluster.dir.file("include.sql")
            try "SELECT 7 AS included;\n".write(toFile: include, atomically: true, encoding: .utf8)
            let redirected = cluster.dir.file("out.txt")
            // \e runs $EDITOR on the last statement; this "editor" renames its column.
            let run = try await runTool(meshdb, [
                "sql", url,
                "-c", "CREATE TABLE repl_cmds (id int PRIMARY KEY, label text)",
                "-c", "\\i \(include)",
                "-c", "\\o \(redirected)", "-c", "SELECT 1 AS to_file;", "-c", "\\o",
                "-c", "SELECT 8 AS before_edit;", "-c", "\\e",
                "-c", "INSERT INTO repl_cmds VALUES (1, 'x'); SELECT label FROM repl_cmds WHERE id = 1;", "-c", "\\explain",
                "-c", "\\p", "-c", "SELECT 9 AS again \\g",
                "-c", "\\nodes", "-c", "\\groups", "-c", "\\d repl_cmds", "-c", "\\l", "-c", "\\conninfo", "-c", "\\?",
            ], environment: ["EDITOR": "sed -i s/before_edit/after_edit/"], seconds: 120)
            let output = run.output
            cluster.expect(run.status == 0, "the script failed (status \(run.status)):\n\(output)")
            cluster.expect(output.contains(" included \n----------\n        7\n(1 row)"), "\\i:\n\(output)")
            let file = (try? String(contentsOfFile: redirected, encoding: .utf8)) ?? ""
            cluster.expect(file.contains(" to_file \n---------\n       1\n(1 row)") && !output.contains("to_file"), "\\o:\n\(file)\n\(output)")
            cluster.expect(output.contains(" before_edit ") && output.contains(" after_edit "), "\\e:\n\(output)")
            cluster.expect(output.contains("QUERY PLAN") && output.contains("Strategy: point lookup"), "\\explain:\n\(output)")
            cluster.expect(output.contains("SELECT label FROM repl_cmds WHERE id = 1;\n"), "\\p:\n\(output)")
            cluster.expect(output.contains(" again \n-------\n     9"), "\\g:\n\(output)")
            cluster.expect(output.contains("node_index") && output.contains("\(cluster.pgBasePort + 3)"), "\\nodes:\n\(output)")
            cluster.expect(output.contains(" group_id | members | epoch"), "\\groups:\n\(output)")
            cluster.expect(output.contains("Table \"public.repl_cmds\"") && output.contains(" id     | integer | not null"), "\\d:\n\(output)")
            cluster.expect(output.contains(" meshdb | meshdb | UTF8"), "\\l:\n\(output)")
            cluster.expect(output.contains("\\copy") && output.contains("\\explain"), "\\?:\n\(output)")

            // Statements on stdin (not a terminal), as JSON; the first error stops them with status 3.
            let piped = try await runTool(meshdb, ["sql", url, "--json"],
                                          input: "SELECT id, label FROM repl_cmds;\nSELECT nope;\nSELECT 'not reached';\n", seconds: 60)
            cluster.expect(piped.status == 3, "stdin with an error: status \(piped.status)")
            cluster.expect(piped.output.contains(#"[{"id":1,"label":"x"}]"#) && piped.output.contains("ERROR:  42703")
                           && !piped.output.contains("not reached"), "stdin:\n\(piped.output)")
            let unknown = try await runTool(meshdb, ["sql", url, "-c", "\\frobnicate"], seconds: 60)
            cluster.expect(unknown.status == 3 && unknown.output.contains("invalid command \\frobnicate"), "an unknown command:\n\(unknown.output)")
        }
    }

    // MARK: TLS

    @Test func sslModeRequireEncryptsAndKeepsTagsAndCancel() async throws {
        let cluster = try await ProcessCluster(nodes: 4, initialize: false)
        try await cluster.run { cluster in
            let certificate = cluster.dir.file("cert.pem"), key = cluster.dir.file("key.pem")
            let made = try await runTool("/usr/bin/env", ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                                          "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", certificate], seconds: 60)
            guard made.status == 0 else {
                Issue.record("openssl could not make a certificate (apt-get install openssl):\n\(made.output)")
                return
            }
            let url = try await cluster.startDemo(extraArguments: ["--tls-cert", certificate, "--tls-key", key]) + "?sslmode=require"
            let meshdb = try builtProduct("meshdb").path
            let run = try await runTool(meshdb, ["sql", url, "-c", "CREATE TABLE repl_tls (id int PRIMARY KEY)",
                                                 "-c", "INSERT INTO repl_tls VALUES (1), (2)", "-c", "SELECT count(*) AS encrypted FROM repl_tls"],
                                        seconds: 60)
            cluster.expect(run.status == 0 && run.output.contains("CREATE TABLE\nINSERT 0 2\n encrypted \n-----------\n         2"),
                           "sslmode=require (status \(run.status)):\n\(run.output)")
            // The CancelRequest still finds the session: its key was read inside the encryption.
            let canceled = try await runTool("/usr/bin/env", ["python3", "-c", Self.interruptWhileRunning, meshdb, "sql", url, "-c",
                                                              "SELECT count(*) FROM generate_series(1, 20000) a, generate_series(1, 20000) b"],
                                             seconds: 90)
            cluster.expect(canceled.output.contains("ERROR:  57014"), "Ctrl-C over TLS:\n\(canceled.output)")
        }
    }

    /// Runs argv[1:] and sends it SIGINT after 2.5 s (the query runs for about 9), as Ctrl-C would;
    /// exits with its status.
    static let interruptWhileRunning = """
        import signal, subprocess, sys, time
        child = subprocess.Popen(sys.argv[1:])
        time.sleep(2.5)
        child.send_signal(signal.SIGINT)
        sys.exit(child.wait())
        """

    // MARK: Support

    /// What both servers run: DDL, writes, NULLs, aggregates, quotes and comments holding `;`, an
    /// empty result, expanded output and \copy out and back in.
    static let comparisonScript = #"""
        -- The same script against MeshDB and PostgreSQL 15.
        CREATE TABLE repl_compare (id int PRIMARY KEY, name text, qty int, price numeric);
        INSERT INTO repl_compare VALUES (1, 'apple', 3, 1.25), (2, 'pear', NULL, 2.5),
          (3, 'fig', 7, NULL), (4, 'kiwi', 0, 10);
        SELECT * FROM repl_compare ORDER BY id;
        SELECT name, qty * 2 AS double_qty FROM repl_compare WHERE qty IS NOT NULL ORDER BY name;
        SELECT count(*) AS n, sum(qty) AS total, max(name) AS last_name, min(price) AS cheapest FROM repl_compare;
        UPDATE repl_compare SET qty = qty + 1 WHERE id IN (1, 4);
        DELETE FROM repl_compare WHERE id = 3;
        SELECT id, upper(name) AS shout, length(name) AS len, coalesce(qty, -1) AS q FROM repl_compare ORDER BY id DESC;
        SELECT name, 'it''s; fine' AS quoted /* a comment; */ FROM repl_compare
          WHERE name LIKE '%p%' ORDER BY 1;
        SELECT name FROM repl_compare WHERE false;
        \x on
        SELECT * FROM repl_compare WHERE id = 1;
        \x off
        \copy repl_compare (id, name) to 'COPYFILE' csv header
        CREATE TABLE repl_copy (id int PRIMARY KEY, name text);
        \copy repl_copy from 'COPYFILE' csv header
        SELECT * FROM repl_copy ORDER BY id;
        DROP TABLE repl_copy;
        DROP TABLE repl_compare;
        """#

    /// Types into `meshdb sql` (or `meshdb demo`) through a pseudo-terminal and waits for what a
    /// person would see; exits 1 with the transcript so far when something does not appear in time.
    static let ptyDriver = #"""
        import fcntl, os, pty, select, struct, sys, termios, time

        buffer = b''
        def spawn(argv):
            pid, fd = pty.fork()
            if pid == 0:
                os.environ['TERM'] = 'xterm'
                os.execv(argv[0], argv)
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 160, 0, 0))
            return pid, fd

        def expect(fd, text, timeout=60):
            global buffer
            deadline = time.time() + timeout
            while text.encode() not in buffer:
                ready, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
                if not ready:
                    sys.exit('\nTIMEOUT after %ss waiting for %r' % (timeout, text))
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b''
                if not data:
                    sys.exit('\nEOF waiting for %r' % text)
                sys.stdout.write(data.decode(errors='replace'))
                sys.stdout.flush()
                buffer += data
            buffer = buffer[buffer.index(text.encode()) + len(text):]

        def seen(fd, text, timeout):
            """Like expect, but only looks: whether `text` arrived within `timeout` seconds."""
            global buffer
            deadline = time.time() + timeout
            while text.encode() not in buffer:
                ready, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
                if not ready:
                    return False
                data = os.read(fd, 65536)
                sys.stdout.write(data.decode(errors='replace'))
                sys.stdout.flush()
                buffer += data
            return True

        def send(fd, text):
            os.write(fd, text.encode())

        def finish(pid):
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                sys.exit('\nthe program exited with %d' % code)

        mode, meshdb = sys.argv[1], sys.argv[2]
        if mode == 'session':
            pid, fd = spawn([meshdb, 'sql', sys.argv[3]])
            expect(fd, 'meshdb=> ')
            send(fd, 'CREATE TABLE repl_items (id int PRIMARY KEY, label text);\r'); expect(fd, 'CREATE TABLE'); expect(fd, 'meshdb=> ')
            send(fd, 'INSERT INTO repl_items\r'); expect(fd, 'meshdb-> ')
            send(fd, "VALUES (1, 'one'),\r"); expect(fd, 'meshdb-> ')
            send(fd, "(2, 'two');\r"); expect(fd, 'INSERT 0 2'); expect(fd, 'meshdb=> ')
            send(fd, 'SELECT label FROM repl_i\t'); expect(fd, 'tems')
            send(fd, ' ORDER BY id;\r'); expect(fd, '(2 rows)'); expect(fd, 'meshdb=> ')
            send(fd, '\\x\r'); expect(fd, 'Expanded display is on.'); expect(fd, 'meshdb=> ')
            send(fd, 'SELECT * FROM repl_items WHERE id = 1;\r'); expect(fd, '-[ RECORD 1 ]'); expect(fd, 'meshdb=> ')
            send(fd, '\\x off\r'); expect(fd, 'Expanded display is off.'); expect(fd, 'meshdb=> ')
            send(fd, '\\timing\r'); expect(fd, 'Timing is on.'); expect(fd, 'meshdb=> ')
            send(fd, 'SELECT count(*) FROM repl_items;\r'); expect(fd, 'Time: '); expect(fd, 'meshdb=> ')
            send(fd, '\\timing off\r'); expect(fd, 'Timing is off.'); expect(fd, 'meshdb=> ')
            send(fd, '\\dt\r'); expect(fd, 'repl_items'); expect(fd, 'meshdb=> ')
            send(fd, 'SELECT nope FROM repl_items;\r'); expect(fd, '^'); expect(fd, 'meshdb=> ')
            # About 10 s of work on the demo: Ctrl-C after 1.5 s must cancel it.
            send(fd, 'SELECT count(*) FROM generate_series(1, 20000) a, generate_series(1, 20000) b;\r')
            # A Ctrl-C that lands before the statement is under way only clears the (empty) line, so
            # press it again each second until the cancel is answered.
            for attempt in range(8):
                time.sleep(1)
                send(fd, '\x03')
                if seen(fd, '57014', 1):
                    break
            expect(fd, '57014', 30); expect(fd, 'meshdb=> ')
            send(fd, 'SELECT 1 AS still_here;\r'); expect(fd, '(1 row)', 90); expect(fd, 'meshdb=> ')
            # Ctrl-C at the prompt abandons the half-typed line.
            send(fd, "SELECT 'aband"); time.sleep(0.3); send(fd, '\x03'); expect(fd, 'meshdb=> ')
            send(fd, "SELECT 'fresh' AS after_interrupt;\r"); expect(fd, '(1 row)'); expect(fd, 'meshdb=> ')
            # The prompt shows the transaction block and its failure, as psql's %x.
            send(fd, 'BEGIN;\r'); expect(fd, 'meshdb=*> ')
            send(fd, "INSERT INTO repl_items VALUES (3, 'three');\r"); expect(fd, 'meshdb=*> ')
            send(fd, "INSERT INTO repl_items VALUES (3, 'again');\r"); expect(fd, '23505'); expect(fd, 'meshdb=!> ')
            send(fd, 'SELECT 1;\r'); expect(fd, '25P02'); expect(fd, 'meshdb=!> ')
            send(fd, 'ROLLBACK;\r'); expect(fd, 'ROLLBACK'); expect(fd, 'meshdb=> ')
            send(fd, 'SELECT * FROM generate_series(1, 60) AS g;\r'); expect(fd, 'paged:(60 rows)'); expect(fd, 'meshdb=> ')
            send(fd, "SELECT 'history-marker-' || 7 AS marker;\r"); expect(fd, '(1 row)'); expect(fd, 'meshdb=> ')
            send(fd, '\x04')
            finish(pid)
        elif mode == 'history':
            pid, fd = spawn([meshdb, 'sql', sys.argv[3]])
            expect(fd, 'meshdb=> ')
            send(fd, '\x1b[A'); time.sleep(0.3); send(fd, '\r'); expect(fd, 'history-marker-7'); expect(fd, 'meshdb=> ')
            send(fd, '\\q\r')
            finish(pid)
        elif mode == 'demo':
            data, base_port, pg_port = sys.argv[3], sys.argv[4], sys.argv[5]
            pid, fd = spawn([meshdb, 'demo', '--data', data, '--base-port', base_port, '--port', pg_port])
            expect(fd, 'meshdb=> ', 90)
            send(fd, '\\conninfo\r'); expect(fd, 'You are connected'); expect(fd, 'meshdb=> ')
            send(fd, '\\q\r'); expect(fd, 'stopping the demo')
            finish(pid)
        """#
}

/// A PostgreSQL 15 server in a directory of the test, on a free port of 127.0.0.1, trust
/// authentication. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
struct LocalPostgres {
    static let binaries = "/usr/lib/postgresql/15/bin"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: "\(binaries)/initdb") }

    let dataDirectory: String
    let port: Int
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    static func start(in directory: TemporaryDirectory) async throws -> LocalPostgres {
        let root = directory.file("postgres")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        if getuid() == 0 {
            guard let user = getpwnam("postgres") else { throw ClusterTestError("running as root, and there is no postgres user to run PostgreSQL as") }
            chown(directory.path, user.pointee.pw_uid, user.pointee.pw_gid)
            chown(root, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        let port = try await freePortRanges(count: 1).base
        let server = LocalPostgres(dataDirectory: root + "/data", port: port)
        let initdb = try server.run(["\(binaries)/initdb", "-D", server.dataDirectory, "-A", "trust", "-U", "postgres"])
        guard initdb.status == 0 else { throw ClusterTestError("initdb failed:\n\(initdb.output)") }
        let start = try server.run(["\(binaries)/pg_ctl", "-D", server.dataDirectory, "-l", root + "/server.log", "-w", "-t", "60",
                                    "-o", "-p \(port) -k \(root) -c listen_addresses=127.0.0.1", "start"])
        guard start.status == 0 else {
            let log = (try? String(contentsOfFile: root + "/server.log", encoding: .utf8)) ?? ""
            throw ClusterTestError("pg_ctl start failed:\n\(start.output)\n\(log)")
        }
        return server
    }

    func stop() {
        _ = try? run(["\(Self.binaries)/pg_ctl", "-D", dataDirectory, "-m", "immediate", "-w", "stop"])
    }

    /// Runs a PostgreSQL program to completion, as `postgres` when this process is root, its output
    /// in a file (not a pipe: the server pg_ctl starts would inherit the pipe and hold it open).
    /// ChildProcess closes every other descriptor in the child, so PostgreSQL cannot inherit the
    /// listening sockets of the in-process clusters and keep their ports bound after they stop
    /// (EADDRINUSE across the suite, CI of 2026-11-21).
    private func run(_ command: [String]) throws -> (status: Int32, output: String) {
        let argv = (getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []) + command
        let outputPath = (dataDirectory as NSString).deletingLastPathComponent + "/\((command[0] as NSString).lastPathComponent).out"
        let child = try ChildProcess(argv[0], Array(argv.dropFirst()), output: .file(outputPath))
        let status = child.waitUntilExit().status
        return (status, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }
}
