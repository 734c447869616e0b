import CubistStore
import CubistSyntax

/// Turns the scanned groups into the result: HAVING, TOP, order, ROLLUP subtotals, totals,
/// crosstab columns, LIMIT/OFFSET.
///
/// Subtotal and total rows aggregate exactly the detail rows they follow (after HAVING and
/// TOP), straight from the aggregate states, so even `count(distinct ...)` totals are exact.
struct Finalizer {
    let cube: Cube
    let plan: QueryPlan
    let fine: GroupTable

    /// The result, and for each row the BY codes it stands for (a prefix for subtotals; nil
    /// for totals and "Others").
    func run() -> (ResultTable, [[Int32]?]) {
        let (table, keys, _) = runWithOthers()
        return (table, keys)
    }

    /// Also the BY codes of every group folded into the "Others" row (for DRILLTHROUGH).
    func runWithOthers() -> (ResultTable, [[Int32]?], [[Int32]]) {
        let byPositions = Array(0..<plan.byCount)
        let rows: GroupTable
        // For a crosstab, each fine group (a cell) belongs to the row `rowOf[g]`.
        var rowOf: [Int32] = []
        if plan.acrossCount > 0 { (rows, rowOf) = fine.reduced(positions: byPositions) } else { rows = fine }
        let total = fine.reduced(positions: []).table
        let rowEval = Evaluation(table: rows, total: total, cube: cube)

        var kept = (0..<rows.count).filter { g in plan.having.map { passes($0, rowEval, g) } ?? true }
        if rows.levels.isEmpty { kept = [0] }
        var others: [Int] = []
        if let top = plan.top {
            let by = rowEval.column(plan.values[top.value])
            let before = { (x: Int, y: Int) -> Bool in
                let c = Finalizer.compareForOrder(by[x], by[y])
                return c != 0 ? c > 0 : Finalizer.naturalLess(rows, x, y, upTo: plan.byCount)
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
                for g in kept where best.count < n || before(g, best[best.count - 1]) {
                    var lo = 0, hi = best.count
                    while lo < hi {
                        let mid = (lo + hi) / 2
                        if before(best[mid], g) { lo = mid + 1 } else { hi = mid }
                    }
                    best.insert(g, at: lo)
                    if best.count > n { best.removeLast() }
                }
                var chosen = [Bool](repeating: false, count: rows.count)
                for g in best { chosen[g] = true }
                others = kept.filter { !chosen[$0] }
                kept = best
            } else {
                let ranked = kept.sorted(by: before)
                kept = Array(ranked.prefix(n))
                others = Array(ranked.dropFirst(n))
            }
        }

        // Subtotal tables: S[k] keeps the first k BY levels, over the kept detail rows.
        let rollupStart = plan.rollupStart ?? plan.byCount
        let keptSet = Set(kept)
        var sets: [Int: (table: GroupTable, map: [Int32], eval: Evaluation)] = [:]
        for k in rollupStart..<plan.byCount {
            let (t, m) = rows.reduced(positions: Array(0..<k), include: { keptSet.contains($0) })
            sets[k] = (t, m, Evaluation(table: t, total: total, cube: cube))
        }
        var out: [(kind: RowKind, table: GroupTable, eval: Evaluation, group: Int, keyCount: Int)] = []
        func setOf(_ k: Int) -> (GroupTable, Evaluation, (Int) -> Int) {
            if k == plan.byCount { return (rows, rowEval, { $0 }) }
            let s = sets[k]!
            return (s.table, s.eval, { Int(s.map[$0]) })
        }
        func sortGroups(_ groups: [[Int]], k: Int) -> [[Int]] {
            let (table, eval, index) = setOf(k)
            // Columns are fetched once, not per comparison.
            let topColumn = plan.order.isEmpty && k == plan.byCount ? plan.top.map { eval.column(plan.values[$0.value]) } : nil
            let orderColumns: [[Value]?] = plan.order.map { key in
                if case .value(let v, _) = key { return eval.column(plan.values[v]) }
                return nil
            }
            return groups.sorted { a, b in
                let x = index(a[0]), y = index(b[0])
                if let topColumn {
                    let c = Finalizer.compareForOrder(topColumn[x], topColumn[y])
                    if c != 0 { return c > 0 }
                }
                for (i, key) in plan.order.enumerated() {
                    switch key {
                    case .level(let j, let desc):
                        guard j < k, table.code(x, j) != table.code(y, j) else { continue }
                        return desc ? table.code(x, j) > table.code(y, j) : table.code(x, j) < table.code(y, j)
                    case .value(_, let desc):
                        guard let column = orderColumns[i] else { continue }
                        let c = Finalizer.compareForOrder(column[x], column[y])
                        if c != 0 { return desc ? c > 0 : c < 0 }
                    }
                }
                return Finalizer.naturalLess(table, x, y, upTo: k)
            }
        }
        func partition(_ members: [Int], prefix k: Int) -> [[Int]] {
            var index: [[Int32]: Int] = [:]
            var groups: [[Int]] = []
            for g in members {
                let key = Array(rows.key(g).prefix(k))
                if let i = index[key] { groups[i].append(g) } else {
                    index[key] = groups.count
                    groups.append([g])
                }
            }
            return groups
        }
        func emit(_ k: Int, _ members: [Int]) {
            if k == plan.byCount {
                out.append((.detail, rows, rowEval, members[0], plan.byCount))
                return
            }
            for child in sortGroups(partition(members, prefix: k + 1), k: k + 1) { emit(k + 1, child) }
            let (table, eval, index) = setOf(k)
            out.append((k == 0 ? .total : .subtotal(depth: k), table, eval, index(members[0]), k))
        }
        if rows.levels.isEmpty {
            out.append((.detail, rows, rowEval, 0, 0))
        } else {
            for group in sortGroups(partition(kept, prefix: rollupStart), k: rollupStart) { emit(rollupStart, group) }
        }
        var othersRow: (kind: RowKind, table: GroupTable, eval: Evaluation, group: Int, keyCount: Int)?
        if plan.top?.others == true, !others.isEmpty {
            let (t, _) = rows.reduced(positions: [], include: Set(others).contains)
            othersRow = (.others, t, Evaluation(table: t, total: total, cube: cube), 0, 0)
        }
        var totalRow: (kind: RowKind, table: GroupTable, eval: Evaluation, group: Int, keyCount: Int)?
        if let last = out.last, last.kind == .total {
            totalRow = out.removeLast()
        } else if plan.totals, !rows.levels.isEmpty {
            let included = plan.top?.others == true ? keptSet.union(others) : keptSet
            let (t, _) = rows.reduced(positions: [], include: included.contains)
            totalRow = (.total, t, Evaluation(table: t, total: total, cube: cube), 0, 0)
        }
        let start = min(plan.offset, out.count)
        let end = plan.limit.map { start + min(out.count - start, $0) } ?? out.count
        // LIMIT and OFFSET cut the listing; the summary rows (Others, Total) always show.
        var shown = Array(out[start..<end])
        if let othersRow { shown.append(othersRow) }
        if let totalRow { shown.append(totalRow) }

        // Columns and cells.
        var columns = plan.levelHeaders.map { ResultColumn(name: $0, kind: .member, format: nil) }
        var result: [[Value]] = []
        var keys: [[Int32]?] = []
        let across = plan.acrossCount > 0 ? Crosstab(plan: plan, fine: fine, rows: rows, rowOf: rowOf, total: total, cube: cube,
                                                     kept: plan.top?.others == true ? kept + others : kept,
                                                     others: plan.top?.others == true ? others : []) : nil
        if let across {
            columns += across.columns(totals: plan.totals)
        } else {
            columns += plan.items.map { ResultColumn(name: $0.header, kind: .measure, format: $0.format) }
        }
        for r in shown {
            var row: [Value] = []
            for j in 0..<plan.byCount {
                if r.kind == .others {
                    row.append(j == 0 ? .text("Others") : .null)
                } else if j < r.keyCount {
                    let level = plan.levels[j].level(in: cube)
                    row.append(.text(level.members[Int(r.table.code(r.group, j))]))
                } else {
                    row.append(.null)
                }
            }
            if let across {
                row += across.cells(for: r.kind, group: r.group, rowEval: r.eval, totals: plan.totals)
            } else {
                row += plan.items.map { r.eval.value(plan.values[$0.value], r.group) }
            }
            result.append(row)
            keys.append(r.kind == .others || r.kind == .total ? nil : Array(r.table.key(r.group).prefix(r.keyCount)))
        }
        let table = ResultTable(columns: columns, rows: result, rowKinds: shown.map(\.kind), warnings: plan.warnings,
                                acrossLevels: plan.levels[plan.byCount...].map { $0.qualifiedName(in: cube) })
        return (table, keys, plan.top?.others == true ? others.map { rows.key($0) } : [])
    }

