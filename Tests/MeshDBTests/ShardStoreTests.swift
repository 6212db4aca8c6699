import Foundation
import Testing
import CSQLite
@testable import MeshDB

@Suite struct ShardStoreTests {
    static let schema = ShardStore.Statement(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance REAL, avatar BLOB)")

    static func insert(_ id: Int64, _ owner: String, _ balance: Double = 0) -> ShardStore.Statement {
        .init("INSERT INTO accounts (id, owner, balance) VALUES (?1, ?2, ?3)", [.integer(id), .text(owner), .real(balance)])
    }

    func count(_ store: ShardStore) throws -> SQLiteValue {
        try store.query("SELECT count(*) FROM accounts").rows[0][0]
    }

    @Test func failingStatementRollsBackTheWholeBatch() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ShardStore(path: dir.file("shard.db"))
        try store.apply([Self.schema, Self.insert(1, "ada")])
        let before = try store.logicalDigest()

        #expect {
            try store.apply([Self.insert(2, "bob"), Self.insert(3, "cy"), Self.insert(1, "again")])
        } throws: { error in
            guard case ShardStoreError.statementFailed(let index, let sqlite) = error else { return false }
            return index == 2 && sqlite.resultCode == SQLITE_CONSTRAINT && sqlite.message.contains("UNIQUE")
        }
        #expect(try count(store) == 1)
        #expect(try store.logicalDigest() == before)
        // The store is usable afterwards: no transaction was left open.
        try store.apply([Self.insert(2, "bob")])
        #expect(try count(store) == 2)
    }

    @Test func batchReturnsPerStatementResults() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ShardStore(path: dir.file("shard.db"))
        let results = try store.apply([
            Self.schema,
            Self.insert(1, "ada", 10), Self.insert(2, "bob", 20),
            .init("UPDATE accounts SET balance = balance + 1 WHERE balance > ?1 RETURNING id", [.integer(5)]),
            .init("SELECT owner FROM accounts ORDER BY id"),
            .init("UPDATE accounts SET avatar = ?1 WHERE id = 1", [.blob([])]),
        ])
        #expect(results.map(\.rowsChanged) == [0, 1, 1, 2, 0, 1])
        #expect(Set(results[3].rows) == [[.integer(1)], [.integer(2)]])
        #expect(results[4].columns == ["owner"] && results[4].rows == [["ada"], ["bob"]])
        // An empty blob stays an empty blob, not NULL.
        #expect(try store.query("SELECT avatar FROM accounts WHERE id = 1").rows == [[.blob([])]])
    }

    @Test func replicasFedTheSameBatchesHaveEqualDigests() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let a = try ShardStore(path: dir.file("a.db"))
        let b = try ShardStore(path: dir.file("b.db"), durability: .os)
        let batches: [[ShardStore.Statement]] = [[Self.schema]] + (0..<20).map { k in
            (0..<50).map { Self.insert(Int64(k * 50 + $0), "owner \($0 % 7)", Double($0) * 1.5) }
        }
        for batch in batches {
            try a.apply(batch)
            try b.apply(batch)
        }
        #expect(try a.logicalDigest() == b.logicalDigest())

        try b.apply([.init("UPDATE accounts SET owner = 'mallory' WHERE id = 500")])
        #expect(try a.logicalDigest() != b.logicalDigest())
    }

    @Test func digestIgnoresPageLayoutAndInsertionOrder() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let forward = try ShardStore(path: dir.file("forward.db"))
        let backward = try ShardStore(path: dir.file("backward.db"))
        let rows = (0..<300).map { Self.insert(Int64($0), String(repeating: "x", count: $0 % 40)) }
        try forward.apply([Self.schema] + rows)
        try backward.apply([Self.schema] + rows.reversed())
        // Churn that leaves the same rows but a different file: deletes, re-inserts, free pages.
        try backward.apply([.init("DELETE FROM accounts WHERE id < 100")] + rows.prefix(100))
        #expect(try forward.logicalDigest() == backward.logicalDigest())
        try backward.apply([.init("CREATE TABLE extra (k TEXT)")])
        #expect(try forward.logicalDigest() != backward.logicalDigest(), "the schema is part of the contents")
    }

    @Test func snapshotRestoredIntoANewFileHasAnEqualDigest() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let source = try ShardStore(path: dir.file("source.db"))
        try source.apply([Self.schema] + (0..<1000).map { Self.insert(Int64($0), "o\($0)", Double($0)) })
        try source.snapshot(to: dir.file("snap.db"))
        // Writes after the snapshot are not in it.
        try source.apply([Self.insert(5000, "late")])

        let restored = try ShardStore(path: dir.file("restored.db"))
        try restored.apply([.init("CREATE TABLE junk (x)"), .init("INSERT INTO junk VALUES (1)")])
        try restored.restore(from: dir.file("snap.db"))
        #expect(try count(restored) == 1000)
        try source.apply([.init("DELETE FROM accounts WHERE id = 5000")])
        #expect(try restored.logicalDigest() == source.logicalDigest())
        #expect(try restored.integrityCheck())
        // The restored store takes batches like any other.
        try restored.apply([Self.insert(7000, "after restore")])
        #expect(try count(restored) == 1001)
    }

    /// A checkpoint's image of a shard is made in memory: the same rows as the store, a sound
    /// database once written out, no file left beside the shard, and the same bytes for a store
    /// with another history. The source here has one the copy lacks: a table created and
    /// dropped (schema cookie), and a file last written in rollback mode by another SQLite
    /// (offset 96, patched in as an older library would have left it).
    @Test func snapshotBytesAreASoundImageIndependentOfHistory() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        do {
            let first = try ShardStore(path: dir.file("source.db"))
            try first.apply([Self.schema] + (0..<1000).map { Self.insert(Int64($0), "o\($0)", Double($0)) })
            try first.apply([.init("CREATE TABLE scratch (x)"), .init("DROP TABLE scratch")])
            first.close()
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: dir.file("source.db")))
        try handle.seek(toOffset: 96)
        handle.write(Data([0x00, 0x2D, 0xE2, 0x18]))  // SQLite 3.008.000
        try handle.close()
        let source = try ShardStore(path: dir.file("source.db"))
        let filesBefore = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        let image = try source.snapshotBytes()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == filesBefore)
        #expect(Array(image.prefix(16)) == Array("SQLite format 3\0".utf8))
        #expect(image[18] == 1 && image[19] == 1, "a rollback-journal file, as snapshot(to:) leaves it")
        try source.snapshot(to: dir.file("image.db"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("image.db"))) == Data(image))

        // A second store restored from the image has another history (one file swap, fewer
        // commits, written by this SQLite): its own image is byte for byte the same.
        let restored = try ShardStore(path: dir.file("restored.db"))
        try restored.apply([.init("CREATE TABLE junk (x)")])
        try restored.restore(from: dir.file("image.db"))
        #expect(try restored.integrityCheck())
        #expect(try restored.logicalDigest() == source.logicalDigest())
        #expect(try restored.snapshotBytes() == image)
        // Later writes show in the next image, not in this one.
        try source.apply([Self.insert(5000, "late")])
        #expect(try source.snapshotBytes() != image)
    }

    @Test func restoreRefusesAMissingOrDamagedSnapshot() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ShardStore(path: dir.file("s.db"))
        try store.apply([Self.schema, Self.insert(1, "keep")])
        #expect(throws: ShardStoreError.self) { try store.restore(from: dir.file("missing.db")) }
        try Data("this is not a database, just forty-odd bytes of text".utf8).write(to: URL(fileURLWithPath: dir.file("bad.db")))
        #expect(throws: ShardStoreError.self) { try store.restore(from: dir.file("bad.db")) }
        #expect(try count(store) == 1, "a refused restore leaves the store as it was")
    }

    @Test func oversizedBatchNamesTheLimit() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var limits = ShardStore.Limits()
        limits.batchStatementsMax = 3
        let store = try ShardStore(path: dir.file("s.db"), limits: limits)
        #expect {
            try store.apply(Array(repeating: .init("SELECT 1"), count: 4))
        } throws: { error in
            "\(error)".contains("batch_statements_max = 3")
        }
    }

    @Test func syntaxErrorKeepsSQLiteCodeAndMessage() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ShardStore(path: dir.file("s.db"))
        #expect {
            try store.apply([.init("INSERT INTO nowhere VALUES (1)")])
        } throws: { error in
            guard let sqlite = (error as? ShardStoreError)?.sqliteError else { return false }
            return sqlite.resultCode == SQLITE_ERROR && sqlite.message.contains("no such table: nowhere")
        }
    }

    /// A process killed with SIGKILL in the middle of a batch leaves each batch wholly present or
    /// wholly absent after reopening (SQLite's WAL commit is atomic and apply uses one transaction).
    @Test func batchKilledMidwaySurvivesWhollyOrNotAtAll() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let rowsPerBatch = 5000
        for (round, busyMilliseconds) in [37, 113, 251].enumerated() {
            let acknowledged = try runHarnessAndKill(["shard-batches", dir.file("crash.db"), String(rowsPerBatch)], busyMilliseconds: busyMilliseconds)
            #expect(!acknowledged.isEmpty)
            let store = try ShardStore(path: dir.file("crash.db"))
            #expect(try store.integrityCheck())
            let perBatch = try store.query("SELECT batch, count(*) FROM rows GROUP BY batch ORDER BY batch").rows
            #expect(perBatch.count >= round + 1, "each round commits at least its first batch")
            for row in perBatch {
                #expect(row[1] == .integer(Int64(rowsPerBatch)), "batch \(row[0]) is partial: \(row[1]) rows")
            }
            // Batch numbers are contiguous: no committed batch went missing behind a later one.
            #expect(perBatch.map { $0[0] } == (1...perBatch.count).map { SQLiteValue.integer(Int64($0)) })
            // Everything acknowledged before the kill is there.
            let present = Set(perBatch.map { $0[0] })
            for batch in acknowledged {
                #expect(present.contains(.integer(Int64(batch)!)), "acknowledged batch \(batch) was lost")
            }
            store.close()
        }
    }
}
