import ArgumentParser
import Foundation
import Logging
import MeshDB
import PostgresNIO
import SQLShell
import Synchronization

struct BlobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blob",
        abstract: "Store, read, list and remove named blobs (files) in the cluster's chunk stores.",
        discussion: """
            A blob is cut into content-defined chunks (about 1 MiB), each stored LZ4-compressed on 3 nodes; \
            its name and manifest go to the mesh_blobs system table once every chunk is on f + 1 nodes. \
            Equal chunks are stored once, across blobs. See docs/blobs.md.
            """,
        subcommands: [BlobPutCommand.self, BlobGetCommand.self, BlobListCommand.self, BlobRemoveCommand.self])
}

/// `--url`: the PostgreSQL URL of any node; the blob commands stream over that node's native port,
/// which they learn from the node's `mesh_nodes`.
struct BlobURLOptions: ParsableArguments {
    @Option(name: .long, help: "The PostgreSQL URL of a node (default \(ConnectionURL.demo), the local demo).")
    var url: String?

    /// Runs `body` with a client connected through the node at `--url`, closed afterwards.
    func withClient<T>(_ body: (BlobClient) async throws -> T) async throws -> T {
        let client = try await connect()
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    func connect() async throws -> BlobClient {
        let target: ConnectionURL
        do {
            target = try url.map { try ConnectionURL(parsing: $0) } ?? .demo
        } catch {
            throw ValidationError("\(error)")
        }
        let port = try await NodeAddressOptions.nativePort(of: target)
        return try await BlobClient.connect(host: target.host, port: port)
    }
}

struct BlobPutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put", abstract: "Store FILE as a blob (name: the file's name, or --name).")

    @Argument(help: "The file to store.")
    var file: String

    @Option(name: .long, help: "The blob's name (default: the file's name).")
    var name: String?

    @OptionGroup var address: BlobURLOptions

    func run() async throws {
        guard let handle = FileHandle(forReadingAtPath: file) else { throw ValidationError("cannot open \(file) for reading") }
        defer { try? handle.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? nil
        let blobName = name ?? (file as NSString).lastPathComponent
        let meter = TransferMeter(total: size)
        defer { meter.finish() }
        let blob = try await address.withClient { client in
            try await client.put(name: blobName, createdMicros: Int64(Date().timeIntervalSince1970 * 1_000_000),
                                 read: { count in try Self.read(upTo: count, from: handle.fileDescriptor) },
                                 progress: { meter.update($0.bytes) })
        }
        print("stored \(blob.name): \(blob.root.totalBytes) bytes in \(blob.root.chunkCount) chunks, \(blob.root.storedBytes) bytes after LZ4, sha256 \(blob.root.sha256Hex)")
    }
}

extension BlobPutCommand {
    /// Up to `count` bytes of `descriptor` straight into an array (FileHandle's Data would be
    /// copied into one: a pass over every byte of the file); empty at the end of the file.
    static func read(upTo count: Int, from descriptor: Int32) throws -> [UInt8] {
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            while initialized < count {
                let got = Foundation.read(descriptor, buffer.baseAddress! + initialized, count - initialized)
                if got > 0 {
                    initialized += got
                } else if got == 0 {
                    break
                } else if errno != EINTR {
                    failure = errno
                    break
                }
            }
        }
        guard failure == 0 else { throw ValidationError("cannot read the file: \(String(cString: strerror(failure)))") }
        return bytes
    }
}

struct BlobGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Read blob NAME into a file (-o) or to standard output.")

    @Argument(help: "The blob's name.")
    var name: String

    @Option(name: .shortAndLong, help: "Write here instead of standard output.")
    var output: String?

    @OptionGroup var address: BlobURLOptions

