import CubistCore
import CubistEngine
import CubistGenerator
import CubistStore
import CubistSyntax
import Testing

/// Runs an analysis statement on a cube.
func analyse(_ cube: Cube, _ text: String, threads: Int = 2, maxRows: Int? = nil) throws(Diagnostic) -> ResultTable {
    guard case .analysis(let a, let range) = try Parser.parseStatement(text) else {
        throw Diagnostic("not an analysis", at: SourceRange(start: 0, end: 0, location: SourceLocation(line: 1, column: 1)))
    }
    var engine = QueryEngine(cube: cube)
    engine.threads = threads
    engine.sliceRows = 300
    if let maxRows { engine.limits.maxResultRows = maxRows }
    return try engine.analysis(a, at: range)
}

/// Compares an engine table with rows worked out naively, cell by cell.
func expectSameTable(_ actual: ResultTable, _ expected: [[RV]], _ text: String) {
    #expect(actual.rows.count == expected.count, "\(text): \(actual.rows.count) rows, naive \(expected.count)")
    for (r, row) in zip(actual.rows, expected) {
        for (c, (v, e)) in zip(row, r).enumerated() where !same(e, v) {
            Issue.record("\(text): row \(r[0]) column \(actual.columns[c].name): engine \(e), naive \(v)")
        }
    }
}

/// RFM and LTV against naive computations from the fact rows: each member's rows found by
/// hand, scores counted by comparing every pair of members, segments read from the grid as
/// docs/crm.md prints it.
@Suite struct CustomerAnalysisTests {
    /// The segment grid of docs/crm.md: rows r = 5 ... 1, columns f = 1 ... 5.
    static let grid: [Int: [String]] = [
        5: ["New customers", "Potential loyalists", "Potential loyalists", "Champions", "Champions"],
        4: ["Promising", "Potential loyalists", "Potential loyalists", "Loyal", "Loyal"],
        3: ["About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"],
        2: ["Hibernating", "Hibernating", "At risk", "At risk", "Cannot lose them"],
        1: ["Lost", "Lost", "At risk", "At risk", "Cannot lose them"],
    ]
    static let segments = ["Champions", "Loyal", "Potential loyalists", "New customers", "Promising", "Need attention",
                           "About to sleep", "Cannot lose them", "At risk", "Hibernating", "Lost"]

    /// Each member with facts under `filter`: its code and rows.
    private func memberRows(_ ref: Reference, _ level: RL, _ filter: RC?) -> [(code: Int, rows: [Int])] {
        var rows: [Int: [Int]] = [:]
        for r in 0..<ref.cube.facts.rowCount where filter.map({ ref.passes($0, r) }) ?? true {
            rows[ref.code(level, r), default: []].append(r)
        }
        return rows.keys.sorted().map { ($0, rows[$0]!) }
    }

    /// 1 + floor(5 × (w + (e - 1) / 2) / n), w members with a strictly worse value and e with
    /// an equal one (itself included); empty is worst.
    private func scores(_ values: [RV], largerIsBetter: Bool) -> [Int] {
        func worse(_ a: RV, than b: RV) -> Bool {
            if a == .null { return b != .null }
            if b == .null { return false }
            let c = refCompare(a, b)!
            return largerIsBetter ? c < 0 : c > 0
        }
        return values.map { v in
            let w = values.filter { worse($0, than: v) }.count
            let e = values.filter { !worse($0, than: v) && !worse(v, than: $0) }.count
            return 1 + 5 * (2 * w + e - 1) / (2 * values.count)
        }
    }

