import CubistCore
import CubistStore
import CubistSyntax

/// The runtime knobs of one statement: threads, cancellation, the deadline from `timeout`,
/// the limits, and who hears progress. Mutable per-query state lives in the scan's own
/// objects; this is read-only while the query runs.
struct ExecutionContext {
    var threads = 1
    /// Rows per unit of parallel work.
    var sliceRows = PackedColumn.chunkSize
    /// Most bytes of per-group bitsets for `count(distinct ...)` before it uses a hash set.
    var distinctBitsetBudget = 256 << 20
    var limits = QueryLimits()
    var cancellation: CancellationFlag?
    /// When the statement must have finished (from `timeout`).
    var deadline: ContinuousClock.Instant?
    /// Hears the fraction of the current phase done, and the phase's name.
    var progress: (@Sendable (Double, String) -> Void)?

    /// Throws when the query was cancelled or ran past its deadline. Every phase calls it
    /// between units of work.
    func check(_ range: SourceRange) throws(Diagnostic) {
        if cancellation?.isCancelled == true {
            throw Diagnostic("query cancelled", at: range, help: "nothing was changed; run it again when you are ready")
        }
        if let deadline, ContinuousClock.now > deadline {
            throw Diagnostic("query stopped: it ran longer than the \(limits.describe("timeout"))", at: range,
                             help: "filter with WHERE to scan less, or allow more time, e.g. SET timeout = '5m' (0 turns it off)")
        }
    }
}

/// What running a query produced: the result, what each row stands for, the plan that ran,
/// and what each phase did and took (for EXPLAIN).
struct Execution {
    let table: ResultTable
    /// Per result row, the BY codes it stands for (a prefix for subtotals; nil for totals
    /// and Others).
    let keys: [[Int32]?]
    /// The BY codes of every group folded into the Others row.
    let othersKeys: [[Int32]]
    let plan: PhysicalPlan
    let scan: ScanStats
    /// Groups the scan produced.
    let groups: Int
    /// The sub-selects, each run before this query.
    let children: [Execution]
    /// Time per phase, in order: sub-selects, plan, scan, then each finishing stage.
    let timings: [(phase: String, duration: Duration)]
}

/// Runs bound queries: the sub-selects first, then the physical plan, the scan and the
/// finishing stages, with every limit enforced here and nowhere else. SELECT, sub-selects,
/// EXPLAIN and DRILLTHROUGH all run through `execute`.
struct Executor {
    let cube: Cube
    let context: ExecutionContext

    /// What a result is for: rows to show (held to `max_result_rows`), or the member set of
    /// a sub-select (no row limit: it is never printed).
    enum Purpose {
        case result
        case memberSet
    }

    /// What a query's scan produced, before any finishing: the groups at the finest
    /// grouping, for the finishing stages or for a statement that reads the groups itself.
    struct Scanned {
        /// The query, with its sub-selects turned into member masks.
        let query: BoundQuery
        let fine: GroupTable
        let plan: PhysicalPlan
        let stats: ScanStats
        let children: [Execution]
        let timings: [(phase: String, duration: Duration)]
    }

    /// Runs the sub-selects, plans the query and scans the facts. With `narrowing`, a plain
    /// LIMIT scans only the groups it can show (`firstMembers`).
    func scan(_ query: BoundQuery, narrowing: Bool = false) throws(Diagnostic) -> Scanned {
        let clock = ContinuousClock()
        var timings: [(String, Duration)] = []
        var query = query
        var children: [Execution] = []
        if !query.subSelects.isEmpty {
            let t = clock.now
            var sets: [[Bool]] = []
            for child in query.subSelects {
                var keep = [Bool](repeating: false, count: child.levels[0].level(in: cube).count)
                if child.having == nil, child.top == nil, child.limit == nil, child.offset == 0, child.timeWindow == nil {
                    // Every group is a member of the list: read them as the scan leaves them.
                    let scanned = try scan(child)
                    for g in 0..<scanned.fine.count { keep[Int(scanned.fine.code(g, 0))] = true }
                    children.append(Execution(table: ResultTable(columns: [], rows: [], rowKinds: []), keys: [], othersKeys: [], plan: scanned.plan,
                                              scan: scanned.stats, groups: scanned.fine.count, children: scanned.children, timings: scanned.timings))
                } else {
                    let run = try execute(child, purpose: .memberSet)
                    for (i, key) in run.keys.enumerated() where run.table.rowKinds[i] == .detail {
                        if let c = key?.first { keep[Int(c)] = true }
                    }
                    children.append(run)
                }
                sets.append(keep)
            }
            query.filter = query.filter.map { resolve($0, sets).simplified }
            timings.append(("sub-selects", clock.now - t))
        }
        var stats = ScanStats()
        if narrowing, let (filter, note, took) = try firstMembers(query) {
            query.filter = filter
            stats.narrowed = note
            timings.append(("limit", took))
        }
        let t0 = clock.now
        let plan = try PhysicalPlanner(cube: cube, context: context).plan(query)
        let t1 = clock.now
        let fine = try Scan(cube: cube, plan: plan, context: context).run(stats: &stats)
        let t2 = clock.now
        timings.append(("plan", t1 - t0))
        timings.append(("scan", t2 - t1))
        return Scanned(query: query, fine: fine, plan: plan, stats: stats, children: children, timings: timings)
    }

