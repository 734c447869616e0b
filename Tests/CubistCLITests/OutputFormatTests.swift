import Foundation
import Testing

/// Every output format end to end, parsed back where a parser exists; the dot commands that
/// route output; `.read` of nested files.
@Suite(.serialized) struct OutputFormatTests {
    static let query = "SELECT revenue, orders, share(revenue) BY ROLLUP(channel.type) WHERE channel.type <> 'Online'"

    // Figures cross-checked with DuckDB on datasets/crm; share() is of the filtered total.
    @Test func csvParsesBackToTheExactValues() throws {
        let run = try cubist(["--format", "csv", "-c", OutputFormatTests.query])
        #expect(run.status == 0)
        let rows = run.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows[0] == ["channel.type", "revenue", "orders", "share(revenue)"])
        #expect(rows[1].prefix(3) == ["Direct", "12194246.04", "9691"])
        #expect(rows[3].prefix(3) == ["", "22973549.01", "22035"])
        #expect(Double(rows[1][3]).map { abs($0 - 12194246.04 / 22973549.01) < 1e-15 } == true)
        let tsv = try cubist(["--format", "tsv", "-c", OutputFormatTests.query])
        #expect(tsv.stdout.split(separator: "\n")[2] == "Offline\t10779302.97\t12344\t\(rows[2][3])")
    }

    @Test func jsonAndJsonlParseBack() throws {
        let run = try cubist(["--format", "json", "-c", OutputFormatTests.query])
        let array = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]]
        #expect(array?.count == 3)
        #expect(array?[0]["channel.type"] as? String == "Direct")
        #expect((array?[0]["orders"] as? NSNumber)?.intValue == 9691)
        #expect(array?[2]["channel.type"] is NSNull)
        #expect(run.stdout.contains("\"revenue\":12194246.04,"))
        let lines = try cubist(["--format", "jsonl", "-c", OutputFormatTests.query]).stdout.split(separator: "\n")
        #expect(lines.count == 3)
        let last = try JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any]
        #expect((last?["orders"] as? NSNumber)?.intValue == 22035)
    }

    @Test func markdownAndHtmlAreFormattedForPeople() throws {
        let md = try cubist(["--format", "markdown", "-c", OutputFormatTests.query]).stdout
        #expect(md.hasPrefix("| channel.type | revenue | orders | share(revenue) |\n| --- | ---: | ---: | ---: |\n| Direct | 12,194,246.04 | 9,691 | 53.1% |\n"))
        #expect(md.hasSuffix("| Total | 22,973,549.01 | 22,035 | 100.0% |\n"))
        let html = try cubist(["--format", "html", "-c", "SELECT orders AS \"<b>&\" BY channel.type LIMIT 1"]).stdout
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<th class=\"n\">&lt;b&gt;&amp;</th>"))
        #expect(html.contains("<tr><td>Direct</td><td class=\"n\">9,691</td></tr>"))
        #expect(html.hasSuffix("</html>\n"))
    }

    @Test func outputOnceReadAndModeRouteResults() throws {
        let dir = try temporaryDirectory()
        try ".mode json\n.once \(dir)/once.json\nSELECT lines;\nSELECT orders BY channel.type LIMIT 1;\n.read \(dir)/inner.cq\n"
            .write(toFile: dir + "/outer.cq", atomically: true, encoding: .utf8)
        try ".mode csv\n.output \(dir)/out.csv\nSELECT lines BY time.year LIMIT 1;\n.output\nSELECT 1 AS done;\n"
            .write(toFile: dir + "/inner.cq", atomically: true, encoding: .utf8)
        let run = try cubist(["-f", dir + "/outer.cq"])
        #expect(run.status == 0)
        #expect(run.stdout == "[\n  {\"channel.type\":\"Direct\",\"orders\":9691}\n]\ndone\n1\n")
        #expect(try String(contentsOfFile: dir + "/once.json", encoding: .utf8) == "[\n  {\"lines\":100000}\n]\n")
        #expect(try String(contentsOfFile: dir + "/out.csv", encoding: .utf8) == "time.year,lines\n2022,20400\n")
        let file = try cubist(["--output", dir + "/all.csv", "-c", "SELECT lines"])
        let written = try String(contentsOfFile: dir + "/all.csv", encoding: .utf8)
        #expect(file.stdout == "" && written == "lines\n100000\n")
        #expect(try cubist(["--output", dir, "-c", "SELECT orders"]).status == 2)
    }

    @Test func badDotCommandsAndReadCyclesAreLocatedErrors() throws {
        let dir = try temporaryDirectory()
        try "SELECT 1 AS one;\n.read \(dir)/b.cq\n".write(toFile: dir + "/a.cq", atomically: true, encoding: .utf8)
        try "\n.read \(dir)/a.cq\n".write(toFile: dir + "/b.cq", atomically: true, encoding: .utf8)
        let cycle = try cubist(["-f", dir + "/a.cq"])
        #expect(cycle.status == 1)
        #expect(cycle.stdout == "one\n1\n")
        #expect(cycle.stderr == "\(dir)/b.cq:2:7: error: '\(dir)/a.cq' is already being read (.read cycle)\n 2 | .read \(dir)/a.cq\n   |       \(String(repeating: "^", count: dir.count + 5))\nhelp: remove the .read that leads back to it\n")
        let bad = try cubist(["--continue-on-error", "-c", ".mode xml", "-c", ".output \(dir)", "-c", ".read \(dir)/missing.cq", "-c", ".maxrows -1"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("<command>:1:7: error: unknown format 'xml'\n"))
        #expect(bad.stderr.contains("error: cannot write to '\(dir)': it is a directory\n"))
        #expect(bad.stderr.contains("<command>:1:7: error: cannot read '\(dir)/missing.cq'"))
        #expect(bad.stderr.contains("<command>:1:10: error: '.maxrows' takes a whole number\n"))
    }
}
