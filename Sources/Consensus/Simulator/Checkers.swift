/// Safety checkers, fed by what correct replicas report as they run (STYLE.md §2):
/// - agreement: no two correct replicas execute different batches at one sequence number
///   (OSDI'99 §4.5.1, safety);
/// - validity: only submitted requests execute, and each at most once per replica;
/// - checkpoints: correct replicas that checkpoint one sequence number have one state digest.
/// Liveness is checked by the simulation (every submitted request completes in bounded time).
public struct SafetyChecker: Sendable {
    /// Sequence → the batch digest first executed there by a correct replica.
    var executedAt: [UInt64: Digest] = [:]
    /// Sequence → the state digest first checkpointed there by a correct replica.
    var checkpointAt: [UInt64: Digest] = [:]
    /// (client, timestamp) → request digest, for every request a client submitted.
    var submitted: [RequestKey: Digest] = [:]
    /// Per replica: (client, timestamp) → the sequence number it executed at.
    var executedBy: [Int: [RequestKey: UInt64]] = [:]
    public private(set) var violations: [String] = []

    public struct RequestKey: Hashable, Sendable {
        public var client: UInt64
        public var timestamp: UInt64

        public init(client: UInt64, timestamp: UInt64) {
            self.client = client
            self.timestamp = timestamp
        }
    }

    public init() {}

    public mutating func recordSubmitted(_ request: Request) {
        submitted[RequestKey(client: request.client, timestamp: request.timestamp)] = request.digest
    }

    public mutating func recordExecution(replica: Int, sequence: UInt64, batchDigest: Digest, requests: [Request]) {
        if let first = executedAt[sequence] {
            if first != batchDigest {
                violations.append("agreement: replica \(replica) executed batch \(batchDigest) at sequence \(sequence), another correct replica executed \(first)")
            }
        } else {
            executedAt[sequence] = batchDigest
        }
        for request in requests {
            let key = RequestKey(client: request.client, timestamp: request.timestamp)
            guard let digest = submitted[key], digest == request.digest else {
                violations.append("validity: replica \(replica) executed a request client \(request.client) never submitted (timestamp \(request.timestamp)) at sequence \(sequence)")
                continue
            }
            if let earlier = executedBy[replica]?[key], earlier != sequence {
                violations.append("validity: replica \(replica) executed client \(request.client)'s request \(request.timestamp) twice, at sequences \(earlier) and \(sequence)")
            }
            executedBy[replica, default: [:]][key] = sequence
        }
    }

    public mutating func recordCheckpoint(replica: Int, sequence: UInt64, stateDigest: Digest) {
        if let first = checkpointAt[sequence] {
            if first != stateDigest {
                violations.append("checkpoint: replica \(replica) has state \(stateDigest) at sequence \(sequence), another correct replica has \(first)")
            }
        } else {
            checkpointAt[sequence] = stateDigest
        }
    }
}
