// Ordered requests per second for one PBFT group of n = 4 in one process: real replicas and
// clients (codec, HMAC authenticators, Ed25519 checkpoints), a zero-latency in-memory network,
// no disk. Prints one row per batch size.
import Consensus
import Foundation

struct Bench {
    let batch: Int
    let clientCount: Int
    let requestsTarget: Int

    func run() -> (requests: Int, seconds: Double, frames: Int, sequences: UInt64) {
        let n = 4
        let configuration = try! GroupConfiguration(replicaCount: n)
        let identities = (0..<n).map { NodeIdentity.deterministic(seed: 1, principal: .replica($0)) }
        let clientIDs = (0..<UInt64(clientCount)).map { 1000 + $0 }
        var clientIdentities: [UInt64: NodeIdentity] = [:]
        for id in clientIDs { clientIdentities[id] = NodeIdentity.deterministic(seed: 1, principal: .client(id)) }
        let directory = KeyDirectory(replicas: identities.map(\.publicIdentity),
                                     clients: clientIdentities.mapValues(\.publicIdentity))
        var options = ReplicaOptions()
        options.requestsPerBatchMax = batch
        options.batchesInFlightMax = 4
        options.checkpointIntervalSequences = batch == 1 ? 128 : 16
        options.logWindowSequences = options.checkpointIntervalSequences * 4
        var replicas = (0..<n).map {
            Replica(index: $0, configuration: configuration, options: options, identity: identities[$0],
                    directory: directory, stateMachine: HashChainStateMachine())
        }
        var clients = clientIDs.map {
            Client(id: $0, configuration: configuration, identity: clientIdentities[$0]!, directory: directory)
        }
        var queue: [(frame: [UInt8], to: Principal)] = []
        var head = 0
        var completed = 0
        var frames = 0
        let operation = Array("UPDATE t SET v = v + 1 WHERE k = 42".utf8)

        func apply(_ actions: [ClientAction], client c: Int) -> Bool {
            var done = false
            for action in actions {
                switch action {
                case .send(let frame, let to): for target in to { queue.append((frame, target)) }
                case .completed: done = true
                default: break
                }
            }
            return done
        }

        let start = Date()
        for c in clients.indices {
            _ = apply(try! clients[c].submit(operation: operation), client: c)
        }
        while head < queue.count && completed < requestsTarget {
            let (frame, target) = queue[head]
            head += 1
            frames += 1
            if head > 1 << 16 {
                queue.removeFirst(head)
                head = 0
            }
            switch target {
            case .replica(let r):
                for action in replicas[r].receive(frame: frame) {
                    if case .send(let out, let to) = action {
                        for recipient in to { queue.append((out, recipient)) }
                    }
                }
            case .client(let id):
                let c = Int(id - 1000)
                if apply(clients[c].receive(frame: frame), client: c) {
                    completed += 1
                    _ = apply(try! clients[c].submit(operation: operation), client: c)
                }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        return (completed, seconds, frames, replicas[0].lastExecuted)
    }
}

print("PBFT ordering throughput, n = 4, one process, zero-latency network, HMAC authenticators on")
print("batch | clients | requests | sequences | seconds | requests/s")
print("------|---------|----------|-----------|---------|-----------")
for (batch, clients, target) in [(1, 8, 20_000), (16, 128, 100_000), (128, 1024, 300_000)] {
    let result = Bench(batch: batch, clientCount: clients, requestsTarget: target).run()
    let rate = Double(result.requests) / result.seconds
    print(String(format: "%5d | %7d | %8d | %9d | %7.2f | %10.0f", batch, clients, result.requests,
                 Int(result.sequences), result.seconds, rate))
}
