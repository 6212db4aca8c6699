/// Who may connect, as the node (or client) running a handshake sees it.
public struct HandshakePolicy: Sendable, Hashable {
    /// Names the cluster; a peer from another cluster is refused even with a known key.
    public let clusterID: [UInt8]
    /// Keys accepted for the node role: the cluster's members.
    public let nodeKeys: Set<PublicKeyBytes>
    /// Whether peers may connect in the client role (nodes: yes; clients: never).
    public let acceptsClients: Bool
    /// A client that knows only a node's address accepts any node key and cluster, as ssh does on
    /// a first connection; it still learns which key it reached, and that key is proven.
    public let trustsAnyNode: Bool

    public init(clusterID: [UInt8], nodeKeys: Set<PublicKeyBytes>, acceptsClients: Bool, trustsAnyNode: Bool = false) {
        precondition(clusterID.count == 32, "a cluster id is 32 bytes")
        self.clusterID = clusterID
        self.nodeKeys = nodeKeys
        self.acceptsClients = acceptsClients
        self.trustsAnyNode = trustsAnyNode
    }

    /// The policy of a client that knows only an address: all-zero cluster id, any node.
    public static let anyNode = HandshakePolicy(clusterID: unknownCluster, nodeKeys: [], acceptsClients: false, trustsAnyNode: true)

    /// The cluster id a client sends when it does not know it.
    public static let unknownCluster = [UInt8](repeating: 0, count: 32)
}

/// The mutual-authentication handshake that opens every connection on a node's port, as a pure
/// state machine (no socket, no clock, no randomness: the nonce is handed in).
///
///     each side → HELLO  cluster id (32) | role (1) | public key (32) | nonce (32)
///     each side → PROOF  Ed25519 signature (64) over
///                        "meshdb-handshake-v1" | signer's cluster id | receiver's cluster id
///                        | signer key | signer nonce | receiver key | receiver nonce
///
/// Both HELLOs go out at once; each side answers the other's HELLO with its PROOF. A PROOF binds
/// both fresh nonces and both keys, so it cannot be replayed on another connection or relayed to
/// another node. A peer whose key is not a member (or whose cluster id differs) gets a REFUSE
/// frame naming why, and the connection closes.
public struct Handshake: Sendable {
    public enum Role: UInt8, Sendable {
        case node = 1
        case client = 2
    }

    public enum Output: Sendable, Equatable {
        case send(TransportFrame)
        /// The peer proved its key: the connection carries data frames from now on.
        case established(peer: PublicKeyBytes, role: Role)
        /// Send the frame (a REFUSE) and close: the peer is not allowed.
        case refuse(TransportFrame, reason: String)
        /// Close: the peer broke the protocol or refused us.
        case fail(TransportError)
    }

    enum State: Sendable {
        case idle
        case awaitingHello
        case awaitingProof(peer: PublicKeyBytes, role: Role, peerNonce: [UInt8], peerCluster: [UInt8])
        case established
        case closed
    }

    static let helloBytes = 32 + 1 + 32 + 32
    static let signatureBytes = 64
    static let context = Array("meshdb-handshake-v1".utf8)

    private let identity: NodeKey
    private let role: Role
    private let policy: HandshakePolicy
    private let nonce: [UInt8]
    /// When we dialed a particular node, only that node may answer.
    private let expectedPeer: PublicKeyBytes?
    private var state = State.idle

    public init(identity: NodeKey, role: Role, policy: HandshakePolicy, nonce: [UInt8], expectedPeer: PublicKeyBytes? = nil) {
        precondition(nonce.count == 32, "a handshake nonce is 32 bytes")
        self.identity = identity
        self.role = role
        self.policy = policy
        self.nonce = nonce
        self.expectedPeer = expectedPeer
    }

    public var isEstablished: Bool { if case .established = state { true } else { false } }

