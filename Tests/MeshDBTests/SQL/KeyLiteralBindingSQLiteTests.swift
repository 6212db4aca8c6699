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

    /// An UPDATE or DELETE with its key comparisons and SET literals bound leaves every column
    /// affinity's table as the literal form does: same rows, same storage classes.
    @Test func boundWritesChangeWhatTheLiteralsChange() throws {
        let writes = ["UPDATE t SET v = v + -1234 WHERE k = 1", "UPDATE t SET v = '12' WHERE k = '1'", "UPDATE t SET v = v || 'x' || 2.5 WHERE k > 1",
                      "UPDATE t SET v = (v * 2.0) % 7, w = 'abc' WHERE k IN (1, '2', 3.0)", "UPDATE t SET w = -0.5, v = ' 3' WHERE NOT k <> '2'",
                      "DELETE FROM t WHERE k = '2'", "DELETE FROM t WHERE k BETWEEN 1 AND '2' AND v = 10"]
        var compared = 0
        for keyType in ["INTEGER", "TEXT", "REAL", "NUMERIC", "BLOB"] {
            for valueType in ["INTEGER", "TEXT", "NUMERIC", ""] {
                for write in writes {
                    var tables: [[[SQLiteValue]]] = []
                    for bindsLiterals in [false, true] {
                        let database = try SQLiteConnection(path: ":memory:")
                        _ = try database.run("CREATE TABLE t (k \(keyType) PRIMARY KEY, v \(valueType), w \(valueType))")
                        for key in ["1", "'2'", "3.0", "'abc'"] { _ = try? database.run("INSERT INTO t VALUES (\(key), 10, 'w')") }
                        let statement = try Parser.parseStatements(write)[0]
                        let (sent, values) = bindsLiterals ? KeyLiteralBinding.bind(statement, keyColumns: ["k"], parameterCount: 0) : (statement, [])
                        if bindsLiterals { #expect(!values.isEmpty, "\(write)") }
                        _ = try database.run(SQLiteRenderer.render(sent), values.map(SQLiteValue.init))
                        tables.append(try database.run("SELECT k, typeof(k), v, typeof(v), w, typeof(w) FROM t ORDER BY rowid").rows)
                    }
                    #expect(tables[0] == tables[1], "\(write) on k \(keyType), v \(valueType)")
                    compared += 1
                }
            }
        }
        #expect(compared == 140)
    }
}
