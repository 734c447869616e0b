import CubistStore
import CubistSyntax

/// Sum and non-null count of a row expression that divides (floating point).
final class DoubleSumAccumulator: Accumulator {
    let expr: RowExpr
    let facts: FactTable
    var sums: [Double] = []
    var counts: [Int64] = []

    init(expr: RowExpr, facts: FactTable) {
        self.expr = expr
        self.facts = facts
    }

    func resize(_ groups: Int) {
        if sums.count < groups {
            sums += [Double](repeating: 0, count: groups - sums.count)
            counts += [Int64](repeating: 0, count: groups - counts.count)
        }
    }

    func update(_ batch: Batch) throws(RowOverflow) {
        let rows = batch.rowArray, groups = batch.groups
        let v = try RowEvaluator(facts: facts).evaluate(expr, rows)
        let values = RowEvaluator.doubles(v), nulls = v.nulls
        for i in rows.indices {
            if let nulls, nulls[i] { continue }
            sums[Int(groups[i])] += values[i]
            counts[Int(groups[i])] += 1
        }
    }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? DoubleSumAccumulator else { return }
        addSums(&sums, &counts, o.sums, o.counts, map: map)
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        let r = DoubleSumAccumulator(expr: expr, facts: facts)
        r.resize(count)
        addSums(&r.sums, &r.counts, sums, counts, map: map)
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value {
        switch part {
        case .count: return .exact(Int128(counts[g]), scale: 0)
        case .average: return counts[g] == 0 ? .null : .double(sums[g] / Double(counts[g]))
        default: return counts[g] == 0 ? .null : .double(sums[g])
        }
    }
}

extension DoubleSumAccumulator {
    func bytes(groups: Int) -> Int { groups * 16 }
}
