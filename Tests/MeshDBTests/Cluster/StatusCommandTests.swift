import Foundation
import Testing
import TestSupport

/// `meshdb status` reaches a cluster through a node's PostgreSQL URL, as every client command
/// does (../shared/DESIGN.md, "Command line"), or through its native address.
@Suite(.heavy, .serialized) struct StatusCommandTests {
    @Test func statusByURLAndByNativeAddressShowsEveryNodeAndGroup() async throws {
        let cluster = try await ProcessCluster(nodes: 4, initialize: false)
        try await cluster.run { cluster in
            let url = try await cluster.startDemo()
            let meshdb = try builtProduct("meshdb").path
            for arguments in [["--url", url], ["--node", "127.0.0.1:\(cluster.basePort)"]] {
                let run = try await runTool(meshdb, ["status"] + arguments, seconds: 60)
                cluster.expect(run.status == 0, "meshdb status \(arguments) exited \(run.status):\n\(run.output)")
                let up = run.output.split(separator: "\n").filter { $0.hasSuffix(" up") }
                cluster.expect(up.count == 4, "four nodes up with \(arguments):\n\(run.output)")
                cluster.expect(run.output.contains("group 0 (metadata)") && run.output.contains("group 1 (shards)"),
                               "both groups with \(arguments):\n\(run.output)")
            }
            let wrong = try await runTool(meshdb, ["status", "--url", "postgres://meshdb@127.0.0.1:1/meshdb"], seconds: 60)
            cluster.expect(wrong.status != 0 && wrong.output.contains("cannot learn the native port"), "a URL nobody serves:\n\(wrong.output)")
        }
    }
}
