import Foundation
import MeshDB
import TestSupport

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = #function) throws {
        let name = "meshdb-test-\(label.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString.prefix(8))"
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Deterministic bytes for tests: xorshift64* from a seed.
struct SeededBytes {
    var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count + 8)
        while out.count < count {
            withUnsafeBytes(of: next()) { out.append(contentsOf: $0) }
        }
        return Array(out.prefix(count))
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

/// Starts `meshdb-crash-harness` with `arguments`, waits for its "ready" line, lets it run for
/// `busyMilliseconds` more, then kills it with SIGKILL and reaps it. Returns what it acknowledged
/// (the words after "ack " on each complete line), each of which must survive.
func runHarnessAndKill(_ arguments: [String], busyMilliseconds: Int) throws -> [String] {
    let process = try ChildProcess(try builtProduct("meshdb-crash-harness").path, arguments)
    var seen: [UInt8] = []
    let deadline = Date().addingTimeInterval(60)
    while !String(decoding: seen, as: UTF8.self).contains("ready") {
        guard process.isRunning, Date() < deadline else {
            process.send(SIGKILL)
            throw HarnessError(description: "harness never became ready: \(String(decoding: seen, as: UTF8.self))")
        }
        seen += process.readAvailableOutput()
    }
    usleep(useconds_t(busyMilliseconds * 1000))
    process.send(SIGKILL)
    guard case .signaled = process.waitUntilExit() else {
        throw HarnessError(description: "the harness exited on its own (\(process.waitUntilExit())) instead of being killed")
    }
    seen += process.readOutputToEnd()
    // Only complete lines count: a line cut by the kill was never fully acknowledged.
    let text = String(decoding: seen, as: UTF8.self)
    let complete = text.hasSuffix("\n") ? text : String(text[..<(text.lastIndex(of: "\n") ?? text.startIndex)])
    return complete.split(separator: "\n").compactMap { line in
        line.hasPrefix("ack ") ? String(line.dropFirst(4)) : nil
    }
}
