import Testing
import QueryPlanner

/// The seeded mutation test CI runs (the soak, `make soak-sql`, runs 1,000,000): mutated corpus
/// statements parse to statements whose rendering is a fixed point, or fail with a parser SQLSTATE
/// and a position inside the text; nothing crashes or hangs. About 10 s in a debug build, 2 s
/// optimized. Replay a failure with `swift run -c release meshdb-sql-fuzz --inputs N --seed S`
/// (the same engine and the same seeds).
@Suite struct ParserMutationTests {
    static let seeds: [String] = ParserFuzz.seeds(fromScripts: Dictionary(uniqueKeysWithValues: Corpus.scripts.map {
        ($0, (try? Corpus.text($0)) ?? "")
    }))

    @Test func mutatedStatementsParseOrFailCleanly() {
        #expect(Self.seeds.count > 10_000)
        let summary = ParserFuzz.run(seeds: Self.seeds, inputs: 50_000, seed: 20_251_121)
        #expect(summary.inputs == 50_000)
        #expect(summary.failures.isEmpty, """
            replay: swift run -c release meshdb-sql-fuzz --inputs 50000 --seed 20251121
            \(summary.failures.prefix(5).map(\.description).joined(separator: "\n"))
            """)
        // The mutations must reach both outcomes and the limits, or the test proves little.
        #expect(summary.parsed > 2_500)
        #expect(summary.errors[SQLState.syntaxError.code, default: 0] > 5_000)
        #expect(summary.errors[SQLState.statementTooComplex.code, default: 0] > 50)
    }

    @Test func aRunIsAFunctionOfItsSeed() {
        let first = ParserFuzz.run(seeds: Self.seeds, inputs: 2_000, seed: 7)
        #expect(first == ParserFuzz.run(seeds: Self.seeds, inputs: 2_000, seed: 7))
        #expect(first != ParserFuzz.run(seeds: Self.seeds, inputs: 2_000, seed: 8))
    }
}
