public import QueryPlanner
import Synchronization

/// The planner's view of the replicated catalog: a snapshot taken once per statement, so one
/// statement plans against one consistent catalog. A session's temporary views come first, as
/// PostgreSQL's temporary schema does.
struct PlannerCatalogSnapshot: PlannerCatalog {
    let catalog: CatalogStateMachine
    var temporaryViews: [String: PlannerView] = [:]
    /// Where tables already converted for this catalog version are kept (the gateway's, shared
    /// by its sessions); nil converts on every lookup.
    var tableCache: PlannerTableCache? = nil

    func table(named name: String) -> PlannerTable? {
        guard let table = catalog.table(named: name) else { return systemTable(named: name) }
        guard let tableCache else { return Self.plannerTable(table) }
        return tableCache.table(table, catalogVersion: catalog.version)
    }

    static func plannerTable(_ table: CatalogTable) -> PlannerTable {
        PlannerTable(
            name: table.name,
            columns: table.spec.columns.map { column in
                PlannerColumn(name: column.name, declaredType: column.declaredType, sqliteType: column.type.sqliteType,
                              isBlob: column.holdsOutOfLineValues, notNull: column.notNull)
            },
            primaryKey: table.spec.primaryKey, shardKey: table.spec.shardKey, shardCount: Int(table.spec.shardCount))
    }

    /// pg_catalog and information_schema relations, and the `mesh_*` tables (whose values
    /// have no declared type: they keep the SQLite storage class they are served with).
    func systemTable(named name: String) -> PlannerTable? {
        if let relation = PostgresCatalog.relation(named: name) { return relation.plannerTable }
        guard let rows = catalog.systemTable(named: name) else { return nil }
        return PlannerTable(name: name, columns: rows.columns.map { PlannerColumn(name: $0, declaredType: "", sqliteType: "", isBlob: false, notNull: false) },
                            primaryKey: [], shardKey: [], shardCount: 0, isSystem: true)
    }

    func view(named name: String) -> PlannerView? {
        if let view = temporaryViews[name] { return view }
        return catalog.view(named: name).map { PlannerView(name: $0.name, sql: $0.sql, columns: $0.columns) }
    }

    func shard(of table: PlannerTable, key: [PlannerValue]) -> Int {
        Int(ShardRouting.shard(forKey: key.map(SQLiteValue.init), shardCount: UInt32(table.shardCount)))
    }
}

/// Planner tables converted from one catalog version, by name: the first lookup after the
/// catalog changes starts afresh. At most `entriesMax` tables are kept.
final class PlannerTableCache: Sendable {
    private struct State {
        var catalogVersion: UInt64?
        var tables: [String: PlannerTable] = [:]
    }
    private let state = Mutex(State())
    static let entriesMax = 4_096

    func table(_ table: CatalogTable, catalogVersion: UInt64) -> PlannerTable {
        if let cached = state.withLock({ $0.catalogVersion == catalogVersion ? $0.tables[table.name] : nil }) { return cached }
        let converted = PlannerCatalogSnapshot.plannerTable(table)
        state.withLock { state in
            // Only a newer catalog replaces the entries: a statement still planning against an
            // older snapshot keeps its own conversion without evicting the current ones.
            if state.catalogVersion.map({ $0 < catalogVersion }) ?? true {
                state = State(catalogVersion: catalogVersion)
            }
            guard state.catalogVersion == catalogVersion else { return }
            if state.tables.count >= Self.entriesMax { state.tables.removeAll(keepingCapacity: true) }
            state.tables[table.name] = converted
        }
        return converted
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
