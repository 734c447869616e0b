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
    private let enabled: Bool

    /// A bar for `label`, shown only if stderr is a terminal.
    public init(_ label: String) {
        self.label = label
        enabled = isatty(2) != 0
    }

    /// Reports progress (0...1); draws once a second has passed.
    public func update(_ fraction: Double) {
        guard enabled, ContinuousClock.now - started > .seconds(1) else { return }
        let percent = Int((min(1, max(0, fraction)) * 100).rounded(.down))
        guard percent != lastPercent else { return }
        lastPercent = percent
        let filled = percent / 5
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: 20 - filled)
        StandardStreams.raw("\r\(label) [\(bar)] \(percent)%")
        drawn = true
    }

    /// Clears the bar.
    public func finish() {
        if drawn { StandardStreams.raw("\r\u{1B}[K") }
        drawn = false
    }
}
