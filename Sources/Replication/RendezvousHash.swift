import Crypto

/// Highest-random-weight (rendezvous) hashing: every node that knows the same candidate list picks
/// the same owners for a key, with no coordination, and removing one candidate moves only the keys
/// it owned. Used to place shard groups and blob chunk replicas (see ../shared/DESIGN.md).
public enum RendezvousHash {
    /// A candidate for placement: a stable identity and an optional zone.
    public struct Candidate: Sendable, Hashable {
        public let id: String
        public let zone: String?

        public init(id: String, zone: String? = nil) {
            self.id = id
            self.zone = zone
        }
    }

    /// The weight of `candidate` for `key`: the first 8 bytes of SHA-256(key ‖ 0x00 ‖ candidate id).
    /// SHA-256 rather than Swift's `Hasher`, which is seeded per process and would differ between nodes.
    public static func weight(key: [UInt8], candidate: String) -> UInt64 {
        var hasher = SHA256()
        hasher.update(data: key)
        hasher.update(data: [0])
        hasher.update(data: Array(candidate.utf8))
        return hasher.finalize().withUnsafeBytes { raw in
            raw.prefix(8).reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        }
    }

    /// The `count` owners of `key`, heaviest first. When candidates carry zones, owners are spread
    /// over as many distinct zones as possible before any zone gets a second owner.
    /// Ties (equal weights) are broken by candidate id, so the order never depends on input order.
    public static func owners(
        of key: [UInt8],
        among candidates: [Candidate],
        count: Int
    ) -> [Candidate] {
        precondition(count >= 0, "owner count must not be negative")
        let ranked = candidates
            .map { (candidate: $0, weight: weight(key: key, candidate: $0.id)) }
            .sorted { $0.weight != $1.weight ? $0.weight > $1.weight : $0.candidate.id < $1.candidate.id }
            .map(\.candidate)
        var chosen: [Candidate] = []
        var chosenIDs = Set<String>()
        var zonesUsed = Set<String>()
        // First pass: one owner per zone, in rank order; candidates without a zone count as their own.
        for candidate in ranked where chosen.count < count {
            let zone = candidate.zone ?? "node:" + candidate.id
            if zonesUsed.insert(zone).inserted, chosenIDs.insert(candidate.id).inserted {
                chosen.append(candidate)
            }
        }
        // Second pass: fill from the rank order when there are fewer zones than owners.
        for candidate in ranked where chosen.count < count {
            if chosenIDs.insert(candidate.id).inserted {
                chosen.append(candidate)
            }
        }
        return chosen
    }

    /// The `size` owners of PBFT group `group` (0 is the metadata group): the owners of the key
    /// "meshdb-group-<group>". Every node computes the same groups from the same candidates; a
    /// node can own a place in several groups. `ClusterLayout.placeGroups` and the scale
    /// simulation (`meshdb sim scale`) place groups with it.
    public static func groupOwners(group: Int, size: Int, among candidates: [Candidate]) -> [Candidate] {
        owners(of: Array("meshdb-group-\(group)".utf8), among: candidates, count: size)
    }
}
