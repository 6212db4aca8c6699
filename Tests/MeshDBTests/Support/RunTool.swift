import Foundation
import TestSupport

/// Runs a program to completion (`ChildProcess.run`), stdout and stderr together; stdin is
/// `input` or empty; `history` is passed as MESHDB_HISTORY.
func runTool(_ path: String, _ arguments: [String], history: String? = nil, environment extra: [String: String] = [:],
             input: String? = nil, seconds: Double) async throws -> (status: Int32, output: String) {
    var environment: [String: String]? = nil
    if history != nil || !extra.isEmpty {
        var changed = ProcessInfo.processInfo.environment
        if let history { changed["MESHDB_HISTORY"] = history }
        changed.merge(extra) { _, new in new }
        environment = changed
    }
    let run = try await ChildProcess.run(path, arguments, environment: environment, input: Array((input ?? "").utf8), seconds: seconds)
    return (run.status, run.output)
}
