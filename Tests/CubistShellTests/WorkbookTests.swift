import CubistCore
import CubistEngine
import CubistFormats
import CubistGenerator
import CubistReports
import CubistShell
import CubistStore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import ZIPFoundation

/// A worksheet's cells read back from the unzipped workbook, with the number format each
/// one's style points to.
final class SheetCells: NSObject, XMLParserDelegate {
    struct Cell: Equatable {
        var type: String?
        var style: Int
        var value = ""
    }

    var cells: [String: Cell] = [:]
    var frozenRows: Int?
    var widths: [Double] = []
    private var current: String?
    private var text = ""

    static func read(_ xml: Data) throws -> SheetCells { try parseXML(xml, into: SheetCells()) }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        switch name {
        case "c":
            current = attributes["r"]
            if let r = current { cells[r] = Cell(type: attributes["t"], style: Int(attributes["s"] ?? "0") ?? 0) }
        case "pane":
            if attributes["state"] == "frozen" { frozenRows = Int(attributes["ySplit"] ?? "") }
        case "col":
            widths.append(Double(attributes["width"] ?? "") ?? 0)
        default: break
        }
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if (name == "v" || name == "t"), let r = current { cells[r]?.value = text }
        if name == "c" { current = nil }
    }
}

/// The styles part: each cell style's number format code and whether it is bold.
final class StyleSheet: NSObject, XMLParserDelegate {
    var formats: [Int: String] = [0: "General"]
    var xfs: [(format: Int, bold: Bool)] = []
    private var inCellXfs = false

    static func read(_ xml: Data) throws -> StyleSheet { try parseXML(xml, into: StyleSheet()) }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if name == "numFmt", let id = Int(attributes["numFmtId"] ?? ""), let code = attributes["formatCode"] { formats[id] = code }
        if name == "cellXfs" { inCellXfs = true }
        if name == "xf", inCellXfs { xfs.append((Int(attributes["numFmtId"] ?? "0") ?? 0, attributes["fontId"] == "1")) }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "cellXfs" { inCellXfs = false }
    }

    func format(_ style: Int) -> String { formats[xfs[style].format] ?? "builtin \(xfs[style].format)" }
    func bold(_ style: Int) -> Bool { xfs[style].bold }
}

@Suite struct WorkbookTests {
    let cube: Cube
    init() throws { cube = try CRMSample.cube() }

    func entry(_ archive: Archive, _ path: String) throws -> Data {
        let e = try #require(archive[path], "no \(path) in the workbook")
        var data = Data()
        _ = try archive.extract(e) { data.append($0) }
        return data
    }

