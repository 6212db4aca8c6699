import MeshDB

/// A query the differential tester runs on both engines.
public struct GeneratedQuery: Sendable, Hashable {
    public let sql: String
    /// Whether the result's order is defined: an ORDER BY over every output column (or every
    /// group key), so the rows are compared in order; otherwise they are compared as a multiset.
    public let isOrdered: Bool
    public let shape: QueryShape
}

/// The kinds of query the generator writes, for coverage counts in reports.
public enum QueryShape: String, Sendable, Hashable, CaseIterable {
    /// One table: projection, WHERE, DISTINCT, ORDER BY with LIMIT/OFFSET.
    case select
    /// Two or three tables: INNER, LEFT or comma join with an equality.
    case join
    /// Aggregates over the whole input: one row.
    case aggregate
    /// GROUP BY with aggregates, HAVING.
    case groupBy
    /// A subquery in FROM.
    case fromSubquery
    /// UNION, UNION ALL, EXCEPT, INTERSECT.
    case compound
    /// A correlated scalar subquery in the select list.
    case scalarSubquery
}

/// Random schemas, rows and queries from one seed: the same seed always writes the same schema
/// and the same queries (`SeededRandom` does not depend on the Swift release).
///
/// Tables t1…t4 have 2–5 columns c0…c4 of INTEGER, REAL or TEXT; c0 is always INTEGER so that
/// any two tables can be joined; some tables have a primary key (INTEGER or TEXT), some none.
/// Rows hold NULLs, duplicates, negative numbers, inexact reals (multiples of 0.1) and text of
/// mixed case, with '%', '_', a quote, a leading space, digits and a non-ASCII letter.
///
/// Every query has one right answer whatever the engine's row order or how it splits the work:
/// - an ORDER BY (and so LIMIT/OFFSET) only over every output column, or every group key;
/// - ORDER BY always says where NULLs go (SQLite and PostgreSQL differ by default);
/// - GROUP BY queries select their keys and aggregates only, never a bare column;
/// - scalar subqueries are aggregates, so they return one row;
/// - no division by anything but a positive literal, no aggregate of a real in HAVING (sums
///   of reals differ in the last bits with the order of addition), no boolean in a select list;
/// - compound selects of three members mix UNION, UNION ALL and EXCEPT only (INTERSECT binds
///   tighter in PostgreSQL than in SQLite), and their members have matching column types.
public struct DifferentialGenerator: Sendable {
    public let seed: UInt64
    public let schema: GeneratedSchema
    var random: SeededRandom
    /// Table aliases given so far in the current query (a0, a1, ...): unique within it.
    var aliasCount = 0

    public init(seed: UInt64) {
        self.seed = seed
        var random = SeededRandom(seed: seed)
        schema = Self.makeSchema(&random)
        self.random = random
    }

    // MARK: Schema and rows

    static let words = ["", "a", "A", "ab", "abc", "Abc", "b", "ba", "banana", "Banana", "x_y", "50%", "it's", " lead",
                        "zeta", "10", "9", "café", "a b", "Z"]

    /// Every table name a schema may use: t1...t4.
    public static let tableNames = (1...4).map { "t\($0)" }

    static func makeSchema(_ random: inout SeededRandom) -> GeneratedSchema {
        let tableCount = random.int(in: 2...tableNames.count)
        return GeneratedSchema(tables: tableNames.prefix(tableCount).map { makeTable(name: $0, &random) })
    }

    enum PrimaryKey { case none, integer, text }

