/// A reader for sqllogictest scripts (SQLite's test format, described in the corpus' about.wiki):
/// records separated by blank lines; `statement ok|error` or `query <types> <sort> [label]`, the
/// SQL, and for a query `----` then the expected values; `skipif`/`onlyif <engine>` lines guard the
/// next record; `halt` ends the script; `hash-threshold N` sets when results are given as a hash.
/// Text in, records out, with no dependency: the parser's corpus tests and its fuzzer read the
/// corpus here (the sqllogictest harness in Tests/SQLLogicTestKit has a fuller reader of its own).
public enum SQLLogicTestReader {
    public struct Record: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            case statement(expectsError: Bool)
            /// `types`: one letter per column (I, R, T); `sortMode`: nosort, rowsort or valuesort.
            case query(types: String, sortMode: String, label: String?)
            case halt
            case hashThreshold(Int)
        }

        public enum Condition: Sendable, Hashable {
            case skipIf(engine: String)
            case onlyIf(engine: String)
        }

        public var kind: Kind
        public var conditions: [Condition]
        /// The SQL lines joined by newlines (empty for halt and hash-threshold).
        public var sql: String
        /// A query's expected lines after `----`.
        public var expected: [String]
        /// 1-based line of the record's first line, for messages.
        public var line: Int

        /// Whether the record's skipif/onlyif conditions let it run on `engine` ("sqlite" here).
        public func applies(to engine: String) -> Bool {
            conditions.allSatisfy { condition in
                switch condition {
                case .skipIf(let name): name != engine
                case .onlyIf(let name): name == engine
                }
            }
        }
    }

    /// Every record of `text`, in order, including those for other engines and after a halt.
    public static func records(in text: String) -> [Record] {
        var records: [Record] = []
        var block: [(line: Int, text: Substring)] = []
        var lineNumber = 0
        // Some scripts have CRLF line ends; "\r\n" is one Character in Swift, not a "\n".
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) {
                if let record = record(from: block) { records.append(record) }
                block = []
            } else {
                block.append((lineNumber, line))
            }
        }
        if let record = record(from: block) { records.append(record) }
        return records
    }

    /// The statements and queries that run on `engine`, up to the first halt that applies to it.
    public static func runnableRecords(in text: String, engine: String = "sqlite") -> [Record] {
        var runnable: [Record] = []
        for record in records(in: text) where record.applies(to: engine) {
            switch record.kind {
            case .halt: return runnable
            case .statement, .query: runnable.append(record)
            case .hashThreshold: continue
            }
        }
        return runnable
    }

    private static func record(from block: [(line: Int, text: Substring)]) -> Record? {
        var conditions: [Record.Condition] = []
        var index = 0
        while index < block.count {
            let words = block[index].text.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first else { index += 1; continue }
            if first.hasPrefix("#") {
                index += 1
            } else if (first == "skipif" || first == "onlyif"), words.count >= 2 {
                let engine = String(words[1])
                conditions.append(first == "skipif" ? .skipIf(engine: engine) : .onlyIf(engine: engine))
                index += 1
            } else {
                break
            }
        }
        guard index < block.count else { return nil }
        let header = block[index].text.split(separator: " ", omittingEmptySubsequences: true)
        let line = block[index].line
        let body = block[(index + 1)...].map { String($0.text) }
        let kind: Record.Kind
        switch header.first {
        case "statement":
            kind = .statement(expectsError: header.count > 1 && header[1] == "error")
        case "query":
            kind = .query(types: header.count > 1 ? String(header[1]) : "",
                          sortMode: header.count > 2 ? String(header[2]) : "nosort",
                          label: header.count > 3 ? String(header[3]) : nil)
        case "halt":
            return Record(kind: .halt, conditions: conditions, sql: "", expected: [], line: line)
        case "hash-threshold":
            let threshold = header.count > 1 ? Int(header[1]) ?? 0 : 0
            return Record(kind: .hashThreshold(threshold), conditions: conditions, sql: "", expected: [],
                                      line: line)
        default:
            return nil
        }
        let separator = body.firstIndex(of: "----")
        let sqlLines = separator.map { Array(body[..<$0]) } ?? body
        let expected = separator.map { Array(body[($0 + 1)...]) } ?? []
        return Record(kind: kind, conditions: conditions, sql: sqlLines.joined(separator: "\n"),
                                  expected: expected, line: line)
    }
}
