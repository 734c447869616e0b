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
    /// The row arithmetic compiled, made on the first batch that needs it.
    private lazy var kernel: RowKernel? = RowKernel(expr, facts: facts)
    /// Per group, the kernel's values added in 64 bits (one add, no carry chain through
    /// memory), moved into `sums` when the next would overflow and by `finish`.
    private var partials: [Int64] = []

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
        if let kernel {
            if partials.count < sums.count { partials += [Int64](repeating: 0, count: sums.count - partials.count) }
            try add(kernel, batch)
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

    /// Adds a batch through the compiled row arithmetic; a batch whose values left 64 bits
    /// is added again row by row in 128 bits.
    private func add(_ kernel: RowKernel, _ batch: Batch) throws(RowOverflow) {
        // A part at a time, so the kernel's scratch values stay in the cache.
        let all = RowKernel.Rows(batch)
        for from in stride(from: 0, to: all.count, by: RowKernel.chunk) {
            let part = from..<min(from + RowKernel.chunk, all.count)
            try add(kernel, all.part(part), groups: UnsafeBufferPointer(rebasing: batch.groups[part]), single: batch.single)
        }
    }

    private func add(_ kernel: RowKernel, _ rows: RowKernel.Rows, groups: UnsafeBufferPointer<Int32>, single: Bool) throws(RowOverflow) {
        let (values, overflowed, nulls) = kernel.evaluate(rows)
        let n = rows.count
        try sums.withUnsafeMutableBufferPointer { (s) throws(RowOverflow) in
            try counts.withUnsafeMutableBufferPointer { (c) throws(RowOverflow) in
                try partials.withUnsafeMutableBufferPointer { (p) throws(RowOverflow) in
                    /// Adds `v` to group `g`'s 64-bit partial, spilling into the 128-bit sum when it would overflow.
                    @inline(__always) func add(_ g: Int, _ v: Int64) {
                        let (r, o) = p[g].addingReportingOverflow(v)
                        if o {
                            s[g] += Int128(p[g]) + Int128(v)
                            p[g] = 0
                        } else {
                            p[g] = r
                        }
                        c[g] &+= 1
                    }
                    if overflowed {
                        for i in 0..<n {
                            guard let v = try kernel.wide(row: rows.row(i)) else { continue }
                            let g = single ? 0 : Int(groups[i])
                            s[g] += v
                            c[g] += 1
                        }
                    } else if single {
                        var sum: Int128 = 0
                        var count: Int64 = 0
                        for i in 0..<n where !(nulls?[i] ?? false) {
                            sum += Int128(values[i])
                            count += 1
                        }
                        s[0] += sum
                        c[0] += count
                    } else if let nulls {
                        for i in 0..<n where !nulls[i] { add(Int(groups[i]), values[i]) }
                    } else {
                        for i in 0..<n { add(Int(groups[i]), values[i]) }
                    }
                }
            }
        }
    }

    func finish() {
        for g in partials.indices { sums[g] += Int128(partials[g]) }
        partials = []
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
            return counts[g] == 0 ? .null : .double(Value.average(sums[g], count: Int(counts[g]), scale: scale))
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
