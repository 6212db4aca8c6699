import QueryPlanner

/// A setting a client asked for in its startup packet, applied to its session as SET would be.
public struct StartupSetting: Sendable, Equatable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The settings of a startup packet, as PostgreSQL takes them (protocol "StartupMessage";
/// postgres.c, process_postgres_switches): first the switches of the `options` parameter
/// (`-c name=value`, `-cname=value`, `--name=value`), then every parameter other than `user`,
/// `database`, `options`, `replication` and the `_pq_.` protocol options, each a setting of its
/// own name. psql sends `application_name` this way; libpq's PGOPTIONS travels in `options`.
enum StartupSettings {
    /// Parameters that are not settings.
    static let reserved: Set<String> = ["user", "database", "options", "replication"]

    /// `parameters` in packet order, a repeated name counting once (its first value, as
    /// `SessionStateMachine.startupParameters` keeps it).
    static func settings(from parameters: [(String, String)]) throws(SQLError) -> [StartupSetting] {
        var seen: Set<String> = []
        var options: [StartupSetting] = []
        var others: [StartupSetting] = []
        for (name, value) in parameters where seen.insert(name).inserted {
            if name == "options" {
                options = try settings(fromOptions: value)
            } else if !reserved.contains(name), !name.hasPrefix("_pq_.") {
                others.append(StartupSetting(name: name, value: value))
            }
        }
        return options + others
    }

    /// The `-c` and `--` switches of an `options` value.
    static func settings(fromOptions options: String) throws(SQLError) -> [StartupSetting] {
        var settings: [StartupSetting] = []
        var words = split(options)[...]
        while let word = words.popFirst() {
            let assignment: String
            if word == "-c" {
                guard let next = words.popFirst() else { throw missingValue("-c") }
                assignment = next
            } else if word.hasPrefix("-c") {
                assignment = String(word.dropFirst(2))
            } else if word.hasPrefix("--"), word.count > 2 {
                assignment = String(word.dropFirst(2))
            } else {
                throw SQLError(.syntaxError, "invalid command-line argument for server process: \(word)",
                               hint: "MeshDB takes settings in options as -c name=value or --name=value.")
            }
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw missingValue(word.hasPrefix("--") ? word : "-c \(assignment)")
            }
            // As in PostgreSQL's ParseLongOption: a dash in the name stands for an underscore.
            let name = String(assignment[..<equals].map { $0 == "-" ? "_" : $0 })
            settings.append(StartupSetting(name: name, value: String(assignment[assignment.index(after: equals)...])))
        }
        return settings
    }

    /// Splits `options` at whitespace; a backslash keeps the character after it, so `\ ` is a
    /// space inside a word (libpq's documented escape, PostgreSQL's pg_split_opts).
    static func split(_ options: String) -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var escaped = false
        for character in options {
            if escaped {
                word.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
                inWord = true
            } else if character.isWhitespace {
                if inWord { words.append(word) }
                word = ""
                inWord = false
            } else {
                word.append(character)
                inWord = true
            }
        }
        if inWord { words.append(word) }
        return words
    }

    private static func missingValue(_ switchText: String) -> SQLError {
        SQLError(.syntaxError, "\(switchText) requires a value")
    }
}
