import MeshDB
import QueryPlanner
import Testing

/// Binding key literals as parameters gives SQLite's own answers: a literal and a bound value
/// are compared alike under every key affinity (https://www.sqlite.org/datatype3.html, 4.2).
struct KeyLiteralBindingSQLiteTests {
    struct Catalog: PlannerCatalog {
        let tables: [PlannerTable]
        func table(named name: String) -> PlannerTable? { tables.first { $0.name == name } }
        func view(named name: String) -> PlannerView? { nil }
        func shard(of table: PlannerTable, key: [PlannerValue]) -> Int { 0 }
    }

    @Test func boundKeysSelectWhatTheLiteralsSelect() throws {
        let database = try SQLiteConnection(path: ":memory:")
        var tables: [PlannerTable] = []
        for (name, type) in [("ti", "INTEGER"), ("tt", "TEXT"), ("tr", "REAL"), ("tn", "NUMERIC"), ("tb", "BLOB")] {
            _ = try database.run("CREATE TABLE \(name) (k \(type) PRIMARY KEY, v TEXT)")
            for (index, key) in ["1", "'1'", "1.0", "'1.0'", "2", "'abc'", "' 3'", "x'01'", "1.5", "'1e0'"].enumerated() {
                _ = try? database.run("INSERT INTO \(name) VALUES (\(key), 'row \(index)')")
            }
            tables.append(PlannerTable(name: name, columns: [
                PlannerColumn(name: "k", declaredType: type, sqliteType: type, isBlob: false, notNull: false),
                PlannerColumn(name: "v", declaredType: "text", sqliteType: "TEXT", isBlob: false, notNull: false),
            ], primaryKey: ["k"], shardKey: ["k"], shardCount: 1))
        }
        let planner = SelectPlanner(catalog: Catalog(tables: tables))
        var compared = 0
        for table in tables {
            for condition in ["k = 1", "k = '1'", "k = 1.0", "k = '1.0'", "k > 1", "k <= '2'", "k BETWEEN 1 AND '2'",
                              "k IN (1, '1', 'abc', 1.5)", "NOT k <> ' 3'", "k = '1e0' OR k < 0.5"] {
                let sql = "SELECT k, v FROM \(table.name) WHERE \(condition) ORDER BY v"
                guard case .select(let select) = try Parser.parseStatements(sql)[0] else { continue }
                let step = try planner.plan(select).steps[0]
                #expect(!step.boundLiterals.isEmpty, "\(sql)")
                let expected = try database.run(sql).rows
                let bound = try database.run(step.sql, step.boundLiterals.map(SQLiteValue.init)).rows
                #expect(bound == expected, "\(sql) sent as \(step.sql)")
                compared += 1
            }
        }
        #expect(compared == 50)
    }
}
