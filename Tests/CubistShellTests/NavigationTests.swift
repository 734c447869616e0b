import CubistGenerator
import Foundation
import CubistShell
import CubistStore
import Testing

/// Navigation through the shell's session: each step's view, its result, the SHOW VIEW
/// round trip, BACK chains, and errors that leave the view as it was.
@Suite struct NavigationTests {
    let cube: Cube

    init() throws { cube = try CRMSample.cube() }

    final class Run {
        let session: Session
        let output = StringOutput()
        var errors = ""

        init(_ cube: Cube) {
            session = Session(cube: cube, output: output, errors: { _ in })
            session.errors = { [unowned self] in self.errors += $0 + "\n" }
            session.format = .csv
        }

        /// Runs one statement; returns what it printed (stdout) or nil when it failed.
        func step(_ text: String) -> String? {
            let before = output.text.count
            errors = ""
            guard session.run(text, file: "<test>") else { return nil }
            return String(output.text.dropFirst(before))
        }

        var view: String? { session.views.last?.description }
    }

    /// Runs the view's SELECT text afresh and checks it prints what the navigation printed.
    private func roundTrip(_ run: Run, _ printed: String?) {
        guard let view = run.view else { Issue.record("no view"); return }
        let fresh = Run(cube)
        #expect(fresh.step(view) == printed, "SHOW VIEW does not reproduce: \(view)")
    }

    @Test func drillIntoAMemberSliceRollUpAndGoBack() throws {
        let run = Run(cube)
        let regions = run.step("SELECT revenue BY customer.region, channel.type WHERE time.year = 2025 ORDER BY revenue DESC LIMIT 3")
        #expect(regions == "customer.region,channel.type,revenue\nSeoul,Online,1798773.99\nGyeonggi,Online,1637261.61\nGyeonggi,Direct,1114659.69\n")
        let cities = run.step("DRILLDOWN customer = 'Seoul'")
        #expect(run.view == "SELECT revenue BY customer.city, channel.type WHERE time.year = 2025 AND customer.region = 'Seoul' ORDER BY revenue DESC LIMIT 3")
        #expect(cities == "customer.city,channel.type,revenue\nSeoul-Songpa,Online,460072.77\nSeoul-Seocho,Online,355520.96\nSeoul-Yongsan,Online,341801.37\n")
        roundTrip(run, cities)
        let online = run.step("SLICE channel.type = 'Online'")
        #expect(run.view == "SELECT revenue BY customer.city WHERE time.year = 2025 AND customer.region = 'Seoul' AND channel.type = 'Online' ORDER BY revenue DESC LIMIT 3")
        roundTrip(run, online)
        #expect(run.step("ROLLUP customer") == "customer.region,revenue\nSeoul,1798773.99\n")
        #expect(run.step("SHOW VIEW") == "SELECT revenue BY customer.region WHERE time.year = 2025 AND customer.region = 'Seoul' AND channel.type = 'Online' ORDER BY revenue DESC LIMIT 3;\n")
        #expect(run.step("BACK") == online)
        #expect(run.step("BACK") == cities)
        #expect(run.step("BACK") == regions)
        #expect(run.step("BACK") == nil)
        #expect(run.errors.contains("nothing to go back to"))
        #expect(run.session.views.count == 1)
    }

    @Test func drillDownKeepsTheParentAndRollUpRemovesTheChild() throws {
        let run = Run(cube)
        _ = run.step("SELECT orders BY product.category WHERE product.category IN ('Books', 'Toys')")
        let down = run.step("DRILLDOWN product")
        #expect(run.view == "SELECT orders BY product.category, product.subcategory WHERE product.category IN ('Books', 'Toys')")
        roundTrip(run, down)
        _ = run.step("ROLLUP product")
        #expect(run.view == "SELECT orders BY product.category WHERE product.category IN ('Books', 'Toys')")
        _ = run.step("DRILLDOWN product TO product")
        #expect(run.view == "SELECT orders BY product.category, product.product WHERE product.category IN ('Books', 'Toys')")
        _ = run.step("ROLLUP product TO category")
        #expect(run.view == "SELECT orders BY product.category WHERE product.category IN ('Books', 'Toys')")
        _ = run.step("ROLLUP product ALL")
        #expect(run.view == "SELECT orders WHERE product.category IN ('Books', 'Toys')")
    }

    @Test func diceAndPivot() throws {
        let run = Run(cube)
        _ = run.step("SELECT revenue BY customer.segment ACROSS time.year")
        let diced = run.step("DICE channel.type IN ('Online', 'Direct'), customer.tier IN ('VIP')")
        #expect(run.view == "SELECT revenue BY customer.segment ACROSS time.year WHERE channel.type IN ('Online', 'Direct') AND customer.tier IN ('VIP')")
        roundTrip(run, diced)
        let pivoted = run.step("PIVOT")
        #expect(run.view == "SELECT revenue BY time.year ACROSS customer.segment WHERE channel.type IN ('Online', 'Direct') AND customer.tier IN ('VIP')")
        #expect(pivoted?.hasPrefix("time.year,Consumer,Corporate,Small Business\n2022,") == true)
        roundTrip(run, pivoted)
    }

