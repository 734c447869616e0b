import CubistCore
import CubistShell
import CubistStore
import Foundation
import Testing

/// Parquet files written by pyarrow (every codec, both page versions, with and without
/// dictionaries, byte-stream-split floats, the DELTA encodings, a dictionary that overflows
/// into plain pages),
/// Polars and DuckDB (`files/make_parquet.py`), opened as ad hoc cubes and as the facts and
/// dimension table of a model. Every answer is compared with DuckDB's on the same file.
@Suite struct ParquetTests {
    static let directory: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cubist-parquet-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("files/make_parquet.py").path
        let status = DataInTests.shell("/usr/bin/env", ["python3", script, dir])
        if status != 0 { print("make_parquet.py failed (\(status)): the tests need python3 with duckdb, polars and pyarrow (pip install duckdb polars pyarrow)") }
        return dir
    }()

    /// DuckDB's answers, by question.
    static let expected: [String: [[String?]]] = {
        guard let data = FileManager.default.contents(atPath: directory + "/expected.json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: [[Any]]] else { return [:] }
        return json.mapValues { rows in rows.map { row in row.map { $0 as? String } } }
    }()

    static let goodFiles = ["pa_none", "pa_snappy", "pa_gzip", "pa_zstd", "pa_v2", "pa_plain", "pa_split", "pa_fallback", "pa_delta", "pa_delta_length",
                            "polars", "duckdb", "duckdb_v2"]

    private func run(_ path: String, _ statements: [String], options: SourceOptions = SourceOptions()) throws -> (out: String, err: String) {
        try runSource(ParquetTests.directory + "/" + path, statements, options: options)
    }

    private func openError(_ path: String, options: SourceOptions = SourceOptions()) -> Diagnostic? {
        openSourceError(ParquetTests.directory + "/" + path, options: options)
    }

    /// A number as written, without trailing zeros after the point (10.50 and 10.5 alike).
    private static func canonical(_ text: String) -> String {
        guard text.contains("."), Double(text) != nil else { return text }
        var t = text
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }

    /// Cubist's CSV rows (header dropped) against DuckDB's rows, cell by cell; floating
    /// averages to 12 significant digits, everything else exactly.
    private func same(_ csv: String, _ question: String, approximate: Set<Int> = [], file: String) {
        let rows = csv.split(separator: "\n", omittingEmptySubsequences: true).dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let want = ParquetTests.expected[question] ?? []
        #expect(rows.count == want.count && !want.isEmpty, "\(file) \(question): \(rows) vs \(want)")
        for (got, row) in zip(rows, want) {
            for (c, (a, b)) in zip(got, row).enumerated() {
                let duck = (b ?? "").replacingOccurrences(of: "True", with: "true").replacingOccurrences(of: "False", with: "false")
                if approximate.contains(c), let x = Double(a), let y = Double(duck) {
                    #expect(abs(x - y) <= 1e-12 * max(1, abs(y)), "\(file) \(question): \(a) vs \(duck)")
                } else {
                    #expect(ParquetTests.canonical(a) == ParquetTests.canonical(duck), "\(file) \(question): \(got) vs \(row)")
                }
            }
        }
    }

    /// Every writer, codec, page version and encoding gives DuckDB's answers: sums of
    /// decimals (9,2 as INT32 or FIXED_LEN, 20,4 as FIXED_LEN), integers and floats, averages
    /// of doubles with nulls, dates, timestamps before and after 1970, booleans, text with nulls.
    @Test(arguments: goodFiles) func everyWriterGivesDuckDBsAnswers(_ name: String) throws {
        let r = try run(name + ".parquet", [
            "SELECT amount, qty, rows, big, weight BY region;",
            "SELECT unit_price, unit_price_min, unit_price_max BY region;",
            "SELECT amount, rows BY day.year;",
            "SELECT rows BY ts.year;",
            "SELECT rows BY member;",
        ])
        #expect(r.err.isEmpty, "\(name): \(r.err)")
        let parts = r.out.components(separatedBy: "\n").split { $0.hasPrefix("region,") || $0.hasPrefix("day.year,") || $0.hasPrefix("ts.year,") || $0.hasPrefix("member,") }
        try #require(parts.count == 5, "\(name): \(r.out)")
        let blocks = parts.map { "header\n" + $0.joined(separator: "\n") }
        same(blocks[0], "by_region", file: name)
        same(blocks[1], "price_by_region", approximate: [1], file: name)
        same(blocks[2], "by_year", file: name)
        same(blocks[3], "by_ts_year", file: name)
        same(blocks[4], "by_member", file: name)
    }

    /// Column types decide the cube: text and booleans are dimensions, the code column too,
    /// DATE and TIMESTAMP columns time dimensions, prices averaged, amounts summed.
    @Test func typesMakeTheCube() throws {
        let r = try run("pa_zstd.parquet", [".schema"])
        #expect(r.err.isEmpty, "\(r.err)")
        #expect(r.out.hasPrefix("read pa_zstd.parquet: Parquet written by parquet-cpp-arrow"), "\(r.out)")
        #expect(r.out.contains(", 5 row groups, zstd\n"), "\(r.out)")
        #expect(!r.out.contains("dates in"), "a DATE column has no date format to report: \(r.out)")
        #expect(r.out.contains("dimension store_id (columns of the fact file)\n  levels: store_id (40)"), "\(r.out)")
        #expect(r.out.contains("dimension day (time, from column day)\n  levels: year (2) > quarter (8) > month (24) > day (731)"), "\(r.out)")
        #expect(r.out.contains("dimension ts (time, from column ts)\n  levels: year (2)"), "\(r.out)")
        #expect(r.out.contains("dimension member (columns of the fact file)\n  levels: member (2)"), "\(r.out)")
        #expect(r.out.contains("  unit_price      avg        avg(unit_price)"), "\(r.out)")
        #expect(r.out.contains("  amount          sum        sum(amount)"), "\(r.out)")
        #expect(r.out.contains("  qty_max         max        max(qty)"), "\(r.out)")
    }

    /// Columns null in every row: an empty member, a measure with no value (as DuckDB's NULL).
    @Test func columnsNullInEveryRow() throws {
        let r = try run("allnull.parquet", ["SELECT qty, rows BY note;", "SELECT amount, qty BY region;"])
        #expect(r.err.isEmpty, "\(r.err)")
        #expect(r.out == "note,qty,rows\n,6,3\nregion,amount,qty\na,,4\nb,,2\n", "\(r.out)")
    }

    /// A model with Parquet facts (DuckDB) joined to a Parquet dimension table (pyarrow),
    /// loaded on one thread and on four: DuckDB's join answers, the same either way.
    @Test func modelWithParquetFactsAndTable() throws {
        var answers: [String] = []
        for threads in [1, 4] {
            let cube = try CubeLoader.load(modelAt: ParquetTests.directory + "/cube", threads: threads)
            let output = StringOutput()
            var errors = ""
            let session = Session(cube: cube, output: output, errors: { errors += $0 + "\n" })
            session.format = .csv
            session.run("SELECT amount, qty BY store.city;", file: "<test>")
            session.run(".schema", file: "<test>")
            #expect(errors.isEmpty, "\(errors)")
            same(output.text.components(separatedBy: "read sales.parquet")[0], "by_city", file: "cube")
            #expect(output.text.contains("read sales.parquet: Parquet written by DuckDB"), "\(output.text)")
            #expect(output.text.contains("read stores.parquet: Parquet written by parquet-cpp-arrow"), "\(output.text)")
            #expect(output.text.contains("dimension store (table stores.parquet, key store_id)\n  levels: city (4) > store (40)"), "\(output.text)")
            answers.append(output.text)
        }
        #expect(answers[0] == answers[1])
    }

    /// What Cubist cannot read is a clear error naming the file, the column and the reason.
    @Test func unreadableFilesAreClearErrors() throws {
        let truncated = try #require(openError("truncated.parquet"))
        #expect(truncated.message == "not a Parquet file (it does not begin and end with PAR1)")
        let corrupt = try #require(openError("corrupt.parquet"))
        #expect(corrupt.message.hasPrefix("column 'ts' in row group 1 of 5 cannot be read: "), "\(corrupt.message)")
        #expect(corrupt.help?.contains("the file may be corrupt") == true)
        let nested = try #require(openError("nested.parquet"))
        #expect(nested.message == "column 'tags' is nested (a struct, list or map); Cubist reads flat tables")
        let lz4 = try #require(openError("lz4.parquet"))
        #expect(lz4.message.hasPrefix("column 'region' in row group 1 of 1 cannot be read: pages compressed with lz4"), "\(lz4.message)")
        #expect(lz4.help == "write the file with snappy, gzip or zstd compression, or none")
        // A key with no dimension row: the column-at-a-time path gives way to the row parse,
        // which names the row.
        for threads in [1, 2] {
            do {
                _ = try CubeLoader.load(modelAt: ParquetTests.directory + "/badkey", threads: threads)
                Issue.record("a fact key with no store loaded")
            } catch {
                #expect(error.message.hasPrefix("row 1235, column 'store_id': store_id '99' has no row in ") && error.message.hasSuffix("/badkey/stores.parquet"), "\(error.message)")
            }
        }
        let nullDate = try #require(openError("nulldate.parquet"))
        #expect(nullDate.message == "row 2, column 'day': empty date")
        #expect(nullDate.help?.hasSuffix("take the column as text with --dimension day") == true, "\(nullDate.help ?? "")")
        // As the help says: the dates as text members, the missing one empty.
        var asText = SourceOptions()
        asText.dimensions = ["day"]
        let r = try run("nulldate.parquet", ["SELECT rows BY day;"], options: asText)
        #expect(r.err.isEmpty, "\(r.err)")
        #expect(r.out == "day,rows\n,1\n2024-01-01,1\n", "\(r.out)")
        var options = SourceOptions()
        _ = options.csv.set("delimiter", ";")
        let csvOption = try #require(openError("pa_zstd.parquet", options: options))
        #expect(csvOption.message == "CSV options do not apply to a Parquet file")
    }

    /// Bytes flipped anywhere in a file: an error or (in padding, statistics) the right
    /// answer, never a crash or a hang.
    @Test(arguments: ["pa_snappy", "pa_delta", "duckdb_v2"]) func damagedBytesNeverCrash(_ name: String) throws {
        let path = ParquetTests.directory + "/" + name + ".parquet"
        let original = try #require(FileManager.default.contents(atPath: path))
        var bytes = [UInt8](original)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var failures = 0
        for round in 0..<(ProcessInfo.processInfo.environment["CUBIST_DAMAGE_ROUNDS"].flatMap(Int.init) ?? 150) {
            var damaged = bytes
            for _ in 0..<(round % 4 + 1) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let at = Int(state >> 33) % damaged.count
                damaged[at] ^= UInt8(truncatingIfNeeded: state >> 13) | 1
            }
            do {
                _ = try ParquetTable.read(damaged, file: "damaged.parquet", threads: 1)
            } catch {
                failures += 1
                #expect(error.file == "damaged.parquet")
            }
        }
        #expect(failures > 0)
        bytes.removeAll()
    }
}
