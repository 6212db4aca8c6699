/// The optional `[blobs]` section of a node's configuration: the chunk maintenance's intervals
/// and limits (docs/blobs.md, "Limits"). Every key is optional; a missing one keeps the default.
///
///     [blobs]
///     repair_interval_seconds = 10
///     gc_interval_seconds = 300
///     gc_grace_seconds = 3600
///     scrub_pass_interval_seconds = 86400
///     scrub_bytes_per_second = 8388608
extension NodeConfig {
    public struct Blobs: Codable, Sendable, Hashable {
        public var repairIntervalSeconds: Int?
        public var gcIntervalSeconds: Int?
        public var gcGraceSeconds: Int?
        public var scrubPassIntervalSeconds: Int?
        public var scrubBytesPerSecond: Int?

        enum CodingKeys: String, CodingKey {
            case repairIntervalSeconds = "repair_interval_seconds", gcIntervalSeconds = "gc_interval_seconds"
            case gcGraceSeconds = "gc_grace_seconds", scrubPassIntervalSeconds = "scrub_pass_interval_seconds"
            case scrubBytesPerSecond = "scrub_bytes_per_second"
        }

        public init() {}

        /// Each value with its key, in file order.
        var named: [(key: String, value: Int?)] {
            [("repair_interval_seconds", repairIntervalSeconds), ("gc_interval_seconds", gcIntervalSeconds),
             ("gc_grace_seconds", gcGraceSeconds), ("scrub_pass_interval_seconds", scrubPassIntervalSeconds),
             ("scrub_bytes_per_second", scrubBytesPerSecond)]
        }
    }

    /// `base` with the values the `[blobs]` section sets.
    public func chunkMaintenance(over base: ChunkMaintenance.Options) -> ChunkMaintenance.Options {
        var options = base
        guard let blobs else { return options }
        if let seconds = blobs.repairIntervalSeconds { options.repairInterval = .seconds(seconds) }
        if let seconds = blobs.gcIntervalSeconds { options.collectionInterval = .seconds(seconds) }
        if let seconds = blobs.gcGraceSeconds { options.collectionGrace = .seconds(seconds) }
        if let seconds = blobs.scrubPassIntervalSeconds { options.scrubPassInterval = .seconds(seconds) }
        if let rate = blobs.scrubBytesPerSecond { options.scrubBytesPerSecond = rate }
        return options
    }

    /// Every `[blobs]` value must be at least 1 (a zero interval would spin, a zero grace would
    /// race every writer).
    func validateBlobs(path: String) throws(ConfigError) {
        for (key, value) in blobs?.named ?? [] {
            if let value, value < 1 { throw .invalid(path, "blobs.\(key) must be at least 1; found \(value)") }
        }
    }
}
