/// Expressions, literals and names as SQLite reads them.
extension SQLiteRenderer {
    /// Writes `expression` with every composite operand in parentheses, so that the text means
    /// the same whatever the precedence rules of the reader.
    mutating func write(_ expression: Expression) {
        switch expression.kind {
        case .literal(let literal):
            write(literal)
        case .column(let reference):
            if let table = reference.table {
                write(table)
                output += "."
            }
            write(reference.column)
        case .parameter(let number):
            output += "?\(number)"
        case .unary(let op, let operand):
            switch op {
            case .negate: output += "-"
            case .plus: output += "+"
            case .not: output += "NOT "
            case .bitwiseNot: output += "~"
            }
            writeOperand(operand)
        case .binary(let op, let left, let right):
            writeOperand(left)
            output += " \(Self.spelling(of: op)) "
            // SQLite's `x IS TRUE` tests truth (2 IS TRUE), where `x IS 1` compares: keep the keyword.
            if op == .is || op == .isNot, case .literal(.boolean(let value)) = right.kind {
                output += value ? "TRUE" : "FALSE"
            } else {
                writeOperand(right)
            }
        case .isNull(let operand, let negated):
            writeOperand(operand)
            output += negated ? " IS NOT NULL" : " IS NULL"
        case .between(let operand, let low, let high, let negated):
            writeOperand(operand)
            output += negated ? " NOT BETWEEN " : " BETWEEN "
            writeOperand(low)
            output += " AND "
            writeOperand(high)
        case .inList(let operand, let list, let negated):
            writeOperand(operand)
            output += negated ? " NOT IN (" : " IN ("
            writeList(list) { (renderer: inout SQLiteRenderer, element) in renderer.write(element) }
            output += ")"
        case .inSubquery(let operand, let query, let negated):
            writeOperand(operand)
            output += negated ? " NOT IN (" : " IN ("
            write(query)
            output += ")"
        case .exists(let query):
            output += "EXISTS ("
            write(query)
            output += ")"
        case .subquery(let query):
            output += "("
            write(query)
            output += ")"
        case .like(let operand, let pattern, let escape, _, let negated):
            // ILIKE becomes LIKE: SQLite's LIKE already ignores ASCII case (docs/sql.md).
            writeOperand(operand)
            output += negated ? " NOT LIKE " : " LIKE "
            writeOperand(pattern)
            if let escape {
                output += " ESCAPE "
                writeOperand(escape)
            }
        case .caseWhen(let operand, let branches, let elseResult):
            output += "CASE"
            if let operand {
                output += " "
                writeOperand(operand)
            }
            for branch in branches {
                output += " WHEN "
                writeOperand(branch.condition)
                output += " THEN "
                writeOperand(branch.result)
            }
            if let elseResult {
                output += " ELSE "
                writeOperand(elseResult)
            }
            output += " END"
        case .cast(let operand, let type):
            // PostgreSQL reads a string as bytea input ('\x4142'::bytea is "AB"); SQLite's CAST
            // would keep the text's own bytes.
            if type.name == "bytea", case .literal(.string(let text)) = operand.kind, let bytes = ByteaText.bytes(text) {
                writeBlob(bytes)
                return
            }
            output += "CAST("
            write(operand)
            output += " AS \(type.sqliteDeclaredType))"
        case .function(let call):
            write(call.name)
            output += "("
            switch call.arguments {
            case .star:
                output += "*"
            case .list(let arguments):
                if call.distinct { output += "DISTINCT " }
                writeList(arguments) { (renderer: inout SQLiteRenderer, argument) in renderer.write(argument) }
            }
            output += ")"
        case .currentTime(let keyword):
            output += keyword.rawValue
        }
    }

    /// An operand: parenthesized unless it is a single token or already delimited.
    mutating func writeOperand(_ expression: Expression) {
        if Self.isSelfDelimited(expression) {
            write(expression)
        } else {
            output += "("
            write(expression)
            output += ")"
        }
    }

    private static func isSelfDelimited(_ expression: Expression) -> Bool {
        switch expression.kind {
        case .literal(.integer(let value)): value >= 0
        case .literal(.real(let value)): value >= 0 && value.isFinite
        case .literal: true  // strings with a NUL are written as CAST(...), delimited too
        case .column, .parameter, .function, .currentTime, .subquery, .exists, .cast, .caseWhen: true
        default: false
        }
    }

