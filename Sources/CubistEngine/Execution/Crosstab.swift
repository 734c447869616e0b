import CubistStore
import CubistSyntax

/// The columns of a crosstab: one per ACROSS member combination present × SELECT item.
struct Crosstab {
    let plan: BoundQuery
    let fine: GroupTable
    let rows: GroupTable
    let cube: Cube
    let combos: [[Int32]]
    let cellEval: MeasureEvaluator
    let marginTable: GroupTable
    let marginEval: MeasureEvaluator
    let othersTable: GroupTable?
    let othersEval: MeasureEvaluator?
    /// For ROLLUP subtotals keeping `k` BY levels: cells by those levels and the ACROSS levels.
    let subtotalCells: [Int: (table: GroupTable, eval: MeasureEvaluator)]

    init(plan: BoundQuery, fine: GroupTable, rows: GroupTable, rowOf: [Int32], total: TotalGroup, cube: Cube, kept: [Int], others: [Int],
         known: [MeasureExpr: [Value]] = [:]) {
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
        cellEval = MeasureEvaluator(table: fine, total: total, cube: cube, values: plan.values, known: known)
        marginTable = fine.reduced(positions: acrossPositions, include: include).table
        marginEval = MeasureEvaluator(table: marginTable, total: total, cube: cube, values: plan.values)
        var subtotals: [Int: (table: GroupTable, eval: MeasureEvaluator)] = [:]
        for k in (plan.rollupStart ?? plan.byCount)..<plan.byCount {
            let t = fine.reduced(positions: Array(0..<k) + acrossPositions, include: include).table
            subtotals[k] = (t, MeasureEvaluator(table: t, total: total, cube: cube, values: plan.values))
        }
        subtotalCells = subtotals
        if !others.isEmpty {
            let otherSet = Set(others)
            let t = fine.reduced(positions: acrossPositions, include: { otherSet.contains(Int(rowOf[$0])) }).table
            othersTable = t
            othersEval = MeasureEvaluator(table: t, total: total, cube: cube, values: plan.values)
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

    func cells(for kind: RowKind, group: Int, rowEval: MeasureEvaluator, totals: Bool) -> [Value] {
        var out: [Value] = []
        for combo in combos {
            var table: GroupTable?
            var eval: MeasureEvaluator?
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