    private func naiveRFM(_ ref: Reference, _ level: RL, frequency: RM, monetary: RM, onlyRows: RC? = nil, where filter: RC?, summary: Bool) -> [[RV]] {
        let members = memberRows(ref, level, filter)
        guard !members.isEmpty else { return [] }
        let recency = members.map { ref.aggregate(.recency, $0.rows) }
        let freq = members.map { ref.aggregate(frequency, $0.rows) }
        // The monetary measure over the rows that also pass `onlyRows` (its FILTER), if any.
        let money = members.map { m in ref.aggregate(monetary, m.rows.filter { r in onlyRows.map { ref.passes($0, r) } ?? true }) }
        let r = scores(recency, largerIsBetter: false), f = scores(freq, largerIsBetter: true), m = scores(money, largerIsBetter: true)
        let segment = members.indices.map { CustomerAnalysisTests.segments.firstIndex(of: CustomerAnalysisTests.grid[r[$0]]![f[$0] - 1])! }
        if summary {
            let total = money.filter { $0 != .null }.reduce(RV.exact(0, 0)) { refArith("+", $0, $1) }
            var rows = CustomerAnalysisTests.segments.indices.map { s -> [RV] in
                let mine = members.indices.filter { segment[$0] == s }
                let sum = mine.map { money[$0] }.filter { $0 != .null }.reduce(RV.exact(0, 0)) { refArith("+", $0, $1) }
                return [.text(CustomerAnalysisTests.segments[s]), .exact(Int128(mine.count), 0), .double(Double(mine.count) / Double(members.count)),
                        sum, .double(sum.number! / total.number!)]
            }
            rows.append([.text("Total"), .exact(Int128(members.count), 0), .double(1), total, .double(1)])
            return rows
        }
        let order = members.indices.sorted { a, b in
            if segment[a] != segment[b] { return segment[a] < segment[b] }
            if money[a] != money[b] {
                if money[a] == .null { return false }
                if money[b] == .null { return true }
                let c = refCompare(money[a], money[b])!
                if c != 0 { return c > 0 }
            }
            return members[a].code < members[b].code
        }
        let labels = ref.members(level)
        return order.map { i in
            [.text(labels[members[i].code]), recency[i], freq[i], money[i], .exact(Int128(r[i]), 0), .exact(Int128(f[i]), 0), .exact(Int128(m[i]), 0),
             .text("\(r[i])\(f[i])\(m[i])"), .text(CustomerAnalysisTests.segments[segment[i]])]
        }
    }

    @Test(arguments: [7, 8] as [UInt64])
    func rfmMatchesTheNaiveScores(seed: UInt64) throws {
        let cube = try crmCube(rows: 2500 + Int(seed) * 200, seed: seed)
        let ref = Reference(cube: cube)
        let customer = RL(dim: "customer", level: "customer"), revenue = RM.sum(.col("revenue")), orders = RM.distinctValues("order_id")
        let year = ref.members(RL(dim: "time", level: "year"))[2]
        let cases: [(String, RL, RM, RM, RC?, Bool)] = [
            ("RFM customer.customer", customer, orders, revenue, nil, false),
            ("RFM customer.customer SUMMARY", customer, orders, revenue, nil, true),
            ("RFM customer.customer FREQUENCY lines", customer, .countStar, revenue, nil, false),
            ("RFM customer.customer BY quantity FREQUENCY count(distinct product.product) WHERE time.year = \(year)", customer,
             .distinct(RL(dim: "product", level: "product")), .sum(.col("quantity")), .memberEq(RL(dim: "time", level: "year"), year, negated: false), false),
            ("RFM customer.city WHERE channel.type = 'Online' SUMMARY", RL(dim: "customer", level: "city"), orders, revenue,
             .memberEq(RL(dim: "channel", level: "type"), "Online", negated: false), true),
        ]
        for (text, level, f, m, filter, summary) in cases {
            expectSameTable(try analyse(cube, text), naiveRFM(ref, level, frequency: f, monetary: m, where: filter, summary: summary), text)
        }
        // Members whose monetary value is empty (no row passes the FILTER) score 1 and list last in their segment.
        let text = "RFM product.product BY revenue FILTER (WHERE quantity > 3)"
        expectSameTable(try analyse(cube, text), naiveRFM(ref, RL(dim: "product", level: "product"), frequency: orders, monetary: revenue,
                                                          onlyRows: .rowCompare(.col("quantity"), ">", .const(3, 0)), where: nil, summary: false), text)
        let one = try analyse(cube, "RFM customer.customer", threads: 1)
        #expect(one.rows == (try analyse(cube, "RFM customer.customer", threads: 4)).rows)
        #expect(one.columns.map(\.name) == ["customer", "recency_days", "frequency", "monetary", "r", "f", "m", "score", "segment"])
    }

