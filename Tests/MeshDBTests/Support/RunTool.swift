import Foundation
import MeshDB

/// Runs a program to completion (killed after `seconds`), stdout and stderr together, stdin
/// empty; `history` is passed as MESHDB_HISTORY. Watched from threads of its own, never from
/// Swift's cooperative pool.
func runTool(_ path: String, _ arguments: [String], history: String? = nil, environment extra: [String: String] = [:],
                     input: String? = nil, seconds: Double) async throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    // The environment is set only when it must change: both crashes of the suite inside
    // Foundation's Process.run() (a bad pointer in its memcpy, CI of 2026-11-21, even with
    // launches serialized) came from launches that set it; the other launchers never set it.
    if history != nil || !extra.isEmpty {
        var environment = ProcessInfo.processInfo.environment
        if let history { environment["MESHDB_HISTORY"] = history }
        environment.merge(extra) { _, new in new }
        process.environment = environment
    }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let stdin = Pipe()
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    try ProcessLaunch.run(process)
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
    }
    let done = Locked<RunResult?>(nil)
    Thread {
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let result = RunResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
        done.withLock { $0 = result }
    }.start()
    Thread {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate() }
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
