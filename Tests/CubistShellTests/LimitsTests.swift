import CubistEngine
import CubistGenerator
import CubistShell
import CubistStore
import CubistSyntax
import Foundation
import Testing

@Suite struct LimitsTests {
    let cube: Cube

    init() throws { cube = try CRMSample.cube() }

    private func run(_ statements: [String], session: Session? = nil) -> (out: String, err: String, ok: [Bool]) {
        let output = StringOutput()
        var errors = ""
        let session = Session(cube: cube, output: output, errors: { errors += $0 + "\n" })
        session.format = .csv
        let ok = statements.map { session.run($0, file: "<test>") }
        return (output.text, errors, ok)
    }

    /// The known answer that shows a session still works after a refused query.
    private let known = "SELECT revenue BY customer.region WITH TOTALS"
    private let knownTail = ",46027631.57\n"

    /// Measures built on measures bind as a DAG: each named measure once, so doubling 40
    /// times is instant and exact; a chain deeper than 200 is a located error, not a stack
    /// overflow, and defining thousands of measures stays linear per definition.
    @Test func measureChainsAndDagsAreBoundedAndFast() {
        let started = Date()
        var doubling = ["DEFINE MEASURE x0 = revenue"]
        for i in 1..<40 { doubling.append("DEFINE MEASURE x\(i) = x\(i - 1) + x\(i - 1)") }
        let dag = run(doubling + ["SELECT x39 BY channel.type"])
        #expect(dag.ok.allSatisfy { $0 })
        // revenue × 2^39, exactly.
        #expect(dag.out == "channel.type,x39\nDirect,6703857656470721003.52\nOffline,5925984477417685647.36\nOnline,12674115921213946593.28\n")
        var chain = ["DEFINE MEASURE y0 = revenue"]
        for i in 1..<1500 { chain.append("DEFINE MEASURE y\(i) = y\(i - 1) + 1") }
        let deep = run(chain + ["SELECT y199", known])
        #expect(deep.ok.prefix(200).allSatisfy { $0 })
        #expect(deep.ok[200] == false)
        #expect(deep.err.hasPrefix("<test>:1:1: error: measures refer to each other more than 200 deep (y200 -> y199 -> y198 -> ... -> y0)\n"))
        #expect(deep.ok.suffix(2) == [true, true])
        #expect(deep.out.hasSuffix(knownTail))
        #expect(Date().timeIntervalSince(started) < 60)
    }

    /// A long IN list of members that do not exist: five warnings with a did-you-mean and a
    /// summary line, in bounded time (the did-you-mean ran for every value: minutes).
    @Test func aLongInListOfMissingMembersIsFast() {
        let started = Date()
        let values = (0..<20_000).map { "'Nobody Here #\($0)'" }.joined(separator: ", ")
        let r = run(["SELECT orders WHERE customer.customer IN (\(values))"])
        #expect(r.ok == [true])
        #expect(r.out == "orders\n0\n")
        #expect(r.err.components(separatedBy: "warning: no member").count == 6)
        #expect(r.err.contains("warning: and 19,995 more warnings like these, from here on"))
        #expect(Date().timeIntervalSince(started) < 30)
    }