    @Test func rfmTiesEmptyAndSingleMembers() throws {
        let cube = try crmCube(rows: 1500, seed: 5)
        let ref = Reference(cube: cube)
        // Every member ties on a constant frequency: all score the middle f = 3, with a warning.
        let tied = try analyse(cube, "RFM customer.customer FREQUENCY count(distinct time.year) WHERE time.year = \(ref.members(RL(dim: "time", level: "year"))[1])")
        #expect(tied.rows.count > 10 && tied.rows.allSatisfy { $0[5] == .integer(3) })
        #expect(tied.warnings.contains { $0.message.contains("have the same frequency (1), so f is 3 for every one") })
        let empty = try analyse(cube, "RFM customer.customer WHERE quantity < 0 SUMMARY")
        #expect(empty.rows.isEmpty)
        #expect(empty.warnings.contains { $0.message.contains("so there is nothing to score") })
        #expect(empty.warnings.contains { $0.help?.contains("WHERE customer.customer IN (SELECT customer.customer HAVING") == true })
        let first = ref.label(RL(dim: "customer", level: "customer"), 0)
        let single = try analyse(cube, "RFM customer.customer WHERE customer.customer = '\(first)'")
        #expect(single.rows.count == 1)
        #expect(single.rows[0][7] == .text("111") && single.rows[0][8] == .text("Lost"))

        let failures: [(String, String)] = [
            ("RFM revenue", "is not a level"),
            ("RFM time.month", "is a level of time"),
            ("RFM customer.customer BY max(time.day)", "needs a number for monetary value"),
            ("RFM customer.customer FREQUENCY rank(orders)", "have no place in it"),
            ("RFM customer.customer BY nosuch", "nosuch"),
        ]
        for (text, message) in failures {
            do {
                _ = try analyse(cube, text)
                Issue.record("\(text) did not fail")
            } catch { #expect(error.message.contains(message), "\(text): \(error.message)") }
        }
        #expect(throws: Diagnostic.self) { try analyse(cube, "RFM customer.customer", maxRows: 10) }
        // A cube without a time dimension has no recency.
        let shops = try loadCube(["cube.json": Array(#"{"name":"s","facts":"f.csv","dimensions":[{"name":"shop","levels":["shop"]}],"measures":[{"name":"amount","column":"amount","aggregate":"sum","format":"money"},{"name":"orders","aggregate":"count"}]}"#.utf8),
                                  "f.csv": Array("shop,amount\nA,1.50\nB,2.25\n".utf8)])
        do { _ = try analyse(shops, "RFM shop.shop"); Issue.record("RFM without time did not fail") } catch {
            #expect(error.message.contains("has no time dimension"))
        }
    }

    /// LTV per group: members with facts, value, orders and margin per member, average
    /// order value, and the mean of each member's first-to-last purchase days.
    private func naiveLTV(_ ref: Reference, _ level: RL, by: RL?, where filter: RC?) -> [[RV]] {
        var groups: [Int: [Int]] = [:]
        var all: [Int] = []
        for r in 0..<ref.cube.facts.rowCount where filter.map({ ref.passes($0, r) }) ?? true {
            groups[by.map { ref.code($0, r) } ?? 0, default: []].append(r)
            all.append(r)
        }
        func row(_ rows: [Int]) -> [RV] {
            var byMember: [Int: [Int]] = [:]
            for r in rows { byMember[ref.code(level, r), default: []].append(r) }
            let n = RV.exact(Int128(byMember.count), 0)
            let revenue = ref.aggregate(.sum(.col("revenue")), rows), orders = ref.aggregate(.distinctValues("order_id"), rows)
            let margin = refArith("-", revenue, ref.aggregate(.sum(.col("cost")), rows))
            let days = byMember.values.map { rs -> Double in
                let labels = rs.map { ref.label(RL(dim: "time", level: "day"), $0) }
                return Double(RefDate.days(labels.min()!, labels.max()!))
            }
            return [n, .double(revenue.number! / n.number!), .double(orders.number! / n.number!), .double(revenue.number! / orders.number!),
                    .double(days.reduce(0, +) / Double(days.count)), .double(margin.number! / n.number!)]
        }
        guard let by else { return all.isEmpty ? [] : [row(all)] }
        let labels = ref.members(by)
        var out = groups.keys.sorted().map { [RV.text(labels[$0])] + row(groups[$0]!) }
        if !all.isEmpty { out.append([.text("Total")] + row(all)) }
        return out
    }

    @Test(arguments: [9] as [UInt64])
    func ltvMatchesTheNaiveFigures(seed: UInt64) throws {
        let cube = try crmCube(rows: 3000, seed: seed)
        let ref = Reference(cube: cube)
        let customer = RL(dim: "customer", level: "customer")
        let cases: [(String, RL?, RC?)] = [
            ("LTV customer.customer", nil, nil),
            ("LTV customer.customer BY customer.tier", RL(dim: "customer", level: "tier"), nil),
            ("LTV customer.customer BY channel.type WHERE quantity >= 2", RL(dim: "channel", level: "type"),
             .rowCompare(.col("quantity"), ">=", .const(2, 0))),
        ]
        for (text, by, filter) in cases {
            let table = try analyse(cube, text)
            let expected = naiveLTV(ref, customer, by: by, where: filter)
            // The total row reads "Total" in the engine's first column.
            let actual = ResultTable(columns: table.columns, rows: table.rows.enumerated().map { i, r in
                table.rowKinds[i] == .total ? [.text("Total")] + r.dropFirst() : r
            }, rowKinds: table.rowKinds)
            expectSameTable(actual, expected, text)
        }
        let table = try analyse(cube, "LTV customer.customer BY customer.tier")
        #expect(table.columns.map(\.name) == ["customer.tier", "members", "revenue_per_member", "orders_per_member", "average_order_value",
                                              "lifetime_days", "margin_per_member"])
        for (text, message) in [("LTV customer.customer BY customer.customer", "a group of one"), ("LTV customer.customer BY revenue", "is not a level"),
                                ("LTV time.day", "is a level of time")] {
            do { _ = try analyse(cube, text); Issue.record("\(text) did not fail") } catch {
                #expect(error.message.contains(message), "\(text): \(error.message)")
            }
        }
    }

