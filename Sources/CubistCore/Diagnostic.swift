import Foundation

/// An error or warning about user input, located in a file (or `<command>`, `<stdin>`).
///
/// Every layer reports bad input with this one type: the lexer and parser, the binder and
/// engine (errors and warnings at a range of the statement), the store (at a line and
/// column of a model or CSV file), and the shell. A statement's diagnostic knows its range;
/// the shell adds the file and source line once (`located(in:)`) and renders it as
/// `FILE:LINE:COL: error: MESSAGE`, the source line in a gutter, a caret under the token,
/// and an optional `help:` line with a suggestion.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
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
    /// Where in a statement's text, for diagnostics of statements (byte offsets and the
    /// line and column of the start).
    public var range: SourceRange?

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

    /// An error (or warning) about a range of a statement; the shell adds the file and line.
    public init(_ message: String, at range: SourceRange, help: String? = nil, severity: Severity = .error) {
        self.init(severity, file: "", location: range.location, message: message, help: help)
        self.range = range
    }

    /// A warning about a range of a statement.
    public static func warning(_ message: String, at range: SourceRange, help: String? = nil) -> Diagnostic {
        Diagnostic(message, at: range, help: help, severity: .warning)
    }

    /// The diagnostic placed in its source: the file, the source line under the message,
    /// and a caret spanning the range's first line. `at` moves it to another range (a
    /// navigation statement that re-ran a view). A diagnostic that already names its file
    /// (from the store) is returned as it is.
    /// `text` holds the source from line `lineBase + 1` on (a stream is read a part at a time).
    public func located(file: String, text: String, pieceText: String, at override: SourceRange? = nil, lineBase: Int = 0) -> Diagnostic {
        guard self.file.isEmpty, let range = override ?? self.range else { return self }
        let bytes = Array(pieceText.utf8)
        let start = min(max(0, range.start), bytes.count), end = min(max(start, range.end), bytes.count)
        let covered = String(decoding: bytes[start..<end], as: UTF8.self)
        let span = covered.prefix { $0 != "\n" }.unicodeScalars.count
        var out = Diagnostic(severity, file: file, location: range.location, message: message, help: help,
                             sourceLine: SourceText.line(range.location.line - lineBase, of: text), span: max(1, span))
        out.range = range
        return out
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
            // A very long line (a 1 MB field, a generated statement) shows a window of
            // 160 characters around the column, marked with … at the cut ends.
            var scalars = Array(sourceLine.replacingTabs().unicodeScalars)
            var column = max(0, location.column - 1)
            var caret = span
            if scalars.count > Diagnostic.window {
                let start = max(0, min(column - Diagnostic.window / 3, scalars.count - Diagnostic.window))
                let end = min(scalars.count, start + Diagnostic.window)
                var view = Array(scalars[start..<end])
                if start > 0 { view.insert("…", at: 0) }
                if end < scalars.count { view.append("…") }
                column = column - start + (start > 0 ? 1 : 0)
                caret = max(1, min(span, view.count - column))
                scalars = view
            }
            var shown = String.UnicodeScalarView()
            shown.append(contentsOf: scalars)
            lines.append(" \(number) | \(String(shown))")
            var prefix = String.UnicodeScalarView()
            prefix.append(contentsOf: scalars.prefix(column))
            let indent = DisplayWidth.of(String(prefix))
            lines.append(" \(gutter) | " + String(repeating: " ", count: indent) + String(repeating: "^", count: caret))
        }
        if let help { lines.append("help: \(help)") }
        return lines.joined(separator: "\n")
    }

    public var description: String { rendered }

    /// Most characters of a source line shown under a message.
    static let window = 160
}

extension String {
    /// The text for quoting in a message: cut to 60 characters, with "…" and the full
    /// length, when it is longer (a 1,000,000-character field makes a readable message).
    public var clipped: String {
        let scalars = unicodeScalars
        guard scalars.count > 60 else { return self }
        var head = String.UnicodeScalarView()
        head.append(contentsOf: scalars.prefix(60))
        return String(head) + "… (\(grouped(scalars.count)) characters)"
    }
}

extension String {
    fileprivate func replacingTabs() -> String {
        contains("\t") ? replacingOccurrences(of: "\t", with: " ") : self
    }
}
