import CubistCharts
import CubistCore
import CubistEngine
import CubistFormats
import CubistShell
import Foundation
import Ink

/// The formats a report is written in, chosen by the output file's extension.
public enum ReportFormat: String, Sendable, CaseIterable {
    /// One self-contained HTML file: inline CSS and SVG, no scripts.
    case html
    /// Markdown with results as tables and charts as SVG files beside it.
    case markdown = "md"
    /// The HTML printed to PDF by headless Chromium.
    case pdf
    /// An Excel workbook with a worksheet per result (the prose and charts are left out).
    case xlsx

    /// The format an output path's extension names (`.html`/`.htm`, `.md`/`.markdown`, `.pdf`).
    public init?(path: String) {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "html", "htm": self = .html
        case "md", "markdown": self = .markdown
        case "pdf": self = .pdf
        case "xlsx": self = .xlsx
        default: return nil
        }
    }
}

/// Writes a report as one self-contained HTML page: the prose through a Markdown
/// converter (Ink), each result as a table, a chart (inline SVG) or headline figures, and a
/// footer with the cube, its source and the run date. Readable on a phone (the page is one
/// column that narrows; wide tables scroll) and printable (charts and tables are not split
/// across pages).
public enum HTMLReport {
    /// The page.
    public static func render(_ report: Report) -> String {
        let parser = MarkdownParser()
        var body = ""
        for item in report.items {
            switch item {
            case .prose(let text):
                body += parser.html(from: text) + "\n"
            case .result(let result, let chart, let heading):
                body += "<figure>\n"
                if let heading { body += "<figcaption>\(Renderer.escapeHTML(heading))</figcaption>\n" }
                if let chart {
                    body += SVGChart.render(chart)
                } else if isHeadline(result) {
                    body += headline(result)
                } else {
                    body += "<div class=\"table\">\n"
                    Renderer.renderHTMLTable(result) { body += $0 }
                    body += "</div>\n"
                }
                body += "</figure>\n"
            case .text(let text):
                body += "<pre>\(Renderer.escapeHTML(text))</pre>\n"
            case .error(let message):
                body += "<pre class=\"error\">\(Renderer.escapeHTML(message))</pre>\n"
            }
        }
        body = sections(body)
        return Renderer.htmlHead(title: report.title, style: style)
            + "<main>\n\(body)</main>\n<footer>\(Renderer.escapeHTML(footer(report)))</footer>\n"
            + Renderer.htmlTail
    }

    /// The body with each part from an `<h2>` to the next wrapped in a `<section>`, which
    /// print keeps on one page when it fits (a heading never ends a page without its chart).
    static func sections(_ body: String) -> String {
        let parts = body.components(separatedBy: "<h2")
        guard parts.count > 1 else { return body }
        return parts[0] + parts.dropFirst().map { "<section>\n<h2" + $0 + "</section>\n" }.joined()
    }

    /// The footer line: `Cube crm (built-in sample (crm)) · run 2026-12-02 18:42 UTC · Cubist 0.9 · report.md`.
    public static func footer(_ report: Report) -> String {
        "Cube \(report.cube) (\(report.origin)) · run \(report.runDate) · Cubist \(CubistVersion.current) · \(URL(fileURLWithPath: report.file).lastPathComponent)"
    }

    /// A result of one row, at most one BY level and a few measures reads best as big
    /// figures (the member, a month, in the caption above them).
    static func isHeadline(_ result: ResultTable) -> Bool {
        let members = result.columns.count { $0.kind == .member }
        return result.rows.count == 1 && result.rowKinds == [.detail] && result.acrossLevels.isEmpty && members <= 1
            && (1...10).contains(result.columns.count - members)
    }

