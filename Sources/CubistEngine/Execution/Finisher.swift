import CubistCore
import CubistStore
import CubistSyntax

/// Turns the scanned groups into the result, in stages, each a small function over the
/// group states: rows (crosstab rows from cells), HAVING, TOP, order and subtotals, the
/// summary rows (Others, Total), LIMIT/OFFSET, then the cells (crosstab layout).
///
/// Subtotal and total rows aggregate exactly the detail rows they follow (after HAVING and
/// TOP), straight from the aggregate states, so even `count(distinct ...)` totals are exact.
struct Finisher {
    let cube: Cube
    let query: BoundQuery
    /// The groups of the finest grouping (BY and ACROSS levels), as scanned.
    let fine: GroupTable
    let context: ExecutionContext
    /// Columns of the fine groups computed before the time window was applied.
    var known: [MeasureExpr: [Value]] = [:]

    /// The result, per row the BY codes it stands for, the Others row's groups, and the
    /// time each stage took.
    struct Finished {
        let table: ResultTable
        let keys: [[Int32]?]
        let othersKeys: [[Int32]]
        let timings: [(phase: String, duration: Duration)]
    }

    /// A result row before its cells are computed: which group of which table it shows.
    struct OutputRow {
        let kind: RowKind
        let table: GroupTable
        let eval: MeasureEvaluator
        let group: Int
        /// How many BY levels the row keeps (fewer for subtotals).
        let keyCount: Int
    }

    /// The rows of the result and how they are evaluated.
    struct Rows {
        /// The groups of the BY levels (for a crosstab, a reduction of the cells).
        let table: GroupTable
        /// For a crosstab, the row group of each fine group (cell).
        let rowOf: [Int32]
        let total: TotalGroup
        let eval: MeasureEvaluator
    }

    func run() throws(Diagnostic) -> Finished {
        let clock = ContinuousClock()
        var timings: [(String, Duration)] = []
        var mark = clock.now
        func stage(_ name: String) throws(Diagnostic) {
            let now = clock.now
            timings.append(("finish: " + name, now - mark))
            mark = now
            try context.check(query.range)
            context.progress?(Double(timings.count) / 5, "finish")
        }
        context.progress?(0, "finish")
        let rows = rowGroups()
        var kept = filterGroups(rows)
        try stage("having")
        var others: [Int] = []
        if let top = query.top { (kept, others) = self.top(top, kept, rows) }
        try stage("top")
        var out = layout(kept, rows)
        try stage("order and subtotals")
        let summary = summaryRows(&out, kept: kept, others: others, rows)
        let shown = limit(out) + summary
        try stage("totals and limit")
        let result = cells(shown, kept: kept, others: others, rows)
        try stage("cells")
        return Finished(table: result.table, keys: result.keys, othersKeys: query.top?.others == true ? others.map { rows.table.key($0) } : [],
                        timings: timings)
    }

    // MARK: stages

    /// The row groups: the fine groups themselves, or for a crosstab their reduction to the BY levels.
    func rowGroups() -> Rows {
        let table: GroupTable
        var rowOf: [Int32] = []
        if query.acrossCount > 0 { (table, rowOf) = fine.reduced(positions: Array(0..<query.byCount)) } else { table = fine }
        let total = TotalGroup(of: fine)
        return Rows(table: table, rowOf: rowOf, total: total,
                    eval: MeasureEvaluator(table: table, total: total, cube: cube, values: query.values, known: query.acrossCount > 0 ? [:] : known))
    }

    /// HAVING: the row groups that pass, in group order.
    func filterGroups(_ rows: Rows) -> [Int] {
        if rows.table.levels.isEmpty { return [0] }
        guard let having = query.having else { return Array(0..<rows.table.count) }
        let pass = rows.eval.passing(having)
        return (0..<rows.table.count).filter { pass[$0] }
    }

