import CubistCore
import CubistShell
import CubistStore
import Foundation
import Testing

/// `APPEND`: a cube loaded from the first part of a fact file and given the other parts by
/// APPEND (in memory, and journaled to a snapshot then reopened) answers every question
/// exactly as the cube loaded from the whole file does.
@Suite(.serialized) struct AppendTests {
    /// A generated cube: a customer table, facts with an inline store dimension (keyed
    /// stores under areas, with an attribute), dates, decimals with nulls and negatives,
    /// an integer column, a text column the cube ignores, and a computed attribute.
    struct Generated {
        let directory: String
        /// The fact rows after the header, in file order.
        let rows: [String]
        let header = "order_id,date,customer_id,area,store_code,store,store_kind,amount,qty,note"

        init(seed: UInt64, rows count: Int) throws {
            var random = Random(seed)
            directory = try AppendTests.scratch()
            var customers = "customer_id,name,city,region,segment\n"
            let cities = [("Seoul", "North"), ("Busan", "South"), ("Daegu", "South"), ("Incheon", "North"), ("Aachen", "West")]
            for c in 1...60 {
                let (city, region) = cities[c % cities.count]
                customers += "\(c),Customer \(c % 17),\(city),\(region),\(["Retail", "Corporate", "SMB"][c % 3])\n"
            }
            try customers.write(toFile: directory + "/customers.csv", atomically: true, encoding: .utf8)
            // Stores: some appear only late in the file, and sort before the early ones.
            let stores = [("East", "E1", "Mall East", "mall"), ("East", "E2", "Station", "kiosk"), ("West", "W1", "Harbour", "mall"),
                          ("West", "W2", "Station", "street"), ("Central", "C1", "Plaza", "mall"), ("Alpha", "A1", "Aardvark Lane", "street"),
                          ("Alpha", "A0", "Station", "kiosk")]
            var lines: [String] = []
            for i in 0..<count {
                let late = i > count / 2
                let s = stores[random.next(late ? stores.count : 5)]
                // Early rows in 2023-2024; late ones also in 2022 and 2025.
                let year = late ? 2022 + random.next(4) : 2023 + random.next(2)
                let date = String(format: "%04d-%02d-%02d", year, 1 + random.next(12), 1 + random.next(28))
                let cents = random.next(200_000) - 20_000
                // Late rows have more decimal places: the column's scale grows on append.
                let amount = random.next(10) == 0 ? "" : late && random.next(3) == 0
                    ? String(format: "%.3f", Double(cents) / 100 + Double(random.next(10)) / 1000) : String(format: "%.1f", Double(cents / 10) / 10)
                lines.append("\(i / 3 + 1),\(date),\(1 + random.next(late ? 60 : 50)),\(s.0),\(s.1),\(s.2),\(s.3),\(amount),\(random.next(9) - 1),note \(random.next(5))")
            }
            rows = lines
            let model = """
                {
                  "name": "shop",
                  "facts": "sales.csv",
                  "dimensions": [
                    { "name": "customer", "table": "customers.csv", "key": "customer_id",
                      "levels": ["region", "city", {"name": "customer", "column": "name", "key": "customer_id"}], "attributes": ["segment"] },
                    { "name": "store", "levels": ["area", {"name": "store", "column": "store", "key": "store_code"}], "attributes": ["store_kind"] },
                    { "name": "time", "type": "time", "column": "date" }
                  ],
                  "measures": [
                    { "name": "amount", "column": "amount", "aggregate": "sum" },
                    { "name": "avg_amount", "column": "amount", "aggregate": "avg" },
                    { "name": "low", "column": "amount", "aggregate": "min" },
                    { "name": "qty", "column": "qty", "aggregate": "sum" },
                    { "name": "lines", "aggregate": "count" },
                    { "name": "orders", "column": "order_id", "aggregate": "count_distinct" },
                    { "name": "buyers", "column": "customer_id", "aggregate": "count_distinct" },
                    { "name": "value", "aggregate": "sum", "row": "amount * qty" }
                  ],
                  "computed": [
                    { "name": "first_year", "dimension": "customer", "expression": "min(time.year)" },
                    { "name": "band", "dimension": "store", "expression": "band(amount, 10000, 100000)" }
                  ]
                }
                """
            try model.write(toFile: directory + "/cube.json", atomically: true, encoding: .utf8)
        }

