import Consensus
import Testing

@testable import MeshDB

/// The schema the SQL planner drives through the catalog: rich table specs, tables without a
/// shard key and their row ids, indexes, views, ADD / DROP COLUMN, the system tables that list
/// them, and their snapshot.
@Suite struct CatalogSchemaTests {
    typealias Base = CatalogStateMachineTests

    /// A table as the planner renders `CREATE TABLE orders (id INTEGER PRIMARY KEY, customer
    /// VARCHAR(20) NOT NULL, total NUMERIC(10,2) DEFAULT 0 CHECK (total >= 0), placed TIMESTAMP,
    /// UNIQUE (id, customer)) SHARDS 4`.
    static let orders = CatalogTableSpec(
        name: "orders",
        columns: [
            CatalogColumn(name: "id", type: .integer, notNull: true),
            CatalogColumn(name: "customer", type: .text, notNull: true, declaredType: "varchar(20)"),
            CatalogColumn(name: "total", type: .numeric, declaredType: "numeric(10,2)", hasDefault: true),
            CatalogColumn(name: "placed", type: .timestamp),
        ],
        primaryKey: ["id"], shardKey: ["id"], shardCount: 4,
        uniqueConstraints: [CatalogUniqueConstraint(columns: ["id", "customer"])],
        shardDDL: [
            "CREATE TABLE orders (id INTEGER NOT NULL PRIMARY KEY, customer TEXT NOT NULL, total NUMERIC DEFAULT 0 CHECK (total >= 0), placed TEXT, UNIQUE (id, customer))",
        ])

    /// `CREATE TABLE events (kind TEXT, payload BLOB) SHARDS 4`: no primary key, a hidden row id.
    static let events = CatalogTableSpec(
        name: "events", columns: [CatalogColumn(name: "kind", type: .text), CatalogColumn(name: "payload", type: .blob)],
        primaryKey: [], shardKey: [], shardCount: 4)

    static let byCustomer = CatalogIndex(name: "orders_by_customer", table: "orders", columns: ["customer"], unique: false,
                                         sql: "CREATE INDEX orders_by_customer ON orders (customer)")

    static func booted(_ commands: [CatalogCommand] = [.createTable(orders, ifNotExists: false), .createTable(events, ifNotExists: false)]) -> CatalogStateMachine {
        var catalog = Base.booted()
        let results = Base.run(&catalog, commands, sequence: 2)
        precondition(results.allSatisfy { Base.sqlState($0) == nil }, "setup: \(results)")
        return catalog
    }

    static func error(_ result: CatalogResult) -> CatalogError? {
        guard case .error(let error) = result else { return nil }
        return error
    }

    @Test func richSpecsSurviveTheCodecAndTheSnapshot() throws {
        let catalog = Self.booted()
        #expect(try CatalogCommand(decoding: CatalogCommand.createTable(Self.orders, ifNotExists: false).encoded()) == .createTable(Self.orders, ifNotExists: false))
        var restored = CatalogStateMachine()
        try restored.restore(from: catalog.snapshot())
        #expect(restored.table(named: "orders") == catalog.table(named: "orders"))
        #expect(restored.table(named: "orders")?.spec.columns[1].declaredType == "varchar(20)")
        #expect(restored.table(named: "orders")?.spec.columns[3].declaredType == "timestamp")
        #expect(restored.snapshot() == catalog.snapshot())
        // Object ids are handed out in order and never reused.
        #expect(catalog.table(named: "orders")?.id == CatalogStateMachine.firstObjectID)
        #expect(catalog.table(named: "events")?.id == CatalogStateMachine.firstObjectID + 1)
        var again = catalog
        _ = Base.run(&again, [.dropTable(name: "events", ifExists: false), .createTable(Self.events, ifNotExists: false)])
        #expect(again.table(named: "events")?.id == CatalogStateMachine.firstObjectID + 2)
    }

