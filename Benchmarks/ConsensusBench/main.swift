// Ordered requests per second for one PBFT group of n = 4 in one process: real replicas and
// clients (codec, HMAC authenticators, Ed25519-signed checkpoints), a zero-latency in-memory
// network, no disk. Prints one row per batch size. With `--costs`, measures the scale
// simulation's cost model instead (CostBench.swift).
import Consensus
import Foundation

struct Bench {
    let batch: Int
    let requestsTarget: Int
    var replicas: [Replica]
    var clients: [Client]
    /// Frames in flight, delivered first in, first out: `queue` holds the frames sent while
    /// the frames of the previous round (`Bench.run`) are delivered, in order, which is the same
    /// order one FIFO gives, without shifting a long array down as its head is consumed.
    var queue: [(frame: [UInt8], to: Principal)] = []
    var completed = 0
    var frames = 0
    /// Time spent inside the replicas, without the clients (the load generator).
    var replicaNanoseconds: UInt64 = 0
    /// Frames the replicas handled, and what `modelForResidual` says they cost (CostBench).
    var replicaFrames = 0
    var modelledNanoseconds: UInt64 = 0
    var modelForResidual: NodeCostModel?
    let operation = Array("UPDATE t SET v = v + 1 WHERE k = 42".utf8)

    init(batch: Int, clientCount: Int, requestsTarget: Int) {
        self.batch = batch
        self.requestsTarget = requestsTarget
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
        // K = 128, L = 256: the checkpoint interval of the PBFT papers' experiments.
        options.checkpointIntervalSequences = 128
        options.logWindowSequences = 256
        replicas = (0..<n).map {
            Replica(index: $0, configuration: configuration, options: options, identity: identities[$0],
                    directory: directory, stateMachine: HashChainStateMachine())
        }
        clients = clientIDs.map {
            Client(id: $0, configuration: configuration, identity: clientIdentities[$0]!, directory: directory)
        }
    }

    mutating func enqueue(_ actions: [ClientAction]) -> Bool {
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

    /// CPU seconds used by this process so far: on a shared machine the wall clock also counts
    /// time other processes took from us.
    static func cpuSeconds() -> Double {
        Double(clock()) / Double(CLOCKS_PER_SEC)
    }

    mutating func run() -> (seconds: Double, cpuSeconds: Double, sequences: UInt64) {
        let cpuStart = Self.cpuSeconds()
        let start = Date()
        for c in clients.indices { _ = enqueue(try! clients[c].submit(operation: operation)) }
        var round: [(frame: [UInt8], to: Principal)] = []
        delivery: while !queue.isEmpty {
            swap(&round, &queue)
            queue.removeAll(keepingCapacity: true)
            for (frame, target) in round {
                guard completed < requestsTarget else { break delivery }
                frames += 1
                switch target {
                case .replica(let r):
                    let before = DispatchTime.now().uptimeNanoseconds
                    let actions = replicas[r].receive(frame: frame)
                    replicaNanoseconds += DispatchTime.now().uptimeNanoseconds - before
                    if let model = modelForResidual {
                        replicaFrames += 1
                        modelledNanoseconds += FrameShape(frame: frame).map(model.receiveNanos) ?? 0
                        for case .send(let out, let to) in actions {
                            modelledNanoseconds += FrameShape(frame: out).map { model.sendNanos($0, destinations: to.count) } ?? 0
                        }
                    }
                    for case .send(let out, let to) in actions {
                        for recipient in to { queue.append((out, recipient)) }
                    }
                case .client(let id):
                    let c = Int(id - 1000)
                    if enqueue(clients[c].receive(frame: frame)) {
                        completed += 1
                        _ = enqueue(try! clients[c].submit(operation: operation))
                    }
                }
            }
        }
        return (Date().timeIntervalSince(start), Self.cpuSeconds() - cpuStart, replicas[0].lastExecuted)
    }
}

if CommandLine.arguments.contains("--costs") {
    CostBench.run()
    exit(0)
}

print("PBFT ordering throughput, n = 4, one process, zero-latency network, HMAC authenticators on")
print("requests/s: everything on one thread (4 replicas and all clients), by wall clock; per CPU s: the")
print("same by CPU time (the machine is shared); replica-only: CPU time scaled by the share of wall time")
print("spent inside the 4 replicas, i.e. without the load-generating clients.")
print("batch | clients | requests | sequences | wall s | requests/s | requests/CPU s | replica-only requests/CPU s")
print("------|---------|----------|-----------|--------|------------|----------------|----------------------------")
// Optional arguments: the batch sizes to run (default 1 16 128).
let chosen = Set(CommandLine.arguments.dropFirst().compactMap { Int($0) })
for (batch, clients, target) in [(1, 8, 20_000), (16, 128, 100_000), (128, 1024, 300_000)]
where chosen.isEmpty || chosen.contains(batch) {
    var bench = Bench(batch: batch, clientCount: clients, requestsTarget: target)
    let (seconds, cpuSeconds, sequences) = bench.run()
    let rate = Double(bench.completed) / seconds
    let cpuRate = Double(bench.completed) / cpuSeconds
    let replicaShare = Double(bench.replicaNanoseconds) / 1e9 / seconds
    let replicaRate = Double(bench.completed) / (cpuSeconds * replicaShare)
    print(String(format: "%5d | %7d | %8d | %9d | %6.2f | %10.0f | %14.0f | %27.0f", batch, clients, bench.completed,
                 Int(sequences), seconds, rate, cpuRate, replicaRate))
}

if #available(macOS 15.0, *) {
    print("")
    print("The same on two threads (replicas 0-1 with half the clients, replicas 2-3 with the other half):")
    print("batch | clients | requests | wall s | requests/s")
    print("------|---------|----------|--------|-----------")
    for (batch, clients, target) in [(1, 8, 20_000), (16, 128, 100_000), (128, 1024, 300_000)]
    where chosen.isEmpty || chosen.contains(batch) {
        let (seconds, completed) = ThreadedBench.run(batch: batch, clientCount: clients, requestsTarget: target)
        print(String(format: "%5d | %7d | %8d | %6.2f | %10.0f", batch, clients, completed, seconds, Double(completed) / seconds))
    }
}

