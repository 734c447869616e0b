/// A literate report as written: Markdown prose and fenced ```` ```cubist ```` blocks of
/// statements, in order. Other fenced blocks are prose (shown as code).
public struct ReportSource: Sendable {
    /// A part of the document.
    public enum Part: Sendable, Equatable {
        /// Markdown text, as written.
        case prose(String)
        /// The statements of a ```` ```cubist ```` block; `line` is the file line of its first statement line.
        case block(code: String, line: Int)
    }

    /// The parts in document order.
    public var parts: [Part]

    /// The first level-1 heading (`# Title`), else the first heading of any level.
    public var title: String? {
        var fallback: String?
        for case .prose(let text) in parts {
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let t = line.drop { $0 == " " }
                guard t.hasPrefix("#") else { continue }
                let level = t.prefix { $0 == "#" }.count
                let rest = t.dropFirst(level)
                guard level <= 6, rest.isEmpty || rest.first == " " else { continue }
                let heading = String(rest.drop { $0 == " " }).trimmingCharacters(of: "# ")
                if level == 1 { return heading }
                if fallback == nil { fallback = heading }
            }
        }
        return fallback
    }

    /// Splits `text` at its fences. A ```` ```cubist ```` block (also `~~~cubist`, any case)
    /// holds statements; an unclosed fence runs to the end, as in CommonMark.
    public init(_ text: String) {
        var parts: [Part] = []
        var prose: [Substring] = []
        var code: [Substring] = []
        // The open fence: its character, length, and whether it is a query block.
        var fence: (char: Character, count: Int, query: Bool, line: Int)?
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        func flushProse() {
            if !prose.isEmpty { parts.append(.prose(prose.joined(separator: "\n"))) }
            prose = []
        }
        for (n, rawLine) in lines.enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let indent = line.prefix { $0 == " " }.count
            let body = line.dropFirst(indent)
            if let open = fence {
                let run = body.prefix { $0 == open.char }.count
                if indent < 4, run >= open.count, body.dropFirst(run).allSatisfy({ $0 == " " || $0 == "\t" }) {
                    if open.query {
                        parts.append(.block(code: code.joined(separator: "\n"), line: open.line + 1))
                        code = []
                    } else {
                        prose.append(rawLine)
                    }
                    fence = nil
                } else if open.query {
                    code.append(line)
                } else {
                    prose.append(rawLine)
                }
                continue
            }
            if indent < 4, let c = body.first, c == "`" || c == "~" {
                let run = body.prefix { $0 == c }.count
                if run >= 3 {
                    let info = body.dropFirst(run).trimmingCharacters(of: " \t")
                    let word = info.split(separator: " ").first.map { $0.lowercased() } ?? ""
                    let query = word == "cubist" || word == "{cubist}"
                    fence = (c, run, query, n + 1)
                    if query {
                        flushProse()
                    } else {
                        prose.append(rawLine)
                    }
                    continue
                }
            }
            prose.append(rawLine)
        }
        if let open = fence, open.query { parts.append(.block(code: code.joined(separator: "\n"), line: open.line + 1)) }
        flushProse()
        self.parts = parts
    }
}

extension StringProtocol {
    /// The text without leading and trailing characters from `set`.
    func trimmingCharacters(of set: String) -> String {
        let scalars = Array(self)
        var start = 0, end = scalars.count
        while start < end, set.contains(scalars[start]) { start += 1 }
        while end > start, set.contains(scalars[end - 1]) { end -= 1 }
        return String(scalars[start..<end])
    }
}
