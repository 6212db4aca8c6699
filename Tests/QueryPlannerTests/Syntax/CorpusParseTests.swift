import Testing
import QueryPlanner

/// Every statement and query of the sqllogictest corpus that SQLite runs parses, except those
/// using a feature MeshDB refuses by name (listed here, and in docs/sql.md).
@Suite struct CorpusParseTests {
    /// The corpus features MeshDB does not support, as the parser's 0A000 message names them.
    static let unsupportedFeatures: Set<String> = [
        "CREATE TRIGGER is not supported",
        "DROP TRIGGER is not supported",
    ]

    @Test func theCorpusIsThere() {
        #expect(Corpus.scripts.count == 17, "Tests/Corpus/sqllogictest holds select1-5 and 12 evidence scripts")
    }

    @Test(arguments: Corpus.scripts)
    func everyRunnableRecordParses(script: String) throws {
        let records = try Corpus.runnableRecords(script)
        #expect(!records.isEmpty)
        var parsed = 0
        for record in records {
            do {
                let statements = try Parser.parseStatements(record.sql)
                #expect(!statements.isEmpty, "line \(record.line): \(record.sql)")
                parsed += 1
            } catch {
                if case .statement(expectsError: true) = record.kind { continue }
                #expect(error.state == .featureNotSupported && Self.unsupportedFeatures.contains(error.message),
                        "\(script):\(record.line): \(error) in \(record.sql)")
            }
        }
        #expect(parsed > 0)
    }

    @Test func theUnsupportedListNamesFeaturesTheCorpusUses() throws {
        var seen: Set<String> = []
        for script in Corpus.scripts {
            for record in try Corpus.runnableRecords(script) {
                do { _ = try Parser.parseStatements(record.sql) } catch { seen.insert(error.message) }
            }
        }
        #expect(Self.unsupportedFeatures.isSubset(of: seen))
    }
}