    @Test func badStepsAreErrorsAndLeaveTheViewAsItWas() throws {
        let run = Run(cube)
        #expect(run.step("SLICE customer.region = 'Seoul'") == nil)
        #expect(run.errors.hasPrefix("<test>:1:1: error: there is no view yet to SLICE"))
        _ = run.step("SELECT orders BY customer.region, product.category")
        let view = run.view
        let cases: [(String, String)] = [
            ("ROLLUP customer", "error: customer.region is the top level of customer: nothing to roll up to"),
            ("DRILLDOWN customer TO region", "error: DRILLDOWN customer TO region must name a level of customer below customer.region"),
            ("SLICE customer.region = 'Seol'", "error: no member 'Seol' in customer.region"),
            ("DICE channel.type IN ('Online', 'Offlin')", "error: no member 'Offlin' in channel.type"),
            ("ROLLUP time", "error: time is not on the view's axes (BY or ACROSS)"),
            ("DRILLDOWN customr", "error: unknown level 'customr'"),
            ("ROLLUP customer TO product", "error: ROLLUP customer TO product must name a level of customer above customer.region"),
        ]
        for (step, message) in cases {
            #expect(run.step(step) == nil, "\(step) should fail")
            #expect(run.errors.contains(message), "\(step): \(run.errors)")
            #expect(run.view == view, "\(step) changed the view")
        }
        _ = run.step("DRILLDOWN customer TO customer")
        #expect(run.step("DRILLDOWN customer") == nil)
        #expect(run.errors.contains("customer.customer is the finest level of customer: nothing below it"))
    }

    /// Every row of a view, subtotals and total included: its fact rows are as many as its
    /// lines, hold as many order numbers as its orders, and their revenue adds up to its
    /// revenue, exactly.
    @Test func drillthroughGivesTheFactRowsBehindEachRow() throws {
        let run = Run(cube)
        let view = run.step("SELECT lines, revenue, orders BY ROLLUP(customer.region, channel.type) WHERE time.month = '2025-12' AND product.category = 'Books' LIMIT 6") ?? ""
        let rows = view.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 7)  // six rows and the total
        for (i, row) in rows.enumerated() {
            guard let facts = run.step("DRILLTHROUGH ROW \(i + 1) LIMIT 100000") else { Issue.record("row \(i + 1): \(run.errors)"); continue }
            let lines = facts.split(separator: "\n").dropFirst()
            #expect(lines.count == Int(row[2]), "row \(i + 1) \(row)")
            let header = facts.split(separator: "\n")[0].split(separator: ",")
            let revenueColumn = header.firstIndex(of: "revenue") ?? 0, orderColumn = header.firstIndex(of: "order_id") ?? 0
            #expect(Set(lines.map { $0.split(separator: ",")[orderColumn] }).count == Int(row[4]), "row \(i + 1) \(row)")
            let cents = lines.reduce(0) { total, line in
                total + Int(line.split(separator: ",")[revenueColumn].replacingOccurrences(of: ".", with: ""))!
            }
            #expect(cents == Int(row[3].replacingOccurrences(of: ".", with: "")), "row \(i + 1) \(row)")
        }
        #expect(run.step("DRILLTHROUGH ROW 99") == nil)
        #expect(run.errors.contains("error: the view has 7 rows; there is no row 99"))
        #expect(run.session.views.count == 1)
    }

    @Test func drillthroughOfTheOthersRow() throws {
        let run = Run(cube)
        let view = run.step("SELECT lines BY customer.city TOP 20 BY lines WITH OTHERS") ?? ""
        let others = view.split(separator: "\n").last.map(String.init) ?? ""
        #expect(others.hasPrefix("Others,"))
        let facts = run.step("DRILLTHROUGH ROW 21 LIMIT 100000") ?? ""
        #expect(facts.split(separator: "\n").count - 1 == Int(others.split(separator: ",")[1]))
    }

    /// Random walks through the cube: every step either works (and SHOW VIEW reproduces its
    /// result) or fails with the view as it was. Seeded, so a failure replays.
    @Test func randomWalksKeepTheViewConsistent() throws {
        let steps = [
            "DRILLDOWN customer", "DRILLDOWN product", "DRILLDOWN time", "DRILLDOWN channel", "ROLLUP customer", "ROLLUP product",
            "ROLLUP time", "ROLLUP channel ALL", "ROLLUP customer ALL", "PIVOT", "BACK", "SLICE channel.type = 'Online'",
            "SLICE customer.region = 'Seoul'", "SLICE time.year = 2024", "DICE product.category IN ('Books', 'Toys', 'Home')",
            "DRILLDOWN customer = 'Busan'", "DRILLDOWN time = '2025'", "ROLLUP time TO year", "DRILLDOWN product TO product",
            "SLICE customer.region = 'Nowhere'", "DRILLDOWN channel = 'Online'",
        ]
        var state: UInt64 = 2026
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        for walk in 0..<6 {
            let run = Run(cube)
            _ = run.step("SELECT revenue, orders BY customer.region ACROSS time.year LIMIT 5")
            for i in 0..<15 {
                let step = steps[next(steps.count)]
                let before = run.view
                let depth = run.session.views.count
                if let printed = run.step(step) {
                    if step != "BACK" {
                        #expect(run.session.views.count == depth + 1)
                        roundTrip(run, printed)
                    }
                } else {
                    #expect(run.view == before, "walk \(walk) step \(i) '\(step)' failed and changed the view")
                    #expect(run.errors.contains("error:"), "walk \(walk) step \(i) '\(step)': \(run.errors)")
                }
            }
        }
    }
}
