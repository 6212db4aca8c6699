import Consensus

/// Answers native client requests on a node: decodes each, runs it through the gateway, and sends
/// the response back on the connection it came from. Malformed requests close the connection.
final class ClientService: Sendable {
    let gateway: Gateway
    let nodeIndex: Int
    let limits = ClientRequest.Limits()

    init(gateway: Gateway, nodeIndex: Int) {
        self.gateway = gateway
        self.nodeIndex = nodeIndex
    }

    func handle(_ payload: [UInt8], from connection: TCPTransport.ClientConnection) {
        guard let (id, request) = try? ClientRequest.decode(payload, limits: limits) else {
            connection.close()
            return
        }
        Task {
            let response = await respond(to: request)
            connection.send(response.encoded(id: id))
        }
    }

    func respond(to request: ClientRequest) async -> ClientResponse {
        do {
            switch request {
            case .catalog(.createTable(let spec, let ifNotExists)):
                try await gateway.createTable(spec, ifNotExists: ifNotExists)
                return .done("CREATE TABLE")
            case .catalog(.dropTable(let name, let ifExists)):
                try await gateway.dropTable(name, ifExists: ifExists)
                return .done("DROP TABLE")
            case .catalog:
                return .error(GatewayError(sqlState: "42501", message: "clients may only create and drop tables"))
            case .insert(let table, let rows):
                return .count(UInt64(try await gateway.insert(into: table, rows: rows)))
            case .get(let table, let key, let consistency):
                return .row(try await gateway.get(from: table, key: key, consistency: consistency))
            case .scan(let table, let consistency):
                return .rows(try await gateway.scan(table, consistency: consistency))
            case .systemTable(let name):
                return .rows(try gateway.systemTable(name))
            case .status:
                return .status(NodeStatus(node: nodeIndex, groups: gateway.runtime.status()))
            case .digest(let group):
                let (sequence, digest) = try gateway.runtime.stateDigest(group: group)
                return .done("\(sequence) \(digest)")
            }
        } catch let error as GatewayError {
            return .error(error)
        } catch let error as NodeError {
            return .error(GatewayError(sqlState: "57P03", message: error.description))
        } catch {
            return .error(GatewayError(sqlState: "XX000", message: "\(error)"))
        }
    }
}
