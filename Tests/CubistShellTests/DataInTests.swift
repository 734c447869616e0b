import CubistCore
import CubistShell
import CubistStore
import Foundation
import Testing

/// Real-world CSV files written by other tools (Python's csv module, iconv, Excel-style
/// UTF-16), opened as ad hoc cubes. The expected answers were cross-checked with DuckDB
/// reading the same files (`read_csv` with the matching delimiter, decimal separator,
/// escape and date format).
@Suite struct DataInTests {
    /// The files of `files/make_files.py`, written once into a temporary directory.
    static let directory: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cubist-data-in-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("files/make_files.py").path
        shell("/usr/bin/env", ["python3", script, dir])
        // The Korean Windows copy, made by the system's iconv tool.
        shell("/bin/sh", ["-c", "iconv -f UTF-8 -t CP949 '\(dir)/semicolon.csv' > '\(dir)/cp949.csv'"])
        return dir
    }()

    @discardableResult
    static func shell(_ program: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    private func run(_ file: String, _ statements: [String], options: SourceOptions = SourceOptions()) throws -> (out: String, err: String) {
        try runSource(DataInTests.directory + "/" + file, statements, options: options)
    }

    private func openError(_ file: String, options: SourceOptions = SourceOptions()) -> Diagnostic? {
        openSourceError(DataInTests.directory + "/" + file, options: options)
    }

    /// Semicolons, decimal commas and M/D/YYYY dates: the same answers from UTF-8, from the
    /// CP949 copy, and from Excel's UTF-16 "Unicode text" (tabs, CRLF).
    @Test func europeanKoreanAndExcelExportsReadAlike() throws {
        let byRegion = """
            region,amount,unit_price,rows,temp_min,temp_max
            Incheon,31654.50,18.166666666666668,15,-5.0,23.8
            대구,33709.65,19.166666666666668,15,-4.1,24.9
            부산,29599.35,17.166666666666668,15,-4.1,24.9
            서울,32544.20,16.166666666666668,15,-5.0,23.8

            """
        let byMonth = "day.month,amount\n2024-01,11441.20\n2024-02,7126.25\n2024-03,7811.30\n"
        let statements = ["SELECT amount, unit_price, rows, temp_min, temp_max BY region;", "SELECT amount BY day.month LIMIT 3;", ".schema"]
        for (file, encoding, delimiter) in [("semicolon.csv", "utf-8", "';'"), ("cp949.csv", "cp949", "';'"), ("unicode.txt", "utf-16le", "tab")] {
            let r = try run(file, statements)
            #expect(r.err.isEmpty, "\(file): \(r.err)")
            #expect(r.out.hasPrefix(byRegion + byMonth), "\(file): \(r.out)")
            #expect(r.out.contains("read \(file): \(encoding), delimiter \(delimiter), quote '\"', decimal comma, header; dates in day: %m/%d/%Y\n"), "\(r.out)")
            // store_id is a code (a dimension), unit_price and temp are averaged, amount summed.
            #expect(r.out.contains("dimension store_id (columns of the fact file)\n  levels: store_id (7)"))
            #expect(r.out.contains("  unit_price      avg        avg(unit_price)"))
            #expect(r.out.contains("  amount          sum        sum(amount)"))
            #expect(r.out.contains("  amount_avg      avg        avg(amount)"))
        }
    }

    /// Pipes, every field quoted, backslash escapes, ISO timestamps.
    @Test func pipesBackslashesAndTimestamps() throws {
        let r = try run("pipes.psv", ["SELECT qty BY product;", "SELECT qty BY at.month LIMIT 4;", ".schema"])
        #expect(r.err.isEmpty, "\(r.err)")
        #expect(r.out.hasPrefix("product,qty\n\"0\"\" screen\",145\n\"1\"\" screen\",155\n\"2\"\" screen\",165\nat.month,qty\n2024-01,58\n2024-02,62\n2024-03,66\n2024-04,39\n"))
        #expect(r.out.contains("read pipes.psv: utf-8, delimiter '|', quote '\"', escape '\\', decimal point, header; dates in at: %Y-%m-%d\n"))
    }

    /// DD.MM.YYYY, YYYY/MM/DD, Mon D YYYY and YYYY.M.D, each detected per column; single quotes.
    @Test func datesAsPeopleWriteThem() throws {
        let r = try run("dates.csv", ["SELECT units, rows BY german.quarter;", "SELECT units BY named.month LIMIT 4;", "SELECT units BY slashed.year, dotted.year;",
                                      "SELECT rows BY note LIMIT 2;", ".schema"])
        #expect(r.err.isEmpty, "\(r.err)")
        #expect(r.out.hasPrefix("""
            german.quarter,units,rows
            2023-Q1,42,6
            2023-Q2,60,6
            2023-Q3,78,6
            2023-Q4,96,6
            named.month,units
            2023-01,12
            2023-02,14
            2023-03,16
            2023-04,18
            slashed.year,dotted.year,units
            2023,2023,276
            note,rows
            it's 0,1
            it's 1,1

            """), "\(r.out)")
        #expect(r.out.contains("quote ''', decimal point, header; dates in german: %d.%m.%Y, dates in slashed: %Y/%m/%d, dates in named: %b %d %Y, dates in dotted: %Y.%m.%d\n"))
    }

    /// A file without a header: numbered columns, the first record is data; --dimension
    /// makes a small integer column a dimension.
    @Test func noHeaderAndColumnRoles() throws {
        var options = SourceOptions()
        options.dimensions = ["column2"]
        let r = try run("noheader.csv", ["SELECT column3 BY column2;", "SELECT column3, rows BY column1.year;"], options: options)
        #expect(r.err.isEmpty, "\(r.err)")
        #expect(r.out == "column2,column3\n0,630\n1,700\n2,570\ncolumn1.year,column3,rows\n2022,1900,20\n")
        options = SourceOptions()
        options.measures = [("column2", .max)]
        let m = try run("noheader.csv", ["SELECT column2, column2_min BY column1.quarter;"], options: options)
        #expect(m.out == "column1.quarter,column2,column2_min\n2022-Q1,2,0\n2022-Q2,2,0\n2022-Q3,2,0\n2022-Q4,2,0\n", "\(m.out)\(m.err)")
    }

    /// Options override detection; what cannot be read exactly is a located error.
    @Test func overridesAndErrors() throws {
        // Declared UTF-8, but the bytes are CP949: located, naming the encoding.
        var options = SourceOptions()
        _ = options.csv.set("encoding", "utf-8")
        let wrong = try #require(openError("cp949.csv", options: options))
        #expect(wrong.headline.hasSuffix("cp949.csv:2:1: error: bytes 0xBC 0xAD are not valid UTF-8 text (nor UTF-16 or CP949)"), "\(wrong.headline)")
        options = SourceOptions()
        _ = options.csv.set("decimal", ".")
        let r = try run("semicolon.csv", ["SELECT rows BY amount LIMIT 1;"], options: options)
        // With a decimal point, 4180,15 is not a number: amount becomes a text dimension.
        #expect(r.out.hasPrefix("amount,rows\n"), "\(r.out)\(r.err)")
        options = SourceOptions()
        options.measures = [("region", nil)]
        #expect(openError("semicolon.csv", options: options)?.message == "--measure region: column 'region' has values that are not numbers")
        options.measures = [("regoin", nil)]
        let unknown = try #require(openError("semicolon.csv", options: options))
        #expect(unknown.help?.hasPrefix("did you mean 'region'?") == true, "\(unknown.help ?? "")")
    }
}