        /// Writes a model directory whose fact file holds `rows`.
        func modelDirectory(_ name: String, rows: ArraySlice<String>) throws -> String {
            let dir = directory + "/" + name
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for file in ["cube.json", "customers.csv"] { try FileManager.default.copyItem(atPath: directory + "/" + file, toPath: dir + "/" + file) }
            try ([header] + rows).joined(separator: "\n").appending("\n").write(toFile: dir + "/sales.csv", atomically: true, encoding: .utf8)
            return dir
        }

        /// Writes `rows` as a CSV file with the columns in another order.
        func part(_ name: String, rows: ArraySlice<String>) throws -> String {
            let names = header.split(separator: ",").map(String.init)
            let order = Array(names.indices.reversed())
            var text = order.map { names[$0] }.joined(separator: ",") + "\n"
            for row in rows {
                let fields = row.split(separator: ",", omittingEmptySubsequences: false)
                text += order.map { String(fields[$0]) }.joined(separator: ",") + "\n"
            }
            let path = directory + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    /// A fresh directory for one test's files.
    static func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "cubist-append-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    struct Random {
        var state: UInt64
        init(_ seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
        mutating func next(_ n: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(n))
        }
    }

    static let questions = [
        "SELECT amount, avg_amount, low, qty, lines, orders, buyers, value BY time.year, store.area WITH TOTALS;",
        "SELECT amount, lines BY store.store, customer.region;",
        "SELECT orders, amount BY customer.first_year;",
        "SELECT lines, amount BY store.band, store.store_kind;",
        "SELECT amount BY time.month WHERE time.year = 2022 AND store.area <> 'East';",
        "SELECT buyers BY time.quarter ACROSS customer.segment;",
        "SHOW MEMBERS store.store;",
        "SHOW MEMBERS time.year;",
        "DESCRIBE store;",
        "DESCRIBE time;",
    ]

    private func answers(_ path: String, before: [String] = [], threads: Int = 2) throws -> (out: String, err: String) {
        let cube = try Session.openCube(path)
        let output = StringOutput()
        var errors = ""
        let session = Session(cube: cube, output: output, errors: { errors += $0 + "\n" })
        session.format = .csv
        session.threads = threads
        for s in before {
            output.clear()
            session.run(s, file: "<test>")
        }
        output.clear()
        for s in AppendTests.questions { session.run(s, file: "<test>") }
        return (output.text, errors)
    }

    /// The cube from part one plus APPENDs of the rest equals the cube from every row, in
    /// memory on 1 and 2 threads and journaled to a snapshot and reopened.
    @Test(arguments: [(UInt64(1), 3), (UInt64(2), 2), (UInt64(3), 4)])
    func appendingEqualsLoadingEverything(seed: UInt64, parts: Int) throws {
        let g = try Generated(seed: seed, rows: 3_000)
        defer { try? FileManager.default.removeItem(atPath: g.directory) }
        let whole = try g.modelDirectory("whole", rows: g.rows[...])
        let expected = try answers(whole)
        #expect(expected.err.isEmpty, "\(expected.err)")
        #expect(expected.out.contains("Aardvark Lane"), "the late store is in the answers")
        // Cut points: the first part is early rows only; later parts bring new members.
        var cuts = [0, g.rows.count / 3]
        for k in 1..<parts { cuts.append(g.rows.count / 3 + (g.rows.count - g.rows.count / 3) * k / parts + k) }
        cuts.append(g.rows.count)
        cuts = Array(Set(cuts)).sorted()
        let first = try g.modelDirectory("first", rows: g.rows[cuts[0]..<cuts[1]])
        var appends: [String] = []
        for k in 1..<(cuts.count - 1) {
            appends.append(try g.part("part\(k).csv", rows: g.rows[cuts[k]..<cuts[k + 1]]))
        }
        for threads in [1, 2] {
            let got = try answers(first, before: appends.map { "APPEND '\($0)';" }, threads: threads)
            #expect(got.err.contains("appended"), "\(got.err)")
            #expect(!got.err.contains("error"), "\(got.err)")
            #expect(got.out == expected.out, "threads \(threads)")
        }
        // Journaled: SAVE the first part, append each part TO it, reopen.
        let snapshot = g.directory + "/shop.cube"
        let saved = try answers(first, before: ["SAVE '\(snapshot)';"] + appends.map { "APPEND '\($0)' TO '\(snapshot)';" })
        #expect(saved.out == expected.out)
        #expect(saved.err.components(separatedBy: "journaled to").count == appends.count + 1, "\(saved.err)")
        let reopened = try answers(snapshot)
        #expect(reopened.err.isEmpty, "\(reopened.err)")
        #expect(reopened.out == expected.out)
        // SAVE after appends writes one snapshot with every row; it reopens alike.
        let compact = g.directory + "/compact.cube"
        _ = try answers(snapshot, before: ["SAVE '\(compact)';"])
        #expect(try answers(compact).out == expected.out)
        let size = try FileManager.default.attributesOfItem(atPath: compact)[.size] as? Int ?? 0
        let cube = try Snapshot.load(compact)
        #expect(cube.facts.rowCount == g.rows.count)
        #expect(cube.snapshot?.end == size && cube.snapshot?.segments == 0)
    }

