/// A query result as the shell prints it: column names, whether each is numeric (right-aligned, a
/// JSON number) and the rows as text, nil for NULL.
public struct ResultTable: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var isNumeric: Bool
        public init(_ name: String, isNumeric: Bool = false) {
            self.name = name
            self.isNumeric = isNumeric
        }
    }

    public var columns: [Column]
    public var rows: [[String?]]
    /// A line printed above the table (`\d t` prints `Table "public.t"`).
    public var title: String?

    public init(columns: [Column], rows: [[String?]], title: String? = nil) {
        self.columns = columns
        self.rows = rows
        self.title = title
    }
}

/// How results are printed: psql's aligned and expanded formats, csv as `psql --csv`, or JSON.
public struct OutputFormat: Sendable, Equatable {
    public enum Style: Sendable, Equatable {
        case aligned, csv, json
    }

    public var style: Style = .aligned
    /// `\x`: on, off, or auto (expanded when the aligned table is wider than `terminalWidth`).
    public var expanded: MetaCommand.Toggle = .off
    /// What an aligned or expanded table shows for NULL; an empty string stays distinct from it.
    public var nullDisplay = "∅"
    /// The terminal's width in columns, when printing to one.
    public var terminalWidth: Int?

    public init(style: Style = .aligned) {
        self.style = style
    }
}

/// Renders results as psql does (checked against psql 15: header names centered, numbers right
/// aligned, `+` marking a value continued on the next line, `(N rows)` and a blank line).
public enum ResultFormatter {
    public static func render(_ table: ResultTable, as format: OutputFormat) -> String {
        var output = ""
        switch format.style {
        case .csv:
            output += csv(table)
        case .json:
            output += json(table)
        case .aligned:
            let aligned = self.aligned(table, nullDisplay: format.nullDisplay)
            let useExpanded: Bool
            switch format.expanded {
            case .on: useExpanded = true
            case .off: useExpanded = false
            case .auto:
                let width = aligned.split(separator: "\n").map { displayWidth(String($0)) }.max() ?? 0
                useExpanded = format.terminalWidth.map { width > $0 } ?? false
            }
            if let title = table.title {
                // psql centers the title over an aligned table.
                let width = useExpanded ? 0 : displayWidth(String(aligned.prefix { $0 != "\n" }))
                output += String(repeating: " ", count: max(0, (width - displayWidth(title)) / 2)) + title + "\n"
            }
            output += useExpanded ? expanded(table, nullDisplay: format.nullDisplay) : aligned
        }
        return output
    }

    // MARK: Aligned

