import CubistGenerator
import Foundation
import CubistShell
import CubistStore
import Testing

@Suite struct MetadataTests {
    let cube: Cube

    init() throws { cube = try CRMSample.cube() }

    private func run(_ statements: [String]) -> (out: String, err: String, ok: Bool) {
        let output = StringOutput()
        var errors = ""
        let session = Session(cube: cube, output: output, errors: { errors += $0 + "\n" })
        session.format = .csv
        var ok = true
        for s in statements { ok = session.run(s, file: "<test>") && ok }
        return (output.text, errors, ok)
    }

    @Test func modelQuestions() {
        #expect(run(["SHOW CUBES"]).out == "cube,facts,dimensions,measures,source,current\nsales,100000,4,10,built-in sample (datasets/crm),yes\n")
        #expect(run(["SHOW DIMENSIONS"]).out.contains("\nchannel,type > channel,,8,\"table channels.csv, key channel_id\"\n"))
        #expect(run(["DESCRIBE time"]).out == """
            level,kind,parent,members,first,last
            time.year,level 1 of 4,,4,2022,2025
            time.quarter,level 2 of 4,year,16,2022-Q1,2025-Q4
            time.month,level 3 of 4,quarter,48,2022-01,2025-12
            time.day,level 4 of 4,month,1461,2022-01-01,2025-12-31
            time.weekday,attribute,,7,Mon,Sun
            time.month_of_year,attribute,,12,Jan,Dec

            """)
        #expect(run(["SHOW MEMBERS channel LIKE 'S%'"]).out == "channel,type\nSales Rep,Direct\nStore,Offline\n")
        #expect(run(["SHOW MEMBERS time.month LIMIT 2"]).out == "time.month,quarter\n2022-01,2022-Q1\n2022-02,2022-Q1\n")
        #expect(run(["SHOW MEASURES"]).out.contains("\nmargin_pct,expression,(revenue - cost) / revenue,percent,model\n"))
        let bad = run(["DESCRIBE custmer"])
        #expect(!bad.ok && bad.err.contains("error: unknown dimension 'custmer'") && bad.err.contains("did you mean 'customer'?"))
    }

    /// `.help TOPIC` shows one statement or function; an unknown topic is a located error.
    @Test func helpOnOneTopic() {
        let r = run([".help basket", ".help share()", ".help baskt"])
        #expect(r.out.contains("BASKET level [PER basket] [MIN SUPPORT x] [WHERE ...]"))
        #expect(r.out.contains("The language: docs/crm.md"))
        #expect(r.out.contains("share()   share(m) of the total"))
        #expect(!r.out.contains("SELECT"), "\(r.out)")
        #expect(r.err.contains("error: no statement or function is called 'baskt'"))
        #expect(r.err.contains("help: did you mean 'BASKET'?"))
    }

    @Test func definedMeasuresWorkLikeModelMeasures() {
        let r = run(["DEFINE MEASURE aov = revenue / orders FORMAT money;",
                     "SELECT aov, share(aov) BY channel.type HAVING aov > 900 ORDER BY aov DESC;",
                     "SHOW MEASURES;"])
        #expect(r.ok)
        #expect(r.out.hasPrefix("channel.type,aov,share(aov)\nDirect,1258.306267671035,"))  // 12194246.04 / 9691 (DuckDB)
        #expect(!r.out.contains("\nOffline,"))  // 873.24: below the HAVING
        #expect(r.out.contains("\naov,expression,revenue / orders,money,session\n"))
        let bad = run(["DEFINE MEASURE a = b + 1", "DEFINE MEASURE loop = loop * 2", "DEFINE MEASURE margin = 1", "DEFINE MEASURE x = revenue FORMAT euro"])
        #expect(bad.err.contains("error: unknown measure 'b'"))
        #expect(bad.err.contains("error: measure 'loop' refers to itself (loop -> loop)"))
        #expect(bad.err.contains("error: 'margin' is a measure of the model"))
        #expect(bad.err.contains("error: unknown format 'euro'"))
    }

    @Test func severalCubesInOneSession() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cubist-load-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "day,shop,amount\n2024-01-02,North,10.50\n2024-02-03,South,4.25\n".write(toFile: dir + "/shops.csv", atomically: true, encoding: .utf8)
        try "day,shop,amount\n2024-01-02,North,1.5\n2024-01-03,South\n".write(toFile: dir + "/broken.csv", atomically: true, encoding: .utf8)
        let r = run(["LOAD '\(dir)/shops.csv' AS shops;", "SELECT amount BY shop;", "SHOW CUBES;", "LOAD '\(dir)/broken.csv';",
                     "SELECT amount;", "USE sales;", "SELECT lines;", "SELECT amount FROM shops;", "USE shps;"])
        #expect(r.out.hasPrefix("shop,amount\nNorth,10.50\nSouth,4.25\n"))
        #expect(r.out.contains("\nsales,100000,4,10,built-in sample (datasets/crm),\nshops,2,"))
        #expect(r.out.contains("\namount\n14.75\nlines\n100000\namount\n14.75\n"))
        #expect(r.err.contains("loaded cube 'shops': 2 facts"))
        #expect(r.err.contains("broken.csv:3:"))
        #expect(r.err.contains("error: no cube named 'shps' is loaded"))
        #expect(r.err.contains("did you mean 'shops'?"))
    }

    @Test func computedAttributesOfTheModelOpenSaveAndFailWhereTheModelSays() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cubist-computed-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "date,region,revenue\n2024-01-02,North,10.50\n2024-05-03,South,4.25\n2025-02-01,North,7.00\n"
            .write(toFile: dir + "/sales.csv", atomically: true, encoding: .utf8)
        func model(_ expression: String) -> String {
            """
            { "name": "shops", "facts": "sales.csv",
              "dimensions": [ { "name": "shop", "levels": ["region"] }, { "name": "time", "type": "time", "column": "date" } ],
              "measures": [ { "name": "revenue", "column": "revenue", "aggregate": "sum" } ],
              "computed": [ { "name": "since", "dimension": "shop", "expression": "\(expression)" } ] }
            """
        }
        try model("min(time.year)").write(toFile: dir + "/cube.json", atomically: true, encoding: .utf8)
        let r = run(["LOAD '\(dir)' AS shops;", "SELECT revenue BY shop.since;", "SAVE '\(dir)/shops.cube';", "LOAD '\(dir)/shops.cube' AS again;",
                     "DESCRIBE shop;"])
        #expect(r.ok, "\(r.err)")
        #expect(r.out == """
            shop.since,revenue
            2024,21.75

            level,kind,parent,members,first,last
            shop.region,level 1 of 1,,2,North,South
            shop.since,computed: min(time.year),,1,2024,2024

            """.replacingOccurrences(of: "\n\n", with: "\n"))

        // An error found while computing points at the expression inside cube.json.
        try model("min(time.yeer)").write(toFile: dir + "/cube.json", atomically: true, encoding: .utf8)
        let bad = run(["LOAD '\(dir)' AS broken;", "SHOW CUBES;"])
        #expect(!bad.ok)
        #expect(bad.err.contains("cube.json:4:76: error: in computed attribute 'since': dimension 'time' has no level 'yeer'"), "\(bad.err)")
        #expect(bad.err.contains("help: did you mean 'year'?"))
        #expect(!bad.out.contains("broken"))
    }
}