    func run() async throws {
        // Into OUTPUT.partial, renamed over OUTPUT only once the whole value's SHA-256 matched
        // (the client checks it at the end) and the file is on disk: a failed or lying read never
        // leaves wrong or partial bytes under OUTPUT, nor truncates a file that was there.
        let partial = output.map { $0 + ".partial" }
        let file: OutputFile?
        if let partial {
            let descriptor = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw ValidationError("cannot create \(partial): \(String(cString: strerror(errno)))") }
            file = OutputFile(descriptor: descriptor)
        } else {
            file = nil
        }
        // Progress only when the bytes go to a file: standard output carries the blob.
        let meter = output == nil ? nil : TransferMeter(total: nil)
        defer { meter?.finish() }
        let report: BlobClient.GetReport
        do {
            report = try await address.withClient { client in
                try await client.get(name: name, write: { bytes in
                    if let file { try file.write(bytes) } else { try Self.write(bytes, to: STDOUT_FILENO) }
                }, progress: { meter?.update($0.bytes) })
            }
            try file?.finish()
        } catch {
            if let partial {
                file?.close()
                unlink(partial)
            }
            throw error
        }
        if let output, let partial {
            guard rename(partial, output) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(partial)
                throw ValidationError("cannot rename \(partial) to \(output): \(reason)")
            }
            // The new name on disk too (its directory's entry), as a database would.
            let parent = (output as NSString).deletingLastPathComponent
            let directoryPath = parent.isEmpty ? "." : parent
            let directory = open(directoryPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard directory >= 0 else { throw ValidationError("cannot open \(directoryPath) to sync it: \(String(cString: strerror(errno)))") }
            defer { Glibc.close(directory) }
            guard fsync(directory) == 0 else {
                throw ValidationError("cannot sync \(directoryPath) after renaming \(partial): \(String(cString: strerror(errno)))")
            }
        }
        if report.repairedCopies > 0 {
            FileHandle.standardError.write(Data("repaired \(report.repairedCopies) damaged or missing chunk copies\n".utf8))
        }
    }
}

extension BlobGetCommand {
    /// All of `bytes` to `descriptor`, from the array itself (FileHandle would take a Data copy).
    static func write(_ bytes: [UInt8], to descriptor: Int32) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let wrote = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if wrote >= 0 {
                    offset += wrote
                } else if errno != EINTR {
                    throw ValidationError("cannot write the blob: \(String(cString: strerror(errno)))")
                }
            }
        }
    }
}

/// The file `meshdb blob get -o` writes: the bytes go to the page cache as they arrive, and every
/// `writebackBytes` an fdatasync starts on a thread of its own (unless one is still running), so
/// the disk writes while the transfer goes on and the closing fsync has only the tail to wait
/// for. Without it, a 256 MiB get spent about a fifth of its time in that last fsync, and the
/// dirty pages of a large get piled up in memory until then. Once a sync is done, the bytes it
/// wrote are dropped from the page cache (POSIX_FADV_DONTNEED), as `dd oflag=nocache` does: a
/// 2 GiB get does not push the database's own pages out of memory, and its writes reuse the pages
/// it dropped. On the benchmark machine (a VM), writes into pages the guest had never used ran
/// at half speed once the page cache grew past them: gets fell from 450 to 220 MB/s after five
/// 256 MiB blobs.
final class OutputFile: Sendable {
    static let writebackBytes = 32 << 20

    let descriptor: Int32
    private let syncQueue = DispatchQueue(label: "meshdb.blob-get.writeback")
    /// Bytes written since the last background sync started, and whether one is running.
    private let state = Mutex<(written: Int, unsynced: Int, syncing: Bool, failure: Int32?, closed: Bool)>((0, 0, false, nil, false))

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    func write(_ bytes: [UInt8]) throws {
        try BlobGetCommand.write(bytes, to: descriptor)
        let syncedEnd = state.withLock { state -> Int? in
            state.written += bytes.count
            state.unsynced += bytes.count
            guard state.unsynced >= Self.writebackBytes, !state.syncing else { return nil }
            state.unsynced = 0
            state.syncing = true
            return state.written
        }
        guard let syncedEnd else { return }
        syncQueue.async { [self] in
            let failed = fdatasync(descriptor) == 0 ? nil : errno
            // Everything before syncedEnd is on disk: its clean pages can go.
            if failed == nil { _ = posix_fadvise(descriptor, 0, off_t(syncedEnd), POSIX_FADV_DONTNEED) }
            state.withLock {
                $0.syncing = false
                if let failed, $0.failure == nil { $0.failure = failed }
            }
        }
    }

