/// Node states (`mesh_nodes.state`), ordered by the metadata group. A node marked down gets no
/// new chunks and is not asked first on reads (placement is over the up nodes), and the chunk
/// repair re-makes its copies on the others (`ChunkRepairer`).
extension Gateway {
    /// Marks node `index` up or down (42704 when the catalog has no such node).
    public func setNodeState(_ index: UInt32, _ state: CatalogNode.State) async throws {
        _ = try await catalogCommand(.setNodeState(index: index, state: state))
    }
}
