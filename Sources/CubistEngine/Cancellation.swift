import Synchronization

/// A flag that asks a running query to stop. The scan checks it between chunks of 65,536
/// fact rows, so a query stops within milliseconds of `cancel()`, even from a signal handler.
public final class CancellationFlag: Sendable {
    private let cancelled = Atomic<Bool>(false)

    /// Creates a flag, not set.
    public init() {}

    /// Asks the running query to stop (async-signal-safe: one atomic store).
    public func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// Clears the flag before the next query.
    public func reset() { cancelled.store(false, ordering: .relaxed) }

    /// Whether a stop was asked for.
    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}
