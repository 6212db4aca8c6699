/// The schema commands beyond CREATE / DROP TABLE: indexes, views, ADD / DROP COLUMN and the
/// row ids of tables without a shard key. Like every command, each applies all of itself or
/// nothing, and depends only on the state and the command.
extension CatalogStateMachine {
    mutating func allocateRowIDs(_ name: String, count: UInt32) throws(CatalogError) -> CatalogResult {
        guard var table = tables[name] else {
            if relationKind(named: name) != nil { throw .wrongObjectType("\"\(name)\" is not a table") }
            throw .undefinedTable(name)
        }
        guard table.spec.hasHiddenRowID else {
            throw .prerequisite("table \"\(name)\" has a shard key; row ids are allocated only for tables sharded by a hidden row id")
        }
        guard (1...limits.rowIDsPerAllocationMax).contains(count) else {
            throw .invalidParameter("cannot allocate \(count) row ids: 1...\(limits.rowIDsPerAllocationMax) at a time (row_ids_per_allocation_max)")
        }
        let first = table.nextRowID
        let (next, overflow) = first.addingReportingOverflow(Int64(count))
        guard !overflow else {
            throw CatalogError(sqlState: "2200H", message: "row ids of table \"\(name)\" are exhausted (the next is \(first))")
        }
        table.nextRowID = next
        tables[name] = table
        return .rowIDs(first: first)
    }

    mutating func createIndex(_ index: CatalogIndex, ifNotExists: Bool) throws(CatalogError) -> CatalogResult {
        try Self.validate(index, limits)
        if let skipped = try refuseTaken(index.name, "CREATE INDEX", ifNotExists: ifNotExists) { return skipped }
        let table = try requireTable(index.table, "cannot create index on")
        if let missing = index.columns.first(where: { column in !table.spec.columns.contains { $0.name == column } }) {
            throw .undefinedColumn("column \"\(missing)\" of \"\(table.name)\" does not exist")
        }
        if index.unique { try Self.checkEnforceable("unique index \"\(index.name)\"", columns: index.columns, in: table.spec) }
        guard indexes.count < limits.indexesMax else {
            throw .limit("cannot create index \"\(index.name)\": indexes_max = \(limits.indexesMax) reached")
        }
        indexes[index.name] = index
        return .ok("CREATE INDEX")
    }

    mutating func dropIndex(_ name: String, ifExists: Bool) throws(CatalogError) -> CatalogResult {
        if let skipped = try refuseMissing(name, .index, "DROP INDEX", ifExists: ifExists) { return skipped }
        indexes[name] = nil
        return .ok("DROP INDEX")
    }

    mutating func createView(_ view: CatalogView, ifNotExists: Bool) throws(CatalogError) -> CatalogResult {
        try Self.validate(view, limits)
        if let skipped = try refuseTaken(view.name, "CREATE VIEW", ifNotExists: ifNotExists) { return skipped }
        guard views.count < limits.viewsMax else {
            throw .limit("cannot create view \"\(view.name)\": views_max = \(limits.viewsMax) reached")
        }
        views[view.name] = view
        return .ok("CREATE VIEW")
    }

    mutating func dropView(_ name: String, ifExists: Bool) throws(CatalogError) -> CatalogResult {
        if let skipped = try refuseMissing(name, .view, "DROP VIEW", ifExists: ifExists) { return skipped }
        views[name] = nil
        return .ok("DROP VIEW")
    }

    mutating func addColumn(_ column: CatalogColumn, to name: String, shardDDL: String) throws(CatalogError) -> String {
        var table = try requireTable(name, "cannot alter")
        var spec = table.spec
        // The shard DDL gains the ALTER: the gateway's scratch copy of the table (an INSERT's
        // evaluation) and shards created later (ADD PRIMARY KEY rebuilds them) run the list in
        // order. Regression: without it an INSERT naming an added column failed at the gateway
        // ("table t has no column named c") and a rebuild dropped the column.
        if spec.shardDDL.isEmpty { spec.shardDDL = ShardRouting.shardDDL(for: spec) }
        spec.shardDDL.append(shardDDL)
        spec.columns.append(column)
        guard spec.columns.count <= limits.columnsMax else {
            throw CatalogError(sqlState: "54011", message: "table \"\(name)\" would have \(spec.columns.count) columns; columns_max = \(limits.columnsMax)")
        }
        // The whole spec is checked again: the column's name, type and uniqueness against the
        // shard key, as if the table had been created with it.
        try Self.validate(spec, limits)
        try Self.checkAddColumnSQL(shardDDL, table: name, column: column.name, limits)
        table.spec = spec
        tables[name] = table
        return "ALTER TABLE"
    }

