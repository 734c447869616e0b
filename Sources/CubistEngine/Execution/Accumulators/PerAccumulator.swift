import CubistStore
import CubistSyntax

/// A per-member aggregate (`median(revenue PER customer.customer)`): for every group, the
/// inner measure of every member of the level that has rows in it, combined by the slot
/// part (sum, average, median, ...).
///
/// The state is a small grouping of its own: one inner group per (group, member) pair seen,
/// with the inner measure's accumulators over the inner groups. A pair is found through a
/// dense array (`group × members + member`) while it fits the plan's budget, then a hash
/// map. Reductions and merges re-key the pairs and reduce the inner accumulators, so
/// subtotals, totals, crosstab margins and shares of a per-member aggregate are exact.
final class PerAccumulator: Accumulator {
    let spec: PerSpec
    let cube: Cube
    /// Most entries of the dense pair index before it gives way to a hash map.
    let denseBudget: Int
    let memberCount: Int
    private let codes: PackedColumn
    /// Leaf member → the level's member (nil when the level is the leaf).
    private let leafMap: [Int32]?
    /// Per inner group: its group and its member.
    private(set) var outer: [Int32] = []
    private(set) var member: [Int32] = []
    /// The inner measure's accumulators, over the inner groups.
    var inner: [Accumulator]
    private var dense: [Int32] = []
    private var hashed: [UInt64: Int32]?
    private var groups = 0
    /// Per group, its inner groups (built on the first `value` call, after all merging).
    private var members: (start: [Int], list: [Int32])?
    private var innerValues: [Value]?
    /// The inner values as integers at one scale, when they all are exact at that scale.
    private var exactValues: (mantissas: [Int128], scale: Int)?

    init(spec: PerSpec, cube: Cube, distinctBudget: Int, denseBudget: Int) {
        self.spec = spec
        self.cube = cube
        self.denseBudget = denseBudget
        memberCount = max(1, spec.level.level(in: cube).count)
        codes = cube.facts.dimensionCodes[spec.level.dimension]
        leafMap = spec.level.isLeaf(in: cube) ? nil : spec.level.leafMap(in: cube)
        inner = spec.aggregates.map { makeAccumulator($0, cube: cube, distinctBudget: distinctBudget, perBudget: denseBudget) }
    }

    private func empty() -> PerAccumulator {
        let r = PerAccumulator(spec: spec, cube: cube, distinctBudget: 0, denseBudget: denseBudget)
        r.inner = []
        return r
    }

    var pairs: Int { outer.count }

    func resize(_ groups: Int) {
        guard groups > self.groups else { return }
        self.groups = groups
        guard hashed == nil else { return }
        if groups * memberCount > denseBudget {
            // Too many pairs for a dense index: move the pairs seen to a hash map.
            var map = [UInt64: Int32](minimumCapacity: outer.count * 2)
            for i in outer.indices { map[PerAccumulator.key(outer[i], member[i])] = Int32(i) }
            hashed = map
            dense = []
        } else {
            dense += [Int32](repeating: -1, count: groups * memberCount - dense.count)
        }
    }

    @inline(__always)
    private static func key(_ group: Int32, _ member: Int32) -> UInt64 { UInt64(UInt32(bitPattern: group)) << 32 | UInt64(UInt32(bitPattern: member)) }

    /// The inner group of (group, member), added when new.
    @inline(__always)
    private func pair(_ group: Int32, _ m: Int32) -> Int32 {
        if hashed == nil {
            let k = Int(group) * memberCount + Int(m)
            let found = dense[k]
            if found >= 0 { return found }
            let p = Int32(outer.count)
            outer.append(group)
            member.append(m)
            dense[k] = p
            return p
        }
        let k = PerAccumulator.key(group, m)
        if let found = hashed?[k] { return found }
        let p = Int32(outer.count)
        outer.append(group)
        member.append(m)
        hashed?[k] = p
        return p
    }

    func update(_ batch: Batch) throws(RowOverflow) {
        let n = batch.count
        guard n > 0 else { return }
        var innerGroups = [Int32](repeating: 0, count: n)
        innerGroups.withUnsafeMutableBufferPointer { out in
            // Each row's member of the level, then its (group, member) pair.
            switch codes.storage {
            case .one(let b): PerAccumulator.members(b, batch, leafMap, out)
            case .two(let b): PerAccumulator.members(b, batch, leafMap, out)
            case .four(let b): PerAccumulator.members(b, batch, leafMap, out)
            case .eight(let b): PerAccumulator.members(b, batch, leafMap, out)
            }
            pairs(batch, out)
        }
        let count = outer.count
        try innerGroups.withUnsafeBufferPointer { (g: UnsafeBufferPointer<Int32>) throws(RowOverflow) in
            let innerBatch = Batch(rows: batch.rows, groups: g, range: batch.range, single: false, slice: batch.slice)
            for a in inner {
                a.resize(count)
                try a.update(innerBatch)
            }
        }
    }

    /// `out[i]` = the member of the batch's row i.
    private static func members<T: FixedWidthInteger & UnsignedInteger>(_ codes: UnsafeBufferPointer<T>, _ batch: Batch, _ leafMap: [Int32]?,
                                                                        _ out: UnsafeMutableBufferPointer<Int32>) {
        let c = codes.baseAddress!  // safe: a fact table with rows has a non-empty code column
        if let range = batch.range {
            let start = range.lowerBound
            for i in 0..<range.count { out[i] = Int32(truncatingIfNeeded: c[start + i]) }
        } else {
            for (i, r) in batch.rows.enumerated() { out[i] = Int32(truncatingIfNeeded: c[Int(r)]) }
        }
        if let leafMap {
            leafMap.withUnsafeBufferPointer { m in
                for i in 0..<batch.count { out[i] = m[Int(out[i])] }
            }
        }
    }

