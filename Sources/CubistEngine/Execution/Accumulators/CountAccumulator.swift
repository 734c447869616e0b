import CubistStore
import CubistSyntax

final class CountAccumulator: Accumulator {
    var counts: [Int64] = []
    /// A sum of the same scan that counts every row: when set, this count does no work of
    /// its own and takes that sum's counts when the scan ends.
    var rowsFrom: ExactSumAccumulator?

    func resize(_ groups: Int) { if counts.count < groups { counts += [Int64](repeating: 0, count: groups - counts.count) } }

    func update(_ batch: Batch) {
        if rowsFrom != nil { return }
        if batch.single {
            counts[0] += Int64(batch.count)
            return
        }
        counts.withUnsafeMutableBufferPointer { c in
            let counts = c.baseAddress!  // safe: counts are resized to the groups before a batch
            for g in batch.groups { counts[Int(g)] &+= 1 }
        }
    }

    func finish() {
        guard let sum = rowsFrom else { return }
        counts = sum.rowCounts
        rowsFrom = nil
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        let r = CountAccumulator()
        r.resize(count)
        for g in counts.indices where map[g] >= 0 { r.counts[Int(map[g])] += counts[g] }
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value { .exact(Int128(counts[g]), scale: 0) }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? CountAccumulator else { return }
        for g in o.counts.indices { counts[Int(map[g])] += o.counts[g] }
    }
}

extension CountAccumulator {
    func bytes(groups: Int) -> Int { groups * 8 }
}
