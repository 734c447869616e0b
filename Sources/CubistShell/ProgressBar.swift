import Foundation

/// A progress bar on stderr for work that takes more than a second, drawn only when stderr
/// is a terminal: `loading sales.csv [##########          ] 50%`. Cleared when done.
///
/// Updated from the thread doing the work only; `@unchecked Sendable` so the engine's
/// `@Sendable` progress hook can hold it.
public final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let started = ContinuousClock.now
    private var drawn = false
    private var lastPercent = -1
    private var lastPhase: String?
    private let enabled: Bool

    /// A bar for `label`, shown only if stderr is a terminal.
    public init(_ label: String) {
        self.label = label
        enabled = isatty(2) != 0
    }

    /// Reports progress (0...1) of the phase named, if any (`scan`, `merge`, `finish`); draws
    /// once a second has passed, so a query that spends its time after the scan shows the
    /// phase it is in rather than a bar stuck at 100%.
    public func update(_ fraction: Double, phase: String? = nil) {
        guard enabled, ContinuousClock.now - started > .seconds(1) else { return }
        let percent = Int((min(1, max(0, fraction)) * 100).rounded(.down))
        guard percent != lastPercent || phase != lastPhase else { return }
        lastPercent = percent
        lastPhase = phase
        let filled = percent / 5
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: 20 - filled)
        let title = phase.map { "\(label): \($0)" } ?? label
        StandardStreams.raw("\r\u{1B}[K\(title) [\(bar)] \(percent)%")
        drawn = true
    }

    /// Clears the bar.
    public func finish() {
        if drawn { StandardStreams.raw("\r\u{1B}[K") }
        drawn = false
    }
}
