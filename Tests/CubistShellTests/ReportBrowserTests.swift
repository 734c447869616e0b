import CubistGenerator
import CubistReports
import CubistShell
import Foundation
import Testing

/// The director's report opened in a real browser: headless Chromium loads the page without
/// console errors, sees every chart mark, prints it to PDF, and each page becomes a
/// screenshot (in `.build/report-screenshots/`, to look at). Skipped with a message when
/// Chromium is not installed, except in CI (`CI` set), where `.ci/run` installs it.
@Suite struct ReportBrowserTests {
    static let browser = PDFPrinter.findBrowser()
    static let required = ProcessInfo.processInfo.environment["CI"] != nil

    /// Runs a program; its standard output and error.
    func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes while the program runs, so a full one never blocks it.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    @Test func theDirectorsReportOpensInChromium() throws {
        guard let browser = Self.browser else {
            if Self.required { Issue.record("Chromium is not installed; .ci/run installs it") }
            print("ReportBrowserTests skipped: no Chromium on the PATH (apt-get install chromium)")
            return
        }
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs").standardized
        let text = try String(contentsOf: docs.appendingPathComponent("examples/director.md"), encoding: .utf8)
        let session = Session(cube: try CRMSample.cube(), output: StringOutput(), errors: { _ in })
        session.parameters = ["month": "2025-11"]
        guard case .finished(let report) = ReportRunner.run(ReportSource(text), file: "director.md", session: session) else {
            Issue.record("the report failed")
            return
        }
        let html = HTMLReport.render(report)
        let shots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/report-screenshots").standardized
        try? FileManager.default.removeItem(at: shots)
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let page = shots.appendingPathComponent("director.html")
        try Data(html.utf8).write(to: page)
        let profile = shots.appendingPathComponent("profile").path
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)", "--enable-logging=stderr", "--v=0"]

        // The DOM as the browser built it: every mark of the page's SVG is there, and the
        // page logged nothing to the console.
        let dom = try run(browser, common + ["--dump-dom", page.absoluteString])
        #expect(dom.status == 0)
        for mark in ["class=\"bar\"", "class=\"point\"", "class=\"kpi\""] {
            let inPage = html.components(separatedBy: mark).count - 1
            #expect(inPage > 0)
            #expect(dom.out.components(separatedBy: mark).count - 1 == inPage, "\(mark)")
        }
        let console = dom.err.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        #expect(console.isEmpty, "console: \(console)")

        // Phone and desktop widths.
        for (name, size) in [("phone", "390,2400"), ("desktop", "1280,2400")] {
            let shot = shots.appendingPathComponent("\(name).png")
            let r = try run(browser, common + ["--hide-scrollbars", "--window-size=\(size)", "--screenshot=\(shot.path)", page.absoluteString])
            #expect(r.status == 0)
            let bytes = try Data(contentsOf: shot)
            #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && bytes.count > 20_000, "\(name): \(bytes.count) bytes")
        }

        // Printed: a PDF whose every page becomes an image.
        let pdf = shots.appendingPathComponent("director.pdf")
        try PDFPrinter.print(html: html, to: pdf.path)
        let bytes = try Data(contentsOf: pdf)
        #expect(bytes.starts(with: Array("%PDF".utf8)))
        guard let pdftoppm = PDFPrinter.onPath("pdftoppm") else {
            if Self.required { Issue.record("pdftoppm is not installed; .ci/run installs poppler-utils") }
            return
        }
        let pages = String(decoding: bytes, as: UTF8.self).components(separatedBy: "/Type /Page").count - 1
            - (String(decoding: bytes, as: UTF8.self).components(separatedBy: "/Type /Pages").count - 1)
        let r = try run(pdftoppm, ["-png", "-r", "50", pdf.path, shots.appendingPathComponent("page").path])
        #expect(r.status == 0, "\(r.err)")
        let images = try FileManager.default.contentsOfDirectory(atPath: shots.path).filter { $0.hasPrefix("page") && $0.hasSuffix(".png") }
        #expect(images.count >= 2)
        if pages > 0 { #expect(images.count == pages) }
    }
}
