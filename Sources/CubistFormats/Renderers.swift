import CubistCore
import CubistEngine
import CubistStore

/// The output formats of results.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Aligned columns for people, numbers formatted.
    case table
    /// RFC 4180 CSV with a header row, raw full-precision numbers.
    case csv
}

/// Renders a result table as text in one format.
public enum Renderer {
    /// The whole result as text, ending with a newline.
    /// `elapsed`, when given, goes into the table footer: `4 rows (12.3 ms)`.
    public static func render(_ result: ResultTable, as format: OutputFormat, elapsed: String? = nil) -> String {
        switch format {
        case .table: return table(result, elapsed: elapsed)
        case .csv: return csv(result)
        }
    }

    // MARK: table

    /// Aligned columns: members left, numbers right with thousands separators, `money` with
    /// two decimals, `percent` as `12.3%`, null empty; rolled-up cells of subtotal and total
    /// rows read `Total`. Ends with a row-count line.
    public static func table(_ result: ResultTable, elapsed: String? = nil) -> String {
        var t = TextTable(result.columns.map(\.name), alignments: result.columns.map { $0.kind == .member ? .left : .right })
        for (i, row) in result.rows.enumerated() {
            var cells: [String] = []
            var labelled = false
            for (j, value) in row.enumerated() {
                let column = result.columns[j]
                if column.kind == .member {
                    if value.isNull, result.rowKinds[i] != .detail, !labelled {
                        cells.append("Total")
                        labelled = true
                    } else {
                        cells.append(value.description)
                    }
                } else {
                    cells.append(display(value, column.format))
                }
            }
            t.add(cells)
        }
        let n = result.rows.count
        return t.rendered() + "\n" + (n == 1 ? "1 row" : "\(n) rows") + (elapsed.map { " (\($0))" } ?? "") + "\n"
    }

    /// A value as people read it, in a measure format.
    public static func display(_ value: Value, _ format: MeasureFormat?) -> String {
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
            case .number, nil: return fixed(d, digits: abs(d) < 1 && d != 0 ? 4 : 2)
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

    // MARK: CSV

    /// RFC 4180 (with LF line ends, as Unix tools expect): a header row, fields quoted when they hold a comma, quote or line break;
    /// numbers raw at full precision; null an empty field.
    public static func csv(_ result: ResultTable) -> String {
        var out = result.columns.map { csvField($0.name) }.joined(separator: ",") + "\n"
        for row in result.rows {
            out += row.map { csvField($0.description) }.joined(separator: ",") + "\n"
        }
        return out
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        var quoted = "\""
        for c in text {
            if c == "\"" { quoted += "\"\"" } else { quoted.append(c) }
        }
        return quoted + "\""
    }
}
