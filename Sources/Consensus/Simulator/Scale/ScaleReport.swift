/// `meshdb sim scale`'s output: a text table and JSON with keys in a fixed order, so runs diff
/// cleanly (and Benchmarks/run-suite reads the JSON to draw docs/bench/scale.svg).
public enum ScaleReport {
    public static let header = """
        nodes | groups | batch | clients | writes/s | busiest node (groups/primaries) | busy % | fsync % | p50 ms | p99 ms
        ------|--------|-------|---------|----------|---------------------------------|--------|---------|--------|-------
        """

    public static func row(_ r: ScaleResult) -> String {
        let busiest = r.busiestNode
        let node = "\(busiest) (\(r.nodeGroups[busiest])/\(r.nodePrimaries[busiest]))"
        return pad(r.nodes, 5) + " | " + pad(r.shardGroups, 6) + " | " + pad(r.batch, 5) + " | " + pad(r.sessions, 7)
            + " | " + pad(Int(r.writesPerSecond.rounded()), 8) + " | " + node.leftPadded(31)
            + " | " + fixed(100 * r.nodeBusy[busiest], 1).leftPadded(6)
            + " | " + fixed(100 * r.nodeFsync[busiest], 1).leftPadded(7)
            + " | " + fixed(Double(r.latencyP50Nanos) / 1e6, 2).leftPadded(6)
            + " | " + fixed(Double(r.latencyP99Nanos) / 1e6, 2).leftPadded(6)
    }

    /// One JSON object per run, in run order, plus the cost model and link settings used.
    public static func json(_ results: [ScaleResult], config: ScaleConfig) -> String {
        let c = config.costs
        let costs: [(String, UInt64)] = [
            ("frame_open_ns", c.frameOpenNanos), ("request_verify_ns", c.requestVerifyNanos),
            ("signature_verify_ns", c.signatureVerifyNanos), ("sign_ns", c.signNanos), ("seal_ns", c.sealNanos),
            ("seal_request_ns", c.sealRequestNanos), ("destination_ns", c.destinationNanos), ("step_ns", c.stepNanos),
            ("request_step_ns", c.requestStepNanos),
            ("execute_row_ns", c.executeRowNanos), ("shard_commit_ns", c.shardCommitNanos), ("log_sync_ns", c.logSyncNanos),
        ]
        let model = costs.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ")
        let runs = results.map { r in
            let busiest = r.busiestNode
            return """
                {"nodes": \(r.nodes), "groups": \(r.shardGroups), "batch": \(r.batch), "clients": \(r.sessions), \
                "ordered_writes": \(r.orderedWrites), "writes_per_second": \(fixed(r.writesPerSecond, 1)), \
                "latency_ms": {"p50": \(fixed(Double(r.latencyP50Nanos) / 1e6, 3)), "p99": \(fixed(Double(r.latencyP99Nanos) / 1e6, 3))}, \
                "busiest_node": \(busiest), "busiest_busy": \(fixed(r.nodeBusy[busiest], 4)), \
                "busiest_fsync": \(fixed(r.nodeFsync[busiest], 4)), \
                "node_busy": [\(r.nodeBusy.map { fixed($0, 4) }.joined(separator: ", "))], \
                "node_groups": [\(r.nodeGroups.map(String.init).joined(separator: ", "))], \
                "node_primaries": [\(r.nodePrimaries.map(String.init).joined(separator: ", "))], \
                "highest_view": \(r.highestView), "violations": \(r.violations.count)}
                """
        }
        let link = config.linkBytesPerSecond.map(String.init) ?? "null"
        return """
            {"link_latency_ms": \(fixed(Double(config.linkLatencyNanos) / 1e6, 3)), "link_bytes_per_second": \(link), \
            "warmup_ms": \(config.warmupNanos / 1_000_000), "measure_ms": \(config.measureNanos / 1_000_000), \
            "cost_model": {\(model)},
            "runs": [
            \(runs.joined(separator: ",\n"))
            ]}
            """
    }

    static func pad(_ value: Int, _ width: Int) -> String { String(value).leftPadded(width) }

    /// `value` with `digits` decimals, without Foundation's String(format:).
    static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled) - whole * Int(scale)
        let sign = value < 0 && scaled > 0 ? "-" : ""
        guard digits > 0 else { return sign + String(whole) }
        return sign + String(whole) + "." + String(fraction).leftPadded(digits, with: "0")
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int, with pad: Character = " ") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