    static func aligned(_ table: ResultTable, nullDisplay: String) -> String {
        let cells = table.rows.map { row in row.map { ($0 ?? nullDisplay).split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } }
        var widths = table.columns.map { displayWidth($0.name) }
        for row in cells {
            for (column, lines) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], lines.map(displayWidth).max() ?? 0)
            }
        }
        let last = table.columns.count - 1
        var output = ""
        // Header: centered names, every column padded, as psql prints it.
        output += table.columns.enumerated().map { index, column in
            let room = widths[index] - displayWidth(column.name)
            return " " + String(repeating: " ", count: room / 2) + column.name + String(repeating: " ", count: room - room / 2) + " "
        }.joined(separator: "|") + "\n"
        output += widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "\n"
        for row in cells {
            let height = row.map(\.count).max() ?? 1
            for lineIndex in 0..<height {
                var line = ""
                for (column, lines) in row.enumerated() where column <= last {
                    let text = lineIndex < lines.count ? lines[lineIndex] : ""
                    let continues = lineIndex < lines.count - 1
                    let padding = String(repeating: " ", count: widths[column] - displayWidth(text))
                    line += column == 0 ? " " : ""
                    let numeric = table.columns[column].isNumeric
                    if column == last {
                        line += numeric && !text.isEmpty ? padding + text : text
                        if continues { line += (numeric ? "" : padding) + "+" }
                    } else {
                        line += numeric ? padding + text : text + padding
                        line += (continues ? "+" : " ") + "| "
                    }
                }
                output += line + "\n"
            }
        }
        output += "(\(table.rows.count) row\(table.rows.count == 1 ? "" : "s"))\n\n"
        return output
    }

    // MARK: Expanded

    static func expanded(_ table: ResultTable, nullDisplay: String) -> String {
        guard !table.rows.isEmpty else { return "(0 rows)\n\n" }
        let nameWidth = table.columns.map { displayWidth($0.name) }.max() ?? 0
        let valueLines = table.rows.map { row in row.map { ($0 ?? nullDisplay).split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } }
        let valueWidth = valueLines.flatMap { $0.flatMap { $0.map(displayWidth) } }.max() ?? 0
        var output = ""
        for (index, row) in valueLines.enumerated() {
            let label = "-[ RECORD \(index + 1) ]"
            let total = max(nameWidth + 3 + valueWidth, label.count)
            output += label + String(repeating: "-", count: total - label.count) + "\n"
            for (column, lines) in row.enumerated() where column < table.columns.count {
                for (lineIndex, text) in lines.enumerated() {
                    let name = lineIndex == 0 ? table.columns[column].name : ""
                    var line = name + String(repeating: " ", count: nameWidth - displayWidth(name)) + " | " + text
                    if lineIndex < lines.count - 1 {
                        line += String(repeating: " ", count: max(0, total - nameWidth - 4 - displayWidth(text))) + "+"
                    }
                    output += line + "\n"
                }
            }
        }
        return output + "\n"
    }

    // MARK: Display width

    /// Terminal columns `text` takes: East Asian wide and fullwidth characters and emoji take two,
    /// as in psql (which uses wcwidth); a grapheme cluster counts once, so combining marks add nothing.
    static func displayWidth(_ text: String) -> Int {
        text.reduce(0) { width, character in
            width + (character.unicodeScalars.first.map { isWide($0.value) } == true ? 2 : 1)
        }
    }

    /// Unicode's East_Asian_Width W and F ranges (the blocks that matter in practice).
    private static func isWide(_ scalar: UInt32) -> Bool {
        switch scalar {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
             0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    // MARK: CSV and JSON

    /// `psql --csv`: a header line, fields quoted only when they hold a comma, quote or line break;
    /// NULL is an empty field.
    static func csv(_ table: ResultTable) -> String {
        func field(_ value: String) -> String {
            guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
            return "\"" + value.replacingAll("\"", with: "\"\"") + "\""
        }
        var output = table.columns.map { field($0.name) }.joined(separator: ",") + "\n"
        for row in table.rows {
            output += row.map { $0.map(field) ?? "" }.joined(separator: ",") + "\n"
        }
        return output
    }

    /// One JSON array per result, an object per row with the columns in order; numeric columns
    /// are JSON numbers when their text is one, NULL is null.
    static func json(_ table: ResultTable) -> String {
        let objects = table.rows.map { row in
            "{" + table.columns.enumerated().map { index, column in
                let value = index < row.count ? row[index] : nil
                let text: String
                if let value {
                    text = column.isNumeric && isJSONNumber(value) ? value : jsonString(value)
                } else {
                    text = "null"
                }
                return jsonString(column.name) + ":" + text
            }.joined(separator: ",") + "}"
        }
        return "[" + objects.joined(separator: ",\n ") + "]\n"
    }

    static func jsonString(_ value: String) -> String {
        var output = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }

    /// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (NaN, Infinity are not).
    static func isJSONNumber(_ text: String) -> Bool {
        var characters = Array(text)[...]
        func digits() -> Int {
            let count = characters.prefix { $0.isASCII && $0.isNumber }.count
            characters = characters.dropFirst(count)
            return count
        }
        if characters.first == "-" { characters.removeFirst() }
        if characters.first == "0" {
            characters.removeFirst()
        } else if digits() == 0 {
            return false
        }
        if characters.first == "." {
            characters.removeFirst()
            guard digits() > 0 else { return false }
        }
        if characters.first == "e" || characters.first == "E" {
            characters.removeFirst()
            if characters.first == "+" || characters.first == "-" { characters.removeFirst() }
            guard digits() > 0 else { return false }
        }
        return characters.isEmpty
    }
}
