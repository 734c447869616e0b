import CubistStore
import CubistSyntax

/// Exact count of distinct members (or numeric values) per group.
///
/// Members are dense codes, so each group keeps a bitset over the level's members while the
/// bitsets fit a memory budget (one bit per member per group); beyond it, and for numeric
/// values, a set of (group, value) pairs.
final class DistinctAccumulator: Accumulator {
    enum Source {
        /// Leaf codes of a dimension, mapped to a level's codes when `map` is given.
        case member(PackedColumn, [Int32]?, memberCount: Int)
        /// A numeric fact column's values (nulls not counted).
        case column(Int)
    }

    struct Pair: Hashable {
        var group: Int32
        var value: Int64
    }

    let source: Source
    /// Most bytes of bitsets before switching to pairs.
    let budget: Int
    let facts: FactTable
    var pairs = Set<Pair>()
    /// Per group, a bitset over the members (`words` words each, group after group), and
    /// the number of bits set; nil once the groups hold pairs instead.
    var bits: [UInt64]?
    var bitCounts: [Int] = []
    var groupCount = 0
    private var counts: [Int]?

    init(source: Source, facts: FactTable, budget: Int) {
        self.source = source
        self.facts = facts
        self.budget = budget
        if case .member = source { bits = [] }
    }

    private var words: Int {
        if case .member(_, _, let n) = source { return (n + 63) / 64 }
        return 0
    }

    func resize(_ groups: Int) {
        groupCount = max(groupCount, groups)
        guard bits != nil else { return }
        if groupCount * words * 8 > budget {
            // Too many groups for bitsets: move what is known into pairs.
            pairs = Set(allPairs())
            bits = nil
            bitCounts = []
            return
        }
        if bitCounts.count < groupCount {
            bits! += [UInt64](repeating: 0, count: (groupCount - bitCounts.count) * words)  // safe: used only on the bitset path, where bits is non-nil; kernels run on non-empty buffers
            bitCounts += [Int](repeating: 0, count: groupCount - bitCounts.count)
        }
    }

    func update(_ batch: Batch) {
        counts = nil
        switch source {
        case .member(let column, let map, _):
            if bits != nil {
                switch column.storage {
                case .one(let b): insert(b, map, batch)
                case .two(let b): insert(b, map, batch)
                case .four(let b): insert(b, map, batch)
                case .eight(let b): insert(b, map, batch)
                }
                return
            }
            var codes: [Int32] = []
            Gather.codes(column, batch.rowArray, into: &codes)
            if let map {
                for i in codes.indices { codes[i] = map[Int(codes[i])] }
            }
            for i in codes.indices { pairs.insert(Pair(group: batch.groups[i], value: Int64(codes[i]))) }
        case .column(let c):
            let rows = batch.rowArray
            let column = facts.numericColumns[c]
            let values = Gather.mantissas(column, rows)
            let nulls = Gather.nulls(column, rows)
            for i in rows.indices {
                if let nulls, nulls[i] { continue }
                pairs.insert(Pair(group: batch.groups[i], value: values[i]))
            }
        }
    }

    /// Sets each row's member bit in its group's bitset.
    @inline(__always)
    private func insert<T: FixedWidthInteger & UnsignedInteger>(_ column: UnsafeBufferPointer<T>, _ map: [Int32]?, _ batch: Batch) {
        let words = self.words
        let codes = column.baseAddress!, groups = batch.groups.baseAddress!  // safe: used only on the bitset path, where bits is non-nil; kernels run on non-empty buffers
        let start = batch.range?.lowerBound ?? 0, rows = batch.range == nil ? batch.rows.baseAddress : nil
        @inline(__always) func row(_ i: Int) -> Int { rows.map { Int($0[i]) } ?? start + i }
        bits!.withUnsafeMutableBufferPointer { b in  // safe: used only on the bitset path, where bits is non-nil; kernels run on non-empty buffers
            bitCounts.withUnsafeMutableBufferPointer { c in
                let bits = b.baseAddress!, counts = c.baseAddress!  // safe: used only on the bitset path, where bits is non-nil; kernels run on non-empty buffers
                func set(_ g: Int, _ code: Int) {
                    let w = g * words + code >> 6
                    let mask: UInt64 = 1 << UInt64(code & 63)
                    if bits[w] & mask == 0 {
                        bits[w] |= mask
                        counts[g] += 1
                    }
                }
                if let map {
                    map.withUnsafeBufferPointer { m in
                        for i in 0..<batch.count { set(Int(groups[i]), Int(m[Int(codes[row(i)])])) }
                    }
                } else {
                    for i in 0..<batch.count { set(Int(groups[i]), Int(codes[row(i)])) }
                }
            }
        }
    }

