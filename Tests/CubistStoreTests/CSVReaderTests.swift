import CubistCore
import Testing
@testable import CubistStore

private func records(_ text: String) throws(Diagnostic) -> [[String]] {
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBufferPointer { (buffer) throws(Diagnostic) -> [[String]] in
        let reader = CSVReader(bytes: buffer, file: "f.csv")
        var out: [[String]] = []
        while try reader.next() {
            var row: [String] = []
            for i in 0..<reader.fieldCount { row.append(try reader.string(i)) }
            out.append(row)
        }
        return out
    }
}

private func csvError(_ text: String) -> Diagnostic? {
    do {
        _ = try records(text)
        return nil
    } catch {
        return error
    }
}

@Suite struct CSVReaderTests {
    @Test func plainQuotedEscapedAndEmbeddedNewlines() throws {
        let rows = try records("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",\n")
        #expect(rows == [["a", "b", "c"], ["1", "x, y", "say \"hi\""], ["2", "two\nlines", ""]])
    }

    @Test func crlfBomAndBlankLinesAndNoFinalNewline() throws {
        let rows = try records("\u{FEFF}a,b\r\n\r\n1,2\r\n\n3,4")
        #expect(rows == [["a", "b"], ["1", "2"], ["3", "4"]])
    }

    @Test func mixedLineEndsAndUnicode() throws {
        let rows = try records("city,n\r\n서울특별시,1\nBusan,2\r\n")
        #expect(rows == [["city", "n"], ["서울특별시", "1"], ["Busan", "2"]])
    }

    @Test func unterminatedQuoteIsReportedAtTheQuote() throws {
        let e = try #require(csvError("a,b\n1,\"open\n2,3\n"))
        #expect(e.headline == "f.csv:2:3: error: unterminated quoted field")
        #expect(e.sourceLine == "1,\"open")
    }

    @Test func strayQuoteInUnquotedField() throws {
        let e = try #require(csvError("a,b\n1,5\" screen\n"))
        #expect(e.headline == "f.csv:2:4: error: stray quote in an unquoted field")
        #expect(e.help?.contains("\"5\"\" screen\"") == true)
    }

    @Test func textAfterClosingQuote() throws {
        let e = try #require(csvError("a,b\n\"x\"y,1\n"))
        #expect(e.headline == "f.csv:2:4: error: expected ',' or a line end after a closing quote, found 'y'")
    }

    @Test func invalidUTF8IsAnErrorAtTheField() throws {
        var bytes = Array("a,b\n1,".utf8)
        bytes += [0xFF, 0xFE, 10]
        let e = bytes.withUnsafeBufferPointer { buffer -> Diagnostic? in
            let reader = CSVReader(bytes: buffer, file: "f.csv")
            do {
                _ = try reader.next()
                _ = try reader.next()
                _ = try reader.string(1)
                return nil
            } catch {
                return error as? Diagnostic
            }
        }
        #expect(e?.headline == "f.csv:2:3: error: field is not valid UTF-8 text")
    }

    @Test func locationsCountCharactersNotBytes() throws {
        let e = try #require(csvError("a,b,c\n서울,x\"y,1\n"))
        #expect(e.location == SourceLocation(line: 2, column: 5))
    }

    @Test func renderedDiagnosticHasGutterAndCaret() throws {
        let e = try #require(csvError("a,b\n1,5\" screen\n"))
        let lines = e.rendered.split(separator: "\n").map(String.init)
        #expect(lines[1] == " 2 | 1,5\" screen")
        #expect(lines[2] == "   |    ^")
    }
}

@Suite struct FieldParserTests {
    private func decimal(_ s: String) -> FieldParser.DecimalResult {
        Array(s.utf8).withUnsafeBufferPointer { FieldParser.decimal($0) }
    }

    private func date(_ s: String) -> FieldParser.DateResult {
        Array(s.utf8).withUnsafeBufferPointer { FieldParser.date($0) }
    }

    @Test func decimals() {
        #expect(decimal("12") == .value(mantissa: 12, scale: 0))
        #expect(decimal("-3.50") == .value(mantissa: -35, scale: 1))
        #expect(decimal(" +0.125 ") == .value(mantissa: 125, scale: 3))
        #expect(decimal("1e3") == .value(mantissa: 1000, scale: 0))
        #expect(decimal("2.5E-2") == .value(mantissa: 25, scale: 3))
        #expect(decimal(".5") == .value(mantissa: 5, scale: 1))
        #expect(decimal("") == .empty)
        #expect(decimal("  ") == .empty)
        #expect(decimal("abc") == .invalid)
        #expect(decimal("1.2.3") == .invalid)
        #expect(decimal("1e") == .invalid)
        #expect(decimal("1,234.50") == .thousands)
        #expect(decimal("99999999999999999999") == .outOfRange)
        #expect(decimal("0.0000000001") == .outOfRange)
    }

    @Test func dates() {
        #expect(date("1970-01-01") == .day(0))
        #expect(date("2024-02-29") == .day(19_782))
        #expect(date("2023-02-29") == .noSuchDay)
        #expect(date("2024-02-30") == .noSuchDay)
        #expect(date("2024-13-01") == .noSuchDay)
        #expect(date("2024/01/01") == .invalid)
        #expect(date("24-01-01") == .invalid)
        #expect(date("") == .empty)
    }

    @Test func calendarRoundTripsEveryDayOfFourCenturies() {
        var previousWeekday = CivilDate.weekday(CivilDate.dayNumber(year: 1899, month: 12, day: 31))
        var previous = (1899, 12, 31)
        var mismatches = 0
        for day in CivilDate.dayNumber(year: 1900, month: 1, day: 1)...CivilDate.dayNumber(year: 2300, month: 12, day: 31) {
            let (y, m, d) = CivilDate.civil(day)
            if CivilDate.dayNumber(year: y, month: m, day: d) != day { mismatches += 1 }
            // The next civil day: same month, next month, or next year.
            let expected = previous.2 < CivilDate.daysInMonth(year: previous.0, month: previous.1) ? (previous.0, previous.1, previous.2 + 1)
                : previous.1 < 12 ? (previous.0, previous.1 + 1, 1) : (previous.0 + 1, 1, 1)
            if expected != (y, m, d) { mismatches += 1 }
            let weekday = CivilDate.weekday(day)
            if weekday != (previousWeekday + 1) % 7 { mismatches += 1 }
            previousWeekday = weekday
            previous = (y, m, d)
        }
        #expect(mismatches == 0)
        #expect(CivilDate.weekday(CivilDate.dayNumber(year: 2024, month: 3, day: 15)) == 4)  // a Friday
        #expect(CivilDate.isoDate(CivilDate.dayNumber(year: 2000, month: 2, day: 29)) == "2000-02-29")
    }
}