    /// The HELLO to send as soon as the connection is up.
    public mutating func start() -> [Output] {
        precondition(isIdle, "a handshake starts once")
        state = .awaitingHello
        let hello = policy.clusterID + [role.rawValue] + identity.publicKey.bytes + nonce
        return [.send(TransportFrame(kind: .hello, payload: hello))]
    }

    private var isIdle: Bool { if case .idle = state { true } else { false } }

    public mutating func receive(_ frame: TransportFrame) -> [Output] {
        switch (state, frame.kind) {
        case (_, .refuse):
            state = .closed
            return [.fail(.refusedByPeer(String(decoding: frame.payload.prefix(512), as: UTF8.self)))]
        case (.awaitingHello, .hello):
            return receiveHello(frame.payload)
        case (.awaitingProof(let peer, let peerRole, let peerNonce, let peerCluster), .proof):
            guard frame.payload.count == Self.signatureBytes else {
                state = .closed
                return [.fail(.handshake("proof of \(frame.payload.count) bytes; expected \(Self.signatureBytes)"))]
            }
            let transcript = Self.transcript(signerCluster: peerCluster, receiverCluster: policy.clusterID, signer: peer,
                                             signerNonce: peerNonce, receiver: identity.publicKey, receiverNonce: nonce)
            guard peer.verify(signature: frame.payload, of: transcript) else {
                state = .closed
                return [.fail(.handshake("bad signature from \(peer.short)"))]
            }
            state = .established
            return [.established(peer: peer, role: peerRole)]
        case (.established, _), (.closed, _), (.idle, _), (.awaitingHello, _), (.awaitingProof, _):
            state = .closed
            return [.fail(.handshake("unexpected \(frame.kind) frame during the handshake"))]
        }
    }

    private mutating func receiveHello(_ payload: [UInt8]) -> [Output] {
        guard payload.count == Self.helloBytes else {
            state = .closed
            return [.fail(.handshake("hello of \(payload.count) bytes; expected \(Self.helloBytes)"))]
        }
        let clusterID = Array(payload[0..<32])
        let peer = PublicKeyBytes(payload[33..<65])
        let peerNonce = Array(payload[65..<97])
        guard let peerRole = Role(rawValue: payload[32]) else {
            state = .closed
            return [.fail(.handshake("unknown role \(payload[32])"))]
        }
        let clusterAccepted = clusterID == policy.clusterID
            || (peerRole == .client && clusterID == HandshakePolicy.unknownCluster)
            || (peerRole == .node && policy.trustsAnyNode)
        guard clusterAccepted else {
            return refuse("peer \(peer.short) belongs to another cluster")
        }
        switch peerRole {
        case .node:
            guard policy.trustsAnyNode || policy.nodeKeys.contains(peer) else {
                return refuse("node key \(peer.short) is not a member of this cluster")
            }
        case .client:
            guard policy.acceptsClients else {
                return refuse("this endpoint does not accept clients")
            }
        }
        if let expectedPeer, expectedPeer != peer {
            return refuse("expected node \(expectedPeer.short), reached \(peer.short)")
        }
        state = .awaitingProof(peer: peer, role: peerRole, peerNonce: peerNonce, peerCluster: clusterID)
        let transcript = Self.transcript(signerCluster: policy.clusterID, receiverCluster: clusterID, signer: identity.publicKey,
                                         signerNonce: nonce, receiver: peer, receiverNonce: peerNonce)
        return [.send(TransportFrame(kind: .proof, payload: identity.sign(transcript)))]
    }

    private mutating func refuse(_ reason: String) -> [Output] {
        state = .closed
        return [.refuse(TransportFrame(kind: .refuse, payload: Array(reason.utf8)), reason: reason)]
    }

    static func transcript(signerCluster: [UInt8], receiverCluster: [UInt8], signer: PublicKeyBytes, signerNonce: [UInt8],
                           receiver: PublicKeyBytes, receiverNonce: [UInt8]) -> [UInt8] {
        context + signerCluster + receiverCluster + signer.bytes + signerNonce + receiver.bytes + receiverNonce
    }
}
