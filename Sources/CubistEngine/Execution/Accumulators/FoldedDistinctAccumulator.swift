import CubistStore

/// Exact count of distinct members when some grouping levels follow from the member:
/// `customers BY customer.cohort ACROSS time.quarter` counts customers, and each customer
/// has one cohort. A customer's bit is then set in a bitset per combination of the other
/// levels only (a "slot": 16 quarters instead of 16 quarters × 17 cohorts), which keeps the
/// bitsets small enough for the processor's caches; at the end every set bit is counted in
/// the group of its slot and of the member's own codes of the determined levels.
///
/// Exact for the same reason the plain bitsets are: a member's bit in a slot stands for
/// the rows of that member there, and all of them are in one group. Beyond the bitset
/// budget the state moves to the (group, member) pairs of a plain `DistinctAccumulator`.
final class FoldedDistinctAccumulator: Accumulator {
    let source: DistinctAccumulator.Source
    let fold: DistinctFold
    let facts: FactTable
    let budget: Int
    private let words: Int
    /// The other levels' share of the group key, per slot, and the slot of each share.
    private var slotKeys: [UInt64] = []
    private var slotOf: [UInt64: Int32] = [:]
    /// Per group, its slot and its determined levels' codes as `fold.index` numbers them
    /// (-1 until the group's first row is seen).
    private var groupSlot: [Int32] = []
    private var groupFold: [Int32] = []
    /// Groups whose slot is not known yet.
    private var unassigned = 0
    /// A bitset per slot, `words` words each.
    private var bits: [UInt64] = []
    /// Members counted per group.
    private var groupCounts: [Int] = []
    /// The (group, member) pairs once the slots pass the budget.
    private var pairs: DistinctAccumulator?

    init(source: DistinctAccumulator.Source, fold: DistinctFold, facts: FactTable, budget: Int) {
        self.source = source
        self.fold = fold
        self.facts = facts
        self.budget = budget
        if case .member(_, _, let n) = source { words = (n + 63) / 64 } else { words = 0 }
    }

    func resize(_ groups: Int) {
        if let pairs { return pairs.resize(groups) }
        if groups > groupSlot.count {
            unassigned += groups - groupSlot.count
            groupCounts += [Int](repeating: 0, count: groups - groupSlot.count)
            groupFold += [Int32](repeating: -1, count: groups - groupSlot.count)
            groupSlot += [Int32](repeating: -1, count: groups - groupSlot.count)
        }
    }

    private func slot(_ key: UInt64) -> Int32 {
        if let s = slotOf[key] { return s }
        let s = Int32(slotKeys.count)
        slotKeys.append(key)
        slotOf[key] = s
        return s
    }

    /// Makes room for every slot's bitset; false (and pairs from here on) past the budget.
    private func growBits() -> Bool {
        if slotKeys.count * words * 8 > budget {
            movePairs()
            return false
        }
        if bits.count < slotKeys.count * words { bits += [UInt64](repeating: 0, count: slotKeys.count * words - bits.count) }
        return true
    }

    func update(_ batch: Batch) {
        if let pairs { return pairs.update(batch) }
        guard case .member(let column, let map, _) = source else { return }
        switch column.storage {
        case .one(let b): update(b, map, batch)
        case .two(let b): update(b, map, batch)
        case .four(let b): update(b, map, batch)
        case .eight(let b): update(b, map, batch)
        }
    }

    @inline(__always)
    private func update<T: FixedWidthInteger & UnsignedInteger>(_ column: UnsafeBufferPointer<T>, _ map: [Int32]?, _ batch: Batch) {
        let codes = column.baseAddress!, groups = batch.groups.baseAddress!  // safe: the scan hands over non-empty buffers
        let start = batch.range?.lowerBound ?? 0, rows = batch.range == nil ? batch.rows.baseAddress : nil
        @inline(__always) func member(_ i: Int) -> Int {
            let leaf = Int(codes[rows.map { Int($0[i]) } ?? start + i])
            return map.map { Int($0[leaf]) } ?? leaf
        }
        if unassigned > 0 {
            // New groups: find each one's slot from its key, less the member's share.
            // safe: the planner folds only distinct counts the scan feeds itself, with keys
            guard let composites = batch.composites else { preconditionFailure("a folded distinct count runs only at the top of a scan") }
            for i in 0..<batch.count where groupSlot[Int(groups[i])] < 0 {
                let g = Int(groups[i]), m = member(i)
                groupSlot[g] = slot(composites[i] &- fold.keyShare[m])
                groupFold[g] = fold.index[m]
                unassigned -= 1
            }
            if !growBits() { return pairs!.update(batch) }  // safe: growBits set it when it said no
        }
        let words = self.words
        groupSlot.withUnsafeBufferPointer { slots in
            groupCounts.withUnsafeMutableBufferPointer { c in
                bits.withUnsafeMutableBufferPointer { b in
                    let bits = b.baseAddress!, slots = slots.baseAddress!, counts = c.baseAddress!  // safe: a slot exists for every group seen, so none is empty
                    for i in 0..<batch.count {
                        let m = member(i), g = Int(groups[i])
                        let w = Int(slots[g]) * words + m >> 6, bit = UInt64(m & 63)
                        // Without a branch: whether the bit is new is close to a coin toss.
                        counts[g] &+= Int((~bits[w] >> bit) & 1)
                        bits[w] |= 1 << bit
                    }
                }
            }
        }
    }

