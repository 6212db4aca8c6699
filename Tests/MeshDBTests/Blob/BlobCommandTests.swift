import Crypto
import Foundation
import Testing
import TestSupport

/// `meshdb blob put/get/ls/rm` end to end against a `meshdb demo` process: the commands find the
/// native port from the PostgreSQL URL, stream files in and out, and the bytes come back equal.
@Suite(.heavy, .serialized) struct BlobCommandTests {
    static func sha256(ofFile path: String) throws -> [UInt8] {
        Array(SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// A `meshdb demo` process to run the blob commands against.
    struct Demo {
        let cluster: ProcessCluster
        let url: String
        let meshdb: String

        /// `meshdb blob ARGUMENTS --url URL`, expected to succeed: its output.
        func blob(_ arguments: [String]) async throws -> String {
            let run = try await runTool(meshdb, ["blob"] + arguments + ["--url", url], seconds: 120)
            cluster.expect(run.status == 0, "meshdb blob \(arguments.joined(separator: " ")) exited \(run.status):\n\(run.output)")
            return run.output
        }
    }

    /// Runs `body` against a fresh 4-node `meshdb demo` process, stopped afterwards.
    static func withDemo(_ body: (Demo) async throws -> Void) async throws {
        let cluster = try await ProcessCluster(nodes: 4, initialize: false)
        try await cluster.run { cluster in
            try await body(Demo(cluster: cluster, url: try await cluster.startDemo(), meshdb: try builtProduct("meshdb").path))
        }
    }

    @Test func filesRoundTripThroughTheCommandsAndRepeatsAreStoredOnce() async throws {
        try await Self.withDemo { demo in
            let (cluster, url, meshdb, blob) = (demo.cluster, demo.url, demo.meshdb, demo.blob)
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
            // A failed get leaves the file it would have written alone (it reads into
            // FILE.partial and renames only after the whole value's SHA-256 matched).
            let kept = cluster.dir.file("kept")
            try Data("precious".utf8).write(to: URL(fileURLWithPath: kept))
            let failedGet = try await runTool(meshdb, ["blob", "get", "no-such-blob", "-o", kept, "--url", url], seconds: 120)
            cluster.expect(failedGet.status != 0, "get of a missing blob exited 0:\n\(failedGet.output)")
            cluster.expect(try String(contentsOfFile: kept, encoding: .utf8) == "precious", "a failed get changed the output file")
            cluster.expect(!FileManager.default.fileExists(atPath: kept + ".partial"), "a failed get left \(kept).partial")
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

    /// The chunk files in every node's store under `directory` (a demo's data directory): what the
    /// cluster holds on disk, copies included, whatever `ls` says.
    static func chunkFiles(under directory: String) -> Int {
        guard let walk = FileManager.default.enumerator(atPath: directory) else { return -1 }
        var count = 0
        while let path = walk.nextObject() as? String {
            let name = (path as NSString).lastPathComponent
            if path.contains("chunks/chunks/"), name.utf8.count == 64, name.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) {
                count += 1
            }
        }
        return count
    }

    /// Issue 8's dedup acceptance through the commands: the same 100 MiB put twice is stored once,
    /// and 1 KiB inserted in its middle adds at most a few chunks (content-defined boundaries
    /// realign after the edit), counted both by `ls` and by the chunk files on the nodes' disks.
    @Test func aRepeatedFileIsStoredOnceAndAnEditInItsMiddleAddsFewChunks() async throws {
        try await Self.withDemo { demo in
            let (cluster, blob) = (demo.cluster, demo.blob)
            func distinctChunks() async throws -> Int {
                let total = try await blob(["ls"]).split(separator: "\n").last.map(String.init) ?? ""
                let field = total.split(separator: ",").first { $0.contains("distinct chunks") } ?? ""
                return Int(field.split(separator: " ").first ?? "") ?? -1
            }
            let store = cluster.dir.file("demo")
            var random = SeededBytes(seed: 47)
            let original = random.bytes(100 << 20)
            let input = cluster.dir.file("original")
            try Data(original).write(to: URL(fileURLWithPath: input))

            _ = try await blob(["put", input, "--name", "first"])
            let once = (chunks: try await distinctChunks(), files: Self.chunkFiles(under: store))
            cluster.expect(once.chunks >= (100 << 20) >> 22, "100 MiB in \(once.chunks) chunks: chunks are at most 4 MiB")
            cluster.expect(once.files == 3 * once.chunks, "\(once.chunks) chunks take \(once.files) files, not R = 3 copies each")

            _ = try await blob(["put", input, "--name", "second"])
            let twice = (chunks: try await distinctChunks(), files: Self.chunkFiles(under: store))
            cluster.expect(twice == once, "the same file put again changed the store: \(once) then \(twice)")

            let middle = original.count / 2
            let edited = Array(original[..<middle]) + random.bytes(1 << 10) + Array(original[middle...])
            let editedInput = cluster.dir.file("edited")
            try Data(edited).write(to: URL(fileURLWithPath: editedInput))
            _ = try await blob(["put", editedInput, "--name", "edited"])
            let after = (chunks: try await distinctChunks(), files: Self.chunkFiles(under: store))
            // The edit rewrites the chunk it falls in; a boundary it creates or moves can touch one or two more.
            cluster.expect((1...3).contains(after.chunks - once.chunks), "1 KiB in the middle added \(after.chunks - once.chunks) chunks")
            cluster.expect(after.files - once.files == 3 * (after.chunks - once.chunks), "the edit's new chunks on disk: \(once.files) then \(after.files) files")
            print("dedup through the commands: 100 MiB in \(once.chunks) chunks (\(once.files) files); again: +\(twice.chunks - once.chunks); 1 KiB inserted: +\(after.chunks - once.chunks)")

            let output = cluster.dir.file("edited.out")
            _ = try await blob(["get", "edited", "-o", output])
            cluster.expect(try Self.sha256(ofFile: output) == Array(SHA256.hash(data: edited)), "the edited file came back different")
        }
    }

    /// Runs `meshdb arguments` under python3 and returns its exit status, output and peak resident
    /// memory in bytes (getrusage of the child: the kernel's own high-water mark).
    static func measured(_ meshdb: String, _ arguments: [String]) async throws -> (status: Int32, output: String, peakBytes: Int) {
        let script = """
            import resource, subprocess, sys
            run = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            sys.stdout.write(run.stdout.decode(errors="replace"))
            print("peak-kib", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
            sys.exit(run.returncode)
            """
        let run = try await runTool("/usr/bin/env", ["python3", "-c", script, meshdb] + arguments, seconds: 300)
        let peak = run.output.split(separator: "\n").last { $0.hasPrefix("peak-kib ") }.flatMap { Int($0.dropFirst(9)) } ?? -1
        return (run.status, run.output, peak * 1024)
    }

    @Test func a100MiBFileStreamsInAndOutWithBoundedMemory() async throws {
        let cluster = try await ProcessCluster(nodes: 4, initialize: false)
        try await cluster.run { cluster in
            let url = try await cluster.startDemo()
            let meshdb = try builtProduct("meshdb").path
            // Compressible but not periodic, so boundaries vary as in real text.
            let input = cluster.dir.file("big.txt")
            guard FileManager.default.createFile(atPath: input, contents: nil) else { throw ClusterTestError("cannot create \(input)") }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: input))
            var line = 0
            while (try handle.offset()) < 100 << 20 {
                var block = ""
                for _ in 0..<10_000 {
                    block += "line \(line): the quick brown fox jumps over the lazy dog \(line &* 7919 % 1_000_003)\n"
                    line += 1
                }
                try handle.write(contentsOf: Data(block.utf8))
            }
            try handle.close()
            let bound = 256 << 20
            let put = try await Self.measured(meshdb, ["blob", "put", input, "--url", url])
            cluster.expect(put.status == 0, "put exited \(put.status):\n\(put.output.suffix(2000))")
            cluster.expect(put.peakBytes > 0 && put.peakBytes < bound, "put peaked at \(put.peakBytes >> 20) MiB (bound \(bound >> 20) MiB)")
            let output = cluster.dir.file("big.out")
            let get = try await Self.measured(meshdb, ["blob", "get", "big.txt", "-o", output, "--url", url])
            cluster.expect(get.status == 0, "get exited \(get.status):\n\(get.output.suffix(2000))")
            cluster.expect(get.peakBytes > 0 && get.peakBytes < bound, "get peaked at \(get.peakBytes >> 20) MiB (bound \(bound >> 20) MiB)")
            cluster.expect(try Self.sha256(ofFile: output) == Self.sha256(ofFile: input), "the 100 MiB file came back different")
            print("blob commands, 100 MiB compressible: put peak \(put.peakBytes >> 20) MiB, get peak \(get.peakBytes >> 20) MiB")
        }
    }
}
