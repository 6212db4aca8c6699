import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Waits until the process receives SIGINT or SIGTERM.
func waitForTerminationSignal() async -> Int32 {
    await withCheckedContinuation { continuation in
        let queue = DispatchQueue(label: "meshdb.signals")
        queue.async {
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_IGN)
            var resumed = false
            var sources: [any DispatchSourceSignal] = []
            for number in [SIGINT, SIGTERM] {
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler {
                    guard !resumed else { return }
                    resumed = true
                    for source in sources { source.cancel() }
                    continuation.resume(returning: number)
                }
                source.resume()
                sources.append(source)
            }
        }
    }
}
