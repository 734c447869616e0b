import CubistEngine
import CubistFormats
import CubistStore
import CubistSyntax
import Foundation

/// A chart drawn from a result table: the categories of the x axis, the series and one
/// panel per measure. It is the part the terminal and SVG renderers share, so both draw the
/// same data (marks and scales are each renderer's own).
///
/// The first BY level gives the x axis, in the result's row order (a BY result comes in
/// member order, so time runs in time order; ORDER BY changes it). A second BY level, or
/// the ACROSS members of a crosstab, give the series. Subtotal and total rows are left out;
/// the `Others` row of `TOP ... WITH OTHERS` is a category.
public struct Chart: Sendable {
    /// One line, set of bars or heatmap row: a value per category (nil: no value there).
    public struct Series: Sendable, Equatable {
        /// The member (or ACROSS member combination) it stands for; empty for the only series.
        public var name: String
        /// One value per category.
        public var values: [Double?]
    }

    /// The chart of one measure.
    public struct Panel: Sendable {
        /// The measure's column header (or the SELECT item of a crosstab).
        public var measure: String
        /// How its values are shown, on axes and labels.
        public var format: MeasureFormat?
        /// The series, at most `Chart.maximumSeries`.
        public var series: [Series]
        /// For a pareto chart: the cumulative share (0...1) after each category.
        public var cumulative: [Double] = []
    }

    /// Colours and series beyond this are not drawn (the largest series are kept).
    public static let maximumSeries = 12

    /// What is drawn.
    public var kind: ChartKind
    /// The x axis's level name (empty when the result has no BY level).
    public var xTitle: String
    /// What the series are (the second BY level or the ACROSS levels), nil for one series.
    public var seriesTitle: String?
    /// The x categories, in order.
    public var categories: [String]
    /// One panel per measure.
    public var panels: [Panel]
    /// Series left out beyond `maximumSeries` (the smallest by total size).
    public var omittedSeries: Int
    /// A pareto chart's number of members, and how many of the largest make 80% (nil when
    /// the total is zero).
    public var paretoMembers = 0
    public var paretoEighty: Int?
    /// True when a pareto chart's categories are percentile bands of its members.
    public var banded = false
    /// A pareto chart of more members than this draws percentile bands.
    public static let maximumParetoBars = 100

    /// Why a result cannot be drawn as the chart asked for, and what to do instead.
    public struct Problem: Error, Sendable {
        /// What is wrong, lower-case.
        public var message: String
        /// A suggestion.
        public var help: String
    }

