import Consensus
import Foundation
import Synchronization

/// The same workload as `Bench`, with the nodes split over two threads (replicas 0-1 and half the
/// clients on one, replicas 2-3 and the other half on the other), frames crossing through a
/// locked inbox. Still one process; it shows what a second core buys.
@available(macOS 15.0, *)
final class Worker: @unchecked Sendable {
    // Only this worker's thread touches these after the start.
    var replicas: [Replica?]
    var clients: [Client?]
    let inbox = Mutex<[(frame: [UInt8], to: Principal)]>([])

    init(replicas: [Replica?], clients: [Client?]) {
        self.replicas = replicas
        self.clients = clients
    }
}

@available(macOS 15.0, *)
final class SharedProgress: Sendable {
    let completed = Atomic<Int>(0)
    let done = Atomic<Bool>(false)
}

@available(macOS 15.0, *)
struct ThreadedBench {
    static func owner(_ principal: Principal) -> Int {
        switch principal {
        case .replica(let r): r < 2 ? 0 : 1
        case .client(let id): Int(id % 2)
        }
    }

    static func run(batch: Int, clientCount: Int, requestsTarget: Int) -> (seconds: Double, completed: Int) {
        let setup = Bench(batch: batch, clientCount: clientCount, requestsTarget: requestsTarget)
        let operation = setup.operation
        var workers: [Worker] = []
        for w in 0..<2 {
            let replicas: [Replica?] = setup.replicas.indices.map { owner(.replica($0)) == w ? setup.replicas[$0] : nil }
            let clients: [Client?] = setup.clients.map { owner(.client($0.id)) == w ? $0 : nil }
            workers.append(Worker(replicas: replicas, clients: clients))
        }
        let progress = SharedProgress()
        let pair = workers
        // First requests.
        for w in 0..<2 {
            for c in workers[w].clients.indices where workers[w].clients[c] != nil {
                for case .send(let frame, let to) in try! workers[w].clients[c]!.submit(operation: operation) {
                    for target in to { workers[owner(target)].inbox.withLock { $0.append((frame, target)) } }
                }
            }
        }
        let start = Date()
        DispatchQueue.concurrentPerform(iterations: 2) { w in
            let me = pair[w]
            let other = pair[1 - w]
            var local: [(frame: [UInt8], to: Principal)] = []
            var outgoing: [(frame: [UInt8], to: Principal)] = []
            func route(_ frame: [UInt8], _ to: [Principal]) {
                for target in to {
                    if owner(target) == w { local.append((frame, target)) } else { outgoing.append((frame, target)) }
                }
            }
            while !progress.done.load(ordering: .relaxed) {
                var work = me.inbox.withLock { inbox -> [(frame: [UInt8], to: Principal)] in
                    let taken = inbox
                    inbox.removeAll(keepingCapacity: true)
                    return taken
                }
                if !local.isEmpty {
                    work.append(contentsOf: local)
                    local.removeAll(keepingCapacity: true)
                }
                if work.isEmpty {
                    sched_yield()
                    continue
                }
                for (frame, target) in work {
                    switch target {
                    case .replica(let r):
                        for case .send(let out, let to) in me.replicas[r]!.receive(frame: frame) { route(out, to) }
                    case .client(let id):
                        let c = Int(id - 1000)
                        var finished = false
                        for action in me.clients[c]!.receive(frame: frame) {
                            switch action {
                            case .send(let out, let to): route(out, to)
                            case .completed: finished = true
                            default: break
                            }
                        }
                        if finished {
                            let total = progress.completed.add(1, ordering: .relaxed).newValue
                            if total >= requestsTarget { progress.done.store(true, ordering: .relaxed) }
                            for case .send(let out, let to) in try! me.clients[c]!.submit(operation: operation) { route(out, to) }
                        }
                    }
                }
                if !outgoing.isEmpty {
                    other.inbox.withLock { $0.append(contentsOf: outgoing) }
                    outgoing.removeAll(keepingCapacity: true)
                }
            }
        }
        return (Date().timeIntervalSince(start), progress.completed.load(ordering: .relaxed))
    }
}
