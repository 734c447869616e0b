import CubistStore

/// Groups of one grouping: the key codes of each group (one per grouping level) and the
/// aggregate states. Built by the scan at the finest grouping; coarser groupings (subtotals,
/// totals, crosstab margins, parents for `share`) are reductions of it.
final class GroupTable {
    /// The grouping levels.
    let levels: [LevelRef]
    /// Key codes, `levels.count` per group.
    private(set) var keys: [Int32] = []
    /// Number of groups.
    private(set) var count = 0
    /// One accumulator per aggregate of the plan.
    var accumulators: [Accumulator]
    private var lookup: [[Int32]: Int]?

    init(levels: [LevelRef], accumulators: [Accumulator]) {
        self.levels = levels
        self.accumulators = accumulators
    }

    /// The key codes of group `g`.
    func key(_ g: Int) -> [Int32] {
        let k = levels.count
        return Array(keys[(g * k)..<(g * k + k)])
    }

    /// Code of grouping level `j` for group `g`.
    func code(_ g: Int, _ j: Int) -> Int32 { keys[g * levels.count + j] }

    /// Adds a group with the given key; returns its index.
    @discardableResult
    func append(_ key: [Int32]) -> Int {
        keys += key
        count += 1
        lookup?[key] = count - 1
        return count - 1
    }

    /// The group with this key, if any.
    func group(_ key: [Int32]) -> Int? {
        if lookup == nil {
            var l: [[Int32]: Int] = [:]
            l.reserveCapacity(count)
            for g in 0..<count { l[self.key(g)] = g }
            lookup = l
        }
        return lookup?[key]
    }

    /// A coarser grouping: keeps the grouping levels at `positions` (each possibly mapped to
    /// an ancestor level by `lift`), merging the groups `include` accepts.
    func reduced(positions: [Int], levels newLevels: [LevelRef]? = nil, lift: ((Int, Int32) -> Int32)? = nil,
                 include: ((Int) -> Bool)? = nil) -> (table: GroupTable, map: [Int32]) {
        let out = GroupTable(levels: newLevels ?? positions.map { levels[$0] }, accumulators: [])
        var map = [Int32](repeating: -1, count: count)
        var index: [[Int32]: Int32] = [:]
        for g in 0..<count where include?(g) ?? true {
            let key = positions.map { j in lift.map { $0(j, code(g, j)) } ?? code(g, j) }
            if let t = index[key] {
                map[g] = t
            } else {
                let t = Int32(out.append(key))
                index[key] = t
                map[g] = t
            }
        }
        if positions.isEmpty, out.count == 0 { out.append([]) }
        out.accumulators = accumulators.map { $0.reduced(map: map, count: out.count) }
        return (out, map)
    }
}

/// Scans the fact table: filters each chunk, computes each row's group from its leaf codes
/// through the levels' roll-up maps, and feeds the accumulators a batch at a time.
struct Scan {
    let cube: Cube
    let plan: QueryPlan

    /// Largest key space grouped through a dense array ("perfect hash"); beyond it, a hash map.
    static let denseLimit = 1 << 22

    func run() throws(QueryError) -> GroupTable {
        let facts = cube.facts
        let table = GroupTable(levels: plan.levels, accumulators: plan.aggregates.map { makeAccumulator($0, cube: cube, distinctBudget: plan.distinctBudget) })
        if plan.levels.isEmpty { table.append([]) }
        var radix: [UInt64] = []
        var space: UInt64 = 1
        for level in plan.levels {
            radix.append(space)
            let (s, o) = space.multipliedReportingOverflow(by: UInt64(max(1, level.level(in: cube).count)))
            if o { throw QueryError("too many grouping levels at once: the key space exceeds 2^64", at: plan.rangeForErrors) }
            space = s
        }
        let maps: [[Int32]?] = plan.levels.map { $0.isLeaf(in: cube) ? nil : $0.leafMap(in: cube) }
        var dense: [Int32] = space <= UInt64(Scan.denseLimit) ? [Int32](repeating: -1, count: Int(space)) : []
        var hashed: [UInt64: Int32] = [:]
        let prefix = plan.filter.map(FilterEvaluator.prefixCounts) ?? [:]
        let filter = FilterEvaluator(facts: facts)
        var codes: [Int32] = []
        var composite: [UInt64] = []
        var groups: [Int32] = []
        for chunk in 0..<facts.chunkCount {
            plan.progress?(Double(chunk) / Double(facts.chunkCount))
            if plan.cancellation?.isCancelled == true {
                throw QueryError("query cancelled", at: plan.rangeForErrors, help: "nothing was changed; run it again when you are ready")
            }
            if let f = plan.filter, !FilterEvaluator.mayPass(f, chunk: chunk, facts: facts, prefix: prefix) { continue }
            let start = chunk * PackedColumn.chunkSize
            let end = min(facts.rowCount, start + PackedColumn.chunkSize)
            var rows = (start..<end).map { Int32($0) }
            do {
                if let f = plan.filter {
                    let keep = try filter.keep(f, rows)
                    rows = rows.indices.compactMap { keep[$0] ? rows[$0] : nil }
                    if rows.isEmpty { continue }
                }
                composite = [UInt64](repeating: 0, count: rows.count)
                for (j, level) in plan.levels.enumerated() {
                    Gather.codes(facts.dimensionCodes[level.dimension], rows, into: &codes)
                    let r = radix[j]
                    if let map = maps[j] {
                        for i in rows.indices { composite[i] &+= UInt64(map[Int(codes[i])]) &* r }
                    } else {
                        for i in rows.indices { composite[i] &+= UInt64(codes[i]) &* r }
                    }
                }
                groups.removeAll(keepingCapacity: true)
                for c in composite {
                    if plan.levels.isEmpty {
                        groups.append(0)
                    } else if !dense.isEmpty {
                        var g = dense[Int(c)]
                        if g < 0 {
                            g = Int32(table.append(decode(c, radix)))
                            dense[Int(c)] = g
                        }
                        groups.append(g)
                    } else if let g = hashed[c] {
                        groups.append(g)
                    } else {
                        let g = Int32(table.append(decode(c, radix)))
                        hashed[c] = g
                        groups.append(g)
                    }
                }
                for a in table.accumulators {
                    a.resize(table.count)
                    try a.update(rows: rows, groups: groups)
                }
            } catch {
                throw QueryError("arithmetic overflow in a row expression (values beyond 64-bit exact range)", at: plan.rangeForErrors,
                                 help: "divide by a constant to get an approximate (floating-point) result")
            }
        }
        for a in table.accumulators { a.resize(table.count) }
        return table
    }

    private func decode(_ c: UInt64, _ radix: [UInt64]) -> [Int32] {
        var key = [Int32](repeating: 0, count: radix.count)
        var rest = c
        for j in stride(from: radix.count - 1, through: 0, by: -1) {
            key[j] = Int32(rest / radix[j])
            rest %= radix[j]
        }
        return key
    }
}
