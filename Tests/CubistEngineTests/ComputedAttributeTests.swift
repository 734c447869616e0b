import CubistCore
import CubistEngine
import CubistStore
import CubistSyntax
import Testing

/// DEFINE ATTRIBUTE against a naive per-member computation from the fact rows.
@Suite struct ComputedAttributeTests {
    /// The label every customer got.
    private func labels(_ cube: Cube, _ name: String) -> [String] {
        let dim = cube.dimension(named: "customer")!
        let a = dim.attributes.firstIndex { $0.name == name }!
        return dim.leafToAttribute[a].map { dim.attributes[a].members[Int($0)] }
    }

    /// Each customer's rows (optionally only the online ones), and each one's revenue.
    private func perCustomer(_ ref: Reference, onlineOnly: Bool) -> (rows: [[Int]], revenue: [RV]) {
        let customer = RL(dim: "customer", level: "customer"), type = RL(dim: "channel", level: "type")
        var rows = [[Int]](repeating: [], count: ref.level(customer).count)
        for r in 0..<ref.cube.facts.rowCount where !onlineOnly || ref.label(type, r) == "Online" {
            rows[ref.code(customer, r)].append(r)
        }
        return (rows, rows.map { $0.isEmpty ? .null : ref.aggregate(.sum(.col("revenue")), $0) })
    }

    @Test(arguments: [3, 4, 5] as [UInt64])
    func cohortsBandsAndTilesMatchANaiveComputation(seed: UInt64) throws {
        var cube = try crmCube(rows: 3000 + Int(seed) * 500, seed: seed)
        cube = try define(cube, "DEFINE ATTRIBUTE customer.cohort = min(time.quarter)")
        cube = try define(cube, "DEFINE ATTRIBUTE customer.last_month = max(time.month) WHERE channel.type = 'Online'")
        cube = try define(cube, "DEFINE ATTRIBUTE customer.band = band(revenue, 100, 1000, 5000)")
        cube = try define(cube, "DEFINE ATTRIBUTE customer.tile = ntile(4, revenue) WHERE channel.type = 'Online'")
        let ref = Reference(cube: cube)
        let all = perCustomer(ref, onlineOnly: false), online = perCustomer(ref, onlineOnly: true)
        let quarter = RL(dim: "time", level: "quarter"), month = RL(dim: "time", level: "month")

        let cohorts = all.rows.map { rows in rows.isEmpty ? "(none)" : ref.level(quarter).members[rows.map { ref.code(quarter, $0) }.min()!] }
        #expect(labels(cube, "cohort") == cohorts)
        let last = online.rows.map { rows in rows.isEmpty ? "(none)" : ref.level(month).members[rows.map { ref.code(month, $0) }.max()!] }
        #expect(labels(cube, "last_month") == last)

        let edges: [(RV, String)] = [(.exact(100, 0), "< 100"), (.exact(1000, 0), "100 – 1,000"), (.exact(5000, 0), "1,000 – 5,000")]
        let bands = all.revenue.map { v -> String in
            if v == .null { return "(none)" }
            return edges.first { refCompare(v, $0.0)! < 0 }?.1 ?? "≥ 5,000"
        }
        #expect(labels(cube, "band") == bands)

        let ranked = online.revenue.indices.filter { online.revenue[$0] != .null }
            .sorted { a, b in
                let c = refCompare(online.revenue[a], online.revenue[b])!
                return c != 0 ? c < 0 : a < b
            }
        var tiles = [String](repeating: "(none)", count: online.revenue.count)
        for (i, leaf) in ranked.enumerated() { tiles[leaf] = String(i * 4 / ranked.count + 1) }
        #expect(labels(cube, "tile") == tiles)
        #expect(Set(tiles).count == 5, "some customers never bought online, so (none) appears")

        // A query grouped by a computed attribute adds up like the naive grouping.
        let result = try run(cube, "SELECT customers, revenue BY customer.band")
        var expected: [String: (Int, RV)] = [:]
        for (leaf, label) in bands.enumerated() where !all.rows[leaf].isEmpty {
            let (n, sum) = expected[label] ?? (0, .exact(0, 0))
            expected[label] = (n + 1, refArith("+", sum, all.revenue[leaf]))
        }
        #expect(result.rows.map { $0[0].description } == ["< 100", "100 – 1,000", "1,000 – 5,000", "≥ 5,000"].filter { expected[$0] != nil })
        for row in result.rows {
            let (n, sum) = expected[row[0].description]!
            #expect(row[1].description == String(n))
            guard case .exact(let m, let scale) = sum else { Issue.record("revenue is not exact"); continue }
            #expect(Value.compare(row[2], .exact(m, scale: scale)) == 0)
        }
    }

    @Test func aRangeComparisonNeverIncludesNone() throws {
        var cube = try crmCube(rows: 3000, seed: 9)
        cube = try define(cube, "DEFINE ATTRIBUTE customer.cohort = min(time.quarter) WHERE channel.type = 'Online'")
        let members = cube.dimension(named: "customer")!.attributes.last!.members
        #expect(members.last == "(none)")
        let later = try run(cube, "SELECT customers BY customer.cohort WHERE customer.cohort >= '\(members[1])'")
        #expect(later.rows.map { $0[0].description } == Array(members[1..<(members.count - 1)]))
        let all = try run(cube, "SELECT customers BY customer.cohort WHERE customer.cohort = '(none)'")
        #expect(all.rows.count == 1)
    }

    @Test func aSessionAttributeCanBeDefinedAgainButNotAModelOne() throws {
        var cube = try crmCube(rows: 2000, seed: 2)
        cube = try define(cube, "DEFINE ATTRIBUTE customer.tile = ntile(2, revenue)")
        cube = try define(cube, "DEFINE ATTRIBUTE customer.tile = ntile(3, revenue)")
        let dim = cube.dimension(named: "customer")!
        #expect(dim.attributes.filter { $0.name == "tile" }.count == 1)
        #expect(dim.attributes.last?.members.prefix(3) == ["1", "2", "3"])
        #expect(dim.attributes.last?.definition == "ntile(3, revenue)")
        #expect(throws: Diagnostic.self) { try define(cube, "DEFINE ATTRIBUTE customer.segment = ntile(3, revenue)") }
    }
}
