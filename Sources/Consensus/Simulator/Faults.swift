/// Which faults a simulation run injects.
public enum FaultMode: String, Sendable, CaseIterable {
    case none, crash, network, byzantine, all
}

/// How a Byzantine replica misbehaves (ideas from Twins and ByzzFuzz, STYLE.md §2).
public enum ByzantineBehavior: String, Sendable, CaseIterable {
    /// Two instances share one identity and key: double votes, equivocation, lost state.
    case twins
    /// As primary, sends different batches for one sequence number to different backups.
    case equivocatingPrimary
    /// As primary, never sends a pre-prepare.
    case stallingPrimary
    /// As primary, shifts sequence numbers up, leaving gaps.
    case skippingPrimary
    /// Mutates its messages: view ±1, sequence ±1, altered digest, or omits them.
    case mutator
    /// Re-sends old frames it received or sent.
    case replayer
}

/// Rewrites the frames a Byzantine replica sends, using that replica's own keys, so that the
/// altered messages authenticate and the protocol, not the MAC, must reject them.
struct ByzantineMutator {
    let behavior: ByzantineBehavior
    let auth: Authenticator

    /// The frames to send instead of `frame` to `recipients` (possibly none).
    func rewrite(_ frame: [UInt8], to recipients: [Principal], _ rng: inout Xoshiro256) -> [(frame: [UInt8], to: [Principal])] {
        guard let (_, message) = auth.peek(frame) else { return [(frame, recipients)] }
        switch behavior {
        case .twins, .replayer:
            return [(frame, recipients)]
        case .stallingPrimary:
            if case .prePrepare = message { return [] }
            return [(frame, recipients)]
        case .skippingPrimary:
            guard case .prePrepare(var pp) = message else { return [(frame, recipients)] }
            pp.sequence += 1
            return [(auth.seal(.prePrepare(pp), to: recipients), recipients)]
        case .equivocatingPrimary:
            guard case .prePrepare(let pp) = message, recipients.count > 1 else { return [(frame, recipients)] }
            var other = pp
            other.batch = pp.batch.count > 1 ? Array(pp.batch.dropLast()) : []
            other.digest = batchDigest(other.batch)
            let half = recipients.count / 2
            let first = Array(recipients.prefix(half))
            let second = Array(recipients.dropFirst(half))
            return [(auth.seal(.prePrepare(pp), to: first), first), (auth.seal(.prePrepare(other), to: second), second)]
        case .mutator:
            guard rng.chance(0.4) else { return [(frame, recipients)] }
            guard let mutated = mutate(message, &rng) else { return [] }
            return [(auth.seal(mutated, to: recipients), recipients)]
        }
    }

    /// One ByzzFuzz-style small mutation, or nil to omit the message.
    func mutate(_ message: Message, _ rng: inout Xoshiro256) -> Message? {
        let choice = rng.below(4)
        if choice == 3 { return nil }
        func shift(_ value: UInt64) -> UInt64 { rng.chance(0.5) ? value &+ 1 : (value == 0 ? 1 : value - 1) }
        let altered = Digest(w0: rng.next(), w1: 0, w2: 0, w3: 0)
        switch message {
        case .prePrepare(var pp):
            switch choice {
            case 0: pp.view = shift(pp.view)
            case 1: pp.sequence = shift(pp.sequence)
            default: pp.digest = altered
            }
            return .prePrepare(pp)
        case .prepare(var vote), .commit(var vote):
            switch choice {
            case 0: vote.view = shift(vote.view)
            case 1: vote.sequence = shift(vote.sequence)
            default: vote.digest = altered
            }
            if case .prepare = message { return .prepare(vote) }
            return .commit(vote)
        case .checkpoint(var c):
            if choice == 1 { c.sequence = shift(c.sequence) } else { c.stateDigest = altered }
            return .checkpoint(auth.signed(c))
        case .viewChange(var vc):
            switch choice {
            case 0: vc.newView = shift(vc.newView)
            case 1:
                if !vc.prePrepared.isEmpty { vc.prePrepared[0].view = shift(vc.prePrepared[0].view) }
            default:
                if !vc.prepared.isEmpty { vc.prepared[0].digest = altered }
            }
            return .viewChange(auth.signed(vc))
        case .newView(var nv):
            if choice == 0, !nv.chosen.isEmpty { nv.chosen[nv.chosen.count - 1].digest = altered } else {
                nv.checkpointSequence = shift(nv.checkpointSequence)
            }
            return .newView(auth.signed(nv))
        case .reply(var reply):
            reply.result = altered.bytes
            return .reply(reply)
        case .status(var status):
            status.lastExecuted = shift(status.lastExecuted)
            return .status(status)
        default:
            return message
        }
    }
}
