import MeshDB
import QueryPlanner
import Testing
@testable import MeshWire

/// The parameter types Describe (statement) reports for `$n` the client left open, as PostgreSQL
/// 15 reports them: asyncpg encodes each argument by that type and refuses a Python int for a
/// parameter described as text.
@Suite struct ParameterTypeInferenceTests {
    /// `CREATE TABLE items (id bigint PRIMARY KEY, label text, price numeric, seen timestamp)`
    /// in a catalog of four nodes and one shard group.
    static let catalog: CatalogStateMachine = {
        var catalog = CatalogStateMachine()
        var commands: [CatalogCommand] = (0..<4).map { index in
            .registerNode(CatalogNode(index: index, publicKeyHex: String(repeating: String(index, radix: 16), count: 64),
                                      host: "127.0.0.1", port: UInt16(7400 + index), pgPort: 5433, zone: "z1"))
        }
        commands.append(.defineGroups([CatalogGroup(id: 10, members: [0, 1, 2, 3], epoch: 1)]))
        commands.append(.createTable(CatalogTableSpec(
            name: "items",
            columns: [CatalogColumn(name: "id", type: .integer, notNull: true), CatalogColumn(name: "label", type: .text),
                      CatalogColumn(name: "price", type: .numeric), CatalogColumn(name: "seen", type: .timestamp)],
            primaryKey: ["id"], shardKey: ["id"], shardCount: 4), ifNotExists: false))
        for (sequence, command) in commands.enumerated() {
            let result = catalog.apply(command, sequence: UInt64(sequence + 1))
            if case .error(let error) = result { preconditionFailure("catalog setup: \(error)") }
        }
        return catalog
    }()

    static func types(_ sql: String) throws -> [Int: WireType] {
        let statements = try Parser.parseStatements(sql)
        return ParameterTypeInference.types(of: statements[0], catalog: catalog)
    }

    /// Regression: a parameter under an explicit cast was described as text, so asyncpg refused
    /// `fetchval("select $1::int + 1", 41)` (expected str, got int).
    @Test(arguments: [
        ("select $1::int", WireType.int4), ("select $1::integer + 1", .int4), ("select $1::bigint", .int8),
        ("select $1::smallint", .int2), ("select $1::numeric * 2", .numeric), ("select $1::timestamp", .timestamp),
        ("select $1::bytea", .bytea), ("select $1::boolean", .bool), ("select $1::float8", .float8),
        ("select $1::double precision", .float8), ("select $1::real", .float4), ("select $1::text", .text),
        ("select $1::varchar(20)", .varchar), ("select CAST($1 AS bigint)", .int8), ("select $1::oid", .oidType),
        ("select $1::regclass", .regclass), ("select $1::char(3)", .bpchar), ("select $1::timestamp without time zone", .timestamp),
        ("select * from items where id = $1::int", .int4), ("select * from items where label = $1::int", .int4),
        ("select * from items where id in (select $1::int2)", .int2),
    ])
    func aCastTypesItsParameter(sql: String, type: WireType) throws {
        #expect(try Self.types(sql)[1] == type, "\(sql)")
    }

    /// A cast to a type MeshWire has no binary form for describes its parameter as text, so that
    /// drivers send a string rather than a binary form MeshWire would misread.
    @Test func aCastToATypeWithoutACodecDescribesText() throws {
        #expect(try Self.types("select $1::regnamespace")[1] == .text)
        #expect(try Self.types("select $1::text[]")[1] == .text)
        #expect(try Self.types("select * from items where id = $1::int[]")[1] == .text)
    }

    /// Regression: IN and BETWEEN are comparisons with the column too, and their parameters were
    /// described as text.
    @Test func inAndBetweenGiveTheColumnsType() throws {
        let inList = try Self.types("select * from items where id in ($1, $2) and price not in ($3)")
        #expect(inList[1] == .int8 && inList[2] == .int8 && inList[3] == .numeric, "\(inList)")
        let between = try Self.types("select * from items where id between $1 and $2 or seen not between $3 and $4")
        #expect(between == [1: .int8, 2: .int8, 3: .timestamp, 4: .timestamp])
        #expect(try Self.types("delete from items where $1 between id and price")[1] == .int8)
        #expect(try Self.types("update items set label = 'x' where id in ($1)")[1] == .int8)
    }

    /// What inference did before still holds: comparisons, INSERT values, SET, LIMIT and OFFSET.
    @Test func comparisonsInsertsAssignmentsAndLimits() throws {
        #expect(try Self.types("select * from items where $1 < id and label = $2 limit $3 offset $4")
            == [1: .int8, 2: .text, 3: .int8, 4: .int8])
        #expect(try Self.types("insert into items (id, price) values ($1, $2)") == [1: .int8, 2: .numeric])
        #expect(try Self.types("update items set seen = $1 where id = $2") == [1: .timestamp, 2: .int8])
    }
}
