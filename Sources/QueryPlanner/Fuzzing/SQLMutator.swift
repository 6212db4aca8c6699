/// Seeded mutations of real SQL, for the parser's robustness tests: small changes to statements
/// the parser accepts reach far more of its error paths than random bytes do (the ByzzFuzz
/// lesson, STYLE.md §2). A run is a function of its seed.
public struct SQLMutator {
    public let seeds: [[UInt8]]
    var random: WyRand

    /// Words and punctuation that steer the parser into its branches.
    static let fragments: [[UInt8]] = [
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "NULL", "IS", "IN", "BETWEEN", "LIKE", "ILIKE", "ESCAPE",
        "CASE", "WHEN", "THEN", "ELSE", "END", "CAST", "AS", "EXISTS", "UNION", "ALL", "INTERSECT", "EXCEPT",
        "JOIN", "LEFT", "CROSS", "ON", "USING", "GROUP", "BY", "HAVING", "ORDER", "ASC", "DESC", "NULLS", "LIMIT",
        "OFFSET", "WITH", "VALUES", "INSERT", "INTO", "UPDATE", "SET", "DELETE", "RETURNING", "CONFLICT", "DO",
        "NOTHING", "CREATE", "TABLE", "INDEX", "VIEW", "DROP", "ALTER", "ADD", "PRIMARY", "KEY", "UNIQUE",
        "DEFAULT", "CHECK", "SHARD", "SHARDS", "EXPLAIN", "ANALYZE", "BEGIN", "COMMIT", "DISTINCT", "TRUE",
        "count(*)", "VARCHAR(3)", "DOUBLE PRECISION", "::", "(", ")", ",", ";", ".", "*", "+", "-", "/", "%", "||",
        "=", "==", "<>", "!=", "<", "<=", ">", ">=", "<<", "&", "|", "~", "'", "''", "\"", "$1", "?", "?7", "X'",
        "--", "/*", "*/", "0x", "1e", "9223372036854775808", "é", "\u{0}",
    ].map { Array($0.utf8) }

    public init(seeds: [String], seed: UInt64) {
        precondition(!seeds.isEmpty, "mutations need at least one statement to start from")
        self.seeds = seeds.map { Array($0.utf8) }
        self.random = WyRand(seed: seed)
    }

    /// The next input: a seed statement with one to four mutations, or now and then a deeply
    /// nested one.
    public mutating func next() -> String {
        if random.below(200) == 0 { return deeplyNested() }
        var bytes = seeds[random.below(seeds.count)]
        for _ in 0...random.below(4) { mutate(&bytes) }
        // Mutations cut through multi-byte characters; decoding repairs them as a client's
        // driver would have to.
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        let count = bytes.count
        switch random.below(9) {
        case 0 where count > 0:  // delete a run
            let start = random.below(count)
            bytes.removeSubrange(start..<min(count, start + 1 + random.below(8)))
        case 1 where count > 0:  // duplicate a run
            let start = random.below(count)
            let run = bytes[start..<min(count, start + 1 + random.below(16))]
            bytes.insert(contentsOf: run, at: random.below(count + 1))
        case 2 where count > 1:  // swap two bytes
            bytes.swapAt(random.below(count), random.below(count))
        case 3:  // insert a fragment, spaced or not
            var fragment = Self.fragments[random.below(Self.fragments.count)]
            if random.below(2) == 0 { fragment = [0x20] + fragment + [0x20] }
            bytes.insert(contentsOf: fragment, at: random.below(count + 1))
        case 4 where count > 0:  // truncate
            bytes.removeSubrange(random.below(count)...)
        case 5 where count > 0:  // replace a byte with any byte
            bytes[random.below(count)] = UInt8(truncatingIfNeeded: random.next())
        case 6:  // splice: this statement's head onto another's tail
            let other = seeds[random.below(seeds.count)]
            bytes = Array(bytes.prefix(random.below(count + 1))) + other.suffix(random.below(other.count + 1))
        case 7:  // swap two words
            swapWords(&bytes)
        default:  // wrap in parentheses
            let depth = 1 + random.below(50)
            bytes = Array(repeating: UInt8(ascii: "("), count: depth) + bytes + Array(repeating: UInt8(ascii: ")"), count: depth)
        }
    }

    private mutating func swapWords(_ bytes: inout [UInt8]) {
        let words = bytes.split(separator: 0x20, omittingEmptySubsequences: true)
        guard words.count > 1 else { return }
        var shuffled = words.map(Array.init)
        shuffled.swapAt(random.below(words.count), random.below(words.count))
        bytes = Array(shuffled.joined(separator: [0x20]))
    }

    /// Input that only a depth limit stops: 10,000 levels of one construct or another.
    private mutating func deeplyNested() -> String {
        let depth = 1_000 + random.below(9_001)
        switch random.below(5) {
        case 0: return "SELECT " + String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth)
        case 1: return "SELECT " + String(repeating: "(", count: depth)
        case 2: return "SELECT " + String(repeating: "NOT -", count: depth) + "1"
        case 3: return String(repeating: "SELECT (", count: depth / 2) + "1" + String(repeating: ")", count: depth / 2)
        default: return "SELECT 1" + String(repeating: " + 1", count: depth)
        }
    }
}

/// wyrand (Wang Yi): a tiny, fast, well-mixed 64-bit generator; enough for choosing mutations.
public struct WyRand: RandomNumberGenerator, Sendable {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0xA076_1D64_78BD_642F
        let product = state.multipliedFullWidth(by: state ^ 0xE703_7ED1_A0B4_28DB)
        return product.high ^ product.low
    }

    /// Uniform enough in 0..<bound for test inputs (bound > 0).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "empty range")
        return Int(next() % UInt64(bound))
    }
}
