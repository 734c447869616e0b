import CubistStore
import CubistSyntax

/// The first or last member (in natural order) of a level per group.
final class MemberAccumulator: Accumulator {
    let codes: PackedColumn
    let map: [Int32]?
    let labels: [String]
    let last: Bool
    var best: [Int32] = []

    init(codes: PackedColumn, map: [Int32]?, labels: [String], last: Bool) {
        self.codes = codes
        self.map = map
        self.labels = labels
        self.last = last
    }

    func resize(_ groups: Int) { if best.count < groups { best += [Int32](repeating: -1, count: groups - best.count) } }

    func update(_ batch: Batch) {
        let rows = batch.rowArray, groups = batch.groups
        var leaf: [Int32] = []
        Gather.codes(codes, rows, into: &leaf)
        for i in rows.indices {
            merge(Int(groups[i]), map.map { $0[Int(leaf[i])] } ?? leaf[i])
        }
    }

    private func merge(_ g: Int, _ code: Int32) {
        if best[g] < 0 || (last ? code > best[g] : code < best[g]) { best[g] = code }
    }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? MemberAccumulator else { return }
        for g in o.best.indices where o.best[g] >= 0 { merge(Int(map[g]), o.best[g]) }
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        let r = MemberAccumulator(codes: codes, map: self.map, labels: labels, last: last)
        r.resize(count)
        for g in best.indices where map[g] >= 0 && best[g] >= 0 { r.merge(Int(map[g]), best[g]) }
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value { best[g] < 0 ? .null : .text(labels[Int(best[g])]) }
}

extension MemberAccumulator {
    func bytes(groups: Int) -> Int { groups * 4 }
}
