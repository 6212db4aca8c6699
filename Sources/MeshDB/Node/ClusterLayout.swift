import Consensus
import Replication

/// The members of a cluster as every node knows them, and the PBFT groups they form.
public struct ClusterLayout: Sendable {
    public struct Member: Sendable, Hashable {
        public let index: Int
        public let key: PublicKeyBytes
        public let agreementKey: PublicKeyBytes
        public let host: String
        public let port: Int
        public let pgPort: Int
        public let zone: String?

        public init(index: Int, key: PublicKeyBytes, agreementKey: PublicKeyBytes, host: String, port: Int, pgPort: Int, zone: String? = nil) {
            self.index = index
            self.key = key
            self.agreementKey = agreementKey
            self.host = host
            self.port = port
            self.pgPort = pgPort
            self.zone = zone
        }
    }

    /// One PBFT instance: replica i of the group is node `members[i]`.
    public struct Group: Sendable, Hashable {
        public let id: UInt32
        public let members: [Int]

        public init(id: UInt32, members: [Int]) {
            self.id = id
            self.members = members
        }
    }

    public let clusterID: [UInt8]
    public let members: [Member]
    /// Group 0 is the metadata group; the others are shard groups.
    public let groups: [Group]

    /// Gateway clients per node and group: the PBFT client allows one request outstanding, so a
    /// gateway keeps a pool to have several in flight (the primary batches them, TOCS'02 §5.1).
    public static let gatewayClientsPerNode: UInt64 = 16
    static let gatewayClientIDBase: UInt64 = 1 << 32

    public init(clusterID: [UInt8], members: [Member], groups: [Group]) {
        self.clusterID = clusterID
        self.members = members
        self.groups = groups
    }

    /// The layout of a configuration (see `placeGroups`).
    public init(config: NodeConfig) throws(NodeError) {
        var members: [Member] = []
        for member in config.cluster.members {
            guard let key = PublicKeyBytes(hex: member.publicKey), let agreement = PublicKeyBytes(hex: member.agreementKey) else {
                throw .configuration("member \(member.index) has malformed keys")
            }
            members.append(Member(index: member.index, key: key, agreementKey: agreement, host: member.host,
                                  port: member.port, pgPort: member.pgPort, zone: member.zone))
        }
        self.init(clusterID: config.clusterID, members: members, groups: Self.placeGroups(members))
    }

    /// Largest group: PBFT's quadratic message cost makes bigger groups slower, not safer enough
    /// to pay for it; more nodes make more groups instead.
    public static let groupSizeMax = 7

    /// Placement, computed alike by every node from the member list: groups have the largest
    /// 3f+1 size not above the member count (capped at `groupSizeMax`); the metadata group (0) and
    /// ⌊n / size⌋ shard groups (1, 2, ...) each take their members by rendezvous hashing of the
    /// group's name over the members, spread over zones when zones are set. With 4 or 7 nodes
    /// every group holds every node.
    public static func placeGroups(_ members: [Member]) -> [Group] {
        let groupSize = largestGroupSize(atMost: min(members.count, groupSizeMax))
        let candidates = members.map { RendezvousHash.Candidate(id: $0.key.hex, zone: $0.zone) }
        let shardGroups = max(1, members.count / groupSize)
        return (0...shardGroups).map { id in
            let owners = RendezvousHash.groupOwners(group: id, size: groupSize, among: candidates)
            let indexes = owners.compactMap { owner in members.first { $0.key.hex == owner.id }?.index }.sorted()
            return Group(id: UInt32(id), members: indexes)
        }
    }

    /// The largest 3f+1 not above `count`.
    public static func largestGroupSize(atMost count: Int) -> Int {
        precondition(count >= 1)
        return ((count - 1) / 3) * 3 + 1
    }

    public func member(withKey key: PublicKeyBytes) -> Member? { members.first { $0.key == key } }

    func gatewayClientID(node: Int, slot: Int) -> UInt64 {
        Self.gatewayClientIDBase + UInt64(node) * Self.gatewayClientsPerNode + UInt64(slot)
    }

    /// The node whose gateway owns PBFT client `id`, if it is a gateway client.
    func gatewayNode(ofClient id: UInt64) -> Int? {
        guard id >= Self.gatewayClientIDBase else { return nil }
        let node = Int((id - Self.gatewayClientIDBase) / Self.gatewayClientsPerNode)
        return members.indices.contains(node) ? node : nil
    }

    /// The PBFT key directory of `group`: replicas by replica index, and every gateway client.
    func keyDirectory(for group: Group) -> KeyDirectory {
        let replicas = group.members.map { publicIdentity(of: members[$0]) }
        var clients: [UInt64: PublicIdentity] = [:]
        for member in members {
            for slot in 0..<Int(Self.gatewayClientsPerNode) {
                clients[gatewayClientID(node: member.index, slot: slot)] = publicIdentity(of: member)
            }
        }
        return KeyDirectory(replicas: replicas, clients: clients)
    }

    private func publicIdentity(of member: Member) -> PublicIdentity {
        // Both keys were checked to be 32 bytes when the layout was built.
        PublicIdentity(signingKey: try! .init(rawRepresentation: member.key.bytes),
                       agreementKey: try! .init(rawRepresentation: member.agreementKey.bytes))
    }
}
