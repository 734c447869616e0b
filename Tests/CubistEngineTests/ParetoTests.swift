import CubistCore
import CubistEngine
import CubistStore
import CubistSyntax
import Testing

/// PARETO against a naive computation from the fact rows: each member's value from its
/// own rows, sorted by hand, summed at the cuts.
@Suite struct ParetoTests {
    private func pareto(_ cube: Cube, _ text: String, threads: Int = 2) throws(Diagnostic) -> ResultTable {
        try analyse(cube, text, threads: threads)
    }

    /// The rows PARETO must give: `top`, `members`, the sum, its share, the member share.
    private func naive(_ ref: Reference, _ level: RL, _ m: RM, where filter: RC? = nil, curve: Bool = false) -> [[RV]] {
        var rows: [Int: [Int]] = [:]
        for r in 0..<ref.cube.facts.rowCount where filter.map({ ref.passes($0, r) }) ?? true {
            rows[ref.code(level, r), default: []].append(r)
        }
        let values = rows.keys.sorted().map { ref.aggregate(m, rows[$0]!) }
        guard !values.isEmpty else { return [] }
        // Largest first, empty last; ties keep member order (a stable sort by hand).
        var order: [Int] = []
        for i in values.indices {
            var at = order.count
            while at > 0 {
                let before = values[order[at - 1]], v = values[i]
                let moves = v != .null && (before == .null || refCompare(v, before)! > 0)
                if !moves { break }
                at -= 1
            }
            order.insert(i, at: at)
        }
        var sums: [RV] = [.exact(0, 0)]
        for i in order { sums.append(values[i] == .null ? sums.last! : refArith("+", sums.last!, values[i])) }
        let n = values.count, total = sums[n]
        func row(_ label: String, _ k: Int) -> [RV] {
            [.text(label), .exact(Int128(k), 0), sums[k], .double(sums[k].number! / total.number!), .double(Double(k) / Double(n))]
        }
        var out = (curve ? Array(1...100) : [1, 5, 10, 20, 50, 100]).map { p in
            row("\(p)%", Int((Double(n) * Double(p) / 100).rounded(.up)))
        }
        if !curve {
            let k = (1...n).first { refCompare(refArith("*", sums[$0], .exact(10, 0)), refArith("*", total, .exact(8, 0)))! >= 0 }!
            out.append(row("80% point", k))
        }
        return out
    }

    @Test(arguments: [3, 4] as [UInt64])
    func crmCubesMatchTheNaiveCurve(seed: UInt64) throws {
        let cube = try crmCube(rows: 2500 + Int(seed) * 300, seed: seed)
        let ref = Reference(cube: cube)
        let customer = RL(dim: "customer", level: "customer"), revenue = RM.sum(.col("revenue"))
        let year = ref.members(RL(dim: "time", level: "year"))[1]
        let cases: [(String, RL, RM, RC?, Bool)] = [
            ("PARETO customer.customer BY revenue", customer, revenue, nil, false),
            ("PARETO customer.customer BY revenue WHERE time.year = \(year)", customer, revenue,
             .memberEq(RL(dim: "time", level: "year"), year, negated: false), false),
            ("PARETO product.product BY quantity CURVE", RL(dim: "product", level: "product"), .sum(.col("quantity")), nil, true),
            ("PARETO customer.city BY count(*) WHERE channel.type = 'Online'", RL(dim: "customer", level: "city"), .countStar,
             .memberEq(RL(dim: "channel", level: "type"), "Online", negated: false), false),
            ("PARETO customer.customer BY revenue WHERE quantity > 3", customer, revenue,
             .rowCompare(.col("quantity"), ">", .const(3, 0)), false),
        ]
        for (text, level, m, filter, curve) in cases {
            expectSameTable(try pareto(cube, text), naive(ref, level, m, where: filter, curve: curve), text)
        }
        // One thread and four give the same table.
        let one = try pareto(cube, "PARETO customer.customer BY revenue", threads: 1)
        #expect(one.rows == (try pareto(cube, "PARETO customer.customer BY revenue", threads: 4)).rows)
        #expect(one.columns.map(\.name) == ["top", "members", "revenue", "share", "member_share"])
    }

    /// Negative and empty values: empty ones rank last and bring nothing; a negative one
    /// lowers the running sum.
    @Test func negativeAndEmptyValuesRankAsDocumented() throws {
        let cube = try nullsCube(rows: 900, seed: 21)
        let ref = Reference(cube: cube)
        for (text, level, m) in [("PARETO geo.city BY amount", RL(dim: "geo", level: "city"), RM.sum(.col("amount"))),
                                 ("PARETO item.item BY qty", RL(dim: "item", level: "item"), .sum(.col("qty")))] {
            expectSameTable(try pareto(cube, text), naive(ref, level, m), text)
        }
    }

    @Test func emptySingleAndMeaninglessCases() throws {
        let cube = try crmCube(rows: 1500, seed: 5)
        let empty = try pareto(cube, "PARETO customer.customer BY revenue WHERE quantity < 0")
        #expect(empty.rows.isEmpty)
        #expect(empty.warnings.contains { $0.message.contains("no member of customer.customer has facts under WHERE") })
        // PARETO has no HAVING, so the warning about a fact column in WHERE suggests a sub-select.
        #expect(empty.warnings.contains { $0.help?.contains("WHERE customer.customer IN (SELECT customer.customer HAVING") == true })

        let ref = Reference(cube: cube)
        let first = ref.label(RL(dim: "customer", level: "customer"), 0)
        let single = try pareto(cube, "PARETO customer.customer BY revenue WHERE customer.customer = '\(first)'")
        #expect(single.rows.map { $0[1] } == Array(repeating: Value.integer(1), count: 7))
        #expect(single.rows.allSatisfy { $0[3] == .double(1) })

        let failures: [(String, String)] = [
            ("PARETO customer.customer BY revenue FILTER (WHERE quantity < 0)", "shares of it have no meaning"),
            ("PARETO customer.customer BY max(time.day)", "needs a number to rank members by"),
            ("PARETO customer.customer BY share(revenue)", "have no place in it"),
            ("PARETO customer.customer BY revenue - revenue", "is 0"),
        ]
        for (text, message) in failures {
            #expect(throws: Diagnostic.self, "\(text)") { try pareto(cube, text) }
            do { _ = try pareto(cube, text) } catch { #expect(error.message.contains(message), "\(text): \(error.message)") }
        }
    }
}
