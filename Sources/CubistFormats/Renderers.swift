import CubistCore
import CubistEngine
import CubistStore

/// The output formats of results.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Aligned columns for people, numbers formatted.
    case table
    /// RFC 4180 CSV with a header row, raw full-precision numbers.
    case csv
    /// Like CSV, separated by tabs.
    case tsv
    /// One JSON array of objects, raw numbers, null as `null`.
    case json
    /// One JSON object per line.
    case jsonl
    /// A GitHub-flavoured Markdown table, numbers formatted.
    case markdown
    /// A self-contained HTML page holding the table, numbers formatted.
    case html
    /// An Excel workbook, one worksheet per result (`Workbook`); it needs a file
    /// (`--output`, `.output`, `.once`), and the session writes it when the file is done.
    case xlsx

    /// Whether results in this format are bytes for a file rather than text.
    public var isBinary: Bool { self == .xlsx }
}

/// How a result is rendered.
public struct RenderOptions: Sendable {
    /// The run time for the table footer (`4 rows (12.3 ms)`), when the timer is on.
    public var elapsed: String?
    /// In table mode, show at most this many rows (the first and the last half) with a
    /// note; 0 shows all.
    public var maxRows: Int
    /// In table mode, the terminal width to fit by truncating long text; 0 for no limit.
    public var width: Int
    /// Asked for the footer's time after the rows are rendered, so it includes rendering;
    /// takes precedence over `elapsed`.
    public var elapsedAtEnd: (@Sendable () -> String)?
    /// Checked as output is written (every 64 KiB); when it says so, rendering stops.
    public var isCancelled: (@Sendable () -> Bool)?

    /// Creates options.
    public init(elapsed: String? = nil, maxRows: Int = 0, width: Int = 0, elapsedAtEnd: (@Sendable () -> String)? = nil,
                isCancelled: (@Sendable () -> Bool)? = nil) {
        self.elapsed = elapsed
        self.maxRows = maxRows
        self.width = width
        self.elapsedAtEnd = elapsedAtEnd
        self.isCancelled = isCancelled
    }
}

/// Renders result tables. Output is written in pieces of about 64 KiB, so a large result
/// streams to its destination rather than being built as one string.
public enum Renderer {
    /// Writes the result in `format` through `write`; returns false when `isCancelled`
    /// stopped it part way.
    @discardableResult
    public static func render(_ result: ResultTable, as format: OutputFormat, options: RenderOptions = RenderOptions(),
                              to write: (String) -> Void) -> Bool {
        withoutActuallyEscaping(write) { write in
            var out = Chunked(write: write, isCancelled: options.isCancelled)
            switch format {
            case .table: table(result, options, &out)
            case .csv: delimited(result, separator: ",", &out)
            case .tsv: delimited(result, separator: "\t", &out)
            case .json: json(result, lines: false, &out)
            case .jsonl: json(result, lines: true, &out)
            case .markdown: markdown(result, &out)
            case .html: html(result, &out)
            // A workbook is written whole by `Workbook`; as text it reads as a table.
            case .xlsx: table(result, options, &out)
            }
            out.flush()
            return !out.stopped
        }
    }

    /// The whole result as one string (tests, small results).
    public static func render(_ result: ResultTable, as format: OutputFormat, options: RenderOptions = RenderOptions()) -> String {
        var text = ""
        render(result, as: format, options: options) { text += $0 }
        return text
    }

    /// Collects small writes into larger ones.
    struct Chunked {
        let write: (String) -> Void
        var isCancelled: (@Sendable () -> Bool)? = nil
        var buffer = ""
        /// Set once cancelled: nothing more is written.
        var stopped = false

        mutating func append(_ s: String) {
            guard !stopped else { return }
            buffer += s
            if buffer.utf8.count >= 65_536 { flush() }
        }

        mutating func flush() {
            if isCancelled?() == true { stopped = true }
            if !buffer.isEmpty, !stopped { write(buffer) }
            buffer = ""
        }
    }

    // MARK: cells for people

    /// A row's cells as people read them: formatted numbers, and `Total` (or the `Others`
    /// label) in the first rolled-up member cell of a summary row.
    static func humanCells(_ result: ResultTable, _ i: Int, _ digits: [Int]) -> [String] {
        var cells: [String] = []
        var labelled = false
        for (j, value) in result.rows[i].enumerated() {
            let column = result.columns[j]
            if column.kind == .member {
                if value.isNull, result.rowKinds[i] != .detail, !labelled {
                    cells.append("Total")
                    labelled = true
                } else {
                    cells.append(value.description)
                }
            } else {
                cells.append(display(value, column.format, digits: digits[j]))
            }
        }
        return cells
    }

