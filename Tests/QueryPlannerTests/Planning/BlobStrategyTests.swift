import QueryPlanner
import Testing

/// The planner's blob strategy, pure: which outputs the gateway fetches, what the shards run in
/// place of a bytea column, and PostgreSQL's bytea text input.
struct BlobStrategyTests {
    struct Catalog: PlannerCatalog {
        static func column(_ name: String, _ type: String) -> PlannerColumn {
            PlannerColumn(name: name, declaredType: type, sqliteType: type == "bytea" ? "BLOB" : type.uppercased(), isBlob: type == "bytea", notNull: false)
        }

        let tables = [
            PlannerTable(name: "media", columns: [column("id", "integer"), column("name", "text"), column("body", "bytea")],
                         primaryKey: ["id"], shardKey: ["id"], shardCount: 4),
            PlannerTable(name: "notes", columns: [column("id", "integer"), column("body", "text")],
                         primaryKey: ["id"], shardKey: ["id"], shardCount: 4),
        ]

        func table(named name: String) -> PlannerTable? { tables.first { $0.name == name } }
        func view(named name: String) -> PlannerView? { nil }
        func shard(of table: PlannerTable, key: [PlannerValue]) -> Int { 0 }
    }

    func plan(_ sql: String) throws -> SelectPlan {
        guard case .select(let select) = try Parser.parseStatements(sql)[0] else { throw SQLError(.syntaxError, "not a SELECT") }
        return try SelectPlanner(catalog: Catalog()).plan(select)
    }

    @Test func bareByteaColumnsOfABaseTableAreFetchedAtTheGateway() throws {
        #expect(try plan("SELECT name, body FROM media").blobs?.fetchedColumns == [1])
        #expect(try plan("SELECT * FROM media").blobs?.fetchedColumns == [2])
        #expect(try plan("SELECT id, media.* FROM media").blobs?.fetchedColumns == [3])
        // notes.body is text: only media's is fetched.
        #expect(try plan("SELECT m.body, n.body FROM media m JOIN notes n ON m.id = n.id").blobs?.fetchedColumns == [0])
        // Through a subquery the column is not certainly media's: not fetched, and guarded inside.
        let nested = try plan("SELECT body FROM (SELECT body FROM media) AS s")
        #expect(nested.blobs?.fetchedColumns == [])
        #expect(nested.explain().joined().contains("json_extract"))
        #expect(try plan("SELECT id FROM notes").blobs == nil)
    }

    @Test func lengthReadsTheReferenceAndOtherUsesAreGuarded() throws {
        let length = try plan("SELECT name, length(body) FROM media WHERE id = 1")
        #expect(length.blobs?.fetchedColumns == [])
        #expect(length.steps[0].sql.contains("CAST(substr(body, 15, instr(substr(body, 15), ':') - 1) AS INTEGER)"))
        #expect(!length.steps[0].sql.contains("json_extract"))
        #expect(length.explain().last?.contains("no chunk read") == true)

        let concatenated = try plan("SELECT body || X'00' FROM media WHERE id = 1")
        #expect(concatenated.steps[0].sql.contains("json_extract('{}', 'out-of-line value: column body"))
        // count() and IS NULL see a value either way.
        #expect(!(try plan("SELECT count(body) FROM media WHERE body IS NOT NULL").steps[0].sql.contains("json_extract")))
    }

    @Test func byteaTextInputIsReadAsPostgreSQLReadsIt() {
        #expect(ByteaText.bytes("\\x4142") == [0x41, 0x42])
        #expect(ByteaText.bytes("\\X41 42") == [0x41, 0x42])
        #expect(ByteaText.bytes("\\x414") == nil)
        #expect(ByteaText.bytes("\\xzz") == nil)
        #expect(ByteaText.bytes("a\\\\b") == [0x61, 0x5C, 0x62])
        #expect(ByteaText.bytes("\\101\\000") == [0x41, 0x00])
        #expect(ByteaText.bytes("\\9") == nil)
        #expect(ByteaText.bytes("plain") == Array("plain".utf8))
        #expect(ByteaText.bytes("") == [])
    }
}