    /// For each slot and determined codes (`slot * fold.space + code`), the group (-1: none).
    private func groupTable() -> [Int32] {
        var table = [Int32](repeating: -1, count: slotKeys.count * fold.space)
        for g in groupSlot.indices where groupSlot[g] >= 0 { table[Int(groupSlot[g]) * fold.space + Int(groupFold[g])] = Int32(g) }
        return table
    }

    /// Calls `body(member)` for every member set in `words` words of `set` from `offset`.
    @inline(__always)
    private func forEachMember(_ set: [UInt64], from offset: Int, _ body: (Int) -> Void) {
        for w in 0..<words {
            var word = set[offset + w]
            while word != 0 {
                body(w * 64 + word.trailingZeroBitCount)
                word &= word - 1
            }
        }
    }

    /// The state as plain (group, member) pairs.
    private func asPairs() -> DistinctAccumulator {
        let p = DistinctAccumulator(source: source, facts: facts, budget: 0)
        p.resize(groupSlot.count)
        let table = groupTable()
        // Slots made by the batch that passed the budget have no bitset yet.
        for s in 0..<(words > 0 ? bits.count / words : 0) {
            forEachMember(bits, from: s * words) { m in p.add(Int(table[s * fold.space + Int(fold.index[m])]), m) }
        }
        return p
    }

    /// From here on, plain (group, member) pairs.
    private func movePairs() {
        let p = asPairs()
        pairs = p
        bits = []
        slotKeys = []
        slotOf = [:]
    }

    func bytes(groups: Int) -> Int {
        pairs?.bytes(groups: groups) ?? (bits.count * 8 + groups * 16 + slotKeys.count * 24)
    }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? FoldedDistinctAccumulator else { return }
        if pairs == nil, o.pairs == nil {
            var mine = [Int32](repeating: 0, count: o.slotKeys.count)
            for (s, key) in o.slotKeys.enumerated() { mine[s] = slot(key) }
            for g in o.groupSlot.indices where o.groupSlot[g] >= 0 {
                let t = Int(map[g])
                if groupSlot[t] < 0 { unassigned -= 1 }
                groupSlot[t] = mine[Int(o.groupSlot[g])]
                groupFold[t] = o.groupFold[g]
            }
            if growBits() {
                // Only the members new to a slot are counted, each in its group.
                let table = groupTable()
                for s in o.slotKeys.indices {
                    let from = s * words, to = Int(mine[s]) * words, row = Int(mine[s]) * fold.space
                    for w in 0..<words {
                        var new = o.bits[from + w] & ~bits[to + w]
                        bits[to + w] |= new
                        while new != 0 {
                            let m = w * 64 + new.trailingZeroBitCount
                            groupCounts[Int(table[row + Int(fold.index[m])])] += 1
                            new &= new - 1
                        }
                    }
                }
                return
            }
        }
        if pairs == nil { movePairs() }
        pairs!.absorb(o.pairs ?? o.asPairs(), map: map)  // safe: set just above
    }

    /// A coarser grouping. Slots whose groups go to the same targets (a cohort's row total
    /// gathers that cohort from every quarter) are merged word by word first, so each
    /// member bit is looked at once per class of slots, not once per slot; a class whose
    /// members all go to one group is added word by word.
    func reduced(map: [Int32], count: Int) -> Accumulator {
        if let pairs { return pairs.reduced(map: map, count: count) }
        let r = DistinctAccumulator(source: source, facts: facts, budget: budget)
        r.resize(count)
        let space = fold.space
        // Per slot and determined codes: the target group, -1 for a group left out, -2 where
        // the slot has no such group (no member bit can ask for it).
        let none: Int32 = -2
        var targets = [Int32](repeating: none, count: slotKeys.count * space)
        for g in groupSlot.indices where groupSlot[g] >= 0 { targets[Int(groupSlot[g]) * space + Int(groupFold[g])] = map[g] }
        var classes: [(targets: [Int32], set: [UInt64])] = []
        for s in slotKeys.indices {
            let mine = targets[(s * space)..<((s + 1) * space)]
            let set = bits[(s * words)..<((s + 1) * words)]
            let fits = classes.count <= 64 ? classes.firstIndex { c in
                zip(c.targets, mine).allSatisfy { a, b in a == none || b == none || a == b }
            } : nil
            guard let k = fits else {
                classes.append((Array(mine), Array(set)))
                continue
            }
            for (d, t) in mine.enumerated() where t != none { classes[k].targets[d] = t }
            for (w, word) in set.enumerated() where word != 0 { classes[k].set[w] |= word }
        }
        for c in classes {
            let used = Set(c.targets.filter { $0 != none })
            if used.count == 1, let t = used.first {
                if t >= 0 { r.add(c.set, into: Int(t)) }
                continue
            }
            r.add(c.set) { m in c.targets[Int(fold.index[m])] }
        }
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value {
        if let pairs { return pairs.value(g, part) }
        return .integer(g < groupCounts.count ? groupCounts[g] : 0)
    }
}