    /// The decimals each column shows its unformatted floating-point values with, the same
    /// in every row so a column reads evenly: 4 when some value lies strictly between -1
    /// and 1 (a ratio, a rate), else 2.
    public static func fractionDigits(_ result: ResultTable) -> [Int] {
        result.columns.indices.map { j in
            let column = result.columns[j]
            guard column.kind != .member, column.format == nil || column.format == .number else { return 2 }
            for row in result.rows {
                if case .double(let d) = row[j], d != 0, abs(d) < 1 { return 4 }
            }
            return 2
        }
    }

    // MARK: table

    /// Aligned columns: members left, numbers right with thousands separators, `money` with
    /// two decimals, `percent` as `12.3%`, null empty; rolled-up cells of subtotal and total
    /// rows read `Total`. Long text is cut with `…` to fit `options.width`; beyond
    /// `options.maxRows` rows, the first and last rows show with a note. Ends with a
    /// row-count line.
    static func table(_ result: ResultTable, _ options: RenderOptions, _ out: inout Chunked) {
        let n = result.rows.count
        var shown = Array(0..<n)
        var head = n
        if options.maxRows > 0, n > options.maxRows {
            head = (options.maxRows + 1) / 2
            shown = Array(0..<head) + Array((n - (options.maxRows - head))..<n)
        }
        var t = TextTable(result.columns.map(\.name), alignments: result.columns.map { $0.kind == .member ? .left : .right })
        crosstabHeaders(result, &t)
        let digits = fractionDigits(result)
        for (k, i) in shown.enumerated() {
            if k == head { t.add(result.columns.map { _ in "…" }) }
            // A newline or tab inside a member would break the table's layout.
            t.add(humanCells(result, i, digits).map(\.escapingLayoutCharacters))
        }
        t.maximumWidth = options.width
        let hidden = t.render { out.append($0 + "\n") }.hidden
        var footer = n == 1 ? "1 row" : "\(grouped(n)) rows"
        if hidden > 0 {
            footer += ", \(grouped(hidden)) of \(grouped(result.columns.count)) columns hidden to fit the terminal (.mode csv or .output FILE shows all)"
        }
        if shown.count < n { footer += " (\(grouped(shown.count)) shown; .maxrows 0 shows all)" }
        if let elapsed = options.elapsedAtEnd?() ?? options.elapsed { footer += " (\(elapsed))" }
        out.append(footer + "\n")
    }

    /// A crosstab with several measures or ACROSS levels gets a header row per ACROSS level
    /// (each label shown once over the columns it spans), then the measure names; the ACROSS
    /// level names head the last member column.
    static func crosstabHeaders(_ result: ResultTable, _ t: inout TextTable) {
        let levels = result.acrossLevels.count
        let items = Set(result.columns.compactMap(\.item)).count
        guard levels > 0, levels > 1 || items > 1 else { return }
        let rowsAbove = items > 1 ? levels : levels - 1
        let lastMember = result.columns.lastIndex { $0.kind == .member }
        for k in 0..<rowsAbove {
            var row: [String] = []
            for (j, c) in result.columns.enumerated() {
                if c.kind == .member {
                    row.append(j == lastMember ? result.acrossLevels[k] : "")
                    continue
                }
                let prefix = Array(c.acrossMembers.prefix(k + 1))
                let previous = j > 0 ? Array(result.columns[j - 1].acrossMembers.prefix(k + 1)) : []
                row.append(prefix == previous || k >= c.acrossMembers.count ? "" : c.acrossMembers[k])
            }
            t.headerRows.append(row)
        }
        t.headers = result.columns.map { c in
            guard c.kind == .measure, !c.acrossMembers.isEmpty else { return c.name }
            return items > 1 ? (c.item ?? c.name) : (c.acrossMembers.last ?? c.name)
        }
    }

    /// A value as people read it, in a measure format; `digits` is the decimals of an
    /// unformatted floating-point value (by default 4 below 1 in magnitude, else 2).
    public static func display(_ value: Value, _ format: MeasureFormat?, digits: Int? = nil) -> String {
        switch value {
        case .null: return ""
        case .text(let s): return s
        case .exact(let m, let s):
            switch format {
            case .money: return fixed(m, scale: s, digits: 2)
            case .integer: return fixed(m, scale: s, digits: 0)
            case .percent: return percent(Double(m) / Value.powerOfTen(s))
            case .number, nil:
                let p = Value.powerOfTen128(s)
                let whole = m / p
                let fraction = (m < 0 ? -m : m) % p
                var text = (m < 0 && whole == 0 ? "-" : "") + grouped(whole)
                if s > 0 {
                    let digits = String(fraction)
                    text += "." + String(repeating: "0", count: s - digits.count) + digits
                }
                return text
            }
        case .double(let d):
            if !d.isFinite { return String(d) }
            switch format {
            case .percent: return percent(d)
            case .integer: return fixed(d, digits: 0)
            case .money: return fixed(d, digits: 2)
            case .number, nil: return fixed(d, digits: digits ?? (abs(d) < 1 && d != 0 ? 4 : 2))
            }
        }
    }

