import Crypto
import Foundation
import Testing

/// `meshdb blob put/get/ls/rm` end to end against a `meshdb demo` process: the commands find the
/// native port from the PostgreSQL URL, stream files in and out, and the bytes come back equal.
@Suite(.serialized) struct BlobCommandTests {
    static func sha256(ofFile path: String) throws -> [UInt8] {
        Array(SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    @Test func filesRoundTripThroughTheCommandsAndRepeatsAreStoredOnce() async throws {
        let cluster = try await ProcessCluster(nodes: 4, initialize: false)
        try await cluster.run { cluster in
            let url = try await cluster.startDemo()
            let meshdb = try builtProduct("meshdb").path
            func blob(_ arguments: [String]) async throws -> String {
                let run = try await runTool(meshdb, ["blob"] + arguments + ["--url", url], seconds: 120)
                cluster.expect(run.status == 0, "meshdb blob \(arguments.joined(separator: " ")) exited \(run.status):\n\(run.output)")
                return run.output
            }
            var random = SeededBytes(seed: 31)
            let sizes = [0, 1, 65_535, 65_537, 10 << 20]
            for size in sizes {
                let input = cluster.dir.file("in-\(size)")
                try Data(random.bytes(size)).write(to: URL(fileURLWithPath: input))
                let stored = try await blob(["put", input])
                cluster.expect(stored.contains("stored in-\(size): \(size) bytes"), "put \(size):\n\(stored)")
                let output = cluster.dir.file("out-\(size)")
                _ = try await blob(["get", "in-\(size)", "-o", output])
                cluster.expect(try Self.sha256(ofFile: output) == Self.sha256(ofFile: input), "\(size) bytes came back different")
            }
            let before = try await blob(["ls"])
            // The 10 MiB file again under another name: no new chunk anywhere.
            _ = try await blob(["put", cluster.dir.file("in-\(10 << 20)"), "--name", "copy"])
            let after = try await blob(["ls"])
            let total = { (listing: String) in listing.split(separator: "\n").last.map(String.init) ?? "" }
            let distinct = { (listing: String) in
                total(listing).split(separator: ",").first { $0.contains("distinct chunks") }.map(String.init) ?? "none"
            }
            cluster.expect(distinct(after) == distinct(before), "the copy added chunks: \(total(before)) then \(total(after))")
            cluster.expect(total(after).hasPrefix("6 blobs"), "ls after the copy:\n\(after)")
            cluster.expect(after.contains("copy "), "ls lists the copy:\n\(after)")

            _ = try await blob(["rm", "copy"])
            cluster.expect(try await blob(["ls"]).contains("5 blobs"), "rm removed the name")
            let missing = try await runTool(meshdb, ["blob", "get", "copy", "-o", cluster.dir.file("none"), "--url", url], seconds: 60)
            cluster.expect(missing.status != 0 && missing.output.contains("blob \"copy\" does not exist"), "get of a removed blob:\n\(missing.output)")
        }
    }
}
