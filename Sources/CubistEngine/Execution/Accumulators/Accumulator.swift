import CubistStore
import CubistSyntax

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
    /// The slice of the fact table the rows come from (all of it, or a subset that passed WHERE).
    let slice: Range<Int>
    /// `composites[i]` is the mixed-radix key of `rows[i]`'s group, when the scan computed
    /// keys (nil for the inner batches of filtered and per-member aggregates).
    var composites: UnsafeBufferPointer<UInt64>? = nil

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
    /// The values of groups `0..<count`, in order (a whole column, for the finishing stages).
    func values(_ part: SlotPart, count: Int) -> [Value]
    /// Whether `values` works out all groups together far cheaper than `value` one by one
    /// (then a single group's value is read from the whole column).
    var valuesTogether: Bool { get }
}

extension Accumulator {
    func finish() {}

    func values(_ part: SlotPart, count: Int) -> [Value] { (0..<count).map { value($0, part) } }

    var valuesTogether: Bool { false }
}

/// Creates the accumulator for an aggregate; `strategy` is the plan's choice for a distinct
/// count at the top level of the scan.
func makeAccumulator(_ kind: AggregateKind, cube: Cube, distinctBudget: Int, perBudget: Int, strategy: DistinctStrategy? = nil) -> Accumulator {
    let facts = cube.facts
    switch kind {
    case .distinctMembers(let level):
        let source = DistinctAccumulator.Source.member(facts.dimensionCodes[level.dimension], level.isLeaf(in: cube) ? nil : level.leafMap(in: cube),
                                                       memberCount: level.level(in: cube).count)
        if case .folded(_, _, let fold)? = strategy { return FoldedDistinctAccumulator(source: source, fold: fold, facts: facts, budget: distinctBudget) }
        return DistinctAccumulator(source: source, facts: facts, budget: distinctBudget)
    case .countRows: return CountAccumulator()
    case .sum(let e):
        if let s = e.scale(in: facts) { return ExactSumAccumulator(expr: e, scale: s, facts: facts) }
        return DoubleSumAccumulator(expr: e, facts: facts)
    case .min(let e): return ExtremeAccumulator(expr: e, facts: facts, isMax: false)
    case .max(let e): return ExtremeAccumulator(expr: e, facts: facts, isMax: true)
    case .distinctValues(let c):
        if facts.numericColumns[c].comesInRuns { return RunDistinctAccumulator(column: facts.numericColumns[c], rowCount: facts.rowCount) }
        return DistinctAccumulator(source: .column(c), facts: facts, budget: distinctBudget)
    case .member(let level, let last):
        return MemberAccumulator(codes: facts.dimensionCodes[level.dimension], map: level.isLeaf(in: cube) ? nil : level.leafMap(in: cube),
                                 labels: level.level(in: cube).members, last: last)
    case .values(let e): return ValuesAccumulator(expr: e, facts: facts)
    case .per(let spec): return PerAccumulator(spec: spec, cube: cube, distinctBudget: distinctBudget, denseBudget: perBudget)
    case .filtered(let k, let f):
        return FilteredAccumulator(inner: makeAccumulator(k, cube: cube, distinctBudget: distinctBudget, perBudget: perBudget), filter: f, facts: facts)
    }
}

/// Adds per-group sums and counts of one grouping into another: group `g` of the source
/// goes to `map[g]` (nowhere when negative). Serves `absorb` and `reduced` of both sums.
func addSums<S: AdditiveArithmetic>(_ sums: inout [S], _ counts: inout [Int64], _ fromSums: [S], _ fromCounts: [Int64], map: [Int32]) {
    for g in fromSums.indices where map[g] >= 0 {
        sums[Int(map[g])] += fromSums[g]
        counts[Int(map[g])] += fromCounts[g]
    }
}