    /// A plain LIMIT shows the first OFFSET + LIMIT groups in natural order, and those lie
    /// among the groups of the first OFFSET + LIMIT members of the first BY level that have
    /// rows (each such member has at least one group). When every value of a group comes
    /// from that group's own rows (no ORDER BY, TOP, HAVING, ROLLUP, ACROSS, WITH TOTALS,
    /// time window, nor a share, rank or time function, which read other groups), one cheap
    /// scan finds the members with rows, and the query's filter gains a mask of the first
    /// ones: a filter plus a member test instead of every group's aggregates. Returns the
    /// narrowed filter, what EXPLAIN says, and the time it took; nil when it does not apply.
    private func firstMembers(_ query: BoundQuery) throws(Diagnostic) -> (RowFilter, String, Duration)? {
        guard let limit = query.limit, query.order.isEmpty, query.top == nil, query.having == nil, query.rollupStart == nil,
              query.acrossCount == 0, !query.totals, query.timeWindow == nil, query.byCount >= 1,
              query.values.allSatisfy(Executor.readsOwnGroup) else { return nil }
        let (wanted, overflow) = query.offset.addingReportingOverflow(limit)
        let level = query.levels[0]
        let members = level.level(in: cube).count
        guard !overflow, wanted < members / 4 else { return nil }
        let clock = ContinuousClock(), start = clock.now
        let leaves = level.leafMap(in: cube)
        let codes: [Int32]
        if let filter = query.filter {
            // The members with rows that pass: a scan of the filter, counting rows by member.
            var probe = BoundQuery()
            probe.levels = [level]
            probe.byCount = 1
            probe.aggregates = [.countRows]
            probe.filter = filter
            probe.range = query.range
            let plan = try PhysicalPlanner(cube: cube, context: context).plan(probe)
            var stats = ScanStats()
            let present = try Scan(cube: cube, plan: plan, context: context).run(stats: &stats)
            codes = (0..<present.count).map { present.code($0, 0) }.sorted()
        } else {
            // Every row counts: the leaf codes that occur, in one pass over their column.
            var seen = [Bool](repeating: false, count: cube.dimensions[level.dimension].leaf.count)
            switch cube.facts.dimensionCodes[level.dimension].storage {
            case .one(let b): for c in b { seen[Int(c)] = true }
            case .two(let b): for c in b { seen[Int(c)] = true }
            case .four(let b): for c in b { seen[Int(c)] = true }
            case .eight(let b): for c in b { seen[Int(c)] = true }
            }
            var has = [Bool](repeating: false, count: members)
            for (leaf, s) in seen.enumerated() where s { has[Int(leaves[leaf])] = true }
            codes = has.indices.filter { has[$0] }.map { Int32($0) }  // ascending
        }
        var chosen = [Bool](repeating: false, count: members)
        for c in codes.prefix(wanted) { chosen[Int(c)] = true }
        let mask = level.isLeaf(in: cube) ? chosen : leaves.map { chosen[Int($0)] }
        let test = RowFilter.members(dimension: level.dimension, mask: mask)
        let filter = query.filter.map { RowFilter.and([test, $0]) } ?? test
        let note = "the first \(grouped(min(wanted, codes.count))) of \(grouped(codes.count)) \(level.qualifiedName(in: cube)) members with rows: only their rows are scanned (the member mask above)"
        return (filter, note, clock.now - start)
    }

