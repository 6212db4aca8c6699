import Synchronization

/// A counting semaphore for tasks: at most `count` holders at once, the others suspended (not
/// blocking a thread) and let in in arrival order. Bounds how many requests of a kind a node
/// runs at once (`ClientService.chunkRequestsInFlightMax`).
final class AsyncSlots: Sendable {
    private struct State {
        var free: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
        /// Index of the next waiter in `waiting`: a queue without shifting the array per release.
        var head = 0
    }

    private let state: Mutex<State>

    init(count: Int) {
        precondition(count > 0, "a gate needs at least one slot")
        state = Mutex(State(free: count))
    }

    /// Takes a slot, waiting for one when all are held. Every acquire must be paired with one `release`.
    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state in
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    /// Gives a slot back: to the longest waiter when there is one (the slot passes straight to it).
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.head < state.waiting.count else {
                state.free += 1
                return nil
            }
            let next = state.waiting[state.head]
            state.head += 1
            // Drop the served prefix once it is most of the array, so a queue that never drains
            // does not grow without end.
            if state.head == state.waiting.count || (state.head >= 64 && 2 * state.head >= state.waiting.count) {
                state.waiting.removeFirst(state.head)
                state.head = 0
            }
            return next
        }
        next?.resume()
    }
}
