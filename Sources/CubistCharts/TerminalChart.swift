import CubistCore
import CubistStore

/// Draws a chart as text for a terminal: bars with eighth-blocks (`bar`, `hbar`, `stacked`,
/// `pareto` all as horizontal rows, which keep labels readable), lines and areas as braille
/// dots, heatmaps as shades. Fitted to `width` columns; with `colour`, series and heatmap
/// cells get ANSI 256 colours, else series differ by shade (bars) or get a grid each (lines).
public enum TerminalChart {
    /// The text of `chart`, every line ending in a newline.
    public static func render(_ chart: Chart, width: Int = 80, colour: Bool = false) -> String {
        let width = max(width, 40)
        var out = ""
        // Panels follow each other under their titles, without blank lines (a blank line ends
        // a record in batch output that tools split).
        for panel in chart.panels {
            out += DisplayWidth.truncated(title(chart, panel), to: width) + "\n"
            switch chart.kind {
            case .bar, .hbar: bars(chart, panel, width: width, colour: colour, &out)
            case .stacked: stacked(chart, panel, width: width, colour: colour, &out)
            case .pareto: pareto(chart, panel, width: width, &out)
            case .line, .area: lines(chart, panel, width: width, colour: colour, &out)
            case .heatmap: heatmap(chart, panel, width: width, colour: colour, &out)
            }
        }
        if chart.omittedSeries > 0 {
            out += "(\(chart.panels[0].series.count) of \(chart.panels[0].series.count + chart.omittedSeries) series drawn; the \(chart.omittedSeries) smallest are left out)\n"
        }
        return out
    }

    static func title(_ chart: Chart, _ panel: Chart.Panel) -> String {
        panel.measure + (chart.xTitle.isEmpty ? "" : " by \(chart.xTitle)") + (chart.seriesTitle.map { " and \($0)" } ?? "")
    }

    /// ANSI 256-colour codes near `SVGChart.palette`.
    static let colours = [25, 214, 35, 175, 74, 166, 227, 244, 89, 73, 28, 133]
    /// Shades that tell series apart without colour.
    static let fills: [Character] = ["█", "▓", "▒", "░", "▞", "▚", "▄", "▀", "▌", "▐", "▖", "▘"]

    static func paint(_ text: String, _ series: Int, _ colour: Bool) -> String {
        colour ? "\u{1B}[38;5;\(colours[series % colours.count])m\(text)\u{1B}[0m" : text
    }

