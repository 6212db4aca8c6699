import CEditLine
import Foundation
import SQLShell
#if canImport(Glibc)
import Glibc
#endif

/// The backslash commands of `meshdb sql` (the list and their grammar are in SQLShell.MetaCommand).
extension ShellSession {
    func runCommand(_ command: MetaCommand) async throws -> Step {
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
                                      emptyMessage: "Did not find any relation named \"\(name)\".", emptyIsError: true) ? .proceed : .failed
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
    func listRelations(kinds: String, pattern: String?) async -> Step {
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

    func runCopy(_ copy: CopyCommand) async -> Bool {
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
    func edit(path: String?) async -> Step {
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
}
