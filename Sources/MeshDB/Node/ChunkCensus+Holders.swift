/// Who holds which chunks: the census `requireDurable` counts, and the one a repair round plans
/// from (`ChunkMaintenance`).
extension ChunkCensus {
    /// Asks every up member which of `ids` it holds (this node's own store directly), in batches
    /// of chunk_ids_per_request_max. `answered`: the placement ids of the members whose every
    /// batch was answered; `holders[i]`: those of them that hold `ids[i]`. A member without a
    /// usable answer vouches for none of the chunks.
    func holders(of ids: [ChunkID], members: [NodeConnections.Member], connections: NodeConnections,
                 limits: ClientRequest.Limits) async -> (answered: Set<String>, holders: [Set<String>]) {
        guard !ids.isEmpty else { return ([], []) }
        let batches = stride(from: 0, to: ids.count, by: limits.chunkIDsPerRequestMax).map {
            Array(ids[$0..<min($0 + limits.chunkIDsPerRequestMax, ids.count)])
        }
        var answered = Set<String>()
        var holders = [Set<String>](repeating: [], count: ids.count)
        await withTaskGroup(of: (String, [Bool]).self) { group in
            for member in members where member.isUp {
                group.addTask { [local, localIndex] in
                    var present: [Bool] = []
                    for batch in batches {
                        if member.index == localIndex {
                            present += batch.map(local.has)
                        } else if case .response(.presence(let flags)) = await connections.answer(.chunkHas(batch), from: member.placementID),
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