    /// EXPLAIN of an analysis names the grouped query it scans, what the scan did, and the
    /// analysis's own steps.
    @Test func explainShowsTheScansAndTheSteps() throws {
        let cube = try crmCube(rows: 2000, seed: 3)
        func explain(_ text: String) throws -> [String: String] {
            guard case .explainAnalysis(let a, let analyze, let range) = try Parser.parseStatement(text) else {
                Issue.record("\(text) is not EXPLAIN of an analysis")
                return [:]
            }
            let table = try QueryEngine(cube: cube).explain(a, analyze: analyze, at: range)
            var steps: [String: String] = [:]
            for row in table.rows { if case .text(let k) = row[0], case .text(let v) = row[1] { steps[k] = v } }
            return steps
        }
        let customers = try analyse(cube, "RFM customer.customer").rows.count
        let rfm = try explain("EXPLAIN RFM customer.customer WHERE channel.type = 'Online' SUMMARY")
        #expect(rfm["analysis"] == "RFM customer.customer WHERE channel.type = 'Online' SUMMARY")
        #expect(rfm["query 1"] == "SELECT days(max(time.day), latest(time.day)) AS recency_days, orders, revenue BY customer.customer WHERE channel.type = 'Online'")
        #expect(rfm["  result"]?.hasPrefix("no rows built") == true)
        #expect(rfm["score"]?.contains("ranked as 64-bit integers") == true)
        #expect(rfm["result"] == "12 rows, 5 columns")
        let all = try explain("EXPLAIN RFM customer.customer")
        #expect(all["  groups"] == grouped(customers))
        let ltv = try explain("EXPLAIN ANALYZE LTV customer.customer BY customer.tier")
        #expect(ltv["query 1"]?.hasPrefix("SELECT count(distinct customer.customer) AS members, revenue / count(distinct customer.customer) AS revenue_per_member") == true)
        #expect(ltv["result"] == "5 rows, 7 columns" && ltv["time"] == nil)
        let pareto = try explain("EXPLAIN PARETO product.product BY margin CURVE")
        #expect(pareto["query 1"] == "SELECT margin BY product.product" && pareto["cuts"]?.hasPrefix("every percent") == true)
    }

