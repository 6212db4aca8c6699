import Testing
@testable import MeshDB

/// The gateway's merge must order values exactly as SQLite's ORDER BY does on every shard.
struct SQLiteOrderingTests {
    static func randomValue(_ random: inout SeededBytes) -> SQLiteValue {
        switch random.next() % 7 {
        case 0: return .null
        case 1: return .integer(Int64(random.next() % 11) - 5)
        case 2: return .integer(Int64(bitPattern: UInt64(random.next()) << 56 | UInt64(random.next())))
        case 3: return .real(Double(Int(random.next() % 21) - 10) / 4)
        case 4: return .text(["", "a", "B", "b", "ab", "é", "A "][Int(random.next() % 7)])
        case 5: return .blob(Array([UInt8]([0, 1, 255]).prefix(Int(random.next() % 4))))
        default: return .real(Double(random.next() % 5))
        }
    }

    @Test func compareAgreesWithSQLiteOrderBy() throws {
        var random = SeededBytes(seed: 7)
        let values = (0..<400).map { _ in Self.randomValue(&random) }
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE v(x)")
        for value in values { _ = try db.run("INSERT INTO v VALUES (?1)", [value]) }
        let sqlite = try db.run("SELECT x FROM v ORDER BY x").rows.map { $0[0] }
        let ours = values.sorted { SQLiteOrdering.compare($0, $1) < 0 }
        // Equal values may sit in any order, so compare by SQLite's own equality: each position
        // must compare equal.
        #expect(sqlite.count == ours.count)
        for (a, b) in zip(sqlite, ours) {
            #expect(SQLiteOrdering.compare(a, b) == 0, "SQLite has \(a) where the merge order has \(b)")
        }
    }

    @Test func mergeOfSortedStreamsEqualsSortingTheirUnion() {
        var random = SeededBytes(seed: 11)
        let keys = [SQLiteOrdering.SortKey(column: 0, descending: true, nullsFirst: false),
                    SQLiteOrdering.SortKey(column: 1, descending: false, nullsFirst: true)]
        let streams: [[[SQLiteValue]]] = (0..<5).map { _ in
            (0..<Int(random.next() % 40)).map { _ in [Self.randomValue(&random), Self.randomValue(&random)] }
                .sorted { SQLiteOrdering.compare($0, $1, keys: keys) < 0 }
        }
        var merge = SortedMerge(streams: streams, keys: keys)
        var merged: [[SQLiteValue]] = []
        while let row = merge.next() { merged.append(row) }
        let expected = streams.flatMap { $0 }.sorted { SQLiteOrdering.compare($0, $1, keys: keys) < 0 }
        #expect(merged.count == expected.count)
        for (a, b) in zip(merged, expected) { #expect(SQLiteOrdering.compare(a, b, keys: keys) == 0) }
        for (a, b) in zip(merged, merged.dropFirst()) { #expect(SQLiteOrdering.compare(a, b, keys: keys) <= 0) }
    }

    @Test func realAndIntegerCompareExactlyNearTwoToThe63() {
        #expect(SQLiteOrdering.compare(.integer(Int64.max), .real(9.223372036854775807e18)) < 0)
        #expect(SQLiteOrdering.compare(.integer(3), .real(3.0)) == 0)
        #expect(SQLiteOrdering.compare(.integer(3), .real(3.5)) < 0)
        #expect(SQLiteOrdering.compare(.real(-0.5), .integer(0)) < 0)
    }
}
