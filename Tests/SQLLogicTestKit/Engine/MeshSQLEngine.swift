import MeshDB
import QueryPlanner

/// MeshDB as a sqllogictest and differential engine: a 4-node in-process cluster (PBFT over an
/// in-process hub, SQLite shards on disk in a temporary directory) and one SQL session on node 0.
/// Each engine is a fresh, empty cluster; `close()` stops it and removes its directory.
public final class MeshSQLEngine: SQLTestEngine {
    public let name = "meshdb"
    let cluster: LocalCluster
    let session: SQLSession

    public static func start(nodes: Int = 4) async throws -> MeshSQLEngine {
        var options = LocalCluster.Options(nodes: nodes)
        options.runtime.replica.checkpointIntervalSequences = 64
        options.runtime.replica.logWindowSequences = 256
        // A bound, not a wait: under a loaded test run a cluster formed in 30 s or more.
        options.readySeconds = 120
        return MeshSQLEngine(cluster: try await LocalCluster.start(options))
    }

    init(cluster: LocalCluster) {
        self.cluster = cluster
        self.session = SQLSession(gateway: cluster.gateway)
    }

    public func execute(_ sql: String) async throws -> SQLTestOutcome {
        guard let result = try await session.execute(sql).last else { return .rowsChanged(0) }
        let returnsRows = !result.columns.isEmpty || ["SELECT", "EXPLAIN", "SHOW"].contains { result.tag.hasPrefix($0) }
        if returnsRows { return .rows(columns: result.columns, rows: result.rows) }
        return .rowsChanged(Int(result.tag.split(separator: " ").last ?? "") ?? 0)
    }

    public func close() async {
        await cluster.stop()
    }
}
