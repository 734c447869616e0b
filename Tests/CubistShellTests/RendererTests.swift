import CubistCore
import CubistEngine
import CubistFormats
import Foundation
import Testing

@Suite struct RendererTests {
    let result = ResultTable(
        columns: [ResultColumn(name: "city", kind: .member, format: nil), ResultColumn(name: "revenue", kind: .measure, format: .money),
                  ResultColumn(name: "share", kind: .measure, format: .percent)],
        rows: [[.text("서울특별시 강남구 역삼동 테헤란로"), .exact(123_456_789, scale: 2), .double(0.1234)],
               [.text("Seoul"), .exact(-5, scale: 3), .null],
               [.null, .exact(123_456_784, scale: 2), .double(1)]],
        rowKinds: [.detail, .detail, .total])

    @Test func tablesFitTheTerminalByDisplayWidth() {
        let text = Renderer.render(result, as: .table, options: RenderOptions(width: 34))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.dropLast().allSatisfy { DisplayWidth.of($0) <= 34 }, "\(lines)")
        #expect(lines[2].hasPrefix("서울특별시 …"))
        #expect(lines[3] == "Seoul" + String(repeating: " ", count: 16) + "-0.01")
        #expect(lines[4].hasPrefix("Total"))
        #expect(lines[4].hasSuffix("1,234,567.84  100.0%"))
        #expect(lines.last == "3 rows")
    }

    @Test func numbersAreNeverCut() {
        let wide = ResultTable(columns: [ResultColumn(name: "region", kind: .member, format: nil)]
                                + (1...6).map { ResultColumn(name: "202\($0)", kind: .measure, format: .money) },
                               rows: [[.text("Gyeonggi")] + (1...6).map { _ in .exact(1_234_567_891, scale: 2) }], rowKinds: [.detail])
        let text = Renderer.render(wide, as: .table, options: RenderOptions(width: 40))
        let lines = text.split(separator: "\n").map(String.init)
        // The middle columns hide behind one "…" column; the shown numbers and members are whole.
        #expect(lines[0] == "region     …            2026")
        #expect(lines[2] == "Gyeonggi   …   12,345,678.91")
        #expect(lines.dropLast().allSatisfy { DisplayWidth.of($0) <= 40 }, "\(lines)")
        #expect(lines.last == "1 row, 5 of 7 columns hidden to fit the terminal (.mode csv or .output FILE shows all)")
        let roomier = Renderer.render(wide, as: .table, options: RenderOptions(width: 80)).split(separator: "\n").map(String.init)
        #expect(roomier[0] == "region             2021           2022   …            2025           2026")
        #expect(roomier.last == "1 row, 2 of 7 columns hidden to fit the terminal (.mode csv or .output FILE shows all)")
    }

    @Test func cutMembersKeepWhatTellsThemApart() {
        let channels = ResultTable(columns: [ResultColumn(name: "channel", kind: .member, format: nil), ResultColumn(name: "n", kind: .measure, format: nil)],
                                   rows: [[.text("Offline store"), .integer(1)], [.text("Online store"), .integer(2)], [.text("Seoul-Gangnam"), .integer(3)],
                                          [.text("Seoul-Mapo"), .integer(4)]],
                                   rowKinds: [.detail, .detail, .detail, .detail])
        let lines = Renderer.render(channels, as: .table, options: RenderOptions(width: 10)).split(separator: "\n").map(String.init)
        // Never shorter than the prefix that tells the members apart ("Seoul-G…", "Seoul-M…").
        #expect(lines[2...5].map { String($0.prefix(8)) } == ["Offline…", "Online …", "Seoul-G…", "Seoul-M…"])
    }

    /// A wide, sparse crosstab (400 × 500 cells, mostly empty) renders in table mode in
    /// linear time: trimming a row's trailing blanks was quadratic (31 s, now well under 1 s).
    @Test func wideSparseTablesRenderFast() {
        let columns = [ResultColumn(name: "customer", kind: .member, format: nil)]
            + (0..<500).map { ResultColumn(name: "p\($0)", kind: .measure, format: .money) }
        let rows: [[Value]] = (0..<400).map { r in [.text("Customer #\(r)")] + (0..<500).map { c in c == r % 7 ? .exact(12345, scale: 2) : .null } }
        let started = Date()
        let text = Renderer.render(ResultTable(columns: columns, rows: rows, rowKinds: rows.map { _ in .detail }), as: .table)
        #expect(Date().timeIntervalSince(started) < 10)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 404)
        #expect(lines[2].hasPrefix("Customer #0    123.45"), "\(lines[2].prefix(40))")
        #expect(!lines[2].hasSuffix(" "))
    }

    /// Ctrl-C stops rendering too: the renderer asks every 64 KiB and stops writing.
    @Test func renderingStopsWhenCancelled() {
        let many = ResultTable(columns: [ResultColumn(name: "n", kind: .measure, format: nil)],
                               rows: (1...200_000).map { [.integer($0)] }, rowKinds: Array(repeating: .detail, count: 200_000))
        for format in [OutputFormat.table, .csv, .json] {
            var written = 0
            let complete = Renderer.render(many, as: format, options: RenderOptions(isCancelled: { true })) { written += $0.utf8.count }
            #expect(!complete)
            #expect(written == 0, "\(format): \(written) bytes after cancelling")
            var all = 0
            #expect(Renderer.render(many, as: format, options: RenderOptions(isCancelled: { false })) { all += $0.utf8.count })
            #expect(all > 1_000_000)
        }
    }

    @Test func longResultsShowTheFirstAndLastRows() {
        let many = ResultTable(columns: [ResultColumn(name: "n", kind: .measure, format: nil)],
                               rows: (1...100).map { [.integer($0)] }, rowKinds: Array(repeating: .detail, count: 100))
        let text = Renderer.render(many, as: .table, options: RenderOptions(elapsed: "1.0 ms", maxRows: 4))
        #expect(text == "  n\n---\n  1\n  2\n  …\n 99\n100\n100 rows (4 shown; .maxrows 0 shows all) (1.0 ms)\n")
    }

    @Test func machineFormatsKeepFullPrecisionAndEscape() {
        #expect(Renderer.render(result, as: .csv) == "city,revenue,share\n서울특별시 강남구 역삼동 테헤란로,1234567.89,0.1234\nSeoul,-0.005,\n,1234567.84,1\n")
        let tricky = ResultTable(columns: [ResultColumn(name: "a,b", kind: .member, format: nil)], rows: [[.text("say \"hi\"\n")]], rowKinds: [.detail])
        #expect(Renderer.render(tricky, as: .csv) == "\"a,b\"\n\"say \"\"hi\"\"\n\"\n")
        #expect(Renderer.render(tricky, as: .jsonl) == "{\"a,b\":\"say \\\"hi\\\"\\n\"}\n")
        #expect(Renderer.render(tricky, as: .markdown) == "| a,b |\n| --- |\n| say \"hi\"  |\n")
    }
}
