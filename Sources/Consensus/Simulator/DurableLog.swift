/// A replica's log on a simulated disk. Appends are buffered until a sync, which the shell does
/// before a message leaves the node. A crash loses the unsynced tail, keeps part of it, or
/// leaves a torn record (TigerBeetle's VOPR and FoundationDB simulate disks the same way).
struct DurableLog {
    private(set) var synced: [[UInt8]] = []
    private(set) var unsynced: [[UInt8]] = []

    mutating func append(_ record: [UInt8]) { unsynced.append(record) }

    mutating func sync() {
        guard !unsynced.isEmpty else { return }
        synced.append(contentsOf: unsynced)
        unsynced.removeAll(keepingCapacity: true)
    }

    /// What survives a crash: all synced records plus, by chance, a prefix of the unsynced ones
    /// and maybe a torn (truncated) record after them.
    mutating func crash(_ rng: inout Xoshiro256) {
        let kept = unsynced.isEmpty ? 0 : Int(rng.below(UInt64(unsynced.count + 1)))
        synced.append(contentsOf: unsynced.prefix(kept))
        if kept < unsynced.count, rng.chance(0.5) {
            let record = unsynced[kept]
            if record.count > 1 {
                synced.append(Array(record.prefix(Int(rng.below(UInt64(record.count))))))
            }
        }
        unsynced = []
    }

    /// Decodes records up to the first one that does not parse (a torn write), and truncates the
    /// log there, as recovery of a real log does.
    mutating func recover(with codec: PersistedRecordCodec) -> [PersistedRecord] {
        var records: [PersistedRecord] = []
        for (i, bytes) in synced.enumerated() {
            guard let record = try? codec.decode(bytes) else {
                synced.removeSubrange(i...)
                break
            }
            records.append(record)
        }
        return records
    }
}
