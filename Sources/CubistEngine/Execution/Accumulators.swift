import CubistStore

/// The fact rows of one slice that passed WHERE, with the group of each. The buffers belong
/// to the scan and are reused for the next slice.
struct Batch {
    /// The rows, ascending; empty when `range` gives them.
    let rows: UnsafeBufferPointer<Int32>
    /// `groups[i]` is the group of `rows[i]`.
    let groups: UnsafeBufferPointer<Int32>
    /// When the rows are exactly this contiguous range (no row was filtered out), so kernels
    /// can stream the columns instead of gathering.
    let range: Range<Int>?
    /// When every row is in group 0 (no grouping levels).
    let single: Bool

    var count: Int { range?.count ?? rows.count }

    /// The rows as an array, for the general (slower) paths.
    var rowArray: [Int32] { range.map { $0.map { Int32($0) } } ?? Array(rows) }
}

/// Per-group state of one aggregate, updated a batch of (row, group) pairs at a time and
/// reducible into a coarser grouping (roll-ups, totals, shares of a parent, crosstab margins).
protocol Accumulator: AnyObject {
    /// Makes room for `groups` groups.
    func resize(_ groups: Int)
    /// Adds a batch of rows.
    func update(_ batch: Batch) throws(RowOverflow)
    /// Called once when the scan that fills this accumulator ends, before any merge.
    func finish()
    /// Bytes the state of `groups` groups takes (an estimate, for `memory_limit`).
    func bytes(groups: Int) -> Int
    /// A new accumulator over `count` groups where group `g` of this one merges into
    /// `map[g]` (or nowhere when `map[g]` is negative).
    func reduced(map: [Int32], count: Int) -> Accumulator
    /// The result for group `g`.
    func value(_ g: Int, _ part: SlotPart) -> Value
    /// Adds another accumulator of the same kind (a worker's partial state): its group `g`
    /// goes into this one's group `map[g]` (this one already resized to hold them).
    func absorb(_ other: Accumulator, map: [Int32])
}

extension Accumulator {
    func finish() {}
}

extension CountAccumulator {
    func bytes(groups: Int) -> Int { groups * 8 }
}

extension ExactSumAccumulator {
    func bytes(groups: Int) -> Int { groups * 32 }
}

extension DoubleSumAccumulator {
    func bytes(groups: Int) -> Int { groups * 16 }
}

extension ExtremeAccumulator {
    func bytes(groups: Int) -> Int { groups * 17 }
}

extension MemberAccumulator {
    func bytes(groups: Int) -> Int { groups * 4 }
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
            let rows = batch.rows.baseAddress!
            for i in 0..<n { total &+= Int64(values[Int(rows[i])]) }
        }
        sums[0] &+= total
        counts[0] &+= Int64(n)
        return
    }
    let groups = batch.groups.baseAddress!
    if let range = batch.range {
        let start = values + range.lowerBound
        for i in 0..<n {
            let g = Int(groups[i])
            sums[g] &+= Int64(start[i])
            counts[g] &+= 1
        }
    } else {
        let rows = batch.rows.baseAddress!
        for i in 0..<n {
            let g = Int(groups[i])
            sums[g] &+= Int64(values[Int(rows[i])])
            counts[g] &+= 1
        }
    }
}

/// Creates the accumulator for an aggregate.
func makeAccumulator(_ kind: AggregateKind, cube: Cube, distinctBudget: Int) -> Accumulator {
    let facts = cube.facts
    switch kind {
    case .countRows: return CountAccumulator()
    case .sum(let e):
        if let s = e.scale(in: facts) { return ExactSumAccumulator(expr: e, scale: s, facts: facts) }
        return DoubleSumAccumulator(expr: e, facts: facts)
    case .min(let e): return ExtremeAccumulator(expr: e, facts: facts, isMax: false)
    case .max(let e): return ExtremeAccumulator(expr: e, facts: facts, isMax: true)
    case .distinctMembers(let level):
        return DistinctAccumulator(source: .member(facts.dimensionCodes[level.dimension], level.isLeaf(in: cube) ? nil : level.leafMap(in: cube),
                                                   memberCount: level.level(in: cube).count), facts: facts, budget: distinctBudget)
    case .distinctValues(let c): return DistinctAccumulator(source: .column(c), facts: facts, budget: distinctBudget)
    case .member(let level, let last):
        return MemberAccumulator(codes: facts.dimensionCodes[level.dimension], map: level.isLeaf(in: cube) ? nil : level.leafMap(in: cube),
                                 labels: level.level(in: cube).members, last: last)
    }
}

