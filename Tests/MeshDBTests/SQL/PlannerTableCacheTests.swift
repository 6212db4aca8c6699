import QueryPlanner
import Testing
@testable import MeshDB

/// The gateway's planner tables: converted once per catalog version, never served across one.
@Suite struct PlannerTableCacheTests {
    static func table(_ name: String, columns: [String]) -> CatalogTable {
        let spec = CatalogTableSpec(name: name, columns: columns.map { CatalogColumn(name: $0, type: .integer) },
                                    primaryKey: [columns[0]], shardKey: [columns[0]], shardCount: 4)
        return CatalogTable(spec: spec, id: 16_384, createdAtSequence: 1, shardGroups: [1], nextRowID: 1)
    }

    @Test func aNewerCatalogVersionIsNeverAnsweredFromAnOlderOne() {
        let cache = PlannerTableCache()
        let before = Self.table("t", columns: ["a"])
        let after = Self.table("t", columns: ["a", "b"])
        #expect(cache.table(before, catalogVersion: 5).columns.map(\.name) == ["a"])
        // The same version is served from the cache (even if a caller passed other contents).
        #expect(cache.table(after, catalogVersion: 5).columns.map(\.name) == ["a"])
        #expect(cache.table(after, catalogVersion: 6).columns.map(\.name) == ["a", "b"])
        // A statement still planning at version 5 converts its own table and evicts nothing.
        #expect(cache.table(before, catalogVersion: 5).columns.map(\.name) == ["a"])
        #expect(cache.table(before, catalogVersion: 6).columns.map(\.name) == ["a", "b"])
    }

    @Test func theConversionIsTheUncachedOne() {
        let table = Self.table("u", columns: ["k", "v"])
        #expect(PlannerTableCache().table(table, catalogVersion: 1) == PlannerCatalogSnapshot.plannerTable(table))
        #expect(PlannerCatalogSnapshot.plannerTable(table).columns.map(\.affinity) == [.integer, .integer])
    }
}
