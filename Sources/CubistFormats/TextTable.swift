import Foundation
import CubistCore

/// Aligned text columns for the terminal, aligned by display width (Hangul takes two cells).
public struct TextTable {
    /// How a column's cells line up.
    public enum Alignment: Sendable { case left, right }

    /// Column headers.
    public var headers: [String]
    /// Alignment per column.
    public var alignments: [Alignment]
    /// Rows of cells.
    public var rows: [[String]] = []
    /// Header rows above `headers` (a crosstab's ACROSS members).
    public var headerRows: [[String]] = []

    /// Creates a table with these headers (left-aligned unless told).
    public init(_ headers: [String], alignments: [Alignment]? = nil) {
        self.headers = headers
        self.alignments = alignments ?? headers.map { _ in .left }
    }

    /// Adds a row.
    public mutating func add(_ row: [String]) { rows.append(row) }

    /// The widest the table may be in terminal cells (0: no limit). Over it, the widest text
    /// columns shrink (to no less than 6 cells) and their text is cut with `…`; numbers never.
    public var maximumWidth = 0

    /// The table as lines: header, rule, rows.
    public func rendered() -> String {
        var lines: [String] = []
        render { lines.append($0) }
        return lines.joined(separator: "\n")
    }

    /// Hands the table to `line` one line at a time.
    public func render(_ line: (String) -> Void) {
        var widths = headers.map(DisplayWidth.of)
        for row in rows + headerRows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], DisplayWidth.of(cell)) }
        }
        if maximumWidth > 0 {
            let gaps = 2 * max(0, widths.count - 1)
            // Only text shrinks; a number is never cut.
            let text = widths.indices.filter { alignments[$0] == .left }
            while widths.reduce(gaps, +) > maximumWidth, let widest = text.max(by: { widths[$0] < widths[$1] }), widths[widest] > 6 {
                widths[widest] -= 1
            }
        }
        func fit(_ text: String, _ i: Int) -> String {
            let width = DisplayWidth.of(text)
            guard width > widths[i] else { return text }
            var cut = ""
            var used = 0
            for scalar in text.unicodeScalars {
                let w = DisplayWidth.of(scalar)
                if used + w > widths[i] - 1 { break }
                cut.unicodeScalars.append(scalar)
                used += w
            }
            return cut + "…"
        }
        func pad(_ text: String, _ i: Int) -> String {
            let shown = fit(text, i)
            let gap = String(repeating: " ", count: max(0, widths[i] - DisplayWidth.of(shown)))
            return alignments[i] == .right ? gap + shown : shown + gap
        }
        for row in headerRows {
            line(row.indices.map { pad(row[$0], $0) }.joined(separator: "  ").trimmingTrailingSpace())
        }
        line(headers.indices.map { pad(headers[$0], $0) }.joined(separator: "  ").trimmingTrailingSpace())
        line(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for row in rows {
            line(row.indices.map { pad(row[$0], $0) }.joined(separator: "  ").trimmingTrailingSpace())
        }
    }
}

/// A byte count for people: 1.5 MiB.
public func byteSize(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
}