    /// Turns each row's member in `out` into its inner group, adding pairs not seen yet. The
    /// arrays are taken out of the object for the loop, so no access is checked per row.
    private func pairs(_ batch: Batch, _ out: UnsafeMutableBufferPointer<Int32>) {
        var o = outer, m = member
        outer = []
        member = []
        defer {
            outer = o
            member = m
        }
        let n = batch.count
        if var map = hashed {
            hashed = nil
            for i in 0..<n {
                let g = batch.single ? 0 : batch.groups[i]
                let k = PerAccumulator.key(g, out[i])
                if let p = map[k] {
                    out[i] = p
                } else {
                    let p = Int32(o.count)
                    o.append(g)
                    m.append(out[i])
                    map[k] = p
                    out[i] = p
                }
            }
            hashed = map
            return
        }
        var d = dense
        dense = []
        let members = memberCount
        d.withUnsafeMutableBufferPointer { index in
            for i in 0..<n {
                let g = batch.single ? 0 : batch.groups[i]
                let k = Int(g) * members + Int(out[i])
                let p = index[k]
                if p >= 0 {
                    out[i] = p
                } else {
                    let q = Int32(o.count)
                    o.append(g)
                    m.append(out[i])
                    index[k] = q
                    out[i] = q
                }
            }
        }
        dense = d
    }

    func finish() {
        for a in inner {
            a.resize(outer.count)
            a.finish()
        }
    }

    func bytes(groups: Int) -> Int {
        dense.count * 4 + outer.count * (8 + (hashed == nil ? 0 : 24)) + inner.reduce(0) { $0 + $1.bytes(groups: outer.count) }
    }

    /// Maps each of `other`'s pairs into this accumulator (its group through `map`).
    private func rekey(_ other: PerAccumulator, map: [Int32]) -> [Int32] {
        var innerMap = [Int32](repeating: -1, count: other.outer.count)
        for i in other.outer.indices {
            let g = map[Int(other.outer[i])]
            if g >= 0 { innerMap[i] = pair(g, other.member[i]) }
        }
        return innerMap
    }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? PerAccumulator else { return }
        let innerMap = rekey(o, map: map)
        for (a, b) in zip(inner, o.inner) {
            a.resize(outer.count)
            a.absorb(b, map: innerMap)
        }
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        let r = empty()
        r.resize(count)
        let innerMap = r.rekey(self, map: map)
        r.inner = inner.map { $0.reduced(map: innerMap, count: r.outer.count) }
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value {
        if members == nil {
            // Counting sort of the pairs by group.
            var start = [Int](repeating: 0, count: groups + 1)
            for o in outer { start[Int(o) + 1] += 1 }
            for i in 0..<groups { start[i + 1] += start[i] }
            var next = start
            var list = [Int32](repeating: 0, count: outer.count)
            for (i, o) in outer.enumerated() {
                list[next[Int(o)]] = Int32(i)
                next[Int(o)] += 1
            }
            members = (start, list)
            let table = GroupTable(count: outer.count, accumulators: inner)
            let eval = MeasureEvaluator(table: table, total: TotalGroup(table: table), cube: cube, values: spec.values)
            var column = eval.column(spec.values[spec.result])
            if let condition = spec.condition {
                let pass = eval.passing(condition)
                for i in column.indices where !pass[i] { column[i] = .null }
            }
            innerValues = column
            // When every value is exact at one scale (the usual case), the statistics run on
            // the integers themselves.
            var scale: Int?
            var mantissas = [Int128](repeating: 0, count: column.count)
            var uniform = true
            for (i, v) in column.enumerated() {
                switch v {
                case .null: continue
                case .exact(let m, let s) where scale == nil || scale == s:
                    scale = s
                    mantissas[i] = m
                default: uniform = false
                }
                if !uniform { break }
            }
            if uniform, let scale { exactValues = (mantissas, scale) }
        }
        guard let (start, list) = members, let values = innerValues, g + 1 < start.count else { return Statistics.combine([], part) }
        let pairs = list[start[g]..<start[g + 1]]
        if let (mantissas, scale) = exactValues, let v = exactStatistic(pairs.compactMap { values[Int($0)].isNull ? nil : mantissas[Int($0)] }, scale, part) {
            return v
        }
        return Statistics.combine(pairs.map { values[Int($0)] }, part)
    }

    /// A statistic of exact values `mantissa / 10^scale`; nil when a sum would overflow (the
    /// general path then answers).
    private func exactStatistic(_ xs: [Int128], _ scale: Int, _ part: SlotPart) -> Value? {
        switch part {
        case .count: return .integer(xs.count)
        case .sum, .value, .average:
            guard !xs.isEmpty else { return .null }
            var total: Int128 = 0
            for x in xs {
                let (t, o) = total.addingReportingOverflow(x)
                if o { return nil }
                total = t
            }
            if part == .average { return .double(Value.average(total, count: xs.count, scale: scale)) }
            return .exact(total, scale: scale)
        case .minimum: return xs.min().map { .exact($0, scale: scale) } ?? .null
        case .maximum: return xs.max().map { .exact($0, scale: scale) } ?? .null
        case .quantile(let fraction, let q):
            return Statistics.trimmed(Statistics.quantile(of: xs, fraction: fraction, scale: q) { .exact($0, scale: scale) }, floor: scale)
        case .stddev:
            if let v = Statistics.stddev(exact: xs, scale: scale) { return v }
            let one = Value.power(scale)
            return Statistics.stddev(xs.map { Double($0) / one })
        }
    }
}
