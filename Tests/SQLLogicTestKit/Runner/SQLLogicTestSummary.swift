/// The per-file summary of a run as a Markdown table (docs/sql.md quotes it), with the skip
/// reasons under it.
public enum SQLLogicTestSummary {
    /// `reports` in their order, then a total row. Skip-list reasons are always listed (they are
    /// the engine's unsupported features); guard reasons (records for other engines) only when
    /// `includeGuardReasons`.
    public static func render(_ reports: [SQLLogicTestFileReport], includeGuardReasons: Bool) -> String {
        let names = displayNames(reports.map(\.path))
        var lines = [
            "| file | passed | failed | skipped: other engines | skipped: unsupported | pass % |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for (report, name) in zip(reports, names) {
            lines.append(row(name + (report.haltedAtLine.map { " (halted at line \($0))" } ?? ""), [report]))
        }
        if reports.count > 1 { lines.append(row("**total**", reports)) }
        for (report, name) in zip(reports, names) {
            let reasons = report.skipReasons.filter { includeGuardReasons || !$0.byGuard }
            guard !reasons.isEmpty else { continue }
            lines.append("")
            lines.append("\(name), \(report.engine): skipped records by reason")
            for reason in reasons {
                lines.append("- \(reason.reason): \(reason.count)\(reason.byGuard ? " (written for other engines)" : "")")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func row(_ name: String, _ reports: [SQLLogicTestFileReport]) -> String {
        let passed = reports.map(\.passed).reduce(0, +)
        let failed = reports.map(\.failed).reduce(0, +)
        let byGuard = reports.map(\.skippedByGuard).reduce(0, +)
        let byList = reports.map(\.skippedByList).reduce(0, +)
        let applicable = passed + failed + byList
        let percent = applicable == 0 ? 100 : Double(passed) * 100 / Double(applicable)
        return "| \(name) | \(passed) | \(failed) | \(byGuard) | \(byList) | \(formatPercent(percent)) |"
    }

    /// One decimal, never rounded up to 100.0 while something failed.
    static func formatPercent(_ percent: Double) -> String {
        let tenths = (percent * 10).rounded(.down)
        return "\(Int(tenths) / 10).\(Int(tenths) % 10)"
    }

    /// Paths without the directory they all share ("select1.test", "evidence/in1.test").
    static func displayNames(_ paths: [String]) -> [String] {
        guard paths.count > 1 else { return paths.map { String($0.split(separator: "/").last ?? Substring($0)) } }
        let split = paths.map { $0.split(separator: "/", omittingEmptySubsequences: false) }
        var shared = 0
        while split.allSatisfy({ $0.count > shared + 1 && $0[shared] == split[0][shared] }) { shared += 1 }
        return split.map { $0[shared...].joined(separator: "/") }
    }
}