    /// TOP n [PERCENT] BY m: the best n of the kept groups, best first, and the rest.
    func top(_ top: TopClause, _ kept: [Int], _ rows: Rows) -> (kept: [Int], others: [Int]) {
        let by = rows.eval.column(query.values[top.value])
        let before = { (x: Int, y: Int) -> Bool in
            let c = Finisher.compareForOrder(by[x], by[y])
            return c != 0 ? c > 0 : Finisher.naturalLess(rows.table, x, y, upTo: query.byCount)
        }
        let n: Int
        if top.percent {
            // ceil(count * p / 100) with p = mantissa / 10^scale, exactly.
            let numerator = Int128(kept.count) * top.count
            let denominator = 100 * Value.power128(top.scale)
            n = Int((numerator + denominator - 1) / denominator)
        } else {
            n = Int(min(top.count, Int128(kept.count)))
        }
        if n <= 1000 && n * 8 < kept.count {
            // A few of many: keep the best n in a sorted buffer, one pass, no full sort.
            var best: [Int] = []
            best.reserveCapacity(n + 1)
            for g in kept where best.count < n || (!best.isEmpty && before(g, best[best.count - 1])) {
                var lo = 0, hi = best.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if before(best[mid], g) { lo = mid + 1 } else { hi = mid }
                }
                best.insert(g, at: lo)
                if best.count > n { best.removeLast() }
            }
            var chosen = [Bool](repeating: false, count: rows.table.count)
            for g in best { chosen[g] = true }
            return (best, kept.filter { !chosen[$0] })
        }
        let ranked = kept.sorted(by: before)
        return (Array(ranked.prefix(n)), Array(ranked.dropFirst(n)))
    }

    /// ORDER BY (or TOP's order, or natural order) and ROLLUP subtotals: the detail and
    /// subtotal rows in output order, each subtotal after the rows it sums.
    func layout(_ kept: [Int], _ rows: Rows) -> [OutputRow] {
        if rows.table.levels.isEmpty { return [OutputRow(kind: .detail, table: rows.table, eval: rows.eval, group: 0, keyCount: 0)] }
        let rollupStart = query.rollupStart ?? query.byCount
        let keptSet = Set(kept)
        // For each k from the ROLLUP start: the kept rows grouped by the first k BY levels.
        var subtotals: [Int: (table: GroupTable, map: [Int32], eval: MeasureEvaluator)] = [:]
        for k in rollupStart..<query.byCount {
            let (t, m) = rows.table.reduced(positions: Array(0..<k), include: { keptSet.contains($0) })
            subtotals[k] = (t, m, MeasureEvaluator(table: t, total: rows.total, cube: cube, values: query.values))
        }
        func setOf(_ k: Int) -> (GroupTable, MeasureEvaluator, (Int) -> Int) {
            if k == query.byCount { return (rows.table, rows.eval, { $0 }) }
            guard let s = subtotals[k] else { return (rows.table, rows.eval, { $0 }) }
            return (s.table, s.eval, { Int(s.map[$0]) })
        }
        func sortGroups(_ groups: [[Int]], k: Int) -> [[Int]] {
            let (table, eval, index) = setOf(k)
            // Columns are fetched once, not per comparison.
            let topColumn = query.order.isEmpty && k == query.byCount ? query.top.map { eval.column(query.values[$0.value]) } : nil
            let orderColumns: [[Value]?] = query.order.map { key in
                if case .value(let v, _) = key { return eval.column(query.values[v]) }
                return nil
            }
            return groups.sorted { a, b in
                let x = index(a[0]), y = index(b[0])
                if let topColumn {
                    let c = Finisher.compareForOrder(topColumn[x], topColumn[y])
                    if c != 0 { return c > 0 }
                }
                for (i, key) in query.order.enumerated() {
                    switch key {
                    case .level(let j, let desc):
                        guard j < k, table.code(x, j) != table.code(y, j) else { continue }
                        return desc ? table.code(x, j) > table.code(y, j) : table.code(x, j) < table.code(y, j)
                    case .value(_, let desc):
                        guard let column = orderColumns[i] else { continue }
                        let c = Finisher.compareForOrder(column[x], column[y])
                        if c != 0 { return desc ? c > 0 : c < 0 }
                    }
                }
                return Finisher.naturalLess(table, x, y, upTo: k)
            }
        }
        func partition(_ members: [Int], prefix k: Int) -> [[Int]] {
            var index: [[Int32]: Int] = [:]
            var groups: [[Int]] = []
            for g in members {
                let key = Array(rows.table.key(g).prefix(k))
                if let i = index[key] { groups[i].append(g) } else {
                    index[key] = groups.count
                    groups.append([g])
                }
            }
            return groups
        }
        var out: [OutputRow] = []
        func emit(_ k: Int, _ members: [Int]) {
            if k == query.byCount {
                out.append(OutputRow(kind: .detail, table: rows.table, eval: rows.eval, group: members[0], keyCount: query.byCount))
                return
            }
            for child in sortGroups(partition(members, prefix: k + 1), k: k + 1) { emit(k + 1, child) }
            let (table, eval, index) = setOf(k)
            out.append(OutputRow(kind: k == 0 ? .total : .subtotal(depth: k), table: table, eval: eval, group: index(members[0]), keyCount: k))
        }
        for group in sortGroups(partition(kept, prefix: rollupStart), k: rollupStart) { emit(rollupStart, group) }
        return out
    }

    /// The Others row (TOP ... WITH OTHERS) and the grand total (ROLLUP's last row or WITH
    /// TOTALS), taken off the listing so LIMIT never cuts them.
    func summaryRows(_ out: inout [OutputRow], kept: [Int], others: [Int], _ rows: Rows) -> [OutputRow] {
        var summary: [OutputRow] = []
        if query.top?.others == true, !others.isEmpty {
            let (t, _) = rows.table.reduced(positions: [], include: Set(others).contains)
            summary.append(OutputRow(kind: .others, table: t, eval: MeasureEvaluator(table: t, total: rows.total, cube: cube, values: query.values), group: 0, keyCount: 0))
        }
        if let last = out.last, last.kind == .total {
            summary.append(out.removeLast())
        } else if query.totals, !rows.table.levels.isEmpty {
            let keptSet = Set(kept)
            let included = query.top?.others == true ? keptSet.union(others) : keptSet
            let (t, _) = rows.table.reduced(positions: [], include: included.contains)
            summary.append(OutputRow(kind: .total, table: t, eval: MeasureEvaluator(table: t, total: rows.total, cube: cube, values: query.values), group: 0, keyCount: 0))
        }
        return summary
    }

    /// LIMIT and OFFSET cut the listing.
    func limit(_ out: [OutputRow]) -> [OutputRow] {
        let start = min(query.offset, out.count)
        let end = query.limit.map { start + min(out.count - start, $0) } ?? out.count
        return Array(out[start..<end])
    }

    /// The columns and cells of the shown rows; for a crosstab, one column per ACROSS
    /// member combination × item.
    func cells(_ shown: [OutputRow], kept: [Int], others: [Int], _ rows: Rows) -> (table: ResultTable, keys: [[Int32]?]) {
        var columns = query.levelHeaders.map { ResultColumn(name: $0, kind: .member, format: nil) }
        let withOthers = query.top?.others == true
        let across = query.acrossCount > 0
            ? Crosstab(plan: query, fine: fine, rows: rows.table, rowOf: rows.rowOf, total: rows.total, cube: cube,
                       kept: withOthers ? kept + others : kept, others: withOthers ? others : [], known: known)
            : nil
        if let across {
            columns += across.columns(totals: query.totals)
        } else {
            columns += query.items.map { ResultColumn(name: $0.header, kind: .measure, format: $0.format) }
        }
        var result: [[Value]] = []
        var keys: [[Int32]?] = []
        result.reserveCapacity(shown.count)
        for r in shown {
            var row: [Value] = []
            for j in 0..<query.byCount {
                if r.kind == .others {
                    row.append(j == 0 ? .text("Others") : .null)
                } else if j < r.keyCount {
                    let level = query.levels[j].level(in: cube)
                    row.append(.text(level.members[Int(r.table.code(r.group, j))]))
                } else {
                    row.append(.null)
                }
            }
            if let across {
                row += across.cells(for: r.kind, group: r.group, rowEval: r.eval, totals: query.totals)
            } else {
                row += query.items.map { r.eval.value(query.values[$0.value], r.group) }
            }
            result.append(row)
            keys.append(r.kind == .others || r.kind == .total ? nil : Array(r.table.key(r.group).prefix(r.keyCount)))
        }
        let table = ResultTable(columns: columns, rows: result, rowKinds: shown.map(\.kind), warnings: query.warnings,
                                acrossLevels: query.levels[query.byCount...].map { $0.qualifiedName(in: cube) })
        return (table, keys)
    }

    // MARK: helpers

    /// Orders values for sorting: nulls after everything else.
    static func compareForOrder(_ a: Value, _ b: Value) -> Int {
        switch (a.isNull, b.isNull) {
        case (true, true): return 0
        case (true, false): return -1
        case (false, true): return 1
        default: return Value.compare(a, b) ?? 0
        }
    }

    /// Natural member order of the first `k` keys, left to right.
    static func naturalLess(_ t: GroupTable, _ x: Int, _ y: Int, upTo k: Int) -> Bool {
        for j in 0..<k where t.code(x, j) != t.code(y, j) { return t.code(x, j) < t.code(y, j) }
        return false
    }
}
