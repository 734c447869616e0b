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
    /// Hears how far the query is: the fraction done of the phase named (`scan`, `merge`,
    /// `finish`), after each unit of work.
    public var progress: (@Sendable (Double, String) -> Void)?

    /// Creates an engine over a cube.
    public init(cube: Cube, sessionMeasures: [Measure] = []) {
        self.cube = cube
        self.sessionMeasures = sessionMeasures
    }

    /// Runs a SELECT. `parameters` maps lower-cased parameter names to their values.
    public func run(_ select: SelectStatement, parameters: [String: String] = [:]) throws(Diagnostic) -> ResultTable {
        try execute(select, parameters: parameters).table
    }

    /// Binds and runs a SELECT through the one executor.
    func execute(_ select: SelectStatement, parameters: [String: String]) throws(Diagnostic) -> Execution {
        let context = self.context()
        let query = try bind(select, parameters: parameters)
        return try Executor(cube: cube, context: context).execute(query)
    }

    /// Binds a SELECT to the cube: names resolved, nothing run. `groupFilterHint` replaces
    /// the suggestion to write HAVING where the statement has none.
    func bind(_ select: SelectStatement, parameters: [String: String], groupFilterHint: String? = nil) throws(Diagnostic) -> BoundQuery {
        var binder = Binder(names: Names(cube: cube, extraMeasures: sessionMeasures), parameters: parameters)
        binder.groupFilterHint = groupFilterHint
        return try binder.bind(select)
    }

    /// The runtime knobs of a statement starting now.
    func context() -> ExecutionContext {
        var context = ExecutionContext()
        context.threads = max(1, threads)
        context.sliceRows = max(1, sliceRows)
        context.distinctBitsetBudget = distinctBitsetBudget
        context.limits = limits
        context.cancellation = cancellation
        context.deadline = limits.timeout.map { ContinuousClock.now + $0 }
        context.progress = progress
        return context
    }
}
