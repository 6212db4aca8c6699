import ArgumentParser
import Foundation
import MeshDB

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show cluster health: each node up or down, each group's view, primary, progress and lag, and blob chunk repair.",
        discussion: """
            Asks one node for the members (the mesh_nodes system table), then asks each member for \
            the state of its PBFT groups and its chunk store. Lag is how many sequence numbers a replica's \
            last executed batch is behind the most advanced replica of its group. CATALOG is the state \
            mesh_nodes lists (`meshdb node down/up`). Under chunks: the copies each node holds, and for \
            the chunks it repairs, how many had fewer than 3 up holders at its last repair round, the \
            copies made since it started, the copies still pending, and when that round ended; \
            COLLECTED counts the unreferenced chunks garbage collection deleted. See docs/blobs.md.
            """)

    @OptionGroup var address: NodeAddressOptions

    func run() async throws {
        var members: [(index: Int, host: String, port: Int, state: String)] = []
        var firstError: (any Error)?
        for (host, port) in try await address.addresses() {
            do {
                let client = try await MeshClient.connect(host: host, port: port)
                defer { Task { await client.close() } }
                guard case .rows(let rows) = try await client.send(.systemTable("mesh_nodes")) else { continue }
                let column = { (name: String) in rows.columns.firstIndex(of: name) }
                guard let indexColumn = column("node_index"), let hostColumn = column("host"), let portColumn = column("port") else {
                    throw ValidationError("mesh_nodes lacks node_index/host/port columns: \(rows.columns)")
                }
                let stateColumn = column("state")
                for row in rows.rows {
                    if case .integer(let index) = row[indexColumn], case .text(let host) = row[hostColumn], case .integer(let port) = row[portColumn] {
                        let state = stateColumn.flatMap { if case .text(let state) = row[$0] { state } else { nil } } ?? "?"
                        members.append((Int(index), host, Int(port), state))
                    }
                }
                break
            } catch {
                firstError = firstError ?? error
            }
        }
        guard !members.isEmpty else {
            throw ValidationError("no node answered: \(firstError.map { "\($0)" } ?? "no members known yet")")
        }
        var statuses: [Int: NodeStatus] = [:]
        var errors: [Int: String] = [:]
        for member in members {
            do {
                let client = try await MeshClient.connect(host: member.host, port: member.port, timeout: .seconds(2))
                if case .status(let status) = try await client.send(.status) { statuses[member.index] = status }
                await client.close()
            } catch {
                errors[member.index] = "\(error)"
            }
        }
        print("NODE  ADDRESS               CATALOG  STATE")
        for member in members {
            let state = statuses[member.index] != nil ? "up" : "down (\(errors[member.index] ?? "no answer"))"
            print(pad("\(member.index)", 6) + pad("\(member.host):\(member.port)", 22) + pad(member.state, 9) + state)
        }
        printChunks(members.compactMap { member in statuses[member.index].map { (member.index, $0.chunks) } })
        let groups = Set(statuses.values.flatMap { $0.groups.map(\.group) }).sorted()
        for group in groups {
            let rows = members.compactMap { member in statuses[member.index]?.groups.first { $0.group == group }.map { (member.index, $0) } }
            let newest = rows.map(\.1.lastExecuted).max() ?? 0
            print("\ngroup \(group) (\(group == 0 ? "metadata" : "shards"))")
            print("NODE  VIEW  PRIMARY  STATE        EXECUTED  CHECKPOINT  LAG")
            for (node, status) in rows {
                print(pad("\(node)", 6) + pad("\(status.view)", 6) + pad("\(status.primaryNode)", 9)
                      + pad(status.inViewChange ? "view-change" : "normal", 13) + pad("\(status.lastExecuted)", 10)
                      + pad("\(status.stableCheckpoint)", 12) + "\(newest - status.lastExecuted)")
            }
        }
    }

    /// One line per answering node: its chunk store, then its repair and collection progress.
    private func printChunks(_ rows: [(node: Int, chunks: ChunkStatus)]) {
        print("\nchunks")
        print("NODE  CHUNKS  BYTES         UNDER-REPLICATED  COPIES MADE  PENDING  LOST  LAST REPAIR  COLLECTED")
        for (node, chunks) in rows {
            let lastRepair = chunks.lastRepairMicros == 0 ? "never" : Self.ago(micros: chunks.lastRepairMicros)
            print(pad("\(node)", 6) + pad("\(chunks.chunkCount)", 8) + pad("\(chunks.storedBytes)", 14) + pad("\(chunks.underReplicated)", 18)
                  + pad("\(chunks.copiesMade)", 13) + pad("\(chunks.pendingCopies)", 9) + pad("\(chunks.lostChunks)", 6)
                  + pad(lastRepair, 13) + "\(chunks.collectedChunks)")
        }
    }

    /// "12 s ago" from microseconds since the Unix epoch.
    private static func ago(micros: Int64) -> String {
        let seconds = max(0, Int64(Date().timeIntervalSince1970) - micros / 1_000_000)
        return "\(seconds) s ago"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