    /// Each reply carries the number of requests the catalog executed through it, refused ones
    /// too: a gateway waits for its own replica to reach it before reading its catalog again.
    @Test func repliesCarryTheCatalogVersionWhichSnapshotsKeep() throws {
        var catalog = Base.booted()
        let before = catalog.version
        #expect(before == UInt64(Base.bootstrap.count))
        let commands: [CatalogCommand] = [.createTable(Self.orders, ifNotExists: false), .createTable(Self.orders, ifNotExists: false),
                                          .dropView(name: "nothing", ifExists: true)]
        let replies = catalog.execute(sequence: 5, requests: commands.map { Request(client: 1, timestamp: 1, operation: $0.encoded()) })
            .map { try! CatalogReply(decoding: $0) }
        #expect(replies.map(\.version) == [before + 1, before + 2, before + 3])
        #expect(replies.map { Base.sqlState($0.result) } == [nil, "42P07", nil])
        var restored = CatalogStateMachine()
        try restored.restore(from: catalog.snapshot())
        #expect(restored.version == catalog.version)
    }

    @Test func uniquenessMustBeEnforceableInsideOneShard() {
        var catalog = Base.booted()
        func refusal(_ change: (inout CatalogTableSpec) -> Void) -> CatalogError? {
            var spec = Self.orders
            change(&spec)
            return Self.error(Base.run(&catalog, [.createTable(spec, ifNotExists: false)])[0])
        }
        // A UNIQUE constraint without the shard key: equal values could land in two shards.
        let lacking = refusal { $0.uniqueConstraints = [CatalogUniqueConstraint(name: "one_customer", columns: ["customer"])] }
        #expect(lacking?.sqlState == "42P16")
        #expect(lacking?.message.contains("\"one_customer\"") == true && lacking?.message.contains("shard key column \"id\"") == true)
        let unnamed = refusal { $0.columns[1].unique = true }
        #expect(unnamed?.message.contains("UNIQUE constraint \"orders_customer_key\"") == true)
        let primary = refusal { $0.shardKey = ["customer"]; $0.shardDDL = [] }
        #expect(primary?.sqlState == "42P16")
        #expect(primary?.message.contains("PRIMARY KEY constraint \"orders_pkey\"") == true)
        // A hidden row id spreads equal values anywhere, unless there is one shard.
        var hidden = Self.events
        hidden.columns[0].unique = true
        #expect(Self.error(Base.run(&catalog, [.createTable(hidden, ifNotExists: false)])[0])?.message.contains("hidden row id") == true)
        hidden.shardCount = 1
        #expect(Base.run(&catalog, [.createTable(hidden, ifNotExists: false)])[0] == .ok("CREATE TABLE"))
        // Sharded by a column without a primary key: constraints must include that column.
        var byKind = Self.events
        byKind.name = "by_kind"
        byKind.shardKey = ["kind"]
        byKind.uniqueConstraints = [CatalogUniqueConstraint(columns: ["kind", "payload"])]
        #expect(Base.run(&catalog, [.createTable(byKind, ifNotExists: false)])[0] == .ok("CREATE TABLE"))
        #expect(catalog.table(named: "by_kind")?.spec.hasHiddenRowID == false)
    }

    @Test func namesAndWidthsStopAtTheirNamedLimits() {
        var catalog = Base.booted()
        var spec = Self.events
        spec.name = String(repeating: "n", count: 63)
        #expect(Base.run(&catalog, [.createTable(spec, ifNotExists: false)])[0] == .ok("CREATE TABLE"))
        spec.name = String(repeating: "n", count: 64)
        let long = Self.error(Base.run(&catalog, [.createTable(spec, ifNotExists: false)])[0])
        #expect(long?.sqlState == "53400")  // the decoder's bound on a name, named by its field
        #expect(throws: CatalogError.self) { try CatalogStateMachine.validate(spec, CatalogLimits()) }
        do {
            try CatalogStateMachine.validate(spec, CatalogLimits())
        } catch {
            #expect(error.sqlState == "42622" && error.message.contains("name_bytes_max = 63"))
        }
        // 1,600 columns fit (with short names); the 1,601st is refused naming columns_max.
        spec.name = "wide"
        spec.columns = (1...1_600).map { CatalogColumn(name: "c\($0)", type: .integer) }
        #expect(CatalogCommand.createTable(spec, ifNotExists: false).encoded().count <= CatalogLimits().commandBytesMax)
        #expect(Base.run(&catalog, [.createTable(spec, ifNotExists: false)])[0] == .ok("CREATE TABLE"))
        spec.columns.append(CatalogColumn(name: "c1601", type: .integer))
        do {
            try CatalogStateMachine.validate(spec, CatalogLimits())
            Issue.record("1,601 columns were accepted")
        } catch {
            #expect(error.sqlState == "54011" && error.message.contains("columns_max = 1600"))
        }
        var rowid = Self.events
        rowid.columns.append(CatalogColumn(name: "rowid", type: .integer))
        #expect(Self.error(Base.run(&catalog, [.createTable(rowid, ifNotExists: false)])[0])?.sqlState == "42701")
        var declared = Self.events
        declared.columns[0].declaredType = String(repeating: "x", count: 64)
        #expect(Self.error(Base.run(&catalog, [.createTable(declared, ifNotExists: false)])[0])?.sqlState == "53400")
        declared.columns[0].declaredType = "text\n"
        #expect(Self.error(Base.run(&catalog, [.createTable(declared, ifNotExists: false)])[0])?.sqlState == "22023")
    }

