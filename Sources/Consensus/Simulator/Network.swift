import Crypto

/// The simulated network (STYLE.md §2): it drops, duplicates, delays (and so reorders) frames,
/// and partitions replicas; clients reach every replica. All randomness comes from the run's seed.
extension Simulation {
    /// Loss, duplication and delay; the fault phase draws harsher ones, healing restores these.
    struct NetworkConditions {
        var dropProbability = 0.0
        var duplicateProbability = 0.0
        var delayTicksMin: UInt64 = 1
        var delayTicksMax: UInt64 = 8
    }

    func linked(_ a: Principal, _ b: Principal) -> Bool {
        guard case .replica(let x) = a, case .replica(let y) = b else { return true }
        return partitionGroup[x] == partitionGroup[y]
    }

    func transmit(_ frame: [UInt8], from sender: Principal? = nil, to recipient: Principal) {
        if let sender, !linked(sender, recipient) { return }
        if rng.chance(network.dropProbability) { return }
        queue.push(.deliver(frame: frame, to: recipient), at: now + rng.between(network.delayTicksMin, network.delayTicksMax))
        if rng.chance(network.duplicateProbability) {
            queue.push(.deliver(frame: frame, to: recipient), at: now + rng.between(network.delayTicksMin, network.delayTicksMax * 2))
        }
    }

    func deliver(_ frame: [UInt8], to recipient: Principal) {
        delivered += 1
        var header = ByteWriter()
        header.write(now)
        MessageCodec(replicaCount: config.replicaCount).write(recipient, &header)
        trace.update(data: header.bytes)
        trace.update(data: frame)
        switch recipient {
        case .client(let id):
            guard let c = clients.firstIndex(where: { $0.client.id == id }) else { return }
            let actions = clients[c].client.receive(frame: frame)
            process(actions, client: c)
        case .replica(let index):
            let targets = instances.indices.filter { instances[$0].replicaIndex == index && instances[$0].replica != nil }
            var chosen = targets
            if targets.count == 2 {
                // Twins: each copy sees part of the traffic, as if on two sides of a partition.
                switch rng.below(4) {
                case 0: chosen = [targets[0]]
                case 1: chosen = [targets[1]]
                default: break
                }
            }
            for i in chosen {
                if instances[i].mutator?.behavior == .replayer, instances[i].received.count < 256 {
                    instances[i].received.append(frame)
                }
                let actions = instances[i].replica!.receive(frame: frame)
                process(actions, instance: i)
            }
        }
    }
}
