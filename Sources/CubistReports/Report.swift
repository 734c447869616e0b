import CubistCharts
import CubistCore
import CubistEngine
import CubistShell
import Foundation

/// A report after its blocks have run: the prose and, where each block was, what its
/// statements showed. Writers turn it into HTML, Markdown or PDF.
public struct Report {
    /// A piece of the finished document.
    public enum Item {
        /// Markdown text, as written.
        case prose(String)
        /// A statement's result, drawn as a chart when it asked for one; `heading` is the
        /// `--` comment above the statement.
        case result(ResultTable, chart: Chart?, heading: String?)
        /// Text a dot command or `SHOW VIEW` printed.
        case text(String)
        /// A failed statement's located error (`--continue-on-error`).
        case error(String)
    }

    /// The document's title: its first heading, else the file name.
    public var title: String
    /// The items in document order.
    public var items: [Item]
    /// The cube the statements ran on (at the start), and where it came from.
    public var cube: String
    /// Where the cube came from (`built-in sample (crm)`, a path).
    public var origin: String
    /// When the report was run, `2026-12-02 18:42 UTC`.
    public var runDate: String
    /// The file the report was read from.
    public var file: String

    /// The results drawn as charts.
    public var chartCount: Int { items.count { if case .result(_, .some, _) = $0 { return true } else { return false } } }
    /// All results, charts included.
    public var resultCount: Int { items.count { if case .result = $0 { return true } else { return false } } }
    /// The failed statements shown in the document.
    public var errorCount: Int { items.count { if case .error = $0 { return true } else { return false } } }
}

/// Runs a report's blocks in order in one session, so SET, DEFINE, navigation and
/// `$parameters` carry from block to block.
public enum ReportRunner {
    /// What running a report gave: the report, or the located error that stopped it.
    public enum Outcome {
        /// Every block ran (with `continueOnError`, failed statements are items).
        case finished(Report)
        /// A statement failed and the report stopped there.
        case failed(String)
    }

    /// Runs `source` (read from `file`) in `session`. Its results are collected, not
    /// printed; warnings still go to the session's error stream.
    public static func run(_ source: ReportSource, file: String, session: Session, continueOnError: Bool = false,
                           now: Date = Date()) -> Outcome {
        var items: [Item] = []
        let captured = StringOutput()
        let savedOutput = session.output, savedErrors = session.errors, savedPresenter = session.presenter
        defer {
            session.output = savedOutput
            session.errors = savedErrors
            session.presenter = savedPresenter
        }
        var messages: [String] = []
        session.output = captured
        session.errors = { messages.append($0) }
        session.presenter = { shown in
            items.append(.result(shown.result, chart: shown.chart, heading: shown.heading))
        }
        let cube = session.cube
        for part in source.parts {
            switch part {
            case .prose(let text):
                items.append(.prose(ReportRunner.substitute(text, session.parameters)))
            case .block(let code, let line):
                // Blank lines in front keep the statements at their lines of the file.
                let text = String(repeating: "\n", count: max(0, line - 1)) + code
                let (pieces, incomplete) = InputSplitter.split(text)
                for piece in pieces + (incomplete.map { [$0] } ?? []) {
                    messages = []
                    let ok = session.execute(piece, file: file, sourceText: text)
                    if !captured.text.isEmpty {
                        items.append(.text(captured.text))
                        captured.clear()
                    }
                    let error = ok ? nil : messages.popLast()
                    for m in messages { savedErrors(m) }
                    if let error {
                        guard continueOnError else { return .failed(error) }
                        savedErrors(error)
                        items.append(.error(error))
                    }
                    if session.wantsToQuit { break }
                }
            }
            if session.wantsToQuit { break }
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        return .finished(Report(title: ReportRunner.substitute(source.title ?? name, session.parameters), items: items, cube: cube.name, origin: cube.origin,
                                runDate: formatter.string(from: now), file: file))
    }

    typealias Item = Report.Item

    /// The prose with each `$name` of a set parameter replaced by its value (`\\$name`
    /// keeps the text); other dollar signs are left alone.
    static func substitute(_ text: String, _ parameters: [String: String]) -> String {
        guard !parameters.isEmpty, text.contains("$") else { return text }
        let chars = Array(text)
        var out = ""
        var i = 0
        func isName(_ c: Character) -> Bool { c == "_" || c.isLetter || c.isNumber }
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count, chars[i + 1] == "$" {
                out.append("$")
                i += 2
                continue
            }
            if c == "$", i + 1 < chars.count, chars[i + 1] == "_" || chars[i + 1].isLetter {
                var j = i + 1
                while j < chars.count, isName(chars[j]) { j += 1 }
                if let value = parameters[String(chars[(i + 1)..<j]).lowercased()] {
                    out += value
                    i = j
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        return out
    }
}
