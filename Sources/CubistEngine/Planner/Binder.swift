import CubistCore
import CubistStore
import CubistSyntax

/// Binds a parsed SELECT to a cube: resolves every name, checks that each part of the
/// statement is meaningful where it stands, and produces a `BoundQuery`. Binding runs
/// nothing: sub-selects are bound as children of the query, and the executor runs them.
struct Binder {
    let names: Names
    let parameters: [String: String]
    /// How deep this binder's query is nested in sub-selects (0 for the statement itself).
    let nesting: Int

    var plan = BoundQuery()
    var slots: [AggregateKind: Int] = [:]
    var valueIndex: [MeasureExpr: Int] = [:]
    /// Measures being bound, innermost last, to refuse a measure that refers to itself.
    var binding: [String] = []
    /// Where analytic calls are, for errors about what they need.
    var analyticCalls: [(kind: AnalyticKind, level: LevelRef?, all: Int?, range: SourceRange)] = []
    /// The conditions of the FILTER (WHERE ...) clauses being bound, innermost last: every
    /// aggregate bound meanwhile counts only the rows that meet all of them.
    var filters: [RowFilter] = []
    /// True while the condition of a FILTER (WHERE ...) is bound.
    var bindingFilterCondition = false
    /// How to filter on a measure's value where the statement has no HAVING (an analysis):
    /// the help of the warning about a fact column in WHERE. Nil: "write HAVING".
    var groupFilterHint: String?

    init(names: Names, parameters: [String: String], nesting: Int = 0) {
        self.names = names
        self.parameters = parameters
        self.nesting = nesting
    }

    /// Deepest nesting of sub-selects bound (a guard against runaway recursion).
    static let maximumNesting = 64
    /// Longest chain of measures referring to measures (a guard against stack overflow;
    /// the same as the deepest expression nesting the parser accepts).
    static let maximumMeasureDepth = 200
    /// Named measures already bound: their index in `plan.values`.
    var boundMeasures: [String: Int] = [:]
    /// Where the outermost measure reference being bound was written.
    var bindingOrigin: SourceRange?

    var cube: Cube { names.cube }

    static let aggregateFunctions = FunctionRegistry.names(.aggregate)
    static let analyticFunctions = FunctionRegistry.names(.analytic)
    static let scalarFunctions = FunctionRegistry.names(.scalar)

    // MARK: the statement

    mutating func bind(_ s: SelectStatement) throws(Diagnostic) -> BoundQuery {
        plan.range = s.range
        if let from = s.from, case .name(let path, let range) = from, !path[0].caseInsensitiveEquals(cube.name) {
            throw Diagnostic("unknown cube '\(path[0])'", at: range,
                             help: Suggestions.didYouMean(path[0], in: [cube.name]) ?? "the loaded cube is '\(cube.name)'")
        }
        for item in s.by {
            switch item {
            case .level(let e):
                try addLevel(e, role: "BY")
            case .rollup(let list, let range):
                guard plan.rollupStart == nil else { throw Diagnostic("only one ROLLUP is allowed in BY", at: range) }
                plan.rollupStart = plan.levels.count
                for e in list { try addLevel(e, role: "ROLLUP") }
            }
        }
        if let start = plan.rollupStart, start < plan.levels.count, case .level(let e)? = s.by.last {
            throw Diagnostic("ROLLUP must be the last item of BY", at: e.range, help: "move '\(e)' before ROLLUP(...)")
        }
        // Levels in the SELECT list are grouped on, like BY levels.
        var measureItems: [SelectItem] = []
        for item in s.items {
            if case .name(let path, let range) = item.expr, path.count > 1 || names.measure(path[0]) == nil,
               let level = try names.level(path, at: range) {
                if !plan.levels.contains(level) {
                    if plan.rollupStart != nil {
                        throw Diagnostic("'\(item.expr)' is not in BY", at: range, help: "with ROLLUP, list every level in BY")
                    }
                    plan.levels.append(level)
                    plan.levelHeaders.append(item.alias ?? item.expr.description)
                }
                continue
            }
            measureItems.append(item)
        }
        plan.byCount = plan.levels.count
        for e in s.across {
            let level = try names.requireLevel(e, role: "ACROSS")
            if plan.levels.contains(level) {
                throw Diagnostic("'\(e)' is both in BY and ACROSS", at: e.range, help: "a level is either rows (BY) or columns (ACROSS)")
            }
            plan.levels.append(level)
        }
        for item in measureItems {
            let (expr, format) = try measure(item.expr, context: "SELECT")
            let header = item.alias ?? item.expr.description
            plan.items.append(OutputItem(header: header, value: value(expr), format: format))
        }
        if let w = s.whereClause { plan.filter = simplify(try rowFilter(w)) }
        if let h = s.having { plan.having = try groupFilter(h) }
        if let top = s.top {
            if plan.rollupStart != nil { throw Diagnostic("TOP cannot be combined with ROLLUP", at: top.range) }
            if plan.byCount == 0 { throw Diagnostic("TOP needs levels in BY to rank", at: top.range, help: "add BY customer.customer, for example") }
            let (count, scale) = try topCount(top.count, percent: top.percent)
            let (m, _) = try measure(top.by, context: "TOP")
            plan.top = TopClause(count: count, scale: scale, percent: top.percent, value: value(m), others: top.withOthers)
        }
        for o in s.orderBy { plan.order.append(try orderKey(o, items: measureItems)) }
        if let l = s.limit { plan.limit = try whole(l, "LIMIT") }
        if let o = s.offset { plan.offset = try whole(o, "OFFSET") }
        plan.totals = s.withTotals
        try checkAnalytics(s)
        openTimeWindow()
        if plan.warnings.count > 5 {
            // A long IN list of non-members would print the statement once per value.
            let more = plan.warnings.count - 5, next = plan.warnings[5].range ?? plan.range
            plan.warnings = Array(plan.warnings.prefix(5))
            plan.warnings.append(Diagnostic.warning("and \(grouped(more)) more warning\(more == 1 ? "" : "s") like these, from here on", at: next,
                                              help: "list the members with SHOW MEMBERS level"))
        }
        return plan
    }

