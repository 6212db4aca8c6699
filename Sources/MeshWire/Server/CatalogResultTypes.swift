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
        var scope = CatalogScope(catalog: catalog)
        scope.addFrom(select)
        var types: [WireType?] = []
        for item in core.items {
            switch item {
            case .wildcard:
                for (alias, _) in scope.tables { types += scope.columnTypes(of: alias) ?? [] }
            case .tableWildcard(let alias):
                guard let columns = scope.columnTypes(of: alias.name) else { return nil }
                types += columns
            case .expression(let expression, _):
                switch expression.kind {
                case .column(let reference): types.append(scope.type(of: reference))
                case .function(let call) where call.name.name == "count": types.append(.int8)
                default: types.append(nil)
                }
            }
        }
        return types
    }
}
