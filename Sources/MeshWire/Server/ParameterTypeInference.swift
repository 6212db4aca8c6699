import MeshDB
import QueryPlanner

/// The types of a prepared statement's parameters that the client left open (OID 0), read from
/// where each `$n` stands: a value of an INSERT column, the right side of `SET column =`, a
/// comparison with a column, LIMIT or OFFSET. PostgreSQL infers them the same way; drivers such as
/// asyncpg encode each argument by the type the server reports, and the shard key of a row must
/// be routed as its column's type (the integer 2, not the text '2').
enum ParameterTypeInference {
    static func types(of statement: Statement, catalog: CatalogStateMachine) -> [Int: WireType] {
        var tables: [(alias: String, table: CatalogTable)] = []
        func addTable(_ name: Identifier, alias: Identifier?) {
            if let table = catalog.table(named: name.name) { tables.append(((alias ?? name).name, table)) }
        }
        func addFrom(_ select: Select) {
            for term in [select.body.first] + select.body.compounds.map(\.term) {
                guard case .select(let core) = term, let from = core.from else { continue }
                for reference in [from.first] + from.joins.map(\.table) {
                    if case .table(let named) = reference { addTable(named.name, alias: named.alias) }
                }
            }
        }
        statement.forEachQuery { addFrom($0) }
        switch statement {
        case .insert(let insert): addTable(insert.table, alias: insert.alias)
        case .update(let update): addTable(update.table, alias: update.alias)
        case .delete(let delete): addTable(delete.table, alias: delete.alias)
        default: break
        }
        func columnType(_ reference: ColumnReference) -> WireType? {
            for candidate in tables where reference.table == nil || candidate.alias == reference.table?.name {
                if let column = candidate.table.spec.columns.first(where: { $0.name == reference.column.name }) {
                    return PostgresConnectionHandler.wireType(column.type)
                }
            }
            return nil
        }
        var types: [Int: WireType] = [:]
        func note(_ expression: Expression, _ type: WireType?) {
            guard case .parameter(let number) = expression.kind, let type, types[number] == nil else { return }
            types[number] = type
        }
        func visit(_ expression: Expression) {
            expression.forEach { node in
                guard case .binary(let op, let left, let right) = node.kind, Self.comparisons.contains(op) else { return }
                if case .column(let reference) = left.kind { note(right, columnType(reference)) }
                if case .column(let reference) = right.kind { note(left, columnType(reference)) }
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
            guard let table = tables.last?.table, case .query(let select) = insert.source,
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

    private static let comparisons: [BinaryOperator] = [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .is, .isNot]
}
