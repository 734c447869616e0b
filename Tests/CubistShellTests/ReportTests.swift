import CubistCharts
import CubistCore
import CubistEngine
import CubistGenerator
import CubistReports
import CubistShell
import CubistStore
import Foundation
import Testing

@Suite struct ReportTests {
    let cube: Cube
    init() throws { cube = try CRMSample.cube() }

    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs").standardized
    /// A fixed run date, so the documents compare as text.
    static let runDate = Date(timeIntervalSince1970: 1_764_547_200)  // 2025-12-01 00:00 UTC

    func run(_ text: String, parameters: [String: String] = [:], continueOnError: Bool = false, errors: ((String) -> Void)? = nil) -> ReportRunner.Outcome {
        let session = Session(cube: cube, output: StringOutput(), errors: errors ?? { _ in })
        session.parameters = parameters
        return ReportRunner.run(ReportSource(text), file: "report.md", session: session, continueOnError: continueOnError, now: Self.runDate)
    }

    func director() throws -> Report {
        let text = try String(contentsOf: Self.docs.appendingPathComponent("examples/director.md"), encoding: .utf8)
        guard case .finished(let report) = run(text, parameters: ["month": "2025-11"]) else {
            Issue.record("the director's report failed")
            throw CancellationError()
        }
        return report
    }

