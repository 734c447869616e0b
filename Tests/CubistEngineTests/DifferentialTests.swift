import CubistEngine
import CubistGenerator
import CubistStore
import Foundation
import Testing

/// Draws random queries over the whole SELECT grammar for one cube.
struct QueryGenerator {
    var random: SeededRandom
    let cube: Cube
    let levels: [RL]
    let leaf: RL
    let numeric: [String]
    let catalog: [RM]

    mutating func pick<T>(_ xs: [T]) -> T { xs[random.below(xs.count)] }
    mutating func chance(_ p: Double) -> Bool { random.unit() < p }

    func members(_ l: RL) -> [String] {
        let dim = cube.dimensions.first { $0.name == l.dim }!
        return (dim.levels + dim.attributes).first { $0.name == l.level }!.members
    }

    mutating func rowExpr() -> RowE {
        if chance(0.5) { return .col(pick(numeric)) }
        let op: Character = pick(["+", "-", "*"])
        let simple = RowE.bin(op, .col(pick(numeric)), chance(0.5) ? .col(pick(numeric)) : .const(Int128(random.below(5) + 1), 0))
        guard chance(0.4) else { return simple }
        // The shapes of model row measures, compiled into kernels: a column times a
        // constant's complement (`price * (1 - discount)`), a scaled constant on either
        // side, a product of three, a difference of products.
        switch random.below(4) {
        case 0: return .bin("*", .col(pick(numeric)), .bin("-", .const(1, 0), .col(pick(numeric))))
        case 1: return .bin(pick(["+", "-", "*"]), .const(Int128(random.below(300)) - 100, 2), .col(pick(numeric)))
        case 2: return .bin("*", simple, .col(pick(numeric)))
        default: return .bin("-", simple, .bin("*", .col(pick(numeric)), .const(Int128(random.below(20)), 1)))
        }
    }

    mutating func condition(depth: Int = 0, subSelects: Bool = true) -> RC {
        if depth < 2, chance(0.25) {
            let a = condition(depth: depth + 1, subSelects: subSelects), b = condition(depth: depth + 1, subSelects: subSelects)
            return pick([RC.and(a, b), .or(a, b), .not(a)])
        }
        let l = pick(levels)
        let ms = members(l)
        switch random.below(7) {
        case 0: return .memberEq(l, chance(0.05) ? "Nowhere" : pick(ms), negated: chance(0.3))
        case 1: return .memberIn(l, (0..<(1 + random.below(3))).map { _ in pick(ms) })
        case 2:
            let a = random.below(ms.count), b = random.below(ms.count)
            return .memberBetween(l, ms[min(a, b)], ms[max(a, b)])
        case 3: return .memberLike(l, String(pick(ms).prefix(1 + random.below(2))) + "%")
        case 4 where subSelects:
            let years = members(RL(dim: "time", level: "year"))
            return .inSub(leaf, year: pick(years), negated: chance(0.4))
        case 5 where chance(0.5):
            // A relative period: a unit no coarser than the level, so no period is cut.
            let grains = ["year", "quarter", "month", "day"]
            let level = pick(grains)
            let units = level == "day" ? ["day", "week", "month", "quarter", "year"] : Array(grains.prefix(grains.firstIndex(of: level)! + 1))
            let unit = pick(units)
            let most = ["day": 500, "week": 70, "month": 26, "quarter": 9, "year": 3][unit]!
            return .inLast(RL(dim: "time", level: level), 1 + random.below(most), unit)
        default:
            let limit: Int128 = Int128(random.below(200))
            let left = chance(0.3) ? rowExpr() : .col(pick(numeric))
            let right: RowE = chance(0.15) ? .col(pick(numeric)) : .const(limit, random.below(3))
            return .rowCompare(left, pick(["<", "<=", ">", ">=", "<>", "="]), right)
        }
    }

    /// A per-member aggregate, a count of members meeting a condition, a statistic of fact
    /// rows, or a filtered measure.
    mutating func customerMeasure() -> RM {
        switch random.below(4) {
        case 0:
            let agg = pick(["sum", "avg", "min", "max", "count", "median", "stddev", "percentile"])
            return .per(agg, pick(catalog), pick(levels), p: agg == "percentile" ? Int128(random.below(101)) : nil)
        case 1:
            return .countHaving(pick(levels), pick(catalog), pick([">", "<"]), .exact(Int128(random.below(2000)), 0))
        case 2:
            let agg = pick(["median", "stddev", "percentile"])
            return .stat(agg, rowExpr(), p: agg == "percentile" ? Int128(random.below(101)) : nil)
        default:
            return .filtered(pick(catalog), condition(depth: 1, subSelects: false))
        }
    }