    /// Whether a value is worked out from its own group's rows alone.
    private static func readsOwnGroup(_ e: MeasureExpr) -> Bool {
        switch e {
        case .slot, .constant, .value: return true
        case .negate(let x): return readsOwnGroup(x)
        case .binary(_, let l, let r): return readsOwnGroup(l) && readsOwnGroup(r)
        case .scalar(_, let args): return args.allSatisfy(readsOwnGroup)
        case .caseWhen(let branches, let otherwise): return branches.allSatisfy { readsOwnGroup($0.then) } && (otherwise.map(readsOwnGroup) ?? true)
        case .analytic, .shareOfAll: return false
        }
    }

    func execute(_ query: BoundQuery, purpose: Purpose = .result) throws(Diagnostic) -> Execution {
        let scanned = try scan(query, narrowing: true)
        let query = scanned.query, fine = scanned.fine, plan = scanned.plan, stats = scanned.stats, children = scanned.children
        var timings = scanned.timings
        let limitRows = purpose == .result
        // Every group is a row when nothing cuts them: stop before building the rows.
        if limitRows, query.top == nil, query.limit == nil, query.having == nil, query.acrossCount == 0, query.timeWindow == nil,
           fine.count > context.limits.maxResultRows {
            throw tooManyRows(fine.count, query)
        }
        var finisher = Finisher(cube: cube, query: query, fine: fine, context: context)
        if let window = query.timeWindow { finisher = windowed(finisher, window) }
        let finished = try finisher.run()
        timings += finished.timings
        if limitRows, finished.table.rows.count > context.limits.maxResultRows { throw tooManyRows(finished.table.rows.count, query) }
        return Execution(table: finished.table, keys: finished.keys, othersKeys: finished.othersKeys, plan: plan, scan: stats,
                         groups: fine.count, children: children, timings: timings)
    }

    /// The time window: time functions are computed over every period scanned, then only the
    /// groups in the window are kept, with those columns carried over.
    private func windowed(_ finisher: Finisher, _ window: TimeWindow) -> Finisher {
        let all = finisher.fine, query = finisher.query
        let (visible, map) = all.reduced(positions: Array(all.levels.indices), include: { window.keep[Int(all.code($0, window.position))] })
        let eval = MeasureEvaluator(table: all, total: TotalGroup(of: all), cube: cube, values: query.values)
        var known: [MeasureExpr: [Value]] = [:]
        for e in Executor.timeFunctions(in: query.values) {
            let column = eval.column(e)
            var shown = [Value](repeating: .null, count: visible.count)
            for g in 0..<all.count where map[g] >= 0 { shown[Int(map[g])] = column[g] }
            known[e] = shown
        }
        var result = Finisher(cube: cube, query: query, fine: visible, context: context)
        result.known = known
        return result
    }

    /// Every time function call (`prev`, `growth`, `yoy`, `running`, `ytd`, ...) in the expressions.
    static func timeFunctions(in values: [MeasureExpr]) -> Set<MeasureExpr> {
        var found = Set<MeasureExpr>()
        func visit(_ e: MeasureExpr) {
            switch e {
            case .analytic(let kind, let arg, _):
                if AnalyticKind.time.contains(kind) { found.insert(e) } else { visit(arg) }
            case .negate(let x), .shareOfAll(let x, _): visit(x)
            case .binary(_, let a, let b):
                visit(a)
                visit(b)
            case .scalar(_, let args): args.forEach(visit)
            case .caseWhen(let branches, let otherwise):
                for b in branches { visit(b.then) }
                otherwise.map(visit)
            case .slot, .constant, .value: break
            }
        }
        values.forEach(visit)
        return found
    }

    /// The filter with each sub-select replaced by the mask of the members it listed.
    private func resolve(_ f: RowFilter, _ sets: [[Bool]]) -> RowFilter {
        switch f {
        case .subSelect(let i, let level): return RowFilter.leafMask(level, sets[i], cube)
        case .and(let list): return .and(list.map { resolve($0, sets) })
        case .or(let list): return .or(list.map { resolve($0, sets) })
        case .not(let x): return .not(resolve(x, sets))
        case .members, .compare, .constant: return f
        }
    }

    private func tooManyRows(_ rows: Int, _ query: BoundQuery) -> Diagnostic {
        Diagnostic("the result would have \(grouped(rows)) rows, more than max_result_rows (\(grouped(context.limits.maxResultRows)))",
                   at: query.range,
                   help: "add TOP n BY a measure or LIMIT n, group by a coarser level, filter with WHERE, or SET max_result_rows = \(rows)")
    }
}