    private func passes(_ f: GroupFilter, _ eval: Evaluation, _ g: Int) -> Bool {
        switch f {
        case .and(let a, let b): return passes(a, eval, g) && passes(b, eval, g)
        case .or(let a, let b): return passes(a, eval, g) || passes(b, eval, g)
        case .not(let a): return !passes(a, eval, g)
        case .compare(let x, let op, let y):
            guard let c = Value.compare(eval.value(plan.values[x], g), eval.value(plan.values[y], g)) else { return false }
            return RowEvaluator.test(c, op, 0)
        }
    }

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

/// The columns of a crosstab: one per ACROSS member combination present × SELECT item.
struct Crosstab {
    let plan: QueryPlan
    let fine: GroupTable
    let rows: GroupTable
    let cube: Cube
    let combos: [[Int32]]
    let cellEval: Evaluation
    let marginTable: GroupTable
    let marginEval: Evaluation
    let othersTable: GroupTable?
    let othersEval: Evaluation?
    /// For ROLLUP subtotals keeping `k` BY levels: cells by those levels and the ACROSS levels.
    let subtotalCells: [Int: (table: GroupTable, eval: Evaluation)]

    init(plan: QueryPlan, fine: GroupTable, rows: GroupTable, rowOf: [Int32], total: GroupTable, cube: Cube, kept: [Int], others: [Int]) {
        self.plan = plan
        self.fine = fine
        self.rows = rows
        self.cube = cube
        let acrossPositions = Array(plan.byCount..<plan.levels.count)
        let keptSet = Set(kept)
        let include: (Int) -> Bool = { keptSet.contains(Int(rowOf[$0])) }
        var seen = Set<[Int32]>()
        for g in 0..<fine.count where include(g) { seen.insert(acrossPositions.map { fine.code(g, $0) }) }
        combos = seen.sorted { a, b in a.lexicographicallyPrecedes(b) }
        cellEval = Evaluation(table: fine, total: total, cube: cube)
        marginTable = fine.reduced(positions: acrossPositions, include: include).table
        marginEval = Evaluation(table: marginTable, total: total, cube: cube)
        var subtotals: [Int: (table: GroupTable, eval: Evaluation)] = [:]
        for k in (plan.rollupStart ?? plan.byCount)..<plan.byCount {
            let t = fine.reduced(positions: Array(0..<k) + acrossPositions, include: include).table
            subtotals[k] = (t, Evaluation(table: t, total: total, cube: cube))
        }
        subtotalCells = subtotals
        if !others.isEmpty {
            let otherSet = Set(others)
            let t = fine.reduced(positions: acrossPositions, include: { otherSet.contains(Int(rowOf[$0])) }).table
            othersTable = t
            othersEval = Evaluation(table: t, total: total, cube: cube)
        } else {
            othersTable = nil
            othersEval = nil
        }
    }