    @Test func shardDDLMustBeWhatTheShardsAcceptAndCreateThisTable() {
        var catalog = Base.booted()
        func state(_ ddl: [String], _ base: CatalogTableSpec = CatalogSchemaTests.orders) -> String? {
            var spec = base
            spec.shardDDL = ddl
            return Base.sqlState(Base.run(&catalog, [.createTable(spec, ifNotExists: false)])[0])
        }
        #expect(state(["CREATE TABLE other (id INTEGER)"]) == "42P16")
        #expect(state(["CREATE TEMP TABLE orders (id INTEGER)"]) == "42P16")
        #expect(state(["BEGIN"]) == "42P16")
        #expect(state(["CREATE TABLE orders (id INTEGER, placed TEXT DEFAULT CURRENT_TIMESTAMP)"]) == "42P16")
        #expect(state(["CREATE TABLE events (kind TEXT PRIMARY KEY, payload BLOB) WITHOUT ROWID"], Self.events) == "42P16")
        #expect(state(["CREATE TABLE IF NOT EXISTS \"orders\" (id INTEGER NOT NULL PRIMARY KEY)",
                       "CREATE INDEX orders_id ON orders (id)"]) == nil)
        #expect(ShardRouting.shardDDL(for: Self.events) == ["CREATE TABLE \"events\" (\"kind\" TEXT, \"payload\" BLOB)"])
    }

    @Test func rowIDBlocksAreDisjointAlikeOnEveryReplicaAndSurviveASnapshot() throws {
        var a = Self.booted()
        var b = Self.booted()
        let commands: [CatalogCommand] = [.allocateRowIDs(table: "events", count: 4_096), .allocateRowIDs(table: "events", count: 10),
                                          .allocateRowIDs(table: "events", count: 1)]
        let results = Base.run(&a, commands)
        #expect(results == [.rowIDs(first: 1), .rowIDs(first: 4_097), .rowIDs(first: 4_107)])
        #expect(Base.run(&b, commands) == results)
        #expect(a.stateDigest == b.stateDigest)
        var restored = CatalogStateMachine()
        try restored.restore(from: a.snapshot())
        #expect(Base.run(&restored, [.allocateRowIDs(table: "events", count: 5)]) == [.rowIDs(first: 4_108)])
        let refusals = Base.run(&a, [
            .allocateRowIDs(table: "orders", count: 5),  // has a shard key
            .allocateRowIDs(table: "nothing", count: 5),
            .allocateRowIDs(table: "events", count: 0),
            .allocateRowIDs(table: "events", count: (1 << 20) + 1),
        ])
        #expect(refusals.map(Base.sqlState) == ["55000", "42P01", "22023", "22023"])
        #expect(Self.error(refusals[3])?.message.contains("row_ids_per_allocation_max") == true)
        a.tables["events"]!.nextRowID = Int64.max - 3
        #expect(Base.run(&a, [.allocateRowIDs(table: "events", count: 3)]) == [.rowIDs(first: Int64.max - 3)])
        #expect(Base.run(&a, [.allocateRowIDs(table: "events", count: 1)]).map(Base.sqlState) == ["2200H"])
    }

    @Test func indexesShareTheNamespaceAndCheckTheirTable() {
        var catalog = Self.booted([.createTable(Self.orders, ifNotExists: false), .createTable(Self.events, ifNotExists: false),
                                   .createView(CatalogView(name: "recent", sql: "SELECT * FROM orders"), ifNotExists: false)])
        func index(_ name: String, _ table: String = "orders", _ columns: [String] = ["customer"], unique: Bool = false, sql: String? = nil) -> CatalogIndex {
            CatalogIndex(name: name, table: table, columns: columns, unique: unique,
                         sql: sql ?? "CREATE \(unique ? "UNIQUE " : "")INDEX \(name) ON \(table) (\(columns.joined(separator: ", ")))")
        }
        let results = Base.run(&catalog, [
            .createIndex(Self.byCustomer, ifNotExists: false),
            .createIndex(Self.byCustomer, ifNotExists: false),
            .createIndex(Self.byCustomer, ifNotExists: true),
            .createIndex(index("orders"), ifNotExists: false),  // a table's name
            .createIndex(index("recent"), ifNotExists: false),  // a view's name
            .createIndex(index("i1", "missing"), ifNotExists: false),
            .createIndex(index("i2", "recent"), ifNotExists: false),
            .createIndex(index("i3", "orders", ["nope"]), ifNotExists: false),
            .createIndex(index("i4", "orders", ["customer"], unique: true), ifNotExists: false),  // lacks the shard key
            .createIndex(index("i5", "orders", ["customer", "id"], unique: true), ifNotExists: false),
            .createIndex(index("i6", sql: "CREATE INDEX i7 ON orders (customer)"), ifNotExists: false),
            .createIndex(index("i8", sql: "CREATE UNIQUE INDEX i8 ON orders (customer)"), ifNotExists: false),
            .createIndex(index("i9", sql: "CREATE INDEX i9 ON orders (customer); DROP TABLE orders"), ifNotExists: false),
            .createIndex(index("i10", "orders", ["customer", "customer"]), ifNotExists: false),
        ])
        #expect(results[0] == .ok("CREATE INDEX"))
        #expect(results[2] == .skipped("CREATE INDEX", notice: "relation \"orders_by_customer\" already exists, skipping"))
        #expect(results.map(Base.sqlState) == [nil, "42P07", nil, "42P07", "42P07", "42P01", "42809", "42703", "42P16", nil,
                                               "42P16", "42P16", "42P16", "42701"])
        #expect(catalog.indexes(on: "orders").map(\.name) == ["i5", "orders_by_customer"])
        let drops = Base.run(&catalog, [
            .dropIndex(name: "orders", ifExists: false),
            .dropIndex(name: "nope", ifExists: false),
            .dropIndex(name: "nope", ifExists: true),
            .dropTable(name: "i5", ifExists: true),
            .dropIndex(name: "i5", ifExists: false),
            .dropTable(name: "orders", ifExists: false),
        ])
        #expect(drops.map(Base.sqlState) == ["42809", "42704", nil, "42809", nil, nil])
        #expect(Self.error(drops[0])?.message == "\"orders\" is not an index; use DROP TABLE to remove a table")
        #expect(drops[2] == .skipped("DROP INDEX", notice: "index \"nope\" does not exist, skipping"))
        // Dropping the table dropped its last index.
        #expect(catalog.sortedIndexes.isEmpty)
    }

    @Test func viewsAndTablesShareOneNamespace() {
        var catalog = Self.booted()
        let view = CatalogView(name: "big", sql: "SELECT id, total FROM orders WHERE total > 100", columns: ["id", "total"])
        let results = Base.run(&catalog, [
            .createView(view, ifNotExists: false),
            .createView(view, ifNotExists: false),
            .createView(view, ifNotExists: true),
            .createView(CatalogView(name: "orders", sql: "SELECT 1"), ifNotExists: false),
            .createView(CatalogView(name: "mesh_x", sql: "SELECT 1"), ifNotExists: false),
            .createView(CatalogView(name: "empty", sql: ""), ifNotExists: false),
            .createView(CatalogView(name: "twice", sql: "SELECT 1, 2", columns: ["a", "a"]), ifNotExists: false),
            .dropTable(name: "big", ifExists: false),
            .dropTable(name: "big", ifExists: true),
            .dropView(name: "orders", ifExists: false),
            .dropView(name: "gone", ifExists: false),
            .dropView(name: "gone", ifExists: true),
            .createTable({ var spec = Self.events; spec.name = "big"; return spec }(), ifNotExists: false),
            .dropView(name: "big", ifExists: false),
        ])
        #expect(results.map(Base.sqlState) == [nil, "42P07", nil, "42P07", "42939", "42P16", "42701", "42809", "42809", "42809",
                                               "42P01", nil, "42P07", nil])
        #expect(Self.error(results[7])?.message == "\"big\" is not a table; use DROP VIEW to remove a view")
        #expect(Self.error(results[9])?.message == "\"orders\" is not a view; use DROP TABLE to remove a table")
        #expect(catalog.view(named: "big") == nil)
        #expect(catalog.relationKind(named: "orders") == .table)
    }

    @Test func addColumnAppendsAndDropColumnOnlyTakesUnusedColumns() {
        var catalog = Self.booted([.createTable(Self.orders, ifNotExists: false), .createIndex(Self.byCustomer, ifNotExists: false),
                                   .createView(CatalogView(name: "recent", sql: "SELECT * FROM orders"), ifNotExists: false)])
        let note = CatalogColumn(name: "note", type: .text, declaredType: "varchar(80)", hasDefault: true)
        let add = "ALTER TABLE orders ADD COLUMN note TEXT DEFAULT ''"
        let results = Base.run(&catalog, [
            .addColumn(table: "orders", column: note, shardDDL: add),
            .addColumn(table: "orders", column: note, shardDDL: add),
            .addColumn(table: "recent", column: note, shardDDL: "ALTER TABLE recent ADD note TEXT"),
            .addColumn(table: "missing", column: note, shardDDL: "ALTER TABLE missing ADD note TEXT"),
            .addColumn(table: "orders", column: CatalogColumn(name: "other", type: .text), shardDDL: "ALTER TABLE orders ADD COLUMN note TEXT"),
            .addColumn(table: "orders", column: CatalogColumn(name: "code", type: .text, unique: true), shardDDL: "ALTER TABLE orders ADD code TEXT UNIQUE"),
            .addColumn(table: "orders", column: CatalogColumn(name: "at", type: .text), shardDDL: "ALTER TABLE orders ADD at TEXT DEFAULT (datetime())"),
        ])
        #expect(results.map(Base.sqlState) == [nil, "42701", "42809", "42P01", "42P16", "42P16", "42P16"])
        #expect(catalog.table(named: "orders")?.spec.columns.last == note)
        // The shard DDL gains the ALTER (the gateway's scratch copy and rebuilt shards run it).
        #expect(catalog.table(named: "orders")?.spec.shardDDL == Self.orders.shardDDL + [add])
        let drops = Base.run(&catalog, [
            .dropColumn(table: "orders", column: "id"),
            .dropColumn(table: "orders", column: "customer"),
            .dropColumn(table: "orders", column: "nope"),
            .dropColumn(table: "orders", column: "note"),
        ])
        #expect(drops.map(Base.sqlState) == ["2BP01", "2BP01", "42703", nil])
        #expect(Self.error(drops[1])?.message.contains("index \"orders_by_customer\"") == true)
        #expect(catalog.table(named: "orders")?.spec == Self.orders)
    }

    @Test func rekeyTableChangesOnlyKeysAndCanGoBack() {
        var catalog = Self.booted()
        var keyed = Self.events
        keyed.primaryKey = ["kind"]
        keyed.shardKey = ["kind"]
        keyed.columns[0].notNull = true
        keyed.shardDDL = ["CREATE TABLE events (kind TEXT NOT NULL, payload BLOB, PRIMARY KEY (kind))"]
        var retyped = keyed
        retyped.columns[1].type = .text
        var resharded = keyed
        resharded.shardCount = 8
        var missing = keyed
        missing.name = "missing"
        var unkeyedNotNull = keyed
        unkeyedNotNull.columns[1].notNull = true
        let results = Base.run(&catalog, [.rekeyTable(retyped), .rekeyTable(resharded), .rekeyTable(missing),
                                          .rekeyTable(unkeyedNotNull), .rekeyTable(keyed)])
        #expect(results.map { Base.sqlState($0) != nil } == [true, true, true, true, false])
        #expect(Base.sqlState(results[2]) == "42P01")
        #expect(catalog.table(named: "events")?.spec == keyed)
        #expect(catalog.table(named: "events")?.spec.hasHiddenRowID == false)
        // The gateway's way back when the shards did not commit: the old spec again.
        #expect(Base.run(&catalog, [.rekeyTable(Self.events)]).map(Base.sqlState) == [nil])
        #expect(catalog.table(named: "events")?.spec == Self.events)
    }

    @Test func systemTablesListColumnsIndexesAndViewsInNameOrder() {
        let catalog = Self.booted([
            .createTable(Self.orders, ifNotExists: false), .createTable(Self.events, ifNotExists: false),
            .createIndex(Self.byCustomer, ifNotExists: false),
            .createIndex(CatalogIndex(name: "events_kind", table: "events", columns: ["kind"], unique: false,
                                      sql: "CREATE INDEX events_kind ON events (kind)"), ifNotExists: false),
            .createView(CatalogView(name: "z_view", sql: "SELECT 1 AS one", columns: ["one"]), ifNotExists: false),
            .createView(CatalogView(name: "a_view", sql: "SELECT kind FROM events"), ifNotExists: false),
        ])
        let columns = catalog.meshColumns()
        #expect(columns.columns == ["table_name", "position", "column_name", "type", "declared_type", "not_null", "primary_key_position",
                                    "is_unique", "has_default"])
        #expect(columns.rows == [
            ["events", 1, "kind", "text", "text", 0, .null, 0, 0],
            ["events", 2, "payload", "blob", "blob", 0, .null, 0, 0],
            ["orders", 1, "id", "integer", "integer", 1, 1, 0, 0],
            ["orders", 2, "customer", "text", "varchar(20)", 1, .null, 0, 0],
            ["orders", 3, "total", "numeric", "numeric(10,2)", 0, .null, 0, 1],
            ["orders", 4, "placed", "timestamp", "timestamp", 0, .null, 0, 0],
        ])
        #expect(catalog.meshIndexes().rows == [
            ["events_kind", "events", "kind", 0, "CREATE INDEX events_kind ON events (kind)"],
            ["orders_by_customer", "orders", "customer", 0, .text(Self.byCustomer.sql)],
        ])
        #expect(catalog.meshViews().rows == [["a_view", "", "SELECT kind FROM events"], ["z_view", "one", "SELECT 1 AS one"]])
        for name in CatalogStateMachine.systemTableNames {
            #expect(catalog.systemTable(named: name) != nil, "\(name)")
        }
    }

    @Test func snapshotsCarryIndexesViewsAndCountersAndRefuseBrokenOnes() throws {
        var source = Self.booted([.createTable(Self.orders, ifNotExists: false), .createTable(Self.events, ifNotExists: false),
                                  .createIndex(Self.byCustomer, ifNotExists: false),
                                  .createView(CatalogView(name: "recent", sql: "SELECT * FROM orders", columns: ["id"]), ifNotExists: false),
                                  .allocateRowIDs(table: "events", count: 100)])
        var target = CatalogStateMachine()
        try target.restore(from: source.snapshot())
        #expect(target.snapshot() == source.snapshot())
        #expect(target.meshIndexes() == source.meshIndexes())
        #expect(target.meshViews() == source.meshViews())
        let next: [CatalogCommand] = [.allocateRowIDs(table: "events", count: 1), .createTable(Self.events, ifNotExists: true),
                                      .dropTable(name: "orders", ifExists: false)]
        #expect(Base.run(&target, next) == Base.run(&source, next))
        #expect(target.stateDigest == source.stateDigest)
        // Every flipped byte gives a refused snapshot (catalog untouched) or a sound catalog
        // that re-encodes to exactly the bytes given: never a trap, never a half-restored state.
        let good = Self.booted([.createTable(Self.orders, ifNotExists: false), .createIndex(Self.byCustomer, ifNotExists: false),
                                .createView(CatalogView(name: "recent", sql: "SELECT 1"), ifNotExists: false)]).snapshot()
        let before = target.snapshot()
        var random = SeededBytes(seed: 5)
        var refused = 0
        for _ in 0..<2_000 {
            var flipped = good
            flipped[Int(random.next() % UInt64(good.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            var copy = target
            do {
                try copy.restore(from: flipped)
                #expect(copy.snapshot() == flipped)
            } catch {
                refused += 1
                #expect(copy.snapshot() == before)
            }
        }
        #expect(refused > 1_000)
    }
}
