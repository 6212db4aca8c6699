/// The size of a PBFT group and the quorums derived from it (Castro & Liskov, OSDI'99 §4.1):
/// n = 3f + 1 replicas tolerate f faulty ones; certificates need 2f + 1 matching messages,
/// and a client accepts a result on f + 1 matching replies.
public struct GroupConfiguration: Sendable, Hashable {
    /// The number of replicas, n = 3f + 1.
    public let replicaCount: Int

    /// The most faulty replicas the group tolerates.
    public var faultsTolerated: Int { Self.faultsTolerated(among: replicaCount) }

    /// f = ⌊(n − 1) / 3⌋ for n members, also where n is not 3f + 1 (a node set, a group being formed).
    public static func faultsTolerated(among memberCount: Int) -> Int { (memberCount - 1) / 3 }

    /// Matching messages that make a certificate (prepared, committed, stable checkpoint, new view).
    public var quorum: Int { 2 * faultsTolerated + 1 }

    /// Matching replies a client needs before it accepts a result: at least one is from a correct replica.
    public var replyQuorum: Int { faultsTolerated + 1 }

    /// Creates a configuration for `replicaCount` replicas; the count must be 3f + 1 for some f ≥ 0.
    public init(replicaCount: Int) throws(ConfigurationError) {
        guard replicaCount >= 1, (replicaCount - 1) % 3 == 0 else {
            throw .replicaCountNotThreeFPlusOne(replicaCount)
        }
        self.replicaCount = replicaCount
    }

    /// The primary of `view` (OSDI'99 §4.1: p = v mod |R|).
    public func primary(ofView view: UInt64) -> Int {
        Int(view % UInt64(replicaCount))
    }
}

public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case replicaCountNotThreeFPlusOne(Int)

    public var description: String {
        switch self {
        case .replicaCountNotThreeFPlusOne(let n):
            "a PBFT group needs 3f+1 replicas (1, 4, 7, 10, ...); got \(n)"
        }
    }
}