    mutating func measure(byHasTime: Bool, by: [RL], across: [RL] = []) -> RM {
        switch random.below(18) {
        case 16:
            let m = pick(catalog)
            return pick([RM.round(m, random.below(3)), .abs(.bin("-", m, pick(catalog))),
                         .coalesce(.bin("/", m, pick(catalog)), .const(Int128(random.below(9)), 0))])
        case 17:
            return .caseWhen(pick(catalog), pick([">", "<"]), .exact(Int128(random.below(3000)), 0), then: pick(catalog),
                             otherwise: chance(0.7) ? pick(catalog) : nil)
        case 12...14: return customerMeasure()
        case 15: return pick([RM.share(customerMeasure()), .rank(customerMeasure())])
        case 0...3: return pick(catalog)
        case 4: return pick([RM.sum(rowExpr()), .avg(rowExpr()), .min(rowExpr()), .max(rowExpr()), .count(rowExpr())])
        case 5: return pick([RM.countStar, .distinct(pick(levels)), .firstMember(pick(levels)), .lastMember(pick(levels)), .recency,
                             .lastShift(random.below(400) - 50)])
        case 6: return .bin(pick(["+", "-", "*", "/"]), pick(catalog), chance(0.5) ? pick(catalog) : .const(Int128(random.below(9) + 1), random.below(2)))
        case 7: return .share(pick(catalog))
        case 8: return by.isEmpty ? pick(catalog) : .rank(pick(catalog))
        case 9:
            if let l = by.first(where: { b in levels.contains { $0.dim == b.dim && $0 != b } }), chance(0.5) {
                // A strict ancestor: share(m, l) BY l alone is 100% everywhere, an error.
                let ancestors = levels.filter { $0.dim == l.dim && $0 != l && Reference(cube: cube).isAncestorOrSelf($0, of: l) }
                if !ancestors.isEmpty { let a = pick(ancestors); return .shareOf(pick(catalog), a) }
            }
            if let d = (by + across).first?.dim, (by + across).count > 1, chance(0.5) { return .shareAll(pick(catalog), d) }
            return .share(pick(catalog))
        default:
            guard byHasTime else { return pick(catalog) }
            let m = chance(0.8) ? pick(catalog) : customerMeasure()
            // The to-date forms need a time level finer than their period.
            let finest = (by + across).filter { ["year", "quarter", "month", "day"].contains($0.level) && $0.dim == "time" }
                .map { ["year", "quarter", "month", "day"].firstIndex(of: $0.level)! }.max() ?? 0
            var options = [RM.prev(m), .growth(m), .yoy(m), .running(m)]
            if finest >= 1 { options.append(.ytd(m)) }
            if finest >= 2 { options.append(.qtd(m)) }
            if finest >= 3 { options.append(.mtd(m)) }
            return pick(options)
        }
    }

    mutating func query() -> RQ {
        var q = RQ()
        let byCount = random.below(3)
        while q.by.count < byCount {
            let l = pick(levels)
            if !q.by.contains(l) { q.by.append(l) }
        }
        q.rollup = !q.by.isEmpty && chance(0.15)
        if chance(0.2) {
            let l = pick(levels)
            if !q.by.contains(l) { q.across = [l] }
        }
        let timeLevels: Set<String> = ["year", "quarter", "month", "day"]
        let hasTime = (q.by + q.across).contains { $0.dim == "time" && timeLevels.contains($0.level) }
        for _ in 0..<(1 + random.below(3)) { q.measures.append(measure(byHasTime: hasTime, by: q.by, across: q.across)) }
        if chance(0.6) { q.filter = condition() }
        // A member or date compared with a number is an error, so HAVING tests numbers only.
        let labels: Bool
        switch q.measures[0] {
        case .firstMember, .lastMember, .lastShift: labels = true
        default: labels = false
        }
        if !q.by.isEmpty, !labels, chance(0.2) { q.having = (0, pick([">", "<"]), .exact(Int128(random.below(3000)), 0)) }
        if !q.by.isEmpty, chance(0.1) { q.dateHaving = (pick([">", "<"]), random.below(400)) }
        if !q.by.isEmpty, !q.rollup, chance(0.15) {
            q.top = (1 + random.below(5), random.below(q.measures.count), chance(0.5))
        }
        if chance(0.3) { q.order = (random.below(q.measures.count), chance(0.5)) }
        if chance(0.2) { q.limit = random.below(6) }
        if chance(0.1) { q.offset = random.below(3) }
        q.totals = chance(0.25)
        return q
    }
}

