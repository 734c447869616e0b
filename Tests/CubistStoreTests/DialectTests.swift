import CubistCore
import Testing
@testable import CubistStore

private func sniff(_ text: String, _ options: CSVOptions = CSVOptions()) -> CSVDialect {
    Array(text.utf8).withUnsafeBufferPointer { CSVSniffer.sniff($0, options: options) }
}

private func day(_ format: DateFormat, _ text: String) -> String? {
    Array(text.utf8).withUnsafeBufferPointer { field in
        if case .day(let d) = format.parse(field) { return CivilDate.isoDate(Int(d)) }
        return nil
    }
}

private func detect(_ values: [String]) -> DateFormat.Outcome {
    var detector = DateFormat.Detector()
    for v in values { Array(v.utf8).withUnsafeBufferPointer { detector.see($0) } }
    return detector.outcome
}

@Suite struct DialectTests {
    @Test func delimitersQuotesEscapesAndDecimalCommas() {
        #expect(sniff("city;amount\nSeoul;10,5\nBusan;3,25\n") == CSVDialect(delimiter: 59, decimalComma: true))
        #expect(sniff("a\tb\n\"x, y\"\t1.5\n") == CSVDialect(delimiter: 9))
        #expect(sniff("a|b|c\n1|2|3\n") == CSVDialect(delimiter: 124))
        #expect(sniff("name,n\n'O''Brien, J',1\n'Kim',2\n") == CSVDialect(quote: 39, escape: 39))
        #expect(sniff("a,b\n\"say \\\"hi\\\"\",1\n") == CSVDialect(escape: 92))
        #expect(sniff("a,b\n5\" screen,1\n") == CSVDialect(quote: nil))
        // A ragged row does not make a comma file one column wide.
        #expect(sniff("a,b,c\n1,2,3\n4,5\n6,7,8\n").delimiter == 44)
        // 1.234 with three decimals could group thousands: a point file stays a point file.
        #expect(!sniff("a;b\nx;1.5\ny;2,000\n").decimalComma)
        #expect(sniff("a;b\nx;1,234\n").decimalComma)
        // Options win over detection.
        var options = CSVOptions()
        #expect(options.set("delimiter", "tab") == nil)
        #expect(options.set("decimal", ",") == nil)
        #expect(sniff("a,b\n1,2\n", options) == CSVDialect(delimiter: 9, decimalComma: true))
        #expect(options.set("delimiter", "ab")?.contains("one ASCII character") == true)
        #expect(options.set("encodng", "x")?.contains("did you mean 'encoding'?") == true)
        #expect(options.set("encoding", "latin9")?.hasPrefix("unknown encoding 'latin9'") == true)
    }

    @Test func headerOrNot() {
        #expect(sniff("2024-01-01,1,2.5\n2024-01-02,2,3\n").header == false)
        #expect(sniff("day,n,x\n2024-01-02,2,3\n").header)
        #expect(sniff("a,b\nx,y\n").header)
        #expect(sniff("2023,2024\n5,6\n").header == false)
    }

    @Test func everyDetectedFormatWithTimes() throws {
        let cases: [(String, String)] = [("%Y-%m-%d", "2024-03-05"), ("%Y-%m-%d", "2024-03-05T10:15:00Z"), ("%Y-%m-%d", "2024-03-05 10:15:00.123+09:00"),
                                         ("%Y/%m/%d", "2024/3/5"), ("%Y.%m.%d", "2024.03.05"), ("%d.%m.%Y", "05.03.2024 23:59"),
                                         ("%m/%d/%Y", "3/5/2024 3:05 PM"), ("%d/%m/%Y", "5/3/2024"), ("%d-%m-%Y", "05-03-2024"),
                                         ("%b %d %Y", "Mar 5 2024"), ("%b %d %Y", "march 5 2024"), ("%b %d, %Y", "Mar. 5, 2024"),
                                         ("%d %b %Y", "5 Mar 2024"), ("%d-%b-%Y", "05-MAR-2024")]
        for (pattern, text) in cases {
            #expect(day(try DateFormat(pattern: pattern), text) == "2024-03-05", "\(pattern) \(text)")
        }
        let us = try DateFormat(pattern: "%m/%d/%Y")
        #expect(day(us, "2/30/2024") == nil)
        #expect(day(us, "13/1/2024") == nil)
        #expect(day(us, "1/31/2024 25:00") == nil)
        #expect(day(us, "1/31/2024 13:00 PM") == nil)
        #expect(day(try DateFormat(pattern: "%d.%m.%Y %H:%M"), "05.03.2024 10:30") == "2024-03-05")
        #expect(throws: DateFormat.PatternError.self) { try DateFormat(pattern: "%Y-%m") }
        #expect(throws: DateFormat.PatternError.self) { try DateFormat(pattern: "%Y-%m-%q") }
    }

