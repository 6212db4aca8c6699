public import Foundation
import Synchronization

/// A child program the tests start: psql, pgbench, python3, `meshdb`, PostgreSQL's tools.
///
/// posix_spawn and waitpid, not Foundation's `Process`. `Process.run()` crashed the test process
/// inside its memcpy three times in CI runs of 2026-11-21, even with launches serialized and
/// without a custom environment. The child also starts clean, which `Process` does not give:
/// - every descriptor above stderr is closed in the child (`posix_spawn_file_actions_addclosefrom_np`),
///   so a server started by a test cannot inherit the test process's listening sockets and keep
///   their ports bound (the EADDRINUSE failures of the same CI runs), and a pipe of one child
///   cannot be held open by another;
/// - the signal mask is empty and SIGINT, SIGTERM, SIGALRM, SIGPIPE, SIGHUP, SIGQUIT and SIGCHLD
///   have their default dispositions: the test runner blocks most signals, and a child that inherits
///   that ignores SIGTERM (pgbench's -T timer) or SIGINT (psql's cancel key).
///
/// stdout and stderr go together to a pipe (`readOutput…`) or to a file; stdin is /dev/null or
/// bytes written through a pipe and then closed.
public final class ChildProcess: Sendable {
    public enum Input: Sendable {
        case null
        case bytes([UInt8])
    }

    public enum Output: Sendable {
        /// Into a pipe this object reads (`readAvailableOutput`, `readOutputToEnd`).
        case pipe
        /// Into the file at the path, created or truncated.
        case file(String)
    }

    /// How the child ended.
    public enum Termination: Sendable, Hashable {
        case exited(Int32)
        case signaled(Int32)

        /// The status a shell would show: the exit code, or 128 + the signal.
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signaled(let signal): 128 + signal
            }
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let pid: pid_t
    public let path: String
    /// The read end of the output pipe, or -1 when output goes to a file. Closed in deinit.
    private let outputDescriptor: Int32
    /// Set once the child has been reaped.
    private let termination = Mutex<Termination?>(nil)

    /// Starts `path` with `arguments` (argv[1...]); `environment` nil keeps this process's.
    public init(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
                input: Input = .null, output: Output = .pipe) throws {
        self.path = path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }

        var stdinPipe: [Int32]? = nil
        switch input {
        case .null:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .bytes:
            let pipe = try Self.makePipe()
            posix_spawn_file_actions_adddup2(&actions, pipe[0], 0)
            stdinPipe = pipe
        }
        var outputPipe: [Int32]? = nil
        switch output {
        case .pipe:
            let pipe = try Self.makePipe()
            posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
            outputPipe = pipe
        case .file(let file):
            posix_spawn_file_actions_addopen(&actions, 1, file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        guard Self.addCloseFrom(&actions, 3) == 0 else { throw Failure(description: "posix_spawn_file_actions_addclosefrom_np failed") }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGALRM, SIGPIPE, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = [path] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        let environmentStrings = environment.map { variables in
            variables.keys.sorted().map { strdup("\($0)=\(variables[$0]!)") } + [nil]
        }
        defer { environmentStrings?.forEach { free($0) } }

        var child: pid_t = 0
        let spawned: Int32
        if var environmentStrings {
            spawned = posix_spawn(&child, path, &actions, &attributes, &cArguments, &environmentStrings)
        } else {
            spawned = posix_spawn(&child, path, &actions, &attributes, &cArguments, environ)
        }
        // The child holds its ends now (or never will): close ours.
        if let stdinPipe { close(stdinPipe[0]) }
        if let outputPipe { close(outputPipe[1]) }
        guard spawned == 0 else {
            if let stdinPipe { close(stdinPipe[1]) }
            if let outputPipe { close(outputPipe[0]) }
            throw Failure(description: "cannot start \(path): \(String(cString: strerror(spawned)))")
        }
        pid = child
        outputDescriptor = outputPipe?[0] ?? -1
        if let stdinPipe, case .bytes(let bytes) = input {
            // Written from a thread of its own so that a child that fills its output pipe before
            // reading all of its input cannot deadlock against us.
            let descriptor = stdinPipe[1]
            let writer = { @Sendable in
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                    if written < 0, errno == EINTR { continue }
                    guard written > 0 else { break }
                    offset += written
                }
                close(descriptor)
            }
            try Self.detach(writer)
        }
    }

    deinit {
        if outputDescriptor >= 0 { close(outputDescriptor) }
    }