    /// COHORT worked out from the fact rows: each member's first period under the filter,
    /// then per cohort and period the active members (or the measure over their rows).
    private func naiveCohort(_ ref: Reference, _ level: RL, _ period: String, measure: RM?, where filter: RC?) -> [[RV]] {
        func ordinal(_ label: String) -> Int {
            let y = Int(label.prefix(4))!
            switch period {
            case "year": return y
            case "quarter": return y * 4 + Int(label.suffix(1))! - 1
            default: return y * 12 + Int(label.suffix(2))! - 1
            }
        }
        let periodLevel = RL(dim: "time", level: period)
        let rows = (0..<ref.cube.facts.rowCount).filter { r in filter.map { ref.passes($0, r) } ?? true }
        guard !rows.isEmpty else { return [] }
        var first: [Int: String] = [:]
        for r in rows {
            let m = ref.code(level, r), p = ref.label(periodLevel, r)
            if first[m].map({ p < $0 }) ?? true { first[m] = p }
        }
        let latest = rows.map { ordinal(ref.label(periodLevel, $0)) }.max()!
        let cohorts = Set(first.values).sorted()
        let width = latest - ordinal(cohorts[0]) + 1
        var cells: [String: [Int: [Int]]] = [:]
        for r in rows {
            let c = first[ref.code(level, r)]!
            cells[c, default: [:]][ordinal(ref.label(periodLevel, r)) - ordinal(c), default: []].append(r)
        }
        return cohorts.map { c in
            let size = Set(cells[c]![0]!.map { ref.code(level, $0) }).count
            var row: [RV] = [.text(c), .exact(Int128(size), 0)]
            for k in 0..<width {
                if ordinal(c) + k > latest { row.append(.null); continue }
                let here = cells[c]![k] ?? []
                if let measure { row.append(here.isEmpty ? .null : ref.aggregate(measure, here)) } else {
                    row.append(.double(Double(Set(here.map { ref.code(level, $0) }).count) / Double(size)))
                }
            }
            return row
        }
    }

