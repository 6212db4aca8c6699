import Foundation
import Testing
import TestSupport

/// `meshdb bench` end to end for a few seconds against `meshdb demo` and against a real
/// PostgreSQL 15 started by the test: sane figures — operations done, none failed (issue 9).
@Suite(.heavy, .serialized) struct BenchSmokeTests {
    static let workloads = ["point-select", "insert", "update", "range-scan", "aggregate", "tpcb", "blob-get"]

    /// Runs each workload for 2 s with 2 clients and checks its JSON report.
    func check(_ target: String, label: String, in cluster: ProcessCluster) async throws {
        let meshdb = try builtProduct("meshdb").path
        for workload in Self.workloads {
            let run = try await runTool(meshdb, ["bench", "--target", target, "--workload", workload, "--clients", "2",
                                                 "--duration", "2s", "--rows", "500", "--value-bytes", "4096", "--json", "--quiet"],
                                        seconds: 90)
            let line = run.output.split(separator: "\n").last.map(String.init) ?? ""
            guard run.status == 0, let report = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                cluster.expect(false, "meshdb bench \(workload) against \(label) exited \(run.status):\n\(run.output)")
                continue
            }
            let operations = report["operations"] as? Int ?? 0
            let errors = report["errors"] as? Int ?? -1
            cluster.expect(operations > 0, "\(label) \(workload): no operation completed: \(line)")
            cluster.expect(errors == 0, "\(label) \(workload): \(errors) errors: \(line)")
        }
    }

    @Test func benchAgainstTheDemoAndPostgreSQL() async throws {
        let cluster = try await ProcessCluster(nodes: 4, initialize: false)
        try await cluster.run { cluster in
            let demo = try await cluster.startDemo()
            try await check(demo, label: "meshdb demo", in: cluster)
            guard LocalPostgres.isInstalled else {
                cluster.expect(false, "PostgreSQL 15 is not installed (\(LocalPostgres.binaries)): apt-get install postgresql-15")
                return
            }
            let postgres = try await LocalPostgres.start(in: cluster.dir)
            defer { postgres.stop() }
            try await check(postgres.url, label: "PostgreSQL 15", in: cluster)
        }
    }
}

/// The suite's charts render: `Benchmarks/run-suite --charts-only` draws them from a results
/// file, and `rsvg-convert` turns one into a PNG (issue 9: "the charts render").
@Suite struct BenchChartTests {
    @Test func chartsFromSavedResultsConvertToPNG() async throws {
        let directory = try TemporaryDirectory("bench-charts")
        defer { directory.remove() }
        let root = Self.root
        func result(_ ops: Double, _ p50: Double) -> [String: Any] {
            ["ops_per_second": ops, "errors": 0, "latency_ms": ["p50": p50, "p90": p50 * 2, "p99": p50 * 4, "p99_9": p50 * 5, "max": p50 * 6]]
        }
        let saved: [String: Any] = [
            "workloads": ["point-select", "tpcb"],
            "results": ["point-select": ["meshdb": result(2200, 3.3), "postgresql": result(13800, 0.45), "sqlite": result(70000, 0.08)],
                        "tpcb": ["meshdb": result(16, 600), "postgresql": result(570, 11), "sqlite": result(2800, 0.3)]],
        ]
        let resultsPath = directory.file("results.json")
        try JSONSerialization.data(withJSONObject: saved).write(to: URL(fileURLWithPath: resultsPath))
        let draw = try await runTool("/usr/bin/python3", ["\(root)/Benchmarks/run-suite", "--charts-only", resultsPath,
                                                          "--charts-dir", directory.path], seconds: 60)
        #expect(draw.status == 0, "run-suite --charts-only: \(draw.output)")
        let svg = try String(contentsOfFile: directory.file("throughput.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("point-select") && svg.contains("tpcb"))
        try await expectPNG(from: directory.file("throughput.svg"), in: directory)
    }

    /// `run-suite --scale-charts-only` draws docs/bench/scale.svg's lines from saved
    /// `meshdb sim scale --json` output: one line per cluster size and scenario.
    @Test func scaleChartFromSavedResultsConvertsToPNG() async throws {
        let directory = try TemporaryDirectory("scale-chart")
        defer { directory.remove() }
        func runs(nodes: Int, _ rates: [Double]) -> [[String: Any]] {
            rates.enumerated().map { i, rate in ["nodes": nodes, "groups": 1 << i, "writes_per_second": rate] }
        }
        let saved: [String: Any] = [
            "scenarios": [
                ["name": "durable, batch 16", "data": ["runs": runs(nodes: 4, [4_000, 5_000, 5_200]) + runs(nodes: 16, [4_000, 8_000, 15_000, 21_000])]],
                ["name": "no fsync, batch 16", "data": ["runs": runs(nodes: 4, [20_000, 30_000, 31_000])]],
            ],
        ]
        let resultsPath = directory.file("scale.json")
        try JSONSerialization.data(withJSONObject: saved).write(to: URL(fileURLWithPath: resultsPath))
        let draw = try await runTool("/usr/bin/python3", ["\(Self.root)/Benchmarks/run-suite", "--scale-charts-only", resultsPath,
                                                          "--charts-dir", directory.path], seconds: 60)
        #expect(draw.status == 0, "run-suite --scale-charts-only: \(draw.output)")
        let svg = try String(contentsOfFile: directory.file("scale.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.components(separatedBy: "<path ").count - 1 == 3, "one line per cluster size and scenario")
        #expect(svg.contains("16 nodes, durable, batch 16") && svg.contains("4 nodes, no fsync, batch 16"))
        try await expectPNG(from: directory.file("scale.svg"), in: directory)
    }

    static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// rsvg-convert renders the SVG to a PNG big enough to hold a chart.
    func expectPNG(from svg: String, in directory: TemporaryDirectory) async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/rsvg-convert") else {
            Issue.record("rsvg-convert is not installed: apt-get install librsvg2-bin")
            return
        }
        let png = directory.file("chart.png")
        let convert = try await runTool("/usr/bin/rsvg-convert", ["-o", png, svg], seconds: 60)
        #expect(convert.status == 0, "rsvg-convert: \(convert.output)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
        #expect(bytes.count > 5_000, "a chart of \(bytes.count) bytes is too small to hold the bars")
    }
}
