import CubistStore
import CubistSyntax

/// Minimum or maximum of a row expression.
final class ExtremeAccumulator: Accumulator {
    let expr: RowExpr
    let facts: FactTable
    let isMax: Bool
    let scale: Int?
    var exact: [Int64] = []
    var doubles: [Double] = []
    var seen: [Bool] = []

    init(expr: RowExpr, facts: FactTable, isMax: Bool) {
        self.expr = expr
        self.facts = facts
        self.isMax = isMax
        scale = expr.scale(in: facts)
    }

    func resize(_ groups: Int) {
        if seen.count < groups {
            let n = groups - seen.count
            exact += [Int64](repeating: 0, count: n)
            doubles += [Double](repeating: 0, count: n)
            seen += [Bool](repeating: false, count: n)
        }
    }

    func update(_ batch: Batch) throws(RowOverflow) {
        let rows = batch.rowArray, groups = batch.groups
        let v = try RowEvaluator(facts: facts).evaluate(expr, rows)
        let nulls = v.nulls
        switch v {
        case .exact(let values, _, _):
            for i in rows.indices {
                if let nulls, nulls[i] { continue }
                merge(Int(groups[i]), exact: values[i], double: 0)
            }
        case .double(let values, _):
            for i in rows.indices {
                if let nulls, nulls[i] { continue }
                merge(Int(groups[i]), exact: 0, double: values[i])
            }
        }
    }

    private func merge(_ g: Int, exact e: Int64, double d: Double) {
        if !seen[g] {
            seen[g] = true
            exact[g] = e
            doubles[g] = d
        } else if scale != nil {
            if isMax ? e > exact[g] : e < exact[g] { exact[g] = e }
        } else if isMax ? d > doubles[g] : d < doubles[g] {
            doubles[g] = d
        }
    }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? ExtremeAccumulator else { return }
        for g in o.seen.indices where o.seen[g] { merge(Int(map[g]), exact: o.exact[g], double: o.doubles[g]) }
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        let r = ExtremeAccumulator(expr: expr, facts: facts, isMax: isMax)
        r.resize(count)
        for g in seen.indices where map[g] >= 0 && seen[g] { r.merge(Int(map[g]), exact: exact[g], double: doubles[g]) }
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value {
        guard seen[g] else { return .null }
        if let scale { return .exact(Int128(exact[g]), scale: scale) }
        return .double(doubles[g])
    }
}

extension ExtremeAccumulator {
    func bytes(groups: Int) -> Int { groups * 17 }
}