    private static func percent(_ fraction: Double) -> String {
        fixed(fraction * 100, digits: 1) + "%"
    }

    /// An exact decimal rounded half away from zero to `digits` places, grouped.
    private static func fixed(_ m: Int128, scale s: Int, digits: Int) -> String {
        var mantissa = m
        var scale = s
        if scale > digits {
            let p = Value.powerOfTen128(scale - digits)
            let half = p / 2
            mantissa = m >= 0 ? (m + half) / p : (m - half) / p
            scale = digits
        }
        while scale < digits {
            mantissa *= 10
            scale += 1
        }
        let p = Value.powerOfTen128(scale)
        let whole = mantissa / p
        var text = (mantissa < 0 && whole == 0 ? "-" : "") + grouped(whole)
        if scale > 0 {
            let fraction = String((mantissa < 0 ? -mantissa : mantissa) % p)
            text += "." + String(repeating: "0", count: scale - fraction.count) + fraction
        }
        return text
    }

    private static func fixed(_ d: Double, digits: Int) -> String {
        let p = Value.powerOfTen(digits)
        let scaled = (d * p).rounded(.toNearestOrAwayFromZero)
        guard abs(scaled) < 1e36 else { return String(d) }
        return fixed(Int128(scaled), scale: digits, digits: digits)
    }

    // MARK: CSV and TSV

