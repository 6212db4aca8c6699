import Crypto
public import MeshDB

/// How a query's result becomes the lines compared with a script's expected lines: values
/// rendered per column type, sorted as the record says, and above the hash threshold replaced by
/// one line `N values hashing to <md5>` (sqllogictest.c).
public enum SQLLogicTestResultLines {
    /// Every value of every row, row after row, rendered by its column's type letter.
    public static func values(of rows: [[SQLiteValue]], types: [SQLLogicTestColumnType]) -> [String] {
        var values: [String] = []
        values.reserveCapacity(rows.count * types.count)
        for row in rows {
            for column in types.indices { values.append(SQLLogicTestValueFormatter.render(row[column], as: types[column])) }
        }
        return values
    }

    /// `values` in the order the sort mode says. Sorting compares bytes (strcmp), so "10" sorts
    /// before "9"; rows that compare equal are equal in every column, so stability is moot.
    ///
    /// Rendered values are ASCII without NUL (text is cut at NUL, other bytes become '@'), where
    /// String's `<` is byte order; a row sorts by its values joined with NUL, which orders rows
    /// as comparing them value by value does ("a" before "ab" either way).
    public static func sorted(_ values: [String], columns: Int, by mode: SQLLogicTestSortMode) -> [String] {
        switch mode {
        case .noSort:
            return values
        case .valueSort:
            return values.sorted()
        case .rowSort:
            precondition(columns > 0 && values.count % columns == 0, "rows of \(columns) values expected")
            let starts = Array(stride(from: 0, to: values.count, by: columns))
            let keys = starts.map { values[$0..<$0 + columns].joined(separator: "\u{0}") }
            return starts.indices.sorted { keys[$0] < keys[$1] }.flatMap { values[starts[$0]..<starts[$0] + columns] }
        }
    }

    /// The MD5 (lowercase hex) of the values, each followed by a newline: what labels compare and
    /// what a hashed result shows.
    public static func md5(of values: [String]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.reduce(0) { $0 + $1.utf8.count + 1 })
        for value in values {
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: Insecure.MD5.hash(data: bytes).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] },
                      as: UTF8.self)
    }

    /// The lines to compare with the expected ones: the values themselves, or one hash line when
    /// there are more than `hashThreshold` of them (0: never hash).
    public static func comparable(_ values: [String], hashThreshold: Int, md5: @autoclosure () -> String) -> [String] {
        guard hashThreshold > 0, values.count > hashThreshold else { return values }
        return [hashLine(count: values.count, md5: md5())]
    }

    public static func hashLine(count: Int, md5: String) -> String { "\(count) values hashing to \(md5)" }

    /// The MD5 in a line `N values hashing to <md5>`, or nil when the line is not one.
    public static func hash(inLine line: String) -> String? {
        let words = line.split(separator: " ")
        guard words.count == 5, Int(words[0]) != nil, words[1] == "values", words[2] == "hashing", words[3] == "to" else { return nil }
        return String(words[4])
    }
}
