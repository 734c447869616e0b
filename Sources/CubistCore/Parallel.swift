import Dispatch
import Foundation
import Synchronization

/// Runs independent pieces of work on several threads.
public enum Parallel {
    /// A closure the caller promises is safe to run concurrently: each call touches only
    /// its own slots of shared buffers.
    private final class Work: @unchecked Sendable {
        let body: (Int) -> Void
        let next = Atomic<Int>(0)
        init(_ body: @escaping (Int) -> Void) { self.body = body }
    }

    /// The number of threads to use when the user asked for `requested` (0: every core).
    public static func threads(_ requested: Int) -> Int {
        requested > 0 ? requested : max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Calls `body(i)` once for every `i` in `0..<count`, on up to `threads` threads
    /// (0: every core), taking indices in order as threads come free. `body` must write
    /// only to state no other index touches.
    public static func forEach(_ count: Int, threads: Int = 0, _ body: (Int) -> Void) {
        let workers = min(count, Self.threads(threads))
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let work = Work(body)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let i = work.next.add(1, ordering: .relaxed).oldValue
                    if i >= count { return }
                    work.body(i)
                }
            }
        }
    }

    /// Runs `background` on another thread while `foreground` runs on this one, and returns
    /// when both are done. Unlike `forEach` from inside a `forEach`, parallel work that
    /// `foreground` starts gets every core. The two must not touch the same state.
    public static func concurrently(_ background: () -> Void, _ foreground: () -> Void) {
        withoutActuallyEscaping(background) { background in
            let work = Handoff(background)
            let done = DispatchSemaphore(value: 0)
            DispatchQueue.global().async {
                work.run()
                done.signal()
            }
            foreground()
            done.wait()
        }
    }

    /// A closure handed to another thread and let go of as soon as it has run, so that it
    /// does not outlive `withoutActuallyEscaping`.
    private final class Handoff: @unchecked Sendable {
        private var body: (() -> Void)?
        init(_ body: @escaping () -> Void) { self.body = body }
        func run() {
            body?()
            body = nil
        }
    }
}
