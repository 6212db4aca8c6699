import QueryPlanner

/// The rows of each system relation, computed from the catalog replica.
extension PostgresCatalog {
    /// An index as pg_index and pg_class show it: CREATE INDEX ones, and the implicit ones of
    /// PRIMARY KEY (`<table>_pkey`) and UNIQUE constraints (`<table>_<columns>_key`).
    struct IndexEntry {
        var name: String
        var table: CatalogTable
        var columns: [String]
        var unique: Bool
        /// "p" or "u" for a constraint's index; nil for CREATE INDEX.
        var constraint: String?

        var oid: Int64 { PostgresCatalog.oid("i", name) }
        var constraintOID: Int64 { PostgresCatalog.oid("c", name) }

        /// pg_get_indexdef's text.
        var definition: String {
            "CREATE \(unique ? "UNIQUE " : "")INDEX \(name) ON public.\(table.name) USING btree (\(columns.joined(separator: ", ")))"
        }

        /// `columns` as 1-based attribute numbers.
        var attributeNumbers: [Int] {
            columns.compactMap { name in table.spec.columns.firstIndex { $0.name == name }.map { $0 + 1 } }
        }
    }

    /// Every index of every table, by table then name.
    static func indexes(_ catalog: CatalogStateMachine) -> [IndexEntry] {
        let created = catalog.sortedIndexes
        return catalog.sortedTables.flatMap { table -> [IndexEntry] in
            var entries: [IndexEntry] = []
            if !table.spec.primaryKey.isEmpty {
                entries.append(IndexEntry(name: "\(table.name)_pkey", table: table, columns: table.spec.primaryKey, unique: true, constraint: "p"))
            }
            for column in table.spec.columns where column.unique {
                entries.append(IndexEntry(name: "\(table.name)_\(column.name)_key", table: table, columns: [column.name], unique: true, constraint: "u"))
            }
            for constraint in table.spec.uniqueConstraints {
                let name = constraint.name.isEmpty ? "\(table.name)_\(constraint.columns.joined(separator: "_"))_key" : constraint.name
                entries.append(IndexEntry(name: name, table: table, columns: constraint.columns, unique: true, constraint: "u"))
            }
            for index in created where index.table == table.name {
                entries.append(IndexEntry(name: index.name, table: table, columns: index.columns, unique: index.unique, constraint: nil))
            }
            return entries.sorted { $0.name < $1.name }
        }
    }

    /// The rows of `relation`, each in the relation's column order.
    public static func rows(of relation: Relation, catalog: CatalogStateMachine) -> [[SQLiteValue]] {
        let rows = rawRows(of: relation.name, catalog: catalog)
        for row in rows { precondition(row.count == relation.columns.count, "a \(relation.name) row has \(row.count) values") }
        return rows
    }

