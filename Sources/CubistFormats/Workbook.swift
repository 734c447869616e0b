import CubistCore
import CubistEngine
import CubistStore
import Foundation
import ZIPFoundation

/// An Excel workbook (Office Open XML, `.xlsx`) of results, one worksheet each: numbers as
/// numbers with their column's format (money `#,##0.00`, integers `#,##0`, percent `0.0%`),
/// text as text, empty cells for null; bold, frozen header rows (a crosstab's ACROSS
/// header rows as in table mode); summary rows bold with `Total`; columns sized to fit.
/// The sheets' XML is written here; ZIPFoundation makes the container.
public struct Workbook: Sendable {
    /// A worksheet: its name and the result it holds.
    public struct Sheet: Sendable {
        public var name: String
        public var result: ResultTable
    }

    /// The sheets, in order.
    public private(set) var sheets: [Sheet] = []

    /// An empty workbook.
    public init() {}

    /// Adds a sheet for `result`, named `name` (a statement's comment) or `Result N`. Excel
    /// refuses `: \ / ? * [ ]` in sheet names: a colon before a space reads ` -`, other
    /// colons and slashes `-`, the rest go; names are cut to 31 characters and made unique
    /// with ` (2)`, ` (3)`, ...
    public mutating func add(_ result: ResultTable, name: String?) {
        let scalars = Array((name ?? "").unicodeScalars)
        var cleaned = ""
        for (k, c) in scalars.enumerated() {
            switch c {
            case ":": cleaned += k + 1 < scalars.count && scalars[k + 1] == " " ? " -" : "-"
            case "/", "\\": cleaned += "-"
            case "?", "*", "[", "]": continue
            default: if c.value >= 0x20 { cleaned.unicodeScalars.append(c) }
            }
        }
        var base = cleaned.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        base = base.trimmingCharacters(in: CharacterSet(charactersIn: "' "))
        if base.isEmpty { base = "Result \(sheets.count + 1)" }
        var candidate = String(base.prefix(31)).trimmingCharacters(in: .whitespaces)
        var n = 2
        while sheets.contains(where: { $0.name.caseInsensitiveEquals(candidate) }) {
            let suffix = " (\(n))"
            candidate = String(base.prefix(31 - suffix.count)).trimmingCharacters(in: .whitespaces) + suffix
            n += 1
        }
        sheets.append(Sheet(name: candidate, result: result))
    }

    /// Why the workbook could not be made.
    public struct Failure: Error, Sendable {
        public let message: String
    }

