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
        let by = rows.eval.sortColumn(query.values[top.value])
        let before = { (x: Int, y: Int) -> Bool in
            let c = by.compare(x, y)
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
        let best = Finisher.first(n, of: kept, by: before)
        let chosen = Finisher.mask(best, count: rows.table.count)
        return (best, kept.filter { !chosen[$0] })
    }

    /// The first `n` of `groups` in the order `before` (a strict total order), in that order:
    /// a bounded heap for a few of many, else a full sort.
    static func first(_ n: Int, of groups: [Int], by before: (Int, Int) -> Bool) -> [Int] {
        let n = max(0, min(n, groups.count))
        guard n > 0 else { return [] }
        guard n * 8 < groups.count else { return Array(groups.sorted(by: before).prefix(n)) }
        // A max-heap of the best n so far: its root is the worst kept, replaced when beaten.
        var heap: [Int] = []
        heap.reserveCapacity(n)
        func siftDown(_ i: Int) {
            var i = i
            while true {
                let l = 2 * i + 1, r = l + 1
                var worst = i
                if l < heap.count, before(heap[worst], heap[l]) { worst = l }
                if r < heap.count, before(heap[worst], heap[r]) { worst = r }
                if worst == i { return }
                heap.swapAt(i, worst)
                i = worst
            }
        }
        for g in groups {
            if heap.count < n {
                heap.append(g)
                var i = heap.count - 1
                while i > 0, before(heap[(i - 1) / 2], heap[i]) {
                    heap.swapAt(i, (i - 1) / 2)
                    i = (i - 1) / 2
                }
            } else if before(g, heap[0]) {
                heap[0] = g
                siftDown(0)
            }
        }
        return heap.sorted(by: before)
    }

    /// ORDER BY (or TOP's order, or natural order) and ROLLUP subtotals: the detail and
    /// subtotal rows in output order, each subtotal after the rows it sums.
    func layout(_ kept: [Int], _ rows: Rows) -> [OutputRow] {
        if rows.table.levels.isEmpty { return [OutputRow(kind: .detail, table: rows.table, eval: rows.eval, group: 0, keyCount: 0)] }
        let rollupStart = query.rollupStart ?? query.byCount
        // For each k from the ROLLUP start: the kept rows grouped by the first k BY levels.
        var subtotals: [Int: (table: GroupTable, map: [Int32], eval: MeasureEvaluator)] = [:]
        let isKept = rollupStart < query.byCount ? Finisher.mask(kept, count: rows.table.count) : []
        for k in rollupStart..<query.byCount {
            let (t, m) = rows.table.reduced(positions: Array(0..<k), include: { isKept[$0] })
            subtotals[k] = (t, m, MeasureEvaluator(table: t, total: rows.total, cube: cube, values: query.values))
        }
        func setOf(_ k: Int) -> (GroupTable, MeasureEvaluator, (Int) -> Int) {
            if k == query.byCount { return (rows.table, rows.eval, { $0 }) }
            guard let s = subtotals[k] else { return (rows.table, rows.eval, { $0 }) }
            return (s.table, s.eval, { Int(s.map[$0]) })
        }
        /// Whether row group `x` comes before `y` at depth `k` (indices into that depth's table).
        func ordering(k: Int) -> (Int, Int) -> Bool {
            let (table, eval, _) = setOf(k)
            // Columns are fetched once, not per comparison.
            let topColumn = query.order.isEmpty && k == query.byCount ? query.top.map { eval.sortColumn(query.values[$0.value]) } : nil
            let orderColumns: [SortColumn?] = query.order.map { key in
                if case .value(let v, _) = key { return eval.sortColumn(query.values[v]) }
                return nil
            }
            return { x, y in
                if let topColumn {
                    let c = topColumn.compare(x, y)
                    if c != 0 { return c > 0 }
                }
                for (i, key) in query.order.enumerated() {
                    switch key {
                    case .level(let j, let desc):
                        guard j < k, table.code(x, j) != table.code(y, j) else { continue }
                        return desc ? table.code(x, j) > table.code(y, j) : table.code(x, j) < table.code(y, j)
                    case .value(_, let desc):
                        guard let column = orderColumns[i] else { continue }
                        let c = column.compare(x, y)
                        if c != 0 { return desc ? c > 0 : c < 0 }
                    }
                }
                return Finisher.naturalLess(table, x, y, upTo: k)
            }
        }
        func sortGroups(_ groups: [[Int]], k: Int) -> [[Int]] {
            let before = ordering(k: k), index = setOf(k).2
            return groups.sorted { before(index($0[0]), index($1[0])) }
        }
        if rollupStart == query.byCount {
            // No subtotals: every kept group is a row. Only the rows LIMIT shows are ordered.
            let before = ordering(k: query.byCount)
            let shown = query.limit.map { limit in
                // OFFSET + LIMIT rows, or all of them when that passes Int.max (LIMIT 9223372036854775807).
                let (wanted, overflow) = query.offset.addingReportingOverflow(limit)
                return Finisher.first(overflow ? kept.count : wanted, of: kept, by: before)
            } ?? kept.sorted(by: before)
            return shown.map { OutputRow(kind: .detail, table: rows.table, eval: rows.eval, group: $0, keyCount: query.byCount) }
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
            let isOther = Finisher.mask(others, count: rows.table.count)
            let (t, _) = rows.table.reduced(positions: [], include: { isOther[$0] })
            summary.append(OutputRow(kind: .others, table: t, eval: MeasureEvaluator(table: t, total: rows.total, cube: cube, values: query.values), group: 0, keyCount: 0))
        }
        if let last = out.last, last.kind == .total {
            summary.append(out.removeLast())
        } else if query.totals, !rows.table.levels.isEmpty {
            let included = Finisher.mask(query.top?.others == true ? kept + others : kept, count: rows.table.count)
            let (t, _) = rows.table.reduced(positions: [], include: { included[$0] })
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

    /// A flag per group of a table of `count` groups: set for `groups`.
    static func mask(_ groups: [Int], count: Int) -> [Bool] {
        var flags = [Bool](repeating: false, count: count)
        for g in groups { flags[g] = true }
        return flags
    }

    /// Natural member order of the first `k` keys, left to right.
    static func naturalLess(_ t: GroupTable, _ x: Int, _ y: Int, upTo k: Int) -> Bool {
        for j in 0..<k where t.code(x, j) != t.code(y, j) { return t.code(x, j) < t.code(y, j) }
        return false
    }
}

/// A measure column made cheap to compare many times: when every value is exact or null,
/// the values at one common scale as 128-bit integers; otherwise the values themselves.
/// Orders as `Finisher.compareForOrder`: nulls before everything else.
struct SortColumn {
    private let values: [Value]
    private let mantissas: [Int128]
    private let nulls: [Bool]

    /// Exact values at one scale, with a flag per group for no value.
    init(mantissas: [Int128], nulls: [Bool]) {
        values = []
        self.mantissas = mantissas
        self.nulls = nulls
    }

    init(_ values: [Value]) {
        var scale = 0
        var exact = true
        for v in values {
            switch v {
            case .exact(_, let s): scale = max(scale, s)
            case .null: break
            default: exact = false
            }
            if !exact { break }
        }
        var mantissas: [Int128] = []
        var nulls: [Bool] = []
        if exact {
            mantissas.reserveCapacity(values.count)
            nulls.reserveCapacity(values.count)
            for v in values {
                guard case .exact(let m, let s) = v else {
                    mantissas.append(0)
                    nulls.append(true)
                    continue
                }
                let (scaled, overflow) = m.multipliedReportingOverflow(by: Value.power128(scale - s))
                if overflow {
                    exact = false
                    break
                }
                mantissas.append(scaled)
                nulls.append(false)
            }
        }
        self.values = exact ? [] : values
        self.mantissas = exact ? mantissas : []
        self.nulls = exact ? nulls : []
    }

    /// -1, 0 or 1 as the value of group `x` orders before, with or after that of `y`.
    func compare(_ x: Int, _ y: Int) -> Int {
        guard values.isEmpty else { return Finisher.compareForOrder(values[x], values[y]) }
        switch (nulls[x], nulls[y]) {
        case (true, true): return 0
        case (true, false): return -1
        case (false, true): return 1
        default: return mantissas[x] < mantissas[y] ? -1 : (mantissas[x] > mantissas[y] ? 1 : 0)
        }
    }
}
