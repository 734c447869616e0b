import CubistCore
import CubistStore

/// How the scan finds a fact row's group.
enum GroupingStrategy: Equatable {
    /// No grouping levels: every row goes to the one total group.
    case single
    /// A dense array indexed by the mixed-radix key ("perfect hash"): one load per row.
    case dense
    /// A hash map of 64-bit keys, when the key space is over `PhysicalPlanner.denseLimit`
    /// or a dense array per thread would pass half of `memory_limit`.
    case hash(reason: String)
}

/// How one `count(distinct ...)` aggregate keeps its members.
enum DistinctStrategy: Equatable {
    /// A bitset over the level's members per group while `groups × bits` fits the budget,
    /// then a hash set of (group, member) pairs.
    case bitset(words: Int, maxGroups: Int)
    /// Some grouping levels follow from the counted member (`customers BY customer.cohort,
    /// time.quarter`): a bitset per combination of the other levels only, each group's count
    /// folded out of it at the end by the members' own codes; a hash set of pairs beyond
    /// the budget.
    case folded(words: Int, maxSlots: Int, DistinctFold)
    /// A hash set of (group, value) pairs from the start (numeric fact values).
    case hashSet
}

/// The grouping levels a distinct count's member determines, and for every member its part
/// of the group key: what a folded distinct count needs to go from a bitset of the other
/// levels back to the groups.
struct DistinctFold: Equatable {
    /// Positions in the query's grouping levels of the levels the member determines.
    let determined: [Int]
    /// Per member of the counted level, the determined levels' codes times their radix (its
    /// share of the group's mixed-radix key).
    let keyShare: [UInt64]
    /// Per member, the determined levels' codes as one number below `space`.
    let index: [Int32]
    /// Number of combinations of the determined levels' codes.
    let space: Int

    /// The fold for counting `counted` grouped by `levels`, or nil when no grouping level
    /// follows from it. A level follows from the counted one when every leaf member with
    /// the same counted member has the same code of it: ancestors, and attributes of the
    /// leaf when the leaf is counted, always do.
    init?(counting counted: LevelRef, levels: [LevelRef], radix: [UInt64], cube: Cube) {
        let members = counted.level(in: cube).count
        let countedMap = counted.isLeaf(in: cube) ? nil : counted.leafMap(in: cube)
        var determined: [Int] = []
        var codes: [[Int32]] = []
        for (j, level) in levels.enumerated() where level.dimension == counted.dimension {
            let map = level.isLeaf(in: cube) ? nil : level.leafMap(in: cube)
            var code = [Int32](repeating: -1, count: members)
            var follows = true
            for leaf in 0..<cube.dimensions[level.dimension].leaf.count {
                let m = Int(countedMap?[leaf] ?? Int32(leaf)), c = map?[leaf] ?? Int32(leaf)
                if code[m] < 0 {
                    code[m] = c
                } else if code[m] != c {
                    follows = false
                    break
                }
            }
            if follows {
                determined.append(j)
                codes.append(code)
            }
        }
        guard !determined.isEmpty else { return nil }
        var keyShare = [UInt64](repeating: 0, count: members), index = [Int32](repeating: 0, count: members)
        var weight = 1
        for (k, j) in determined.enumerated() {
            for m in 0..<members {
                let c = Int(max(0, codes[k][m]))
                keyShare[m] &+= UInt64(c) &* radix[j]
                index[m] += Int32(c * weight)
            }
            weight *= max(1, levels[j].level(in: cube).count)
        }
        self.determined = determined
        self.keyShare = keyShare
        self.index = index
        self.space = weight
    }
}

/// The physical choices for one bound query, made once before it runs and recorded here
/// so EXPLAIN prints what runs, not a guess: the slices the zone maps leave, the threads,
/// the grouping strategy, the key radix, and each aggregate's strategy.
struct PhysicalPlan {
    /// The query, with every sub-select already turned into a member mask.
    let query: BoundQuery
    /// Mixed-radix digit weights of the grouping levels (`radix[j]` for level j).
    let radix: [UInt64]
    /// Number of distinct grouping keys possible (the product of the levels' sizes).
    let keySpace: UInt64
    let grouping: GroupingStrategy
    /// Rows of the facts to scan, in units of parallel work.
    let slices: [Range<Int>]
    /// Chunks in the fact table, and how many the zone maps rule out.
    let chunks: Int
    let chunksSkipped: Int
    /// Threads that scan at once (never more than there are slices).
    let workers: Int
    /// Per aggregate, its distinct-count strategy (nil for the other kinds).
    let distinct: [DistinctStrategy?]
    /// Bytes of bitsets a distinct count may take before it switches to pairs.
    let distinctBudget: Int
    /// Entries of a per-member aggregate's dense (group, member) index per thread before it
    /// switches to a hash map.
    let perBudget: Int
    /// When `count(*)` is read from the row counts of an exact sum of a column without
    /// nulls in the same scan: that sum's aggregate index (the count does no work).
    let countRowsFrom: Int?
}

