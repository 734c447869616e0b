import CubistStore
import CubistSyntax

/// An aggregate over only the rows of each batch that also meet a condition
/// (`revenue FILTER (WHERE channel.type = 'Online')`): the batch is cut down to those rows,
/// with their groups, before the inner accumulator sees it.
final class FilteredAccumulator: Accumulator {
    let inner: Accumulator
    let filter: RowFilter
    let facts: FactTable

    init(inner: Accumulator, filter: RowFilter, facts: FactTable) {
        self.inner = inner
        self.filter = filter
        self.facts = facts
    }

    func resize(_ groups: Int) { inner.resize(groups) }

    func update(_ batch: Batch) throws(RowOverflow) {
        let rows = batch.rowArray
        let keep = try FilterEvaluator(facts: facts).keep(filter, rows)
        var kept: [Int32] = [], groups: [Int32] = []
        kept.reserveCapacity(rows.count)
        groups.reserveCapacity(rows.count)
        for i in rows.indices where keep[i] {
            kept.append(rows[i])
            groups.append(batch.groups[i])
        }
        if kept.isEmpty { return }
        try kept.withUnsafeBufferPointer { (r: UnsafeBufferPointer<Int32>) throws(RowOverflow) in
            try groups.withUnsafeBufferPointer { (g: UnsafeBufferPointer<Int32>) throws(RowOverflow) in
                try inner.update(Batch(rows: r, groups: g, range: nil, single: batch.single))
            }
        }
    }

    func finish() { inner.finish() }

    func bytes(groups: Int) -> Int { inner.bytes(groups: groups) }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        FilteredAccumulator(inner: inner.reduced(map: map, count: count), filter: filter, facts: facts)
    }

    func value(_ g: Int, _ part: SlotPart) -> Value { inner.value(g, part) }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? FilteredAccumulator else { return }
        inner.absorb(o.inner, map: map)
    }
}
