#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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

    /// Creates the file `path` holding `parts`, atomically and durably, unless it exists already.
    /// Returns false when another writer created it first (content-addressed files are equal).
    ///
    /// Steps: write a temporary file, fsync it, link(2) it to `path` (which, unlike rename, never
    /// replaces an existing file), unlink the temporary name, fsync the directory. A crash at any
    /// step leaves either no file at `path` or the whole one; a leftover temporary file is
    /// removed by the store on its next open.
    @discardableResult
    static func createAtomically(_ parts: [UInt8]..., at path: String, temporaryPath: String) throws(Failure) -> Bool {
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(operation: "open", path: temporaryPath, errno: errno) }
        do throws(Failure) {
            for part in parts { try writeAll(fd, part, path: temporaryPath) }
            guard fsync(fd) == 0 else { throw Failure(operation: "fsync", path: temporaryPath, errno: errno) }
        } catch {
            close(fd)
            unlink(temporaryPath)
            throw error
        }
        close(fd)
        defer { unlink(temporaryPath) }
        if link(temporaryPath, path) != 0 {
            if errno == EEXIST { return false }
            throw Failure(operation: "link", path: path, errno: errno)
        }
        try syncDirectory(containing: path)
        return true
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
                let count = Glibc.read(fd, buffer.baseAddress! + offset, size - offset)
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

    /// Reads at most `count` bytes from the start of the file.
    static func readPrefix(_ path: String, count: Int) throws(Failure) -> (bytes: [UInt8], fileSize: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure(operation: "fstat", path: path, errno: errno) }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, count) }
        guard got >= 0 else { throw Failure(operation: "read", path: path, errno: errno) }
        return (Array(bytes.prefix(got)), Int(info.st_size))
    }

    /// fsyncs the directory holding `path`, so that a rename or unlink in it survives a crash.
    static func syncDirectory(containing path: String) throws(Failure) {
        let directory = parent(of: path)
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: directory, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure(operation: "fsync", path: directory, errno: errno) }
    }

    /// Creates `path` (and no parents) if missing, and makes its creation durable.
    static func ensureDirectory(_ path: String) throws(Failure) {
        if mkdir(path, 0o755) == 0 {
            try syncDirectory(containing: path)
        } else if errno != EEXIST {
            throw Failure(operation: "mkdir", path: path, errno: errno)
        }
    }

    static func remove(_ path: String) throws(Failure) {
        guard unlink(path) == 0 else { throw Failure(operation: "unlink", path: path, errno: errno) }
        try syncDirectory(containing: path)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

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
