import CubistCore
import CubistStore
import Dispatch

/// What a scan did, beyond what its plan decided: for EXPLAIN.
struct ScanStats {
    /// Fact rows that passed WHERE.
    var rowsMatched = 0
    /// How a plain LIMIT narrowed the scan to the first members of the first BY level.
    var narrowed: String?
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
    let plan: PhysicalPlan
    let context: ExecutionContext

    var query: BoundQuery { plan.query }

    /// One grouped dimension's contribution to the group key: for each of its leaf members,
    /// the sum over the grouped levels of that dimension of the level's code times its radix.
    struct KeyPart {
        let dimension: Int
        let table: Gather.KeyTable
    }

    /// The key parts of the plan's grouping levels, one per dimension they come from, each
    /// table in the narrowest width the key space allows (a customer level's table of 2.5M
    /// leaves is 5 MB at 2 bytes, 20 MB at 8: the difference between cache hits and misses).
    private func keyParts(_ radix: [UInt64], space: UInt64) -> [KeyPart] {
        if space <= 1 << 16 { return keyParts(radix, UInt16.self).map { KeyPart(dimension: $0.dimension, table: .two($0.table)) } }
        if space <= 1 << 32 { return keyParts(radix, UInt32.self).map { KeyPart(dimension: $0.dimension, table: .four($0.table)) } }
        return keyParts(radix, UInt64.self).map { KeyPart(dimension: $0.dimension, table: .eight($0.table)) }
    }

    /// The shares as `U` (every key, and so every share, is below the key space, which `U` holds).
    private func keyParts<U: FixedWidthInteger & UnsignedInteger>(_ radix: [UInt64], _ type: U.Type) -> [(dimension: Int, table: [U])] {
        var parts: [(dimension: Int, table: [U])] = []
        for (j, level) in query.levels.enumerated() {
            let leafCount = cube.dimensions[level.dimension].leaf.count
            let codes = level.isLeaf(in: cube) ? nil : level.leafMap(in: cube)
            var table = parts.first { $0.dimension == level.dimension }?.table ?? [U](repeating: 0, count: leafCount)
            let r = U(truncatingIfNeeded: radix[j])
            for leaf in 0..<leafCount { table[leaf] &+= U(truncatingIfNeeded: codes.map { $0[leaf] } ?? Int32(leaf)) &* r }
            if let k = parts.firstIndex(where: { $0.dimension == level.dimension }) {
                parts[k] = (level.dimension, table)
            } else {
                parts.append((level.dimension, table))
            }
        }
        return parts
    }

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
        let failures: UnsafeMutableBufferPointer<Diagnostic?>
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

    func run(stats: inout ScanStats) throws(Diagnostic) -> GroupTable {
        let slices = plan.slices
        let workers = plan.workers
        let job = Job(scan: self, slices: slices, radix: plan.radix, space: plan.keySpace, parts: keyParts(plan.radix, space: plan.keySpace), workers: workers)
        defer { stats.rowsMatched = job.matched.reduce(0, +) }
        if workers == 1 {
            return try scan(job, worker: 0, of: 1)
        }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            do {
                job.tables[w] = try job.scan.scan(job, worker: w, of: workers)
            } catch {
                job.failures[w] = error as? Diagnostic
            }
        }
        if let failure = job.failures.compactMap({ $0 }).first { throw failure }
        let tables = job.tables.compactMap { $0 }
        guard let merged = tables.first else { return try scan(job, worker: 0, of: 1) }
        for (i, other) in tables.dropFirst().enumerated() {
            try context.check(query.range)
            context.progress?(Double(i + 1) / Double(tables.count), "merge")
            merged.absorb(other)
        }
        return merged
    }

    /// Scans slices `worker`, `worker + workers`, ... into a new table.
    private func scan(_ job: Job, worker: Int, of workers: Int) throws(Diagnostic) -> GroupTable {
        let facts = cube.facts
        let table = GroupTable(levels: query.levels, accumulators: zip(query.aggregates, plan.distinct).map {
            makeAccumulator($0, cube: cube, distinctBudget: plan.distinctBudget, perBudget: plan.perBudget, strategy: $1)
        })
        if let from = plan.countRowsFrom, let sum = table.accumulators[from] as? ExactSumAccumulator {
            for case let count as CountAccumulator in table.accumulators { count.rowsFrom = sum }
        }
        if query.levels.isEmpty { table.append([]) }
        let radix = job.radix
        let useDense = plan.grouping == .dense
        var dense: [Int32] = useDense ? [Int32](repeating: -1, count: Int(job.space)) : []
        let hashed = KeyIndex()
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
        let growsWithinGroups = query.aggregates.contains(where: \.growsWithinGroups)
        let selector = query.filter.map { Selector($0, facts: facts) }
        var index = worker
        while index < job.slices.count {
            let slice = job.slices[index]
            index += workers
            // Only the first worker reports progress (the bar is drawn from one thread).
            if worker == 0 { context.progress?(Double(index) / Double(max(1, job.slices.count)), "scan") }
            try context.check(query.range)
            var n = slice.count
            do {
                if let selector {
                    // Without a filter the rows stay a range and are never written out.
                    for i in 0..<n { rows[i] = Int32(slice.lowerBound + i) }
                    n = try selector.select(rows, n)
                    if n == 0 { continue }
                }
                job.matched[worker] += n
                if !query.levels.isEmpty {
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
                            groups[i] = hashed.group(c) {
                                composites.append(c)
                                return Int32(table.append(composite: c, radix: radix))
                            }
                        }
                    }
                }
                let whole = n == slice.count
                let batch = Batch(rows: UnsafeBufferPointer(rebasing: rows[0..<(whole ? 0 : n)]), groups: UnsafeBufferPointer(rebasing: groups[0..<n]),
                                  range: whole ? slice : nil, single: query.levels.isEmpty, slice: slice,
                                  composites: query.levels.isEmpty ? nil : UnsafeBufferPointer(rebasing: composite[0..<n]))
                for a in table.accumulators {
                    a.resize(table.count)
                    try a.update(batch)
                }
                // Distinct counts, kept values and per-member pairs grow within their groups,
                // so with one the memory is checked after every slice, not only on new groups.
                if table.count > checkedGroups || growsWithinGroups {
                    checkedGroups = table.count
                    // Every worker holds a table like this one.
                    var bytes = dense.count * 4 + table.count * (query.levels.count * 4 + 8) + hashed.bytes
                    for a in table.accumulators { bytes += a.bytes(groups: table.count) }
                    if bytes * workers > context.limits.memoryLimit {
                        throw TooBig(bytes: bytes * workers)
                    }
                }
            } catch let tooBig as TooBig {
                throw Diagnostic("the query needs more than memory_limit (\(QueryLimits.size(context.limits.memoryLimit))) for its groups: \(grouped(table.count)) groups so far, about \(QueryLimits.approximateSize(tooBig.bytes))",
                                 at: query.range,
                                 help: "group by fewer or coarser levels, filter with WHERE, or raise the limit, e.g. SET memory_limit = '8GB'")
            } catch {
                throw Diagnostic("arithmetic overflow in a row expression (a value beyond the exact range: 64 bits, 128 in a sum)", at: query.range,
                                 help: "divide by a constant to get an approximate (floating-point) result")
            }
        }
        for a in table.accumulators {
            a.resize(table.count)
            a.finish()
        }
        if !query.levels.isEmpty {
            table.composites = composites
            if !dense.isEmpty { table.denseIndex = dense }
        }
        return table
    }
}
