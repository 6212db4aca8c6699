import Foundation
import Logging
import MeshDB
import MeshWire
import NIOCore
import NIOPosix

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
/// installed, so the test can say what to install.
func runClient(_ executable: String, _ arguments: [String], input: String? = nil, seconds: Double = 120) async throws -> ClientRun? {
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    guard let path = paths.map({ "\($0)/\(executable)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        return nil
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try? stdin.fileHandleForWriting.close()
    let reader = Task.detached { output.fileHandleForReading.readDataToEndOfFile() }
    let deadline = ContinuousClock.now + .seconds(seconds)
    while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    let data = await reader.value
    return ClientRun(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
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
