#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs deeply recursive work on a thread of its own with a large stack, so that its depth is
/// bounded by a limit of ours rather than by the caller's thread, whose stack may be 8 MiB (a
/// Linux main thread), 512 KiB (a macOS secondary thread) or anything else. A debug build needs
/// about 10 KiB of stack per level of SQL nesting; the parser moves here only for statements
/// nested deeper than `Parser.shallowRecursionMax`, which almost none are.
public enum LargeStack {
    /// Reserved address space, not memory: pages are committed only as the stack grows into them.
    public static let stackBytes = 64 << 20

    /// `body`'s result, computed on a new thread with a `stackBytes` stack; nil when the system
    /// refuses to create that thread.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T? {
        let box = Box(body)
        var attributes = pthread_attr_t()
        guard pthread_attr_init(&attributes) == 0 else { return nil }
        defer { pthread_attr_destroy(&attributes) }
        guard pthread_attr_setstacksize(&attributes, stackBytes) == 0 else { return nil }
        let context = Unmanaged.passRetained(box as AnyObject).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let created = pthread_create(&thread, &attributes, { context in
            // Non-optional on Linux, optional on Darwin: bind through an optional either way.
            let pointer: UnsafeMutableRawPointer? = context
            guard let pointer else { return nil }
            let box = Unmanaged<AnyObject>.fromOpaque(pointer).takeRetainedValue() as! any Runnable
            box.runOnce()
            return nil
        }, context)
        guard created == 0 else {
            Unmanaged<AnyObject>.fromOpaque(context).release()
            return nil
        }
        #if canImport(Darwin)
        guard let thread else { return nil }
        #endif
        pthread_join(thread, nil)
        return box.result
    }
}

private protocol Runnable: AnyObject {
    func runOnce()
}

/// Carries the work to the thread and the result back; pthread_join orders the write before the
/// read, which is why the unchecked Sendable is sound.
private final class Box<T: Sendable>: Runnable, @unchecked Sendable {
    let body: @Sendable () -> T
    var result: T?

    init(_ body: @escaping @Sendable () -> T) { self.body = body }

    func runOnce() { result = body() }
}