/// True when an engine value equals a reference value: exact numbers exactly, floating
/// point within a relative 1e-9.
func same(_ v: Value, _ r: RV) -> Bool {
    switch (v, r) {
    case (.null, .null): return true
    case (.text(let a), .text(let b)): return a == b
    case (.exact(let m, let s), .exact(let n, let t)): return refCompare(.exact(m, s), .exact(n, t)) == 0
    default:
        guard let a = v.doubleValue, let b = r.number else { return false }
        return abs(a - b) <= 1e-9 * max(1, abs(a), abs(b))
    }
}

@Suite struct DifferentialTests {
    static let crm: [RM] = {
        let revenue = RM.named("revenue", .sum(.col("revenue"))), cost = RM.named("cost", .sum(.col("cost")))
        return [revenue, cost, .named("quantity", .sum(.col("quantity"))), .named("orders", .distinctValues("order_id")), .named("lines", .countStar),
                .named("customers", .distinct(RL(dim: "customer", level: "customer"))),
                .named("margin", .bin("-", revenue, cost)), .named("margin_pct", .bin("/", .bin("-", revenue, cost), revenue))]
    }()

    static let rnd: [RM] = {
        let amount = RM.named("amount", .sum(.col("amount"))), qty = RM.named("qty", .sum(.col("qty")))
        return [amount, qty, .named("n", .countStar), .named("cities", .distinct(RL(dim: "geo", level: "city"))),
                .named("net", .bin("-", amount, qty)), .named("per_unit", .bin("/", amount, qty)),
                .named("gross", .sum(.bin("*", .col("amount"), .col("qty"))))]
    }()

    static let crmAttributes: [RAttr] = {
        let customer = { (name: String) in RL(dim: "customer", level: name) }
        return [RAttr(attribute: customer("cohort"), kind: .first(RL(dim: "time", level: "quarter"))),
                RAttr(attribute: customer("last_online"), kind: .last(RL(dim: "time", level: "month")),
                      condition: .memberEq(RL(dim: "channel", level: "type"), "Online", negated: false)),
                RAttr(attribute: customer("value"), kind: .band(.sum(.col("revenue")), [500, 2000, 10000])),
                RAttr(attribute: customer("tile"), kind: .ntile(3, .countStar)),
                RAttr(attribute: customer("channels"), kind: .count(.distinct(RL(dim: "channel", level: "type"))))]
    }()

    static let rndAttributes: [RAttr] = [
        RAttr(attribute: RL(dim: "geo", level: "first"), kind: .first(RL(dim: "time", level: "month"))),
        RAttr(attribute: RL(dim: "item", level: "band"), kind: .band(.sum(.col("amount")), [15000, 20000])),
        RAttr(attribute: RL(dim: "geo", level: "tile"), kind: .ntile(2, .sum(.col("qty"))),
              condition: .rowCompare(.col("amount"), ">", .const(100, 0))),
    ]

    /// The cube with computed attributes defined by the engine, and a reference that works
    /// them out itself.
    func withAttributes(_ cube: Cube, _ attributes: [RAttr]) throws -> (Cube, Reference) {
        var cube = cube
        for a in attributes { cube = try define(cube, a.text) }
        var reference = Reference(cube: cube)
        for a in attributes { reference.define(a) }
        return (cube, reference)
    }

