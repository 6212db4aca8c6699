import Consensus
import Foundation
import NIOPosix
import Testing
@testable import MeshDB
import TestSupport

/// The gateway API the SQL executor drives, over four nodes in one process: DDL that reaches
/// every shard (and is undone when the shards refuse it), tables without a primary key, the
/// per-shard write and read calls, and reads of several MiB.
@Suite(.heavy, .serialized) struct GatewaySchemaTests {

    /// Every row id of the table with the shard that holds it, read shard by shard.
    static func rowIDs(_ gateway: Gateway, _ table: String) async throws -> [(shard: UInt32, id: Int64)] {
        let shards = try await gateway.table(named: table)!.spec.shardCount
        var found: [(UInt32, Int64)] = []
        for shard in 0..<shards {
            let rows = try await gateway.read(table: table, shard: shard, sql: "SELECT rowid FROM \(table) ORDER BY rowid", consistency: .linearizable)
            for row in rows.rows {
                guard case .integer(let id) = row[0] else { throw GatewayError(sqlState: "XX000", message: "rowid \(row[0])") }
                found.append((shard, id))
            }
        }
        return found
    }

    static func event(_ n: Int) -> [SQLiteValue] { [.text("kind \(n)"), .blob([UInt8(n % 256)])] }

    @Test func rowsWithoutAPrimaryKeyGetRowIDsUniqueAcrossGatewaysRestartsAndRecreation() async throws {
        let demo = try await GatewayTests.startDemo()
        let events = CatalogSchemaTests.events
        try await demo.nodes[0].gateway.createTable(events)
        let (gateway0, gateway1) = (demo.nodes[0].gateway, demo.nodes[1].gateway)
        async let first = gateway0.insert(into: "events", rows: (0..<300).map(Self.event))
        async let second = gateway1.insert(into: "events", rows: (300..<600).map(Self.event))
        var singles = 0
        for n in 600..<605 { singles += try await demo.nodes[2].gateway.insert(into: "events", rows: [Self.event(n)]) }
        #expect(try await first + second + singles == 605)
        var ids = try await Self.rowIDs(demo.nodes[3].gateway, "events")
        #expect(ids.count == 605)
        #expect(Set(ids.map(\.id)).count == 605)
        // Each row sits in the shard its row id routes to, and the rows are spread.
        #expect(ids.allSatisfy { ShardRouting.shard(forRowID: $0.id, shardCount: 4) == $0.shard })
        #expect(Set(ids.map(\.shard)).count == 4)
        #expect(Set(try await demo.nodes[0].gateway.scan("events", consistency: .linearizable).rows) == Set((0..<605).map(Self.event)))

        // A restarted gateway has lost its cached block; it takes a fresh one, never reuses ids.
        let restarted = try await demo.restartNode(1)
        #expect(try await restarted.gateway.insert(into: "events", rows: (605..<615).map(Self.event)) == 10)
        ids = try await Self.rowIDs(demo.nodes[0].gateway, "events")
        #expect(ids.count == 615 && Set(ids.map(\.id)).count == 615)

        // Dropped and created again, the table's ids start over at 1; node 0 still caches what
        // is left of a block of the old table (1...4,096 or 4,097...8,192), which it must not use.
        try await demo.nodes[2].gateway.dropTable("events")
        try await demo.nodes[2].gateway.createTable(events)
        let fresh = try await demo.nodes[3].gateway.allocateRowIDs(table: "events", count: 10_000)
        #expect(fresh == Array(1...10_000))
        try await demo.nodes[0].gateway.insert(into: "events", rows: (0..<400).map(Self.event))
        ids = try await Self.rowIDs(demo.nodes[0].gateway, "events")
        #expect(ids.count == 400 && Set(ids.map(\.id)).isDisjoint(with: fresh))
        // The executor's own INSERT: ids from the gateway, rows routed by them.
        let gateway = demo.nodes[3].gateway
        let own = try await gateway.allocateRowIDs(table: "events", count: 3)
        #expect(Set(own).count == 3 && Set(own).isDisjoint(with: ids.map(\.id)))
        for id in own {
            let results = try await gateway.write(table: "events", shard: ShardRouting.shard(forRowID: id, shardCount: 4), statements: [
                ShardStore.Statement("INSERT INTO events (rowid, kind, payload) VALUES (?1, ?2, ?3) RETURNING rowid", [.integer(id), "own", .blob([])])])
            #expect(results[0].rows == [[.integer(id)]])
        }
        await #expect { try await gateway.allocateRowIDs(table: "missing", count: 1) } throws: { ($0 as? GatewayError)?.sqlState == "42P01" }
        await demo.stop()
    }

