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
enum KeyLiteralBinding {
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

        private func isKey(_ expression: Expression) -> Bool {
            guard case .column(let reference) = expression.kind else { return false }
            return keyColumns.contains(reference.column.name)
        }

        /// A parameter in place of a number or string literal; anything else as it is.
        private mutating func bound(_ expression: Expression) -> Expression {
            guard values.count < KeyLiteralBinding.valuesMax, case .literal(let literal) = expression.kind else { return expression }
            let value: PlannerValue
            switch literal {
            case .integer(let integer): value = .integer(integer)
            case .real(let real): value = .real(real)
            case .string(let string): value = .text(string)
            case .null, .boolean, .blob: return expression
            }
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
