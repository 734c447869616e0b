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
    /// A hash set of (group, value) pairs from the start (numeric fact values).
    case hashSet
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
}

/// Makes the physical choices for a bound query from the cube's statistics and the
/// session's settings.
struct PhysicalPlanner {
    let cube: Cube
    let context: ExecutionContext

    /// Largest key space grouped through a dense array ("perfect hash"); beyond it, a hash map.
    static let denseLimit = 1 << 22

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
                return .bitset(words: words, maxGroups: budget / max(1, words * 8))
            case .distinctValues: return .hashSet
            default: return nil
            }
        }
        // A per-member aggregate's pair index: 4 bytes an entry, within the same share.
        let perBudget = min(PhysicalPlanner.denseLimit * 4, budget / 4)
        return PhysicalPlan(query: query, radix: radix, keySpace: space, grouping: grouping, slices: slices, chunks: facts.chunkCount,
                            chunksSkipped: facts.chunkCount - scannedChunks, workers: workers, distinct: distinct, distinctBudget: budget,
                            perBudget: perBudget)
    }
}
