/// A backslash command of `meshdb sql`, parsed from the text `InputScanner` hands over
/// (`\dt acc*`, `\x auto`, `\copy t from 'f.csv' csv header`). Arguments follow psql: separated by
/// whitespace, `'single quoted'` with `''` for a quote, `"double quoted"` kept with its quotes.
public enum MetaCommand: Sendable, Equatable {
    public enum Toggle: String, Sendable, Equatable {
        case on, off, auto
    }

    case help
    case quit
    case listTables(pattern: String?)
    case describe(name: String?)
    case listDatabases
    case expanded(Toggle?)
    case timing(Bool?)
    case include(path: String)
    case output(path: String?)
    case copy(CopyCommand)
    case edit(path: String?)
    case connectionInfo
    case nodes
    case groups
    case explain
    /// `\g`: send the query buffer (or the last statement when it is empty).
    case send
    /// `\r`: empty the query buffer.
    case resetBuffer
    /// `\p`: print the query buffer (or the last statement).
    case printBuffer

    /// Every command with its arguments and what it does, for `\?`, completion and docs/repl.md.
    public static let catalog: [(name: String, arguments: String, summary: String)] = [
        ("\\?", "", "show this help"),
        ("\\q", "", "quit (Ctrl-D too)"),
        ("\\dt", "[PATTERN]", "list tables (PATTERN: * and ? wildcards)"),
        ("\\d", "[TABLE]", "describe TABLE, or list tables and views"),
        ("\\l", "", "list databases"),
        ("\\x", "[on|off|auto]", "expanded output (auto: when a table is wider than the terminal)"),
        ("\\timing", "[on|off]", "show how long each statement took"),
        ("\\i", "FILE", "run the statements and commands in FILE"),
        ("\\o", "[FILE]", "send query results to FILE, or back to stdout"),
        ("\\copy", "TABLE [(COLS)] from|to FILE [csv] [header]", "copy rows between a client file and a table (or (QUERY) to FILE)"),
        ("\\e", "[FILE]", "edit the query buffer (or the last statement, or FILE) in $EDITOR"),
        ("\\conninfo", "", "show the connection"),
        ("\\nodes", "", "the cluster's nodes (mesh_nodes)"),
        ("\\groups", "", "the cluster's PBFT groups (mesh_groups)"),
        ("\\explain", "", "EXPLAIN the last statement"),
        ("\\g", "", "send the query buffer (or run the last statement again)"),
        ("\\r", "", "reset (clear) the query buffer"),
        ("\\p", "", "print the query buffer"),
    ]

    /// Why a backslash command was refused; `description` is what the shell prints.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Parses `text`, which starts with the backslash.
    public static func parse(_ text: String) throws(ParseError) -> MetaCommand {
        precondition(text.first == "\\", "a backslash command starts with a backslash")
        let body = text.dropFirst()
        let name = String(body.prefix { !$0.isWhitespace })
        let rest = String(body.dropFirst(name.count)).trimmingWhitespace()
        let arguments = try splitArguments(rest)
        func noArguments(_ command: MetaCommand) throws(ParseError) -> MetaCommand {
            guard arguments.isEmpty else { throw ParseError("\\\(name): takes no arguments, got \"\(arguments[0])\"") }
            return command
        }
        func atMostOne() throws(ParseError) -> String? {
            guard arguments.count <= 1 else { throw ParseError("\\\(name): takes at most one argument, got \(arguments.count)") }
            return arguments.first
        }
        switch name {
        case "?", "help": return try noArguments(.help)
        case "q", "quit": return try noArguments(.quit)
        case "dt", "dt+": return .listTables(pattern: try atMostOne())
        case "d", "d+": return .describe(name: try atMostOne())
        case "l", "l+", "list": return try noArguments(.listDatabases)
        case "x":
            guard let argument = try atMostOne() else { return .expanded(nil) }
            guard let toggle = Toggle(rawValue: argument.lowercased()) else {
                throw ParseError("\\x: unrecognized value \"\(argument)\": expected on, off or auto")
            }
            return .expanded(toggle)
        case "timing":
            guard let argument = try atMostOne() else { return .timing(nil) }
            switch argument.lowercased() {
            case "on": return .timing(true)
            case "off": return .timing(false)
            default: throw ParseError("\\timing: unrecognized value \"\(argument)\": expected on or off")
            }
        case "i", "include":
            guard let path = try atMostOne() else { throw ParseError("\\i: missing required argument: FILE") }
            return .include(path: path)
        case "o", "out": return .output(path: try atMostOne())
        case "copy": return .copy(try CopyCommand.parse(rest))
        case "e", "edit": return .edit(path: try atMostOne())
        case "conninfo": return try noArguments(.connectionInfo)
        case "nodes": return try noArguments(.nodes)
        case "groups": return try noArguments(.groups)
        case "explain": return try noArguments(.explain)
        case "g": return try noArguments(.send)
        case "r", "reset": return try noArguments(.resetBuffer)
        case "p", "print": return try noArguments(.printBuffer)
        default: throw ParseError("invalid command \\\(name)\nTry \\? for help.")
        }
    }

    /// psql's argument words: whitespace-separated, `'quoted'` (the quotes removed, `''` a quote).
    static func splitArguments(_ text: String) throws(ParseError) -> [String] {
        var arguments: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if let open = quote {
                if character == open {
                    if characters.first == open {
                        current.append(open)
                        characters.removeFirst()
                    } else {
                        if open == "\"" { current.append(open) }
                        quote = nil
                    }
                } else {
                    current.append(character)
                }
            } else if character.isWhitespace {
                if inWord { arguments.append(current) }
                current = ""
                inWord = false
            } else if character == "'" || character == "\"" {
                quote = character
                inWord = true
                if character == "\"" { current.append(character) }
            } else {
                current.append(character)
                inWord = true
            }
        }
        if let quote { throw ParseError("unterminated quoted string: missing \(quote)") }
        if inWord { arguments.append(current) }
        return arguments
    }
}
