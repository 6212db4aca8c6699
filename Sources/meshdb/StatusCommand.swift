import ArgumentParser
import MeshDB

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show cluster health: each node up or down, each group's view, primary, progress and lag.",
        discussion: """
            Asks one node for the members (the mesh_nodes system table), then asks each member for \
            the state of its PBFT groups. Lag is how many sequence numbers a replica's last executed \
            batch is behind the most advanced replica of its group.
            """)

    @OptionGroup var address: NodeAddressOptions

    func run() async throws {
        var members: [(index: Int, host: String, port: Int)] = []
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
                for row in rows.rows {
                    if case .integer(let index) = row[indexColumn], case .text(let host) = row[hostColumn], case .integer(let port) = row[portColumn] {
                        members.append((Int(index), host, Int(port)))
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
        print("NODE  ADDRESS               STATE")
        for member in members {
            let state = statuses[member.index] != nil ? "up" : "down (\(errors[member.index] ?? "no answer"))"
            print(pad("\(member.index)", 6) + pad("\(member.host):\(member.port)", 22) + state)
        }
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

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