    /// A batch with `--format xlsx`: one sheet per statement, named by its comment.
    @Test func aBatchBecomesOneSheetPerStatementWithFormatsAndTypes() throws {
        let path = NSTemporaryDirectory() + "/cubist-\(UUID().uuidString).xlsx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let session = Session(cube: cube, output: StringOutput(), errors: { Issue.record(Comment(rawValue: $0)) })
        session.format = .xlsx
        try session.redirectOutput(to: path)
        #expect(session.run("""
            -- Channels: revenue, orders, margin
            SELECT revenue, orders, margin_pct BY channel.type WITH TOTALS;
            SELECT revenue, orders BY customer.region ACROSS time.year WHERE customer.region IN ('Busan', 'Seoul');
            SELECT growth(revenue) BY time.year;
            """, file: "<test>"))
        session.closeDocument()
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        let workbook = String(decoding: try entry(archive, "xl/workbook.xml"), as: UTF8.self)
        // ':' is not allowed in a sheet name.
        #expect(workbook.contains("<sheet name=\"Channels - revenue, orders, mar\" sheetId=\"1\""))
        #expect(workbook.contains("<sheet name=\"Result 2\""))
        #expect(workbook.contains("<sheet name=\"Result 3\""))
        let styles = try StyleSheet.read(try entry(archive, "xl/styles.xml"))

        let first = try SheetCells.read(try entry(archive, "xl/worksheets/sheet1.xml"))
        #expect(first.frozenRows == 1)
        #expect(first.cells["A1"] == SheetCells.Cell(type: "inlineStr", style: first.cells["A1"]?.style ?? -1, value: "channel.type"))
        #expect(styles.bold(try #require(first.cells["B1"]).style))
        let revenue = try #require(first.cells["B2"])
        #expect(revenue.type == nil && revenue.value == "12194246.04" && styles.format(revenue.style) == "#,##0.00" && !styles.bold(revenue.style))
        let orders = try #require(first.cells["C2"])
        #expect(orders.value == "9691" && styles.format(orders.style) == "#,##0")
        let margin = try #require(first.cells["D2"])
        #expect(styles.format(margin.style) == "0.0%")
        #expect(abs((Double(margin.value) ?? 0) - 0.30698400850045504) < 1e-15)
        // The total row: Total in the member cell, bold.
        #expect(first.cells["A5"]?.value == "Total")
        let total = try #require(first.cells["B5"])
        #expect(total.value == "46027631.57" && styles.bold(total.style) && styles.format(total.style) == "#,##0.00")
        #expect(first.widths[0] >= 14)

        // A crosstab: ACROSS header rows as in table mode, frozen.
        let second = try SheetCells.read(try entry(archive, "xl/worksheets/sheet2.xml"))
        #expect(second.frozenRows == 2)
        #expect(second.cells["A1"]?.value == "time.year")
        #expect(second.cells["B1"]?.value == "2022" && second.cells["C1"] == nil && second.cells["D1"]?.value == "2023")
        #expect(second.cells["A2"]?.value == "customer.region" && second.cells["B2"]?.value == "revenue" && second.cells["C2"]?.value == "orders")
        #expect(second.cells["A3"]?.value == "Busan" && second.cells["B3"]?.value == "857449.95" && second.cells["C3"]?.value == "847")

        // A null is an empty cell; member labels that look like numbers stay text.
        let third = try SheetCells.read(try entry(archive, "xl/worksheets/sheet3.xml"))
        #expect(third.cells["A2"]?.type == "inlineStr" && third.cells["A2"]?.value == "2022")
        #expect(third.cells["B2"] == nil)
        #expect(third.cells["B3"]?.value == "0.15835681919693978")
    }

    @Test func sheetNamesAreValidAndUnique() {
        var workbook = Workbook()
        let result = ResultTable(columns: [ResultColumn(name: "x", kind: .measure, format: nil)], rows: [[.integer(1)]], rowKinds: [.detail])
        workbook.add(result, name: "A very long heading that Excel would refuse as a sheet name")
        workbook.add(result, name: "A very long heading that Excel would refuse as a sheet name")
        workbook.add(result, name: "[Q1/Q2] * why?")
        workbook.add(result, name: "  ")
        #expect(workbook.sheets.map(\.name) == ["A very long heading that Excel", "A very long heading that Ex (2)", "Q1-Q2 why", "Result 4"])
    }

    @Test func theDirectorsReportAsAWorkbookNamesSheetsBySection() throws {
        let text = try String(contentsOf: ReportTests.docs.appendingPathComponent("examples/director.md"), encoding: .utf8)
        let session = Session(cube: cube, output: StringOutput(), errors: { _ in })
        session.parameters = ["month": "2025-11"]
        guard case .finished(let report) = ReportRunner.run(ReportSource(text), file: "director.md", session: session) else {
            Issue.record("the report failed")
            return
        }
        let workbook = report.workbook()
        #expect(workbook.sheets.map(\.name) == ["Headline", "Revenue by month, this year aga", "Where the month's revenue came",
                                                "Top 10 customers of the month", "Customers who stopped buying",
                                                "Customers who stopped buyin (2)", "The 20-80 rule"])
        let archive = try Archive(data: try workbook.data(), accessMode: .read)
        let top = try SheetCells.read(try entry(archive, "xl/worksheets/sheet4.xml"))
        #expect(top.cells["A2"]?.value == "Yoo Doyun #1229" && top.cells["B2"]?.value == "116240.92" && top.cells["C2"]?.value == "26")
    }

    @Test func aWorkbookNeedsAFile() {
        var errors = ""
        let session = Session(cube: cube, output: StringOutput(), errors: { errors += $0 })
        session.format = .xlsx
        #expect(!session.run("SELECT revenue;", file: "<test>"))
        #expect(errors.contains("the xlsx format writes a workbook file, and results go to the screen"))
        #expect(errors.contains(".once report.xlsx"))
    }
}
