import ArgumentParser
import Foundation
import SQLLogicTestKit

struct DifferentialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "differential",
        abstract: "Run seeded random queries on an engine and on plain SQLite, and report every difference.",
        discussion: """
            Random schemas (2-4 tables, rows with NULLs, duplicates, negative numbers, text) and \
            queries over them (joins, aggregates, GROUP BY/HAVING, ORDER BY/LIMIT, subqueries, \
            compound selects) run on both engines; results must match (as multisets unless the \
            order is defined; reals within a relative 1e-9). A mismatch prints its seed, schema, \
            query and the command that replays it. With --engine sqlite the candidate is a second \
            SQLite loaded in another row order, which checks the generator itself. Exits with \
            status 1 on any mismatch.
            """)

    @Option(name: .long, help: "Engine compared with plain SQLite: sqlite or meshdb.", transform: parseEngineKind)
    var engine: SQLTestEngineKind = .sqlite

    @Option(name: .long, help: "Number of queries.")
    var queries = 1000

    @Option(name: .long, help: "Seed of the run (default: a random one, printed).")
    var seed: UInt64?

    @Option(name: .long, help: "Queries per schema before the next schema is loaded.")
    var queriesPerSchema = 200

    @Option(name: .long, help: "Run only the query with this index (replays a mismatch).")
    var only: Int?

    @Option(name: .long, help: "Mismatches shown, with schema and results.")
    var maxMismatches = 10

    @Flag(name: .long, help: "Print progress every 1000 queries.")
    var verbose = false

    @Flag(name: .long, help: "Print the run's schemas and queries (SQLite's DDL) instead of running them.")
    var printSQL = false

    func validate() throws {
        guard queries > 0, queriesPerSchema > 0 else { throw ValidationError("--queries and --queries-per-schema must be positive") }
        if let only, !(0..<queries).contains(only) { throw ValidationError("--only must be a query index below --queries") }
    }

    func run() async throws {
        var options = DifferentialRunner.Options(seed: seed ?? UInt64.random(in: 0...UInt64.max), queries: queries)
        options.queriesPerSchema = queriesPerSchema
        options.onlyQuery = only
        options.mismatchesKeptMax = maxMismatches
        options.candidateDialect = engine.schemaDialect
        if printSQL {
            printStatements(options)
            return
        }
        let candidate = try await startEngine(engine, for: .differential)
        print("differential run, seed \(options.seed): \(queries) queries, sqlite vs \(engine.rawValue)")
        let verbose = verbose
        let report = await DifferentialRunner(options: options).run(
            reference: try SQLiteReferenceEngine(), candidate: candidate,
            progress: { count in if verbose, count % 1000 == 0 { print("\(count) queries") } })
        for mismatch in report.mismatches { print(mismatch) }
        if report.mismatchCount > report.mismatches.count {
            print("\(report.mismatchCount - report.mismatches.count) more mismatches not shown (--max-mismatches)")
        }
        print(report.summary)
        if !report.passed { throw ExitCode.failure }
    }

    /// Every schema's statements and its queries, numbered as the run numbers them.
    func printStatements(_ options: DifferentialRunner.Options) {
        for schemaIndex in 0..<(queries + queriesPerSchema - 1) / queriesPerSchema {
            var generator = DifferentialRunner.generator(seed: options.seed, schema: schemaIndex)
            print("-- schema \(schemaIndex)")
            for statement in generator.schema.statements(dialect: engine.schemaDialect) { print(statement + ";") }
            for index in schemaIndex * queriesPerSchema..<min((schemaIndex + 1) * queriesPerSchema, queries) {
                let query = generator.nextQuery()
                if only == nil || only == index { print("-- query \(index)\n\(query.sql);") }
            }
        }
    }
}
