import Synchronization

/// Nodes in one process (`meshdb demo`, tests) hand frames to each other through this hub, with
/// the same interface as TCP. A node that is `disconnect`ed neither sends nor receives: a crash or
/// a partition, for tests.
public final class InProcessHub: Sendable {
    private let nodes = Mutex<[PublicKeyBytes: @Sendable (PublicKeyBytes, [UInt8]) -> Void]>([:])
    private let down = Mutex<Set<PublicKeyBytes>>([])
    /// While set, every frame is dropped: a network that has not formed yet, for tests.
    private let paused = Atomic<Bool>(false)

    public init() {}

    /// Registers the node with `key`; frames to it go to `deliver`.
    public func connect(_ key: PublicKeyBytes, deliver: @escaping @Sendable (PublicKeyBytes, [UInt8]) -> Void) -> any NodeTransport {
        nodes.withLock { $0[key] = deliver }
        down.withLock { _ = $0.remove(key) }
        return Endpoint(hub: self, key: key)
    }

    public func disconnect(_ key: PublicKeyBytes) {
        down.withLock { _ = $0.insert(key) }
    }

    /// Drops every frame until `resume`, whoever sends it (connections included).
    public func pause() { paused.store(true, ordering: .sequentiallyConsistent) }

    public func resume() { paused.store(false, ordering: .sequentiallyConsistent) }

    fileprivate func send(_ payload: [UInt8], from sender: PublicKeyBytes, to peer: PublicKeyBytes) {
        guard !paused.load(ordering: .sequentiallyConsistent) else { return }
        guard down.withLock({ !$0.contains(sender) && !$0.contains(peer) }) else { return }
        nodes.withLock { $0[peer] }?(sender, payload)
    }

    private struct Endpoint: NodeTransport {
        let hub: InProcessHub
        let key: PublicKeyBytes

        func send(_ payload: [UInt8], to peer: PublicKeyBytes) { hub.send(payload, from: key, to: peer) }
    }
}
