import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import MeshDB
import TestSupport

/// Support for the process-level acceptance tests (docs/cluster.md): real `meshdb` processes on
/// 127.0.0.1, each with its output in a file under the test's temporary directory, killed with
/// SIGKILL, and checked only through the native client.

struct ClusterTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: One process

/// One `meshdb` child process; stdout and stderr go to `logPath`.
final class MeshProcess: Sendable {
    let name: String
    let logPath: String
    let process: ChildProcess
    let spawnedAt: ContinuousClock.Instant

    init(name: String, arguments: [String], logPath: String) throws {
        self.name = name
        self.logPath = logPath
        spawnedAt = ContinuousClock.now
        process = try ChildProcess(try builtProduct("meshdb").path, arguments, output: .file(logPath))
    }

    var pid: Int32 { process.pid }
    var isRunning: Bool { process.isRunning }
    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func tail(lines: Int = 25) -> String {
        output.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Waits until the output holds a line containing `text`; returns the time from spawn to then.
    @discardableResult
    func waitForOutput(_ text: String, within seconds: Double) async throws -> Duration {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            if output.contains(text) { return ContinuousClock.now - spawnedAt }
            guard isRunning else {
                throw ClusterTestError("\(name) exited (\(process.ended.map { "\($0)" } ?? "?")) before printing \"\(text)\":\n\(tail())")
            }
            guard ContinuousClock.now < deadline else {
                throw ClusterTestError("\(name) did not print \"\(text)\" within \(seconds) s:\n\(tail())")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// SIGKILL and reap: the process gets no chance to flush or clean up.
    func kill9() {
        process.send(SIGKILL)
        process.waitUntilExit()
    }

    /// Sends `signal` and waits for the exit; returns the exit status, or nil if it did not exit in time.
    func stop(signal: Int32, within seconds: Double) async throws -> Int32? {
        process.send(signal)
        return try await waitForExit(within: seconds)
    }

    /// The exit status (128 + signal when a signal ended it), or nil if still running after `seconds`.
    func waitForExit(within seconds: Double) async throws -> Int32? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(10))
        }
        return process.ended?.status
    }
}

// MARK: A cluster of processes

/// A local cluster written by `meshdb init` and run as one `meshdb start` process per node.
/// Used from one test task only; `shutdown()` (in a `defer`) SIGKILLs everything it started and
/// removes the directory.
final class ProcessCluster {
    let dir: TemporaryDirectory
    let nodeCount: Int
    let basePort: Int
    let pgBasePort: Int
    private(set) var processes: [MeshProcess?]
    private(set) var everStarted: [MeshProcess] = []
    private var runs: [Int]
    /// Set by `expect` (and by `run` on a thrown error): the logs are printed when it is set.
    private(set) var failed = false

    /// Picks free ports and, with `initialize`, runs `meshdb init` into a fresh directory.
    init(nodes: Int, initialize: Bool = true, label: String = #function) async throws {
        nodeCount = nodes
        dir = try TemporaryDirectory("cluster-\(label)")
        (basePort, pgBasePort) = try await freePortRanges(count: nodes)
        processes = Array(repeating: nil, count: nodes)
        runs = Array(repeating: 0, count: nodes)
        guard initialize else { return }
        let initialize = try MeshProcess(name: "meshdb init", arguments: [
            "init", "--nodes", "\(nodes)", "--dir", dir.path, "--base-port", "\(basePort)", "--pg-base-port", "\(pgBasePort)",
        ], logPath: dir.file("init.log"))
        everStarted.append(initialize)
        guard try await initialize.waitForExit(within: 30) == 0 else {
            throw ClusterTestError("meshdb init failed:\n\(initialize.tail())")
        }
    }

    func configPath(_ node: Int) -> String { dir.file("node-\(node).toml") }
    func port(_ node: Int) -> Int { basePort + node }

    /// Starts node `node` (again, after a kill) and waits for its "listening" line.
    func start(_ node: Int) async throws {
        precondition(processes[node]?.isRunning != true, "node \(node) is already running")
        runs[node] += 1
        let process = try MeshProcess(name: "node \(node) (run \(runs[node]))",
                                      arguments: ["start", "--config", configPath(node)],
                                      logPath: dir.file("node-\(node).run-\(runs[node]).log"))
        processes[node] = process
        everStarted.append(process)
        try await process.waitForOutput("meshdb node \(node) listening on", within: 30)
    }

    /// Spawns any other `meshdb` command; it is SIGKILLed by `shutdown()` like the nodes.
    func spawn(_ name: String, _ arguments: [String]) throws -> MeshProcess {
        let process = try MeshProcess(name: name, arguments: arguments,
                                      logPath: dir.file("\(name.filter { $0.isLetter || $0.isNumber })-\(everStarted.count).log"))
        everStarted.append(process)
        return process
    }

