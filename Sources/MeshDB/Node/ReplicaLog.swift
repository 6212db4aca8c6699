import Consensus
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A replica's PBFT log on disk (the durable half of `PersistedRecord`): one append-only file of
/// records, each `u32 length | u32 CRC-32 | bytes`, fsynced by `sync()` before the node sends
/// anything that depends on them (../shared/DESIGN.md, Durability).
///
/// Recovery reads records up to the first torn or damaged one and truncates the file there: a
/// crash can only cut the unsynced tail. When a stable checkpoint is appended the log is compacted
/// into a new file holding that checkpoint and every record still relevant after it, written,
/// fsynced and renamed over the old one, so the log stays bounded by the checkpoint window.
final class ReplicaLog {
    let path: String
    let codec: PersistedRecordCodec
    /// The largest record accepted on recovery (a checkpoint carries a whole snapshot).
    let recordBytesMax: Int
    private var fd: Int32
    private var unsynced = 0
    private var recordsSinceCompaction: [PersistedRecord] = []

    /// Opens (creating) the log and returns it with the records it holds, oldest first.
    static func open(path: String, codec: PersistedRecordCodec, recordBytesMax: Int = 1 << 30, syncs: Bool = true) throws(NodeError) -> (ReplicaLog, [PersistedRecord]) {
        do {
            try DurableFile.ensureDirectory(DurableFile.parent(of: path))
            let bytes = DurableFile.exists(path) ? try DurableFile.read(path, bytesMax: Int.max) : []
            var records: [PersistedRecord] = []
            var offset = 0
            while offset + 8 <= bytes.count {
                let length = Int(bytes.readUInt32(at: offset))
                let checksum = bytes.readUInt32(at: offset + 4)
                guard length <= recordBytesMax, offset + 8 + length <= bytes.count else { break }
                let body = Array(bytes[offset + 8..<offset + 8 + length])
                guard CRC32.checksum(body) == checksum, let record = try? codec.decode(body) else { break }
                records.append(record)
                offset += 8 + length
            }
            let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw DurableFile.Failure(operation: "open", path: path, errno: errno) }
            // Cut a torn tail so new records follow the last whole one.
            guard ftruncate(fd, off_t(offset)) == 0, lseek(fd, off_t(offset), SEEK_SET) >= 0, fsync(fd) == 0 else {
                let failure = DurableFile.Failure(operation: "truncate", path: path, errno: errno)
                close(fd)
                throw failure
            }
            try DurableFile.syncDirectory(containing: path)
            let log = ReplicaLog(path: path, codec: codec, recordBytesMax: recordBytesMax, fd: fd, syncs: syncs)
            log.recordsSinceCompaction = records
            return (log, records)
        } catch let error as DurableFile.Failure {
            throw .storage("replica log \(path): \(error)")
        } catch let error as NodeError {
            throw error
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    /// False under durability `os`: records reach the OS, not necessarily the disk.
    let syncs: Bool

    private init(path: String, codec: PersistedRecordCodec, recordBytesMax: Int, fd: Int32, syncs: Bool) {
        self.syncs = syncs
        self.path = path
        self.codec = codec
        self.recordBytesMax = recordBytesMax
        self.fd = fd
    }

    deinit { close(fd) }

    /// Appends a record (not yet durable: call `sync()` before sending what depends on it).
    func append(_ record: PersistedRecord) throws(NodeError) {
        if case .checkpoint(let certificate, _) = record {
            try compact(keepingAfter: certificate.sequence, checkpoint: record)
            return
        }
        let body = codec.encode(record)
        try write(frame(body))
        recordsSinceCompaction.append(record)
    }

    /// Makes every appended record durable.
    func sync() throws(NodeError) {
        guard unsynced > 0 else { return }
        guard syncs else {
            unsynced = 0
            return
        }
        guard fdatasync(fd) == 0 else { throw .storage("replica log \(path): fdatasync: \(String(cString: strerror(errno)))") }
        unsynced = 0
    }

    private func frame(_ body: [UInt8]) -> [UInt8] {
        UInt32(body.count).bigEndianBytes + CRC32.checksum(body).bigEndianBytes + body
    }

    private func write(_ bytes: [UInt8]) throws(NodeError) {
        do {
            try DurableFile.writeAll(fd, bytes, path: path)
        } catch {
            throw .storage("replica log \(path): \(error)")
        }
        unsynced += bytes.count
    }

    /// Rewrites the log as: the new stable checkpoint, then the records that still matter after it
    /// (protocol records for later sequence numbers, and the latest view-change and new-view
    /// records, which say which view we are in). Durable on return.
    private func compact(keepingAfter sequence: UInt64, checkpoint: PersistedRecord) throws(NodeError) {
        var kept: [PersistedRecord] = [checkpoint]
        var lastViewChange: PersistedRecord?
        var lastNewView: PersistedRecord?
        for record in recordsSinceCompaction {
            switch record {
            case .prePrepare(let pp) where pp.sequence > sequence: kept.append(record)
            case .commitSent(let vote) where vote.sequence > sequence: kept.append(record)
            case .executed(let executed, _) where executed > sequence: kept.append(record)
            case .adoptedCheckpoint(let certificate) where certificate.sequence > sequence: kept.append(record)
            case .viewChangeSent: lastViewChange = record
            case .newView: lastNewView = record
            default: break
            }
        }
        // View records first, so replay enters the right view before the later slots.
        kept = [checkpoint] + [lastViewChange, lastNewView].compactMap { $0 } + kept.dropFirst()
        let staging = path + ".compact"
        do {
            try? FileManager.default.removeItem(atPath: staging)
            try DurableFile.writeSynced(kept.map { frame(codec.encode($0)) }, to: staging)
            try DurableFile.rename(staging, to: path)
            let newFD = Glibc.open(path, O_WRONLY | O_CLOEXEC)
            guard newFD >= 0, lseek(newFD, 0, SEEK_END) >= 0 else {
                throw DurableFile.Failure(operation: "reopen", path: path, errno: errno)
            }
            close(fd)
            fd = newFD
        } catch {
            throw .storage("replica log \(path): compaction: \(error)")
        }
        unsynced = 0
        recordsSinceCompaction = kept
    }
}

/// Why a node could not do its work; each names the part and the cause.
public enum NodeError: Error, Sendable, Hashable, CustomStringConvertible {
    case storage(String)
    case configuration(String)
    case unavailable(String)
    case timedOut(String)
    case rejected(String)

