/// The deterministic service PBFT replicates (OSDI'99 §3: "a deterministic state machine").
/// The replica calls it in sequence order with the requests of one committed batch that have not
/// executed before; every correct replica makes the same calls, so all end in the same state.
/// The catalog and the shard store implement this later.
public protocol ReplicatedStateMachine {
    /// Executes the requests in order and returns one result per request.
    mutating func execute(sequence: UInt64, requests: [Request]) -> [[UInt8]]

    /// A digest of the whole state; equal states give equal digests.
    var stateDigest: Digest { get }

    /// The whole state as bytes, deterministic for a given state.
    func snapshot() -> [UInt8]

    /// Replaces the state by a snapshot taken on another replica.
    mutating func restore(from snapshot: [UInt8]) throws(StateMachineError)
}

public enum StateMachineError: Error, Sendable, Equatable {
    case malformedSnapshot(String)
}

/// A small service for tests, the simulator and the benchmark: it folds every operation into a
/// hash chain and counts operations. Each result is the count after the operation and the chain
/// head, so a divergent execution order shows in both replies and checkpoint digests.
public struct HashChainStateMachine: ReplicatedStateMachine, Sendable {
    public private(set) var operationCount: UInt64 = 0
    public private(set) var head: Digest = .zero

    public init() {}

    public mutating func execute(sequence: UInt64, requests: [Request]) -> [[UInt8]] {
        var results = [[UInt8]]()
        results.reserveCapacity(requests.count)
        // By index: `for request in requests` copies each request, retaining its authenticator
        // too, which this never reads.
        for i in requests.indices {
            // head' = SHA-256(head | client | timestamp | u32 length | operation), little-endian.
            let client = requests[i].client
            let timestamp = requests[i].timestamp
            var hasher = SHA256Hasher()
            hasher.update(head)
            withUnsafeTemporaryAllocation(byteCount: 20, alignment: 8) { fields in
                fields.storeBytes(of: client.littleEndian, toByteOffset: 0, as: UInt64.self)
                fields.storeBytes(of: timestamp.littleEndian, toByteOffset: 8, as: UInt64.self)
                fields.storeBytes(of: UInt32(requests[i].operation.count).littleEndian, toByteOffset: 16, as: UInt32.self)
                hasher.update(UnsafeRawBufferPointer(fields))
            }
            hasher.update(requests[i].operation)
            head = hasher.finalize()
            operationCount += 1
            var result = ByteWriter(capacity: 40)
            let count = operationCount
            let chainHead = head
            result.writeFields(40) { f in
                f.write(count)
                f.write(chainHead)
            }
            results.append(result.bytes)
        }
        return results
    }

    public var stateDigest: Digest { Digest.of(snapshot()) }

    public func snapshot() -> [UInt8] {
        var w = ByteWriter(capacity: 40)
        w.write(operationCount)
        w.write(head)
        return w.bytes
    }

    public mutating func restore(from snapshot: [UInt8]) throws(StateMachineError) {
        var r = ByteReader(snapshot)
        do {
            let count = try r.readU64("operation count")
            let head = try r.readDigest("chain head")
            try r.finish()
            self.operationCount = count
            self.head = head
        } catch {
            throw .malformedSnapshot("\(error)")
        }
    }
}
