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
        var clusterOptions = LocalCluster.Options()
        clusterOptions.readySeconds = testClusterReadySeconds
        let cluster = try await LocalCluster.start(clusterOptions)
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
typealias ClientRun = ChildProcess.Run

/// Runs a client program (python3, psql) to completion with a time limit (`ChildProcess.run`,
/// which also says what `interruptAfter` and `interruptOnceTrue` do); nil when it is not
/// installed, so the test can say what to install.
func runClient(_ executable: String, _ arguments: [String], input: String? = nil, seconds: Double = 120,
               interruptAfter: Duration? = nil,
               interruptOnceTrue: (@Sendable () -> Bool)? = nil) async throws -> ClientRun? {
    guard let path = ChildProcess.find(executable) else { return nil }
    return try await ChildProcess.run(path, arguments, input: Array((input ?? "").utf8), seconds: seconds,
                                      interruptAfter: interruptAfter, interruptOnceTrue: interruptOnceTrue)
}

/// The folder of the Python client scripts next to this file.
let clientScripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients").path

/// Connects, writes `bytes`, waits briefly and disconnects: for the socket fuzzer.
func sendRaw(_ bytes: [UInt8], port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws {
    let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
    // The server may close first — it is meant to, on garbage (and, under load, an earlier
    // garbage connection can still hold a slot): a write to a closed channel is not a failure
    // here; what the tests check is how the server behaves afterwards.
    try? await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    try await Task.sleep(for: .milliseconds(5))
    try? await channel.close()
}

/// A postgres-nio connection to a test server on 127.0.0.1, as `user` (trust unless a password
/// is given), without TLS.
func connectPostgres(port: Int, user: String = "meshdb", password: String? = nil, logger: Logger) async throws -> PostgresConnection {
    var configuration = PostgresConnection.Configuration(host: "127.0.0.1", port: port, username: user,
                                                         password: password, database: "meshdb", tls: .disable)
    configuration.options.connectTimeout = testConnectTimeout
    return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
}

/// How long a test's postgres-nio connection may take to start up: a bound, not a wait. The
/// driver's default is 10 s; in a CI run on 2 cores the server's start-up Task can wait that long
/// for a cooperative thread while heavy tests hold both.
let testConnectTimeout = TimeAmount.seconds(60)