    /// RFC 4180 (with LF line ends, as Unix tools expect): a header row, fields quoted when
    /// they hold the separator, a quote or a line break; numbers raw at full precision;
    /// null an empty field.
    static func delimited(_ result: ResultTable, separator: Character, _ out: inout Chunked) {
        func field(_ text: String) -> String {
            guard text.contains(where: { $0 == separator || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
            var quoted = "\""
            for c in text {
                if c == "\"" { quoted += "\"\"" } else { quoted.append(c) }
            }
            return quoted + "\""
        }
        let sep = String(separator)
        out.append(result.columns.map { field($0.name) }.joined(separator: sep) + "\n")
        for row in result.rows {
            out.append(row.map { field($0.description) }.joined(separator: sep) + "\n")
        }
    }

    // MARK: JSON

    /// Objects keyed by column name; numbers as JSON numbers at full precision (exact
    /// decimals as written, no float rounding), text as strings, null as `null`.
    static func json(_ result: ResultTable, lines: Bool, _ out: inout Chunked) {
        let keys = result.columns.map { jsonString($0.name) }
        if !lines { out.append("[") }
        for (i, row) in result.rows.enumerated() {
            var object = "{"
            for (j, value) in row.enumerated() {
                if j > 0 { object += "," }
                object += keys[j] + ":" + jsonValue(value)
            }
            object += "}"
            if lines {
                out.append(object + "\n")
            } else {
                out.append((i == 0 ? "\n  " : ",\n  ") + object)
            }
        }
        if !lines { out.append(result.rows.isEmpty ? "]\n" : "\n]\n") }
    }

    static func jsonValue(_ value: Value) -> String {
        switch value {
        case .null: return "null"
        case .text(let t): return jsonString(t)
        case .exact: return value.description
        case .double(let d): return d.isFinite ? value.description : "null"
        }
    }

    static func jsonString(_ text: String) -> String {
        var s = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": s += "\\\""
            case "\\": s += "\\\\"
            case "\n": s += "\\n"
            case "\r": s += "\\r"
            case "\t": s += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    s += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    s.unicodeScalars.append(scalar)
                }
            }
        }
        return s + "\""
    }

    // MARK: Markdown and HTML

    /// A GitHub-flavoured Markdown table with numbers right-aligned and formatted.
    static func markdown(_ result: ResultTable, _ out: inout Chunked) {
        let cell = markdownCell
        out.append("| " + result.columns.map { cell($0.name) }.joined(separator: " | ") + " |\n")
        out.append("|" + result.columns.map { $0.kind == .member ? " --- |" : " ---: |" }.joined() + "\n")
        let digits = fractionDigits(result)
        for i in result.rows.indices {
            out.append("| " + humanCells(result, i, digits).map(cell).joined(separator: " | ") + " |\n")
        }
    }

    /// A self-contained HTML page: the table with numbers formatted and right-aligned,
    /// summary rows in bold, everything escaped.
    static func html(_ result: ResultTable, _ out: inout Chunked) {
        out.append(htmlHead(title: "Cubist result"))
        htmlTable(result, &out)
        out.append(htmlTail)
    }

    /// The start of an HTML page, up to the opened body; `style` is its CSS (result tables by default).
    public static func htmlHead(title: String, style: String = tableStyle) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escapeHTML(title))</title>
        <style>
        \(style)
        </style>
        </head>
        <body>

        """
    }

    /// The end of an HTML results page.
    public static let htmlTail = "</body>\n</html>\n"

    /// The CSS of result tables (HTML output and reports).
    public static let tableStyle = """
        body { font-family: system-ui, sans-serif; margin: 2em; }
        table { border-collapse: collapse; }
        th, td { padding: 0.25em 0.75em; border-bottom: 1px solid #ddd; }
        th { text-align: left; background: #f4f4f4; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        tr.summary td { font-weight: bold; }
        p.rows { color: #666; font-size: 0.9em; }
        svg.chart { max-width: 100%; height: auto; display: block; }
        """

    /// A result as an HTML table and its row count, for a page written elsewhere; returns
    /// false when `isCancelled` stopped it part way.
    @discardableResult
    public static func renderHTMLTable(_ result: ResultTable, options: RenderOptions = RenderOptions(), to write: (String) -> Void) -> Bool {
        withoutActuallyEscaping(write) { write in
            var out = Chunked(write: write, isCancelled: options.isCancelled)
            htmlTable(result, &out)
            out.flush()
            return !out.stopped
        }
    }

    /// The table (crosstab header rows included) and a row count line.
    static func htmlTable(_ result: ResultTable, _ out: inout Chunked) {
        var t = TextTable(result.columns.map(\.name), alignments: result.columns.map { $0.kind == .member ? .left : .right })
        crosstabHeaders(result, &t)
        out.append("<table>\n<thead>\n")
        for row in t.headerRows + [t.headers] {
            out.append("<tr>")
            for (j, c) in result.columns.enumerated() {
                out.append("<th\(c.kind == .member ? "" : " class=\"n\"")>\(escapeHTML(row[j]))</th>")
            }
            out.append("</tr>\n")
        }
        out.append("</thead>\n<tbody>\n")
        let digits = fractionDigits(result)
        for i in result.rows.indices {
            out.append(result.rowKinds[i] == .detail ? "<tr>" : "<tr class=\"summary\">")
            for (j, text) in humanCells(result, i, digits).enumerated() {
                out.append("<td\(result.columns[j].kind == .member ? "" : " class=\"n\"")>\(escapeHTML(text))</td>")
            }
            out.append("</tr>\n")
        }
        out.append("</tbody>\n</table>\n<p class=\"rows\">\(result.rows.count == 1 ? "1 row" : "\(grouped(result.rows.count)) rows")</p>\n")
    }

    /// Text for a Markdown table cell or heading: pipes escaped, line breaks as spaces.
    public static func markdownCell(_ text: String) -> String {
        text.replacingAll("|", with: "\\|").replacingAll("\n", with: " ")
    }

    /// Text for XML content and attribute values (SVG, worksheets): `& < > "` escaped, and
    /// the control characters XML 1.0 forbids (all but tab and line breaks) as spaces.
    public static func escapeXML(_ text: String) -> String {
        var s = ""
        for c in text.unicodeScalars {
            switch c {
            case "&": s += "&amp;"
            case "<": s += "&lt;"
            case ">": s += "&gt;"
            case "\"": s += "&quot;"
            default:
                if c.value < 0x20, c != "\n", c != "\t", c != "\r" { s += " " } else { s.unicodeScalars.append(c) }
            }
        }
        return s
    }

    /// Text for HTML content and attribute values.
    public static func escapeHTML(_ text: String) -> String {
        text.replacingScalars(["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"])
    }
}

extension String {
    /// The text with newlines, carriage returns and tabs written as `\\n`, `\\r`, `\\t`,
    /// for table mode, where they would break the columns.
    var escapingLayoutCharacters: String {
        replacingScalars(["\n": "\\n", "\r": "\\r", "\t": "\\t"])
    }

    /// The text with each scalar found in `table` replaced by its text there.
    func replacingScalars(_ table: [Unicode.Scalar: String]) -> String {
        guard unicodeScalars.contains(where: { table[$0] != nil }) else { return self }
        var out = ""
        for scalar in unicodeScalars {
            if let replacement = table[scalar] { out += replacement } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}
