import ArgumentParser
import Consensus

/// `meshdb sim`: deterministic PBFT cluster simulation with fault injection (DESIGN.md, Command
/// line). Each failing seed prints the one command that replays it.
struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run seeded PBFT cluster simulations with injected faults and check safety and liveness.",
        discussion: "`meshdb sim scale` instead measures ordered writes/s as shard groups grow (no faults).",
        subcommands: [SimScaleCommand.self])

    @Option(help: "How many seeds to run.")
    var seeds: Int = 100

    @Option(help: "Replicas in the group (3f+1: 1, 4, 7, ...).")
    var replicas: Int = 4

    @Option(help: "Faults to inject: none, crash, network, byzantine or all.")
    var faults: String = "all"

    @Option(help: "The first seed; with --seeds 1 it replays one run and prints its trace digest.")
    var seed: UInt64?

    @Option(help: "Simulated ticks of the fault phase, before the network heals and crashed replicas restart.")
    var faultPhaseTicks: UInt64 = SimulationConfig(seed: 0).faultPhaseTicks

    func validate() throws {
        guard FaultMode(rawValue: faults) != nil else {
            throw ValidationError("--faults must be one of: \(FaultMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard replicas >= 1, (replicas - 1) % 3 == 0 else {
            throw ValidationError("--replicas must be 3f+1 (1, 4, 7, ...); got \(replicas)")
        }
    }

    func run() throws {
        let mode = FaultMode(rawValue: faults)!
        let first = seed ?? 1
        var sweep = SimulationSweep()
        for offset in 0..<UInt64(seeds) {
            let current = first &+ offset
            var config = SimulationConfig(seed: current, replicaCount: replicas, faults: mode)
            config.faultPhaseTicks = faultPhaseTicks
            let result = try Simulation(config).run()
            sweep.add(result)
            if seed != nil {
                print("seed \(current): trace \(result.traceDigest.bytes.map { String($0, radix: 16).leftPad2 }.joined()) committed \(result.committed) ticks \(result.simulatedTicks) view \(result.highestView) [\(result.scenario)]")
            }
            if !result.passed {
                let why = result.violations.first ?? "liveness: requests did not complete after faults healed"
                let ticks = faultPhaseTicks == SimulationConfig(seed: 0).faultPhaseTicks ? "" : " --fault-phase-ticks \(faultPhaseTicks)"
                print("FAIL meshdb sim --seeds 1 --seed \(current) --replicas \(replicas) --faults \(faults)\(ticks)  # \(why) [\(result.scenario)]")
            }
        }
        print(sweep.summary)
        if sweep.violations > 0 || sweep.livenessFailures > 0 {
            throw ExitCode.failure
        }
    }
}

extension String {
    fileprivate var leftPad2: String { count == 1 ? "0" + self : self }
}