    mutating func dropColumn(_ column: String, from name: String) throws(CatalogError) -> String {
        var table = try requireTable(name, "cannot alter")
        guard let position = table.spec.columns.firstIndex(where: { $0.name == column }) else {
            throw .undefinedColumn("column \"\(column)\" of relation \"\(name)\" does not exist")
        }
        let spec = table.spec
        let users = (spec.primaryKey.contains(column) ? ["the primary key"] : [])
            + (spec.shardKey.contains(column) ? ["the shard key"] : [])
            + (spec.columns[position].unique || spec.uniqueConstraints.contains { $0.columns.contains(column) } ? ["a UNIQUE constraint"] : [])
            + indexes(on: name).filter { $0.columns.contains(column) }.map { "index \"\($0.name)\"" }
        guard users.isEmpty else {
            throw CatalogError(sqlState: "2BP01", message: "cannot drop column \"\(column)\" of \"\(name)\": \(users.joined(separator: ", ")) uses it")
        }
        guard spec.columns.count > 1 else {
            throw .invalidDefinition("cannot drop column \"\(column)\": it is the only column of \"\(name)\"")
        }
        table.spec.columns.remove(at: position)
        // The undo of a failed ADD COLUMN (the gateway's only use): its ALTER leaves the shard DDL.
        if let added = table.spec.shardDDL.indices.dropFirst().last(where: { index in
            (try? Self.checkAddColumnSQL(table.spec.shardDDL[index], table: name, column: column, limits)) != nil
        }) {
            table.spec.shardDDL.remove(at: added)
            // As it was when the table had no shard DDL of its own (addColumn rendered it).
            if table.spec.shardDDL == [ShardRouting.createTableSQL(for: table.spec)] { table.spec.shardDDL = [] }
        }
        tables[name] = table
        return "ALTER TABLE"
    }

    /// ALTER TABLE ... ADD PRIMARY KEY, once the gateway has rewritten the shards: `spec` replaces
    /// the table's spec. Anything but the keys, the key columns' NOT NULL and the shard DDL must
    /// stay as it is (the rows on the shards were written for those columns and that shard count).
    mutating func rekeyTable(_ spec: CatalogTableSpec) throws(CatalogError) -> String {
        var table = try requireTable(spec.name, "cannot alter")
        let old = table.spec
        // The key columns of either spec may change NOT NULL (the way back restores the old flags).
        let keyColumns = Set(spec.primaryKey + spec.shardKey + old.primaryKey + old.shardKey)
        let sameColumns = spec.columns.count == old.columns.count && zip(spec.columns, old.columns).allSatisfy { new, old in
            var compared = new
            if keyColumns.contains(new.name) { compared.notNull = old.notNull }
            return compared == old
        }
        guard sameColumns, spec.shardCount == old.shardCount, spec.uniqueConstraints == old.uniqueConstraints else {
            throw .invalidDefinition("a new key for \"\(spec.name)\" may change only its primary key, shard key, the key columns' NOT NULL and its shard DDL")
        }
        try Self.validate(spec, limits)
        table.spec = spec
        tables[spec.name] = table
        return "ALTER TABLE"
    }

    /// The table `name`; 42P01 when there is none, 42809 when the name is a view or an index.
    private func requireTable(_ name: String, _ action: String) throws(CatalogError) -> CatalogTable {
        if let table = tables[name] { return table }
        if let kind = relationKind(named: name) {
            throw .wrongObjectType("\(action) \"\(name)\": it is a\(kind == .index ? "n" : "") \(kind.name), not a table")
        }
        throw .undefinedTable(name)
    }

    // MARK: Users

    mutating func createUser(_ user: CatalogUser) throws(CatalogError) -> String {
        try Self.validateUserName(user.name, limits)
        // The bootstrap owner of every object (PostgresCatalog.ownerName) is not a catalog user.
        guard users[user.name] == nil, user.name != PostgresCatalog.ownerName else {
            throw .duplicateObject("role \"\(user.name)\" already exists")
        }
        guard users.count < limits.usersMax else {
            throw .limit("cannot create user \"\(user.name)\": users_max = \(limits.usersMax) reached")
        }
        users[user.name] = user
        return "CREATE ROLE"
    }

    mutating func alterUser(_ user: CatalogUser) throws(CatalogError) -> String {
        guard users[user.name] != nil else { throw .undefinedObject("role \"\(user.name)\" does not exist") }
        users[user.name] = user
        return "ALTER ROLE"
    }

    mutating func dropUser(_ name: String, ifExists: Bool) throws(CatalogError) -> CatalogResult {
        guard users[name] != nil else {
            guard ifExists else { throw .undefinedObject("role \"\(name)\" does not exist") }
            return .skipped("DROP ROLE", notice: "role \"\(name)\" does not exist, skipping")
        }
        users[name] = nil
        return .ok("DROP ROLE")
    }

    static func validateUserName(_ name: String, _ limits: CatalogLimits) throws(CatalogError) {
        guard !name.isEmpty, name.utf8.count <= limits.nameBytesMax else {
            throw .invalidName("user name \"\(name)\" must be 1 to \(limits.nameBytesMax) bytes (name_bytes_max)")
        }
        // PostgreSQL reserves the pg_ prefix for its own roles.
        guard !name.hasPrefix("pg_") else { throw .invalidName("role name \"\(name)\" is reserved: names starting with pg_ are") }
    }
}
