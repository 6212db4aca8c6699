import Foundation
import Logging
import MeshDB
import MeshWire
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization
import TestSupport

/// A 4-node in-process cluster with a PostgreSQL server on node 0, on a free port of 127.0.0.1.
struct WireTestCluster {
    let cluster: LocalCluster
    let server: PostgresServer

    static func start(_ configure: (inout PostgresServer.Options) -> Void = { _ in }) async throws -> WireTestCluster {
        let cluster = try await LocalCluster.start()
        var options = PostgresServer.Options()
        options.logger.logLevel = .warning
        configure(&options)
        do {
            let server = try await PostgresServer.start(gateway: cluster.gateway, host: "127.0.0.1", port: 0, options: options)
            return WireTestCluster(cluster: cluster, server: server)
        } catch {
            await cluster.stop()
            throw error
        }
    }

    var port: Int { server.port }

    func stop() async {
        await server.stop()
        await cluster.stop()
    }
}

/// The outcome of a client program.
struct ClientRun {
    var status: Int32
    var output: String
}

/// Runs a client program (python3, psql) to completion with a time limit; nil when it is not
/// installed, so the test can say what to install. `interruptAfter` sends it SIGINT once (psql
/// then sends a CancelRequest), counted from the moment `interruptOnceTrue` first holds (polled),
/// so that a loaded machine cannot deliver the signal before the program is ready for it. The
/// program is watched from a thread of its own, never from Swift's cooperative pool, which a
/// cluster under test may keep busy.
func runClient(_ executable: String, _ arguments: [String], input: String? = nil, seconds: Double = 120,
               interruptAfter: Duration? = nil,
               interruptOnceTrue: (@Sendable () -> Bool)? = nil) async throws -> ClientRun? {
    guard let path = ChildProcess.find(executable) else { return nil }
    let child = try ChildProcess(path, arguments, input: .bytes(Array((input ?? "").utf8)))
    let collected = OutputCollector()
    Thread {
        let deadline = Date().addingTimeInterval(seconds)
        if let interruptAfter {
            while let ready = interruptOnceTrue, !ready(), child.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            Thread.sleep(forTimeInterval: Double(interruptAfter.components.seconds) + Double(interruptAfter.components.attoseconds) / 1e18)
            child.send(SIGINT)
        }
        if child.waitUntilExit(seconds: max(0, deadline.timeIntervalSinceNow)) == nil { child.send(SIGTERM) }
    }.start()
    Thread {
        let output = child.readOutputToEnd()
        collected.finish(Data(output), status: child.waitUntilExit().status)
    }.start()
    let (data, status) = await collected.value()
    return ClientRun(status: status, output: String(decoding: data, as: UTF8.self))
}

/// The output and exit status of a client, handed from its reader thread to the test.
final class OutputCollector: Sendable {
    private let result = Mutex<(Data, Int32)?>(nil)

    func finish(_ data: Data, status: Int32) {
        result.withLock { $0 = (data, status) }
    }

    func value() async -> (Data, Int32) {
        while true {
            if let result = result.withLock({ $0 }) { return result }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// The folder of the Python client scripts next to this file.
let clientScripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients").path

/// Connects, writes `bytes`, waits briefly and disconnects: for the socket fuzzer.
func sendRaw(_ bytes: [UInt8], port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws {
    let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
    try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    try await Task.sleep(for: .milliseconds(5))
    try? await channel.close()
}

/// A postgres-nio connection to a test server on 127.0.0.1, as `user` (trust unless a password
/// is given), without TLS.
func connectPostgres(port: Int, user: String = "meshdb", password: String? = nil, logger: Logger) async throws -> PostgresConnection {
    let configuration = PostgresConnection.Configuration(host: "127.0.0.1", port: port, username: user,
                                                         password: password, database: "meshdb", tls: .disable)
    return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
}
