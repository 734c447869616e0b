import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// Runs a customer analysis statement (`PARETO ...`, `RFM ...`, `LTV ...`); `parameters`
    /// maps lower-cased parameter names to their values.
    public func analysis(_ a: Analysis, parameters: [String: String] = [:], at range: SourceRange) throws(Diagnostic) -> ResultTable {
        try run(a, parameters: parameters, at: range).table
    }

    /// Runs an analysis and keeps what EXPLAIN shows: its scans and its own steps.
    func run(_ a: Analysis, parameters: [String: String], at range: SourceRange) throws(Diagnostic) -> AnalysisRun {
        switch a {
        case .pareto(let level, let measure, let condition, let curve):
            return try pareto(level: level, measure: measure, condition: condition, curve: curve, parameters: parameters, at: range)
        case .rfm(let level, let monetary, let frequency, let condition, let summary):
            return try rfm(level: level, monetary: monetary, frequency: frequency, condition: condition, summary: summary,
                           parameters: parameters, at: range)
        case .ltv(let level, let by, let condition):
            return try ltv(level: level, by: by, condition: condition, parameters: parameters, at: range)
        case .cohort(let level, let period, let measure, let condition):
            return try cohort(level: level, period: period, measure: measure, condition: condition, parameters: parameters, at: range)
        case .basket(let level, let per, let minSupport, let condition):
            return try basket(level: level, per: per, minSupport: minSupport, condition: condition, parameters: parameters, at: range)
        case .churn(let level, let window, let by, let list, let condition):
            return try churn(level: level, window: window, by: by, list: list, condition: condition, parameters: parameters, at: range)
        }
    }

    /// The same engine over another cube (the one with an attribute an analysis computed).
    func over(_ other: Cube) -> QueryEngine {
        var e = QueryEngine(cube: other, sessionMeasures: sessionMeasures)
        e.distinctBitsetBudget = distinctBitsetBudget
        e.cancellation = cancellation
        e.threads = threads
        e.sliceRows = sliceRows
        e.limits = limits
        e.progress = progress
        return e
    }

    /// The time dimension an analysis reads dates from, checked against the analysed level:
    /// a located error when the cube has none (`needs` says what for) or when the level is
    /// itself a level of time (`follows` says what the statement does instead).
    func timeDimension(for statement: String, needs: String, follows: String, level ref: LevelRef, _ level: Expr,
                       help: String) throws(Diagnostic) -> (index: Int, firstDay: Int32) {
        guard let t = cube.dimensions.firstIndex(where: \.isTime), case .time(_, let firstDay) = cube.dimensions[t].source else {
            throw Diagnostic("\(statement) needs the date of each purchase \(needs), and cube '\(cube.name)' has no time dimension", at: level.range,
                             help: "add a time dimension to the model, e.g. { \"name\": \"time\", \"type\": \"time\", \"column\": \"date\" }")
        }
        guard ref.dimension != t else {
            throw Diagnostic("\(statement) \(follows); \(level) is a level of time", at: level.range, help: help)
        }
        return (t, firstDay)
    }

    /// The level an analysis works on, or a located error naming the statement.
    func analysedLevel(_ e: Expr, statement: String, help: String) throws(Diagnostic) -> LevelRef {
        guard case .name(let path, let r) = e, let ref = try Names(cube: cube, extraMeasures: sessionMeasures).level(path, at: r) else {
            throw Diagnostic("\(statement) works on the members of a level; '\(e)' is not a level", at: e.range, help: help)
        }
        return ref
    }
}

/// An analysis as it ran: the result, each grouped query it scanned (with what the scan
/// did), its own steps after the scans, and the time they took.
struct AnalysisRun {
    var table: ResultTable
    /// The grouped queries, each with the SELECT it stands for and the cube it ran on (the
    /// statement's own when an analysis added an attribute).
    var scans: [(select: String, run: Execution, cube: Cube)] = []
    /// What the analysis did with the groups, one (step, detail) each.
    var steps: [(String, String)] = []
    /// Time after the scans.
    var finish: Duration = .zero
}

/// The values of some measures for every member of a level that has facts under a
/// condition: one grouped query (`SELECT items BY level WHERE condition`) through the
/// executor, whose groups are read as the scan leaves them (no result row is built per
/// member, and no row limit applies: the members are not printed as such).
struct MemberValues {
    /// The bound query.
    let query: BoundQuery
    /// One group per member with facts, in no particular order.
    let groups: GroupTable
    /// Per SELECT item, the value of each group.
    let columns: [[Value]]
    /// The query's warnings.
    let warnings: [Diagnostic]
    /// The scan, for EXPLAIN (its table is empty: no rows were built).
    let execution: Execution
    /// The SELECT it ran, as text.
    let select: String
    /// The cube it ran on.
    let cube: Cube
    /// When the scan ended.
    let scanned: ContinuousClock.Instant

    /// Number of members with facts.
    var count: Int { groups.count }
    /// The member code of group `g`.
    func member(_ g: Int) -> Int32 { groups.code(g, 0) }
    /// The output item (header, format) of column `i`.
    func item(_ i: Int) -> OutputItem { query.items[i] }

    /// For an item that is the first or last member of a level (`min(time.month)`): each
    /// group's member code (-1 for none), read from the scan's state; nil for other items.
    func memberCodes(_ i: Int) -> [Int32]? {
        guard case .slot(let s, _) = query.values[query.items[i].value], let m = groups.accumulators[s] as? MemberAccumulator else { return nil }
        return Array(m.best.prefix(count))
    }
}