    private static func rawRows(of name: String, catalog: CatalogStateMachine) -> [[SQLiteValue]] {
        switch name {
        case "pg_namespace":
            return [[.integer(pgCatalogOID), .text("pg_catalog"), .integer(ownerOID), .null],
                    [.integer(publicOID), .text("public"), .integer(ownerOID), .null],
                    [.integer(informationSchemaOID), .text("information_schema"), .integer(ownerOID), .null]]
        case "pg_class": return classRows(catalog)
        case "pg_attribute": return attributeRows(catalog)
        case "pg_type": return typeRows()
        case "pg_index":
            return indexes(catalog).map { index in
                let keys = index.attributeNumbers
                return [.integer(index.oid), .integer(oid("r", index.table.name)), .integer(Int64(keys.count)), .integer(Int64(keys.count)),
                        bool(index.unique), bool(false), bool(index.constraint == "p"), bool(false), bool(true), bool(false), bool(true),
                        bool(false), bool(true), bool(true), bool(false), .text(keys.map(String.init).joined(separator: " ")), .null, .null]
            }
        case "pg_constraint":
            return indexes(catalog).compactMap { index in
                guard let kind = index.constraint else { return nil }
                let keys = "{" + index.attributeNumbers.map(String.init).joined(separator: ",") + "}"
                return [.integer(index.constraintOID), .text(index.name), .integer(publicOID), .text(kind), bool(false), bool(false),
                        bool(true), .integer(oid("r", index.table.name)), .integer(0), .integer(index.oid), .integer(0), .integer(0),
                        bool(true), .integer(0), bool(true), .text(keys), .null, .null]
            }
        case "pg_database":
            return [[.integer(databaseOID), .text(databaseName), .integer(ownerOID), .integer(6), .text("c"), bool(false), bool(true),
                     .integer(-1), .text("C"), .text("C"), .null, .null]]
        case "pg_roles":
            return roles(catalog).map { role in
                [.integer(role.oid), .text(role.name), bool(role.superuser), bool(true), bool(role.superuser), bool(role.superuser),
                 bool(true), bool(false), .integer(-1), .text("********"), .null, bool(role.superuser), .null]
            }
        case "pg_authid":
            // No secrets: PostgreSQL shows rolpassword to superusers only; MeshDB to no one.
            return roles(catalog).map { role in
                [.integer(role.oid), .text(role.name), bool(role.superuser), bool(true), bool(role.superuser), bool(role.superuser),
                 bool(true), bool(false), bool(role.superuser), .integer(-1), .null, .null]
            }
        case "pg_user":
            return roles(catalog).map { role in
                [.text(role.name), .integer(role.oid), bool(role.superuser), bool(role.superuser), bool(false), bool(role.superuser),
                 .text("********"), .null, .null]
            }
        case "pg_am":
            return [[.integer(heapAccessMethodOID), .text("heap"), .text("heap_tableam_handler"), .text("t")],
                    [.integer(btreeAccessMethodOID), .text("btree"), .text("bthandler"), .text("i")]]
        case "pg_collation":
            return [(defaultCollationOID, "default", "d", ""), (950, "C", "c", "C"), (951, "POSIX", "c", "POSIX")].map { oid, name, provider, locale in
                [.integer(oid), .text(name), .integer(pgCatalogOID), .integer(ownerOID), .text(provider), bool(true), .integer(-1),
                 locale.isEmpty ? .null : .text(locale), locale.isEmpty ? .null : .text(locale)]
            }
        case "pg_settings":
            return SessionSettings.defaults.map { name, value in
                [.text(name), .text(value), .null, .text("MeshDB"), .text(""), .text("user"), .text("string"), .text("default")]
            }
        case "information_schema.schemata":
            return ["information_schema", "pg_catalog", "public"].map { [.text(databaseName), .text($0), .text(ownerName)] }
        case "information_schema.tables":
            let user = catalog.sortedTables.map { ("public", $0.name, "BASE TABLE", "YES") }
                + catalog.sortedViews.map { ("public", $0.name, "VIEW", "NO") }
            let system = relations.map { relation in
                let qualified = relation.qualified
                return (qualified.schema, qualified.name, qualified.schema == "pg_catalog" ? "BASE TABLE" : "VIEW", "NO")
            }
            return (user + system).map { schema, name, type, insertable in
                [.text(databaseName), .text(schema), .text(name), .text(type), .text(insertable), .text("NO"), .null]
            }
        case "information_schema.columns":
            return catalog.sortedTables.flatMap { table in
                table.spec.columns.enumerated().map { position, column in
                    let type = type(of: column)
                    let modifier = typeModifier(of: column.declaredType, type: type)
                    let length: SQLiteValue = (type == .varchar || type == .bpchar) && modifier > 0 ? .integer(modifier - 4) : .null
                    return [.text(databaseName), .text("public"), .text(table.name), .text(column.name), .integer(Int64(position + 1)),
                            .null, .text(notNull(column, of: table) ? "NO" : "YES"), .text(type.formatted()), length, .null, .null, .text(type.name)]
                }
            }
        default:
            // pg_attrdef, pg_description, pg_auth_members, pg_inherits, pg_policy, pg_statistic_ext,
            // pg_publication*: MeshDB has no
            // such objects (column defaults live in the shards' DDL, not as expressions in the
            // catalog), so these relations exist and are empty.
            return []
        }
    }

    struct Role {
        var oid: Int64
        var name: String
        var superuser: Bool
    }

    /// The bootstrap owner, then the catalog's users by name.
    static func roles(_ catalog: CatalogStateMachine) -> [Role] {
        [Role(oid: ownerOID, name: ownerName, superuser: true)]
            + catalog.sortedUsers.map { Role(oid: oid("u", $0.name), name: $0.name, superuser: false) }
    }

