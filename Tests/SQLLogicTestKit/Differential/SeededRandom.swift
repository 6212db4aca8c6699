import Consensus

/// A pseudo-random stream fixed by its seed (the simulator's SplitMix64), with its own range and
/// choice helpers so that a seed yields the same schemas and queries with any Swift release:
/// the standard library's `random(in:using:)` may change how it maps bits to ranges.
public struct SeededRandom: Sendable {
    private var bits: SplitMix64

    public init(seed: UInt64) {
        bits = SplitMix64(seed: seed)
    }

    public mutating func next() -> UInt64 { bits.next() }

    /// A number in `range` (modulo bias is negligible for the small ranges used here).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(next() % width)
    }

    /// True with probability `percent` / 100.
    public mutating func percent(_ percent: Int) -> Bool {
        int(in: 0...99) < percent
    }

    public mutating func element<T>(of elements: [T]) -> T {
        precondition(!elements.isEmpty, "nothing to choose from")
        return elements[int(in: 0...elements.count - 1)]
    }

    /// One of `choices`, each as likely as its weight says.
    public mutating func weighted<T>(_ choices: [(weight: Int, value: T)]) -> T {
        var pick = int(in: 0...choices.map(\.weight).reduce(0, +) - 1)
        for choice in choices {
            if pick < choice.weight { return choice.value }
            pick -= choice.weight
        }
        preconditionFailure("weights must be positive")
    }

    /// `elements` in a random order (Fisher–Yates).
    public mutating func shuffled<T>(_ elements: [T]) -> [T] {
        var elements = elements
        for index in elements.indices.reversed() where index > 0 {
            elements.swapAt(index, int(in: 0...index))
        }
        return elements
    }

    /// A seed for the `index`-th part of a run: independent streams from one run seed.
    public static func derive(_ seed: UInt64, _ index: Int) -> UInt64 {
        var random = SeededRandom(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD6E8_FEB8_6659_FD93))
        return random.next()
    }
}