    func columns(totals: Bool) -> [ResultColumn] {
        var out: [ResultColumn] = []
        for combo in combos {
            let labels = combo.enumerated().map { j, c in plan.levels[plan.byCount + j].level(in: cube).members[Int(c)] }
            let label = labels.joined(separator: " ")
            for item in plan.items {
                out.append(ResultColumn(name: plan.items.count == 1 ? label : "\(label) \(item.header)", kind: .measure, format: item.format,
                                        acrossMembers: labels, item: item.header))
            }
        }
        if totals {
            let labels = ["Total"] + Array(repeating: "", count: max(0, plan.acrossCount - 1))
            for item in plan.items {
                out.append(ResultColumn(name: plan.items.count == 1 ? "Total" : "Total \(item.header)", kind: .measure, format: item.format,
                                        acrossMembers: labels, item: item.header))
            }
        }
        return out
    }

    func cells(for kind: RowKind, group: Int, rowEval: Evaluation, totals: Bool) -> [Value] {
        var out: [Value] = []
        for combo in combos {
            var table: GroupTable?
            var eval: Evaluation?
            var g: Int?
            switch kind {
            case .detail:
                table = fine
                eval = cellEval
                g = fine.group(rows.key(group) + combo)
            case .subtotal(let k):
                let cells = subtotalCells[k]
                table = cells?.table
                eval = cells?.eval
                g = cells?.table.group(rowEval.table.key(group) + combo)
            case .total:
                table = marginTable
                eval = marginEval
                g = marginTable.group(combo)
            case .others:
                table = othersTable
                eval = othersEval
                g = othersTable?.group(combo)
            }
            _ = table
            for item in plan.items {
                if let g, let eval { out.append(eval.value(plan.values[item.value], g)) } else { out.append(.null) }
            }
        }
        if totals {
            out += plan.items.map { rowEval.value(plan.values[$0.value], group) }
        }
        return out
    }
}
