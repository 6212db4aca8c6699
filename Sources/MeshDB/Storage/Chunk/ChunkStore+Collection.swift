import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What garbage collection needs of the store (docs/blobs.md, "Garbage collection"): the chunks
/// untouched since a cutoff, and a delete that checks the age again under the chunk's lock, so a
/// put that deduplicates against the chunk (and refreshes its modification time under the same
/// lock) either happens before the check and keeps the chunk, or after the unlink and writes it
/// again.
extension ChunkStore {
    /// A critical section for the chunks of one stripe. A class, because `Mutex` cannot live in
    /// an array.
    final class IDLock: Sendable {
        private let mutex = Mutex(())

        func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
            try mutex.withLock { _ throws(E) -> T in try body() }
        }
    }

    func lock(for id: ChunkID) -> IDLock { idLocks[Int(id.bytes[0]) % Self.idLockStripes] }

    /// Before a put vouches for the copy it found intact: under the chunk's lock, sets the copy's
    /// modification time to now. Fails when garbage collection removed the copy since
    /// the put looked (the writer's retry then stores it afresh), so a put never acknowledges a
    /// copy that is gone.
    func refreshBeforeVouching(_ id: ChunkID) throws(DurableFile.Failure) {
        let path = path(of: id)
        try lock(for: id).withLock { () throws(DurableFile.Failure) in try DurableFile.touch(path) }
    }

    /// Whether chunk `id` is held, its copy's modification time set to now under the
    /// chunk's lock first: the census before a blob is named (`ChunkCensus.requireDurable`). A
    /// copy the collector deleted before the lock is not held; one it reaches after is too young
    /// to delete. A copy whose time cannot be set counts as not held, so it is never vouched for.
    public func refresh(_ id: ChunkID) -> Bool {
        (try? refreshBeforeVouching(id)) != nil
    }

    /// The stored chunks whose files were last modified before `cutoffNanoseconds` (wall clock,
    /// nanoseconds since the Unix epoch), in ascending order of name.
    public func chunks(modifiedBefore cutoffNanoseconds: Int64) throws(ChunkStoreError) -> [ChunkID] {
        try list().filter { id in
            guard let modified = DurableFile.modificationNanoseconds(path(of: id)) else { return false }
            return modified < cutoffNanoseconds
        }
    }

    /// Deletes chunk `id` when its file is still older than `cutoffNanoseconds`, checked under the
    /// chunk's lock; returns whether it did. A chunk gone already is not an error here (another
    /// pass, or a delete by hand, got there first).
    public func deleteIfUnused(_ id: ChunkID, modifiedBefore cutoffNanoseconds: Int64) throws(ChunkStoreError) -> Bool {
        try lock(for: id).withLock { () throws(ChunkStoreError) -> Bool in
            guard let modified = DurableFile.modificationNanoseconds(path(of: id)), modified < cutoffNanoseconds else { return false }
            do throws(ChunkStoreError) {
                try delete(id)
            } catch {
                if case .notFound = error { return false }
                throw error
            }
            return true
        }
    }
}

extension ChunkStore {
    /// Deletes chunk `id` when its copy is damaged (`get` reports it corrupt), checked under the
    /// chunk's lock, so a put vouching for the copy waits for the outcome; returns whether it did.
    /// The scrubber's way to turn silent damage into a missing copy, which repair re-makes from a
    /// good one. (A put replacing the damaged copy does not lock: docs/blobs.md, "Scrubbing".)
    public func deleteIfCorrupt(_ id: ChunkID) throws(ChunkStoreError) -> Bool {
        try lock(for: id).withLock { () throws(ChunkStoreError) -> Bool in
            do throws(ChunkStoreError) {
                _ = try get(id)
                return false
            } catch {
                switch error {
                case .corrupt: break
                case .notFound: return false
                default: throw error
                }
            }
            try delete(id)
            return true
        }
    }
}

extension DurableFile {
    /// Sets the file's modification time to now. Not fsynced: a crash that undoes it is harmless,
    /// because a node's first collection round after it starts waits gc_grace, so every
    /// reference committed within gc_grace of a refresh made before the crash is committed before
    /// that round lists its candidates, and the round's scan sees it (docs/blobs.md). An fsync per
    /// chunk here made the census before a name wait on the disk for every chunk.
    static func touch(_ path: String) throws(Failure) {
        guard utimensat(AT_FDCWD, path, nil, 0) == 0 else { throw Failure(operation: "utimensat", path: path, errno: errno) }
    }

    /// The file's modification time in nanoseconds since the Unix epoch; nil when it cannot be read.
    static func modificationNanoseconds(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        return Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        #else
        return Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        #endif
    }
}