    /// The `.xlsx` file's bytes.
    public func data(modified: Date = Date()) throws(Failure) -> Data {
        var styles = StyleTable()
        var parts: [(String, String)] = []
        for (i, sheet) in sheets.enumerated() {
            parts.append(("xl/worksheets/sheet\(i + 1).xml", Workbook.sheetXML(sheet.result, &styles)))
        }
        parts.insert(("[Content_Types].xml", contentTypes), at: 0)
        parts.insert(("_rels/.rels", """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
            <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>\
            <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>\
            <Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>\
            </Relationships>
            """), at: 1)
        parts.append(("docProps/core.xml", core(modified)))
        parts.append(("docProps/app.xml", """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>Cubist</Application></Properties>
            """))
        parts.append(("xl/workbook.xml", workbookXML))
        parts.append(("xl/_rels/workbook.xml.rels", workbookRels))
        parts.append(("xl/styles.xml", styles.xml))
        do {
            let archive = try Archive(data: Data(), accessMode: .create)
            for (path, text) in parts {
                let bytes = Data(text.utf8)
                try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(bytes.count), modificationDate: modified,
                                     compressionMethod: .deflate) { position, size in
                    bytes.subdata(in: Int(position)..<(Int(position) + size))
                }
            }
            guard let data = archive.data else { throw Failure(message: "the zip container was not made") }
            return data
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: "cannot make the zip container: \(error)")
        }
    }

    // MARK: package parts

    private var contentTypes: String {
        var s = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
            <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
            <Default Extension="xml" ContentType="application/xml"/>\
            <Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
            <Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
            <Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>\
            <Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>
            """
        for i in sheets.indices {
            s += "<Override PartName=\"/xl/worksheets/sheet\(i + 1).xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        }
        return s + "</Types>"
    }

    private var workbookXML: String {
        var s = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>
            """
        for (i, sheet) in sheets.enumerated() {
            s += "<sheet name=\"\(Workbook.escape(sheet.name))\" sheetId=\"\(i + 1)\" r:id=\"rId\(i + 1)\"/>"
        }
        return s + "</sheets></workbook>"
    }

    private var workbookRels: String {
        var s = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
            """
        for i in sheets.indices {
            s += "<Relationship Id=\"rId\(i + 1)\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet\(i + 1).xml\"/>"
        }
        s += "<Relationship Id=\"rId\(sheets.count + 1)\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>"
        return s + "</Relationships>"
    }

    private func core(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let stamp = formatter.string(from: date)
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\
            <dc:creator>Cubist</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">\(stamp)</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">\(stamp)</dcterms:modified>\
            </cp:coreProperties>
            """
    }

    // MARK: worksheets

    /// The number format of a column's cells: from the measure format, else from the
    /// decimals its values have (exact values their scale, ratios 4 below 1, else 2).
    static func numberFormat(_ result: ResultTable, column j: Int, digits: Int) -> String {
        switch result.columns[j].format {
        case .money: return "#,##0.00"
        case .integer: return "#,##0"
        case .percent: return "0.0%"
        case .number, nil:
            var scale = 0
            var double = false
            for row in result.rows {
                switch row[j] {
                case .exact(_, let s): scale = max(scale, s)
                case .double: double = true
                default: break
                }
            }
            let places = double ? max(scale, digits) : scale
            return places == 0 ? "#,##0" : "#,##0." + String(repeating: "0", count: min(places, 10))
        }
    }

    static func sheetXML(_ result: ResultTable, _ styles: inout StyleTable) -> String {
        var table = TextTable(result.columns.map(\.name), alignments: result.columns.map { $0.kind == .member ? .left : .right })
        Renderer.crosstabHeaders(result, &table)
        let headerRows = table.headerRows + [table.headers]
        let digits = Renderer.fractionDigits(result)
        let formats = result.columns.indices.map { numberFormat(result, column: $0, digits: digits[$0]) }
        // Widths from the text people would see, as in table mode.
        var widths = result.columns.indices.map { j in headerRows.map { DisplayWidth.of($0[j]) }.max() ?? 8 }
        for i in result.rows.indices {
            for (j, cell) in Renderer.humanCells(result, i, digits).enumerated() { widths[j] = max(widths[j], DisplayWidth.of(cell)) }
        }
        var s = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
            """
        let frozen = headerRows.count
        s += "<sheetViews><sheetView workbookViewId=\"0\"><pane ySplit=\"\(frozen)\" topLeftCell=\"A\(frozen + 1)\" activePane=\"bottomLeft\" state=\"frozen\"/></sheetView></sheetViews>"
        s += "<cols>"
        for (j, w) in widths.enumerated() {
            s += "<col min=\"\(j + 1)\" max=\"\(j + 1)\" width=\"\(min(80, w + 2))\" customWidth=\"1\"/>"
        }
        s += "</cols><sheetData>"
        var r = 0
        let bold = styles.index(format: nil, bold: true)
        for header in headerRows {
            r += 1
            s += "<row r=\"\(r)\">"
            for (j, text) in header.enumerated() where !text.isEmpty {
                s += inlineString(cell(j, r), text, style: bold)
            }
            s += "</row>"
        }
        for (i, row) in result.rows.enumerated() {
            r += 1
            let summary = result.rowKinds[i] != .detail
            s += "<row r=\"\(r)\">"
            var labelled = false
            for (j, value) in row.enumerated() {
                let ref = cell(j, r)
                switch value {
                case .null:
                    // The first rolled-up member cell of a summary row reads Total (or Others).
                    if summary, result.columns[j].kind == .member, !labelled {
                        s += inlineString(ref, result.rowKinds[i] == .others ? "Others" : "Total", style: bold)
                        labelled = true
                    }
                case .text(let t):
                    s += inlineString(ref, t, style: summary ? bold : 0)
                case .exact, .double:
                    guard let d = value.doubleValue, d.isFinite else { continue }
                    let style = styles.index(format: formats[j], bold: summary)
                    // Exact decimals keep their digits; doubles their shortest round-trip form.
                    s += "<c r=\"\(ref)\" s=\"\(style)\"><v>\(value.description)</v></c>"
                }
            }
            s += "</row>"
        }
        return s + "</sheetData></worksheet>"
    }

    private static func inlineString(_ ref: String, _ text: String, style: Int) -> String {
        "<c r=\"\(ref)\" t=\"inlineStr\"\(style == 0 ? "" : " s=\"\(style)\"")><is><t xml:space=\"preserve\">\(escape(text))</t></is></c>"
    }

    /// `A1`-style reference of column `j` (0-based) in row `r` (1-based).
    static func cell(_ j: Int, _ r: Int) -> String {
        var n = j + 1
        var letters = ""
        while n > 0 {
            let m = (n - 1) % 26
            letters = String(UnicodeScalar(UInt8(65 + m))) + letters
            n = (n - 1) / 26
        }
        return letters + String(r)
    }

    static func escape(_ text: String) -> String { Renderer.escapeXML(text) }
}

/// The cell formats a workbook uses: number format codes and bold, each an index into
/// `cellXfs` (0 is the default).
struct StyleTable {
    private var formats: [String] = []
    private var xfs: [(format: Int?, bold: Bool)] = [(nil, false)]

    mutating func index(format: String?, bold: Bool) -> Int {
        var id: Int?
        if let format {
            if let k = formats.firstIndex(of: format) {
                id = 164 + k
            } else {
                formats.append(format)
                id = 164 + formats.count - 1
            }
        }
        if let k = xfs.firstIndex(where: { $0.format == id && $0.bold == bold }) { return k }
        xfs.append((id, bold))
        return xfs.count - 1
    }

    var xml: String {
        var s = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
            """
        if !formats.isEmpty {
            s += "<numFmts count=\"\(formats.count)\">"
            for (k, f) in formats.enumerated() { s += "<numFmt numFmtId=\"\(164 + k)\" formatCode=\"\(Workbook.escape(f))\"/>" }
            s += "</numFmts>"
        }
        s += "<fonts count=\"2\"><font><sz val=\"11\"/><name val=\"Calibri\"/></font><font><b/><sz val=\"11\"/><name val=\"Calibri\"/></font></fonts>"
        s += "<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill></fills>"
        s += "<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"
        s += "<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>"
        s += "<cellXfs count=\"\(xfs.count)\">"
        for x in xfs {
            s += "<xf numFmtId=\"\(x.format ?? 0)\" fontId=\"\(x.bold ? 1 : 0)\" fillId=\"0\" borderId=\"0\" xfId=\"0\""
                + (x.format != nil ? " applyNumberFormat=\"1\"" : "") + (x.bold ? " applyFont=\"1\"" : "") + "/>"
        }
        s += "</cellXfs><cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>"
        return s + "</styleSheet>"
    }
}
