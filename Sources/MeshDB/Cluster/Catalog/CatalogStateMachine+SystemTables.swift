/// The catalog as rows, for the `mesh_*` system tables the gateway serves. Row order is fixed
/// (by key), so two replicas render identical results for `verified` reads.
public struct CatalogRows: Sendable, Hashable {
    public let columns: [String]
    public let rows: [[SQLiteValue]]
}

extension CatalogStateMachine {
    public static let systemTableNames = ["mesh_blobs", "mesh_columns", "mesh_groups", "mesh_indexes", "mesh_nodes", "mesh_shards",
                                          "mesh_tables", "mesh_views"]

    /// The rows of system table `name`, or nil when there is no such system table.
    public func systemTable(named name: String) -> CatalogRows? {
        switch name {
        case "mesh_blobs": meshBlobs()
        case "mesh_nodes": meshNodes()
        case "mesh_tables": meshTables()
        case "mesh_shards": meshShards()
        case "mesh_groups": meshGroups()
        case "mesh_columns": meshColumns()
        case "mesh_indexes": meshIndexes()
        case "mesh_views": meshViews()
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

    /// One row per column, by table name then position (1-based, as PostgreSQL's attnum);
    /// `primary_key_position` is the column's 1-based place in the primary key, or NULL.
    public func meshColumns() -> CatalogRows {
        CatalogRows(
            columns: ["table_name", "position", "column_name", "type", "declared_type", "not_null", "primary_key_position",
                      "is_unique", "has_default"],
            rows: sortedTables.flatMap { table in
                table.spec.columns.enumerated().map { position, column in
                    let keyPosition = table.spec.primaryKey.firstIndex(of: column.name).map { SQLiteValue.integer(Int64($0 + 1)) } ?? .null
                    return [.text(table.name), .integer(Int64(position + 1)), .text(column.name), .text(column.type.name),
                            .text(column.declaredType), .integer(column.notNull ? 1 : 0), keyPosition,
                            .integer(column.unique ? 1 : 0), .integer(column.hasDefault ? 1 : 0)]
                }
            })
    }

    /// One row per index, by index name; columns joined by ", ".
    public func meshIndexes() -> CatalogRows {
        CatalogRows(
            columns: ["index_name", "table_name", "columns", "is_unique", "sql"],
            rows: sortedIndexes.map { index in
                [.text(index.name), .text(index.table), .text(index.columns.joined(separator: ", ")),
                 .integer(index.unique ? 1 : 0), .text(index.sql)]
            })
    }

    /// One row per view, by name; columns joined by ", " (empty when unknown).
    public func meshViews() -> CatalogRows {
        CatalogRows(
            columns: ["view_name", "columns", "sql"],
            rows: sortedViews.map { view in [.text(view.name), .text(view.columns.joined(separator: ", ")), .text(view.sql)] })
    }
}
