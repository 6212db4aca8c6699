public import Testing
import Foundation

/// A trait for suites whose tests start clusters, servers or processes, or move 100 MiB values:
/// at most `HeavyTestSlots.limit` such test cases run at once across the whole test binary.
///
/// Swift Testing starts every test of every suite at once; on a 2-core machine the ~100 suites of
/// this package then run at a load near 12, and a test that waits for a cluster to form, a view to
/// change or a 100 MiB value to pass outran its own timeouts, a different one each CI run
/// (ProcessClusterTests, TCPTransportTests, GatewaySchemaTests in three runs of one commit). The
/// light tests (pure state machines, parsers, codecs) still run beside these unbounded.
///
/// The limit is `MESHDB_TEST_HEAVY_SLOTS` (default 3). A test that waits for a slot has not started:
/// its own timeouts count from when it holds one.
public struct HeavyTest: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // Only a test case holds a slot: a suite's own scope spans all of its tests.
        guard testCase != nil, !test.isSuite else { return try await function() }
        await HeavyTestSlots.shared.acquire()
        do {
            try await function()
        } catch {
            await HeavyTestSlots.shared.release()
            throw error
        }
        await HeavyTestSlots.shared.release()
    }
}

extension Trait where Self == HeavyTest {
    /// Marks a suite (or test) as heavy: see `HeavyTest`.
    public static var heavy: Self { HeavyTest() }
}

/// A counting semaphore for `HeavyTest`, waiters served first come, first served.
public actor HeavyTestSlots {
    public static let shared = HeavyTestSlots(limit: HeavyTestSlots.configuredLimit)

    /// `MESHDB_TEST_HEAVY_SLOTS` if it is a positive integer, else 3.
    public static var configuredLimit: Int {
        guard let text = ProcessInfo.processInfo.environment["MESHDB_TEST_HEAVY_SLOTS"], let value = Int(text), value >= 1 else { return 3 }
        return value
    }

    public let limit: Int
    private var held = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(limit: Int) {
        precondition(limit >= 1, "a semaphore needs at least one slot")
        self.limit = limit
    }

    public func acquire() async {
        if held < limit {
            held += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Hands the slot to the first waiter, if any, without freeing it in between.
    public func release() {
        precondition(held > 0, "release without acquire")
        if waiters.isEmpty {
            held -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// How long a test waits for a cluster it started to be ready (the catalog knows the shard
/// groups). A bound, not a wait: the CI run starts ~500 light tests together with the first
/// heavy ones, and two clusters started in that burst took more than 30 s to form.
public let testClusterReadySeconds = 120.0
