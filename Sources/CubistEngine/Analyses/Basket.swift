import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// Most members of the level a BASKET pairs (its pair counts are a square of them).
    static let basketMaxMembers = 5_000

    /// `BASKET level PER basket [MIN SUPPORT x] [WHERE c]`: for every two members `a`, `b` of
    /// `level` bought in one basket (a member of the PER level with facts of both under
    /// WHERE): `baskets` holding both, `support` (that over all baskets), `confidence` (of b
    /// given a: over the baskets holding a) and `lift` (support over the product of the two
    /// members' own supports). Both directions; ordered by lift, then support, then member
    /// order; pairs below MIN SUPPORT are left out.
    ///
    /// One grouped scan, `SELECT count(*) BY basket, level`, whose groups are the (basket,
    /// member) pairs; then each basket's members are paired and counted.
    func basket(level: Expr, per: Expr?, minSupport: Expr?, condition: Condition?, parameters: [String: String],
                at range: SourceRange) throws(Diagnostic) -> AnalysisRun {
        let help = "e.g. BASKET product.category PER customer.customer"
        let item = try analysedLevel(level, statement: "BASKET", help: help)
        guard let per else {
            throw Diagnostic("BASKET needs the basket: the cube's facts carry no order number, so name the level whose members are the baskets",
                             at: level.range, help: "e.g. BASKET \(level) PER customer.customer (what the same customers buy)")
        }
        guard case .name(let path, let r) = per, let basketRef = try Names(cube: cube, extraMeasures: sessionMeasures).level(path, at: r) else {
            throw Diagnostic("BASKET PER takes a level whose members are the baskets; '\(per)' is not a level", at: per.range, help: help)
        }
        guard basketRef.dimension != item.dimension else {
            throw Diagnostic("BASKET pairs the members of \(level) within baskets of another dimension; \(per) is of the same one", at: per.range, help: help)
        }
        let members = item.level(in: cube)
        guard members.count <= QueryEngine.basketMaxMembers else {
            throw Diagnostic("BASKET pairs at most \(grouped(QueryEngine.basketMaxMembers)) members, and \(level) has \(grouped(members.count))", at: level.range,
                             help: "pair a coarser level, e.g. a category or subcategory")
        }
        var threshold = 0.0
        if let minSupport {
            var text: String
            if case .string(let t, _) = minSupport { text = t.trimmingSpaces } else { text = try Binder.numberText(minSupport, parameters) }
            guard let x = Double(text), x >= 0, x <= 1 else {
                throw Diagnostic("MIN SUPPORT is a share of the baskets from 0 to 1, found '\(text)'", at: minSupport.range, help: "e.g. MIN SUPPORT 0.05 for 5%")
            }
            threshold = x
        }
        let scanned = try groupValues(of: [SelectItem(expr: .call("count", [], distinct: false, star: true, range), alias: nil)], by: [per, level],
                                      where: condition, analytic: "BASKET", help: help, parameters: parameters, at: range)
        var run = AnalysisRun(table: ResultTable(columns: [], rows: [], rowKinds: []), scans: [scanned.explained])
        // Each basket's members: the pairs sorted by basket (a counting sort on its code).
        let basketCount = basketRef.level(in: cube).count, n = members.count
        var start = [Int](repeating: 0, count: basketCount + 1)
        for g in 0..<scanned.count { start[Int(scanned.groups.code(g, 0)) + 1] += 1 }
        for b in 0..<basketCount { start[b + 1] += start[b] }
        var items = [Int32](repeating: 0, count: scanned.count)
        var next = start
        for g in 0..<scanned.count {
            let b = Int(scanned.groups.code(g, 0))
            items[next[b]] = scanned.groups.code(g, 1)
            next[b] += 1
        }
        var single = [Int](repeating: 0, count: n), pairs = [Int32](repeating: 0, count: n * n)
        var baskets = 0
        for b in 0..<basketCount where start[b + 1] > start[b] {
            baskets += 1
            let held = items[start[b]..<start[b + 1]]
            for a in held {
                single[Int(a)] += 1
                for c in held where c > a { pairs[Int(a) * n + Int(c)] += 1 }
            }
        }
        let columns = [ResultColumn(name: "a", kind: .member, format: nil), ResultColumn(name: "b", kind: .member, format: nil),
                       ResultColumn(name: "baskets", kind: .measure, format: .integer), ResultColumn(name: "support", kind: .measure, format: .percent),
                       ResultColumn(name: "confidence", kind: .measure, format: .percent), ResultColumn(name: "lift", kind: .measure, format: .number)]
        run.steps = [("pairs", "\(grouped(scanned.count)) (basket, member) groups in \(grouped(baskets)) baskets; every two members of a basket counted once")]
        // The pairs that pass, both directions.
        struct Pair { let a: Int, b: Int, together: Int }
        var kept: [Pair] = []
        let total = Double(max(1, baskets))
        for a in 0..<n {
            for c in (a + 1)..<max(a + 1, n) {
                let together = Int(pairs[a * n + c])
                guard together > 0, Double(together) / total >= threshold else { continue }
                kept.append(Pair(a: a, b: c, together: together))
                kept.append(Pair(a: c, b: a, together: together))
            }
        }
        guard kept.count <= limits.maxResultRows else {
            throw Diagnostic("BASKET would list \(grouped(kept.count)) pairs, more than max_result_rows (\(grouped(limits.maxResultRows)))", at: range,
                             help: "keep the frequent pairs with MIN SUPPORT, e.g. MIN SUPPORT 0.01, or SET max_result_rows")
        }
        func lift(_ p: Pair) -> Double { Double(p.together) * total / (Double(single[p.a]) * Double(single[p.b])) }
        kept.sort { x, y in
            let lx = lift(x), ly = lift(y)
            if lx != ly { return lx > ly }
            if x.together != y.together { return x.together > y.together }
            return x.a != y.a ? x.a < y.a : x.b < y.b
        }
        let rows = kept.map { p -> [Value] in
            [.text(members.members[p.a]), .text(members.members[p.b]), .integer(p.together), .double(Double(p.together) / total),
             .double(Double(p.together) / Double(single[p.a])), .double(lift(p))]
        }
        var warnings = scanned.warnings
        if baskets == 0 {
            warnings.append(.warning("no basket of \(per) has facts\(condition == nil ? "" : " under WHERE"), so nothing is bought together", at: range))
        }
        run.table = ResultTable(columns: columns, rows: rows, rowKinds: rows.map { _ in .detail }, warnings: warnings)
        run.finish = ContinuousClock.now - scanned.scanned
        return run
    }
}
