/// Literal comparisons with a table's primary key, taken out of a shard step's SQL and bound as
/// parameters instead: `WHERE aid = 4711` is sent as `WHERE aid = ?1` with 4711 bound. Every
/// replica keeps prepared statements by SQL text, so point lookups and key ranges that differ only
/// in their keys reuse one prepared statement rather than parsing and planning each time.
///
/// The result is the same: in SQLite neither a literal nor a bound parameter has an affinity
/// (https://www.sqlite.org/datatype3.html, 4.2), so a comparison applies the column's affinity to
/// either alike. Only comparisons (=, <>, <, <=, >, >=, BETWEEN, IN list) of a key column with a
/// number or a string are bound, under AND, OR and NOT: never a literal elsewhere (ORDER BY 1
/// names a column; a select-list literal names its result column), and never a non-key column,
/// whose comparisons a partial index's predicate may need to see as literals.
public enum KeyLiteralBinding {
    /// Most literals bound in one step; the rest stay in the text.
    static let valuesMax = 64

    /// `select` with its key literals replaced by parameters `?(parameterCount + 1)`…, and the
    /// values to bind to them, in order.
    static func bind(_ select: Select, keyColumns: Set<String>, parameterCount: Int) -> (Select, [PlannerValue]) {
        guard !keyColumns.isEmpty, select.body.compounds.isEmpty, case .select(var core) = select.body.first,
            let whereClause = core.whereClause
        else { return (select, []) }
        var binder = Binder(keyColumns: keyColumns, nextParameter: parameterCount + 1)
        let bound = binder.rewrite(whereClause)
        guard !binder.values.isEmpty else { return (select, []) }
        core.whereClause = bound
        var rewritten = select
        rewritten.body = SelectBody(.select(core))
        return (rewritten, binder.values)
    }

    /// An UPDATE or DELETE as a shard runs it, bound the same way: the WHERE clause's key
    /// comparisons, and in an UPDATE each SET value that is a literal or combines literals with
    /// arithmetic or `||` (`SET abalance = abalance + 1234`). A SET value is computed, never
    /// compared with an index's predicate, so its literals need not stay in the text. Anything
    /// else (an INSERT, a statement with nothing to bind) comes back as it is.
    public static func bind(_ statement: Statement, keyColumns: Set<String>, parameterCount: Int) -> (Statement, [PlannerValue]) {
        var binder = Binder(keyColumns: keyColumns, nextParameter: parameterCount + 1)
        switch statement {
        case .update(var update):
            for index in update.assignments.indices {
                update.assignments[index].value = binder.rewriteValue(update.assignments[index].value)
            }
            if !keyColumns.isEmpty { update.whereClause = update.whereClause.map { binder.rewrite($0) } }
            return binder.values.isEmpty ? (statement, []) : (.update(update), binder.values)
        case .delete(var delete):
            guard !keyColumns.isEmpty else { return (statement, []) }
            delete.whereClause = delete.whereClause.map { binder.rewrite($0) }
            return binder.values.isEmpty ? (statement, []) : (.delete(delete), binder.values)
        default:
            return (statement, [])
        }
    }

    /// The value bound in place of `expression` when it is a number or string literal, or a
    /// negated number (`-1234`, as a client's text often holds it); nil for anything else (NULL,
    /// TRUE and FALSE, blobs and every other expression stay in the text). The one rule for what
    /// is bound: shard steps, UPDATE and DELETE here, and the gateway's INSERT evaluation.
    public static func boundValue(_ expression: Expression) -> PlannerValue? {
        switch expression.kind {
        case .literal(.integer(let integer)): return .integer(integer)
        case .literal(.real(let real)): return .real(real)
        case .literal(.string(let string)): return .text(string)
        case .unary(.negate, let operand):
            switch operand.kind {
            case .literal(.integer(let integer)) where integer != Int64.min: return .integer(-integer)
            case .literal(.real(let real)): return .real(-real)
            default: return nil
            }
        default:
            return nil
        }
    }

    private struct Binder {
        let keyColumns: Set<String>
        var nextParameter: Int
        var values: [PlannerValue] = []

        mutating func rewrite(_ expression: Expression) -> Expression {
            var result = expression
            switch expression.kind {
            case .binary(let op, let left, let right):
                switch op {
                case .and, .or:
                    result.kind = .binary(op, rewrite(left), rewrite(right))
                case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual:
                    if isKey(left) { result.kind = .binary(op, left, bound(right)) }
                    else if isKey(right) { result.kind = .binary(op, bound(left), right) }
                default:
                    break
                }
            case .unary(.not, let operand):
                result.kind = .unary(.not, rewrite(operand))
            case .between(let operand, let low, let high, let negated) where isKey(operand):
                result.kind = .between(operand, low: bound(low), high: bound(high), negated: negated)
            case .inList(let operand, let list, let negated) where isKey(operand):
                result.kind = .inList(operand, list.map { bound($0) }, negated: negated)
            default:
                break
            }
            return result
        }

        /// A SET value with its literals bound where it is one, or an operand of arithmetic or
        /// `||` all the way down.
        mutating func rewriteValue(_ expression: Expression) -> Expression {
            var result = expression
            switch expression.kind {
            case .literal, .unary(.negate, _):
                return bound(expression)
            case .binary(let op, let left, let right):
                switch op {
                case .add, .subtract, .multiply, .divide, .modulo, .concatenate:
                    result.kind = .binary(op, rewriteValue(left), rewriteValue(right))
                default:
                    break
                }
            default:
                break
            }
            return result
        }

        private func isKey(_ expression: Expression) -> Bool {
            guard case .column(let reference) = expression.kind else { return false }
            return keyColumns.contains(reference.column.name)
        }

        /// A parameter in place of what `boundValue` binds; anything else as it is.
        private mutating func bound(_ expression: Expression) -> Expression {
            guard values.count < KeyLiteralBinding.valuesMax, let value = KeyLiteralBinding.boundValue(expression) else { return expression }
            values.append(value)
            let parameter = nextParameter
            nextParameter += 1
            return Expression(.parameter(parameter), at: expression.location)
        }
    }
}

extension Literal {
    /// The literal that stands for `value` in SQL text (EXPLAIN shows bound values this way).
    init(_ value: PlannerValue) {
        switch value {
        case .null: self = .null
        case .integer(let integer): self = .integer(integer)
        case .real(let real): self = .real(real)
        case .text(let text): self = .string(text)
        case .blob(let bytes): self = .blob(bytes)
        }
    }
}
