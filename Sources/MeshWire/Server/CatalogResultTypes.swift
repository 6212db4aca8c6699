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

    /// The columns of an INSERT, UPDATE or DELETE ... RETURNING, which cannot be dry-run: named
    /// as the SQL layer names them (alias, else column name, else ?column?) and typed from the
    /// target table, text where the catalog cannot tell. Nil for a statement without RETURNING.
    static func returningColumns(of statement: Statement, catalog: CatalogStateMachine) -> [SessionStateMachine.ResultColumn]? {
        var scope = CatalogScope(catalog: catalog)
        let items: [SelectItem]
        switch statement {
        case .insert(let insert):
            scope.add(insert.table, alias: insert.alias)
            items = insert.returning
        case .update(let update):
            scope.add(update.table, alias: update.alias)
            items = update.returning
        case .delete(let delete):
            scope.add(delete.table, alias: delete.alias)
            items = delete.returning
        default:
            return nil
        }
        guard !items.isEmpty else { return nil }
        var columns: [SessionStateMachine.ResultColumn] = []
        for item in items {
            switch item {
            case .wildcard, .tableWildcard:
                for (_, table) in scope.tables {
                    columns += table.spec.columns.map { .init(name: $0.name, type: CatalogScope.wireType($0.type)) }
                }
            case .expression(let expression, let alias):
                if case .column(let reference) = expression.kind {
                    columns.append(.init(name: alias?.name ?? reference.column.name, type: scope.type(of: reference) ?? .text))
                } else {
                    columns.append(.init(name: alias?.name ?? "?column?", type: .text))
                }
            }
        }
        return columns
    }
}
