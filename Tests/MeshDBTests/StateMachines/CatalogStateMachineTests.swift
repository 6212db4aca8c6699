import Consensus
import Testing

@testable import MeshDB

/// Drives `CatalogStateMachine` as the metadata group's PBFT instance does.
@Suite struct CatalogStateMachineTests {
    static func key(_ index: UInt32) -> String {
        String(repeating: String(index % 16, radix: 16), count: 64)
    }

    static func node(_ index: UInt32, zone: String = "z1") -> CatalogNode {
        CatalogNode(index: index, publicKeyHex: key(index), host: "10.0.0.\(index)", port: UInt16(7400 + index),
                    pgPort: 5433, zone: zone)
    }

    static let users = CatalogTableSpec(
        name: "users",
        columns: [CatalogColumn(name: "id", type: .integer, notNull: true), CatalogColumn(name: "name", type: .text)],
        primaryKey: ["id"], shardKey: ["id"], shardCount: 5)

    /// Four nodes in two groups, the commands a fresh cluster starts with.
    static let bootstrap: [CatalogCommand] = (0..<4).map { .registerNode(node($0)) } + [
        .defineGroups([CatalogGroup(id: 20, members: [0, 1, 2, 3], epoch: 1), CatalogGroup(id: 10, members: [0, 1, 2, 3], epoch: 1)]),
    ]

    static func run(_ catalog: inout CatalogStateMachine, _ commands: [CatalogCommand], sequence: UInt64 = 1) -> [CatalogResult] {
        let requests = commands.map { Request(client: 1, timestamp: 1, operation: $0.encoded()) }
        return catalog.execute(sequence: sequence, requests: requests).map { try! CatalogReply(decoding: $0).result }
    }

    static func booted() -> CatalogStateMachine {
        var catalog = CatalogStateMachine()
        let results = run(&catalog, bootstrap)
        precondition(results.allSatisfy { if case .ok = $0 { true } else { false } }, "bootstrap: \(results)")
        return catalog
    }

    static func sqlState(_ result: CatalogResult) -> String? {
        guard case .error(let error) = result else { return nil }
        return error.sqlState
    }

    @Test func createDropDuplicateAndUnknownTables() {
        var catalog = Self.booted()
        let results = Self.run(&catalog, [
            .createTable(Self.users, ifNotExists: false),
            .createTable(Self.users, ifNotExists: false),
            .createTable(Self.users, ifNotExists: true),
            .dropTable(name: "orders", ifExists: false),
            .dropTable(name: "orders", ifExists: true),
            .dropTable(name: "users", ifExists: false),
            .dropTable(name: "users", ifExists: false),
        ], sequence: 9)
        #expect(results[0] == .ok("CREATE TABLE"))
        #expect(Self.sqlState(results[1]) == "42P07")
        #expect(results[2] == .skipped("CREATE TABLE", notice: "relation \"users\" already exists, skipping"))
        #expect(Self.sqlState(results[3]) == "42P01")
        #expect(results[4] == .skipped("DROP TABLE", notice: "table \"orders\" does not exist, skipping"))
        #expect(results[5] == .ok("DROP TABLE"))
        #expect(Self.sqlState(results[6]) == "42P01")
        #expect(catalog.sortedTables.isEmpty)
        #expect(catalog.meshShards().rows.isEmpty)
    }

    @Test func shardsGoToGroupsRoundRobinInIDOrderOnEveryReplica() {
        var a = Self.booted()
        var b = CatalogStateMachine()
        // The same commands reach b in the same order: b ends in the same state.
        _ = Self.run(&b, Self.bootstrap)
        let create = CatalogCommand.createTable(Self.users, ifNotExists: false)
        #expect(Self.run(&a, [create], sequence: 7) == Self.run(&b, [create], sequence: 7))
        #expect(a.table(named: "users")?.shardGroups == [10, 20, 10, 20, 10])
        #expect(a.table(named: "users")?.createdAtSequence == 7)
        #expect(a.snapshot() == b.snapshot())
        #expect(a.stateDigest == b.stateDigest)
    }