    /// Waits for a background sync, fsyncs the rest and closes: the bytes are on disk, or it throws.
    func finish() throws {
        syncQueue.sync {}
        if let failure = state.withLock({ $0.failure }) {
            throw ValidationError("cannot write the blob to disk: \(String(cString: strerror(failure)))")
        }
        guard fsync(descriptor) == 0 else { throw ValidationError("cannot write the blob to disk: \(String(cString: strerror(errno)))") }
        close()
    }

    /// Closes the file once; later calls do nothing.
    func close() {
        syncQueue.sync {}
        guard state.withLock({ state in
            defer { state.closed = true }
            return !state.closed
        }) else { return }
        Glibc.close(descriptor)
    }
}

struct BlobListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List blobs: name, size, chunks, bytes stored after LZ4 and dedup ratio.",
        discussion: """
            A blob's dedup ratio is its size over the bytes one copy of its distinct chunks takes after LZ4; \
            the total line counts each chunk once across all blobs, so blobs that share chunks raise it.
            """)

    @OptionGroup var address: BlobURLOptions

    func run() async throws {
        let listing = try await address.withClient { try await $0.list() }
        print(BlobListing.render(listing))
    }
}

struct BlobRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove blob NAME from mesh_blobs (its chunks are reclaimed by garbage collection, later).")

    @Argument(help: "The blob's name.")
    var name: String

    @OptionGroup var address: BlobURLOptions

    func run() async throws {
        try await address.withClient { try await $0.remove(named: name) }
        print("removed \(name)")
    }
}

/// The `ls` table.
enum BlobListing {
    static func render(_ listing: [BlobClient.Listing]) -> String {
        var lines = ["NAME                             SIZE        CHUNKS  STORED      DEDUP"]
        var distinct: [ChunkID: Int] = [:]
        // Blobs behind an index: their chunk lists are not in the listing, so they count whole.
        var indexedChunks = 0
        var indexedStored = 0
        var logical = 0
        for entry in listing {
            let root = entry.root
            lines.append(pad(entry.name, 33) + pad("\(root.totalBytes)", 12) + pad("\(root.chunkCount)", 8)
                         + pad("\(root.storedBytes)", 12) + ratio(root.totalBytes, root.storedBytes))
            logical += root.totalBytes
            switch root {
            case .direct(let manifest):
                for chunk in manifest.chunks { distinct[chunk.id] = chunk.storedBytes }
            case .indirect(let indirect):
                indexedChunks += indirect.chunkCount
                indexedStored += indirect.storedBytes
            }
        }
        let stored = distinct.keys.sorted().reduce(indexedStored) { $0 + distinct[$1]! }
        lines.append("\(listing.count) blobs, \(logical) bytes, \(distinct.count + indexedChunks) distinct chunks, \(stored) bytes stored per copy, dedup ratio \(ratio(logical, stored))")
        return lines.joined(separator: "\n")
    }

    static func ratio(_ logical: Int, _ stored: Int) -> String {
        stored == 0 ? (logical == 0 ? "-" : "inf") : String(format: "%.2f", Double(logical) / Double(stored))
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// The progress line on standard error: bytes so far, of how many, and MB/s since the start.
final class TransferMeter {
    private let total: Int?
    private let start = ContinuousClock.now
    private var lastPrint = ContinuousClock.now
    private var bytes = 0

    init(total: Int?) { self.total = total }

    func update(_ bytes: Int) {
        self.bytes = bytes
        let now = ContinuousClock.now
        guard now - lastPrint >= .milliseconds(200) else { return }
        lastPrint = now
        print(line(now: now), terminator: "\r")
    }

    func finish() {
        print(line(now: ContinuousClock.now))
    }

    private func print(_ text: String, terminator: String = "\n") {
        FileHandle.standardError.write(Data((text + terminator).utf8))
    }

    private func line(now: ContinuousClock.Instant) -> String {
        let elapsed = now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let megabytes = Double(bytes) / 1_000_000
        let rate = seconds > 0 ? megabytes / seconds : 0
        let of = total.map { " of " + String(format: "%.1f", Double($0) / 1_000_000) + " MB" } ?? ""
        return String(format: "%.1f", megabytes) + " MB" + of + "  " + String(format: "%.1f", rate) + " MB/s   "
    }
}
