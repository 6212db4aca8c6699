/// The new primary's choice of what to re-propose, and every backup's check of it: a pure
/// function of the VIEW-CHANGE set, so both sides compute the same O from the same V
/// (TOCS §4.5, "decision procedure"; OSDI'99 §4.4).
///
/// The whole set of VIEW-CHANGE messages received is used, not only the ones that carry the
/// chosen checkpoint: with exactly 2f+1 messages a sequence number can stay undecided, and more
/// messages must be able to decide it.
public struct NewViewDecision: Hashable, Sendable {
    /// The stable checkpoint the new view starts from: the highest proven one in the set.
    public var checkpoint: CheckpointCertificate
    /// One entry per sequence number from checkpoint+1 to the highest prepared one.
    public var chosen: [NewViewEntry]
    /// Batches for the chosen digests (the null batch is empty and not listed).
    public var batches: [Digest: [Request]]

    /// Decides, or returns nil when the set does not yet determine some sequence number.
    /// Assumes each message was validated (signature, certificate, entries inside its window).
    public static func decide(_ viewChanges: [ViewChange], configuration: GroupConfiguration) -> NewViewDecision? {
        let quorum = configuration.quorum
        let weak = configuration.faultsTolerated + 1
        guard viewChanges.count >= quorum else { return nil }
        // The checkpoint: the highest one carrying a proof (proofs were verified on receipt).
        var checkpoint = viewChanges[0].stable
        for vc in viewChanges where vc.stable.sequence > checkpoint.sequence { checkpoint = vc.stable }
        let h = checkpoint.sequence

        // P and Q per message, indexed by sequence number for lookups (never iterated for bytes).
        var prepared: [[UInt64: PreparedEntry]] = []
        var prePrepared: [[UInt64: [Digest: UInt64]]] = []
        var highest = h
        for vc in viewChanges {
            var p: [UInt64: PreparedEntry] = [:]
            for entry in vc.prepared where entry.sequence > h {
                p[entry.sequence] = entry
                highest = max(highest, entry.sequence)
            }
            prepared.append(p)
            var q: [UInt64: [Digest: UInt64]] = [:]
            for entry in vc.prePrepared where entry.sequence > h {
                q[entry.sequence, default: [:]][entry.digest] = max(q[entry.sequence]?[entry.digest] ?? 0, entry.view)
            }
            prePrepared.append(q)
        }

        var chosen: [NewViewEntry] = []
        var batches: [Digest: [Request]] = [:]
        var n = h + 1
        while n <= highest {
            // Candidates: every prepared claim at n, highest view first, then by digest.
            var candidates: [PreparedEntry] = prepared.compactMap { $0[n] }
            candidates.sort { ($0.view, $1.digest) > ($1.view, $0.digest) }
            var decided: PreparedEntry?
            for candidate in candidates {
                // A1: 2f+1 messages whose P has nothing at n, or something from an older view, or
                // exactly this (view, digest).
                let a1 = prepared.lazy.filter { p in
                    guard let other = p[n] else { return true }
                    return other.view < candidate.view || (other.view == candidate.view && other.digest == candidate.digest)
                }.count
                guard a1 >= quorum else { continue }
                // A2: f+1 messages that pre-prepared this digest at n in this view or later.
                let a2 = prePrepared.lazy.filter { q in
                    guard let view = q[n]?[candidate.digest] else { return false }
                    return view >= candidate.view
                }.count
                guard a2 >= weak else { continue }
                decided = candidate
                break
            }
            if let decided {
                chosen.append(NewViewEntry(sequence: n, digest: decided.digest))
                if decided.digest != nullBatchDigest { batches[decided.digest] = decided.batch }
            } else if prepared.lazy.filter({ $0[n] == nil }).count >= quorum {
                // B: 2f+1 messages prepared nothing at n: fill the gap with the null request.
                chosen.append(NewViewEntry(sequence: n, digest: nullBatchDigest))
            } else {
                return nil
            }
            n += 1
        }
        return NewViewDecision(checkpoint: checkpoint, chosen: chosen, batches: batches)
    }
}