    @Test func tableSpecsAreCheckedWithTheirLimitsNamed() {
        var catalog = Self.booted()
        var spec = Self.users
        func attempt(_ change: (inout CatalogTableSpec) -> Void) -> CatalogResult {
            var changed = Self.users
            change(&changed)
            return Self.run(&catalog, [.createTable(changed, ifNotExists: false)])[0]
        }
        #expect(Self.sqlState(attempt { $0.shardCount = 0 }) == "22023")
        #expect(Self.sqlState(attempt { $0.shardCount = 257 }) == "22023")
        #expect(Self.sqlState(attempt { $0.name = "../x" }) == "42602")
        #expect(Self.sqlState(attempt { $0.name = "mesh_nodes" }) == "42939")
        #expect(Self.sqlState(attempt { $0.columns.append(CatalogColumn(name: "id", type: .real)) }) == "42701")
        #expect(Self.sqlState(attempt { $0.primaryKey = ["nope"] }) == "42P16")
        #expect(Self.sqlState(attempt { $0.shardKey = ["name"] }) == "42P16")
        #expect(Self.sqlState(attempt { $0.shardKey = [] }) == "42P16")  // a primary key but no shard key
        let tooWide = attempt { $0.columns = (0...1_600).map { CatalogColumn(name: "c\($0)", type: .integer) } }
        #expect(Self.sqlState(tooWide) == "53400")  // refused while decoding: the column count is a codec limit
        guard case .error(let error) = tooWide else { return }
        #expect(error.message.contains("columns_max") && error.message.contains("1600"))
        var limits = CatalogLimits()
        limits.tablesMax = 1
        var small = CatalogStateMachine(limits: limits)
        _ = Self.run(&small, Self.bootstrap)
        spec.name = "other"
        let results = Self.run(&small, [.createTable(Self.users, ifNotExists: false), .createTable(spec, ifNotExists: false)])
        #expect(results[0] == .ok("CREATE TABLE"))
        #expect(Self.sqlState(results[1]) == "53400")
        #expect(catalog.sortedTables.isEmpty)
    }

    @Test func createTableNeedsGroups() {
        var catalog = CatalogStateMachine()
        #expect(Self.sqlState(Self.run(&catalog, [.createTable(Self.users, ifNotExists: false)])[0]) == "55000")
    }

    @Test func nodesAndGroupsKeepTheirRules() {
        var catalog = Self.booted()
        var other = Self.node(1)
        other.publicKeyHex = Self.key(9)
        var moved = Self.node(2)
        moved.host = "10.9.9.9"
        let results = Self.run(&catalog, [
            .registerNode(other),  // index 1 with another key
            .registerNode(CatalogNode(index: 7, publicKeyHex: Self.key(1), host: "h", port: 1, pgPort: 2, zone: "")),  // key of node 1
            .registerNode(CatalogNode(index: 8, publicKeyHex: "XYZ", host: "h", port: 1, pgPort: 2, zone: "")),
            .setNodeState(index: 2, state: .down),
            .registerNode(moved),  // same key: an address update, state kept
            .setNodeState(index: 42, state: .down),
            .defineGroups([CatalogGroup(id: 10, members: [0, 1, 2], epoch: 1)]),  // membership change, same epoch
            .defineGroups([CatalogGroup(id: 10, members: [0, 1, 2], epoch: 2)]),
            .defineGroups([CatalogGroup(id: 30, members: [0, 99], epoch: 1)]),
            .defineGroups([CatalogGroup(id: 30, members: [1, 0], epoch: 1)]),
        ])
        #expect(results.map(Self.sqlState) == ["42710", "42710", "22023", nil, nil, "42704", "22023", nil, "42704", "22023"])
        #expect(catalog.node(index: 2)?.state == .down)
        #expect(catalog.node(index: 2)?.host == "10.9.9.9")
        #expect(catalog.group(id: 10) == CatalogGroup(id: 10, members: [0, 1, 2], epoch: 2))
        #expect(catalog.group(id: 30) == nil)
    }