    public var description: String {
        switch self {
        case .storage(let message): "storage: \(message)"
        case .configuration(let message): "configuration: \(message)"
        case .unavailable(let message): "unavailable: \(message)"
        case .timedOut(let message): "timed out: \(message)"
        case .rejected(let message): "rejected: \(message)"
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): catches torn and damaged log records.
/// Slicing-by-8 (Kounavis and Berry, Intel 2005): eight table lookups per eight bytes. A
/// checkpoint record carries a whole snapshot (14 MB for pgbench's scale 1), and the byte-at-a-time
/// loop cost 5% of a write-heavy node's CPU in compaction alone.
enum CRC32 {
    /// `tables[k * 256 + b]`: the CRC of byte b followed by k zero bytes; k = 0 is the classic table.
    static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var value = UInt32(index)
            for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
            tables[index] = value
        }
        for k in 1..<8 {
            for index in 0..<256 {
                let previous = tables[(k - 1) * 256 + index]
                tables[k * 256 + index] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { checksum($0) }
    }

    static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        tables.withUnsafeBufferPointer { t in
            var crc: UInt32 = 0xFFFF_FFFF
            var i = 0
            let count = bytes.count
            while i + 8 <= count {
                let low = crc ^ (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
                let high = UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 24
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                i += 8
            }
            while i < count {
                crc = t[Int((crc ^ UInt32(bytes[i])) & 0xFF)] ^ (crc >> 8)
                i += 1
            }
            return crc ^ 0xFFFF_FFFF
        }
    }
}

extension UInt32 {
    var bigEndianBytes: [UInt8] { [UInt8(self >> 24), UInt8(truncatingIfNeeded: self >> 16), UInt8(truncatingIfNeeded: self >> 8), UInt8(truncatingIfNeeded: self)] }
}

extension [UInt8] {
    func readUInt32(at offset: Int) -> UInt32 {
        self[offset..<offset + 4].reduce(UInt32(0)) { ($0 << 8) | UInt32($1) }
    }
}
