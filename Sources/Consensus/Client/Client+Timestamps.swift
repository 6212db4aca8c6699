extension Client {
    /// Makes the next request's timestamp `floor + 1` or more. Replicas execute a client's request
    /// only if its timestamp is above the last one they executed for that client id (OSDI'99
    /// §4.1); a client that restarts with its old id must not start again at 1, or its new
    /// requests are taken for old ones. Shells seed this from a clock that only moves forward
    /// across restarts (the node runtime uses microseconds since 1970).
    public mutating func startTimestamps(after floor: UInt64) {
        precondition(!hasOutstanding, "timestamps are seeded before the first request")
        lastTimestamp = max(lastTimestamp, floor)
    }
}
