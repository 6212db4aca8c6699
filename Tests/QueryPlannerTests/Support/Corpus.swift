import Foundation
import QueryPlanner

/// The sqllogictest scripts copied into the repository (Tests/Corpus/sqllogictest, from
/// ../shared/sqllogictest), found relative to this file so that a fresh clone has them.
enum Corpus {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Corpus/sqllogictest")

    /// Every script, by path below the corpus directory, sorted.
    static let scripts: [String] = {
        let top = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let evidence = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("evidence").path)) ?? []
        return (top.filter { $0.hasSuffix(".test") } + evidence.filter { $0.hasSuffix(".test") }.map { "evidence/\($0)" }).sorted()
    }()

    static func text(_ script: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(script), encoding: .utf8)
    }

    /// The statements and queries SQLite runs in `script`.
    static func runnableRecords(_ script: String) throws -> [SQLLogicTestReader.Record] {
        SQLLogicTestReader.runnableRecords(in: try text(script))
    }
}
