public import MeshDB

/// Whether two engines' results are the same answer. Column names are not compared (engines
/// name computed columns differently); values are:
/// - NULL equals NULL, text and blobs compare exactly;
/// - numbers compare by value, so INTEGER 3 equals REAL 3.0 as SQLite compares them; a REAL
///   may differ from the other side by a relative 1e-9 (absolute below 1), because a
///   distributed sum adds in another order than one database does;
/// - a number never equals text (SQLite's storage classes differ).
///
/// Unordered results compare as multisets; ordered ones row by row.
public enum DifferentialComparator {
    public static let relativeTolerance = 1e-9

    /// Nil when the outcomes agree; else what differs, for a person to read.
    public static func difference(_ reference: SQLTestOutcome, _ candidate: SQLTestOutcome, ordered: Bool) -> String? {
        switch (reference, candidate) {
        case (.rowsChanged(let a), .rowsChanged(let b)):
            return a == b ? nil : "rows changed: \(a) vs \(b)"
        case (.rows(let columnsA, let a), .rows(let columnsB, let b)):
            guard columnsA.count == columnsB.count else { return "columns: \(columnsA.count) vs \(columnsB.count)" }
            guard a.count == b.count else { return "row count: \(a.count) vs \(b.count)" }
            return ordered ? orderedDifference(a, b) : multisetDifference(a, b)
        default:
            return "one engine returned rows, the other a count of rows changed"
        }
    }

    static func orderedDifference(_ a: [[SQLiteValue]], _ b: [[SQLiteValue]]) -> String? {
        guard let index = a.indices.first(where: { !rowsEqual(a[$0], b[$0]) }) else { return nil }
        return "row \(index + 1) of the ordered result: \(show(a[index])) vs \(show(b[index]))"
    }

    /// Sorted alike, equal rows meet; reals within the tolerance may still sort apart, so a
    /// pairwise miss falls back to matching each row with any unmatched equal one.
    static func multisetDifference(_ a: [[SQLiteValue]], _ b: [[SQLiteValue]]) -> String? {
        let sortedA = a.sorted(by: rowPrecedes), sortedB = b.sorted(by: rowPrecedes)
        if zip(sortedA, sortedB).allSatisfy(rowsEqual) { return nil }
        var unmatched = sortedB
        for row in sortedA {
            guard let match = unmatched.firstIndex(where: { rowsEqual(row, $0) }) else {
                return "row \(show(row)) of the reference has no equal in the candidate's result"
            }
            unmatched.remove(at: match)
        }
        return nil
    }

    public static func rowsEqual(_ a: [SQLiteValue], _ b: [SQLiteValue]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy(valuesEqual)
    }

    public static func valuesEqual(_ a: SQLiteValue, _ b: SQLiteValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.integer(let x), .integer(let y)): x == y
        case (.text(let x), .text(let y)): x == y
        case (.blob(let x), .blob(let y)): x == y
        case (.real(let x), .real(let y)): close(x, y)
        case (.integer(let x), .real(let y)), (.real(let y), .integer(let x)): close(Double(x), y)
        default: false
        }
    }

    static func close(_ x: Double, _ y: Double) -> Bool {
        x == y || abs(x - y) <= relativeTolerance * max(1, abs(x), abs(y))
    }

    /// SQLite's order of values: NULL, numbers by value, text, blobs.
    static func rowPrecedes(_ a: [SQLiteValue], _ b: [SQLiteValue]) -> Bool {
        for (x, y) in zip(a, b) {
            if valuePrecedes(x, y) { return true }
            if valuePrecedes(y, x) { return false }
        }
        return a.count < b.count
    }

    static func valuePrecedes(_ a: SQLiteValue, _ b: SQLiteValue) -> Bool {
        switch (a, b) {
        case (.text(let x), .text(let y)): return x.utf8.lexicographicallyPrecedes(y.utf8)
        case (.blob(let x), .blob(let y)): return x.lexicographicallyPrecedes(y)
        default:
            if let x = number(a), let y = number(b) { return x < y }
            return storageRank(a) < storageRank(b)
        }
    }

    static func number(_ value: SQLiteValue) -> Double? {
        switch value {
        case .integer(let x): Double(x)
        case .real(let x): x
        default: nil
        }
    }

    static func storageRank(_ value: SQLiteValue) -> Int {
        switch value {
        case .null: 0
        case .integer, .real: 1
        case .text: 2
        case .blob: 3
        }
    }

    static func show(_ row: [SQLiteValue]) -> String { "(" + row.map(\.description).joined(separator: ", ") + ")" }
}
