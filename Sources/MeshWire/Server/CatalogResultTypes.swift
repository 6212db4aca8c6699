import MeshDB
import QueryPlanner

/// The column types of a SELECT read from the catalog, for a Describe of a prepared statement: the
/// statement has not run yet (its parameters are unknown), so its values cannot tell the types,
/// and drivers that ask for binary results (postgres-nio, asyncpg) decode by the described OID.
/// Covers plain column references, `*` and `t.*` over named tables, and count(); other columns are
/// nil (the caller falls back to the values of a dry run, else text). The SQL layer's own result
/// types, once it reports them, make this unnecessary.
enum CatalogResultTypes {
    static func types(of select: Select, catalog: CatalogStateMachine) -> [WireType?]? {
        guard case .select(let core) = select.body.first, select.body.compounds.isEmpty else { return nil }
        var tables: [(alias: String, table: CatalogTable)] = []
        if let from = core.from {
            for reference in [from.first] + from.joins.map(\.table) {
                guard case .table(let named) = reference, let table = catalog.table(named: named.name.name) else { continue }
                tables.append(((named.alias ?? named.name).name, table))
            }
        }
        func columnType(_ reference: ColumnReference) -> WireType? {
            let candidates = tables.filter { reference.table == nil || $0.alias == reference.table?.name }
            for candidate in candidates {
                if let column = candidate.table.spec.columns.first(where: { $0.name == reference.column.name }) {
                    return PostgresConnectionHandler.wireType(column.type)
                }
            }
            return nil
        }
        var types: [WireType?] = []
        for item in core.items {
            switch item {
            case .wildcard:
                for (_, table) in tables { types += table.spec.columns.map { PostgresConnectionHandler.wireType($0.type) } }
            case .tableWildcard(let alias):
                guard let table = tables.first(where: { $0.alias == alias.name })?.table else { return nil }
                types += table.spec.columns.map { PostgresConnectionHandler.wireType($0.type) }
            case .expression(let expression, _):
                switch expression.kind {
                case .column(let reference): types.append(columnType(reference))
                case .function(let call) where call.name.name == "count": types.append(.int8)
                default: types.append(nil)
                }
            }
        }
        return types
    }
}
