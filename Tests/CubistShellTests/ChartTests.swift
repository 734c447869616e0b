import CubistCharts
import CubistCore
import CubistEngine
import CubistGenerator
import CubistShell
import CubistStore
import CubistSyntax
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// Parses `xml` with `reader` as its delegate (an XML parser, as a browser or Excel reads).
func parseXML<Reader: NSObject & XMLParserDelegate>(_ xml: Data, into reader: Reader) throws -> Reader {
    let parser = XMLParser(data: xml)
    parser.delegate = reader
    guard parser.parse() else { throw parser.parserError ?? CocoaError(.fileReadCorruptFile) }
    return reader
}

/// The marks of an SVG chart, read back with an XML parser the way a browser would.
final class SVGMarks: NSObject, XMLParserDelegate {
    struct Mark {
        let kind: String
        let value: Double
        let attributes: [String: String]
        func number(_ name: String) -> Double { Double(attributes[name] ?? "") ?? .nan }
    }

    var marks: [Mark] = []
    var elements = 0
    var svgWidth = 0.0

    static func read(_ svg: String) throws -> SVGMarks { try parseXML(Data(svg.utf8), into: SVGMarks()) }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        elements += 1
        if name == "svg" { svgWidth = Double(attributes["width"] ?? "") ?? 0 }
        guard let cls = attributes["class"], ["bar", "point", "cell"].contains(cls), let value = Double(attributes["data-value"] ?? "") else { return }
        marks.append(Mark(kind: cls, value: value, attributes: attributes))
    }
}

@Suite struct ChartTests {
    let cube: Cube
    init() throws { cube = try CRMSample.cube() }