    /// Headline figures: one tile per measure; `growth(m)`, `yoy(m)` and `share(m)` beside
    /// `m` go under its figure (`+1.7% on a year before`).
    static func headline(_ result: ResultTable) -> String {
        var out = "<div class=\"kpis\">\n"
        let row = result.rows[0]
        let digits = Renderer.fractionDigits(result)
        if let j = result.columns.firstIndex(where: { $0.kind == .member }) {
            out = "<p class=\"kpi-of\">\(Renderer.escapeHTML(result.columns[j].name)) \(Renderer.escapeHTML(row[j].description))</p>\n" + out
        }
        let notes = ["yoy": "on a year before", "growth": "on the period before", "share": "of the total"]
        var attached = Set<Int>()
        var subline: [Int: [String]] = [:]
        for (j, c) in result.columns.enumerated() where c.kind == .measure {
            for (function, words) in notes {
                let prefix = function + "(", name = c.name
                guard name.hasPrefix(prefix), name.hasSuffix(")") else { continue }
                let inner = String(name.dropFirst(prefix.count).dropLast())
                guard let base = result.columns.firstIndex(where: { $0.name == inner && $0.kind == .measure }) else { continue }
                var text = Renderer.display(row[j], c.format, digits: digits[j])
                if text.isEmpty { continue }
                if function != "share", !text.hasPrefix("-") { text = "+" + text }
                subline[base, default: []].append("\(text) \(words)")
                attached.insert(j)
            }
        }
        for (j, c) in result.columns.enumerated() where c.kind == .measure && !attached.contains(j) {
            let value = Renderer.display(row[j], c.format, digits: digits[j])
            out += "<div class=\"kpi\"><div class=\"label\">\(Renderer.escapeHTML(c.name))</div><div class=\"value\">\(Renderer.escapeHTML(value.isEmpty ? "–" : value))</div>"
            for line in subline[j] ?? [] {
                let cls = line.hasPrefix("-") ? "down" : line.hasPrefix("+") ? "up" : "flat"
                out += "<div class=\"change \(cls)\">\(Renderer.escapeHTML(line))</div>"
            }
            out += "</div>\n"
        }
        return out + "</div>\n"
    }

    static let style = """
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0; line-height: 1.45; }
        main, footer { max-width: 760px; margin: 0 auto; padding: 0 16px; }
        main { padding-top: 24px; }
        h1 { font-size: 1.8em; margin: 0.2em 0 0.4em; }
        h2 { font-size: 1.3em; margin-top: 1.6em; border-bottom: 1px solid #e5e5e5; padding-bottom: 0.2em; break-after: avoid; page-break-after: avoid; }
        h3 { break-after: avoid; page-break-after: avoid; }
        figure { margin: 1em 0 1.4em; break-inside: avoid; page-break-inside: avoid; }
        figcaption { font-weight: 600; margin-bottom: 0.4em; }
        svg.chart { max-width: 100%; height: auto; display: block; }
        div.table { overflow-x: auto; }
        table { border-collapse: collapse; font-size: 0.92em; }
        th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e5e5e5; white-space: nowrap; }
        th { text-align: left; background: #f5f5f7; font-weight: 600; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        tr.summary td { font-weight: 600; }
        p.rows { color: #777; font-size: 0.85em; margin: 0.3em 0 0; }
        .kpis { display: flex; flex-wrap: wrap; gap: 12px; }
        .kpi { flex: 1 1 140px; border: 1px solid #e5e5e5; border-radius: 8px; padding: 10px 14px; }
        .kpi .label { color: #666; font-size: 0.85em; }
        .kpi .value { font-size: 1.5em; font-weight: 600; font-variant-numeric: tabular-nums; }
        .kpi .change { font-size: 0.85em; color: #555; }
        .kpi .change.up { color: #1b7f3b; }
        .kpi .change.down { color: #b3261e; }
        p.kpi-of { color: #666; margin: 0 0 0.4em; }
        pre { background: #f5f5f7; padding: 0.6em 0.8em; overflow-x: auto; font-size: 0.85em; }
        pre.error { background: #fff3f3; border-left: 4px solid #c62828; white-space: pre-wrap; }
        footer { margin-top: 3em; padding-top: 0.6em; padding-bottom: 2em; border-top: 1px solid #e5e5e5; color: #777; font-size: 0.8em; }
        section { break-inside: avoid; page-break-inside: avoid; }
        @media print {
          main, footer { max-width: none; padding: 0; }
          body { font-size: 9.5pt; }
          h1 { font-size: 1.6em; }
          h2 { margin-top: 1em; }
          figure { margin: 0.5em 0 0.8em; }
          svg.chart { width: auto; max-width: 100%; max-height: 62mm; }
          .kpi { padding: 6px 10px; }
          .kpi .value { font-size: 1.3em; }
          footer { margin-top: 1.5em; }
        }
        @page { margin: 14mm; }
        """
}