    func startAll() async throws {
        for node in 0..<nodeCount { try await start(node) }
    }

    func kill9(_ node: Int) {
        processes[node]?.kill9()
    }

    var running: [Int] { (0..<nodeCount).filter { processes[$0]?.isRunning == true } }

    /// A client of node `node`, retrying the connection until `seconds` pass.
    func client(_ node: Int, within seconds: Double = 15) async throws -> MeshClient {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            do {
                return try await MeshClient.connect(host: "127.0.0.1", port: port(node), timeout: .seconds(2))
            } catch {
                guard ContinuousClock.now < deadline else { throw ClusterTestError("cannot connect to node \(node): \(error)") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Waits until every running node's catalog lists the shard groups (the bootstrap committed).
    func waitUntilReady(within seconds: Double = testClusterReadySeconds) async throws {
        for node in running {
            let client = try await client(node)
            defer { Task { await client.close() } }
            try await poll("node \(node) to learn the shard groups", within: seconds) {
                guard case .rows(let rows) = try await client.send(.systemTable("mesh_groups")) else { return false }
                return !rows.rows.isEmpty
            }
        }
    }

    /// The status of group `group` as node `node` reports it.
    func groupStatus(_ node: Int, group: UInt32 = 1) async throws -> NodeRuntime.GroupStatus {
        let client = try await client(node, within: 5)
        defer { Task { await client.close() } }
        guard case .status(let status) = try await withDeadline(5, { try await client.send(.status) }),
              let groupStatus = status.groups.first(where: { $0.group == group })
        else { throw ClusterTestError("node \(node) reports no status for group \(group)") }
        return groupStatus
    }

    /// `(lastExecuted, digest)` of node `node`'s replica of `group`.
    func digest(_ node: Int, group: UInt32 = 1) async throws -> (sequence: UInt64, digest: String) {
        let client = try await client(node, within: 5)
        defer { Task { await client.close() } }
        guard case .done(let text) = try await withDeadline(5, { try await client.send(.digest(group: group)) }) else {
            throw ClusterTestError("node \(node): digest answered with something else")
        }
        let parts = text.split(separator: " ")
        guard parts.count == 2, let sequence = UInt64(parts[0]) else { throw ClusterTestError("node \(node): malformed digest \(text)") }
        return (sequence, String(parts[1]))
    }

    /// `#expect` that also marks the cluster failed, so `run` prints the logs.
    func expect(_ condition: Bool, _ comment: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) {
        if !condition { failed = true }
        #expect(condition, Comment(rawValue: comment()), sourceLocation: sourceLocation)
    }

    /// Runs `body`; on a thrown error or a failed `expect`, prints the tail of every process's
    /// output. Always SIGKILLs every process and removes the directory afterwards.
    func run(_ body: (ProcessCluster) async throws -> Void) async throws {
        defer { shutdown() }
        do {
            try await body(self)
        } catch {
            failed = true
            printLogs()
            throw error
        }
        if failed { printLogs() }
    }

    func printLogs() {
        for process in everStarted {
            print("----- \(process.name): last lines of \(process.logPath)\n\(process.tail(lines: 60))")
        }
    }

    func shutdown() {
        for process in everStarted { process.kill9() }
        dir.remove()
    }
}

// MARK: Ports

/// Two ranges of `count` free ports: node ports and PostgreSQL ports.
func freePortRanges(count: Int) async throws -> (base: Int, pgBase: Int) {
    // One allocator for every test of the process (LocalCluster's): ports it handed out are never
    // handed out again, so a cluster restarting on its ports cannot lose them to another test.
    let group = MultiThreadedEventLoopGroup.singleton
    return (try await LocalCluster.freePortRange(count, group: group), try await LocalCluster.freePortRange(count, group: group))
}

// MARK: Waiting

/// Polls `condition` every 50 ms until it holds; errors inside count as "not yet".
func poll(_ what: String, within seconds: Double, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    var lastError: (any Error)?
    while true {
        do {
            if try await condition() { return }
        } catch {
            lastError = error
        }
        guard ContinuousClock.now < deadline else {
            throw ClusterTestError("timed out after \(seconds) s waiting for \(what)\(lastError.map { " (last error: \($0))" } ?? "")")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Runs `operation` and returns its result, or throws once `seconds` pass. `MeshClient.send`
/// ignores cancellation, so the operation is left running (closing its client ends it).
func withDeadline<T: Sendable>(_ seconds: Double, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let box = Locked<CheckedContinuation<T, any Error>?>(nil)
    return try await withCheckedThrowingContinuation { continuation in
        box.withLock { $0 = continuation }
        let resume = { @Sendable (result: Result<T, any Error>) in
            box.withLock { $0.take() }?.resume(with: result)
        }
        Task {
            do { resume(.success(try await operation())) } catch { resume(.failure(error)) }
        }
        Task {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            resume(.failure(ClusterTestError("no answer within \(seconds) s")))
        }
    }
}

/// A task whose completion can be observed without awaiting it.
final class Observed<T: Sendable>: Sendable {
    private let result: Locked<Result<T, any Error>?>

    init(_ operation: @escaping @Sendable () async throws -> T) {
        let result = Locked<Result<T, any Error>?>(nil)
        Task {
            do {
                let value = try await operation()
                result.withLock { $0 = .success(value) }
            } catch {
                result.withLock { $0 = .failure(error) }
            }
        }
        self.result = result
    }

    var outcome: Result<T, any Error>? { result.withLock { $0 } }

    /// Waits for the outcome at most `seconds`.
    func wait(within seconds: Double) async throws -> Result<T, any Error> {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            if let outcome { return outcome }
            guard ContinuousClock.now < deadline else { throw ClusterTestError("no outcome within \(seconds) s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A mutex-guarded value that escaping closures can share.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

// MARK: The test table

/// The table the cluster tests write: `id` is primary and shard key, every value derives from it.
enum TestTable {
    static func spec(_ name: String, shards: UInt32 = 4) -> CatalogTableSpec {
        CatalogTableSpec(name: name, columns: [
            CatalogColumn(name: "id", type: .integer, notNull: true),
            CatalogColumn(name: "name", type: .text, notNull: true),
            CatalogColumn(name: "score", type: .real),
        ], primaryKey: ["id"], shardKey: ["id"], shardCount: shards)
    }

    static func row(_ id: Int) -> [SQLiteValue] {
        [.integer(Int64(id)), .text("row-\(id)-\(String(repeating: "x", count: id % 17))"), .real(Double(id) / 4)]
    }

    static func rows(_ ids: Range<Int>) -> [[SQLiteValue]] { ids.map(row) }

    static func create(_ name: String, through client: MeshClient, shards: UInt32 = 4) async throws {
        let response = try await withDeadline(30) {
            try await client.send(.catalog(.createTable(spec(name, shards: shards), ifNotExists: false)))
        }
        guard response == .done("CREATE TABLE") else { throw ClusterTestError("create table \(name): \(response)") }
    }

    /// Inserts the rows with `ids`; returns the count the node acknowledged.
    static func insert(_ name: String, _ ids: Range<Int>, through client: MeshClient, within seconds: Double = 30) async throws -> UInt64 {
        let response = try await withDeadline(seconds) { try await client.send(.insert(table: name, rows: rows(ids))) }
        guard case .count(let count) = response else { throw ClusterTestError("insert into \(name): \(response)") }
        return count
    }

    static func scan(_ name: String, through client: MeshClient, consistency: Gateway.ReadConsistency = .local,
                     within seconds: Double = 30) async throws -> [[SQLiteValue]] {
        let response = try await withDeadline(seconds) { try await client.send(.scan(table: name, consistency: consistency)) }
        guard case .rows(let rows) = response else { throw ClusterTestError("scan \(name): \(response)") }
        return rows.rows
    }

    /// The ids of `rows`, and whether each row holds exactly the values `row(id)` wrote.
    static func check(_ rows: [[SQLiteValue]]) -> (ids: Set<Int>, wrong: [[SQLiteValue]]) {
        var ids = Set<Int>()
        var wrong: [[SQLiteValue]] = []
        for found in rows {
            guard case .integer(let id) = found.first, found == row(Int(id)) else {
                wrong.append(found)
                continue
            }
            ids.insert(Int(id))
        }
        return (ids, wrong)
    }
}

// MARK: Writing in the background

/// Inserts consecutive batches of `TestTable` rows through one client, one batch at a time,
/// until stopped; remembers which batches the node acknowledged (answered with their count).
/// A batch that fails or times out is not retried under the same ids: it may or may not be
/// present afterwards, and only acknowledged ones must be.
final class BackgroundWriter: Sendable {
    struct State: Sendable {
        var acknowledged: [Range<Int>] = []
        var failures: [String] = []
        var stop = false
    }

    let state = Locked(State())
    private let task: Task<Void, Never>

    init(table: String, client: MeshClient, firstID: Int = 0, batchRows: Int = 200, timeoutSeconds: Double = 20) {
        let state = self.state
        task = Task {
            var next = firstID
            while !state.withLock({ $0.stop }) {
                let ids = next..<next + batchRows
                next += batchRows
                do {
                    let count = try await TestTable.insert(table, ids, through: client, within: timeoutSeconds)
                    state.withLock {
                        if count == UInt64(batchRows) {
                            $0.acknowledged.append(ids)
                        } else {
                            $0.failures.append("batch \(ids): acknowledged \(count) rows of \(batchRows)")
                        }
                    }
                } catch {
                    state.withLock { $0.failures.append("batch \(ids): \(error)") }
                }
            }
        }
    }

    var acknowledgedBatches: Int { state.withLock { $0.acknowledged.count } }
    var acknowledgedIDs: Set<Int> { state.withLock { Set($0.acknowledged.flatMap { $0 }) } }
    var failures: [String] { state.withLock { $0.failures } }

    /// Waits until `count` batches in all are acknowledged.
    func waitForAcknowledged(_ count: Int, within seconds: Double) async throws {
        try await poll("\(count) acknowledged batches (have \(acknowledgedBatches); failures: \(failures))", within: seconds) {
            acknowledgedBatches >= count
        }
    }

    /// Stops after the batch in flight.
    func stop() async {
        state.withLock { $0.stop = true }
        await task.value
    }
}

// MARK: Raw connections

/// Opens a raw TCP connection to 127.0.0.1:`port`, writes `bytes`, then reads until the node
/// closes the connection. Returns the seconds until the close, or nil if it stayed open `seconds`.
func writeGarbage(_ bytes: [UInt8], toPort port: Int, within seconds: Double) async throws -> Double? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ClusterTestError("socket() failed: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw ClusterTestError("connect to \(port) failed: errno \(errno)") }
    let started = ContinuousClock.now
    var written = 0
    while written < bytes.count {
        // A node may close as soon as it sees a bad header: a failed write means it already hung up.
        let n = bytes[written...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }
        written += n
    }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    var buffer = [UInt8](repeating: 0, count: 4096)
    let deadline = started + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            let elapsed = ContinuousClock.now - started
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        if n < 0 { try await Task.sleep(for: .milliseconds(20)) }
    }
    return nil
}

/// How a node-role handshake with a running node ended.
enum NodeHandshakeOutcome: Sendable, Equatable {
    case established
    case rejected(TransportRejection)
    case closed
}

/// Dials 127.0.0.1:`port` in the node role with `identity`, as a peer node would, and reports
/// whether the node let it in.
func attemptNodeHandshake(port: Int, identity: NodeKey, clusterID: [UInt8], nodeKeys: Set<PublicKeyBytes>,
                          expectedPeer: PublicKeyBytes) async throws -> NodeHandshakeOutcome {
    let outcome = Locked<NodeHandshakeOutcome?>(nil)
    var generator = SystemRandomNumberGenerator()
    let nonce = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connectTimeout(.seconds(5))
        .channelInitializer { channel in
            let handshake = Handshake(identity: identity, role: .node,
                                      policy: HandshakePolicy(clusterID: clusterID, nodeKeys: nodeKeys, acceptsClients: false),
                                      nonce: nonce, expectedPeer: expectedPeer)
            let handler = TransportConnectionHandler(
                handshake: handshake, frameBytesMax: 1 << 20, handshakeTimeout: .seconds(5),
                callbacks: .init(
                    established: { _, _, _ in outcome.withLock { $0 = $0 ?? .established } },
                    frame: { _, _, _, _ in },
                    closed: { _, _ in outcome.withLock { $0 = $0 ?? .closed } },
                    rejected: { reason in outcome.withLock { $0 = $0 ?? .rejected(reason) } }))
            return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
        }
        .connect(host: "127.0.0.1", port: port)
        .get()
    defer { channel.close(promise: nil) }
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if let result = outcome.withLock({ $0 }) { return result }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw ClusterTestError("node-role handshake with port \(port) neither completed nor failed within 10 s")
}

extension ProcessCluster {
    /// Starts `meshdb demo --no-repl` on the cluster's ports and waits until it takes tables.
    func startDemo(extraArguments: [String] = []) async throws -> String {
        let cluster = self
        let demo = try cluster.spawn("demo", ["demo", "--data", cluster.dir.file("demo"), "--base-port", "\(cluster.basePort)",
                                              "--port", "\(cluster.pgBasePort)", "--no-repl"] + extraArguments)
        try await demo.waitForOutput("MeshDB demo ready in", within: 60)
        let client = try await cluster.client(0)
        defer { Task { await client.close() } }
        try await poll("the demo's catalog to list the shard groups", within: 60) {
            guard case .rows(let groups) = try await client.send(.systemTable("mesh_groups")) else { return false }
            return !groups.rows.isEmpty
        }
        return "postgres://meshdb@127.0.0.1:\(cluster.pgBasePort)/meshdb"
    }
}
