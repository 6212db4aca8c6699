import CSQLite
import Foundation
import Testing
@testable import MeshDB

/// Regression tests for the storage review of 2026-11-21, one per finding, named after what went wrong.
@Suite struct ShardStoreRegressionTests {
    func store(_ dir: TemporaryDirectory, _ name: String = "s.db") throws -> ShardStore {
        try ShardStore(path: dir.file(name))
    }

    @Test func commitInsideABatchCannotEscapeItsTransaction() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let s = try store(dir)
        try s.apply([.init("CREATE TABLE t (k INTEGER PRIMARY KEY)")])
        #expect(throws: ShardStoreError.self) {
            try s.apply([.init("INSERT INTO t VALUES (1)"), .init("COMMIT"), .init("INSERT INTO t VALUES (1)")])
        }
        #expect(try s.query("SELECT count(*) FROM t").rows == [[.integer(0)]], "the first insert was rolled back")
        for escape in ["BEGIN", "ROLLBACK", "SAVEPOINT x", "PRAGMA synchronous=OFF", "PRAGMA journal_mode=DELETE",
                       "ATTACH DATABASE '\(dir.file("other.db"))' AS other"] {
            #expect(throws: ShardStoreError.self, "\(escape) is refused in a batch") { try s.apply([.init(escape)]) }
        }
        #expect(try s.query("PRAGMA table_info(t)").rows.count == 1, "read-only schema PRAGMAs still work")
        try s.apply([.init("INSERT INTO t VALUES (2)")])
        #expect(try s.query("SELECT k FROM t").rows == [[.integer(2)]])
    }

    @Test func queryCannotWriteOrOpenATransaction() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let s = try store(dir)
        try s.apply([.init("CREATE TABLE t (k INTEGER PRIMARY KEY)")])
        for write in ["INSERT INTO t VALUES (1)", "BEGIN", "DELETE FROM t", "CREATE TABLE u (x)", "PRAGMA synchronous=OFF"] {
            #expect(throws: ShardStoreError.self, "\(write) is refused by query") { try s.query(write) }
        }
        // The store still takes batches: nothing was left open (this used to trip a precondition).
        try s.apply([.init("INSERT INTO t VALUES (1)")])
        #expect(try s.query("SELECT count(*) FROM t").rows == [[.integer(1)]])
    }

    @Test func digestCoversTablesWhoseNamesLookLikeSQLites() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let a = try store(dir, "a.db"), b = try store(dir, "b.db")
        for s in [a, b] { try s.apply([.init("CREATE TABLE SQLiteData (v)"), .init("CREATE TABLE sqlite1 (v)")]) }
        try a.apply([.init("INSERT INTO SQLiteData VALUES (1)")])
        try b.apply([.init("INSERT INTO SQLiteData VALUES (2)")])
        #expect(try a.logicalDigest() != b.logicalDigest())
    }

    @Test func digestCoversAutoincrementCounters() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let a = try store(dir, "a.db"), b = try store(dir, "b.db")
        for s in [a, b] { try s.apply([.init("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v)")]) }
        try a.apply([.init("INSERT INTO t (v) VALUES (1)"), .init("INSERT INTO t (v) VALUES (2)"), .init("DELETE FROM t")])
        // Same rows (none), different next id.
        #expect(try a.logicalDigest() != b.logicalDigest())
    }

    @Test func digestSeesRawTextBytesNotTheirDecoding() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let a = try store(dir, "a.db"), b = try store(dir, "b.db")
        for s in [a, b] { try s.apply([.init("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")]) }
        try a.apply([.init("INSERT INTO t VALUES (1, CAST(x'ff' AS TEXT))")])
        try b.apply([.init("INSERT INTO t VALUES (1, CAST(x'fe' AS TEXT))")])
        #expect(try a.logicalDigest() != b.logicalDigest())
    }

    /// Rows of a table without a declared key are ordered by rowid, which is unique, so values that
    /// compare equal (-0.0 and 0.0, 1 and 1.0, 'a' and 'A' under NOCASE) cannot reorder them.
    @Test func digestOfAKeylessTableDoesNotDependOnTiesBetweenEqualValues() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let a = try store(dir, "a.db"), b = try store(dir, "b.db")
        for s in [a, b] {
            try s.apply([.init("CREATE TABLE t (v, w TEXT COLLATE NOCASE)"),
                         .init("INSERT INTO t VALUES (-0.0, 'a')"), .init("INSERT INTO t VALUES (0.0, 'A')"),
                         .init("INSERT INTO t VALUES (1, 'b')"), .init("INSERT INTO t VALUES (1.0, 'B')")])
        }
        #expect(try a.logicalDigest() == b.logicalDigest())
        // And rowids are part of the state: a different assignment is a different digest.
        try b.apply([.init("UPDATE t SET rowid = rowid + 100 WHERE rowid = 1")])
        #expect(try a.logicalDigest() != b.logicalDigest())
    }

    @Test func rowsChangedIsZeroForStatementsThatChangeNoRows() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let results = try store(dir).apply([
            .init("CREATE TABLE t (v)"), .init("INSERT INTO t VALUES (1), (2), (3)"), .init("CREATE TABLE u (v)"), .init("SELECT * FROM t"),
        ])
        #expect(results.map(\.rowsChanged) == [0, 3, 0, 0])
    }

    @Test func oneStatementWithATrailingCommentIsAcceptedAndEmptyOrTwoAreNot() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let s = try store(dir)
        #expect(try s.query("SELECT 1; -- done").rows == [[.integer(1)]])
        #expect { try s.query("  -- nothing  ") } throws: { "\($0)".contains("empty statement") }
        #expect { try s.query("SELECT 1; SELECT 2") } throws: { "\($0)".contains("one statement expected") }
    }

    @Test func nanParameterIsRefusedNotStoredAsNull() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let s = try store(dir)
        try s.apply([.init("CREATE TABLE t (v REAL)")])
        #expect { try s.apply([.init("INSERT INTO t VALUES (?1)", [.real(.nan)])]) } throws: { "\($0)".contains("NaN") }
    }

    @Test func restoreRefusesASnapshotWhoseDigestIsNotTheAgreedOne() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let honest = try store(dir, "honest.db")
        try honest.apply([.init("CREATE TABLE t (k INTEGER PRIMARY KEY)"), .init("INSERT INTO t VALUES (1)")])
        let agreed = try honest.logicalDigest()
        let liar = try store(dir, "liar.db")
        try liar.apply([.init("CREATE TABLE t (k INTEGER PRIMARY KEY)"), .init("INSERT INTO t VALUES (666)")])
        try liar.snapshot(to: dir.file("forged.db"))

        let target = try store(dir, "target.db")
        try target.apply([.init("CREATE TABLE keep (x)"), .init("INSERT INTO keep VALUES ('mine')")])
        let before = try target.logicalDigest()
        #expect { try target.restore(from: dir.file("forged.db"), expectedDigest: agreed) } throws: { "\($0)".contains("not the agreed") }
        #expect(try target.logicalDigest() == before, "a refused snapshot harms nothing stored")

        try honest.snapshot(to: dir.file("good.db"))
        try target.restore(from: dir.file("good.db"), expectedDigest: agreed)
        #expect(try target.logicalDigest() == agreed)
    }

    @Test func restoreWorksAcrossPageSizes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A snapshot written by another build with 8 KiB pages (this store uses SQLite's default).
        var db: OpaquePointer?
        #expect(sqlite3_open(dir.file("big-pages.db"), &db) == SQLITE_OK)
        sqlite3_exec(db, "PRAGMA page_size=8192; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'x');", nil, nil, nil)
        sqlite3_close(db)
        let target = try store(dir)
        try target.apply([.init("CREATE TABLE old (x)")])
        try target.restore(from: dir.file("big-pages.db"))
        #expect(try target.query("SELECT v FROM t").rows == [["x"]])
        #expect(try target.integrityCheck())
        try target.apply([.init("INSERT INTO t VALUES (2, 'y')")])
        // Reopening finds the restored contents: the swap is on disk, with no stale WAL.
        target.close()
        #expect(try store(dir).query("SELECT count(*) FROM t").rows == [[.integer(2)]])
    }

    @Test func failedSnapshotLeavesNoPartialFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let s = try store(dir)
        #expect(throws: ShardStoreError.self) { try s.snapshot(to: dir.file("missing-dir/snap.db")) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("missing-dir/snap.db")))
        s.close()
        #expect(throws: ShardStoreError.self, "a closed store throws rather than crashing") { try s.snapshot(to: dir.file("snap.db")) }
    }

    /// Regression (review of the in-memory snapshot): a snapshot onto an existing file removed
    /// that file when it refused to overwrite it.
    @Test func aSnapshotOntoAnExistingFileLeavesThatFileAlone() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let s = try store(dir)
        let existing = dir.file("existing.db")
        try Data("someone else's file".utf8).write(to: URL(fileURLWithPath: existing))
        #expect(throws: ShardStoreError.self) { try s.snapshot(to: existing) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: existing)) == Data("someone else's file".utf8))
    }
}

/// Regression: the check for a second statement read SQLite's tail pointer after the temporary C
/// string it points into was freed (found by the state-machine work: it crashed a read).
@Suite struct SQLiteTailPointerRegressionTests {
    @Test func textAfterTheFirstStatementIsRefusedWithoutReadingFreedMemory() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ShardStore(path: dir.file("s.db"))
        try store.apply([.init("CREATE TABLE users (id INTEGER PRIMARY KEY)")])
        for _ in 0..<200 {
            #expect { try store.query("SELECT 1; DELETE FROM users") } throws: { "\($0)".contains("one statement expected") }
            #expect { try store.apply([.init("INSERT INTO users VALUES (1); DROP TABLE users")]) } throws: { _ in true }
        }
        #expect(try store.query("SELECT count(*) FROM users").rows == [[.integer(0)]])
    }
}