    /// Counts member `code` in group `g` (already resized to hold it).
    func add(_ g: Int, _ code: Int) {
        counts = nil
        if bits != nil {
            let w = g * words + code >> 6, mask: UInt64 = 1 << UInt64(code & 63)
            if bits![w] & mask == 0 {  // safe: checked non-nil just above
                bits![w] |= mask  // safe: checked non-nil just above
                bitCounts[g] += 1
            }
        } else {
            pairs.insert(Pair(group: Int32(g), value: Int64(code)))
        }
    }

    /// Counts every member set in `set` (a bitset over the members) in group `t`.
    func add(_ set: [UInt64], into t: Int) {
        counts = nil
        if bits != nil {
            merge(set, 0, into: t)
            return
        }
        for w in set.indices where set[w] != 0 {
            var word = set[w]
            while word != 0 {
                pairs.insert(Pair(group: Int32(t), value: Int64(w * 64 + word.trailingZeroBitCount)))
                word &= word - 1
            }
        }
    }

    /// Counts every member `m` set in `set` in group `target(m)` (nowhere when negative).
    func add(_ set: [UInt64], to target: (Int) -> Int32) {
        counts = nil
        guard var b = bits else {
            for w in set.indices where set[w] != 0 {
                var word = set[w]
                while word != 0 {
                    let m = w * 64 + word.trailingZeroBitCount
                    let t = target(m)
                    if t >= 0 { pairs.insert(Pair(group: t, value: Int64(m))) }
                    word &= word - 1
                }
            }
            return
        }
        bits = nil  // held locally while it changes, so it is not copied
        let words = self.words
        for w in set.indices where set[w] != 0 {
            var word = set[w]
            while word != 0 {
                let m = w * 64 + word.trailingZeroBitCount
                let t = Int(target(m))
                if t >= 0 {
                    let i = t * words + w, mask: UInt64 = 1 << UInt64(m & 63)
                    bitCounts[t] += b[i] & mask == 0 ? 1 : 0
                    b[i] |= mask
                }
                word &= word - 1
            }
        }
        bits = b
    }

    func bytes(groups: Int) -> Int {
        bits != nil ? groups * (words * 8 + 8) : groups * 8 + pairs.count * 24
    }

    /// Every (group, value) pair held, whichever way it is stored.
    private func allPairs() -> [Pair] {
        var out = Array(pairs)
        if let bits, words > 0 {
            for g in 0..<(bits.count / words) {
                for w in 0..<words where bits[g * words + w] != 0 {
                    let word = bits[g * words + w]
                    for b in 0..<64 where word & (1 << UInt64(b)) != 0 { out.append(Pair(group: Int32(g), value: Int64(w * 64 + b))) }
                }
            }
        }
        return out
    }

    /// ORs group `g`'s bitset of `from` into group `t` of this one.
    private func merge(_ from: [UInt64], _ g: Int, into t: Int) {
        let words = self.words
        var changed = false
        for w in 0..<words where from[g * words + w] != 0 {
            bits![t * words + w] |= from[g * words + w]  // safe: used only on the bitset path, where bits is non-nil; kernels run on non-empty buffers
            changed = true
        }
        if changed {
            var n = 0
            for w in 0..<words { n += bits![t * words + w].nonzeroBitCount }  // safe: used only on the bitset path, where bits is non-nil; kernels run on non-empty buffers
            bitCounts[t] = n
        }
    }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? DistinctAccumulator else { return }
        counts = nil
        if bits != nil, let theirs = o.bits {
            for g in 0..<o.bitCounts.count where o.bitCounts[g] > 0 { merge(theirs, g, into: Int(map[g])) }
            return
        }
        if bits != nil {
            // Theirs are pairs: hold everything as pairs from now on.
            pairs = Set(allPairs())
            bits = nil
            bitCounts = []
        }
        for p in o.allPairs() { pairs.insert(Pair(group: map[Int(p.group)], value: p.value)) }
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        let r = DistinctAccumulator(source: source, facts: facts, budget: budget)
        if bits == nil { r.bits = nil }  // pairs stay pairs
        r.resize(count)
        if let bits, r.bits != nil {
            for g in 0..<bitCounts.count where map[g] >= 0 && bitCounts[g] > 0 { r.merge(bits, g, into: Int(map[g])) }
            return r
        }
        for p in allPairs() where map[Int(p.group)] >= 0 { r.pairs.insert(Pair(group: map[Int(p.group)], value: p.value)) }
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value {
        if bits != nil { return .integer(g < bitCounts.count ? bitCounts[g] : 0) }
        if counts == nil {
            var c = [Int](repeating: 0, count: groupCount)
            for p in pairs { c[Int(p.group)] += 1 }
            counts = c
        }
        return .integer(counts?[g] ?? 0)
    }
}
