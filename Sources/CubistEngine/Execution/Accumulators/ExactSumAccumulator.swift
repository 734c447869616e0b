import CubistStore
import CubistSyntax

/// Exact sum and non-null count of a row expression without division.
final class ExactSumAccumulator: Accumulator {
    let expr: RowExpr
    let scale: Int
    let facts: FactTable
    var sums: [Int128] = []
    var counts: [Int64] = []

    /// For a column without nulls whose sum of stored offsets cannot leave 64 bits: the
    /// column, and per-group sums of offsets; `finish` turns them into `sums`.
    private var fast: NumericColumn?
    private var offsets: [Int64] = []

    init(expr: RowExpr, scale: Int, facts: FactTable) {
        self.expr = expr
        self.scale = scale
        self.facts = facts
        if case .column(let c) = expr, ExactSumAccumulator.countsEveryRow(expr, facts) { fast = facts.numericColumns[c] }
    }

    /// Whether the sum of `expr` takes the fast path, whose counts are the groups' rows
    /// (a column without nulls whose stored offsets add up within 64 bits): then a
    /// `count(*)` of the same scan can be read from them.
    static func countsEveryRow(_ expr: RowExpr, _ facts: FactTable) -> Bool {
        guard case .column(let c) = expr else { return false }
        let column = facts.numericColumns[c]
        return column.nulls == nil && column.packed.width != .eight && Int128(column.count) * Int128(column.packed.maximum) < Int128(Int64.max)
    }

    /// The row count of each group (every row counts on the fast path).
    var rowCounts: [Int64] { counts }

    func resize(_ groups: Int) {
        if sums.count < groups {
            sums += [Int128](repeating: 0, count: groups - sums.count)
            counts += [Int64](repeating: 0, count: groups - counts.count)
            if fast != nil { offsets += [Int64](repeating: 0, count: groups - offsets.count) }
        }
    }

    func update(_ batch: Batch) throws(RowOverflow) {
        if let column = fast {
            offsets.withUnsafeMutableBufferPointer { o in
                counts.withUnsafeMutableBufferPointer { n in
                    switch column.packed.storage {
                    case .one(let b): addOffsets(b, batch, o.baseAddress!, n.baseAddress!)  // safe: kernels run on non-empty buffers (sums are resized to the groups first)
                    case .two(let b): addOffsets(b, batch, o.baseAddress!, n.baseAddress!)
                    case .four(let b): addOffsets(b, batch, o.baseAddress!, n.baseAddress!)  // safe: kernels run on non-empty buffers (sums are resized to the groups first)
                    case .eight(let b): addOffsets(b, batch, o.baseAddress!, n.baseAddress!)
                    }
                }
            }
            return
        }
        let rows = batch.rowArray
        guard case .exact(let values, _, let nulls) = try RowEvaluator(facts: facts).evaluate(expr, rows) else { return }
        for i in rows.indices {
            if let nulls, nulls[i] { continue }
            let g = Int(batch.groups[i])
            sums[g] += Int128(values[i])
            counts[g] += 1
        }
    }

    func finish() {
        guard let column = fast else { return }
        let base = Int128(column.base)
        for g in offsets.indices { sums[g] += Int128(offsets[g]) + base * Int128(counts[g]) }
        offsets = []
        fast = nil
    }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? ExactSumAccumulator else { return }
        addSums(&sums, &counts, o.sums, o.counts, map: map)
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        let r = ExactSumAccumulator(expr: expr, scale: scale, facts: facts)
        r.resize(count)
        addSums(&r.sums, &r.counts, sums, counts, map: map)
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value {
        switch part {
        case .count: return .exact(Int128(counts[g]), scale: 0)
        case .average:
            return counts[g] == 0 ? .null : .double(Double(sums[g]) / Double(counts[g]) / Value.power(scale))
        default: return counts[g] == 0 ? .null : .exact(sums[g], scale: scale)
        }
    }
}

extension ExactSumAccumulator {
    func bytes(groups: Int) -> Int { groups * 32 }
}

/// Adds `column`'s stored offsets of the batch's rows into per-group 64-bit sums and
/// counts: the kernel for exact sums of a column, specialised per storage width.
@inline(__always)
private func addOffsets<T: FixedWidthInteger & UnsignedInteger>(_ b: UnsafeBufferPointer<T>, _ batch: Batch,
                                                                 _ sums: UnsafeMutablePointer<Int64>, _ counts: UnsafeMutablePointer<Int64>) {
    let n = batch.count
    guard let values = b.baseAddress else { return }
    if batch.single {
        var total: Int64 = 0
        if let range = batch.range {
            let start = values + range.lowerBound
            for i in 0..<n { total &+= Int64(start[i]) }
        } else {
            let rows = batch.rows.baseAddress!  // safe: kernels run on non-empty buffers (sums are resized to the groups first)
            for i in 0..<n { total &+= Int64(values[Int(rows[i])]) }
        }
        sums[0] &+= total
        counts[0] &+= Int64(n)
        return
    }
    let groups = batch.groups.baseAddress!  // safe: kernels run on non-empty buffers (sums are resized to the groups first)
    if let range = batch.range {
        let start = values + range.lowerBound
        for i in 0..<n {
            let g = Int(groups[i])
            sums[g] &+= Int64(start[i])
            counts[g] &+= 1
        }
    } else {
        let rows = batch.rows.baseAddress!  // safe: kernels run on non-empty buffers (sums are resized to the groups first)
        for i in 0..<n {
            let g = Int(groups[i])
            sums[g] &+= Int64(values[Int(rows[i])])
            counts[g] &+= 1
        }
    }
}