    @Test(arguments: [11, 12] as [UInt64])
    func cohortMatchesTheNaiveTriangle(seed: UInt64) throws {
        let cube = try crmCube(rows: 3000 + Int(seed) * 100, seed: seed)
        let ref = Reference(cube: cube)
        let customer = RL(dim: "customer", level: "customer")
        let cases: [(String, RL, String, RM?, RC?)] = [
            ("COHORT customer.customer BY time.quarter", customer, "quarter", nil, nil),
            ("COHORT customer.customer BY time.year MEASURE revenue", customer, "year", .sum(.col("revenue")), nil),
            ("COHORT customer.city BY time.month WHERE channel.type = 'Online'", RL(dim: "customer", level: "city"), "month", nil,
             .memberEq(RL(dim: "channel", level: "type"), "Online", negated: false)),
            ("COHORT product.product BY time.quarter MEASURE count(*) WHERE quantity >= 3", RL(dim: "product", level: "product"), "quarter", .countStar,
             .rowCompare(.col("quantity"), ">=", .const(3, 0))),
        ]
        for (text, level, period, measure, filter) in cases {
            let table = try analyse(cube, text)
            let expected = naiveCohort(ref, level, period, measure: measure, where: filter)
            #expect(table.columns.count == (expected.first?.count ?? 2), "\(text): \(table.columns.count) columns")
            expectSameTable(table, expected, text)
        }
        #expect(try analyse(cube, "COHORT customer.customer BY time.quarter", threads: 1).rows
                == (try analyse(cube, "COHORT customer.customer BY time.quarter", threads: 4)).rows)
        let empty = try analyse(cube, "COHORT customer.customer BY time.month WHERE quantity < 0")
        #expect(empty.rows.isEmpty && empty.warnings.contains { $0.message.contains("so there is no cohort") })
        for (text, message) in [("COHORT customer.customer BY time.day", "is none of these"), ("COHORT customer.customer BY customer.region", "is none of these"),
                                ("COHORT time.month BY time.quarter", "is a level of time"), ("COHORT customer.customer BY time.month MEASURE max(time.day)", "needs a number"),
                                ("COHORT customer.customer BY time.month MEASURE growth(revenue)", "have no place in it")] {
            do { _ = try analyse(cube, text); Issue.record("\(text) did not fail") } catch {
                #expect(error.message.contains(message), "\(text): \(error.message)")
            }
        }
    }

    /// CHURN from the fact rows: per member its rows in each window (days between labels,
    /// compared as ISO text), active before and not after, grouped by an attribute.
    private func naiveChurn(_ ref: Reference, _ level: RL, before: ClosedRange<String>, after: ClosedRange<String>, by: RL?,
                            where filter: RC?, list: Bool) -> [[RV]] {
        let day = RL(dim: "time", level: "day")
        var rowsBefore: [Int: [Int]] = [:], afterCount: [Int: Int] = [:], last: [Int: String] = [:], group: [Int: Int] = [:]
        for r in 0..<ref.cube.facts.rowCount where filter.map({ ref.passes($0, r) }) ?? true {
            let m = ref.code(level, r), d = ref.label(day, r)
            if before.contains(d) { rowsBefore[m, default: []].append(r) }
            if after.contains(d) { afterCount[m, default: 0] += 1 }
            if before.contains(d) || after.contains(d) { last[m] = max(last[m] ?? d, d) }
            if let by { group[m] = ref.code(by, r) }
        }
        let churned = rowsBefore.keys.filter { afterCount[$0] == nil }
        func lost(_ m: Int) -> RV { ref.aggregate(.sum(.col("revenue")), rowsBefore[m]!) }
        if list {
            let labels = ref.members(level)
            return churned.sorted { a, b in
                let c = refCompare(lost(a), lost(b))!
                return c != 0 ? c > 0 : a < b
            }.map { m in [.text(labels[m])] + (by.map { [RV.text(ref.members($0)[group[m]!])] } ?? []) + [.text(last[m]!), lost(m)] }
        }
        func row(_ members: [Int]) -> [RV] {
            let gone = members.filter { afterCount[$0] == nil }
            return [.exact(Int128(members.count), 0), .exact(Int128(gone.count), 0), .double(Double(gone.count) / Double(members.count)),
                    gone.map(lost).reduce(RV.exact(0, 2)) { refArith("+", $0, $1) }]
        }
        let active = Array(rowsBefore.keys)
        guard !active.isEmpty else { return by == nil ? [[.exact(0, 0), .exact(0, 0), .null, .exact(0, 0)]] : [] }
        guard let by else { return [row(active)] }
        let labels = ref.members(by)
        return Set(active.map { group[$0]! }).sorted().map { g in [.text(labels[g])] + row(active.filter { group[$0] == g }) } + [[.null] + row(active)]
    }

    @Test(arguments: [13, 14] as [UInt64])
    func churnMatchesTheNaiveCount(seed: UInt64) throws {
        let cube = try crmCube(rows: 3000 + Int(seed) * 100, seed: seed)
        let ref = Reference(cube: cube)
        let customer = RL(dim: "customer", level: "customer"), tier = RL(dim: "customer", level: "tier")
        let latest = ref.latestDay
        func back(_ n: Int) -> String { RefDate.adding(-n, to: latest) }
        let years = ref.members(RL(dim: "time", level: "year"))
        let (y1, y2) = (years[years.count - 3], years[years.count - 2])
        let cases: [(String, ClosedRange<String>, ClosedRange<String>, RL?, RC?, Bool)] = [
            ("CHURN customer.customer", back(729)...back(365), back(364)...latest, nil, nil, false),
            ("CHURN customer.customer WINDOW 90 DAYS BY customer.tier", back(179)...back(90), back(89)...latest, tier, nil, false),
            ("CHURN customer.customer BETWEEN \(y1) AND \(y2) BY customer.tier WHERE channel.type = 'Online'", "\(y1)-01-01"..."\(y1)-12-31",
             "\(y2)-01-01"..."\(y2)-12-31", tier, .memberEq(RL(dim: "channel", level: "type"), "Online", negated: false), false),
            ("CHURN customer.customer WINDOW 120 DAYS BY customer.tier LIST WHERE quantity >= 2", back(239)...back(120), back(119)...latest, tier,
             .rowCompare(.col("quantity"), ">=", .const(2, 0)), true),
        ]
        for (text, before, after, by, filter, list) in cases {
            let table = try analyse(cube, text)
            let actual = ResultTable(columns: table.columns, rows: table.rows.enumerated().map { i, r in
                table.rowKinds[i] == .total ? [Value.null] + r.dropFirst() : r
            }, rowKinds: table.rowKinds)
            expectSameTable(actual, naiveChurn(ref, customer, before: before, after: after, by: by, where: filter, list: list), text)
        }
        for (text, message) in [("CHURN customer.customer BY channel.type", "is not one"), ("CHURN customer.city BY customer.tier", "has several"),
                                ("CHURN customer.customer BETWEEN 2025 AND 2024", "earlier period first"),
                                ("CHURN customer.customer BETWEEN 2024 AND '2025-Q1'", "of one kind"), ("CHURN customer.customer WINDOW 0 DAYS", "from 1 to 36,500"),
                                ("CHURN time.month", "is a level of time"), ("CHURN customer.customer BETWEEN 'x' AND 2025", "is not a period")] {
            do { _ = try analyse(cube, text); Issue.record("\(text) did not fail") } catch {
                #expect(error.message.contains(message), "\(text): \(error.message)")
            }
        }
    }

    /// BASKET from the fact rows: each basket's set of members, then every pair of members
    /// of a basket; both directions, ordered by lift, baskets, then member order.
    private func naiveBasket(_ ref: Reference, _ level: RL, per: RL?, minSupport: Double, where filter: RC?) -> [[RV]] {
        let orders = ref.cube.facts.numericColumns.first { $0.name == "order_id" }!
        var held: [Int: Set<Int>] = [:]
        for r in 0..<ref.cube.facts.rowCount where filter.map({ ref.passes($0, r) }) ?? true {
            let basket = per.map { ref.code($0, r) } ?? Int(orders.mantissa(at: r)!)
            held[basket, default: []].insert(ref.code(level, r))
        }
        let total = Double(held.count)
        var single: [Int: Int] = [:], pairs: [[Int]: Int] = [:]
        for items in held.values {
            for a in items {
                single[a, default: 0] += 1
                for b in items where b != a { pairs[[a, b], default: 0] += 1 }
            }
        }
        let labels = ref.members(level)
        func lift(_ p: [Int]) -> Double { Double(pairs[p]!) * total / (Double(single[p[0]]!) * Double(single[p[1]]!)) }
        let kept = pairs.keys.filter { Double(pairs[$0]!) / total >= minSupport }.sorted { x, y in
            if lift(x) != lift(y) { return lift(x) > lift(y) }
            if pairs[x]! != pairs[y]! { return pairs[x]! > pairs[y]! }
            return x[0] != y[0] ? x[0] < y[0] : x[1] < y[1]
        }
        return kept.map { p in
            [.text(labels[p[0]]), .text(labels[p[1]]), .exact(Int128(pairs[p]!), 0), .double(Double(pairs[p]!) / total),
             .double(Double(pairs[p]!) / Double(single[p[0]]!)), .double(lift(p))]
        }
    }

    @Test(arguments: [15, 16] as [UInt64])
    func basketMatchesTheNaivePairs(seed: UInt64) throws {
        var output = MemoryOutput()
        try CRMGenerator(rows: 3000 + Int(seed) * 100, seed: seed).generate(into: &output)
        let cube = try loadCube(output.files)
        // The same facts in another order: the order numbers no longer come in runs, so the
        // distinct count holds (order, member) pairs instead.
        var lines = String(decoding: output.files["sales.csv"]!, as: UTF8.self).split(separator: "\n")
        var random = SeededRandom(seed: seed)
        for i in stride(from: lines.count - 1, to: 1, by: -1) { lines.swapAt(i, 1 + random.below(i)) }
        var files = output.files
        files["sales.csv"] = Array((lines.joined(separator: "\n") + "\n").utf8)
        let shuffled = try loadCube(files)
        #expect(cube.facts.numericColumns.first { $0.name == "order_id" }!.comesInRuns)
        #expect(!shuffled.facts.numericColumns.first { $0.name == "order_id" }!.comesInRuns)
        let category = RL(dim: "product", level: "category"), customer = RL(dim: "customer", level: "customer")
        let cases: [(String, RL, RL?, Double, RC?)] = [
            ("BASKET product.category", category, nil, 0, nil),
            ("BASKET product.subcategory PER order_id WHERE channel.type = 'Online'", RL(dim: "product", level: "subcategory"), nil, 0,
             .memberEq(RL(dim: "channel", level: "type"), "Online", negated: false)),
            ("BASKET product.category MIN SUPPORT 0.02 WHERE quantity >= 2", category, nil, 0.02, .rowCompare(.col("quantity"), ">=", .const(2, 0))),
            ("BASKET product.category PER customer.customer", category, customer, 0, nil),
            ("BASKET product.category PER customer.customer MIN SUPPORT 0.2 WHERE channel.type = 'Online'", category, customer, 0.2,
             .memberEq(RL(dim: "channel", level: "type"), "Online", negated: false)),
            ("BASKET product.subcategory PER time.day WHERE quantity >= 2", RL(dim: "product", level: "subcategory"), RL(dim: "time", level: "day"), 0,
             .rowCompare(.col("quantity"), ">=", .const(2, 0))),
            ("BASKET channel.channel PER customer.city", RL(dim: "channel", level: "channel"), RL(dim: "customer", level: "city"), 0, nil),
        ]
        for (c, facts) in [cube, shuffled].enumerated() {
            let ref = Reference(cube: facts)
            for (text, level, per, minSupport, filter) in cases {
                let expected = naiveBasket(ref, level, per: per, minSupport: minSupport, where: filter)
                #expect(!expected.isEmpty, "\(text): the naive answer is empty")
                for threads in [1, 3] {
                    expectSameTable(try analyse(facts, text, threads: threads), expected, "\(text) (cube \(c), \(threads) threads)")
                }
            }
        }
        let empty = try analyse(cube, "BASKET product.category WHERE quantity < 0")
        #expect(empty.rows.isEmpty && empty.warnings.contains { $0.message.contains("no order has facts") })
        for (text, message) in [("BASKET product.category PER product.brand", "of the same one"),
                                ("BASKET product.category PER revenue", "no measure counts the distinct values of revenue"),
                                ("BASKET product.category PER orderid", "is neither"),
                                ("BASKET product.category PER customer.customer MIN SUPPORT 2", "from 0 to 1")] {
            do { _ = try analyse(cube, text); Issue.record("\(text) did not fail") } catch {
                #expect(error.message.contains(message), "\(text): \(error.message)")
            }
        }
        // A cube whose facts carry no order number has no default basket.
        let plain = try nullsCube(rows: 300, seed: 3)
        do { _ = try analyse(plain, "BASKET item.kind"); Issue.record("BASKET without orders did not fail") } catch {
            #expect(error.message.contains("has no order number"), "\(error.message)")
        }
        #expect(throws: Diagnostic.self) { try analyse(cube, "BASKET product.product PER customer.customer", maxRows: 5) }
    }
}
