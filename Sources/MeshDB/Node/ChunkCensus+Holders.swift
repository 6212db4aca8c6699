import Dispatch

/// Who holds which chunks: the census `requireDurable` counts, and the one a repair round plans
/// from (`ChunkMaintenance`).
extension ChunkCensus {
    /// Which up members hold which of `ids` (see the static form), this node's store read directly.
    func holders(of ids: [ChunkID], members: [NodeConnections.Member], connections: NodeConnections,
                 limits: ClientRequest.Limits) async -> (answered: Set<String>, holders: [Set<String>]) {
        await Self.holders(of: ids, members: members, connections: connections, limits: limits, refreshing: false,
                           local: LocalStore(store: local, index: localIndex))
    }

    /// Asks every up member which of `ids` it holds (`local`'s own store directly), in batches
    /// of chunk_ids_per_request_max. `answered`: the placement ids of the members whose every
    /// batch was answered; `holders[i]`: those of them that hold `ids[i]`. A member without a
    /// usable answer vouches for none of the chunks. `refreshing`: each holder sets the time of
    /// its copies to now as it answers (`chunkRefresh`), so garbage collection keeps them for
    /// gc_grace; repair's census only looks.
    static func holders(of ids: [ChunkID], members: [NodeConnections.Member], connections: NodeConnections,
                        limits: ClientRequest.Limits, refreshing: Bool, local: LocalStore?) async -> (answered: Set<String>, holders: [Set<String>]) {
        guard !ids.isEmpty else { return ([], []) }
        let batches = stride(from: 0, to: ids.count, by: limits.chunkIDsPerRequestMax).map {
            Array(ids[$0..<min($0 + limits.chunkIDsPerRequestMax, ids.count)])
        }
        var answered = Set<String>()
        var holders = [Set<String>](repeating: [], count: ids.count)
        await withTaskGroup(of: (String, [Bool]).self) { group in
            for member in members where member.isUp {
                group.addTask {
                    var present: [Bool] = []
                    for batch in batches {
                        if let local, member.index == local.index {
                            // File lookups (and, refreshing, a utimensat each) off the cooperative pool.
                            present += await withCheckedContinuation { continuation in
                                DispatchQueue.global().async {
                                    continuation.resume(returning: batch.map(refreshing ? local.store.refresh : local.store.has))
                                }
                            }
                        } else if case .response(.presence(let flags)) = await connections.answer(refreshing ? .chunkRefresh(batch) : .chunkHas(batch),
                                                                                                     from: member.placementID),
                                  flags.count == batch.count {
                            present += flags
                        } else {
                            // No usable answer: this node vouches for none of the chunks.
                            return (member.placementID, [])
                        }
                    }
                    return (member.placementID, present)
                }
            }
            for await (member, present) in group where present.count == ids.count {
                answered.insert(member)
                for index in ids.indices where present[index] { holders[index].insert(member) }
            }
        }
        return (answered, holders)
    }
}
