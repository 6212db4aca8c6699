import Foundation
import TestSupport

/// Runs a program to completion (killed after `seconds`), stdout and stderr together; stdin is
/// `input` or empty; `history` is passed as MESHDB_HISTORY. Watched from threads of its own,
/// never from Swift's cooperative pool.
func runTool(_ path: String, _ arguments: [String], history: String? = nil, environment extra: [String: String] = [:],
             input: String? = nil, seconds: Double) async throws -> (status: Int32, output: String) {
    var environment: [String: String]? = nil
    if history != nil || !extra.isEmpty {
        var changed = ProcessInfo.processInfo.environment
        if let history { changed["MESHDB_HISTORY"] = history }
        changed.merge(extra) { _, new in new }
        environment = changed
    }
    let child = try ChildProcess(path, arguments, environment: environment, input: input.map { .bytes(Array($0.utf8)) } ?? .null)
    let done = Locked<RunResult?>(nil)
    Thread {
        let output = child.readOutputToEnd()
        let result = RunResult(status: child.waitUntilExit().status, output: String(decoding: output, as: UTF8.self))
        done.withLock { $0 = result }
    }.start()
    Thread {
        guard child.waitUntilExit(seconds: seconds) == nil else { return }
        child.send(SIGTERM)
        if child.waitUntilExit(seconds: 5) == nil { child.send(SIGKILL) }
    }.start()
    var result: RunResult?
    try await poll("\(path) \(arguments.joined(separator: " ")) to exit", within: seconds + 30) {
        result = done.withLock { $0 }
        return result != nil
    }
    return (result!.status, result!.output)
}

struct RunResult: Sendable {
    var status: Int32
    var output: String
}
