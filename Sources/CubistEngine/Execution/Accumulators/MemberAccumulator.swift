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
        guard batch.count > 0 else { return }
        best.withUnsafeMutableBufferPointer { b in
            let best = b.baseAddress!  // safe: resized to the groups before any batch
            switch codes.storage {
            case .one(let c): extremes(c, batch, best)
            case .two(let c): extremes(c, batch, best)
            case .four(let c): extremes(c, batch, best)
            case .eight(let c): extremes(c, batch, best)
            }
        }
    }

    /// The kernel: each row's code (through the leaf map when the level is not the leaf)
    /// kept when it is past the group's best. No group yet is -1: below every code for the
    /// last member, and above every code for the first when compared as unsigned.
    @inline(__always)
    private func extremes<T: FixedWidthInteger & UnsignedInteger>(_ c: UnsafeBufferPointer<T>, _ batch: Batch, _ best: UnsafeMutablePointer<Int32>) {
        guard let values = c.baseAddress else { return }
        if let map {
            map.withUnsafeBufferPointer { m in
                let m = m.baseAddress!  // safe: a leaf map has one entry per leaf member
                extremes(values, batch, best) { m[Int($0)] }
            }
        } else {
            extremes(values, batch, best) { Int32(truncatingIfNeeded: $0) }
        }
    }

    @inline(__always)
    private func extremes<T: FixedWidthInteger & UnsignedInteger>(_ values: UnsafePointer<T>, _ batch: Batch, _ best: UnsafeMutablePointer<Int32>,
                                                                   _ code: (T) -> Int32) {
        let n = batch.count, last = self.last
        @inline(__always) func keep(_ g: Int, _ c: Int32) {
            let b = best[g]
            best[g] = last ? max(b, c) : Int32(bitPattern: min(UInt32(bitPattern: b), UInt32(bitPattern: c)))
        }
        if let start = batch.range?.lowerBound {
            let v = values + start
            if batch.single {
                for i in 0..<n { keep(0, code(v[i])) }
            } else {
                let groups = batch.groups.baseAddress!  // safe: groups are given unless single
                for i in 0..<n { keep(Int(groups[i]), code(v[i])) }
            }
        } else {
            let rows = batch.rows.baseAddress!  // safe: rows are given when there is no range
            if batch.single {
                for i in 0..<n { keep(0, code(values[Int(rows[i])])) }
            } else {
                let groups = batch.groups.baseAddress!  // safe: groups are given unless single
                for i in 0..<n { keep(Int(groups[i]), code(values[Int(rows[i])])) }
            }
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