    /// A model with thousands of chained measures on one long JSON line loads in linear time.
    @Test func aModelWithAThousandsLongMeasureChainLoads() throws {
        var measures = [#"{"name":"m0","column":"amount","aggregate":"sum"}"#]
        for i in 1..<3500 { measures.append(#"{"name":"m\#(i)","expression":"m\#(i - 1) + 1"}"#) }
        let model = #"{"name":"c","facts":"f.csv","dimensions":[{"name":"store","levels":["store"]}],"measures":["# + measures.joined(separator: ",") + "]}"
        let started = Date()
        let chained = try CubeLoader.load(model: try ModelParser.parse(Array(model.utf8), file: "c/cube.json"),
                                         files: MemoryFiles(["f.csv": Array("store,amount\nGangnam,10.5\n".utf8)], label: "c"), origin: "c")
        #expect(Date().timeIntervalSince(started) < 10)
        let output = StringOutput()
        var errors = ""
        let session = Session(cube: chained, output: output, errors: { errors += $0 + "\n" })
        session.format = .csv
        #expect(session.run("SELECT m150", file: "<test>"))
        #expect(output.text == "m150\n160.5\n")
        #expect(!session.run("SELECT m3499", file: "<test>"))
        #expect(errors.hasPrefix("<test>:1:8: error: measures refer to each other more than 200 deep (m3499 -> m3498 -> m3497 -> ... -> m3299)"))
    }

    @Test func maxResultRowsStopsLargeResultsAndTheSessionGoesOn() {
        let r = run(["SET max_result_rows = 10", "SELECT revenue BY customer.city", known,
                     "SELECT revenue BY customer.city TOP 3 BY revenue", "SELECT revenue BY customer.city HAVING revenue > 1500000"])
        #expect(r.ok == [true, false, true, true, false])
        #expect(r.err.contains("max_result_rows = 10\n"))
        #expect(r.err.contains("<test>:1:1: error: the result would have 24 rows, more than max_result_rows (10)"))
        #expect(r.err.contains("help: add TOP n BY a measure or LIMIT n, group by a coarser level, filter with WHERE, or SET max_result_rows = 24"))
        // Rows are counted after HAVING: 14 cities pass.
        #expect(r.err.contains("error: the result would have 14 rows, more than max_result_rows (10)"))
        #expect(r.out.contains(knownTail))
        #expect(r.out.components(separatedBy: "\n").count == 1 + 8 + 1 + 3 + 1)
    }

    @Test func memoryLimitStopsHugeGroupTables() {
        let r = run(["SET memory_limit = '1MB'", "SELECT revenue BY customer.customer, product.product", known,
                     "SET memory_limit = '2GB'", "SELECT count(*) BY customer.customer, product.product TOP 1 BY count(*)"])
        #expect(r.ok == [true, false, true, true, true])
        #expect(r.err.contains("memory_limit = 1 MiB\n"))
        #expect(r.err.contains("error: the query needs more than memory_limit (1 MiB) for its groups: "))
        #expect(r.err.contains("help: group by fewer or coarser levels, filter with WHERE, or raise the limit, e.g. SET memory_limit = '8GB'"))
        #expect(r.err.contains("memory_limit = 2 GiB\n"))
        #expect(r.out.contains(knownTail))
    }

    @Test func timeoutStopsLongQueries() throws {
        var engine = QueryEngine(cube: cube)
        engine.limits.timeout = .nanoseconds(1)
        guard case .select(let select) = try Parser.parseStatement("SELECT revenue BY customer.customer") else { return }
        do {
            _ = try engine.run(select)
            Issue.record("a query ran past its timeout")
        } catch {
            #expect(error.message == "query stopped: it ran longer than the timeout = 0 ms")
        }
        engine.limits.timeout = .seconds(60)
        #expect(try engine.run(select).rows.count == 2212)
    }

    @Test func settingsAreCheckedAndABadOneChangesNothing() {
        let r = run(["SET timeot = 3", "SET max_result_rows = 0", "SET memory_limit = 'lots'", "SET timeout = 'soon'",
                     "SET timeout = '2m'", "SET timeout = 0", "SET memory_limit = 1048576", "SET max_result_rows = 'x'", known])
        #expect(r.ok == [false, false, false, false, true, true, true, false, true])
        #expect(r.err.contains("<test>:1:1: error: unknown setting 'timeot'\n"))
        #expect(r.err.contains("help: did you mean 'timeout'? The settings are max_result_rows, memory_limit, timeout; a parameter is written with $, as in SET $month = '2024-03'"))
        #expect(r.err.contains("<test>:1:23: error: max_result_rows must be a whole number above 0, not '0'"))
        #expect(r.err.contains("error: memory_limit must be a size of at least 1 MB, not 'lots'\n"))
        #expect(r.err.contains("help: e.g. SET memory_limit = '8GB' (units: KB, MB, GB; bytes without a unit)"))
        #expect(r.err.contains("error: timeout must be a duration, not 'soon'\n"))
        #expect(r.err.contains("timeout = 120 s\n"))
        #expect(r.err.contains("timeout = off\n"))
        #expect(r.err.contains("memory_limit = 1 MiB\n"))
        #expect(r.out.hasSuffix(knownTail))
    }
}
