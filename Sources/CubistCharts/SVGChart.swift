import CubistFormats
import CubistStore
import Foundation

/// Draws a chart as one self-contained SVG element (no scripts, no external fonts): a panel
/// per measure stacked downwards, a legend when there are several series. Every data point
/// is one mark with a `<title>` for hover text and its value in `data-value`: bars and
/// heatmap cells are `<rect class="bar">` / `<rect class="cell">`, line points
/// `<circle class="point">`.
public enum SVGChart {
    /// Colours a colour-blind reader can tell apart (Okabe and Ito's eight, then four more).
    public static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                                 "#F0E442", "#555555", "#882255", "#44AA99", "#117733", "#AA4499"]

    static let width = 720.0
    static let plotHeight = 220.0

    /// The SVG text of `chart`.
    public static func render(_ chart: Chart) -> String {
        var body = ""
        var y = 0.0
        let series = chart.panels.first?.series ?? []
        // A heatmap's series are its rows, labelled where they are drawn.
        if series.count > 1, chart.kind != .heatmap {
            body += legend(series.map(\.name), title: chart.seriesTitle, y: &y)
        }
        for (p, panel) in chart.panels.enumerated() {
            let height: Double
            switch chart.kind {
            case .hbar: height = hbar(chart, panel, top: y, &body)
            case .heatmap: height = heatmap(chart, panel, top: y, &body)
            default: height = columns(chart, panel, top: y, &body)
            }
            y += height
            if p < chart.panels.count - 1 { y += 12 }
        }
        if chart.omittedSeries > 0 {
            body += text(8, y + 14, "\(chart.panels[0].series.count) of \(chart.panels[0].series.count + chart.omittedSeries) series drawn; the \(chart.omittedSeries) smallest are left out (the table has them all)",
                         attributes: "class=\"note\" font-size=\"11\" fill=\"#555\"")
            y += 20
        }
        let height = (y + 4).rounded(.up)
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\" font-size=\"11\">\n"
            + "<title>\(escape(chartTitle(chart)))</title>\n" + body + "</svg>\n"
    }

    /// What the chart shows, for its `<title>`: `revenue by time.month (line)`.
    static func chartTitle(_ chart: Chart) -> String {
        chart.panels.map(\.measure).joined(separator: ", ") + (chart.xTitle.isEmpty ? "" : " by \(chart.xTitle)")
            + (chart.seriesTitle.map { " and \($0)" } ?? "") + " (\(chart.kind.rawValue))"
    }

    // MARK: vertical marks: bar, stacked, line, area, pareto

    private static func columns(_ chart: Chart, _ panel: Chart.Panel, top: Double, _ out: inout String) -> Double {
        let pareto = chart.kind == .pareto
        let left = 64.0, right = pareto ? 48.0 : 16.0
        let plotTop = top + 24, plotW = width - left - right
        let count = chart.categories.count
        // The value range: stacked bars reach the sum of each category's values.
        var low = 0.0, high = 0.0
        for k in 0..<count {
            if chart.kind == .stacked {
                let values = panel.series.compactMap { $0.values[k] }
                low = min(low, values.filter { $0 < 0 }.reduce(0, +))
                high = max(high, values.filter { $0 > 0 }.reduce(0, +))
            } else {
                for s in panel.series { if let v = s.values[k] { low = min(low, v); high = max(high, v) } }
            }
        }
        let lineOnly = chart.kind == .line
        if lineOnly {
            // A line need not start at zero; it spans its values.
            let values = panel.series.flatMap { $0.values.compactMap { $0 } }
            low = values.min() ?? 0
            high = values.max() ?? 1
        }
        let ticks = lineOnly ? lineTicks(low, high) : Chart.ticks(low: low, high: high)
        let lo = ticks.first ?? 0, hi = ticks.last ?? 1
        let scale = { (v: Double) -> Double in plotTop + plotHeight - (v - lo) / max(hi - lo, .leastNonzeroMagnitude) * plotHeight }
        out += text(left - 56, top + 14, panel.measure, attributes: "font-size=\"13\" font-weight=\"600\"")
        for t in ticks {
            let y = scale(t)
            out += "<line x1=\"\(n(left))\" x2=\"\(n(left + plotW))\" y1=\"\(n(y))\" y2=\"\(n(y))\" stroke=\"\(t == 0 ? "#888" : "#e4e4e4")\"/>\n"
            out += text(left - 6, y + 4, Chart.tick(t, panel.format), attributes: "text-anchor=\"end\" fill=\"#555\"")
        }
        let band = plotW / Double(max(count, 1))
        let centre = { (k: Int) -> Double in left + band * (Double(k) + 0.5) }
        switch chart.kind {
        case .line, .area:
            for (s, series) in panel.series.enumerated() {
                let colour = palette[s % palette.count]
                var path = "", area = "", run: [(Double, Double)] = []
                func closeRun() {
                    guard let first = run.first, let last = run.last else { return }
                    path += run.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(n($0.element.0)),\(n($0.element.1))" }.joined()
                    area += "M\(n(first.0)),\(n(scale(max(lo, 0))))" + run.map { "L\(n($0.0)),\(n($0.1))" }.joined() + "L\(n(last.0)),\(n(scale(max(lo, 0))))Z"
                    run = []
                }
                for k in 0..<count {
                    if let v = series.values[k] { run.append((centre(k), scale(v))) } else { closeRun() }
                }
                closeRun()
                if chart.kind == .area {
                    out += "<path class=\"area\" d=\"\(area)\" fill=\"\(colour)\" fill-opacity=\"\(panel.series.count > 1 ? "0.25" : "0.35")\" stroke=\"none\"/>\n"
                }
                out += "<path class=\"line\" d=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
                let radius = count > 60 ? 1.5 : 3
                for k in 0..<count {
                    guard let v = series.values[k] else { continue }
                    out += "<circle class=\"point\" data-value=\"\(v)\" cx=\"\(n(centre(k)))\" cy=\"\(n(scale(v)))\" r=\"\(n(radius))\" fill=\"\(colour)\">"
                        + "<title>\(escape(markTitle(chart, k, series.name, v, panel.format)))</title></circle>\n"
                }
            }
        case .stacked:
            let barW = band * (count > 40 ? 0.95 : 0.75)
            for k in 0..<count {
                var up = 0.0, down = 0.0
                for (s, series) in panel.series.enumerated() {
                    guard let v = series.values[k] else { continue }
                    let from = v >= 0 ? up : down
                    let to = from + v
                    if v >= 0 { up = to } else { down = to }
                    out += rect("bar", v, x: centre(k) - barW / 2, y: min(scale(from), scale(to)), w: barW, h: abs(scale(to) - scale(from)),
                                colour: palette[s % palette.count], title: markTitle(chart, k, series.name, v, panel.format))
                }
            }
        default: // bar, pareto
            let groups = Double(panel.series.count)
            let inner = band * (count * panel.series.count > 60 ? 1 : 0.8)
            let barW = inner / groups
            let zero = scale(max(lo, min(0, hi)))
            for (s, series) in panel.series.enumerated() {
                for k in 0..<count {
                    guard let v = series.values[k] else { continue }
                    let x = centre(k) - inner / 2 + barW * Double(s)
                    out += rect("bar", v, x: x, y: min(zero, scale(v)), w: max(barW - (barW > 4 ? 1 : 0), 0.2), h: abs(scale(v) - zero),
                                colour: palette[(pareto ? 0 : s) % palette.count], title: markTitle(chart, k, series.name, v, panel.format))
                }
            }
            if pareto {
                let share = { (c: Double) -> Double in plotTop + plotHeight - c * plotHeight }
                for t in stride(from: 0.0, through: 1.0, by: 0.25) {
                    out += text(left + plotW + 6, share(t) + 4, "\(Int(t * 100))%", attributes: "fill=\"#D55E00\"")
                }
                out += "<line class=\"mark80\" x1=\"\(n(left))\" x2=\"\(n(left + plotW))\" y1=\"\(n(share(0.8)))\" y2=\"\(n(share(0.8)))\" stroke=\"#D55E00\" stroke-dasharray=\"4 3\" stroke-opacity=\"0.7\"/>\n"
                let path = panel.cumulative.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(n(centre($0.offset))),\(n(share($0.element)))" }.joined()
                out += "<path class=\"cumulative\" d=\"\(path)\" fill=\"none\" stroke=\"#D55E00\" stroke-width=\"2\"/>\n"
                if let k = chart.paretoEighty {
                    out += text(left + plotW - 4, share(0.8) - 5, TerminalChart.eightyText(chart, panel, k),
                                attributes: "class=\"note\" text-anchor=\"end\" fill=\"#D55E00\"")
                }
            }
        }
        xLabels(chart, left: left, band: band, y: plotTop + plotHeight, &out)
        return 24 + plotHeight + 34
    }

    /// Ticks for a line: rounded steps spanning just the values.
    private static func lineTicks(_ low: Double, _ high: Double) -> [Double] {
        if low == high { return Chart.ticks(low: min(0, low), high: max(0, high)) }
        let all = Chart.ticks(low: 0, high: high - low)
        let step = all.count > 1 ? all[1] - all[0] : 1
        let first = (low / step).rounded(.down) * step
        var t = first, ticks: [Double] = []
        while t < high + step { ticks.append(t); if t >= high { break }; t += step }
        return ticks
    }

    /// The category labels under the x axis, thinned so they never overlap.
    private static func xLabels(_ chart: Chart, left: Double, band: Double, y: Double, _ out: inout String) {
        let count = chart.categories.count
        guard count > 0, !(count == 1 && chart.categories[0].isEmpty) else { return }
        let longest = min(14, chart.categories.map(\.count).max() ?? 1)
        let room = Double(longest) * 6.2 + 10
        let every = max(1, Int((room / band).rounded(.up)))
        for k in stride(from: 0, to: count, by: every) {
            let full = chart.categories[k]
            let shown = shorten(full, to: 14)
            out += "<text class=\"x\" x=\"\(n(left + band * (Double(k) + 0.5)))\" y=\"\(n(y + 15))\" text-anchor=\"middle\" fill=\"#333\">"
                + escape(shown) + (shown == full ? "" : "<title>\(escape(full))</title>") + "</text>\n"
        }
        if !chart.xTitle.isEmpty {
            out += text(left, y + 30, chart.xTitle + (every > 1 ? " (every \(every == 2 ? "other" : "\(ordinal(every))") label shown)" : ""),
                        attributes: "fill=\"#777\"")
        }
    }

    // MARK: hbar

    private static func hbar(_ chart: Chart, _ panel: Chart.Panel, top: Double, _ out: inout String) -> Double {
        let left = 150.0, right = 90.0
        let plotTop = top + 40, plotW = width - left - right
        let count = chart.categories.count
        let groups = panel.series.count
        let row = max(16, 4 + 12 * Double(groups))
        var low = 0.0, high = 0.0
        for s in panel.series { for v in s.values { if let v { low = min(low, v); high = max(high, v) } } }
        let ticks = Chart.ticks(low: low, high: high)
        let lo = ticks.first ?? 0, hi = ticks.last ?? 1
        let scale = { (v: Double) -> Double in left + (v - lo) / max(hi - lo, .leastNonzeroMagnitude) * plotW }
        out += text(8, top + 14, panel.measure, attributes: "font-size=\"13\" font-weight=\"600\"")
        let plotH = row * Double(count)
        for t in ticks {
            let x = scale(t)
            out += "<line x1=\"\(n(x))\" x2=\"\(n(x))\" y1=\"\(n(plotTop))\" y2=\"\(n(plotTop + plotH))\" stroke=\"\(t == 0 ? "#888" : "#e4e4e4")\"/>\n"
            out += text(x, plotTop - 6, Chart.tick(t, panel.format), attributes: "text-anchor=\"middle\" fill=\"#555\"")
        }
        let zero = scale(max(lo, min(0, hi)))
        let barH = (row - 4) / Double(groups)
        for k in 0..<count {
            let y = plotTop + row * Double(k) + 2
            let full = chart.categories[k]
            let shown = shorten(full, to: 22)
            out += "<text class=\"y\" x=\"\(n(left - 6))\" y=\"\(n(y + (row - 4) / 2 + 4))\" text-anchor=\"end\" fill=\"#333\">"
                + escape(shown) + (shown == full ? "" : "<title>\(escape(full))</title>") + "</text>\n"
            for (s, series) in panel.series.enumerated() {
                guard let v = series.values[k] else { continue }
                let by = y + barH * Double(s)
                out += rect("bar", v, x: min(zero, scale(v)), y: by, w: abs(scale(v) - zero), h: max(barH - 1, 1),
                            colour: palette[s % palette.count], title: markTitle(chart, k, series.name, v, panel.format))
                out += text(max(zero, scale(v)) + 4, by + barH / 2 + 4, Chart.label(v, panel.format), attributes: "fill=\"#333\"")
            }
        }
        return 40 + plotH + 8
    }

    // MARK: heatmap

    private static func heatmap(_ chart: Chart, _ panel: Chart.Panel, top: Double, _ out: inout String) -> Double {
        let left = 150.0
        let plotTop = top + 40
        let count = chart.categories.count
        let rows = panel.series.count
        let cellW = min(90, (width - left - 8) / Double(max(count, 1)))
        let cellH = 22.0
        let values = panel.series.flatMap { $0.values.compactMap { $0 } }
        let lo = values.min() ?? 0, hi = values.max() ?? 1
        out += text(8, top + 14, panel.measure, attributes: "font-size=\"13\" font-weight=\"600\"")
        // The colour scale, light (low) to dark (high).
        for i in 0..<5 {
            out += "<rect x=\"\(n(width - 220 + Double(i) * 16))\" y=\"\(n(top + 4))\" width=\"16\" height=\"12\" fill=\"\(shade(Double(i) / 4))\"/>\n"
        }
        out += text(width - 224, top + 14, Chart.label(lo, panel.format), attributes: "text-anchor=\"end\" fill=\"#555\"")
        out += text(width - 136, top + 14, Chart.label(hi, panel.format), attributes: "fill=\"#555\"")
        let every = max(1, Int(((min(14, chart.categories.map(\.count).max() ?? 1) * 6 + 8) / Int(max(cellW, 1)))) + 1)
        for k in stride(from: 0, to: count, by: every) {
            let full = chart.categories[k]
            out += "<text class=\"x\" x=\"\(n(left + cellW * (Double(k) + 0.5)))\" y=\"\(n(plotTop - 6))\" text-anchor=\"middle\" fill=\"#333\">"
                + escape(shorten(full, to: 14)) + "<title>\(escape(full))</title></text>\n"
        }
        for (s, series) in panel.series.enumerated() {
            let y = plotTop + cellH * Double(s)
            let full = series.name
            out += "<text class=\"y\" x=\"\(n(left - 6))\" y=\"\(n(y + cellH / 2 + 4))\" text-anchor=\"end\" fill=\"#333\">"
                + escape(shorten(full, to: 22)) + "<title>\(escape(full))</title></text>\n"
            for k in 0..<count {
                guard let v = series.values[k] else { continue }
                let t = hi > lo ? (v - lo) / (hi - lo) : 0.5
                out += rect("cell", v, x: left + cellW * Double(k), y: y, w: cellW - 1, h: cellH - 1, colour: shade(t),
                            title: markTitle(chart, k, series.name, v, panel.format))
                if cellW >= 56 {
                    out += text(left + cellW * (Double(k) + 0.5), y + cellH / 2 + 4, Chart.tick(v, panel.format),
                                attributes: "text-anchor=\"middle\" fill=\"\(t > 0.55 ? "#fff" : "#222")\"")
                }
            }
        }
        return 40 + cellH * Double(rows) + 8
    }

    /// A sequential blue scale (light to dark) that reads in grey too.
    static func shade(_ t: Double) -> String {
        let t = min(max(t, 0), 1)
        let from = (239.0, 243.0, 255.0), to = (8.0, 48.0, 107.0)
        func mix(_ a: Double, _ b: Double) -> Int { Int((a + (b - a) * t).rounded()) }
        return "rgb(\(mix(from.0, to.0)),\(mix(from.1, to.1)),\(mix(from.2, to.2)))"
    }

    // MARK: pieces

    private static func legend(_ names: [String], title: String?, y: inout Double) -> String {
        var out = ""
        var x = 8.0
        var line = y + 14
        if let title {
            out += text(x, line, title + ":", attributes: "fill=\"#555\"")
            x += Double(title.count + 1) * 6.5 + 8
        }
        for (s, name) in names.enumerated() {
            let shown = shorten(name, to: 24)
            let w = 16 + Double(shown.count) * 6.5 + 14
            if x + w > width - 8 {
                x = 8
                line += 18
            }
            out += "<rect class=\"swatch\" x=\"\(n(x))\" y=\"\(n(line - 9))\" width=\"10\" height=\"10\" fill=\"\(palette[s % palette.count])\"/>\n"
            out += text(x + 14, line, shown, attributes: "fill=\"#333\"")
            x += w
        }
        y = line + 10
        return out
    }

    private static func rect(_ cls: String, _ value: Double, x: Double, y: Double, w: Double, h: Double, colour: String, title: String) -> String {
        "<rect class=\"\(cls)\" data-value=\"\(value)\" x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(w))\" height=\"\(n(h))\" fill=\"\(colour)\"><title>\(escape(title))</title></rect>\n"
    }

    private static func markTitle(_ chart: Chart, _ k: Int, _ series: String, _ v: Double, _ format: MeasureFormat?) -> String {
        [chart.categories[k], series].filter { !$0.isEmpty }.joined(separator: " · ") + ": " + Chart.label(v, format)
    }

    private static func text(_ x: Double, _ y: Double, _ content: String, attributes: String = "") -> String {
        "<text x=\"\(n(x))\" y=\"\(n(y))\"\(attributes.isEmpty ? "" : " " + attributes)>\(escape(content))</text>\n"
    }

    /// Long labels end in `…`; the full text is in the mark's title.
    public static func shorten(_ label: String, to limit: Int) -> String {
        label.count <= limit ? label : String(label.prefix(limit - 1)) + "…"
    }

    private static func ordinal(_ k: Int) -> String {
        switch k % 10 {
        case 1 where k % 100 != 11: return "\(k)st"
        case 2 where k % 100 != 12: return "\(k)nd"
        case 3 where k % 100 != 13: return "\(k)rd"
        default: return "\(k)th"
        }
    }

    /// A coordinate with at most two decimals.
    static func n(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// Text for XML content and attribute values.
    public static func escape(_ text: String) -> String { Renderer.escapeXML(text) }
}