/// Makes the physical choices for a bound query from the cube's statistics and the
/// session's settings.
struct PhysicalPlanner {
    let cube: Cube
    let context: ExecutionContext

    /// Largest key space grouped through a dense array ("perfect hash"); beyond it, a hash map.
    static let denseLimit = 1 << 24

    func plan(_ query: BoundQuery) throws(Diagnostic) -> PhysicalPlan {
        let facts = cube.facts
        var radix: [UInt64] = []
        var space: UInt64 = 1
        for level in query.levels {
            radix.append(space)
            let (s, o) = space.multipliedReportingOverflow(by: UInt64(max(1, level.level(in: cube).count)))
            if o { throw Diagnostic("too many grouping levels at once: the key space exceeds 2^64", at: query.range) }
            space = s
        }
        // Slices: the chunks the zone maps cannot rule out, cut into pieces of `sliceRows`.
        let prefix = query.filter.map(FilterEvaluator.prefixCounts) ?? [:]
        var slices: [Range<Int>] = []
        var scannedChunks = 0
        for chunk in 0..<facts.chunkCount {
            if let f = query.filter, !FilterEvaluator.mayPass(f, chunk: chunk, facts: facts, prefix: prefix) { continue }
            scannedChunks += 1
            let end = min(facts.rowCount, (chunk + 1) * PackedColumn.chunkSize)
            var start = chunk * PackedColumn.chunkSize
            while start < end {
                slices.append(start..<min(end, start + context.sliceRows))
                start += context.sliceRows
            }
        }
        let workers = max(1, min(context.threads, slices.count))
        let grouping: GroupingStrategy
        if query.levels.isEmpty {
            grouping = .single
        } else if space > UInt64(PhysicalPlanner.denseLimit) {
            grouping = .hash(reason: "the key space of \(space) codes is over the dense limit of \(grouped(PhysicalPlanner.denseLimit))")
        } else if Int(space) * 4 * workers > context.limits.memoryLimit / 2 {
            grouping = .hash(reason: "a dense array of \(grouped(Int(space))) codes per thread would pass half of memory_limit")
        } else {
            grouping = .dense
        }
        // Bitsets of a distinct count stay within the budget and within memory_limit.
        let budget = min(context.distinctBitsetBudget, context.limits.memoryLimit / (2 * workers))
        let distinct: [DistinctStrategy?] = query.aggregates.map { kind in
            switch kind {
            case .distinctMembers(let level):
                let words = (level.level(in: cube).count + 63) / 64
                // Folding needs the dense key space: the groups of a slot are found by array.
                if grouping == .dense, let fold = DistinctFold(counting: level, levels: query.levels, radix: radix, cube: cube) {
                    return .folded(words: words, maxSlots: budget / max(1, words * 8), fold)
                }
                return .bitset(words: words, maxGroups: budget / max(1, words * 8))
            case .distinctValues: return .hashSet
            default: return nil
            }
        }
        // A per-member aggregate's pair index: 4 bytes an entry, within the same share.
        let perBudget = min(PhysicalPlanner.denseLimit * 4, budget / 4)
        // count(*) beside an exact sum that counts every row is read from that sum's counts.
        let countRowsFrom = query.aggregates.contains(.countRows) ? query.aggregates.firstIndex { a in
            if case .sum(let e) = a, e.scale(in: facts) != nil { return ExactSumAccumulator.countsEveryRow(e, facts) }
            return false
        } : nil
        return PhysicalPlan(query: query, radix: radix, keySpace: space, grouping: grouping, slices: slices, chunks: facts.chunkCount,
                            chunksSkipped: facts.chunkCount - scannedChunks, workers: workers, distinct: distinct, distinctBudget: budget,
                            perBudget: perBudget, countRowsFrom: countRowsFrom)
    }
}
