/// Runs many seeds and sums them up, for `meshdb sim` and the tests.
public struct SimulationSweep: Sendable {
    public var seeds: Int = 0
    public var violations: Int = 0
    public var livenessFailures: Int = 0
    public var committed: Int = 0
    public var failures: [SimulationResult] = []

    public init() {}

    public mutating func add(_ result: SimulationResult) {
        seeds += 1
        violations += result.violations.count
        livenessFailures += result.livenessFailure ? 1 : 0
        committed += result.committed
        if !result.passed { failures.append(result) }
    }

    public var summary: String {
        "seeds: \(seeds), violations: \(violations), liveness failures: \(livenessFailures), committed: \(committed)"
    }
}