    /// Finding 8 of the review: any native client may mark nodes down, so the catalog refuses a
    /// down that would leave fewer than up_nodes_min (R = 3, and 2f + 1) nodes up.
    @Test func markingNodesDownStopsAtUpNodesMin() {
        var catalog = Self.booted()
        let results = Self.run(&catalog, [
            .setNodeState(index: 3, state: .down),
            .setNodeState(index: 2, state: .down),  // would leave 2 of 4 up
            .setNodeState(index: 3, state: .down),  // already down: no change
            .setNodeState(index: 3, state: .up),
            .setNodeState(index: 2, state: .down),
        ])
        #expect(results.map(Self.sqlState) == [nil, "55000", nil, nil, nil])
        #expect(catalog.sortedNodes.map(\.state) == [.up, .up, .down, .up])
        #expect(CatalogStateMachine.upNodesMin(registered: 7) == 5 && CatalogStateMachine.upNodesMin(registered: 1) == 3)
    }

    @Test func systemTablesListTheCatalogInKeyOrder() {
        var catalog = Self.booted()
        var accounts = Self.users
        accounts.name = "accounts"
        accounts.shardCount = 2
        _ = Self.run(&catalog, [.createTable(Self.users, ifNotExists: false), .createTable(accounts, ifNotExists: false),
                                .setNodeState(index: 3, state: .down)], sequence: 4)
        let nodes = catalog.meshNodes()
        #expect(nodes.columns == ["node_index", "public_key", "host", "port", "pg_port", "zone", "state"])
        #expect(nodes.rows.map { $0[0] } == [0, 1, 2, 3])
        #expect(nodes.rows[3] == [3, .text(Self.key(3)), "10.0.0.3", 7403, 5433, "z1", "down"])
        let tables = catalog.meshTables()
        #expect(tables.rows == [
            ["accounts", "id integer not null, name text", "id", "id", 2, 4],
            ["users", "id integer not null, name text", "id", "id", 5, 4],
        ])
        #expect(catalog.meshShards().rows == [
            ["accounts", 0, 10], ["accounts", 1, 20],
            ["users", 0, 10], ["users", 1, 20], ["users", 2, 10], ["users", 3, 20], ["users", 4, 10],
        ])
        #expect(catalog.meshGroups().rows == [[10, "0,1,2,3", 1], [20, "0,1,2,3", 1]])
        #expect(catalog.systemTable(named: "mesh_groups") == catalog.meshGroups())
        #expect(catalog.systemTable(named: "mesh_nope") == nil)
    }

    @Test func snapshotRestoresAnEqualCatalog() throws {
        var source = Self.booted()
        _ = Self.run(&source, [.createTable(Self.users, ifNotExists: false), .setNodeState(index: 1, state: .down)], sequence: 3)
        var target = CatalogStateMachine()
        try target.restore(from: source.snapshot())
        #expect(target.snapshot() == source.snapshot())
        #expect(target.stateDigest == source.stateDigest)
        #expect(target.meshShards() == source.meshShards())
        #expect(target.meshNodes() == source.meshNodes())
        let next = CatalogCommand.dropTable(name: "users", ifExists: false)
        #expect(Self.run(&target, [next]) == Self.run(&source, [next]))
        #expect(target.stateDigest == source.stateDigest)
    }

    @Test func aMalformedSnapshotIsRefusedAndTheCatalogIsUntouched() throws {
        var source = Self.booted()
        _ = Self.run(&source, [.createTable(Self.users, ifNotExists: false)])
        let good = source.snapshot()
        var target = Self.booted()
        let before = target.snapshot()
        var corruptions: [[UInt8]] = [[], Array(good.prefix(good.count - 1)), good + [0]]
        var random = SeededBytes(seed: 11)
        for _ in 0..<2_000 {
            var flipped = good
            flipped[Int(random.next() % UInt64(good.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            corruptions.append(flipped)
        }
        var refused = 0
        for corrupt in corruptions {
            var copy = target
            do {
                try copy.restore(from: corrupt)
                // A flip can land on a free field (a host byte, an epoch): then the snapshot is
                // a different but sound catalog, and it must re-encode to exactly these bytes.
                #expect(copy.snapshot() == corrupt)
            } catch {
                refused += 1
                #expect(copy.snapshot() == before)
            }
        }
        #expect(refused > 1_000)
        // Sound bytes that break a rule between records: a shard in an unknown group.
        var unknownGroup = good
        let tail = unknownGroup.count - 4 - 8 - 4 - 4 - 4 - 4  // the last shard's group id, before the next row id and four empty lists (indexes, views, users, blobs)
        unknownGroup.replaceSubrange(tail..<(tail + 4), with: [99, 0, 0, 0])
        #expect(throws: StateMachineError.self) { try target.restore(from: unknownGroup) }
        #expect(target.snapshot() == before)
    }

    @Test func malformedCommandBytesGiveTheSameErrorOnEveryReplica() {
        var a = Self.booted()
        var b = Self.booted()
        let valid = [
            CatalogCommand.createTable(Self.users, ifNotExists: false).encoded(),
            CatalogCommand.registerNode(Self.node(5)).encoded(),
            CatalogCommand.defineGroups([CatalogGroup(id: 1, members: [0, 1], epoch: 3)]).encoded(),
        ]
        var random = SeededBytes(seed: 99)
        var malformed = 0
        for round in 0..<3_000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0: bytes = random.bytes(Int(random.next() % 48))
            case 1:
                let source = valid[Int(random.next() % 3)]
                bytes = Array(source.prefix(Int(random.next() % UInt64(source.count))))
            default:
                bytes = valid[Int(random.next() % 3)]
                bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            }
            let resultA = a.execute(sequence: UInt64(round), requests: [Request(client: 1, timestamp: 1, operation: bytes)])
            let resultB = b.execute(sequence: UInt64(round), requests: [Request(client: 1, timestamp: 1, operation: bytes)])
            #expect(resultA == resultB)
            if let state = Self.sqlState(try! CatalogReply(decoding: resultA[0]).result), state == "08P01" || state == "53400" {
                malformed += 1
            }
        }
        #expect(malformed > 1_500)
        #expect(a.stateDigest == b.stateDigest)
    }

    @Test func commandsAndResultsRoundTripThroughTheCodec() throws {
        let commands: [CatalogCommand] = Self.bootstrap + [
            .setNodeState(index: 3, state: .down),
            .createTable(Self.users, ifNotExists: true),
            .dropTable(name: "users", ifExists: true),
            .createTable(CatalogSchemaTests.orders, ifNotExists: false),
            .allocateRowIDs(table: "events", count: 4_096),
            .createIndex(CatalogSchemaTests.byCustomer, ifNotExists: true),
            .dropIndex(name: "orders_by_customer", ifExists: false),
            .createView(CatalogView(name: "big_orders", sql: "SELECT * FROM orders WHERE total > 100", columns: ["id", "total"]), ifNotExists: false),
            .dropView(name: "big_orders", ifExists: true),
            .addColumn(table: "orders", column: CatalogColumn(name: "note", type: .text, declaredType: "varchar(80)", hasDefault: true),
                       shardDDL: "ALTER TABLE orders ADD COLUMN note TEXT DEFAULT ''"),
            .dropColumn(table: "orders", column: "note"),
        ]
        for command in commands {
            #expect(try CatalogCommand(decoding: command.encoded()) == command)
        }
        for result in [CatalogResult.ok("CREATE TABLE"), .error(CatalogError(sqlState: "42P07", message: "exists")),
                       .skipped("DROP VIEW", notice: "view \"v\" does not exist, skipping"), .rowIDs(first: Int64.max - 1)] {
            #expect(try CatalogResult(decoding: result.encoded()) == result)
            let reply = CatalogReply(result: result, version: 42)
            #expect(try CatalogReply(decoding: reply.encoded()) == reply)
        }
    }
}
