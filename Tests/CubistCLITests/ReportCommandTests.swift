import Foundation
import Testing

/// `cubist report` end to end: files written, exit statuses, messages.
@Suite struct ReportCommandTests {
    let report = """
        # Channels in $month

        ```cubist
        -- Revenue by channel type
        SELECT revenue BY channel.type WHERE time.month = $month CHART hbar;
        SELECT orders BY channel.type WHERE time.month = $month;
        ```
        """

    func write(_ text: String, _ name: String, in dir: String) throws -> String {
        let path = dir + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func writesHTMLAndMarkdownWithChartFiles() throws {
        let dir = try temporaryDirectory()
        let file = try write(report, "channels.md", in: dir)
        let html = try cubist(["report", file, "-o", dir + "/out.html", "--param", "month=2025-11"])
        #expect(html.status == 0, "\(html.stderr)")
        #expect(html.stderr.hasPrefix("wrote \(dir)/out.html: 2 results, 1 charts in "))
        let page = try String(contentsOfFile: dir + "/out.html", encoding: .utf8)
        #expect(page.contains("<title>Channels in 2025-11</title>"))
        #expect(page.contains("<figcaption>Revenue by channel type</figcaption>"))
        let md = try cubist(["report", file, "-o", dir + "/out.md", "--param", "month=2025-11", "--quiet"])
        #expect(md.status == 0 && md.stderr.isEmpty, "\(md.stderr)")
        let markdown = try String(contentsOfFile: dir + "/out.md", encoding: .utf8)
        #expect(markdown.contains("![revenue by channel.type](out-files/chart-1.svg)"))
        #expect(markdown.contains("| Online | 759 |"))
        let xlsx = try cubist(["report", file, "-o", dir + "/out.xlsx", "--param", "month=2025-11", "--quiet"])
        #expect(xlsx.status == 0, "\(xlsx.stderr)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/out.xlsx"))
        #expect(bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]))
        let svg = try String(contentsOfFile: dir + "/out-files/chart-1.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
    }

    @Test func aFailedStatementWritesNothingAndExitsWithOne() throws {
        let dir = try temporaryDirectory()
        let file = try write(report, "channels.md", in: dir)
        let run = try cubist(["report", file, "-o", dir + "/out.html"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("channels.md:5:57: error: the parameter $month is not set") || run.stderr.contains("channels.md:5:"), "\(run.stderr)")
        #expect(run.stderr.contains("report stopped: \(dir)/out.html was not written"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.html"))
        let going = try cubist(["report", file, "-o", dir + "/out.html", "--continue-on-error"])
        #expect(going.status == 1)
        #expect(FileManager.default.fileExists(atPath: dir + "/out.html"))
        #expect(going.stderr.contains("2 errors"))
    }

    @Test func badUsageExitsWithTwo() throws {
        let dir = try temporaryDirectory()
        let file = try write(report, "channels.md", in: dir)
        let docx = try cubist(["report", file, "-o", dir + "/out.docx"])
        #expect(docx.status == 2)
        #expect(docx.stderr.contains("--output must end in .html, .md, .pdf or .xlsx, got '\(dir)/out.docx' (.docx)"))
        let missing = try cubist(["report", dir + "/nope.md", "-o", dir + "/out.html"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.md"))
        let cube = try cubist(["report", file, "-o", dir + "/out.html", "--cube", dir + "/nothing"])
        #expect(cube.status == 2)
    }
}