    mutating func addLevel(_ e: Expr, role: String) throws(Diagnostic) {
        let level = try names.requireLevel(e, role: role)
        if plan.levels.contains(level) {
            throw Diagnostic("'\(e)' appears twice in BY", at: e.range)
        }
        plan.levels.append(level)
        plan.levelHeaders.append(e.description)
    }

    mutating func value(_ m: MeasureExpr) -> Int {
        if let i = valueIndex[m] { return i }
        plan.values.append(m)
        valueIndex[m] = plan.values.count - 1
        return plan.values.count - 1
    }

    mutating func slot(_ kind: AggregateKind) -> Int {
        var kind = kind
        if !filters.isEmpty { kind = .filtered(kind, filters.count == 1 ? filters[0] : .and(filters)) }
        if let i = slots[kind] { return i }
        plan.aggregates.append(kind)
        slots[kind] = plan.aggregates.count - 1
        return plan.aggregates.count - 1
    }

    func whole(_ e: Expr, _ keyword: String) throws(Diagnostic) -> Int {
        try Binder.wholeNumber(e, keyword, parameters)
    }

    /// A count written after `keyword` (LIMIT, OFFSET, ROW): a whole number, or a parameter
    /// whose value is one. The one place counts are read.
    /// The text of a number or `$parameter` written where a count belongs (a parameter's
    /// value without surrounding spaces); any other expression as written, for the error.
    static func numberText(_ e: Expr, _ parameters: [String: String]) throws(Diagnostic) -> String {
        switch e {
        case .number(let n, _): return n.trimmingSpaces
        case .parameter(let p, let r): return try Names.parameter(p, parameters, at: r).trimmingSpaces
        default: return e.description.trimmingSpaces
        }
    }

    static func wholeNumber(_ e: Expr, _ keyword: String, _ parameters: [String: String]) throws(Diagnostic) -> Int {
        let text = try numberText(e, parameters)
        guard let n = Int(text), n >= 0 else {
            throw Diagnostic("\(keyword) needs a whole number, found '\(text)'", at: e.range)
        }
        return n
    }

    func topCount(_ e: Expr, percent: Bool) throws(Diagnostic) -> (Int128, Int) {
        let text = try Binder.numberText(e, parameters)
        guard let d = FieldParser.decimal(of: text), d.mantissa >= 0, percent || d.scale == 0 else {
            throw Diagnostic("TOP needs \(percent ? "a number" : "a whole number"), found '\(text)'", at: e.range)
        }
        if percent, d > ScaledDecimal(mantissa: 100, scale: 0) {
            throw Diagnostic("TOP \(text) PERCENT is more than 100 percent", at: e.range)
        }
        return (Int128(d.mantissa), d.scale)
    }
}
