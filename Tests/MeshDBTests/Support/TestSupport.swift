import Foundation
import MeshDB

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

/// The built executables sit beside the test bundle (`.build/<config>/`).
func builtProduct(_ name: String) throws -> URL {
    let candidates = [
        Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name),
        Bundle.main.bundleURL.appendingPathComponent(name),
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name),
    ]
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: name, "searched": candidates.map(\.path)])
    }
    return found
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

/// Starts `meshdb-crash-harness` with `arguments`, waits for its "ready" line, lets it run for
/// `busyMilliseconds` more, then kills it with SIGKILL and reaps it. Returns what it acknowledged
/// (the words after "ack " on each complete line), each of which must survive.
func runHarnessAndKill(_ arguments: [String], busyMilliseconds: Int) throws -> [String] {
    let process = Process()
    process.executableURL = try builtProduct("meshdb-crash-harness")
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    try ProcessLaunch.run(process)
    var seen = Data()
    let deadline = Date().addingTimeInterval(60)
    while !String(decoding: seen, as: UTF8.self).contains("ready") {
        guard process.isRunning, Date() < deadline else {
            process.terminate()
            throw HarnessError(description: "harness never became ready: \(String(decoding: seen, as: UTF8.self))")
        }
        seen.append(output.fileHandleForReading.availableData)
    }
    usleep(useconds_t(busyMilliseconds * 1000))
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    guard process.terminationReason == .uncaughtSignal else {
        throw HarnessError(description: "the harness exited on its own (status \(process.terminationStatus)) instead of being killed")
    }
    seen.append(output.fileHandleForReading.readDataToEndOfFile())
    // Only complete lines count: a line cut by the kill was never fully acknowledged.
    let text = String(decoding: seen, as: UTF8.self)
    let complete = text.hasSuffix("\n") ? text : String(text[..<(text.lastIndex(of: "\n") ?? text.startIndex)])
    return complete.split(separator: "\n").compactMap { line in
        line.hasPrefix("ack ") ? String(line.dropFirst(4)) : nil
    }
}
