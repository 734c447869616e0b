import CubistStore
import CubistSyntax

/// Exact count of distinct values of a numeric fact column whose values come in runs: each
/// value's rows are contiguous (the column never decreases, as the order numbers of facts
/// written order by order do). `count(distinct order_id)` then costs about what `count(*)`
/// does: the group of a run's first row counts the value (without a branch: run starts are
/// as random as order sizes); a row of the same run in the same group costs two comparisons;
/// a row of the run in another group counts it when that group's last counted value is not
/// this one. Without grouping, the value changes are counted in a register.
///
/// That is exact because a worker visits its rows in ascending order and a value's rows
/// are contiguous, so a run's value is new to the worker, and a group's last counted value
/// is v exactly when it has counted v. Two things need more than the counts:
/// - A value whose run crosses a slice edge may be counted by two workers: those pairs
///   (group, value) are kept in `edges`, and merging workers counts each once.
/// - Merging groups (totals, roll-ups, margins) must count a value once per merged group:
///   the pairs of values that fall in more than one group are kept (`splitGroups`,
///   `splitValues`), run by run, so a reduction finds the values two of its groups share in
///   one pass. BASKET per order reads its multi-member orders from them (`shared()`).
final class RunDistinctAccumulator: Accumulator {
    struct Pair: Hashable {
        var group: Int32
        var value: UInt64
    }

    let column: NumericColumn
    let rowCount: Int
    var counts: [Int64] = []
    /// Per group, the last value it counted outside the first group of that value's run
    /// (valid when its count is positive).
    var last: [UInt64] = []
    /// The current run: its value, first group, whether it has been seen in another group,
    /// and whether it crosses a slice edge.
    private var runValue: UInt64 = 0
    private var runStarted = false
    private var runGroup: Int32 = 0
    private var runSplit = false
    private var runEdge = false
    /// Pairs of values that fall in more than one group, consecutive per value.
    var splitGroups: [Int32] = []
    var splitValues: [UInt64] = []
    /// Pairs of values whose run crosses a slice edge.
    var edges = Set<Pair>()

    init(column: NumericColumn, rowCount: Int) {
        self.column = column
        self.rowCount = rowCount
    }

    func resize(_ groups: Int) {
        if counts.count < groups {
            counts += [Int64](repeating: 0, count: groups - counts.count)
            last += [UInt64](repeating: 0, count: groups - last.count)
        }
    }

    func update(_ batch: Batch) {
        switch column.packed.storage {
        case .one(let b): update(b, batch)
        case .two(let b): update(b, batch)
        case .four(let b): update(b, batch)
        case .eight(let b): update(b, batch)
        }
    }

    private func update<T: FixedWidthInteger & UnsignedInteger>(_ values: UnsafeBufferPointer<T>, _ batch: Batch) {
        // The values of the runs that continue past this slice's first and last rows.
        let slice = batch.slice
        let lowEdge: UInt64? = slice.lowerBound > 0 && values[slice.lowerBound - 1] == values[slice.lowerBound] ? UInt64(values[slice.lowerBound]) : nil
        let highEdge: UInt64? = slice.upperBound < rowCount && values[slice.upperBound] == values[slice.upperBound - 1] ? UInt64(values[slice.upperBound - 1]) : nil
        // The run's state lives in locals while the batch is read (no property access per row).
        var runValue = self.runValue, runStarted = self.runStarted, runGroup = self.runGroup
        var runSplit = self.runSplit, runEdge = self.runEdge
        var splitGroups: [Int32] = [], splitValues: [UInt64] = []
        var edges: [Pair] = []
        counts.withUnsafeMutableBufferPointer { c in
            last.withUnsafeMutableBufferPointer { l in
                let counts = c.baseAddress!, last = l.baseAddress!  // safe: resized to the groups before every batch
                let groups = batch.groups.baseAddress!  // safe: a batch has at least one row
                let rows = batch.range == nil ? batch.rows.baseAddress : nil
                let start = batch.range?.lowerBound ?? 0, single = batch.single
                @inline(__always) func value(_ i: Int) -> UInt64 { UInt64(values[rows.map { Int($0[i]) } ?? start + i]) }
                // The worker's first row starts a run: a "previous value" unlike it.
                if !runStarted {
                    runValue = ~value(0)
                    runStarted = true
                }
                // Branch-free where rows are cheap: a new run adds one to its group, a row of
                // the run in the run's first group adds nothing (run starts are as random as
                // the order sizes, so a branch on them would be mispredicted half the time).
                let low = lowEdge ?? 0, high = highEdge ?? 0, hasLow = lowEdge != nil, hasHigh = highEdge != nil
                if single {
                    // One group: count the value changes in a register. The values never go
                    // down, so a run at a slice edge can only be the batch's first or last.
                    let before = runValue, first = value(0), lastValue = value(batch.count - 1)
                    var changes: Int64 = 0
                    if let range = batch.range {
                        // Contiguous rows: each row against the one before it, vectorised.
                        changes = first != before ? 1 : 0
                        // x | -x has its top bit set exactly when x is not 0: no branch.
                        let shift = T.bitWidth - 1
                        for r in (range.lowerBound + 1)..<range.upperBound {
                            let x = values[r] ^ values[r &- 1]
                            changes &+= Int64(truncatingIfNeeded: (x | (0 &- x)) >> shift)
                        }
                    } else {
                        var previous = before
                        for i in 0..<batch.count {
                            let v = value(i)
                            changes &+= v != previous ? 1 : 0
                            previous = v
                        }
                    }
                    counts[0] &+= changes
                    for v in first == lastValue ? [first] : [first, lastValue] where v != before && ((hasLow && v == low) || (hasHigh && v == high)) {
                        edges.append(Pair(group: 0, value: v))
                    }
                    runValue = lastValue
                    runGroup = 0
                    runEdge = (hasLow && lastValue == low) || (hasHigh && lastValue == high)
                    return
                }
                for i in 0..<batch.count {
                    let v = value(i)
                    let g = single ? 0 : groups[i]
                    let new = v != runValue
                    counts[Int(g)] &+= new ? 1 : 0
                    runValue = v
                    runGroup = new ? g : runGroup
                    runSplit = new ? false : runSplit
                    let edge = (hasLow && v == low) || (hasHigh && v == high)
                    runEdge = new ? edge : runEdge
                    if new && edge { edges.append(Pair(group: g, value: v)) }
                    // A new run's group is the run's group, so only a later row gets past here.
                    if g == runGroup { continue }
                    // The same run in another group: counted once (that group's last value tells).
                    if counts[Int(g)] != 0 && last[Int(g)] == v { continue }
                    counts[Int(g)] += 1
                    last[Int(g)] = v
                    if runEdge {
                        edges.append(Pair(group: g, value: v))
                    } else {
                        if !runSplit {
                            splitGroups.append(runGroup)
                            splitValues.append(v)
                            runSplit = true
                        }
                        splitGroups.append(g)
                        splitValues.append(v)
                    }
                }
            }
        }
        self.runValue = runValue
        self.runStarted = runStarted
        self.runGroup = runGroup
        self.runSplit = runSplit
        self.runEdge = runEdge
        if !splitGroups.isEmpty {
            self.splitGroups += splitGroups
            self.splitValues += splitValues
        }
        for p in edges { self.edges.insert(p) }
    }