    static func spelling(of op: BinaryOperator) -> String {
        switch op {
        case .add: "+"
        case .subtract: "-"
        case .multiply: "*"
        case .divide: "/"
        case .modulo: "%"
        case .concatenate: "||"
        case .equal: "="
        case .notEqual: "<>"
        case .less: "<"
        case .lessOrEqual: "<="
        case .greater: ">"
        case .greaterOrEqual: ">="
        case .is: "IS"
        case .isNot: "IS NOT"
        case .and: "AND"
        case .or: "OR"
        case .bitwiseAnd: "&"
        case .bitwiseOr: "|"
        case .shiftLeft: "<<"
        case .shiftRight: ">>"
        }
    }

    mutating func write(_ literal: Literal) {
        switch literal {
        case .null:
            output += "NULL"
        case .boolean(let value):
            output += value ? "1" : "0"
        case .integer(let value):
            output += String(value)
        case .real(let value):
            if value.isNaN {
                output += "NULL"  // SQLite stores NaN as NULL
            } else if value.isInfinite {
                output += value < 0 ? "-1e999" : "1e999"
            } else {
                // Swift prints the shortest text that reads back as the same Double, always with a
                // point or an exponent, so SQLite reads a REAL again.
                output += String(value)
            }
        case .string(let value):
            if value.utf8.contains(0) {
                // A NUL would end the statement text for sqlite3_prepare: spell the bytes instead.
                output += "CAST("
                writeBlob(Array(value.utf8))
                output += " AS TEXT)"
            } else {
                output += Self.quotedString(value)
            }
        case .blob(let bytes):
            writeBlob(bytes)
        }
    }

    private mutating func writeBlob(_ bytes: [UInt8]) {
        let digits = Array("0123456789ABCDEF".utf8)
        var text: [UInt8] = [UInt8(ascii: "X"), UInt8(ascii: "'")]
        text.reserveCapacity(bytes.count * 2 + 3)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        text.append(UInt8(ascii: "'"))
        output += String(decoding: text, as: UTF8.self)
    }

    /// A name, double-quoted (with `""` for a quote) unless it is a plain lower-case word that is
    /// no keyword in SQLite or MeshDB.
    mutating func write(_ identifier: Identifier) {
        output += Self.quotedIfNeeded(identifier.name)
    }

    public static func quotedIfNeeded(_ name: String) -> String {
        var plain = !name.isEmpty
        for (index, byte) in name.utf8.enumerated() {
            let letter = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_")
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if !(letter || (digit && index > 0)) {
                plain = false
                break
            }
        }
        if plain && !keywordsQuoted.contains(name) { return name }
        return quoted(name, by: "\"")
    }

    /// The words quoted even when plain: SQLite's and the parser's reserved ones, in one set (one
    /// hash per identifier rendered; every shard statement renders its table and column names).
    static let keywordsQuoted: Set<String> = sqliteKeywords.union(Keywords.reserved)

    /// SQLite's keywords (https://sqlite.org/lang_keywords.html), plus `true` and `false`, which it
    /// reads as values.
    static let sqliteKeywords: Set<String> = [
        "abort", "action", "add", "after", "all", "alter", "always", "analyze", "and", "as", "asc", "attach",
        "autoincrement", "before", "begin", "between", "by", "cascade", "case", "cast", "check", "collate", "column",
        "commit", "conflict", "constraint", "create", "cross", "current", "current_date", "current_time",
        "current_timestamp", "database", "default", "deferrable", "deferred", "delete", "desc", "detach", "distinct",
        "do", "drop", "each", "else", "end", "escape", "except", "exclude", "exclusive", "exists", "explain", "fail",
        "filter", "first", "following", "for", "foreign", "from", "full", "generated", "glob", "group", "groups",
        "having", "if", "ignore", "immediate", "in", "index", "indexed", "initially", "inner", "insert", "instead",
        "intersect", "into", "is", "isnull", "join", "key", "last", "left", "like", "limit", "match", "materialized",
        "natural", "no", "not", "nothing", "notnull", "null", "nulls", "of", "offset", "on", "or", "order", "others",
        "outer", "over", "partition", "plan", "pragma", "preceding", "primary", "query", "raise", "range", "recursive",
        "references", "regexp", "reindex", "release", "rename", "replace", "restrict", "returning", "right",
        "rollback", "row", "rows", "savepoint", "select", "set", "table", "temp", "temporary", "then", "ties", "to",
        "transaction", "trigger", "unbounded", "union", "unique", "update", "using", "vacuum", "values", "view",
        "virtual", "when", "where", "window", "with", "without", "true", "false",
    ]

    mutating func writeList<Element>(_ elements: [Element], _ writeElement: (inout SQLiteRenderer, Element) -> Void) {
        for (index, element) in elements.enumerated() {
            if index > 0 { output += ", " }
            writeElement(&self, element)
        }
    }
}