    /// Runs `count` random queries on a cube; returns the failures (seed, query, why).
    func check(_ cube: Cube, reference: Reference, generator: inout QueryGenerator, seed: UInt64, count: Int) -> [String] {
        var failures: [String] = []
        for i in 0..<count {
            let q = generator.query()
            if ProcessInfo.processInfo.environment["CUBIST_DIFF_TRACE"] != nil { print("seed \(seed) query \(i): \(q.text)") }
            reference.cache.members = [:]
            let expected = reference.run(q)
            let actual: ResultTable
            do {
                // Every other query counts distinct members in hash sets instead of bitsets
                // (a budget so small the bitsets give way during the scan). The thread
                // counts go 1, 3, 2, 4, the last three over small slices, so partial
                // results are merged.
                switch i % 4 {
                case 0: actual = try run(cube, q.text)
                case 1: actual = try run(cube, q.text, distinctBudget: 64, threads: 3, sliceRows: 97)
                case 2: actual = try run(cube, q.text, threads: 2, sliceRows: 500)
                default: actual = try run(cube, q.text, distinctBudget: 64, threads: 4, sliceRows: 256)
                }
            } catch {
                failures.append("seed \(seed) query \(i): \(q.text)\n  engine failed: \(error)")
                continue
            }
            if actual.rows.count != expected.count {
                failures.append("seed \(seed) query \(i): \(q.text)\n  \(actual.rows.count) rows, reference \(expected.count)\n  engine: \(cells(actual).prefix(6))\n  reference: \(expected.prefix(6))")
                continue
            }
            outer: for (r, row) in actual.rows.enumerated() {
                guard row.count == expected[r].count else {
                    failures.append("seed \(seed) query \(i): \(q.text)\n  row \(r): \(row.count) cells, reference \(expected[r].count)")
                    break
                }
                for (c, v) in row.enumerated() where !same(v, expected[r][c]) {
                    failures.append("seed \(seed) query \(i): \(q.text)\n  row \(r) column \(actual.columns[c].name): engine \(v), reference \(expected[r][c])")
                    break outer
                }
            }
        }
        return failures
    }

    /// Set CUBIST_DIFF_QUERIES to run more queries per cube (a longer, separate mode).
    static var queriesPerCube: Int { Int(ProcessInfo.processInfo.environment["CUBIST_DIFF_QUERIES"] ?? "") ?? 150 }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func crmCubesAgreeWithTheReference(seed: UInt64) throws {
        let (cube, reference) = try withAttributes(crmCube(rows: 1500 + Int(seed) * 200, seed: seed), Self.crmAttributes)
        let levels = ["customer.region", "customer.city", "customer.segment", "customer.tier", "customer.customer", "product.category",
                      "product.subcategory", "channel.type", "channel.channel", "time.year", "time.quarter", "time.month", "time.weekday"]
            .map { RL(dim: String($0.split(separator: ".")[0]), level: String($0.split(separator: ".")[1])) } + Self.crmAttributes.map(\.attribute)
        var generator = QueryGenerator(random: SeededRandom(seed: seed * 7919), cube: cube, levels: levels,
                                       leaf: RL(dim: "customer", level: "customer"),
                                       numeric: ["quantity", "price", "discount", "revenue", "cost"], catalog: Self.crm)
        let failures = check(cube, reference: reference, generator: &generator, seed: seed, count: Self.queriesPerCube)
        #expect(failures.isEmpty, "\(failures.count) mismatches; first: \(failures.prefix(3).joined(separator: "\n"))")
    }

    @Test(arguments: [11, 12, 13, 14, 15, 16, 17, 18] as [UInt64])
    func cubesWithNullsAgreeWithTheReference(seed: UInt64) throws {
        let (cube, reference) = try withAttributes(nullsCube(rows: 800 + Int(seed) * 50, seed: seed), Self.rndAttributes)
        let levels = ["geo.region", "geo.city", "geo.segment", "item.kind", "item.item", "time.year", "time.quarter", "time.month", "time.weekday"]
            .map { RL(dim: String($0.split(separator: ".")[0]), level: String($0.split(separator: ".")[1])) } + Self.rndAttributes.map(\.attribute)
        var generator = QueryGenerator(random: SeededRandom(seed: seed * 104_729), cube: cube, levels: levels,
                                       leaf: RL(dim: "geo", level: "city"), numeric: ["amount", "qty"], catalog: Self.rnd)
        let failures = check(cube, reference: reference, generator: &generator, seed: seed, count: Self.queriesPerCube)
        #expect(failures.isEmpty, "\(failures.count) mismatches; first: \(failures.prefix(3).joined(separator: "\n"))")
    }
}
