#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
private let systemRename = Glibc.rename
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
private let systemRename = Darwin.rename
#endif

/// The few POSIX file operations the stores need, with errno kept in the error. Foundation's
/// FileManager cannot fsync, and durability here is the whole point.
enum DurableFile {
    struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        let operation: String
        let path: String
        let errno: Int32

        var description: String { "\(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))" }
    }

    /// Creates the file `path` holding `parts` unless it exists already; false when it did.
    ///
    /// Steps: write a temporary file, fsync it, link(2) it to `path` (which, unlike rename, never
    /// replaces an existing file, so concurrent writers of one content-addressed file count it
    /// once), unlink the temporary name. The caller fsyncs the directory to make the new name
    /// durable. A crash at any step leaves either no file at `path` or the whole one; a leftover
    /// temporary file is removed by the store on its next open.
    static func linkNew(_ parts: [UInt8]..., at path: String, temporaryPath: String) throws(Failure) -> Bool {
        try writeSynced(parts, to: temporaryPath)
        defer { unlink(temporaryPath) }
        if link(temporaryPath, path) != 0 {
            if errno == EEXIST { return false }
            throw Failure(operation: "link", path: path, errno: errno)
        }
        return true
    }

    /// Writes `parts` to a new file at `path` (which must not exist) and fsyncs it.
    static func writeSynced(_ parts: [[UInt8]], to path: String) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, errno: errno) }
        do throws(Failure) {
            for part in parts { try writeAll(fd, part, path: path) }
            guard fsync(fd) == 0 else { throw Failure(operation: "fsync", path: path, errno: errno) }
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        close(fd)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(Failure) {
        let failure: Failure? = bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return Failure(operation: "write", path: path, errno: errno)
                }
                offset += written
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Reads the whole file; `bytesMax` bounds what a damaged or hostile file can make us allocate.
    static func read(_ path: String, bytesMax: Int) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure(operation: "fstat", path: path, errno: errno) }
        let size = Int(info.st_size)
        guard size <= bytesMax else { throw Failure(operation: "read (file larger than \(bytesMax) bytes)", path: path, errno: EFBIG) }
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        let failure: Failure? = bytes.withUnsafeMutableBufferPointer { buffer in
            while offset < size {
                let count = systemRead(fd, buffer.baseAddress! + offset, size - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return Failure(operation: "read", path: path, errno: errno)
                }
                if count == 0 { break }
                offset += count
            }
            return nil
        }
        if let failure { throw failure }
        return Array(bytes.prefix(offset))
    }

    /// Reads at most `count` bytes from the start of the file, and the file's size.
    static func readPrefix(_ path: String, count: Int) throws(Failure) -> (bytes: [UInt8], fileSize: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure(operation: "fstat", path: path, errno: errno) }
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + offset, count - offset) }
            if got < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "read", path: path, errno: errno)
            }
            if got == 0 { break }
            offset += got
        }
        return (Array(bytes.prefix(offset)), Int(info.st_size))
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Takes an exclusive advisory lock on `path` (created if missing) for as long as the returned
    /// descriptor stays open; nil when another holder has it.
    static func lockExclusively(_ path: String) throws(Failure) -> Int32? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw Failure(operation: "flock", path: path, errno: code)
        }
        return fd
    }

    /// fsyncs the directory holding `path`, so that a rename or unlink in it survives a crash.
    static func syncDirectory(containing path: String) throws(Failure) {
        let directory = parent(of: path)
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: directory, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure(operation: "fsync", path: directory, errno: errno) }
    }

    /// Creates `path` and any missing parents, and makes each level durable. Syncs the parent
    /// even when the directory existed: an earlier process may have crashed between its mkdir and
    /// that fsync, and what is written inside must not outlive the directory's own entry.
    static func ensureDirectory(_ path: String) throws(Failure) {
        let parent = parent(of: path)
        if parent != path, parent != ".", parent != "/", !isDirectory(parent) {
            try ensureDirectory(parent)
        }
        if mkdir(path, 0o755) != 0, errno != EEXIST {
            throw Failure(operation: "mkdir", path: path, errno: errno)
        }
        try syncDirectory(containing: path)
    }

    static func remove(_ path: String) throws(Failure) {
        guard unlink(path) == 0 else { throw Failure(operation: "unlink", path: path, errno: errno) }
        try syncDirectory(containing: path)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// fsyncs the file at `path`.
    static func syncFile(_ path: String) throws(Failure) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure(operation: "fsync", path: path, errno: errno) }
    }

    /// Renames `source` over `destination` (replacing it) and makes the rename durable.
    static func rename(_ source: String, to destination: String) throws(Failure) {
        guard systemRename(source, destination) == 0 else { throw Failure(operation: "rename", path: destination, errno: errno) }
        try syncDirectory(containing: destination)
    }

    /// Entry names in a directory, sorted; `.` and `..` left out.
    static func list(_ directory: String) throws(Failure) -> [String] {
        guard let dir = opendir(directory) else { throw Failure(operation: "opendir", path: directory, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