    func bytes(groups: Int) -> Int { groups * 16 + splitGroups.count * 12 + edges.count * 32 }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? RunDistinctAccumulator else { return }
        for g in o.counts.indices { counts[Int(map[g])] += o.counts[g] }
        for (g, v) in zip(o.splitGroups, o.splitValues) {
            splitGroups.append(map[Int(g)])
            splitValues.append(v)
        }
        // A value both workers saw crosses a slice edge in both: counted once.
        for p in o.edges {
            let q = Pair(group: map[Int(p.group)], value: p.value)
            if !edges.insert(q).inserted { counts[Int(q.group)] -= 1 }
        }
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        let r = RunDistinctAccumulator(column: column, rowCount: rowCount)
        r.resize(count)
        for g in counts.indices where map[g] >= 0 { r.counts[Int(map[g])] += counts[g] }
        // A value in several groups that now merge is counted once: walk each value's pairs.
        var value: UInt64 = 0
        var targets: [Int32] = []
        for (g, v) in zip(splitGroups, splitValues) {
            let t = map[Int(g)]
            if t < 0 { continue }
            if v != value || targets.isEmpty {
                value = v
                targets.removeAll(keepingCapacity: true)
            }
            if targets.contains(t) {
                r.counts[Int(t)] -= 1
            } else {
                targets.append(t)
                r.splitGroups.append(t)
                r.splitValues.append(v)
            }
        }
        for p in edges where map[Int(p.group)] >= 0 {
            let q = Pair(group: map[Int(p.group)], value: p.value)
            if !r.edges.insert(q).inserted { r.counts[Int(q.group)] -= 1 }
        }
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value { .integer(g < counts.count ? Int(counts[g]) : 0) }
}

extension RunDistinctAccumulator {
    /// Each group's count, and the (group, value) pairs of every value counted in more than
    /// one group, the pairs of one value next to each other (BASKET's orders that hold
    /// several members).
    func shared() -> (counts: [Int], groups: [Int32], values: [UInt64]) {
        var groups = splitGroups, values = splitValues
        sharedRuns(of: Array(edges), into: &groups, &values)
        return (counts.map { Int($0) }, groups, values)
    }
}

extension DistinctAccumulator {
    /// As `RunDistinctAccumulator.shared`, for values held as (group, value) pairs.
    func shared() -> (counts: [Int], groups: [Int32], values: [UInt64]) {
        var counts = [Int](repeating: 0, count: groupCount)
        for p in pairs { counts[Int(p.group)] += 1 }
        var groups: [Int32] = [], values: [UInt64] = []
        sharedRuns(of: pairs.map { RunDistinctAccumulator.Pair(group: $0.group, value: UInt64(bitPattern: $0.value)) }, into: &groups, &values)
        return (counts, groups, values)
    }
}

/// Appends the (group, value) pairs of every value that occurs in more than one of `pairs`,
/// sorted so that the pairs of one value are next to each other.
private func sharedRuns(of pairs: [RunDistinctAccumulator.Pair], into groups: inout [Int32], _ values: inout [UInt64]) {
    let sorted = pairs.sorted { $0.value != $1.value ? $0.value < $1.value : $0.group < $1.group }
    var i = 0
    while i < sorted.count {
        var j = i + 1
        while j < sorted.count && sorted[j].value == sorted[i].value { j += 1 }
        if j - i > 1 {
            for p in sorted[i..<j] {
                groups.append(p.group)
                values.append(p.value)
            }
        }
        i = j
    }
}