    /// The `sql` of shard `shard`'s schema object `name` (nil when the shard has none).
    static func shardSchema(_ gateway: Gateway, _ table: String, _ shard: UInt32, _ name: String) async throws -> String? {
        let rows = try await gateway.read(table: table, shard: shard, sql: "SELECT sql FROM sqlite_master WHERE name = ?1",
                                          parameters: [.text(name)], consistency: .linearizable).rows
        guard case .text(let sql)? = rows.first?.first else { return nil }
        return sql
    }

    static let visits = CatalogTableSpec(
        name: "visits",
        columns: [CatalogColumn(name: "site", type: .text, notNull: true), CatalogColumn(name: "day", type: .integer),
                  CatalogColumn(name: "hits", type: .integer)],
        primaryKey: [], shardKey: ["site"], shardCount: 4)

    @Test func indexesColumnsAndViewsReachEveryShardOrAreUndone() async throws {
        let demo = try await GatewayTests.startDemo()
        let gateway = demo.nodes[0].gateway
        // Shard DDL that the catalog's lexical check lets through but SQLite refuses: the table
        // is taken out of the catalog again, so the name is free for the good DDL.
        var broken = CatalogSchemaTests.orders
        broken.shardDDL = ["CREATE TABLE orders (id INTEGER NOT NULL PRIMARY KEY, customer TEXT NOT NULL, total NUMERIC, placed TEXT,)"]
        await #expect { try await gateway.createTable(broken) } throws: { ($0 as? GatewayError)?.sqlState == "42601" }
        #expect(try await gateway.table(named: "orders") == nil)
        try await gateway.createTable(CatalogSchemaTests.orders)
        try await gateway.insert(into: "orders", rows: (1...40).map { [.integer(Int64($0)), .text("c\($0 % 5)"), .real(Double($0)), .null] })
        // The planner's DDL created the shards: its CHECK holds on every shard.
        await #expect { try await gateway.insert(into: "orders", rows: [[99, "c", .real(-1), .null]]) } throws: { ($0 as? GatewayError)?.sqlState == "23514" }

        let created = try await demo.nodes[1].gateway.createIndex(CatalogSchemaTests.byCustomer)
        #expect(created == Gateway.DDLResult(tag: "CREATE INDEX", notice: nil))
        for shard: UInt32 in 0..<4 {
            #expect(try await Self.shardSchema(gateway, "orders", shard, "orders_by_customer") == CatalogSchemaTests.byCustomer.sql)
        }
        let again = try await gateway.createIndex(CatalogSchemaTests.byCustomer, ifNotExists: true)
        #expect(again.notice == "relation \"orders_by_customer\" already exists, skipping")
        #expect(try await gateway.index(named: "orders_by_customer") == CatalogSchemaTests.byCustomer)
        try await demo.nodes[2].gateway.dropIndex("orders_by_customer")
        for shard: UInt32 in 0..<4 { #expect(try await Self.shardSchema(gateway, "orders", shard, "orders_by_customer") == nil) }

        // A unique index over rows that break it: refused by one shard, undone everywhere.
        try await gateway.createTable(Self.visits)
        try await gateway.insert(into: "visits", rows: [["a", 1, 10], ["a", 1, 11], ["b", 1, 5]])
        let unique = CatalogIndex(name: "visits_site_day", table: "visits", columns: ["site", "day"], unique: true,
                                  sql: "CREATE UNIQUE INDEX visits_site_day ON visits (site, day)")
        await #expect { try await gateway.createIndex(unique) } throws: { ($0 as? GatewayError)?.sqlState == "23505" }
        #expect(try await gateway.index(named: "visits_site_day") == nil)
        for shard: UInt32 in 0..<4 { #expect(try await Self.shardSchema(gateway, "visits", shard, "visits_site_day") == nil) }

        // ADD COLUMN: in the catalog and on every shard.
        let note = CatalogColumn(name: "note", type: .text, declaredType: "varchar(80)", hasDefault: true)
        try await gateway.addColumn(note, to: "orders", shardDDL: "ALTER TABLE orders ADD COLUMN note TEXT DEFAULT 'none'")
        #expect(try await gateway.table(named: "orders")?.spec.columns.last == note)
        for shard: UInt32 in 0..<4 {
            let rows = try await gateway.read(table: "orders", shard: shard, sql: "SELECT DISTINCT note FROM orders", consistency: .verified).rows
            #expect(rows == [["none"]])
        }
        #expect(try gateway.systemTable("mesh_columns").rows.contains { $0[0] == "orders" && $0[2] == "note" && $0[4] == "varchar(80)" })
        // NOT NULL without a default: SQLite refuses it on the shards that hold rows only, so
        // the shards that added it drop it again, and the catalog too.
        let before = try await gateway.table(named: "visits")
        let flag = CatalogColumn(name: "flag", type: .integer, notNull: true)
        await #expect { try await gateway.addColumn(flag, to: "visits") } throws: { $0 is GatewayError }
        #expect(try await gateway.table(named: "visits") == before)
        var schemas: Set<String> = []
        for shard: UInt32 in 0..<4 { schemas.insert(try await Self.shardSchema(gateway, "visits", shard, "visits") ?? "") }
        #expect(schemas.count == 1 && !schemas.first!.contains("flag"))

        // Views share the tables' namespace.
        try await gateway.createView(CatalogView(name: "big_orders", sql: "SELECT * FROM orders WHERE total > 20", columns: []))
        // Node 3's catalog replica executes the view in its own time: commit needs 3 of the 4
        // (a CI run under load read it before node 3 had). Its own DDL waits for its replica.
        let deadline = ContinuousClock.now + .seconds(30)
        var seen = try await demo.nodes[3].gateway.view(named: "big_orders")
        while seen == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            seen = try await demo.nodes[3].gateway.view(named: "big_orders")
        }
        #expect(seen?.sql == "SELECT * FROM orders WHERE total > 20")
        await #expect { try await gateway.dropTable("big_orders") } throws: { ($0 as? GatewayError)?.sqlState == "42809" }
        await #expect { try await gateway.createView(CatalogView(name: "orders", sql: "SELECT 1")) } throws: { ($0 as? GatewayError)?.sqlState == "42P07" }
        await #expect { try await gateway.insert(into: "big_orders", rows: []) } throws: { ($0 as? GatewayError)?.sqlState == "42809" }
        #expect(try await gateway.dropView("big_orders", ifExists: true).notice == nil)
        #expect(try await gateway.dropView("big_orders", ifExists: true).notice == "view \"big_orders\" does not exist, skipping")

        // DROP TABLE takes its indexes along.
        try await gateway.createIndex(CatalogIndex(name: "visits_day", table: "visits", columns: ["day"], unique: false,
                                                   sql: "CREATE INDEX visits_day ON visits (day)"))
        try await gateway.dropTable("visits")
        #expect(try gateway.systemTable("mesh_indexes").rows.isEmpty)
        await demo.stop()
    }

    @Test func writeWriteAllAndReadServeTheExecutor() async throws {
        let demo = try await GatewayTests.startDemo()
        let gateway = demo.nodes[2].gateway
        try await gateway.createTable(GatewayTests.accounts)
        try await gateway.insert(into: "accounts", rows: (0..<40).map(GatewayTests.row))
        let shard = ShardRouting.shard(forKey: [.integer(7)], shardCount: 4)
        let updated = try await gateway.write(table: "accounts", shard: shard, statements: [
            ShardStore.Statement("UPDATE accounts SET balance = balance * 2 WHERE id = ?1 RETURNING id, balance", [.integer(7)]),
            ShardStore.Statement("DELETE FROM accounts WHERE id = ?1", [.integer(4242)]),
        ])
        #expect(updated.map(\.rowsChanged) == [1, 0])
        #expect(updated[0].columns == ["id", "balance"] && updated[0].rows == [[7, .real(3.5)]])

        let perShard = try await gateway.writeAll(table: "accounts", statements: [ShardStore.Statement("UPDATE accounts SET balance = balance + 1")])
        #expect(perShard.count == 4)
        var counts: [Int] = []
        for shard: UInt32 in 0..<4 {
            let rows = try await gateway.read(table: "accounts", shard: shard, sql: "SELECT count(*) FROM accounts")
            guard case .integer(let count) = rows.rows[0][0] else { return }
            counts.append(Int(count))
        }
        #expect(perShard.map { $0[0].rowsChanged } == counts)
        #expect(counts.reduce(0, +) == 40)
        let point = "SELECT balance FROM accounts WHERE id = ?1"
        for consistency in Gateway.ReadConsistency.allCases {
            try await GatewayTests.eventually {
                try await gateway.read(table: "accounts", shard: shard, sql: point, parameters: [.integer(7)], consistency: consistency).rows == [[.real(4.5)]]
            }
            #expect(try await gateway.read(table: "accounts", shard: shard, sql: point, parameters: [.integer(7)], consistency: consistency).rows == [[.real(4.5)]])
        }

        await #expect { try await gateway.write(table: "accounts", shard: 4, statements: []) } throws: { ($0 as? GatewayError)?.sqlState == "22023" }
        await #expect { try await gateway.read(table: "accounts", shard: 9, sql: "SELECT 1") } throws: { ($0 as? GatewayError)?.sqlState == "22023" }
        await #expect { try await gateway.write(table: "accounts", shard: 0, statements: [ShardStore.Statement("BEGIN")]) } throws: {
            ($0 as? GatewayError)?.sqlState == "25006"
        }
        let oversized = ShardStore.Statement("UPDATE accounts SET owner = ?1", [.text(String(repeating: "x", count: 140_000))])
        await #expect { try await gateway.writeAll(table: "accounts", statements: [oversized]) } throws: { error in
            guard let error = error as? GatewayError else { return false }
            return error.sqlState == "54000" && error.message.contains("operation_bytes_max = 131072")
        }
        // An insert larger than one operation is split by size as well as by rows.
        let wide = (100..<300).map { [SQLiteValue.integer(Int64($0)), .text(String(repeating: "w", count: 1_000)), .real(0)] }
        #expect(try await gateway.insert(into: "accounts", rows: wide) == 200)
        #expect(try await gateway.table(named: "accounts")?.spec == GatewayTests.accounts)
        #expect(try await gateway.view(named: "accounts") == nil)
        await demo.stop()
    }

    @Test func verifiedAndLocalReadsOfSeveralMiBAreServedAndLargerOnesRefusedNamingTheLimit() async throws {
        let demo = try await GatewayTests.startDemo()
        let gateway = demo.nodes[1].gateway
        var names = CatalogSchemaTests.events
        names.name = "names"
        names.shardCount = 1
        try await gateway.createTable(names)
        try await gateway.insert(into: "names", rows: (0..<300).map { [.text(String(repeating: "m", count: 100) + "\($0)"), .blob([])] })
        // 90,000 rows, about 10 MB: past a PBFT reply and past the 65,536 rows a PBFT read may hold.
        let pairs = "SELECT a.kind, b.rowid FROM names a, names b"
        try await GatewayTests.eventually { try await gateway.scan("names", consistency: .local).rows.count == 300 }
        for consistency in [Gateway.ReadConsistency.verified, .local] {
            let rows = try await gateway.read(table: "names", shard: 0, sql: pairs, consistency: consistency)
            #expect(rows.rows.count == 90_000, "\(consistency)")
        }
        // A linearizable read comes back in a PBFT reply: bounded by result_bytes_max (64 KiB),
        // and by as many rows while SQLite produces them.
        await #expect { try await gateway.read(table: "names", shard: 0, sql: pairs, consistency: .linearizable) } throws: {
            ["53400", "54000"].contains(($0 as? GatewayError)?.sqlState)
        }
        let triples = "SELECT a.kind, b.rowid, c.rowid FROM names a, names b, names c"
        for consistency in [Gateway.ReadConsistency.verified, .local] {
            await #expect { try await gateway.read(table: "names", shard: 0, sql: triples, consistency: consistency) } throws: { error in
                guard let error = error as? GatewayError else { return false }
                return error.sqlState == "54000" && error.message.contains("read_result_bytes_max = 16777216")
            }
        }
        await demo.stop()
    }
}