/// Writes a report as Markdown: the prose as written, results as Markdown tables, charts
/// as SVG files in a folder beside the document (`OUT-files/chart-N.svg`), linked as images.
public enum MarkdownReport {
    /// The document; `charts` receives each chart's file name (relative to the document)
    /// and SVG text, in order.
    public static func render(_ report: Report, chartFolder: String, charts: (String, String) -> Void) -> String {
        var out = ""
        var n = 0
        // Results stand apart from the prose and from each other by a blank line, or a
        // Markdown viewer would run a table into the paragraph above it.
        func blankLine() {
            if out.isEmpty { return }
            if !out.hasSuffix("\n") { out += "\n" }
            if !out.hasSuffix("\n\n") { out += "\n" }
        }
        for item in report.items {
            if case .prose(let text) = item {
                if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
                blankLine()
                out += text.drop { $0 == "\n" }
                continue
            }
            blankLine()
            switch item {
            case .prose:
                break
            case .result(let result, let chart, let heading):
                if let heading { out += "**\(Renderer.markdownCell(heading))**\n\n" }
                if let chart {
                    n += 1
                    let name = "\(chartFolder)/chart-\(n).svg"
                    charts(name, SVGChart.render(chart))
                    let alt = chart.panels.map(\.measure).joined(separator: ", ") + (chart.xTitle.isEmpty ? "" : " by \(chart.xTitle)")
                    out += "![\(alt.replacingOccurrences(of: "]", with: ")"))](\(name.replacingOccurrences(of: " ", with: "%20")))\n"
                } else {
                    out += Renderer.render(result, as: .markdown)
                }
            case .text(let text):
                out += "```\n" + text + (text.hasSuffix("\n") ? "" : "\n") + "```\n"
            case .error(let message):
                out += "```text\n" + message + (message.hasSuffix("\n") ? "" : "\n") + "```\n"
            }
        }
        blankLine()
        return out + "---\n\n*\(HTMLReport.footer(report).replacingOccurrences(of: "*", with: "\\*"))*\n"
    }
}

extension Report {
    /// The results as a workbook, a worksheet each, named by the statement's comment or
    /// else the heading of the section it is in (`Top 10 customers of the month`,
    /// `... (2)` for a second result there); the prose and charts are left out.
    public func workbook() -> Workbook {
        var workbook = Workbook()
        var section: String?
        for item in items {
            switch item {
            case .prose(let text):
                for line in text.split(separator: "\n") where line.hasPrefix("#") {
                    let heading = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
                    if !heading.isEmpty { section = heading }
                }
            case .result(let result, _, let heading):
                workbook.add(result, name: heading ?? section)
            case .text, .error:
                break
            }
        }
        return workbook
    }
}

/// Prints HTML to PDF with a headless Chromium found on the PATH.
public enum PDFPrinter {
    /// The program names tried, in order.
    public static let programs = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]

    /// The first of `programs` on the PATH.
    public static func findBrowser() -> String? {
        programs.lazy.compactMap(onPath).first
    }

    /// The full path of the executable `name` in a folder of the PATH, or nil.
    public static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Why printing failed.
    public struct Failure: Error {
        /// What went wrong and what to do, one sentence.
        public let message: String
    }

    /// Writes `html` to a temporary file and has the browser print it to `pdf`.
    public static func print(html: String, to pdf: String) throws(Failure) {
        guard let browser = findBrowser() else {
            throw Failure(message: "PDF output needs Chromium, and none of \(programs.joined(separator: ", ")) is on the PATH; install it (apt-get install chromium) or write .html")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("cubist-report-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        } catch {
            throw Failure(message: "cannot make a temporary folder for the PDF: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: work) }
        let page = work.appendingPathComponent("report.html")
        let target = URL(fileURLWithPath: pdf).standardizedFileURL
        do {
            try Data(html.utf8).write(to: page)
        } catch {
            throw Failure(message: "cannot write the page to print: \(error.localizedDescription)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", "--user-data-dir=\(work.path)/profile",
                             "--print-to-pdf=\(target.path)", page.absoluteString]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw Failure(message: "cannot start \(browser): \(error.localizedDescription)")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: target.path) else {
            let detail = String(decoding: message, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            throw Failure(message: "\(browser) could not print the PDF (exit status \(process.terminationStatus))\(detail.isEmpty ? "" : ": \(detail)")")
        }
    }
}
