import Consensus
import Foundation
import Histogram
import MeshDB
import NIOCore
import PostgresNIO
import Synchronization

/// Latencies in microseconds, from 1 µs to 10 minutes at 3 significant digits.
typealias LatencyHistogram = Histogram<UInt64>

func makeLatencyHistogram() -> LatencyHistogram {
    LatencyHistogram(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
}

/// One client's measurements behind a lock: the client records, the progress ticker reads and
/// resets `interval` every second.
final class ClientRecorder: Sendable {
    let stats = Mutex(ClientStats())
}

/// What one client has measured; the progress ticker swaps out `interval` every second.
struct ClientStats: Sendable {
    var total = makeLatencyHistogram()
    var interval = makeLatencyHistogram()
    var errors = 0
    var intervalErrors = 0
    /// Errors by SQLSTATE (or by kind when the server sent none), for the report.
    var errorStates: [String: Int] = [:]
    var firstError: String?
}

/// The outcome of one `meshdb bench` run.
struct BenchReport: Sendable {
    var target: String
    var workload: String
    var clients: Int
    var seconds: Double
    var operations: UInt64
    var errors: Int
    var errorStates: [String: Int]
    var firstError: String?
    var latency: LatencyHistogram

    var operationsPerSecond: Double { seconds > 0 ? Double(operations) / seconds : 0 }

    /// Milliseconds at a percentile.
    func milliseconds(_ percentile: Double) -> Double {
        latency.totalCount == 0 ? 0 : Double(latency.valueAtPercentile(percentile)) / 1000
    }

    var text: String {
        var lines = [
            "target     \(target)",
            "workload   \(workload), \(clients) client\(clients == 1 ? "" : "s"), \(String(format: "%.1f", seconds)) s",
            "ops        \(operations) (\(String(format: "%.1f", operationsPerSecond)) ops/s)",
            "latency    p50 \(Self.format(milliseconds(50))) ms   p90 \(Self.format(milliseconds(90))) ms   p99 \(Self.format(milliseconds(99))) ms   p99.9 \(Self.format(milliseconds(99.9))) ms   max \(Self.format(Double(latency.max) / 1000)) ms",
            "errors     \(errors)" + (errorStates.isEmpty ? "" : " (" + errorStates.keys.sorted().map { "\($0): \(errorStates[$0]!)" }.joined(separator: ", ") + ")"),
        ]
        if let firstError { lines.append("first error: \(firstError)") }
        return lines.joined(separator: "\n")
    }

    /// One JSON object; keys in a fixed order so runs diff cleanly.
    var json: String {
        func number(_ value: Double) -> String { String(format: "%.3f", value) }
        let states = errorStates.keys.sorted().map { "\"\(Self.escape($0))\": \(errorStates[$0]!)" }.joined(separator: ", ")
        return """
            {"target": "\(Self.escape(target))", "workload": "\(workload)", "clients": \(clients), "seconds": \(number(seconds)), \
            "operations": \(operations), "ops_per_second": \(number(operationsPerSecond)), "errors": \(errors), \
            "error_states": {\(states)}, "latency_ms": {"p50": \(number(milliseconds(50))), "p90": \(number(milliseconds(90))), \
            "p99": \(number(milliseconds(99))), "p99_9": \(number(milliseconds(99.9))), "max": \(number(Double(latency.max) / 1000)), \
            "mean": \(number(latency.totalCount == 0 ? 0 : latency.mean / 1000))}}
            """
    }

    static func format(_ milliseconds: Double) -> String {
        milliseconds < 10 ? String(format: "%.2f", milliseconds) : String(format: "%.1f", milliseconds)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Runs C clients, each on its own connection, for the duration; prints a progress line every
/// second (to stderr, so `--json` output stays clean) and returns the merged measurements.
struct BenchRunner {
    let target: BenchTarget
    let workload: Workload
    let clients: Int
    let duration: Duration
    let settings: Workload.Settings
    let progress: Bool
    /// Whether to (re)create and load the workload's tables first.
    var setUp = true

    func run() async throws -> BenchReport {
        var connections: [any BenchConnection] = []
        do {
            for index in 0..<clients { connections.append(try await target.connect(id: index + 1)) }
        } catch {
            for connection in connections { await connection.close() }
            throw BenchError("cannot connect to \(target): \(Self.describe(error))")
        }
        do {
            if setUp {
                for sql in workload.setupSQL(settings, dialect: target.dialect) {
                    try await connections[0].run(Workload.Operation(steps: [Workload.Step(sql: sql)]))
                }
                for step in workload.setupRows(settings) {
                    try await connections[0].run(Workload.Operation(steps: [step]))
                }
            }
        } catch {
            for connection in connections { await connection.close() }
            throw BenchError("setting up \(workload.rawValue) on \(target) failed: \(Self.describe(error))")
        }
        let report = await measure(connections)
        for connection in connections { await connection.close() }
        return report
    }

    private func measure(_ connections: [any BenchConnection]) async -> BenchReport {

        let stats = (0..<clients).map { _ in ClientRecorder() }
        let started = ContinuousClock.now
        let deadline = started + duration
        // A fixed seed: the same payload every run, and not compressible.
        var generator = SplitMix64(seed: 0x6d65_7368_6462)
        let payload = workload == .blobPut ? Workload.randomBytes(settings.valueBytes, &generator) : []
        let ticker = Task { [stats, progress] in
            var last = ContinuousClock.now
            var second = 0
            while !Task.isCancelled, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .seconds(1))
                second += 1
                var interval = makeLatencyHistogram()
                var errors = 0
                for client in stats {
                    client.stats.withLock {
                        interval.add($0.interval)
                        errors += $0.intervalErrors
                        $0.interval.reset()
                        $0.intervalErrors = 0
                    }
                }
                let now = ContinuousClock.now
                let elapsed = Double((now - last).components.attoseconds) / 1e18 + Double((now - last).components.seconds)
                last = now
                if progress {
                    let rate = elapsed > 0 ? Double(interval.totalCount) / elapsed : 0
                    let p50 = interval.totalCount == 0 ? 0 : Double(interval.valueAtPercentile(50)) / 1000
                    let p99 = interval.totalCount == 0 ? 0 : Double(interval.valueAtPercentile(99)) / 1000
                    let line = String(format: "%4d s  %9.1f ops/s", second, rate)
                        + "  p50 \(BenchReport.format(p50)) ms  p99 \(BenchReport.format(p99)) ms  errors \(errors)\n"
                    FileHandle.standardError.write(Data(line.utf8))
                }
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                let clientStats = stats[index]
                group.addTask { [workload, settings] in
                    var random = SystemRandomNumberGenerator()
                    var sequence = 0
                    while ContinuousClock.now < deadline {
                        let begin = ContinuousClock.now
                        do {
                            let operation = workload.operation(client: index, sequence: sequence, settings: settings,
                                                               random: &random, payload: payload)
                            try await connection.run(operation)
                            let micros = Self.microseconds(ContinuousClock.now - begin)
                            clientStats.stats.withLock {
                                _ = $0.total.record(micros)
                                _ = $0.interval.record(micros)
                            }
                        } catch {
                            let (state, text) = Self.classify(error)
                            clientStats.stats.withLock {
                                $0.errors += 1
                                $0.intervalErrors += 1
                                $0.errorStates[state, default: 0] += 1
                                if $0.firstError == nil { $0.firstError = text }
                            }
                            // A dropped connection does not come back: this client stops.
                            if state == "connection" { return }
                        }
                        sequence += 1
                    }
                }
            }
        }
        let ended = ContinuousClock.now
        ticker.cancel()
        var merged = ClientStats()
        for client in stats {
            client.stats.withLock { stats in
                merged.total.add(stats.total)
                merged.errors += stats.errors
                for (state, count) in stats.errorStates { merged.errorStates[state, default: 0] += count }
                if merged.firstError == nil { merged.firstError = stats.firstError }
            }
        }
        let span = ended - started
        return BenchReport(
            target: target.description, workload: workload.rawValue, clients: clients,
            seconds: Double(span.components.seconds) + Double(span.components.attoseconds) / 1e18,
            operations: merged.total.totalCount, errors: merged.errors, errorStates: merged.errorStates,
            firstError: merged.firstError, latency: merged.total)
    }

    static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(1, seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
    }

    /// The SQLSTATE of a server error, or "connection" / "client" for the rest.
    static func classify(_ error: any Error) -> (state: String, text: String) {
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                return (state, "\(state): \(error.serverInfo?[.message] ?? "")")
            }
            switch error.code {
            case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
                return ("connection", "connection lost: \(error.code)")
            default:
                return ("client", "\(error.code)")
            }
        }
        if let error = error as? SQLiteError {
            return ("sqlite", "\(error)")
        }
        return ("client", "\(error)")
    }

    static func describe(_ error: any Error) -> String { classify(error).text }
}