    /// Whether the child still runs; reaps it when it has exited.
    public var isRunning: Bool {
        termination.withLock { ended in
            if ended != nil { return false }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            guard reaped == pid else { return reaped == 0 }
            ended = Self.termination(status)
            return false
        }
    }

    /// How the child ended, or nil while it runs.
    public var ended: Termination? {
        _ = isRunning
        return termination.withLock { $0 }
    }

    /// Sends `signal` to the child, unless it has been reaped (its pid may belong to another
    /// process by then).
    public func send(_ signal: Int32) {
        termination.withLock { ended in
            if ended == nil { _ = kill(pid, signal) }
        }
    }

    /// Blocks until the child exits (polling, so that `isRunning` from other threads stays safe).
    @discardableResult
    public func waitUntilExit() -> Termination {
        while true {
            if let ended { return ended }
            usleep(5_000)
        }
    }

    /// Blocks until the child exits or `seconds` pass; nil on timeout.
    public func waitUntilExit(seconds: Double) -> Termination? {
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        let deadline = Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9 + seconds
        while true {
            if let ended { return ended }
            clock_gettime(CLOCK_MONOTONIC, &clock)
            if Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9 >= deadline { return nil }
            usleep(5_000)
        }
    }

    /// Blocks until some output is there; empty at end of output (or when output goes to a file).
    public func readAvailableOutput() -> [UInt8] {
        guard outputDescriptor >= 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(outputDescriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            return count > 0 ? Array(buffer[..<count]) : []
        }
    }

    /// Blocks until the child closes its output (usually: exits), and returns all of it.
    public func readOutputToEnd() -> [UInt8] {
        var all: [UInt8] = []
        while true {
            let chunk = readAvailableOutput()
            if chunk.isEmpty { return all }
            all += chunk
        }
    }

    /// The full path of `program` on PATH, or nil when it is not installed.
    public static func find(_ program: String, path: String? = nil) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let search = path ?? (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin")
        return search.split(separator: ":").map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 }
    }

    // MARK: Private

    private static func termination(_ status: Int32) -> Termination {
        (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
    }

    /// A pipe whose descriptors close on exec, so that no other child inherits them.
    private static func makePipe() throws -> [Int32] {
        var descriptors: [Int32] = [0, 0]
        guard pipe(&descriptors) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        return descriptors
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc
    /// module does not declare.
    private static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Int32 {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") else { return -1 }
        return unsafeBitCast(symbol, to: CloseFrom.self)(actions, lowest)
    }

    private static func detach(_ body: @escaping @Sendable () -> Void) throws {
        Thread { body() }.start()
    }
}

extension ChildProcess {
    /// What a program printed (stdout and stderr together) and its exit status.
    public struct Run: Sendable {
        public var status: Int32
        public var output: String
    }

    /// Runs `path` to completion: stdin is `input` (then closed), SIGTERM after `seconds` and
    /// SIGKILL 5 s later. With `interruptAfter`, SIGINT is sent that long after `interruptOnceTrue`
    /// first holds (polled; at once without it), so a loaded machine cannot deliver it before the
    /// program is ready. Watched from threads of their own, never from Swift's cooperative pool,
    /// which a cluster under test may keep busy.
    public static func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil, input: [UInt8] = [],
                           seconds: Double, interruptAfter: Duration? = nil,
                           interruptOnceTrue: (@Sendable () -> Bool)? = nil) async throws -> Run {
        let child = try ChildProcess(path, arguments, environment: environment, input: input.isEmpty ? .null : .bytes(input))
        let result = Mutex<Run?>(nil)
        Thread {
            let output = child.readOutputToEnd()
            let run = Run(status: child.waitUntilExit().status, output: String(decoding: output, as: UTF8.self))
            result.withLock { $0 = run }
        }.start()
        Thread {
            let deadline = Date().addingTimeInterval(seconds)
            if let interruptAfter {
                while let ready = interruptOnceTrue, !ready(), child.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
                Thread.sleep(forTimeInterval: Double(interruptAfter.components.seconds) + Double(interruptAfter.components.attoseconds) / 1e18)
                child.send(SIGINT)
            }
            guard child.waitUntilExit(seconds: max(0, deadline.timeIntervalSinceNow)) == nil else { return }
            child.send(SIGTERM)
            if child.waitUntilExit(seconds: 5) == nil { child.send(SIGKILL) }
        }.start()
        while true {
            if let run = result.withLock({ $0 }) { return run }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
