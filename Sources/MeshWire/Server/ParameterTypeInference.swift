import MeshDB
import QueryPlanner

/// The types of a prepared statement's parameters that the client left open (OID 0), read from
/// where each `$n` stands: an explicit cast (`$1::int`, `CAST($1 AS bigint)`) first, then a value
/// of an INSERT column, the right side of `SET column =`, a comparison with a column (`=`, `<`…,
/// `IN (…)`, `BETWEEN`), LIMIT or OFFSET. PostgreSQL infers them the same way; drivers such as
/// asyncpg encode each argument by the type the server reports (and refuse an int for a
/// parameter described as text), and the shard key of a row must be routed as its column's type
/// (the integer 2, not the text '2').
enum ParameterTypeInference {
    static func types(of statement: Statement, catalog: CatalogStateMachine) -> [Int: WireType] {
        var scope = CatalogScope(catalog: catalog)
        statement.forEachQuery { scope.addFrom($0) }
        switch statement {
        case .insert(let insert): scope.add(insert.table, alias: insert.alias)
        case .update(let update): scope.add(update.table, alias: update.alias)
        case .delete(let delete): scope.add(delete.table, alias: delete.alias)
        default: break
        }
        let columnType = scope.type(of:)
        var types: [Int: WireType] = [:]
        func note(_ expression: Expression, _ type: WireType?) {
            guard case .parameter(let number) = expression.kind, let type, types[number] == nil else { return }
            types[number] = type
        }
        // A cast says what its parameter is wherever it stands, so it goes first: `note` keeps
        // the first type a parameter gets.
        statement.forEachExpression { node in
            if case .cast(let operand, let type) = node.kind { note(operand, Self.castType(type)) }
        }
        func compared(_ operand: Expression, with others: [Expression]) {
            for other in others {
                if case .column(let reference) = operand.kind { note(other, columnType(reference)) }
                if case .column(let reference) = other.kind { note(operand, columnType(reference)) }
            }
        }
        func visit(_ expression: Expression) {
            expression.forEach { node in
                switch node.kind {
                case .binary(let op, let left, let right) where Self.comparisons.contains(op): compared(left, with: [right])
                case .inList(let operand, let list, _): compared(operand, with: list)
                case .between(let operand, let low, let high, _): compared(operand, with: [low, high])
                default: break
                }
            }
        }
        _ = statement.mappingParts(
            expression: { expression in visit(expression); return expression },
            query: { query in
                query.forEachExpression { visit($0) }
                if let limit = query.limit { note(limit, .int8) }
                if let offset = query.offset { note(offset, .int8) }
                return query
            })
        switch statement {
        case .insert(let insert):
            guard let table = scope.tables.last?.table, case .query(let select) = insert.source,
                  case .values(let values) = select.body.first else { break }
            let columns = insert.columns.isEmpty ? table.spec.columns.map(\.name) : insert.columns.map(\.name)
            for row in values.rows {
                for (index, value) in row.enumerated() where index < columns.count {
                    note(value, columnType(ColumnReference(Identifier(columns[index]))))
                }
            }
        case .update(let update):
            for assignment in update.assignments { note(assignment.value, columnType(ColumnReference(assignment.column))) }
        default:
            break
        }
        return types
    }

    /// The type a cast gives its operand: PostgreSQL's for the name, when MeshWire converts that
    /// type's text and binary forms (`WireType.known`); text otherwise, so that a driver sends a
    /// string rather than a binary form MeshWire would misread.
    static func castType(_ type: TypeName) -> WireType {
        guard let postgres = PostgresType(named: type.name) else { return .text }
        let wire = WireType(oid: Int32(bitPattern: postgres.oid))
        return WireType.known.contains(wire) ? wire : .text
    }

    private static let comparisons: [BinaryOperator] = [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .is, .isNot]
}