    /// A bar of `fraction` (0...1) of `cells` columns in eighth-blocks.
    static func bar(_ fraction: Double, cells: Int, fill: Character = "█") -> String {
        let eighths = Int((max(0, min(1, fraction)) * Double(cells * 8)).rounded())
        var s = String(repeating: fill, count: eighths / 8)
        if fill == "█", eighths % 8 > 0 { s.append(["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]) }
        if s.isEmpty, fraction > 0 { s = "▏" }
        return s
    }

    static func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
        let cut = DisplayWidth.truncated(s, to: w)
        let space = String(repeating: " ", count: max(0, w - DisplayWidth.of(cut)))
        return right ? space + cut : cut + space
    }

    // MARK: bars

    private static func bars(_ chart: Chart, _ panel: Chart.Panel, width: Int, colour: Bool, _ out: inout String) {
        let many = panel.series.count > 1
        let labelW = min(24, chart.categories.map { DisplayWidth.of($0) }.max() ?? 0)
        let seriesW = many ? min(16, panel.series.map { DisplayWidth.of($0.name) }.max() ?? 0) : 0
        let texts = panel.series.map { $0.values.map { $0.map { Chart.label($0, panel.format) } ?? "" } }
        let valueW = texts.flatMap { $0 }.map(\.count).max() ?? 0
        let cells = max(8, width - labelW - (many ? seriesW + 2 : 0) - valueW - 4)
        let top = panel.series.flatMap { $0.values.compactMap { $0.map(abs) } }.max() ?? 0
        for k in chart.categories.indices {
            for (s, series) in panel.series.enumerated() {
                let label = s == 0 ? pad(chart.categories[k], labelW) : String(repeating: " ", count: labelW)
                var line = label + " "
                if many { line += pad(series.name, seriesW) + " " }
                if let v = series.values[k] {
                    let b = bar(top > 0 ? abs(v) / top : 0, cells: cells, fill: v < 0 ? "░" : (colour || !many ? "█" : fills[s % fills.count]))
                    line += paint(b, s, colour && many) + " " + texts[s][k]
                }
                out += line.trimmingTrailingSpaces() + "\n"
            }
        }
        if panel.series.contains(where: { $0.values.contains { ($0 ?? 0) < 0 } }) { out += "(░ bars are negative values)\n" }
    }

    private static func stacked(_ chart: Chart, _ panel: Chart.Panel, width: Int, colour: Bool, _ out: inout String) {
        out += legend(panel.series.map(\.name), colour: colour)
        let labelW = min(24, chart.categories.map { DisplayWidth.of($0) }.max() ?? 0)
        let totals = chart.categories.indices.map { k in panel.series.reduce(0.0) { $0 + max(0, $1.values[k] ?? 0) } }
        let texts = totals.map { Chart.label($0, panel.format) }
        let cells = max(8, width - labelW - (texts.map(\.count).max() ?? 0) - 3)
        let top = totals.max() ?? 0
        for k in chart.categories.indices {
            var line = pad(chart.categories[k], labelW) + " "
            var used = 0
            var running = 0.0
            for (s, series) in panel.series.enumerated() {
                running += max(0, series.values[k] ?? 0)
                // Segments end where the running total ends, so rounding never adds up wrong.
                let end = top > 0 ? Int((running / top * Double(cells)).rounded()) : 0
                if end > used {
                    line += paint(String(repeating: colour ? "█" : fills[s % fills.count], count: end - used), s, colour)
                    used = end
                }
            }
            out += line + " " + texts[k] + "\n"
        }
    }

    static func legend(_ names: [String], colour: Bool) -> String {
        guard names.count > 1 else { return "" }
        return names.enumerated().map { paint(String(colour ? "█" : fills[$0.offset % fills.count]), $0.offset, colour) + " " + $0.element }
            .joined(separator: "  ") + "\n"
    }

    // MARK: pareto

    private static func pareto(_ chart: Chart, _ panel: Chart.Panel, width: Int, _ out: inout String) {
        let values = panel.series[0].values.map { $0 ?? 0 }
        let count = values.count
        guard count > 0 else { return }
        // Past 20 categories, rows group neighbouring ranks (or percentile bands), each the sum of its members.
        let band = count > 20 ? (count + 19) / 20 : 1
        var rows: [(label: String, value: Double, cumulative: Double)] = []
        var k = 0
        while k < count {
            let end = min(count, k + band)
            let label: String
            if band == 1 {
                label = chart.categories[k]
            } else if chart.banded {
                label = "top \(chart.categories[k].dropLast())-\(chart.categories[end - 1])"
            } else {
                label = "ranks \(k + 1)-\(end)"
            }
            rows.append((label, values[k..<end].reduce(0, +), panel.cumulative[end - 1]))
            k = end
        }
        let labelW = min(24, rows.map { DisplayWidth.of($0.label) }.max() ?? 0)
        let texts = rows.map { Chart.label($0.value, panel.format) }
        let valueW = texts.map(\.count).max() ?? 0
        let cells = max(8, width - labelW - valueW - 12)
        let top = rows.map(\.value).max() ?? 0
        if let k80 = chart.paretoEighty { out += eightyText(chart, panel, k80) + "\n" }
        for (i, row) in rows.enumerated() {
            let b = pad(bar(top > 0 ? row.value / top : 0, cells: cells), cells)
            let share = Chart.label(row.cumulative, .percent)
            out += (pad(row.label, labelW) + " " + b + " " + pad(texts[i], valueW, right: true) + " " + pad(share, 6, right: true)).trimmingTrailingSpaces() + "\n"
        }
        out += pad("", labelW + cells + valueW + 3) + "cumulative\n"
    }

    /// `80% of revenue comes from the top 449 of 2,212 (20.3%)`.
    static func eightyText(_ chart: Chart, _ panel: Chart.Panel, _ k: Int) -> String {
        let n = chart.paretoMembers
        return "80% of \(panel.measure) comes from the top \(grouped(k)) of \(grouped(n)) (\(Chart.label(Double(k) / Double(n), .percent)))"
    }

    // MARK: lines

    private static func lines(_ chart: Chart, _ panel: Chart.Panel, width: Int, colour: Bool, _ out: inout String) {
        let groups: [[Int]] = colour || panel.series.count == 1 ? [Array(panel.series.indices)] : panel.series.indices.map { [$0] }
        if colour { out += legend(panel.series.map(\.name), colour: true) }
        for group in groups {
            if !colour, panel.series.count > 1 { out += panel.series[group[0]].name + "\n" }
            plot(chart, panel, series: group, width: width, colour: colour, &out)
        }
    }

    /// One braille grid: each character holds 2 x 4 dots.
    private static func plot(_ chart: Chart, _ panel: Chart.Panel, series: [Int], width: Int, colour: Bool, _ out: inout String) {
        // Every grid of a panel has the same scale, so series drawn apart still compare.
        let values = panel.series.flatMap { $0.values.compactMap { $0 } }
        guard var low = values.min(), var high = values.max() else {
            out += "(no values)\n"
            return
        }
        if chart.kind == .area { low = min(low, 0); high = max(high, 0) }
        if low == high { low -= 1; high += 1 }
        let lowText = Chart.tick(low, panel.format), highText = Chart.tick(high, panel.format)
        let axisW = max(lowText.count, highText.count)
        let rows = 10, cols = max(10, width - axisW - 2)
        let dotsX = cols * 2, dotsY = rows * 4
        var cells = [[UInt32]](repeating: [UInt32](repeating: 0, count: cols), count: rows)
        var owner = [[Int]](repeating: [Int](repeating: -1, count: cols), count: rows)
        let count = chart.categories.count
        func x(_ k: Int) -> Int { count <= 1 ? dotsX / 2 : Int((Double(k) / Double(count - 1) * Double(dotsX - 1)).rounded()) }
        func y(_ v: Double) -> Int { Int(((high - v) / (high - low) * Double(dotsY - 1)).rounded()) }
        func dot(_ px: Int, _ py: Int, _ s: Int) {
            guard px >= 0, px < dotsX, py >= 0, py < dotsY else { return }
            let bits: [[UInt32]] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]
            cells[py / 4][px / 2] |= bits[py % 4][px % 2]
            owner[py / 4][px / 2] = s
        }
        for s in series {
            let v = panel.series[s].values
            var last: (Int, Int)?
            for k in 0..<count {
                guard let value = v[k] else { last = nil; continue }
                let p = (x(k), y(value))
                if let l = last {
                    // A straight run of dots between neighbouring points.
                    let steps = max(abs(p.0 - l.0), abs(p.1 - l.1), 1)
                    for t in 0...steps {
                        dot(l.0 + (p.0 - l.0) * t / steps, l.1 + (p.1 - l.1) * t / steps, s)
                    }
                } else {
                    dot(p.0, p.1, s)
                }
                if chart.kind == .area, let next = k + 1 < count ? v[k + 1] : nil {
                    let q = (x(k + 1), y(next))
                    for px in p.0...max(p.0, q.0) {
                        let t = q.0 == p.0 ? 0 : Double(px - p.0) / Double(q.0 - p.0)
                        let top = Int(Double(p.1) + Double(q.1 - p.1) * t)
                        let base = y(0)
                        for py in min(top, base)...max(top, base) { dot(px, py, s) }
                    }
                }
                last = p
            }
        }
        for r in 0..<rows {
            let label = r == 0 ? highText : r == rows - 1 ? lowText : ""
            var line = pad(label, axisW, right: true) + " ┤"
            for c in 0..<cols {
                let ch = cells[r][c] == 0 ? " " : String(Character(Unicode.Scalar(0x2800 + cells[r][c]) ?? " "))
                line += owner[r][c] >= 0 ? paint(ch, owner[r][c], colour && panel.series.count > 1) : ch
            }
            out += line.trimmingTrailingSpaces() + "\n"
        }
        // The first, middle and last categories under the axis.
        var axis = [Character](repeating: " ", count: axisW + 2 + cols)
        var marks: [Int] = [0]
        if count > 2 { marks.append(count / 2) }
        if count > 1 { marks.append(count - 1) }
        for k in marks {
            let text = Array(DisplayWidth.truncated(chart.categories[k], to: 16))
            let centre = axisW + 2 + x(k) / 2
            var start = k == 0 ? axisW + 2 : k == count - 1 ? axis.count - text.count : centre - text.count / 2
            start = max(0, min(start, axis.count - text.count))
            guard axis[max(0, start - 1)..<min(axis.count, start + text.count + 1)].allSatisfy({ $0 == " " }) else { continue }
            for (i, c) in text.enumerated() where start + i < axis.count { axis[start + i] = c }
        }
        out += String(axis).trimmingTrailingSpaces() + "\n"
    }

    // MARK: heatmap

    private static func heatmap(_ chart: Chart, _ panel: Chart.Panel, width: Int, colour: Bool, _ out: inout String) {
        let values = panel.series.flatMap { $0.values.compactMap { $0 } }
        let lo = values.min() ?? 0, hi = values.max() ?? 0
        let labelW = min(20, panel.series.map { DisplayWidth.of($0.name) }.max() ?? 0)
        let count = chart.categories.count
        let cellW = max(1, min(8, (width - labelW - 1) / max(count, 1)))
        let shades: [Character] = ["·", "░", "▒", "▓", "█"]
        let showValues = colour && cellW >= 6
        out += "\(shades.map(String.init).joined()) low to high: \(Chart.label(lo, panel.format)) to \(Chart.label(hi, panel.format))\n"
        if cellW >= 4 {
            out += (pad("", labelW) + " " + chart.categories.map { pad(DisplayWidth.truncated($0, to: cellW - 1), cellW) }.joined()).trimmingTrailingSpaces() + "\n"
        } else {
            out += pad("", labelW) + " \(chart.xTitle): \(chart.categories.first ?? "") … \(chart.categories.last ?? "")\n"
        }
        for series in panel.series {
            var line = pad(series.name, labelW) + " "
            for k in 0..<count {
                guard let v = series.values[k] else {
                    line += String(repeating: " ", count: cellW)
                    continue
                }
                let t = hi > lo ? (v - lo) / (hi - lo) : 0.5
                if colour {
                    // A blue ramp of the 256-colour cube, light to dark.
                    let ramp = [195, 153, 117, 75, 33, 26, 19, 17]
                    let code = ramp[min(ramp.count - 1, Int(t * Double(ramp.count - 1) + 0.5))]
                    let text = showValues ? pad(Chart.tick(v, panel.format), cellW - 1, right: true) + " " : String(repeating: " ", count: cellW)
                    line += "\u{1B}[48;5;\(code)m\u{1B}[38;5;\(t > 0.5 ? 231 : 16)m\(text)\u{1B}[0m"
                } else {
                    let shade = shades[min(shades.count - 1, Int(t * Double(shades.count - 1) + 0.5))]
                    line += String(repeating: shade, count: max(1, cellW - (cellW >= 3 ? 1 : 0))) + (cellW >= 3 ? " " : "")
                }
            }
            out += line.trimmingTrailingSpaces() + "\n"
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