final class CountAccumulator: Accumulator {
    var counts: [Int64] = []

    func resize(_ groups: Int) { if counts.count < groups { counts += [Int64](repeating: 0, count: groups - counts.count) } }

    func update(_ batch: Batch) {
        if batch.single {
            counts[0] += Int64(batch.count)
            return
        }
        counts.withUnsafeMutableBufferPointer { c in
            let counts = c.baseAddress!
            for g in batch.groups { counts[Int(g)] &+= 1 }
        }
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
        if case .column(let c) = expr {
            let column = facts.numericColumns[c]
            if column.nulls == nil, column.packed.width != .eight,
               Int128(column.count) * Int128(column.packed.maximum) < Int128(Int64.max) {
                fast = column
            }
        }
    }

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
                    case .one(let b): addOffsets(b, batch, o.baseAddress!, n.baseAddress!)
                    case .two(let b): addOffsets(b, batch, o.baseAddress!, n.baseAddress!)
                    case .four(let b): addOffsets(b, batch, o.baseAddress!, n.baseAddress!)
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
        for g in o.sums.indices {
            sums[Int(map[g])] += o.sums[g]
            counts[Int(map[g])] += o.counts[g]
        }
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        let r = ExactSumAccumulator(expr: expr, scale: scale, facts: facts)
        r.resize(count)
        for g in sums.indices where map[g] >= 0 {
            r.sums[Int(map[g])] += sums[g]
            r.counts[Int(map[g])] += counts[g]
        }
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value {
        switch part {
        case .count: return .exact(Int128(counts[g]), scale: 0)
        case .average:
            return counts[g] == 0 ? .null : .double(Double(sums[g]) / Double(counts[g]) / Value.power(scale))
        case .sum, .value: return counts[g] == 0 ? .null : .exact(sums[g], scale: scale)
        }
    }
}

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
        for g in o.sums.indices {
            sums[Int(map[g])] += o.sums[g]
            counts[Int(map[g])] += o.counts[g]
        }
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        let r = DoubleSumAccumulator(expr: expr, facts: facts)
        r.resize(count)
        for g in sums.indices where map[g] >= 0 {
            r.sums[Int(map[g])] += sums[g]
            r.counts[Int(map[g])] += counts[g]
        }
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value {
        switch part {
        case .count: return .exact(Int128(counts[g]), scale: 0)
        case .average: return counts[g] == 0 ? .null : .double(sums[g] / Double(counts[g]))
        case .sum, .value: return counts[g] == 0 ? .null : .double(sums[g])
        }
    }
}

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
            bits! += [UInt64](repeating: 0, count: (groupCount - bitCounts.count) * words)
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
        let codes = column.baseAddress!, groups = batch.groups.baseAddress!
        let start = batch.range?.lowerBound ?? 0, rows = batch.range == nil ? batch.rows.baseAddress : nil
        @inline(__always) func row(_ i: Int) -> Int { rows.map { Int($0[i]) } ?? start + i }
        bits!.withUnsafeMutableBufferPointer { b in
            bitCounts.withUnsafeMutableBufferPointer { c in
                let bits = b.baseAddress!, counts = c.baseAddress!
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
            bits![t * words + w] |= from[g * words + w]
            changed = true
        }
        if changed {
            var n = 0
            for w in 0..<words { n += bits![t * words + w].nonzeroBitCount }
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
