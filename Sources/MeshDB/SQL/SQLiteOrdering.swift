/// SQLite's order of values (https://www.sqlite.org/datatype3.html, "Sort Order"), which ORDER BY
/// on every shard follows: NULL first, then INTEGER and REAL compared as numbers, then TEXT by
/// the BINARY collation (memcmp of UTF-8), then BLOB by memcmp. The gateway's merge of sorted
/// shard streams must use the very same order, or a merged result would differ from a single
/// database's.
enum SQLiteOrdering {
    static func compare(_ lhs: SQLiteValue, _ rhs: SQLiteValue) -> Int {
        switch (lhs, rhs) {
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        case (.integer(let a), .integer(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.real(let a), .real(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.integer(let a), .real(let b)): return -compareReal(b, toInteger: a)
        case (.real(let a), .integer(let b)): return compareReal(a, toInteger: b)
        case (.integer, _), (.real, _): return -1
        case (_, .integer), (_, .real): return 1
        case (.text(let a), .text(let b)): return memcmp(Array(a.utf8), Array(b.utf8))
        case (.text, .blob): return -1
        case (.blob, .text): return 1
        case (.blob(let a), .blob(let b)): return memcmp(a, b)
        }
    }

    /// Compares a double with a 64-bit integer exactly (not through a lossy conversion), as
    /// sqlite3IntFloatCompare does.
    static func compareReal(_ real: Double, toInteger integer: Int64) -> Int {
        if real.isNaN { return -1 }
        if real < -9.223372036854775808e18 { return -1 }
        if real >= 9.223372036854775808e18 { return 1 }
        let truncated = Int64(real)
        if truncated < integer { return -1 }
        if truncated > integer { return 1 }
        let back = Double(truncated)
        return real < back ? -1 : (real > back ? 1 : 0)
    }

    private static func memcmp(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return a.count < b.count ? -1 : (a.count == b.count ? 0 : 1)
    }

    /// Orders rows by `keys` (column index, descending, nulls first), each key in turn.
    static func compare(_ lhs: [SQLiteValue], _ rhs: [SQLiteValue], keys: [SortKey]) -> Int {
        for key in keys {
            let a = lhs[key.column], b = rhs[key.column]
            if case .null = a, case .null = b { continue }
            if case .null = a { return key.nullsFirst ? -1 : 1 }
            if case .null = b { return key.nullsFirst ? 1 : -1 }
            let order = compare(a, b)
            if order != 0 { return key.descending ? -order : order }
        }
        return 0
    }

    struct SortKey: Hashable {
        var column: Int
        var descending: Bool
        /// SQLite's default: NULLs first ascending, last descending.
        var nullsFirst: Bool
    }
}

/// Merges streams that are each sorted by `keys` into one sorted sequence: a k-way merge with a
/// binary heap, so the gateway holds one pending row per shard rather than every shard's rows.
/// Ties keep the stream order (lower stream index first), so the merge is deterministic.
struct SortedMerge {
    private var streams: [[[SQLiteValue]]]
    private var positions: [Int]
    private var heap: [Int] = []
    let keys: [SQLiteOrdering.SortKey]

    init(streams: [[[SQLiteValue]]], keys: [SQLiteOrdering.SortKey]) {
        self.streams = streams
        self.positions = Array(repeating: 0, count: streams.count)
        self.keys = keys
        for index in streams.indices where !streams[index].isEmpty { push(index) }
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        let order = SQLiteOrdering.compare(streams[a][positions[a]], streams[b][positions[b]], keys: keys)
        return order < 0 || (order == 0 && a < b)
    }

    private mutating func push(_ stream: Int) {
        heap.append(stream)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popMin() -> Int? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count, less(heap[left], heap[smallest]) { smallest = left }
                if right < heap.count, less(heap[right], heap[smallest]) { smallest = right }
                guard smallest != parent else { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }

    /// The next row in merged order, or nil when every stream is drained.
    mutating func next() -> [SQLiteValue]? {
        guard let stream = popMin() else { return nil }
        let row = streams[stream][positions[stream]]
        positions[stream] += 1
        if positions[stream] < streams[stream].count { push(stream) }
        return row
    }
}
