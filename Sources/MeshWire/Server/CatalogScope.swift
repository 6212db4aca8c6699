import MeshDB
import QueryPlanner

/// The catalog tables a statement names, by alias, to type the columns it refers to: the shared
/// ground of `ParameterTypeInference` and `CatalogResultTypes`.
struct CatalogScope {
    private(set) var tables: [(alias: String, table: CatalogTable)] = []
    let catalog: CatalogStateMachine

    init(catalog: CatalogStateMachine) {
        self.catalog = catalog
    }

    mutating func add(_ name: Identifier, alias: Identifier?) {
        if let table = catalog.table(named: name.name) { tables.append(((alias ?? name).name, table)) }
    }

    /// The named tables of every FROM clause of `select`'s terms.
    mutating func addFrom(_ select: Select) {
        for term in [select.body.first] + select.body.compounds.map(\.term) {
            guard case .select(let core) = term, let from = core.from else { continue }
            for reference in [from.first] + from.joins.map(\.table) {
                if case .table(let named) = reference { add(named.name, alias: named.alias) }
            }
        }
    }

    /// The type of `reference`: qualified by its alias, else the first table with that column.
    func type(of reference: ColumnReference) -> WireType? {
        for candidate in tables where reference.table == nil || candidate.alias == reference.table?.name {
            if let column = candidate.table.spec.columns.first(where: { $0.name == reference.column.name }) {
                return Self.wireType(column.type)
            }
        }
        return nil
    }

    /// The column types of the table `alias`, in order.
    func columnTypes(of alias: String) -> [WireType]? {
        tables.first(where: { $0.alias == alias }).map { $0.table.spec.columns.map { Self.wireType($0.type) } }
    }

    /// The wire type of a stored column type: integers go out as int8 whatever the declared width,
    /// since SQLite keeps any 64-bit integer in an INTEGER column.
    static func wireType(_ type: CatalogColumnType) -> WireType {
        switch type {
        case .integer: .int8
        case .real: .float8
        case .text: .text
        case .blob: .bytea
        case .boolean: .bool
        case .numeric: .numeric
        case .timestamp: .timestamp
        }
    }
}
