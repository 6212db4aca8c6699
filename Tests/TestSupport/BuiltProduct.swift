public import Foundation

/// An executable product of this package, built beside the test bundle (`.build/<config>/`).
public func builtProduct(_ name: String) throws -> URL {
    let candidates = [
        Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name),
        Bundle.main.bundleURL.appendingPathComponent(name),
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name),
    ]
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw ChildProcess.Failure(description: "\(name) is not built next to the tests (searched \(candidates.map(\.path))): swift build --product \(name)")
    }
    return found
}
