public import Foundation
import Synchronization

/// Starts child processes one at a time. Foundation's `Process.run()` on Linux is not safe to call
/// from several threads at once: the test suite, which launches psql, pgbench, python3, `meshdb`
/// and PostgreSQL from parallel tests, crashed inside it (a bad pointer in its memcpy, CI of
/// 2026-11-21). Every launch of the tests and tools goes through here; the lock is held only while
/// the child is being spawned, not while it runs.
public enum ProcessLaunch {
    private static let lock = Mutex(())

    public static func run(_ process: Process) throws {
        try lock.withLock { _ in try process.run() }
    }
}