    /// The chart of `kind` over `result`; throws when the result's shape does not suit it.
    public init(_ kind: ChartKind, of result: ResultTable) throws(Problem) {
        self.kind = kind
        let rows = result.rows.indices.filter { result.rowKinds[$0] == .detail || result.rowKinds[$0] == .others }
        let members = result.columns.indices.filter { result.columns[$0].kind == .member }
        // A crosstab's row-total column (WITH TOTALS) repeats what the other columns add up to.
        let measures = result.columns.indices.filter { j in
            let c = result.columns[j]
            guard c.kind == .measure else { return false }
            if c.acrossMembers.first == "Total", c.acrossMembers.dropFirst().allSatisfy(\.isEmpty), result.acrossLevels.count > 0,
               j == result.columns.count - 1 || result.columns[(j + 1)...].allSatisfy({ $0.acrossMembers.first == "Total" }) {
                return false
            }
            // A text column (a segment name) is a label, not something to draw.
            return rows.contains { !result.rows[$0][j].isNull } && rows.allSatisfy { result.rows[$0][j].doubleValue != nil || result.rows[$0][j].isNull }
        }
        let crosstab = !result.acrossLevels.isEmpty
        let usage = "SELECT revenue BY time.month CHART line, or BY channel.type, time.year CHART bar"
        guard !measures.isEmpty else {
            throw Problem(message: "nothing to chart: the result has no numeric measure column", help: usage)
        }
        guard members.count + (crosstab ? 1 : 0) <= 2 else {
            throw Problem(message: "a chart has an x axis and one kind of series, but this result has \(members.count) BY levels\(crosstab ? " and ACROSS" : "")",
                          help: "chart BY x, series or BY x ACROSS series; SLICE or DICE a level away first")
        }
        let label: (Int, Int) -> String = { i, j in
            if result.rowKinds[i] == .others, result.rows[i][j].isNull { return "Others" }
            let v = result.rows[i][j]
            return v.isNull ? "(none)" : v.description
        }
        xTitle = members.first.map { result.columns[$0].name } ?? ""
        let xs = Chart.distinct(rows.map { i in members.first.map { label(i, $0) } ?? "" })
        var categories = xs.values
        let rowCategory = xs.index
        if members.count < 2, !crosstab, rowCategory.count != Set(rowCategory).count {
            throw Problem(message: "the x axis repeats a category", help: usage)
        }
        var panels: [Panel] = []
        if crosstab {
            // One panel per SELECT item; its columns are the series.
            var order: [String] = []
            var columnsOf: [String: [Int]] = [:]
            for j in measures {
                let item = result.columns[j].item ?? result.columns[j].name
                if columnsOf[item] == nil { order.append(item) }
                columnsOf[item, default: []].append(j)
            }
            seriesTitle = result.acrossLevels.joined(separator: " / ")
            for item in order {
                let columns = columnsOf[item] ?? []
                let series = columns.map { j in
                    var values = [Double?](repeating: nil, count: categories.count)
                    for (r, i) in rows.enumerated() { values[rowCategory[r]] = result.rows[i][j].doubleValue }
                    return Series(name: result.columns[j].acrossMembers.filter { !$0.isEmpty }.joined(separator: " / "), values: values)
                }
                panels.append(Panel(measure: item, format: result.columns[columns[0]].format, series: series))
            }
        } else if members.count == 2 {
            seriesTitle = result.columns[members[1]].name
            let (names, rowSeries) = Chart.distinct(rows.map { label($0, members[1]) })
            for j in measures {
                var series = names.map { Series(name: $0, values: [Double?](repeating: nil, count: categories.count)) }
                for (r, i) in rows.enumerated() { series[rowSeries[r]].values[rowCategory[r]] = result.rows[i][j].doubleValue }
                panels.append(Panel(measure: result.columns[j].name, format: result.columns[j].format, series: series))
            }
        } else {
            seriesTitle = nil
            for j in measures {
                var values = [Double?](repeating: nil, count: categories.count)
                for (r, i) in rows.enumerated() { values[rowCategory[r]] = result.rows[i][j].doubleValue }
                panels.append(Panel(measure: result.columns[j].name, format: result.columns[j].format, series: [Series(name: "", values: values)]))
            }
        }
        let seriesCount = panels[0].series.count
        switch kind {
        case .heatmap:
            guard seriesCount > 1 || seriesTitle != nil else {
                throw Problem(message: "a heatmap needs two axes, but this result has \(members.isEmpty ? "none" : "one")",
                              help: "SELECT revenue BY customer.region, time.year CHART heatmap (or BY x ACROSS y)")
            }
        case .pareto:
            guard seriesTitle == nil, panels.count == 1 else {
                throw Problem(message: panels.count > 1 ? "a pareto chart draws one measure, and this result has \(panels.count)"
                                                        : "a pareto chart draws one series over one BY level",
                              help: "SELECT revenue BY customer.customer CHART pareto")
            }
            let values = panels[0].series[0].values
            guard values.allSatisfy({ ($0 ?? 0) >= 0 }) else {
                throw Problem(message: "a pareto chart adds up values that are 0 or more, and \(panels[0].measure) has negative ones",
                              help: "chart it as bars: CHART bar")
            }
            // Largest first, ties in the result's order; the line is the running share.
            let order = values.indices.sorted { (values[$0] ?? 0) > (values[$1] ?? 0) || ((values[$0] ?? 0) == (values[$1] ?? 0) && $0 < $1) }
            categories = order.map { categories[$0] }
            panels[0].series[0].values = order.map { values[$0] }
            let total = values.reduce(0) { $0 + ($1 ?? 0) }
            var running = 0.0
            panels[0].cumulative = order.map { k in
                running += values[k] ?? 0
                return total > 0 ? running / total : 0
            }
            paretoMembers = order.count
            paretoEighty = panels[0].cumulative.firstIndex { $0 >= 0.8 - 1e-12 }.map { $0 + 1 }
            // Past 100 members a bar each is a smear: draw percentile bands of the ranking
            // (the 1% largest, the next 1%, ...), each the sum of its members.
            if order.count > Chart.maximumParetoBars {
                let n = order.count, bands = Chart.maximumParetoBars
                var bandValues: [Double?] = [], bandShares: [Double] = [], labels: [String] = []
                var start = 0
                for b in 0..<bands {
                    let end = (b + 1) * n / bands
                    guard end > start else { continue }
                    bandValues.append(panels[0].series[0].values[start..<end].reduce(0) { $0 + ($1 ?? 0) })
                    bandShares.append(panels[0].cumulative[end - 1])
                    labels.append("\(b + 1)%")
                    start = end
                }
                categories = labels
                panels[0].series[0].values = bandValues
                panels[0].cumulative = bandShares
                xTitle += " (percentiles by \(panels[0].measure))"
                banded = true
            }
        default: break
        }
        // Beyond twelve colours series cannot be told apart: keep the largest.
        omittedSeries = max(0, seriesCount - Chart.maximumSeries)
        if omittedSeries > 0 {
            let size = panels[0].series.map { $0.values.reduce(0) { $0 + abs($1 ?? 0) } }
            let keep = Set(size.indices.sorted { size[$0] > size[$1] || (size[$0] == size[$1] && $0 < $1) }.prefix(Chart.maximumSeries))
            for p in panels.indices {
                panels[p].series = panels[p].series.indices.filter { keep.contains($0) }.map { panels[p].series[$0] }
            }
        }
        self.categories = categories
        self.panels = panels
    }