    /// Runs `statements` on the cube from part one; every failing APPEND must leave the
    /// cube answering as before.
    private func session(_ dir: String) throws -> (Session, StringOutput, () -> String) {
        let output = StringOutput()
        nonisolated(unsafe) var errors = ""
        let session = Session(cube: try Session.openCube(dir), output: output, errors: { errors += $0 + "\n" })
        session.format = .csv
        return (session, output, { defer { errors = "" }; return errors })
    }

    @Test func aFailedAppendChangesNothing() throws {
        let g = try Generated(seed: 9, rows: 600)
        defer { try? FileManager.default.removeItem(atPath: g.directory) }
        let dir = try g.modelDirectory("first", rows: g.rows[0..<200])
        let (s, output, errors) = try session(dir)
        let probe = "SELECT amount, lines, orders BY store.store, time.year WITH TOTALS;"
        s.run(probe, file: "<test>")
        let before = output.text
        let good = g.rows[200..<260]
        func file(_ name: String, _ text: String) throws -> String {
            let path = g.directory + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let header = g.header
        let cases: [(String, String)] = [
            (try file("extra.csv", header + ",bonus\n" + good.map { $0 + ",1" }.joined(separator: "\n") + "\n"), "column 'bonus' is not a column of cube 'shop'"),
            (try file("missing.csv", header.replacingOccurrences(of: ",qty", with: "") + "\n"
                      + good.map { r in var f = r.split(separator: ",", omittingEmptySubsequences: false); f.remove(at: 8); return f.joined(separator: ",") }.joined(separator: "\n") + "\n"),
             "column 'qty' of cube 'shop' is not in the file"),
            (try file("nokey.csv", header + "\n" + good.joined(separator: "\n") + "\n1,2024-01-01,999,East,E1,Mall East,mall,1.5,1,x\n"),
             "customer_id '999' has no row in customers.csv"),
            (try file("baddate.csv", header + "\n" + good.joined(separator: "\n") + "\n1,2024-13-01,1,East,E1,Mall East,mall,1.5,1,x\n"), "no such day '2024-13-01'"),
            (try file("badnumber.csv", header + "\n" + good.joined(separator: "\n") + "\n1,2024-01-01,1,East,E1,Mall East,mall,lots,1,x\n"), "bad number 'lots' in column 'amount'"),
            (try file("relabel.csv", header + "\n" + good.joined(separator: "\n") + "\n1,2024-01-01,1,East,E1,Mall Far East,mall,1.5,1,x\n"),
             "store with key 'E1' is labelled 'Mall Far East' here but 'Mall East' in the cube"),
            (try file("moved.csv", header + "\n" + good.joined(separator: "\n") + "\n1,2024-01-01,1,West,E1,Mall East,mall,1.5,1,x\n"),
             "store 'Mall East' is under area 'West' here but under 'East' in the cube"),
            (try file("empty.csv", header + "\n"), "fact file has a header but no rows"),
            (g.directory + "/nothing.csv", "nothing.csv"),
            (try file("damaged.parquet", "PAR1 not really"), "damaged.parquet"),
        ]
        for (path, message) in cases {
            s.run("APPEND '\(path)';", file: "<test>")
            let said = errors()
            #expect(said.contains(message), "\(path): \(said)")
            output.clear()
            s.run(probe, file: "<test>")
            #expect(output.text == before, "\(path) changed the cube")
        }
        // A wrong or missing snapshot fails before anything is appended.
        s.run("APPEND '\(try g.part("fine.csv", rows: good))' TO '\(g.directory)/none.cube';", file: "<test>")
        #expect(errors().contains("no such snapshot"))
        s.run("SAVE '\(g.directory)/a.cube';", file: "<test>")
        _ = errors()
        let other = try g.modelDirectory("other", rows: g.rows[0..<100])
        let (t, _, otherErrors) = try session(other)
        t.run("APPEND '\(g.directory)/fine.csv' TO '\(g.directory)/a.cube';", file: "<test>")
        #expect(otherErrors().contains("is not a snapshot of cube 'shop' as it is in this session"))
        // Another process appended: this session's state is stale.
        let (u, _, uErrors) = try session(g.directory + "/a.cube")
        u.run("APPEND '\(g.directory)/fine.csv' TO '\(g.directory)/a.cube';", file: "<test>")
        #expect(uErrors().contains("journaled to"))
        s.run("APPEND '\(g.directory)/fine.csv' TO '\(g.directory)/a.cube';", file: "<test>")
        #expect(errors().contains("changed since this session read it"))
        output.clear()
        s.run(probe, file: "<test>")
        #expect(output.text == before)
        // The snapshot holds exactly one append.
        #expect(try Snapshot.load(g.directory + "/a.cube").facts.rowCount == 260)
    }

    /// A Parquet file appends like a CSV file (its dates and numbers typed).
    @Test func parquetFilesAppend() throws {
        guard DataInTests.shell("/usr/bin/env", ["python3", "-c", "import duckdb"]) == 0 else {
            Issue.record("python3 with duckdb is needed (.ci/run installs it)")
            return
        }
        let g = try Generated(seed: 5, rows: 1_500)
        defer { try? FileManager.default.removeItem(atPath: g.directory) }
        let whole = try g.modelDirectory("whole", rows: g.rows[...])
        let expected = try answers(whole)
        let first = try g.modelDirectory("first", rows: g.rows[0..<700])
        let csv = try g.part("rest.csv", rows: g.rows[700...])
        let parquet = g.directory + "/rest.parquet"
        let script = "import duckdb; duckdb.sql(\"COPY (SELECT * FROM read_csv('\(csv)', types={'amount': 'DECIMAL(12,3)', 'store_code': 'VARCHAR'})) TO '\(parquet)' (FORMAT parquet, COMPRESSION zstd)\")"
        #expect(DataInTests.shell("/usr/bin/env", ["python3", "-c", script]) == 0)
        let got = try answers(first, before: ["APPEND '\(parquet)';"])
        #expect(got.err.contains("appended 800 facts"), "\(got.err)")
        #expect(got.out == expected.out)
    }

    /// An ad hoc cube (a CSV opened without a model) takes appends: new text members, new
    /// days and new code members sort into place.
    @Test func adHocCubesAppend() throws {
        let dir = try AppendTests.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let head = "day,city,store_id,amount,unit_price\n"
        let early = "2024-03-01,Seoul,7,10.5,2.5\n2024-03-02,Busan,3,20,3.5\n2024-03-02,Seoul,7,1.25,2\n"
        let late = "2023-12-31,Andong,1,5,1\n2024-03-03,Zeche,9,7.125,4\n"
        try (head + early + late).write(toFile: dir + "/all.csv", atomically: true, encoding: .utf8)
        try (head + early).write(toFile: dir + "/early.csv", atomically: true, encoding: .utf8)
        try (head + late).write(toFile: dir + "/late.csv", atomically: true, encoding: .utf8)
        let questions = ["SELECT amount, unit_price BY city WITH TOTALS;", "SELECT amount BY store_id;", "SELECT amount BY day.day;", "SHOW MEASURES;"]
        let expected = try runSource(dir + "/all.csv", questions)
        let got = try runSource(dir + "/early.csv", ["APPEND '\(dir)/late.csv';"] + questions)
        #expect(got.err.contains("appended 2 facts"), "\(got.err)")
        #expect(got.out == expected.out)
        #expect(got.out.contains("Andong,5"))
        let schema = try runSource(dir + "/early.csv", ["APPEND '\(dir)/late.csv';", ".schema"])
        #expect(schema.out.contains("read \(dir)/late.csv (appended, 2 rows): utf-8, delimiter ','"), "\(schema.out)")
    }

    /// A session attribute (DEFINE ATTRIBUTE) is computed again over every row after an
    /// append, and stays a session attribute.
    @Test func sessionAttributesAreComputedAgain() throws {
        let g = try Generated(seed: 4, rows: 900)
        defer { try? FileManager.default.removeItem(atPath: g.directory) }
        let define = "DEFINE ATTRIBUTE customer.spend = band(amount, 0, 20000);"
        let questions = ["SELECT amount, buyers BY customer.spend WITH TOTALS;", "SHOW DIMENSIONS;"]
        let whole = try runSource(try g.modelDirectory("whole", rows: g.rows[...]), [define] + questions)
        let rest = try g.part("rest.csv", rows: g.rows[300...])
        let got = try runSource(try g.modelDirectory("first", rows: g.rows[0..<300]), [define, "APPEND '\(rest)';"] + questions)
        #expect(got.out == whole.out)
        #expect(got.out.contains("spend (session)"), "\(got.out)")
    }

    /// An appended file whose dates read two ways (every day 12 or less) is read the way
    /// the cube's own dates were.
    @Test func ambiguousDatesAreReadAsTheCubesWere() throws {
        let dir = try AppendTests.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let head = "day,city,amount\n"
        let early = "25/03/2024,Seoul,10\n13/04/2024,Busan,20\n"
        let late = "01/05/2024,Seoul,7\n02/05/2024,Busan,3\n"
        try (head + early).write(toFile: dir + "/early.csv", atomically: true, encoding: .utf8)
        try (head + late).write(toFile: dir + "/late.csv", atomically: true, encoding: .utf8)
        let got = try runSource(dir + "/early.csv", ["APPEND '\(dir)/late.csv';", "SELECT amount BY day.month;"])
        #expect(got.err.contains("appended 2 facts"), "\(got.err)")
        #expect(got.out == "day.month,amount\n2024-03,10\n2024-04,20\n2024-05,10\n")
        // Opened alone, the late file's dates are ambiguous.
        #expect(openSourceError(dir + "/late.csv")?.message.contains("alike") == true)
    }

    /// The same file appended twice would count its rows twice: the second APPEND is an
    /// error, in the session, after a journal replay and after a SAVE.
    @Test func theSameFileTwiceIsRefused() throws {
        let g = try Generated(seed: 6, rows: 400)
        defer { try? FileManager.default.removeItem(atPath: g.directory) }
        let first = try g.modelDirectory("first", rows: g.rows[0..<200])
        let day = try g.part("day.csv", rows: g.rows[200...])
        let copy = g.directory + "/copy.csv"
        try FileManager.default.copyItem(atPath: day, toPath: copy)
        let snapshot = g.directory + "/s.cube"
        let twice = try runSource(first, ["SAVE '\(snapshot)';", "APPEND '\(day)' TO '\(snapshot)';", "APPEND '\(copy)';", "SELECT lines;"])
        #expect(twice.err.contains("copy.csv: error: the same bytes were appended to cube 'shop' already, as \(day); nothing was appended"), "\(twice.err)")
        #expect(twice.out == "lines\n400\n")
        let reopened = try runSource(snapshot, ["APPEND '\(copy)';", "SAVE '\(g.directory)/t.cube';", "SELECT lines;"])
        #expect(reopened.err.contains("the same bytes were appended to cube 'shop' already"), "\(reopened.err)")
        #expect(reopened.out == "lines\n400\n")
        let saved = try runSource(g.directory + "/t.cube", ["APPEND '\(copy)';", "SELECT lines;"])
        #expect(saved.err.contains("the same bytes were appended to cube 'shop' already"), "\(saved.err)")
        #expect(saved.out == "lines\n400\n")
    }
}