extension QueryEngine {
    /// The values of `items` for each member of `level` with facts under `condition`.
    /// An analytic function (share, rank, growth ...) written in an item or inside a named
    /// measure has no meaning per member: the error says `analytic`, with `help`.
    func memberValues(of items: [SelectItem], by level: Expr, where condition: Condition?, analytic: String, help: String,
                      parameters: [String: String], at range: SourceRange) throws(Diagnostic) -> MemberValues {
        try groupValues(of: items, by: [level], where: condition, analytic: analytic, help: help, parameters: parameters, at: range)
    }

    /// The values of `items` for each group of the `levels` with facts under `condition`
    /// (`MemberValues.groups` has one code per level); as `memberValues`.
    func groupValues(of items: [SelectItem], by levels: [Expr], where condition: Condition?, analytic: String, help: String,
                     parameters: [String: String], at range: SourceRange) throws(Diagnostic) -> MemberValues {
        for item in items {
            if let call = QueryEngine.analyticCall(in: item.expr) { throw Diagnostic(analytic, at: call.range, help: help) }
        }
        var select = SelectStatement(range: range)
        select.items = items
        select.by = levels.map { .level($0) }
        select.whereClause = condition
        let query = try bind(select, parameters: parameters,
                             groupFilterHint: "to keep only members whose measure passes, write WHERE \(levels[0]) IN (SELECT \(levels[0]) HAVING ...)")
        for (i, item) in query.items.enumerated() where query.values[item.value].hasAnalytic {  // inside a named measure
            throw Diagnostic(analytic, at: items[i].expr.range, help: help)
        }
        let scanned = try Executor(cube: cube, context: context()).scan(query)
        let fine = scanned.fine
        let evaluator = MeasureEvaluator(table: fine, total: TotalGroup(of: fine), cube: cube, values: query.values)
        let columns = query.items.map { evaluator.column(query.values[$0.value]) }
        let execution = Execution(table: ResultTable(columns: [], rows: [], rowKinds: []), keys: [], othersKeys: [], plan: scanned.plan,
                                  scan: scanned.stats, groups: fine.count, children: scanned.children, timings: scanned.timings)
        return MemberValues(query: query, groups: fine, columns: columns, warnings: query.warnings, execution: execution,
                            select: Statement.select(select).description, cube: cube, scanned: ContinuousClock.now)
    }

    /// `EXPLAIN [ANALYZE] analysis`: the grouped queries the analysis scans, each explained
    /// as a SELECT is, then the analysis's own steps and the time of each phase.
    public func explain(_ a: Analysis, analyze: Bool = false, parameters: [String: String] = [:], at range: SourceRange) throws(Diagnostic) -> ResultTable {
        let run = try self.run(a, parameters: parameters, at: range)
        var rows: [(String, String)] = [("analysis", "\(a)")]
        for (i, scan) in run.scans.enumerated() {
            rows.append(("query \(i + 1)", scan.select))
            over(scan.cube).describe(scan.run, into: &rows, indent: "  ")
            rows.append(("  time", scan.run.timings.map { "\($0.phase) \(ms($0.duration))" }.joined(separator: ", ")))
        }
        rows += run.steps
        rows.append(("result", "\(grouped(run.table.rows.count)) rows, \(run.table.columns.count) columns"))
        if !run.steps.isEmpty { rows.append(("time", "analysis \(ms(run.finish))")) }
        return ResultTable(columns: [ResultColumn(name: "step", kind: .member, format: nil), ResultColumn(name: "detail", kind: .member, format: nil)],
                           rows: rows.map { [.text($0.0), .text($0.1)] }, rowKinds: rows.map { _ in .detail })
    }
}

extension QueryEngine {
    /// The first call of an analytic function (`share`, `rank`, `growth`, ...) written in
    /// an expression, before it is bound (named measures are checked after).
    static func analyticCall(in e: Expr) -> Expr? {
        switch e {
        case .call(let name, let args, _, _, _):
            if Binder.analyticFunctions.contains(name.lowercased()) { return e }
            return args.lazy.compactMap(analyticCall).first
        case .negate(let x, _), .per(_, let x, _, _, _), .filtered(let x, _, _), .all(let x, _): return analyticCall(in: x)
        case .binary(_, let a, let b, _): return analyticCall(in: a) ?? analyticCall(in: b)
        case .caseWhen(let branches, let otherwise, _):
            return branches.lazy.compactMap { analyticCall(in: $0.result) }.first ?? otherwise.flatMap(analyticCall)
        case .number, .string, .parameter, .name, .countHaving: return nil
        }
    }
}

extension MeasureExpr {
    /// Whether an analytic function (share, rank, prev, growth, ...) is anywhere inside.
    var hasAnalytic: Bool {
        switch self {
        case .analytic, .shareOfAll: return true
        case .negate(let x): return x.hasAnalytic
        case .binary(_, let a, let b): return a.hasAnalytic || b.hasAnalytic
        case .scalar(_, let args): return args.contains(where: \.hasAnalytic)
        case .caseWhen(let branches, let otherwise): return branches.contains(where: \.then.hasAnalytic) || (otherwise?.hasAnalytic ?? false)
        case .slot, .constant, .value: return false
        }
    }
}

extension MemberValues {
    /// The scan as EXPLAIN of the analysis lists it.
    var explained: (select: String, run: Execution, cube: Cube) { (select, execution, cube) }
}