    private static func classRows(_ catalog: CatalogStateMachine) -> [[SQLiteValue]] {
        let indexes = indexes(catalog)
        func row(oid: Int64, name: String, namespace: Int64, am: Int64, hasIndex: Bool, kind: String, attributes: Int) -> [SQLiteValue] {
            [.integer(oid), .text(name), .integer(namespace), .integer(0), .integer(0), .integer(ownerOID), .integer(am), .integer(oid),
             .integer(0), .integer(0), .real(-1), .integer(0), .integer(0), bool(hasIndex),
             bool(false), .text("p"), .text(kind), .integer(Int64(attributes)), .integer(0), bool(false),
             bool(false), bool(false), bool(false), bool(false), bool(true),
             .text("d"), bool(false), .null, .null, .null]
        }
        var rows: [[SQLiteValue]] = []
        for table in catalog.sortedTables {
            rows.append(row(oid: oid("r", table.name), name: table.name, namespace: publicOID, am: heapAccessMethodOID,
                            hasIndex: indexes.contains { $0.table.name == table.name }, kind: "r", attributes: table.spec.columns.count))
        }
        for view in catalog.sortedViews {
            rows.append(row(oid: oid("r", view.name), name: view.name, namespace: publicOID, am: 0, hasIndex: false, kind: "v",
                            attributes: view.columns.count))
        }
        for index in indexes {
            rows.append(row(oid: index.oid, name: index.name, namespace: publicOID, am: btreeAccessMethodOID, hasIndex: false, kind: "i",
                            attributes: index.columns.count))
        }
        for relation in relations {
            let qualified = relation.qualified
            rows.append(row(oid: oid("r", relation.name), name: qualified.name, namespace: qualified.namespace, am: heapAccessMethodOID,
                            hasIndex: false, kind: qualified.schema == "pg_catalog" ? "r" : "v", attributes: relation.columns.count))
        }
        return rows
    }

    private static func attributeRows(_ catalog: CatalogStateMachine) -> [[SQLiteValue]] {
        func row(relation: Int64, number: Int, name: String, type: PostgresType, modifier: Int64, notNull: Bool, hasDefault: Bool) -> [SQLiteValue] {
            let collation = type.category == "S" && type != .name ? defaultCollationOID : 0
            return [.integer(relation), .text(name), .integer(Int64(type.oid)), .integer(-1), .integer(Int64(type.length)), .integer(Int64(number)),
                    .integer(0), .integer(modifier), bool([1, 2, 4, 8].contains(type.length)), bool(notNull), bool(hasDefault), bool(false),
                    .text(""), .text(""), bool(false), bool(true), .integer(0), .integer(collation), .null]
        }
        var rows: [[SQLiteValue]] = []
        for table in catalog.sortedTables {
            let relation = oid("r", table.name)
            for (position, column) in table.spec.columns.enumerated() {
                let type = type(of: column)
                rows.append(row(relation: relation, number: position + 1, name: column.name, type: type,
                                modifier: typeModifier(of: column.declaredType, type: type),
                                notNull: notNull(column, of: table), hasDefault: false))
            }
        }
        // An index's own attributes are its key columns (psql's `\d index` lists them).
        for index in indexes(catalog) {
            for (position, name) in index.columns.enumerated() {
                guard let column = index.table.spec.columns.first(where: { $0.name == name }) else { continue }
                let type = type(of: column)
                rows.append(row(relation: index.oid, number: position + 1, name: name, type: type,
                                modifier: typeModifier(of: column.declaredType, type: type), notNull: false, hasDefault: false))
            }
        }
        for relation in relations {
            for (position, column) in relation.columns.enumerated() {
                rows.append(row(relation: oid("r", relation.name), number: position + 1, name: column.name, type: column.type,
                                modifier: -1, notNull: false, hasDefault: false))
            }
        }
        return rows
    }

    private static func typeRows() -> [[SQLiteValue]] {
        PostgresType.all.map { type in
            let element: Int64 = type == .textArray ? Int64(PostgresType.text.oid) : 0
            let array: Int64 = type == .text ? Int64(PostgresType.textArray.oid) : 0
            let collation = type.category == "S" && type != .name ? defaultCollationOID : 0
            return [.integer(Int64(type.oid)), .text(type.name), .integer(pgCatalogOID), .integer(ownerOID), .integer(Int64(type.length)),
                    bool([1, 2, 4, 8].contains(type.length)), .text("b"), .text(type.category), bool(false), bool(true), .text(","),
                    .integer(0), .integer(element), .integer(array), .integer(0), .integer(-1), .integer(0), .integer(collation),
                    bool(false), .null]
        }
    }

    /// A primary-key column is NOT NULL whether or not it says so, as in PostgreSQL.
    static func notNull(_ column: CatalogColumn, of table: CatalogTable) -> Bool {
        column.notNull || table.spec.primaryKey.contains(column.name)
    }

    static func bool(_ value: Bool) -> SQLiteValue { .integer(value ? 1 : 0) }
}