    @Test func sourceSplitsAtCubistFencesOnly() {
        let source = ReportSource("""
            Intro
            ## Part one
            ```cubist
            SELECT revenue;
            ```
            ~~~python
            print(1)
            ~~~
            ``` Cubist extra
            SELECT orders;
            SELECT lines;
            ```
            end
            ```cubist
            SELECT 1
            """)
        #expect(source.parts == [
            .prose("Intro\n## Part one"),
            .block(code: "SELECT revenue;", line: 4),
            .prose("~~~python\nprint(1)\n~~~"),
            .block(code: "SELECT orders;\nSELECT lines;", line: 10),
            .prose("end"),
            .block(code: "SELECT 1", line: 15),
        ])
        #expect(source.title == "Part one")
        #expect(ReportSource("## Sub\n# Main title #\n").title == "Main title")
    }

    @Test func theDirectorsReportAsHTML() throws {
        let report = try director()
        #expect(report.title == "Sales director's report: 2025-11")
        #expect(report.resultCount == 7)
        #expect(report.chartCount == 3)
        let html = HTMLReport.render(report)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.components(separatedBy: "<svg ").count - 1 == 3)
        // No scripts, nothing fetched from the network.
        #expect(!html.contains("<script"))
        #expect(!html.contains("http://") || html.components(separatedBy: "http://").dropFirst().allSatisfy { $0.hasPrefix("www.w3.org/2000/svg") })
        #expect(!html.contains("https://"))
        // Headline figures with the change on a year before.
        #expect(html.contains("<div class=\"label\">revenue</div><div class=\"value\">1,320,432.19</div><div class=\"change up\">+1.7% on a year before</div>"))
        #expect(html.contains("<div class=\"label\">orders</div><div class=\"value\">1,448</div><div class=\"change up\">+10.5% on a year before</div>"))
        #expect(html.contains("<td>Yoo Doyun #1229</td><td class=\"n\">116,240.92</td>"))
        #expect(html.contains("<div class=\"label\">churned</div><div class=\"value\">326</div>"))
        #expect(html.contains("<h1>Sales director&#39;s report: 2025-11</h1>") || html.contains("<h1>Sales director's report: 2025-11</h1>"))
        #expect(html.contains("<footer>Cube sales (built-in sample (datasets/crm)) · run 2025-12-01 00:00 UTC · Cubist "))
    }

    /// The Markdown document is a golden file (CUBIST_RECORD_REPORTS=1 writes it again).
    @Test func theDirectorsReportAsMarkdown() throws {
        let report = try director()
        var charts: [(String, String)] = []
        let markdown = MarkdownReport.render(report, chartFolder: "director-files") { charts.append(($0, $1)) }
        #expect(charts.map(\.0) == ["director-files/chart-1.svg", "director-files/chart-2.svg", "director-files/chart-3.svg"])
        #expect(charts.allSatisfy { $0.1.hasPrefix("<svg xmlns=") })
        let versionFree = markdown.replacingOccurrences(of: "Cubist \(CubistVersion.current)", with: "Cubist VERSION")
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("reports/director.md")
        if ProcessInfo.processInfo.environment["CUBIST_RECORD_REPORTS"] != nil {
            try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(versionFree.utf8).write(to: path)
        } else {
            let golden = try String(contentsOf: path, encoding: .utf8)
            #expect(golden == versionFree, "reports/director.md differs; CUBIST_RECORD_REPORTS=1 writes it again")
        }
    }

    @Test func aFailedStatementStopsTheReportAtItsLine() {
        let text = "# T\n\n```cubist\nSELECT revenue;\nSELECT revnue BY channel.type;\n```\n"
        guard case .failed(let error) = run(text) else {
            Issue.record("the report should have failed")
            return
        }
        #expect(error.hasPrefix("report.md:5:8: error: unknown measure 'revnue'"), "\(error)")
        #expect(error.contains(" 5 | SELECT revnue BY channel.type;"))
    }

    @Test func continueOnErrorShowsTheErrorWhereTheResultWouldBe() throws {
        let text = "# T\n\n```cubist\nSELECT revnue;\nSELECT orders;\n```\n"
        var stderr: [String] = []
        guard case .finished(let report) = run(text, continueOnError: true, errors: { stderr.append($0) }) else {
            Issue.record("the report should have finished")
            return
        }
        #expect(report.errorCount == 1)
        #expect(report.resultCount == 1)
        let html = HTMLReport.render(report)
        #expect(html.contains("<pre class=\"error\">report.md:4:8: error: unknown measure &#39;revnue&#39;"))
        #expect(stderr.count == 1)
    }

    @Test func parametersFillTheProseAndCarryAcrossBlocks() throws {
        let text = """
            # Month $month

            ```cubist
            SET $region = 'Seoul';
            ```

            Region $region, price \\$month stays, $unknown too, US$5 too.

            ```cubist
            SELECT revenue WHERE customer.region = $region AND time.month = $month;
            .chart bar
            SHOW VIEW;
            ```
            """
        guard case .finished(let report) = run(text, parameters: ["month": "2025-11"]) else {
            Issue.record("the report should have finished")
            return
        }
        #expect(report.title == "Month 2025-11")
        let markdown = MarkdownReport.render(report, chartFolder: "r-files") { _, _ in }
        #expect(markdown.contains("Region Seoul, price $month stays, $unknown too, US$5 too."))
        #expect(markdown.contains("| 431,746.07 |"), "\(markdown)")
        #expect(markdown.contains("![revenue](r-files/chart-1.svg)"))
        #expect(markdown.contains("```\nSELECT revenue WHERE customer.region = $region AND time.month = $month;\n```"), "\(markdown)")
    }

    @Test func batchMarkdownSeparatesResultsUnderTheirComments() {
        let output = StringOutput()
        let session = Session(cube: cube, output: output, errors: { Issue.record(Comment(rawValue: $0)) })
        session.format = .markdown
        #expect(session.run("""
            -- Revenue by channel type
            SELECT revenue BY channel.type;
            SELECT orders WHERE channel.type = 'Direct'; -- a note on this line
            -- By year,
            -- all of them
            SELECT lines BY time.year WHERE time.year = 2025;
            """, file: "<test>"))
        #expect(output.text == """
            ## Revenue by channel type

            | channel.type | revenue |
            | --- | ---: |
            | Direct | 12,194,246.04 |
            | Offline | 10,779,302.97 |
            | Online | 23,054,082.56 |

            | orders |
            | ---: |
            | 9,691 |

            ## By year, all of them

            | time.year | lines |
            | --- | ---: |
            | 2025 | 29,543 |

            """)
    }

    @Test func batchHTMLIsOneDocumentWithASectionPerResult() {
        let output = StringOutput()
        let session = Session(cube: cube, output: output, errors: { Issue.record(Comment(rawValue: $0)) })
        session.format = .html
        #expect(session.run("-- Channels\nSELECT revenue BY channel.type;\nSELECT revenue BY time.year CHART bar;", file: "<test>"))
        session.closeDocument()
        let html = output.text
        #expect(html.components(separatedBy: "<!DOCTYPE html>").count == 2)
        #expect(html.components(separatedBy: "</html>").count == 2)
        #expect(html.components(separatedBy: "<section>").count == 3)
        #expect(html.contains("<section>\n<h2>Channels</h2>\n<table>"))
        #expect(html.contains("<svg xmlns="))
        #expect(html.hasSuffix("</body>\n</html>\n"))
    }
}
