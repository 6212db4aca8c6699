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

    /// Review finding 5: a fetched output leaves the shards as its reference, so nothing may
    /// sort, group or deduplicate it there unguarded.
    @Test func orderingGroupingAndDistinctOverAFetchedOutputAreGuarded() throws {
        let guardText = "json_extract('{}', 'out-of-line value: column body"
        for sql in ["SELECT body FROM media ORDER BY 1", "SELECT body AS b FROM media ORDER BY b", "SELECT id, body FROM media GROUP BY 2",
                    "SELECT body AS b FROM media GROUP BY b", "SELECT * FROM media ORDER BY 3"] {
            let plan = try plan(sql)
            #expect(plan.blobs?.fetchedColumns.isEmpty == false, "\(sql)")
            #expect(plan.explain().joined(separator: "\n").contains(guardText), "\(sql): \(plan.explain())")
        }
        // Under DISTINCT nothing is fetched: the output is guarded (or, from *, refused at the gateway).
        let distinct = try plan("SELECT DISTINCT body FROM media")
        #expect(distinct.blobs?.fetchedColumns == [])
        #expect(distinct.explain().joined().contains(guardText))
        #expect(try plan("SELECT DISTINCT * FROM media").blobs?.fetchedColumns == [])
        // count(DISTINCT body) compares stored forms: guarded; count(body) is not.
        #expect(try plan("SELECT count(DISTINCT body) FROM media").explain().joined().contains(guardText))
        #expect(!(try plan("SELECT count(body) FROM media").explain().joined().contains(guardText)))
        // ORDER BY an input column that is not the fetched output is left alone.
        #expect(!(try plan("SELECT body FROM media ORDER BY id").explain().joined().contains(guardText)))
    }

    /// Review finding 5: length() reads a reference's size only from a column that certainly is
    /// bytea; notes.body is text, and its value is guarded as it is, never read as a size.
    @Test func lengthReadsTheSizeOnlyOfAColumnThatResolvesToBytea() throws {
        let sizeOf = { (column: String) in "CAST(substr(\(column), 15, instr(substr(\(column), 15), ':') - 1) AS INTEGER)" }
        let notes = try plan("SELECT length(n.body) FROM notes n JOIN media m ON m.id = n.id").explain().joined(separator: "\n")
        #expect(!notes.contains(sizeOf("n.body")), "\(notes)")
        #expect(notes.contains("json_extract('{}', 'out-of-line value: column body"), "\(notes)")
        let media = try plan("SELECT length(m.body) FROM notes n JOIN media m ON m.id = n.id").explain().joined(separator: "\n")
        #expect(media.contains(sizeOf("m.body")), "\(media)")
        // Unqualified, body names columns of both types: guarded, not read as a size.
        let bare = try plan("SELECT length(body) FROM notes WHERE id IN (SELECT id FROM media)").explain().joined(separator: "\n")
        #expect(!bare.contains(sizeOf("body")), "\(bare)")
        // A qualifier that is a subquery's alias is not the table of that name.
        let derived = try plan("SELECT length(media.body) FROM (SELECT body FROM notes) AS media WHERE EXISTS (SELECT 1 FROM media)")
            .explain().joined(separator: "\n")
        #expect(!derived.contains(sizeOf("media.body")), "\(derived)")
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
