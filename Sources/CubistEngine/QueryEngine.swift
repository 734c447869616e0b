import CubistCore
import CubistStore
import CubistSyntax
import Foundation

/// Answers SELECT statements on one cube: binds names, scans the facts, and builds the
/// typed result. Stateless between queries; safe to share.
public struct QueryEngine: Sendable {
    /// The cube queries run against.
    public let cube: Cube
    /// Measures defined for the session on top of the model's.
    public var sessionMeasures: [Measure]
    /// Most bytes of per-group member bitsets for an exact `count(distinct ...)`; beyond
    /// it the count uses a hash set of (group, member) pairs (slower, smaller when sparse).
    public var distinctBitsetBudget = 256 << 20
    /// Checked between chunks; when set, the query stops with "query cancelled".
    public var cancellation: CancellationFlag?
    /// Threads that scan the facts at once (default: every core).
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Rows per unit of parallel work (default: one chunk, 65,536 rows). Smaller slices only
    /// serve tests that exercise the merge of partial results on small cubes.
    public var sliceRows = PackedColumn.chunkSize
    /// The session's `max_result_rows`, `memory_limit` and `timeout`.
    public var limits = QueryLimits()
    /// Hears the fraction of fact chunks scanned, after each chunk.
    public var progress: (@Sendable (Double) -> Void)?

    /// Creates an engine over a cube.
    public init(cube: Cube, sessionMeasures: [Measure] = []) {
        self.cube = cube
        self.sessionMeasures = sessionMeasures
    }

    /// Runs a SELECT. `parameters` maps lower-cased parameter names to their values.
    public func run(_ select: SelectStatement, parameters: [String: String] = [:]) throws(QueryError) -> ResultTable {
        try execute(select, parameters: parameters).0
    }

    /// Runs a SELECT and also returns, per result row, the BY member codes it stands for.
    func execute(_ select: SelectStatement, parameters: [String: String]) throws(QueryError) -> (ResultTable, [[Int32]?]) {
        let plan = try self.plan(select, parameters: parameters)
        let fine = try Scan(cube: cube, plan: plan).run()
        // Every group is a row when nothing cuts them: stop before building the rows.
        if plan.top == nil, plan.limit == nil, plan.having == nil, plan.acrossCount == 0, fine.count > limits.maxResultRows {
            throw tooManyRows(fine.count, plan)
        }
        let (table, keys) = Finalizer(cube: cube, plan: plan, fine: fine).run()
        if table.rows.count > limits.maxResultRows { throw tooManyRows(table.rows.count, plan) }
        return (table, keys)
    }

    private func tooManyRows(_ rows: Int, _ plan: QueryPlan) -> QueryError {
        QueryError("the result would have \(grouped(rows)) rows, more than max_result_rows (\(grouped(limits.maxResultRows)))",
                   at: plan.rangeForErrors,
                   help: "add TOP n BY a measure or LIMIT n, group by a coarser level, filter with WHERE, or SET max_result_rows = \(rows)")
    }

    func plan(_ select: SelectStatement, parameters: [String: String]) throws(QueryError) -> QueryPlan {
        let names = Names(cube: cube, extraMeasures: sessionMeasures)
        var binder = Binder(names: names, parameters: parameters) { (sub: SelectStatement) throws(QueryError) -> (LevelRef, Set<Int32>) in
            try self.memberSet(sub, parameters: parameters)
        }
        var plan = try binder.bind(select)
        plan.rangeForErrors = select.range
        if plan.warnings.count > 5 {
            // A long IN list of non-members would print the statement once per value.
            let more = plan.warnings.count - 5, next = plan.warnings[5].range
            plan.warnings = Array(plan.warnings.prefix(5))
            plan.warnings.append(QueryWarning("and \(grouped(more)) more warning\(more == 1 ? "" : "s") like these, from here on", at: next,
                                              help: "list the members with SHOW MEMBERS level"))
        }
        plan.distinctBudget = distinctBitsetBudget
        plan.cancellation = cancellation
        plan.limits = limits
        plan.deadline = limits.timeout.map { ContinuousClock.now + $0 }
        plan.progress = progress
        plan.threads = max(1, threads)
        plan.sliceRows = max(1, sliceRows)
        return plan
    }

    /// The members a sub-select lists: the codes of its one BY level in its result rows.
    private func memberSet(_ sub: SelectStatement, parameters: [String: String]) throws(QueryError) -> (LevelRef, Set<Int32>) {
        let plan = try self.plan(sub, parameters: parameters)
        guard plan.byCount == 1, plan.acrossCount == 0, plan.rollupStart == nil, let level = plan.levels.first else {
            throw QueryError("a sub-select in IN (...) must list exactly one level", at: sub.range,
                             help: "e.g. SELECT customer.customer WHERE time.year = 2023")
        }
        let fine = try Scan(cube: cube, plan: plan).run()
        let (table, keys) = Finalizer(cube: cube, plan: plan, fine: fine).run()
        var codes = Set<Int32>()
        for (i, key) in keys.enumerated() where table.rowKinds[i] == .detail {
            if let c = key?.first { codes.insert(c) }
        }
        return (level, codes)
    }
}
