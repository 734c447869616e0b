import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// Most members of the level a BASKET pairs (its pair counts are a square of them).
    static let basketMaxMembers = 5_000

    /// `BASKET level [PER basket] [MIN SUPPORT x] [WHERE c]`: for every two members `a`, `b`
    /// of `level` bought in one basket (an order, or a member of the PER level, with facts of
    /// both under WHERE): `baskets` holding both, `support` (that over all baskets),
    /// `confidence` (of b given a: over the baskets holding a) and `lift` (support over the
    /// product of the two members' own supports). Both directions; ordered by lift, then
    /// support, then member order; pairs below MIN SUPPORT are left out.
    ///
    /// The basket is the order by default: the fact column the model's `orders` measure
    /// counts the distinct values of (`PER order_id` names such a column). One grouped scan,
    /// `SELECT count(distinct order_id) BY level`, whose distinct count keeps the orders that
    /// hold more than one member, each with its members; those are paired. With `PER level`
    /// the scan is `SELECT count(*) BY basket, level`, whose groups are the (basket, member)
    /// pairs, sorted by basket.
    func basket(level: Expr, per: Expr?, minSupport: Expr?, condition: Condition?, parameters: [String: String],
                at range: SourceRange) throws(Diagnostic) -> AnalysisRun {
        let help = "e.g. BASKET product.category, or BASKET product.category PER customer.customer"
        let item = try analysedLevel(level, statement: "BASKET", help: help)
        let source = try basketSource(per: per, item: item, level: level, help: help)
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
        let n = members.count
        var single = [Int](repeating: 0, count: n), pairs = [Int32](repeating: 0, count: n * n)
        var baskets = 0
        /// Every two members of one basket (each member once) add one to their pair.
        func countPairs<C: Collection>(_ held: C) where C.Element: BinaryInteger {
            for a in held {
                for c in held where c > a { pairs[Int(a) * n + Int(c)] += 1 }
            }
        }
        let scanned: MemberValues
        var run = AnalysisRun(table: ResultTable(columns: [], rows: [], rowKinds: []))
        switch source {
        case .orders(let orderColumn):
            let column = cube.facts.numericColumns[orderColumn]
            let count = Expr.call("count", [.name([column.name], range)], distinct: true, star: false, range)
            scanned = try groupValues(of: [SelectItem(expr: count, alias: nil)], by: [level], where: condition, analytic: "BASKET", help: help,
                                      parameters: parameters, at: range)
            guard case .slot(let s, _) = scanned.query.values[scanned.query.items[0].value],
                  let shared = QueryEngine.sharedValues(scanned.groups.accumulators[s]) else {
                throw Diagnostic("BASKET could not read the orders of its scan", at: range, help: "report this statement as a bug")  // safe: the scan's first item is the distinct count bound just above
            }
            // Each member's orders; every order with several members, paired.
            var multi = 0
            for g in 0..<scanned.count { single[Int(scanned.member(g))] = shared.counts[g] }
            baskets = shared.counts.prefix(scanned.count).reduce(0, +)
            var i = 0
            while i < shared.groups.count {
                var j = i + 1
                while j < shared.groups.count && shared.values[j] == shared.values[i] { j += 1 }
                multi += 1
                baskets -= j - i - 1
                countPairs(shared.groups[i..<j].map { scanned.member(Int($0)) })
                i = j
            }
            run.steps = [("pairs", "\(grouped(baskets)) orders (\(column.name)), \(grouped(multi)) of them with two or more members of \(level); every two members of an order counted once")]
        case .level(let basketRef, let per):
            scanned = try groupValues(of: [SelectItem(expr: .call("count", [], distinct: false, star: true, range), alias: nil)], by: [per, level],
                                      where: condition, analytic: "BASKET", help: help, parameters: parameters, at: range)
            // Each basket's members: the pairs sorted by basket (a counting sort on its code).
            let basketCount = basketRef.level(in: cube).count
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
            for b in 0..<basketCount where start[b + 1] > start[b] {
                baskets += 1
                let held = items[start[b]..<start[b + 1]]
                for a in held { single[Int(a)] += 1 }
                countPairs(held)
            }
            run.steps = [("pairs", "\(grouped(scanned.count)) (basket, member) groups in \(grouped(baskets)) baskets; every two members of a basket counted once")]
        }
        run.scans = [scanned.explained]
        let columns = [ResultColumn(name: "a", kind: .member, format: nil), ResultColumn(name: "b", kind: .member, format: nil),
                       ResultColumn(name: "baskets", kind: .measure, format: .integer), ResultColumn(name: "support", kind: .measure, format: .percent),
                       ResultColumn(name: "confidence", kind: .measure, format: .percent), ResultColumn(name: "lift", kind: .measure, format: .number)]
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
            warnings.append(.warning("no \(per.map { "basket of \($0)" } ?? "order") has facts\(condition == nil ? "" : " under WHERE"), so nothing is bought together", at: range))
        }
        run.table = ResultTable(columns: columns, rows: rows, rowKinds: rows.map { _ in .detail }, warnings: warnings)
        run.finish = ContinuousClock.now - scanned.scanned
        return run
    }
}

