/// The catalog as rows, for the `mesh_*` system tables the gateway serves. Row order is fixed
/// (by key), so two replicas render identical results for `verified` reads.
public struct CatalogRows: Sendable, Hashable {
    public let columns: [String]
    public let rows: [[SQLiteValue]]
}

extension CatalogStateMachine {
    public static let systemTableNames = ["mesh_groups", "mesh_nodes", "mesh_shards", "mesh_tables"]

    /// The rows of system table `name`, or nil when there is no such system table.
    public func systemTable(named name: String) -> CatalogRows? {
        switch name {
        case "mesh_nodes": meshNodes()
        case "mesh_tables": meshTables()
        case "mesh_shards": meshShards()
        case "mesh_groups": meshGroups()
        default: nil
        }
    }

    /// One row per node, by index.
    public func meshNodes() -> CatalogRows {
        CatalogRows(
            columns: ["node_index", "public_key", "host", "port", "pg_port", "zone", "state"],
            rows: sortedNodes.map { node in
                [.integer(Int64(node.index)), .text(node.publicKeyHex), .text(node.host), .integer(Int64(node.port)),
                 .integer(Int64(node.pgPort)), .text(node.zone), .text(node.state.name)]
            })
    }

    /// One row per table, by name; columns rendered as "name type [not null]" joined by ", ".
    public func meshTables() -> CatalogRows {
        CatalogRows(
            columns: ["table_name", "columns", "primary_key", "shard_key", "shard_count", "created_at_sequence"],
            rows: sortedTables.map { table in
                let columns = table.spec.columns
                    .map { "\($0.name) \($0.type.name)" + ($0.notNull ? " not null" : "") }
                    .joined(separator: ", ")
                return [.text(table.name), .text(columns), .text(table.spec.primaryKey.joined(separator: ", ")),
                        .text(table.spec.shardKey.joined(separator: ", ")), .integer(Int64(table.spec.shardCount)),
                        .integer(Int64(bitPattern: table.createdAtSequence))]
            })
    }

    /// One row per shard, by table name then shard number.
    public func meshShards() -> CatalogRows {
        CatalogRows(
            columns: ["table_name", "shard", "group_id"],
            rows: sortedTables.flatMap { table in
                table.shardGroups.enumerated().map { shard, group in
                    [.text(table.name), .integer(Int64(shard)), .integer(Int64(group))]
                }
            })
    }

    /// One row per group, by id; members as ascending indexes joined by ",".
    public func meshGroups() -> CatalogRows {
        CatalogRows(
            columns: ["group_id", "members", "epoch"],
            rows: sortedGroups.map { group in
                [.integer(Int64(group.id)), .text(group.members.map(String.init).joined(separator: ",")),
                 .integer(Int64(bitPattern: group.epoch))]
            })
    }
}
