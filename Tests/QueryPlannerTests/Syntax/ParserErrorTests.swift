import Testing
import QueryPlanner

/// Errors say what PostgreSQL says, with its SQLSTATE and the 1-based character position of the
/// token at fault.
@Suite struct ParserErrorTests {
    func error(_ text: String) -> SQLError? {
        do {
            _ = try Parser.parseStatements(text)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        ("SELECT * FORM t", "syntax error at or near \"FORM\"", 10),
        ("SELECT 1 +", "syntax error at end of input", 11),
        ("SELECT a FROM WHERE", "syntax error at or near \"WHERE\"", 15),
        ("SELEC 1", "syntax error at or near \"SELEC\"", 1),
        ("SELECT (1", "syntax error at end of input", 10),
        ("SELECT 1)", "syntax error at or near \")\"", 9),
        ("SELECT 'é', FROM t", "syntax error at or near \"FROM\"", 13),
        ("SELECT 'abc", "unterminated quoted string at or near \"'abc\"", 8),
        ("SELECT \"abc", "unterminated quoted identifier at or near \"\"abc\"", 8),
        ("SELECT 1 /* never closed", "unterminated /* comment at or near \"/* never closed\"", 10),
        ("SELECT \"\"", "zero-length delimited identifier at or near \"\"\"\"", 8),
        ("SELECT 123abc", "trailing junk after numeric literal at or near \"123abc\"", 8),
        ("SELECT X'ABC'", "blob literal has an odd number of hexadecimal digits at or near \"X'ABC'\"", 8),
        ("SELECT X'G0'", "invalid hexadecimal digit in blob literal at or near \"X'G\"", 8),
        ("SELECT 1 # 2", "syntax error at or near \"#\"", 10),
        ("SELECT é€ FROM t WHERE a ! b", "syntax error at or near \"!\"", 26),
        ("SELECT $", "syntax error at or near \"$\"", 8),
        ("SELECT a FROM t JOIN s", "syntax error at end of input", 23),
        ("INSERT INTO t VALUES (1, 2), (3)", "VALUES lists must all be the same length", 31),
        ("SELECT CASE END", "syntax error at or near \"END\"", 13),
        ("SELECT 1 IS DISTINCT 2", "syntax error at or near \"2\"", 22),
        ("CREATE TABLE t (a INT,)", "syntax error at or near \")\"", 23),
        ("SELECT select", "syntax error at or near \"select\"", 8),
        ("EXPLAIN EXPLAIN SELECT 1", "syntax error at or near \"EXPLAIN\"", 9),
    ])
    func syntaxErrors(text: String, message: String, position: Int) {
        let error = error(text)
        #expect(error?.state == .syntaxError)
        #expect(error?.message == message)
        #expect(error?.position == position)
    }

    @Test(arguments: [
        ("CREATE TRIGGER t1r1 UPDATE ON t1 BEGIN SELECT 1; END;", "CREATE TRIGGER is not supported", 8),
        ("DROP TRIGGER t1r1", "DROP TRIGGER is not supported", 6),
        ("REINDEX SCHEMA public", "REINDEX SCHEMA is not supported", 9),
        ("REINDEX", "REINDEX without a table or index name is not supported", 8),
        ("CLUSTER t", "CLUSTER is not supported", 1),
        ("CREATE TEMP TABLE t (a INT)", "CREATE TEMPORARY TABLE is not supported", 13),
        ("CREATE TABLE t AS SELECT 1", "CREATE TABLE ... AS is not supported", 16),
        ("CREATE TABLE t (a INT REFERENCES s (b))", "FOREIGN KEY (REFERENCES) is not supported", 23),
        ("CREATE TABLE t (a INTEGER PRIMARY KEY AUTOINCREMENT)", "AUTOINCREMENT is not supported", 39),
        ("SELECT * FROM a RIGHT JOIN b ON true", "RIGHT JOIN is not supported", 17),
        ("SELECT * FROM a FULL JOIN b ON true", "FULL JOIN is not supported", 17),
        ("SELECT * FROM a NATURAL JOIN b", "NATURAL JOIN is not supported", 17),
        ("WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r", "WITH RECURSIVE is not supported", 6),
        ("SELECT rank() OVER (ORDER BY a) FROM t", "a window function (OVER) is not supported", 15),
        ("SELECT (1, 2) = (1, 2)", "a row value (a parenthesized list of values) is not supported", 10),
        ("SELECT DISTINCT ON (a) a FROM t", "DISTINCT ON is not supported", 17),
        ("SELECT 1 INTERSECT ALL SELECT 1", "INTERSECT ALL is not supported", 20),
        ("UPDATE t SET a = 1 FROM s", "UPDATE ... FROM is not supported", 20),
        ("DELETE FROM t USING s", "DELETE ... USING is not supported", 15),
        ("SELECT * FROM pg_catalog.pg_class.x", "a name qualified by a database is not supported", 34),
        ("SELECT a COLLATE \"de_DE\" FROM t", "collation \"de_DE\" is not supported: MeshDB compares text by bytes (COLLATE \"C\")", 18),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE", "transaction modes (isolation level, read only, deferrable) is not supported", 7),
        ("SELECT CAST(a AS timestamp with time zone)", "TIMESTAMP WITH TIME ZONE is not supported", 28),
    ])
    func unsupportedFeaturesAreNamed(text: String, message: String, position: Int) {
        let error = error(text)
        #expect(error?.state == .featureNotSupported)
        #expect(error?.message == message)
        #expect(error?.position == position)
    }

    @Test func unknownTypesAreUndefinedObjects() {
        let error = error("CREATE TABLE t (a money)")
        #expect(error?.state == .undefinedObject)
        #expect(error?.message == "type \"money\" does not exist")
        #expect(error?.position == 19)
        #expect(self.error("SELECT 1::SIGNED")?.message == "type \"signed\" does not exist")
    }

    @Test func anEmptyStatementIsAnErrorForParseStatement() {
        #expect { try Parser.parseStatement(" -- only a comment") } throws: { error in
            (error as? SQLError)?.message == "empty statement: there is no SQL to run"
        }
    }
}