/// Where BASKET's baskets come from: the orders (a fact column of order numbers), or the
/// members of a level (with the PER expression as written).
private enum BasketSource {
    case orders(Int)
    case level(LevelRef, Expr)
}

extension QueryEngine {
    /// The baskets `PER per` names (the order column or a level of another dimension than the
    /// paired level), or the orders without PER; a located error otherwise.
    private func basketSource(per: Expr?, item: LevelRef, level: Expr, help: String) throws(Diagnostic) -> BasketSource {
        guard let per else {
            guard let c = defaultOrderColumn else {
                throw Diagnostic("BASKET needs the basket: cube '\(cube.name)' has no order number (no measure counts the distinct values of a fact column, such as orders = count_distinct order_id)",
                                 at: level.range, help: "name the level whose members are the baskets, e.g. BASKET \(level) PER customer.customer")
            }
            return .orders(c)
        }
        let names = Names(cube: cube, extraMeasures: sessionMeasures)
        guard case .name(let path, let r) = per else {
            throw Diagnostic("BASKET PER takes the order column or a level whose members are the baskets; '\(per)' is neither", at: per.range, help: help)
        }
        if let ref = try names.level(path, at: r) {
            guard ref.dimension != item.dimension else {
                throw Diagnostic("BASKET pairs the members of \(level) within baskets of another dimension; \(per) is of the same one", at: per.range, help: help)
            }
            return .level(ref, per)
        }
        if path.count == 1, let c = names.numericColumn(path[0]) {
            guard orderColumns.contains(c) else {
                throw Diagnostic("BASKET PER \(path[0]): a fact column is a basket only when it numbers orders, and no measure counts the distinct values of \(path[0])",
                                 at: per.range, help: orderColumns.first.map { "e.g. PER \(cube.facts.numericColumns[$0].name), the order number" }
                                    ?? "name a level whose members are the baskets, e.g. PER customer.customer, or add a measure such as orders = count_distinct order_id to the model")
            }
            return .orders(c)
        }
        throw Diagnostic("BASKET PER takes the order column or a level whose members are the baskets; '\(per)' is neither", at: per.range,
                         help: Suggestions.didYouMean(path.joined(separator: "."), in: names.allLevels.map { $0.qualifiedName(in: cube) } + cube.facts.numericColumns.map(\.name))
                            ?? help)
    }

    /// The fact columns that number orders: those a model measure counts the distinct
    /// values of (`orders = count_distinct order_id`), the column of the measure `orders` first.
    var orderColumns: [Int] {
        var found: [Int] = []
        let named = cube.measures.filter { $0.name.caseInsensitiveEquals("orders") }
        for m in named + cube.measures.filter({ !$0.name.caseInsensitiveEquals("orders") }) {
            guard case .aggregate(.countDistinct, .column(let name)) = m.definition,
                  let c = cube.facts.numericColumns.firstIndex(where: { $0.name == name }), !found.contains(c) else { continue }
            found.append(c)
        }
        return found
    }

    /// The column BASKET's default basket (the order) is read from; nil when none numbers orders.
    var defaultOrderColumn: Int? { orderColumns.first }

    /// From a distinct count of a fact column's values per group: each group's count, and
    /// the (group, value) pairs of every value counted in more than one group, the pairs of
    /// one value next to each other; nil for another accumulator.
    static func sharedValues(_ a: Accumulator) -> (counts: [Int], groups: [Int32], values: [UInt64])? {
        if let runs = a as? RunDistinctAccumulator { return runs.shared() }
        guard let hashed = a as? DistinctAccumulator else { return nil }
        return hashed.shared()
    }
}
