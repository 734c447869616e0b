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
    /// columns shrink and their text is cut with `…`, but never below the prefix that tells
    /// their values apart (`Offl…` and `Onli…`, not `O…`); numbers are never cut. If it is
    /// still too wide, columns in the middle are hidden behind one `…` column, as DuckDB's
    /// shell does; `layout().hidden` says how many.
    public var maximumWidth = 0

    /// Which columns show, and how wide each is.
    public struct Layout {
        /// Width of every column (hidden ones included).
        public var widths: [Int]
        /// The columns shown, left to right; a gap between two neighbours stands for the
        /// hidden columns, drawn as one `…` column.
        public var shown: [Int]
        /// How many columns are hidden.
        public var hidden: Int { widths.count - shown.count }
    }

    /// The columns' widths and which of them fit in `maximumWidth`.
    public func layout() -> Layout {
        var widths = headers.map(DisplayWidth.of)
        for row in rows + headerRows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], DisplayWidth.of(cell)) }
        }
        var shown = Array(widths.indices)
        guard maximumWidth > 0 else { return Layout(widths: widths, shown: shown) }
        func total(_ columns: [Int]) -> Int {
            let gaps = 2 * max(0, columns.count - 1)
            let hiddenColumn = columns.count < widths.count ? 5 : 0
            return columns.reduce(gaps + hiddenColumn) { $0 + widths[$1] }
        }
        // Only text shrinks, and never below what tells its values apart; a number is never cut.
        let natural = widths
        let text = widths.indices.filter { alignments[$0] == .left }
        var floors = [Int](repeating: 0, count: widths.count)
        for i in text { floors[i] = min(widths[i], max(6, distinguishingWidth(i))) }
        func shrink(_ columns: [Int]) {
            let candidates = text.filter { columns.contains($0) }
            while total(columns) > maximumWidth, let widest = candidates.filter({ widths[$0] > floors[$0] }).max(by: { widths[$0] < widths[$1] }) {
                widths[widest] -= 1
            }
        }
        shrink(shown)
        guard total(shown) > maximumWidth else { return Layout(widths: widths, shown: shown) }
        // Still too wide: hide columns instead, and keep the text whole. The leading text
        // columns (the row labels) stay, then as many columns from the right and the left
        // as fit around one `…` column; the labels shrink only if even that does not fit.
        widths = natural
        let leading = Array(widths.indices.prefix { alignments[$0] == .left })
        if let first = widths.indices.first(where: { !leading.contains($0) }), total(leading + [first]) > maximumWidth { shrink(leading + [first]) }
        var left = leading
        var right: [Int] = []
        var lo = leading.count, hi = widths.count - 1
        var takeRight = true
        while lo <= hi {
            let next = takeRight ? hi : lo
            guard total(left + [next] + right) <= maximumWidth else { break }
            if takeRight { right.insert(next, at: 0); hi -= 1 } else { left.append(next); lo += 1 }
            takeRight.toggle()
        }
        shown = left + right
        return Layout(widths: widths, shown: shown)
    }

    /// The width that keeps a text column's values apart when cut: the longest shortest
    /// unique prefix, plus the `…`.
    private func distinguishingWidth(_ column: Int) -> Int {
        var values = Set<String>()
        for row in rows where column < row.count { values.insert(row[column]) }
        let sorted = values.sorted()
        var widest = 0
        for (k, value) in sorted.enumerated() {
            var common = 0
            if k > 0 { common = max(common, commonPrefix(sorted[k - 1], value)) }
            if k + 1 < sorted.count { common = max(common, commonPrefix(sorted[k + 1], value)) }
            let scalars = Array(value.unicodeScalars)
            let prefix = scalars.prefix(min(scalars.count, common + 1))
            var text = String.UnicodeScalarView()
            text.append(contentsOf: prefix)
            let width = DisplayWidth.of(String(text)) + (prefix.count < scalars.count ? 1 : 0)
            widest = max(widest, width)
        }
        return widest
    }

    private func commonPrefix(_ a: String, _ b: String) -> Int {
        var n = 0
        for (x, y) in zip(a.unicodeScalars, b.unicodeScalars) {
            guard x == y else { break }
            n += 1
        }
        return n
    }

    /// The table as lines: header, rule, rows.
    public func rendered() -> String {
        var lines: [String] = []
        render { lines.append($0) }
        return lines.joined(separator: "\n")
    }

    /// Hands the table to `line` one line at a time; returns the layout it used.
    @discardableResult
    public func render(_ line: (String) -> Void) -> Layout {
        let layout = self.layout()
        let widths = layout.widths
        func pad(_ text: String, _ i: Int) -> String {
            let shown = DisplayWidth.truncated(text, to: widths[i])
            let gap = String(repeating: " ", count: max(0, widths[i] - DisplayWidth.of(shown)))
            return alignments[i] == .right ? gap + shown : shown + gap
        }
        // The shown columns, with one "…" column where columns are hidden.
        func join(_ cell: (Int) -> String, hiddenMark: String) -> String {
            var parts: [String] = []
            for (k, i) in layout.shown.enumerated() {
                if k > 0, i != layout.shown[k - 1] + 1 { parts.append(hiddenMark) }
                parts.append(cell(i))
            }
            if layout.hidden > 0, (layout.shown.last ?? -1) < widths.count - 1 { parts.append(hiddenMark) }
            return parts.joined(separator: "  ")
        }
        for row in headerRows {
            line(join({ pad(row[$0], $0) }, hiddenMark: "   ").trimmingTrailingSpace())
        }
        line(join({ pad(headers[$0], $0) }, hiddenMark: " … ").trimmingTrailingSpace())
        line(join({ String(repeating: "-", count: widths[$0]) }, hiddenMark: "---"))
        for row in rows {
            line(join({ i in row.count > i ? pad(row[i], i) : "" }, hiddenMark: " … ").trimmingTrailingSpace())
        }
        return layout
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