    /// Runs `statement` on the sample and returns its result and chart.
    func chart(_ statement: String) throws -> (ResultTable, Chart) {
        let session = Session(cube: cube, output: StringOutput(), errors: { Issue.record(Comment(rawValue: $0)) })
        var shown: Session.Presented?
        session.presenter = { shown = $0 }
        #expect(session.run(statement, file: "<test>"))
        let presented = try #require(shown)
        return (presented.result, try #require(presented.chart))
    }

    /// The values a result holds in its detail rows (and Others), measure by measure.
    func dataPoints(_ result: ResultTable) -> [Double] {
        var values: [Double] = []
        for (i, row) in result.rows.enumerated() where result.rowKinds[i] == .detail || result.rowKinds[i] == .others {
            for (j, v) in row.enumerated() where result.columns[j].kind == .measure {
                if let d = v.doubleValue { values.append(d) }
            }
        }
        return values
    }

    static let kinds: [(ChartKind, String)] = [
        (.bar, "SELECT revenue BY customer.region, channel.type WHERE time.year = 2025 CHART bar"),
        (.hbar, "SELECT revenue BY product.subcategory CHART hbar"),
        (.line, "SELECT revenue BY time.month_of_year, time.year WHERE time.year >= 2024 CHART line"),
        (.area, "SELECT revenue BY time.quarter CHART area"),
        (.stacked, "SELECT revenue BY time.year, channel.type CHART stacked"),
        (.heatmap, "SELECT revenue BY customer.region ACROSS time.year CHART heatmap"),
        (.pareto, "SELECT revenue BY customer.city CHART pareto"),
    ]

    /// Every kind: one mark per data point of the result, each carrying its exact value;
    /// bars and cells are drawn to scale. The pictures in docs/images are these charts
    /// (CUBIST_RECORD_CHARTS=1 writes them again).
    @Test(arguments: kinds.map(\.0))
    func eachKindDrawsEveryDataPointToScale(_ kind: ChartKind) throws {
        let query = try #require(Self.kinds.first { $0.0 == kind }?.1)
        let (result, chart) = try self.chart(query + ";")
        let svg = SVGChart.render(chart)
        let read = try SVGMarks.read(svg)
        let expected = dataPoints(result)
        #expect(read.marks.count == expected.count, "\(kind): \(read.marks.count) marks for \(expected.count) values")
        #expect(read.marks.map(\.value).sorted() == expected.sorted())
        switch kind {
        case .bar, .pareto, .stacked:
            // Heights in proportion to the values (bars start at zero; coordinates keep two decimals).
            let bars = read.marks
            let largest = try #require(bars.max { abs($0.value) < abs($1.value) })
            let scale = largest.number("height") / abs(largest.value)
            for b in bars { #expect(abs(b.number("height") - abs(b.value) * scale) <= 0.02, "\(b.attributes)") }
        case .hbar:
            let largest = try #require(read.marks.max { abs($0.value) < abs($1.value) })
            let scale = largest.number("width") / abs(largest.value)
            for b in read.marks { #expect(abs(b.number("width") - abs(b.value) * scale) <= 0.02) }
        case .line, .area:
            // Higher values sit higher: y falls as the value grows.
            let points = read.marks.sorted { $0.value < $1.value }
            for (a, b) in zip(points, points.dropFirst()) where a.value < b.value { #expect(a.number("cy") >= b.number("cy")) }
        case .heatmap:
            #expect(Set(read.marks.map { $0.attributes["fill"] ?? "" }).count > 3)
        }
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/images/chart-\(kind.rawValue).svg").standardized
        if ProcessInfo.processInfo.environment["CUBIST_RECORD_CHARTS"] != nil {
            try Data(svg.utf8).write(to: path)
        } else {
            let golden = try String(contentsOf: path, encoding: .utf8)
            #expect(golden == svg, "docs/images/chart-\(kind.rawValue).svg differs; CUBIST_RECORD_CHARTS=1 writes it again")
        }
    }

    @Test func seriesComeFromTheSecondLevelOrTheAcrossMembers() throws {
        let (_, byTwo) = try chart("SELECT revenue, orders BY channel.type, time.year CHART bar;")
        #expect(byTwo.categories == ["Direct", "Offline", "Online"])
        #expect(byTwo.seriesTitle == "time.year")
        #expect(byTwo.panels.map(\.measure) == ["revenue", "orders"])
        #expect(byTwo.panels[0].series.map(\.name) == ["2022", "2023", "2024", "2025"])
        #expect(byTwo.panels[1].series[3].values == [2745, 3675, 6793])
        #expect(byTwo.panels[0].format == .money)
        let (_, crosstab) = try chart("SELECT revenue BY channel.type ACROSS time.year WITH TOTALS CHART line;")
        // The row-total column is not a series.
        #expect(crosstab.panels[0].series.map(\.name) == ["2022", "2023", "2024", "2025"])
        #expect(crosstab.panels[0].series[0].values == [2_675_033.93, 2_255_340.22, 4_659_901.96])
    }

    @Test func paretoSortsAddsUpAndBandsManyMembers() throws {
        let (_, regions) = try chart("SELECT revenue BY customer.region CHART pareto;")
        #expect(regions.categories.first == "Seoul")
        let values = regions.panels[0].series[0].values.map { $0 ?? 0 }
        #expect(values == values.sorted(by: >))
        #expect(abs(regions.panels[0].cumulative.last! - 1) < 1e-12)
        #expect(regions.paretoEighty == 5)
        let (result, customers) = try chart("SELECT revenue BY customer.customer CHART pareto;")
        #expect(customers.paretoMembers == result.rows.count)
        #expect(customers.categories.count == 100)
        #expect(customers.banded)
        // The bands hold every member's revenue once.
        let total = dataPoints(result).reduce(0, +)
        #expect(abs(customers.panels[0].series[0].values.reduce(0) { $0 + ($1 ?? 0) } - total) < 1e-6)
        #expect(customers.paretoEighty == 449)
    }

    @Test func manySeriesKeepTheLargestTwelve() throws {
        let (_, chart) = try self.chart("SELECT revenue BY channel.type, time.month WHERE time.year = 2025 CHART line;")
        #expect(chart.panels[0].series.count == 12)
        #expect(chart.omittedSeries == 0)
        let (_, cities) = try self.chart("SELECT revenue BY time.year, customer.city CHART bar;")
        #expect(cities.panels[0].series.count == Chart.maximumSeries)
        #expect(cities.omittedSeries > 0)
        #expect(SVGChart.render(cities).contains("the \(cities.omittedSeries) smallest are left out"))
        #expect(TerminalChart.render(cities).contains("the \(cities.omittedSeries) smallest are left out"))
    }

    @Test func terminalChartsFitTheWidthAndColourOnlyWhenAsked() throws {
        let (_, chart) = try self.chart("SELECT revenue BY customer.region, channel.type CHART stacked;")
        for width in [40, 60, 100] {
            let text = TerminalChart.render(chart, width: width)
            #expect(text.split(separator: "\n").allSatisfy { DisplayWidth.of(String($0)) <= width }, "\(width):\n\(text)")
            #expect(!text.contains("\u{1B}"))
        }
        let coloured = TerminalChart.render(chart, width: 80, colour: true)
        #expect(coloured.contains("\u{1B}[38;5;"))
    }

    @Test func longLabelsAreShortenedWithTheFullTextOnHover() throws {
        let (_, chart) = try self.chart("SELECT revenue BY product.product WHERE product.subcategory = 'Audio' TOP 5 BY revenue CHART bar;")
        let svg = SVGChart.render(chart)
        let long = try #require(chart.categories.first { $0.count > 14 })
        #expect(svg.contains("<title>\(SVGChart.escape(long))</title>"))
        #expect(svg.contains(SVGChart.escape(SVGChart.shorten(long, to: 14)) + "<title>"))
    }

    @Test func dotChartDrawsTheLastResult() throws {
        let output = StringOutput()
        var errors = ""
        let session = Session(cube: cube, output: output, errors: { errors += $0 + "\n" })
        #expect(!session.run(".chart bar", file: "<test>"))
        #expect(errors.contains("there is no result to chart yet"))
        session.format = .csv
        #expect(session.run("SELECT revenue BY channel.type;\n.chart hbar", file: "<test>"))
        #expect(output.text.contains("channel.type,revenue\n"))
        #expect(output.text.contains("revenue by channel.type\nDirect  █"))
        errors = ""
        #expect(!session.run(".chart heatmap", file: "<test>"))
        #expect(errors.contains("<test>:1:8: error: a heatmap needs two axes"))
        errors = ""
        #expect(!session.run(".chart pie", file: "<test>"))
        #expect(errors.contains("unknown chart kind 'pie'"))
    }
}
