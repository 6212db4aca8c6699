import Foundation

/// Records an engine does not run yet, each with the reason: a feature it does not support. The
/// report counts skips by reason, so the list of unsupported features documents itself
/// (docs/sql.md quotes it).
///
/// Text form, one entry per line (blank lines and lines starting with '#' are ignored):
///
///     line select4.test:1234 => correlated subquery in ORDER BY
///     sql (?i)\bCREATE\s+TRIGGER\b => triggers
///
/// `line FILE:N` names the record whose command is on line N of every script whose path ends in
/// FILE; `sql REGEX` matches the record's SQL (NSRegularExpression syntax, anywhere in the text).
public struct SQLLogicTestSkipList: Sendable {
    public enum Target: Sendable, Hashable {
        case line(file: String, line: Int)
        case sql(pattern: String)
    }

    public struct Entry: Sendable {
        public let target: Target
        public let reason: String
        /// Compiled once, when the entry is added.
        let expression: NSRegularExpression?
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    /// Parses the text form; `source` names it in errors.
    public init(parsing text: String, source: String) throws(SQLLogicTestParseError) {
        for (index, raw) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let line = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            func failure(_ message: String) -> SQLLogicTestParseError {
                SQLLogicTestParseError(path: source, line: index + 1, message: message)
            }
            guard let arrow = line.range(of: " => ") else { throw failure("expected `line FILE:N => reason` or `sql REGEX => reason`") }
            let reason = line[arrow.upperBound...].trimmingCharacters(in: .whitespaces)
            let spec = line[..<arrow.lowerBound]
            guard !reason.isEmpty else { throw failure("every skip needs a reason") }
            let target: Target
            if spec.hasPrefix("line ") {
                let location = spec.dropFirst(5).trimmingCharacters(in: .whitespaces)
                guard let colon = location.lastIndex(of: ":"), colon > location.startIndex,
                      let number = Int(location[location.index(after: colon)...]) else {
                    throw failure("`line` takes FILE:N, got '\(location)'")
                }
                target = .line(file: String(location[..<colon]), line: number)
            } else if spec.hasPrefix("sql ") {
                target = .sql(pattern: spec.dropFirst(4).trimmingCharacters(in: .whitespaces))
            } else {
                throw failure("an entry starts with `line` or `sql`")
            }
            do {
                try add(target, reason: reason)
            } catch {
                throw failure("invalid regular expression: \(error)")
            }
        }
    }

    /// Adds an entry; a pattern that does not compile is an error.
    public mutating func add(_ target: Target, reason: String) throws {
        var expression: NSRegularExpression?
        if case .sql(let pattern) = target {
            expression = try NSRegularExpression(pattern: pattern)
        }
        entries.append(Entry(target: target, reason: reason, expression: expression))
    }

    /// The reason the record at `line` of `path` with `sql` is skipped, from the first entry
    /// that matches it; nil when none does.
    public func reason(path: String, line: Int, sql: String) -> String? {
        entries.first { entry in
            switch entry.target {
            case .line(let file, let entryLine):
                return entryLine == line && (path == file || path.hasSuffix("/" + file))
            case .sql:
                return entry.expression?.firstMatch(in: sql, range: NSRange(sql.startIndex..., in: sql)) != nil
            }
        }?.reason
    }
}
