import CubistStore
import CubistSyntax

/// An aggregate over only the rows of each batch that also meet a condition
/// (`revenue FILTER (WHERE channel.type = 'Online')`).
///
/// The batch is not cut down: every row keeps its place and goes to the inner accumulator,
/// the rows that meet the condition in their group shifted by one and the others into
/// group 0, which is never read. So a batch that is a contiguous range stays one, and the
/// inner kernels stream the columns as they do without a filter.
final class FilteredAccumulator: Accumulator {
    let inner: Accumulator
    let filter: RowFilter
    let facts: FactTable

    init(inner: Accumulator, filter: RowFilter, facts: FactTable) {
        self.inner = inner
        self.filter = filter
        self.facts = facts
    }

    func resize(_ groups: Int) { inner.resize(groups + 1) }

    func update(_ batch: Batch) throws(RowOverflow) {
        let n = batch.count
        guard n > 0 else { return }
        var shifted = [Int32](repeating: 0, count: n)
        if case .members(let d, let mask) = filter {
            // A member test: one mask lookup per row, no row list built.
            shifted.withUnsafeMutableBufferPointer { out in
                mask.withUnsafeBytes { bytes in
                    let keep = bytes.assumingMemoryBound(to: UInt8.self)
                    switch facts.dimensionCodes[d].storage {
                    case .one(let b): FilteredAccumulator.shift(b, keep, batch, out)
                    case .two(let b): FilteredAccumulator.shift(b, keep, batch, out)
                    case .four(let b): FilteredAccumulator.shift(b, keep, batch, out)
                    case .eight(let b): FilteredAccumulator.shift(b, keep, batch, out)
                    }
                }
            }
        } else {
            let keep = try FilterEvaluator(facts: facts).keep(filter, batch.rowArray)
            for i in 0..<n where keep[i] { shifted[i] = (batch.single ? 0 : batch.groups[i]) + 1 }
        }
        try shifted.withUnsafeBufferPointer { (g: UnsafeBufferPointer<Int32>) throws(RowOverflow) in
            try inner.update(Batch(rows: batch.rows, groups: g, range: batch.range, single: false, slice: batch.slice))
        }
    }

    /// `out[i]` = the row's group + 1 when its member is kept, else 0 (branch-free).
    private static func shift<T: FixedWidthInteger & UnsignedInteger>(_ codes: UnsafeBufferPointer<T>, _ keep: UnsafeBufferPointer<UInt8>, _ batch: Batch,
                                                                      _ out: UnsafeMutableBufferPointer<Int32>) {
        let c = codes.baseAddress!  // safe: a fact table with rows has a non-empty code column
        let n = batch.count
        for i in 0..<n {
            let row = batch.range.map { $0.lowerBound + i } ?? Int(batch.rows[i])
            let g = batch.single ? 0 : batch.groups[i]
            out[i] = (g + 1) &* Int32(keep[Int(c[row])])
        }
    }

    func finish() { inner.finish() }

    func bytes(groups: Int) -> Int { inner.bytes(groups: groups + 1) }

    /// A map of this accumulator's groups shifted past group 0, which goes to `unused`
    /// (nowhere for a reduction; group 0 again for a merge, which takes no negatives).
    private static func shifted(_ map: [Int32], unused: Int32) -> [Int32] {
        [unused] + map.map { $0 < 0 ? -1 : $0 + 1 }
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        FilteredAccumulator(inner: inner.reduced(map: FilteredAccumulator.shifted(map, unused: -1), count: count + 1), filter: filter, facts: facts)
    }

    func value(_ g: Int, _ part: SlotPart) -> Value { inner.value(g + 1, part) }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? FilteredAccumulator else { return }
        inner.absorb(o.inner, map: FilteredAccumulator.shifted(map, unused: 0))
    }
}