    /// The distinct labels in order of first appearance, and each input's index among them.
    static func distinct(_ labels: [String]) -> (values: [String], index: [Int]) {
        var values: [String] = []
        var position: [String: Int] = [:]
        let index = labels.map { label in
            if let k = position[label] { return k }
            position[label] = values.count
            values.append(label)
            return values.count - 1
        }
        return (values, index)
    }

    /// The number of data points drawn in a panel (bars, points or cells with a value).
    public func marks(in panel: Int) -> Int {
        panels[panel].series.reduce(0) { $0 + $1.values.count { $0 != nil } }
    }

    /// A value for a label: the result's own format (`1,234.50`, `12.3%`).
    public static func label(_ value: Double, _ format: MeasureFormat?) -> String {
        // Counts read as counts: 2,575, not 2,575.00.
        if format == nil || format == .number, value == value.rounded(), abs(value) < 1e15 {
            return Renderer.display(.exact(Int128(value), scale: 0), format)
        }
        return Renderer.display(.double(value), format)
    }

    /// A value for an axis tick, short: `1.5M`, `250K`, `12%`, `0.25`.
    public static func tick(_ value: Double, _ format: MeasureFormat?) -> String {
        if format == .percent {
            let p = value * 100
            return (p == p.rounded() ? String(Int(p)) : trimmed(p, digits: 1)) + "%"
        }
        let a = abs(value)
        for (limit, suffix) in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")] where a >= limit {
            return trimmed(value / limit, digits: 2) + suffix
        }
        return trimmed(value, digits: a < 1 && a > 0 ? 3 : 2)
    }

    private static func trimmed(_ value: Double, digits: Int) -> String {
        var text = Renderer.display(.double(value), .number, digits: digits)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// Round tick values from 0 (or the lowest value below it) to at least `high`: steps of
    /// 1, 2 or 5 times a power of ten, about `count` of them.
    public static func ticks(low: Double, high: Double, count: Int = 5) -> [Double] {
        let lo = min(0, low)
        let hi = max(high, lo == 0 && high <= 0 ? 1 : high)
        let raw = (hi - lo) / Double(max(1, count))
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        let first = (lo / step).rounded(.down) * step
        var ticks: [Double] = []
        var t = first
        while t < hi + step * 0.999_999 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            if t >= hi { break }
            t += step
        }
        return ticks
    }
}
