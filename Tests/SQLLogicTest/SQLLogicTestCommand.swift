// meshdb-sqllogictest: the SQL harnesses of issue 5 on the command line.
//   meshdb-sqllogictest [run] [--engine sqlite|meshdb] [files or directories]   sqllogictest scripts
//   meshdb-sqllogictest differential --queries N --seed S                       differential soak
import ArgumentParser
import Foundation
import SQLLogicTestKit

@main
struct SQLLogicTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshdb-sqllogictest",
        abstract: "Judge a SQL engine: sqllogictest scripts, and random queries against plain SQLite.",
        subcommands: [RunCommand.self, DifferentialCommand.self],
        defaultSubcommand: RunCommand.self)
}

/// `--engine` values: the engine kinds by name.
func parseEngineKind(_ name: String) throws -> SQLTestEngineKind {
    guard let kind = SQLTestEngineKind(rawValue: name) else {
        throw ValidationError("unknown engine '\(name)'; choose \(SQLTestEngineKind.allCases.map(\.rawValue).joined(separator: " or "))")
    }
    return kind
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// A fresh engine of `kind`; one that is not available ends the command with status 2 and why.
func startEngine(_ kind: SQLTestEngineKind, for purpose: SQLTestEngineKind.Purpose) async throws -> any SQLTestEngine {
    do {
        return try await kind.makeEngine(for: purpose)
    } catch {
        printError("meshdb-sqllogictest: \(error)")
        throw ExitCode(2)
    }
}