    @Test func dayAndMonthOrder() throws {
        #expect(detect(["1/31/2024", "2/1/2024"]) == .format(try DateFormat(pattern: "%m/%d/%Y")))
        #expect(detect(["31/1/2024", "1/2/2024"]) == .format(try DateFormat(pattern: "%d/%m/%Y")))
        #expect(detect(["1/2/2024", "3/4/2024"]) == .ambiguous([try DateFormat(pattern: "%m/%d/%Y"), try DateFormat(pattern: "%d/%m/%Y")]))
        #expect(detect(["2024-01-02", "", "2024-12-31"]) == .format(.iso))
        #expect(detect(["2024-01-02", "soon"]) == .none)
        #expect(detect(["", " "]) == .none)
    }

    @Test func encodingsTranscodeExactlyOrFailLocated() throws {
        // "서울" in CP949, UTF-16LE with a byte-order mark, UTF-16BE.
        let cp949: [UInt8] = Array("city,n\n".utf8) + [0xBC, 0xAD, 0xBF, 0xEF] + Array(",1\n".utf8)
        let input = try CSVInput.prepare(cp949, options: CSVOptions(), file: "k.csv")
        #expect(input.encoding == .cp949)
        #expect(String(decoding: input.bytes, as: UTF8.self) == "city,n\n서울,1\n")
        let le: [UInt8] = [0xFF, 0xFE] + Array("a\tb\n서\t1\n".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let u16 = try CSVInput.prepare(le, options: CSVOptions(), file: "u.txt")
        #expect(u16.encoding == .utf16le && u16.dialect.delimiter == 9 && String(decoding: u16.bytes, as: UTF8.self) == "a\tb\n서\t1\n")
        let be: [UInt8] = [0xFE, 0xFF] + Array("a,b\n1,2\n".utf16).flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        #expect(String(decoding: try CSVInput.prepare(be, options: CSVOptions(), file: "b.csv").bytes, as: UTF8.self) == "a,b\n1,2\n")
        // An invalid CP949 byte is located by line and column.
        var options = CSVOptions()
        _ = options.set("encoding", "cp949")
        do {
            _ = try CSVInput.prepare(Array("a,b\nx,".utf8) + [0xFF, 0xFF], options: options, file: "k.csv")
            Issue.record("an invalid CP949 byte must fail")
        } catch {
            #expect(error.headline == "k.csv:2:3: error: bytes 0xFF 0xFF are not valid cp949 text")
        }
    }

    @Test func modelOptionsAndTimeDimensionFormats() throws {
        let model = """
            {"name": "s", "facts": "f.csv", "csv": {"delimiter": ";", "decimal": ","},
             "dimensions": [{"name": "time", "type": "time", "column": "d", "date_format": "%d/%m/%Y"}, {"name": "shop", "levels": ["shop"]}],
             "measures": [{"name": "amount", "aggregate": "sum", "column": "amount"}]}
            """
        let parsed = try ModelParser.parse(Array(model.utf8), file: "cube.json")
        let facts = "d;shop;amount\n1/2/2024;A;1,5\n3/2/2024;B;2,25\n"
        let cube = try CubeLoader.load(model: parsed, files: MemoryFiles(["f.csv": Array(facts.utf8)], label: "m"), origin: "m")
        // 1/2/2024 is the first of February under %d/%m/%Y.
        let days = cube.dimensions[0].levels[3].members
        #expect([0, 1].map { days[Int(cube.facts.dimensionCodes[0][$0])] } == ["2024-02-01", "2024-02-03"])
        #expect(cube.fileFormats == ["f.csv: utf-8, delimiter ';', quote '\"', decimal comma, header; dates in d: %d/%m/%Y"])
        let amount = try #require(cube.numericColumn(named: "amount"))
        #expect(amount.mantissa(at: 1) == 225)
        let bad = #"{"facts": "f.csv", "csv": {"delimter": ";"}, "dimensions": [{"name": "x", "levels": ["x"]}]}"#
        do {
            _ = try ModelParser.parse(Array(bad.utf8), file: "cube.json")
            Issue.record("an unknown CSV option must fail")
        } catch {
            #expect(error.headline == "cube.json:1:28: error: unknown key \"delimter\" in \"csv\"")
        }
    }
}
