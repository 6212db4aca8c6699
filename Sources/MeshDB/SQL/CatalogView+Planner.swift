public import QueryPlanner

/// The planner's view of the replicated catalog: a snapshot taken once per statement, so one
/// statement plans against one consistent catalog. A session's temporary views come first, as
/// PostgreSQL's temporary schema does.
struct PlannerCatalogSnapshot: PlannerCatalog {
    let catalog: CatalogStateMachine
    var temporaryViews: [String: PlannerView] = [:]
    /// System tables (`mesh_nodes`…) are served by the gateway from its catalog replica.
    static let systemTableNames: Set<String> = ["mesh_nodes", "mesh_tables", "mesh_shards", "mesh_groups"]

    func table(named name: String) -> PlannerTable? {
        guard let table = catalog.table(named: name) else { return nil }
        return PlannerTable(
            name: table.name,
            columns: table.spec.columns.map { column in
                PlannerColumn(name: column.name, declaredType: column.declaredType, sqliteType: column.type.sqliteType,
                              isBlob: column.type == .blob, notNull: column.notNull)
            },
            primaryKey: table.spec.primaryKey, shardKey: table.spec.shardKey, shardCount: Int(table.spec.shardCount))
    }

    func view(named name: String) -> PlannerView? {
        if let view = temporaryViews[name] { return view }
        return catalog.view(named: name).map { PlannerView(name: $0.name, sql: $0.sql, columns: $0.columns) }
    }

    func shard(of table: PlannerTable, key: [PlannerValue]) -> Int {
        Int(ShardRouting.shard(forKey: key.map(SQLiteValue.init), shardCount: UInt32(table.shardCount)))
    }
}

extension SQLiteValue {
    /// The shard-side value of a value the planner reasons about.
    public init(_ value: PlannerValue) {
        switch value {
        case .null: self = .null
        case .integer(let integer): self = .integer(integer)
        case .real(let real): self = .real(real)
        case .text(let text): self = .text(text)
        case .blob(let bytes): self = .blob(bytes)
        }
    }

    var plannerValue: PlannerValue {
        switch self {
        case .null: .null
        case .integer(let integer): .integer(integer)
        case .real(let real): .real(real)
        case .text(let text): .text(text)
        case .blob(let bytes): .blob(bytes)
        }
    }
}
