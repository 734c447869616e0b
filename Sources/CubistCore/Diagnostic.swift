import Foundation

/// An error or warning about user input, located in a file (or `<command>`, `<stdin>`).
///
/// Every layer reports bad input this way; the shell renders it as
/// `FILE:LINE:COL: error: MESSAGE`, the source line in a gutter, a caret under the token,
/// and an optional `help:` line with a suggestion.
public struct Diagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    /// How serious a diagnostic is.
    public enum Severity: String, Sendable {
        case error
        case warning
    }

    /// Error or warning.
    public var severity: Severity
    /// The file the input came from, as the user named it.
    public var file: String
    /// Where in the file; nil when the problem is about the file as a whole.
    public var location: SourceLocation?
    /// A lowercase sentence saying what is wrong.
    public var message: String
    /// What to do about it, when something useful can be said.
    public var help: String?
    /// The offending source line, shown under the message with a caret.
    public var sourceLine: String?
    /// How many characters the caret marker spans (at least 1).
    public var span: Int

    /// Creates a diagnostic.
    public init(_ severity: Severity = .error, file: String, location: SourceLocation? = nil, message: String,
                help: String? = nil, sourceLine: String? = nil, span: Int = 1) {
        self.severity = severity
        self.file = file
        self.location = location
        self.message = message
        self.help = help
        self.sourceLine = sourceLine
        self.span = max(1, span)
    }

    /// An error at `location` of a text given line by line; the line is shown with a caret.
    public static func located(file: String, lines: [String], at location: SourceLocation?, _ message: String,
                               help: String? = nil, span: Int = 1) -> Diagnostic {
        let line = location.flatMap { $0.line >= 1 && $0.line - 1 < lines.count ? lines[$0.line - 1] : nil }
        return Diagnostic(file: file, location: location, message: message, help: help, sourceLine: line, span: span)
    }

    /// The first line: `FILE:LINE:COL: error: MESSAGE`.
    public var headline: String {
        var text = file
        if let location { text += ":\(location.line):\(location.column)" }
        return text + ": \(severity.rawValue): \(message)"
    }

    /// The whole diagnostic as the user sees it, over several lines.
    public var rendered: String {
        var lines = [headline]
        if let sourceLine, let location {
            let number = String(location.line)
            let gutter = String(repeating: " ", count: number.count)
            let shown = sourceLine.replacingTabs()
            lines.append(" \(number) | \(shown)")
            let prefix = String(sourceLine.unicodeScalars.prefix(max(0, location.column - 1)))
            let indent = DisplayWidth.of(prefix.replacingTabs())
            lines.append(" \(gutter) | " + String(repeating: " ", count: indent) + String(repeating: "^", count: span))
        }
        if let help { lines.append("help: \(help)") }
        return lines.joined(separator: "\n")
    }

    public var description: String { rendered }
}

extension String {
    fileprivate func replacingTabs() -> String {
        contains("\t") ? replacingOccurrences(of: "\t", with: " ") : self
    }
}
