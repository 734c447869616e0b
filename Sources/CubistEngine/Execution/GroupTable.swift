import CubistCore
import CubistStore
import Dispatch

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
    /// For tables built by a scan: each group's mixed-radix key, for a fast merge.
    var composites: [UInt64]?
    /// For tables built by a dense scan: the group of each mixed-radix key (-1: none), so
    /// a merge matches groups by array lookups.
    var denseIndex: [Int32]?

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

    /// Adds a group whose key is the mixed-radix number `c` (digits `radix`, most
    /// significant last); returns its index. No array is made for the key.
    func append(composite c: UInt64, radix: [UInt64]) -> Int {
        let k = radix.count
        keys.append(contentsOf: repeatElement(0, count: k))
        var rest = c
        for j in stride(from: k - 1, through: 0, by: -1) {
            keys[count * k + j] = Int32(rest / radix[j])
            rest %= radix[j]
        }
        count += 1
        if lookup != nil { lookup?[key(count - 1)] = count - 1 }
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

    /// Merges another table of the same grouping (a worker's partial result) into this one.
    func absorb(_ other: GroupTable) {
        var map = [Int32](repeating: -1, count: other.count)
        if composites != nil, let theirs = other.composites, denseIndex != nil {
            // Both came from dense scans: match groups through the key-indexed array
            // (taken out of the properties while growing, so it is not copied).
            var mine = composites!, index = denseIndex!
            composites = nil
            denseIndex = nil
            for g in 0..<other.count {
                let c = Int(theirs[g])
                var t = index[c]
                if t < 0 {
                    t = Int32(append(other.key(g)))
                    index[c] = t
                    mine.append(theirs[g])
                }
                map[g] = t
            }
            composites = mine
            denseIndex = index
        } else if var mine = composites, let theirs = other.composites {
            // Both came from scans: match groups by their 64-bit keys, no arrays hashed.
            var index = [UInt64: Int32](minimumCapacity: mine.count + theirs.count)
            for (g, c) in mine.enumerated() { index[c] = Int32(g) }
            for g in 0..<other.count {
                if let t = index[theirs[g]] {
                    map[g] = t
                } else {
                    let t = Int32(append(other.key(g)))
                    index[theirs[g]] = t
                    mine.append(theirs[g])
                    map[g] = t
                }
            }
            composites = mine
        } else {
            composites = nil
            denseIndex = nil
            for g in 0..<other.count {
                let key = other.key(g)
                map[g] = Int32(group(key) ?? append(key))
            }
        }
        for (a, b) in zip(accumulators, other.accumulators) {
            a.resize(count)
            a.absorb(b, map: map)
        }
    }

    /// A coarser grouping: keeps the grouping levels at `positions` (each possibly mapped to
    /// an ancestor level by `lift`), merging the groups `include` accepts.
    func reduced(positions: [Int], levels newLevels: [LevelRef]? = nil, lift: ((Int, Int32) -> Int32)? = nil,
                 include: ((Int) -> Bool)? = nil) -> (table: GroupTable, map: [Int32]) {
        let out = GroupTable(levels: newLevels ?? positions.map { levels[$0] }, accumulators: [])
        var map = [Int32](repeating: -1, count: count)
        if positions.isEmpty {
            // The grand total: every included group goes to the one group.
            out.append([])
            for g in 0..<count where include?(g) ?? true { map[g] = 0 }
            out.accumulators = accumulators.map { $0.reduced(map: map, count: 1) }
            return (out, map)
        }
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

/// Thrown inside the scan loop when the group tables pass `memory_limit`.
private struct TooBig: Error {
    let bytes: Int
}

/// Scans the fact table: filters each slice of rows, computes each row's group from its leaf
/// codes through the levels' roll-up maps, and feeds the accumulators a batch at a time.
///
/// With several threads, each scans every `threads`-th slice into its own group table (its
/// own dense array or hash map and accumulators); the tables are then merged by key. Group
/// numbers differ between runs, but nothing downstream depends on them: every order falls
/// back to the natural member order.
struct Scan {
    let cube: Cube
    let plan: QueryPlan

    /// What a scan did, for EXPLAIN.
    struct Stats {
        var chunks = 0
        var chunksSkipped = 0
        var slices = 0
        var workers = 1
        var rowsMatched = 0
        var keySpace: UInt64 = 1
    }

    /// One grouped dimension's contribution to the group key: for each of its leaf members,
    /// the sum over the grouped levels of that dimension of the level's code times its radix.
    struct KeyPart {
        let dimension: Int
        let table: [UInt64]
    }

    /// The key parts of the plan's grouping levels, one per dimension they come from.
    private func keyParts(_ radix: [UInt64]) -> [KeyPart] {
        var parts: [KeyPart] = []
        for (j, level) in plan.levels.enumerated() {
            let leafCount = cube.dimensions[level.dimension].leaf.count
            let codes = level.isLeaf(in: cube) ? nil : level.leafMap(in: cube)
            var table = parts.first { $0.dimension == level.dimension }?.table ?? [UInt64](repeating: 0, count: leafCount)
            for leaf in 0..<leafCount { table[leaf] &+= UInt64(codes.map { $0[leaf] } ?? Int32(leaf)) &* radix[j] }
            if let k = parts.firstIndex(where: { $0.dimension == level.dimension }) {
                parts[k] = KeyPart(dimension: level.dimension, table: table)
            } else {
                parts.append(KeyPart(dimension: level.dimension, table: table))
            }
        }
        return parts
    }

    /// Largest key space grouped through a dense array ("perfect hash"); beyond it, a hash map.
    static let denseLimit = 1 << 22

    /// The shared, read-only part of a scan, handed to worker threads.
    private final class Job: @unchecked Sendable {
        let scan: Scan
        let slices: [Range<Int>]
        let radix: [UInt64]
        let space: UInt64
        /// Per grouped dimension, each leaf member's share of the mixed-radix key.
        let parts: [KeyPart]
        /// One slot per worker, each written by its worker only.
        let tables: UnsafeMutableBufferPointer<GroupTable?>
        let failures: UnsafeMutableBufferPointer<QueryError?>
        /// Fact rows that passed WHERE, per worker.
        let matched: UnsafeMutableBufferPointer<Int>

        init(scan: Scan, slices: [Range<Int>], radix: [UInt64], space: UInt64, parts: [KeyPart], workers: Int) {
            self.scan = scan
            self.slices = slices
            self.radix = radix
            self.space = space
            self.parts = parts
            tables = .allocate(capacity: workers)
            tables.initialize(repeating: nil)
            failures = .allocate(capacity: workers)
            failures.initialize(repeating: nil)
            matched = .allocate(capacity: workers)
            matched.initialize(repeating: 0)
        }

        deinit {
            tables.deinitialize()
            tables.deallocate()
            failures.deinitialize()
            failures.deallocate()
            matched.deallocate()
        }
    }

    func run() throws(QueryError) -> GroupTable {
        var stats = Stats()
        return try run(stats: &stats)
    }

    func run(stats: inout Stats) throws(QueryError) -> GroupTable {
        let facts = cube.facts
        var radix: [UInt64] = []
        var space: UInt64 = 1
        for level in plan.levels {
            radix.append(space)
            let (s, o) = space.multipliedReportingOverflow(by: UInt64(max(1, level.level(in: cube).count)))
            if o { throw QueryError("too many grouping levels at once: the key space exceeds 2^64", at: plan.rangeForErrors) }
            space = s
        }
        // Slices: the chunks the zone maps cannot rule out, cut into pieces of `sliceRows`.
        let prefix = plan.filter.map(FilterEvaluator.prefixCounts) ?? [:]
        var slices: [Range<Int>] = []
        for chunk in 0..<facts.chunkCount {
            if let f = plan.filter, !FilterEvaluator.mayPass(f, chunk: chunk, facts: facts, prefix: prefix) { continue }
            let end = min(facts.rowCount, (chunk + 1) * PackedColumn.chunkSize)
            var start = chunk * PackedColumn.chunkSize
            while start < end {
                slices.append(start..<min(end, start + plan.sliceRows))
                start += plan.sliceRows
            }
        }
        let workers = max(1, min(plan.threads, slices.count))
        let job = Job(scan: self, slices: slices, radix: radix, space: space, parts: keyParts(radix), workers: workers)
        stats.chunks = facts.chunkCount
        stats.chunksSkipped = facts.chunkCount - Set(slices.map { $0.lowerBound / PackedColumn.chunkSize }).count
        stats.slices = slices.count
        stats.workers = workers
        stats.keySpace = space
        defer { stats.rowsMatched = job.matched.reduce(0, +) }
        if workers == 1 {
            return try scan(job, worker: 0, of: 1)
        }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            do {
                job.tables[w] = try job.scan.scan(job, worker: w, of: workers)
            } catch {
                job.failures[w] = error as? QueryError
            }
        }
        if let failure = job.failures.compactMap({ $0 }).first { throw failure }
        let tables = job.tables.compactMap { $0 }
        guard let merged = tables.first else { return try scan(job, worker: 0, of: 1) }
        for other in tables.dropFirst() { merged.absorb(other) }
        return merged
    }

    /// Scans slices `worker`, `worker + workers`, ... into a new table.
    private func scan(_ job: Job, worker: Int, of workers: Int) throws(QueryError) -> GroupTable {
        let facts = cube.facts
        let table = GroupTable(levels: plan.levels, accumulators: plan.aggregates.map { makeAccumulator($0, cube: cube, distinctBudget: plan.distinctBudget) })
        if plan.levels.isEmpty { table.append([]) }
        let radix = job.radix
        // The dense array, unless the key space is too large (or would pass memory_limit).
        let useDense = job.space <= UInt64(Scan.denseLimit) && !plan.levels.isEmpty && Int(job.space) * 4 * workers <= plan.limits.memoryLimit / 2
        var dense: [Int32] = useDense ? [Int32](repeating: -1, count: Int(job.space)) : []
        var hashed: [UInt64: Int32] = [:]
        var composites: [UInt64] = []
        let capacity = job.slices.map(\.count).max() ?? 0
        let rows = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, capacity))
        let groups = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, capacity))
        let composite = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: max(1, capacity))
        defer {
            rows.deallocate()
            groups.deallocate()
            composite.deallocate()
        }
        groups.initialize(repeating: 0)
        var checkedGroups = 0
        let selector = Selector(facts: facts)
        var index = worker
        while index < job.slices.count {
            let slice = job.slices[index]
            index += workers
            // Only the first worker reports progress (the bar is drawn from one thread).
            if worker == 0 { plan.progress?(Double(index) / Double(max(1, job.slices.count))) }
            if plan.cancellation?.isCancelled == true {
                throw QueryError("query cancelled", at: plan.rangeForErrors, help: "nothing was changed; run it again when you are ready")
            }
            if let deadline = plan.deadline, ContinuousClock.now > deadline {
                throw QueryError("query stopped: it ran longer than the \(plan.limits.describe("timeout"))", at: plan.rangeForErrors,
                                 help: "filter with WHERE to scan less, or allow more time, e.g. SET timeout = '5m' (0 turns it off)")
            }
            var n = slice.count
            do {
                if let f = plan.filter {
                    // Without a filter the rows stay a range and are never written out.
                    for i in 0..<n { rows[i] = Int32(slice.lowerBound + i) }
                    n = try selector.select(f, rows, n)
                    if n == 0 { continue }
                }
                job.matched[worker] += n
                if !plan.levels.isEmpty {
                    // Each row's mixed-radix key: one lookup per grouped dimension.
                    for (k, part) in job.parts.enumerated() {
                        Gather.addComposite(facts.dimensionCodes[part.dimension], part.table, rows, n, slice: n == slice.count ? slice : nil,
                                            into: composite, first: k == 0)
                    }
                    if !dense.isEmpty {
                        dense.withUnsafeMutableBufferPointer { d in
                            for i in 0..<n {
                                let c = composite[i]
                                var g = d[Int(c)]
                                if g < 0 {
                                    g = Int32(table.append(composite: c, radix: radix))
                                    composites.append(c)
                                    d[Int(c)] = g
                                }
                                groups[i] = g
                            }
                        }
                    } else {
                        for i in 0..<n {
                            let c = composite[i]
                            if let g = hashed[c] {
                                groups[i] = g
                            } else {
                                let g = Int32(table.append(composite: c, radix: radix))
                                composites.append(c)
                                hashed[c] = g
                                groups[i] = g
                            }
                        }
                    }
                }
                let whole = n == slice.count
                let batch = Batch(rows: UnsafeBufferPointer(rebasing: rows[0..<(whole ? 0 : n)]), groups: UnsafeBufferPointer(rebasing: groups[0..<n]),
                                  range: whole ? slice : nil, single: plan.levels.isEmpty)
                for a in table.accumulators {
                    a.resize(table.count)
                    try a.update(batch)
                }
                if table.count > checkedGroups {
                    checkedGroups = table.count
                    // Every worker holds a table like this one.
                    var bytes = dense.count * 4 + table.count * (plan.levels.count * 4 + 8 + (hashed.isEmpty ? 0 : 24))
                    for a in table.accumulators { bytes += a.bytes(groups: table.count) }
                    if bytes * workers > plan.limits.memoryLimit {
                        throw TooBig(bytes: bytes * workers)
                    }
                }
            } catch let tooBig as TooBig {
                throw QueryError("the query needs more than memory_limit (\(QueryLimits.size(plan.limits.memoryLimit))) for its groups: \(grouped(table.count)) groups so far, about \(QueryLimits.size((tooBig.bytes >> 20) << 20))",
                                 at: plan.rangeForErrors,
                                 help: "group by fewer or coarser levels, filter with WHERE, or raise the limit, e.g. SET memory_limit = '8GB'")
            } catch {
                throw QueryError("arithmetic overflow in a row expression (values beyond 64-bit exact range)", at: plan.rangeForErrors,
                                 help: "divide by a constant to get an approximate (floating-point) result")
            }
        }
        for a in table.accumulators {
            a.resize(table.count)
            a.finish()
        }
        if !plan.levels.isEmpty {
            table.composites = composites
            if !dense.isEmpty { table.denseIndex = dense }
        }
        return table
    }
}