    static func makeTable(name: String, _ random: inout SeededRandom) -> GeneratedTable {
        let key = random.weighted([(4, PrimaryKey.none), (4, .integer), (2, .text)])
        var columns = [GeneratedColumn(name: "c0", type: .integer, isPrimaryKey: key == .integer)]
        if key == .text { columns.append(GeneratedColumn(name: "c1", type: .text, isPrimaryKey: true)) }
        for index in columns.count..<random.int(in: 2...5) {
            columns.append(GeneratedColumn(name: "c\(index)", type: random.element(of: GeneratedType.allCases), isPrimaryKey: false))
        }
        let rowCount = random.weighted([(1, 0...0), (2, 1...5), (7, 6...16)])
        let count = random.int(in: rowCount)
        // Unique keys: distinct integers, or distinct words (there are more words than rows).
        let integerKeys = random.shuffled(Array(-20...40)).prefix(count).map { SQLiteValue.integer(Int64($0)) }
        let textKeys = random.shuffled(words).prefix(count).map { SQLiteValue.text($0) }
        var rows: [[SQLiteValue]] = []
        for index in 0..<count {
            var row: [SQLiteValue]
            if let earlier = rows.last, random.percent(25) {
                row = earlier  // a duplicate (but for its key)
            } else {
                row = columns.map { value(of: $0.type, &random, nullPercent: 15) }
            }
            for (position, column) in columns.enumerated() where column.isPrimaryKey {
                row[position] = column.type == .integer ? integerKeys[index] : textKeys[index]
            }
            rows.append(row)
        }
        return GeneratedTable(name: name, columns: columns, rows: rows)
    }

    /// A value of `type` from the small domains the data and the queries share (so that
    /// comparisons and joins find matches), NULL `nullPercent` % of the time.
    static func value(of type: GeneratedType, _ random: inout SeededRandom, nullPercent: Int) -> SQLiteValue {
        if random.percent(nullPercent) { return .null }
        switch type {
        case .integer:
            let range = random.weighted([(7, -5...10), (2, -100...100), (1, -1000...1000)])
            return .integer(Int64(random.int(in: range)))
        case .real:
            return .real(random.weighted([
                (6, Double(random.int(in: -20...40)) * 0.25),
                (3, Double(random.int(in: -30...50)) * 0.1),
                (1, Double(random.int(in: -1000...1000)) / 8),
            ]))
        case .text:
            return .text(random.element(of: words))
        }
    }

    // MARK: Queries

    /// The next query of this seed's stream.
    public mutating func nextQuery() -> GeneratedQuery {
        aliasCount = 0
        let shape = random.weighted([
            (20, QueryShape.select), (20, .join), (12, .aggregate), (18, .groupBy),
            (10, .fromSubquery), (12, .compound), (8, .scalarSubquery),
        ])
        switch shape {
        case .select: return simpleSelect()
        case .join: return joinSelect()
        case .aggregate: return aggregateSelect()
        case .groupBy: return groupedSelect()
        case .fromSubquery: return subqueryInFrom()
        case .compound: return compoundSelect()
        case .scalarSubquery: return scalarSubquerySelect()
        }
    }

    mutating func newAlias() -> String {
        defer { aliasCount += 1 }
        return "a\(aliasCount)"
    }

    mutating func source(_ table: GeneratedTable? = nil) -> Source {
        Source(alias: newAlias(), table: table ?? random.element(of: schema.tables))
    }
}

/// A table in a FROM clause under its alias; a subquery in FROM is one too, its output columns
/// standing for the table's.
struct Source: Sendable {
    let alias: String
    let table: GeneratedTable
    var subquery: String?

    init(alias: String, table: GeneratedTable, subquery: String? = nil) {
        self.alias = alias
        self.table = table
        self.subquery = subquery
    }

    var columns: [(sql: String, type: GeneratedType)] { table.columns.map { ("\(alias).\($0.name)", $0.type) } }

    /// "t1 AS a0", or "(SELECT ...) AS a3".
    var fromItem: String { "\(subquery.map { "(\($0))" } ?? table.name) AS \(alias)" }
}

/// The tables an expression may name: the query's own, and those of the queries it is nested
/// in (a correlated subquery).
struct Scope: Sendable {
    var sources: [Source]
    var outer: [Source] = []

    var columns: [(sql: String, type: GeneratedType)] { (sources + outer).flatMap(\.columns) }
    var ownColumns: [(sql: String, type: GeneratedType)] { sources.flatMap(\.columns) }
}

/// An expression's SQL and type.
struct Expression: Sendable {
    let sql: String
    let type: GeneratedType
}
