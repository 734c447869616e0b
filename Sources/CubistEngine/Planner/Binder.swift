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

    private(set) var plan = BoundQuery()
    private var slots: [AggregateKind: Int] = [:]
    private var valueIndex: [MeasureExpr: Int] = [:]
    /// Measures being bound, innermost last, to refuse a measure that refers to itself.
    private var binding: [String] = []
    /// Where analytic calls are, for errors about what they need.
    private var analyticCalls: [(kind: AnalyticKind, level: LevelRef?, range: SourceRange)] = []

    init(names: Names, parameters: [String: String], nesting: Int = 0) {
        self.names = names
        self.parameters = parameters
        self.nesting = nesting
    }

    /// Deepest nesting of sub-selects bound (a guard against runaway recursion).
    static let maximumNesting = 64

    var cube: Cube { names.cube }

    static let aggregateFunctions = FunctionRegistry.names(.aggregate)
    static let analyticFunctions = FunctionRegistry.names(.analytic)

    // MARK: the statement

    mutating func bind(_ s: SelectStatement) throws(QueryError) -> BoundQuery {
        plan.range = s.range
        if let from = s.from, case .name(let path, let range) = from, !path[0].caseInsensitiveEquals(cube.name) {
            throw QueryError("unknown cube '\(path[0])'", at: range,
                             help: Suggestions.didYouMean(path[0], in: [cube.name]) ?? "the loaded cube is '\(cube.name)'")
        }
        for item in s.by {
            switch item {
            case .level(let e):
                try addLevel(e, role: "BY")
            case .rollup(let list, let range):
                guard plan.rollupStart == nil else { throw QueryError("only one ROLLUP is allowed in BY", at: range) }
                plan.rollupStart = plan.levels.count
                for e in list { try addLevel(e, role: "ROLLUP") }
            }
        }
        if let start = plan.rollupStart, start < plan.levels.count, case .level(let e)? = s.by.last {
            throw QueryError("ROLLUP must be the last item of BY", at: e.range, help: "move '\(e)' before ROLLUP(...)")
        }
        // Levels in the SELECT list are grouped on, like BY levels.
        var measureItems: [SelectItem] = []
        for item in s.items {
            if case .name(let path, let range) = item.expr, path.count > 1 || names.measure(path[0]) == nil,
               let level = try names.level(path, at: range) {
                if !plan.levels.contains(level) {
                    if plan.rollupStart != nil {
                        throw QueryError("'\(item.expr)' is not in BY", at: range, help: "with ROLLUP, list every level in BY")
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
                throw QueryError("'\(e)' is both in BY and ACROSS", at: e.range, help: "a level is either rows (BY) or columns (ACROSS)")
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
            if plan.rollupStart != nil { throw QueryError("TOP cannot be combined with ROLLUP", at: top.range) }
            if plan.byCount == 0 { throw QueryError("TOP needs levels in BY to rank", at: top.range, help: "add BY customer.customer, for example") }
            let (count, scale) = try topCount(top.count, percent: top.percent)
            let (m, _) = try measure(top.by, context: "TOP")
            plan.top = TopClause(count: count, scale: scale, percent: top.percent, value: value(m), others: top.withOthers)
        }
        for o in s.orderBy { plan.order.append(try orderKey(o, items: measureItems)) }
        if let l = s.limit { plan.limit = try whole(l, "LIMIT") }
        if let o = s.offset { plan.offset = try whole(o, "OFFSET") }
        plan.totals = s.withTotals
        try checkAnalytics(s)
        if plan.warnings.count > 5 {
            // A long IN list of non-members would print the statement once per value.
            let more = plan.warnings.count - 5, next = plan.warnings[5].range
            plan.warnings = Array(plan.warnings.prefix(5))
            plan.warnings.append(QueryWarning("and \(grouped(more)) more warning\(more == 1 ? "" : "s") like these, from here on", at: next,
                                              help: "list the members with SHOW MEMBERS level"))
        }
        return plan
    }

    private mutating func addLevel(_ e: Expr, role: String) throws(QueryError) {
        let level = try names.requireLevel(e, role: role)
        if plan.levels.contains(level) {
            throw QueryError("'\(e)' appears twice in BY", at: e.range)
        }
        plan.levels.append(level)
        plan.levelHeaders.append(e.description)
    }

    private mutating func value(_ m: MeasureExpr) -> Int {
        if let i = valueIndex[m] { return i }
        plan.values.append(m)
        valueIndex[m] = plan.values.count - 1
        return plan.values.count - 1
    }

    private mutating func slot(_ kind: AggregateKind) -> Int {
        if let i = slots[kind] { return i }
        plan.aggregates.append(kind)
        slots[kind] = plan.aggregates.count - 1
        return plan.aggregates.count - 1
    }

    private func whole(_ e: Expr, _ keyword: String) throws(QueryError) -> Int {
        try Binder.wholeNumber(e, keyword, parameters)
    }

    /// A count written after `keyword` (LIMIT, OFFSET, ROW): a whole number, or a parameter
    /// whose value is one. The one place counts are read.
    static func wholeNumber(_ e: Expr, _ keyword: String, _ parameters: [String: String]) throws(QueryError) -> Int {
        var text: String
        switch e {
        case .number(let n, _): text = n
        case .parameter(let p, let r): text = try Names.parameter(p, parameters, at: r)
        default: text = e.description
        }
        text = text.trimmingSpaces
        guard let n = Int(text), n >= 0 else {
            throw QueryError("\(keyword) needs a whole number, found '\(text)'", at: e.range)
        }
        return n
    }

    private func topCount(_ e: Expr, percent: Bool) throws(QueryError) -> (Int128, Int) {
        var text: String
        switch e {
        case .number(let n, _): text = n
        case .parameter(let p, let r): text = try Names.parameter(p, parameters, at: r)
        default: text = e.description
        }
        guard let d = FieldParser.decimal(of: text.trimmingSpaces), d.mantissa >= 0, percent || d.scale == 0 else {
            throw QueryError("TOP needs \(percent ? "a number" : "a whole number"), found '\(text)'", at: e.range)
        }
        if percent, d > ScaledDecimal(mantissa: 100, scale: 0) {
            throw QueryError("TOP \(text) PERCENT is more than 100 percent", at: e.range)
        }
        return (Int128(d.mantissa), d.scale)
    }

    // MARK: measure expressions

    /// Binds an expression over measures; returns it with the format its result is shown in.
    mutating func measure(_ e: Expr, context: String, insideAnalytic: Bool = false) throws(QueryError) -> (MeasureExpr, MeasureFormat?) {
        switch e {
        case .number(let n, let r):
            return (.constant(try Binder.number(n, at: r)), nil)
        case .string(_, let r):
            throw QueryError("text is not a measure", at: r, help: "compare members in WHERE, e.g. WHERE customer.region = 'Seoul'")
        case .parameter(let p, let r):
            let text = try Names.parameter(p, parameters, at: r)
            guard let d = FieldParser.decimal(of: text.trimmingSpaces) else {
                throw QueryError("parameter $\(p) is '\(text)', not a number", at: r)
            }
            return (.constant(.exact(Int128(d.mantissa), scale: d.scale)), nil)
        case .name(let path, let r):
            let written = path.joined(separator: ".")
            if path.count == 1, let m = names.measure(path[0]) { return (try modelMeasure(m, at: r), m.format) }
            if (try names.level(path, at: r)) != nil {
                let where_ = context == "HAVING" ? "WHERE" : "BY"
                throw QueryError("'\(written)' is a level, not a measure", at: r,
                                 help: context == "HAVING" ? "filter members in \(where_)" : "group on it with BY \(written), or count it with count(distinct \(written))")
            }
            if path.count == 1, names.numericColumn(path[0]) != nil {
                throw QueryError("'\(written)' is a fact column, not a measure", at: r, help: "aggregate it, e.g. sum(\(written))")
            }
            throw QueryError("unknown measure '\(written)'", at: r, help: names.suggestion(for: written, levelsOnly: false))
        case .negate(let x, _):
            let (m, f) = try measure(x, context: context, insideAnalytic: insideAnalytic)
            return (.negate(m), f)
        case .binary(let op, let l, let r, _):
            let (a, fa) = try measure(l, context: context, insideAnalytic: insideAnalytic)
            let (b, fb) = try measure(r, context: context, insideAnalytic: insideAnalytic)
            var format: MeasureFormat?
            if op == .add || op == .subtract { format = fa == fb ? fa : (fa ?? fb) }
            if op == .multiply || op == .divide, case .constant = b { format = fa == .percent ? nil : fa }
            return (.binary(op, a, b), format)
        case .call(let name, let args, let distinct, let star, let r):
            if Binder.aggregateFunctions.contains(name) {
                return try aggregateCall(name, args, distinct: distinct, star: star, at: r)
            }
            if Binder.analyticFunctions.contains(name) {
                if insideAnalytic {
                    throw QueryError("\(name)() cannot be nested inside another analytic function", at: r)
                }
                return try analyticCall(name, args, distinct: distinct, star: star, at: r, context: context)
            }
            throw QueryError("unknown function '\(name)'", at: r,
                             help: Suggestions.didYouMean(name, in: FunctionRegistry.names)
                                ?? "functions: " + FunctionRegistry.names.joined(separator: ", "))
        }
    }

    static func number(_ text: String, at range: SourceRange) throws(QueryError) -> Value {
        if let d = FieldParser.decimal(of: text) { return .exact(Int128(d.mantissa), scale: d.scale) }
        if let x = Double(text), x.isFinite { return .double(x) }
        throw QueryError("number \(text) is out of range", at: range)
    }

    private mutating func modelMeasure(_ m: Measure, at range: SourceRange) throws(QueryError) -> MeasureExpr {
        switch m.definition {
        case .expression(let e):
            let key = m.name.lowercased()
            if binding.contains(key) {
                throw QueryError("measure '\(m.name)' refers to itself (\((binding + [key]).joined(separator: " -> ")))", at: range,
                                 help: "define it from other measures")
            }
            binding.append(key)
            defer { binding.removeLast() }
            return try measure(e, context: "measure '\(m.name)'").0
        case .aggregate(let agg, let input):
            switch input {
            case .rows:
                return .slot(slot(.countRows), .value)
            case .column(let c):
                guard let i = names.numericColumn(c) else { throw QueryError("measure '\(m.name)' refers to a missing column '\(c)'", at: range) }
                return aggregate(agg, .column(i))
            case .row(let e):
                return aggregate(agg, try rowExpr(e))
            case .dimension(let d):
                guard let di = cube.dimensions.firstIndex(where: { $0.name == d }) else { throw QueryError("measure '\(m.name)' refers to a missing dimension", at: range) }
                let leaf = LevelRef(dimension: di, index: cube.dimensions[di].levels.count - 1, isAttribute: false)
                return agg == .count ? .slot(slot(.countRows), .value) : .slot(slot(.distinctMembers(leaf)), .value)
            case .level(let d, let l):
                guard let level = try names.level([d, l], at: range) else { throw QueryError("measure '\(m.name)' refers to a missing level", at: range) }
                return agg == .count ? .slot(slot(.countRows), .value) : .slot(slot(.distinctMembers(level)), .value)
            }
        }
    }

    private mutating func aggregate(_ agg: Aggregate, _ x: RowExpr) -> MeasureExpr {
        switch agg {
        case .sum: return .slot(slot(.sum(x)), .sum)
        case .avg: return .slot(slot(.sum(x)), .average)
        case .count: return .slot(slot(.sum(x)), .count)
        case .min: return .slot(slot(.min(x)), .value)
        case .max: return .slot(slot(.max(x)), .value)
        case .countDistinct:
            if case .column(let c) = x { return .slot(slot(.distinctValues(c)), .value) }
            return .slot(slot(.sum(x)), .count)
        }
    }

    private mutating func aggregateCall(_ name: String, _ args: [Expr], distinct: Bool, star: Bool, at r: SourceRange) throws(QueryError) -> (MeasureExpr, MeasureFormat?) {
        if star {
            guard name == "count" else { throw QueryError("only count takes *", at: r, help: "write count(*) or \(name)(column)") }
            return (.slot(slot(.countRows), .value), .integer)
        }
        guard args.count == 1 else {
            throw QueryError("\(name)() takes one argument, found \(args.count)", at: r)
        }
        let arg = args[0]
        if case .name(let path, let nr) = arg, path.count > 1 || names.numericColumn(path[0]) == nil,
           let level = try names.level(path, at: nr) {
            switch (name, distinct) {
            case ("count", true): return (.slot(slot(.distinctMembers(level)), .value), .integer)
            case ("min", _), ("max", _): return (.slot(slot(.member(level, last: name == "max")), .value), nil)
            case ("count", false):
                throw QueryError("count(\(arg)) counts rows, not members", at: r, help: "write count(distinct \(arg)) for the number of members")
            default:
                throw QueryError("\(name)() of a level has no meaning", at: r, help: "use min/max(level) for the first/last member, count(distinct level) for how many")
            }
        }
        if distinct {
            guard name == "count" else { throw QueryError("DISTINCT is only for count", at: r) }
            if case .name(let path, _) = arg, path.count == 1 {
                if let c = names.numericColumn(path[0]) { return (.slot(slot(.distinctValues(c)), .value), .integer) }
                if let d = cube.dimensions.firstIndex(where: { dimension in
                    if case .table(_, let key) = dimension.source { return key.caseInsensitiveEquals(path[0]) }
                    return false
                }) {
                    let leaf = LevelRef(dimension: d, index: cube.dimensions[d].levels.count - 1, isAttribute: false)
                    return (.slot(slot(.distinctMembers(leaf)), .value), .integer)
                }
            }
            throw QueryError("count(distinct ...) takes a level or a numeric fact column", at: arg.range, help: "e.g. count(distinct customer.customer)")
        }
        let x = try rowExpr(arg)
        switch name {
        case "sum": return (aggregate(.sum, x), nil)
        case "avg": return (aggregate(.avg, x), nil)
        case "min": return (aggregate(.min, x), nil)
        case "max": return (aggregate(.max, x), nil)
        default: return (aggregate(.count, x), .integer)
        }
    }

    private mutating func analyticCall(_ name: String, _ args: [Expr], distinct: Bool, star: Bool, at r: SourceRange, context: String) throws(QueryError) -> (MeasureExpr, MeasureFormat?) {
        let kind = AnalyticKind(rawValue: name) ?? .share
        let arity = FunctionRegistry.function(named: name)?.arguments ?? 1...1
        guard !star, !distinct, arity.contains(args.count) else {
            throw QueryError("\(name)() takes \(kind == .share ? "a measure and optionally a level" : "one measure")", at: r,
                             help: kind == .share ? "e.g. share(revenue) or share(revenue, customer.region)" : "e.g. \(name)(revenue)")
        }
        let (m, format) = try measure(args[0], context: context, insideAnalytic: true)
        var level: LevelRef?
        if args.count == 2 { level = try names.requireLevel(args[1], role: "share()") }
        analyticCalls.append((kind, level, r))
        let result = MeasureExpr.analytic(kind, m, level: kind == .share ? level : nil)
        switch FunctionRegistry.function(named: name)?.format ?? .argument {
        case .percent: return (result, .percent)
        case .integer: return (result, .integer)
        case .argument: return (result, format)
        }
    }

    /// Every analytic function has what it needs in the grouping levels; errors point at the call.
    private func checkAnalytics(_ s: SelectStatement) throws(QueryError) {
        for call in analyticCalls {
            if [.prev, .growth, .yoy, .running].contains(call.kind), Binder.timeKey(plan, cube) == nil {
                throw QueryError("\(call.kind.rawValue)() needs a time level (year, quarter, month or day) in BY or ACROSS", at: call.range,
                                 help: "add BY time.month, for example")
            }
            if let level = call.level, Binder.parentPosition(of: level, plan, cube) == nil {
                throw QueryError("share(m, \(level.qualifiedName(in: cube))) needs a level of \(cube.dimensions[level.dimension].name) at or below \(level.level(in: cube).name) in BY",
                                 at: call.range, help: "add BY \(level.qualifiedName(in: cube)) or a finer level of it")
            }
        }
    }

    /// The position of the finest time hierarchy level among the grouping levels.
    static func timeKey(_ plan: BoundQuery, _ cube: Cube) -> Int? {
        LevelRef.finestTime(in: plan.levels, cube)
    }

    /// The position of the grouping level that `level` is an ancestor (or self) of.
    static func parentPosition(of level: LevelRef, _ plan: BoundQuery, _ cube: Cube) -> Int? {
        plan.levels.firstIndex { $0.rollsUp(to: level) }
    }

    // MARK: row-level arithmetic

    func rowExpr(_ e: Expr) throws(QueryError) -> RowExpr {
        switch e {
        case .number(let n, let r):
            switch try Binder.number(n, at: r) {
            case .exact(let m, let s): return .constant(Int64(m), scale: s)
            case .double(let d): return .doubleConstant(d)
            default: throw QueryError("bad number", at: r)
            }
        case .parameter(let p, let r):
            let text = try Names.parameter(p, parameters, at: r)
            guard let d = FieldParser.decimal(of: text.trimmingSpaces) else { throw QueryError("parameter $\(p) is '\(text)', not a number", at: r) }
            return .constant(d.mantissa, scale: d.scale)
        case .string(_, let r):
            throw QueryError("text cannot take part in arithmetic", at: r)
        case .name(let path, let r):
            let written = path.joined(separator: ".")
            if path.count == 1, let c = names.numericColumn(path[0]) { return .column(c) }
            if path.count == 1, names.measure(path[0]) != nil {
                throw QueryError("'\(written)' is a measure; aggregates take fact columns", at: r,
                                 help: "use \(written) on its own, outside the aggregate")
            }
            if (try names.level(path, at: r)) != nil {
                throw QueryError("'\(written)' is a level; row arithmetic takes numeric fact columns", at: r)
            }
            throw QueryError("unknown fact column '\(written)'", at: r,
                             help: Suggestions.didYouMean(written, in: cube.facts.numericColumns.map(\.name))
                                ?? "numeric fact columns: " + cube.facts.numericColumns.map(\.name).joined(separator: ", "))
        case .negate(let x, _): return .negate(try rowExpr(x))
        case .binary(let op, let l, let r, _): return .binary(op, try rowExpr(l), try rowExpr(r))
        case .call(let name, _, _, _, let r):
            throw QueryError("\(name)() cannot be used inside an aggregate", at: r, help: "aggregates take fact columns and arithmetic on them")
        }
    }

    // MARK: WHERE

    mutating func rowFilter(_ c: Condition) throws(QueryError) -> RowFilter {
        switch c {
        case .and(let a, let b): return .and([try rowFilter(a), try rowFilter(b)])
        case .or(let a, let b): return .or([try rowFilter(a), try rowFilter(b)])
        case .not(let a, _): return .not(try rowFilter(a))
        case .compare(let x, let op, let y):
            if let level = try whereLevel(x) {
                return try memberFilter(level, x) { (b: inout Binder, members: MemberSet) throws(QueryError) in
                    try members.compare(op, b.literal(y), at: y.range, warnings: &b.plan.warnings)
                }
            }
            if let level = try whereLevel(y), let flipped = op.flipped {
                return try memberFilter(level, y) { (b: inout Binder, members: MemberSet) throws(QueryError) in
                    try members.compare(flipped, b.literal(x), at: x.range, warnings: &b.plan.warnings)
                }
            }
            return .compare(try whereRow(x), op, try whereRow(y))
        case .between(let x, let low, let high, let negated):
            let filter: RowFilter
            if let level = try whereLevel(x) {
                filter = try memberFilter(level, x) { (b: inout Binder, members: MemberSet) throws(QueryError) in
                    let lo = try members.compare(.greaterOrEqual, b.literal(low), at: low.range, warnings: &b.plan.warnings)
                    let hi = try members.compare(.lessOrEqual, b.literal(high), at: high.range, warnings: &b.plan.warnings)
                    return zip(lo, hi).map { $0 && $1 }
                }
            } else {
                let v = try whereRow(x)
                filter = .and([.compare(v, .greaterOrEqual, try whereRow(low)), .compare(v, .lessOrEqual, try whereRow(high))])
            }
            return negated ? .not(filter) : filter
        case .inList(let x, let values, let negated):
            let filter: RowFilter
            if let level = try whereLevel(x) {
                filter = try memberFilter(level, x) { (b: inout Binder, members: MemberSet) throws(QueryError) in
                    var keep = [Bool](repeating: false, count: members.level.count)
                    for v in values {
                        for c in members.equalCodes(try b.literal(v), at: v.range, warnings: &b.plan.warnings) { keep[c] = true }
                    }
                    return keep
                }
            } else {
                let v = try whereRow(x)
                var options: [RowFilter] = []
                for value in values { options.append(.compare(v, .equal, try whereRow(value))) }
                filter = .or(options)
            }
            return negated ? .not(filter) : filter
        case .like(let x, let pattern, let negated):
            guard let level = try whereLevel(x) else {
                throw QueryError("LIKE matches members of a level, and '\(x)' is not a level", at: x.range)
            }
            let filter = try memberFilter(level, x) { (b: inout Binder, members: MemberSet) throws(QueryError) in
                let p = try b.literal(pattern)
                return members.level.members.map { Like.matches($0, pattern: p) }
            }
            return negated ? .not(filter) : filter
        case .inSelect(let x, let sub, let negated):
            guard let level = try whereLevel(x) else {
                throw QueryError("IN (SELECT ...) takes a level on its left, found '\(x)'", at: x.range, help: "e.g. customer.customer IN (SELECT customer.customer WHERE ...)")
            }
            let child = try subQuery(sub)
            guard let subLevel = child.levels.first, subLevel == level else {
                throw QueryError("the sub-select lists members of \(child.levels[0].qualifiedName(in: cube)), not of \(level.qualifiedName(in: cube))", at: sub.range,
                                 help: "select the same level: SELECT \(x) WHERE ...")
            }
            plan.subSelects.append(child)
            plan.warnings += child.warnings
            let filter = RowFilter.subSelect(index: plan.subSelects.count - 1, level: level)
            return negated ? .not(filter) : filter
        }
    }

    /// Binds a sub-select of `IN (SELECT ...)`: one level, no ACROSS, no ROLLUP.
    private func subQuery(_ sub: SelectStatement) throws(QueryError) -> BoundQuery {
        guard nesting < Binder.maximumNesting else {
            throw QueryError("sub-selects are nested too deeply (more than \(Binder.maximumNesting))", at: sub.range,
                             help: "combine the conditions of the inner sub-selects in one WHERE")
        }
        var binder = Binder(names: names, parameters: parameters, nesting: nesting + 1)
        let child = try binder.bind(sub)
        guard child.byCount == 1, child.acrossCount == 0, child.rollupStart == nil else {
            throw QueryError("a sub-select in IN (...) must list exactly one level", at: sub.range,
                             help: "e.g. SELECT customer.customer WHERE time.year = 2023")
        }
        return child
    }

    /// The level a WHERE operand names, or nil when it is no level. Measures are errors here.
    private func whereLevel(_ e: Expr) throws(QueryError) -> LevelRef? {
        guard case .name(let path, let r) = e else { return nil }
        if let level = try names.level(path, at: r) { return level }
        if path.count == 1, names.measure(path[0]) != nil, names.numericColumn(path[0]) == nil {
            throw QueryError("'\(path[0])' is a measure; WHERE filters members and fact rows", at: r,
                             help: "filter on measures with HAVING \(path[0]) ...")
        }
        return nil
    }

    private func whereRow(_ e: Expr) throws(QueryError) -> RowExpr {
        if case .call(let name, _, _, _, let r) = e, Binder.aggregateFunctions.contains(name) || Binder.analyticFunctions.contains(name) {
            throw QueryError("\(name)() is a measure; WHERE filters members and fact rows", at: r, help: "filter on measures with HAVING")
        }
        if case .string(let s, let r) = e {
            throw QueryError("'\(s)' is compared with something that is not a level", at: r,
                             help: "compare members of a level, e.g. customer.region = '\(s)'")
        }
        return try rowExpr(e)
    }

    /// A member value written in a condition: a string, a number, or a parameter's value.
    func literal(_ e: Expr) throws(QueryError) -> String {
        try Binder.literal(e, parameters)
    }

    static func literal(_ e: Expr, _ parameters: [String: String]) throws(QueryError) -> String {
        switch e {
        case .string(let s, _): return s
        case .number(let n, _): return n
        case .negate(.number(let n, _), _): return "-" + n
        case .parameter(let p, let r): return try Names.parameter(p, parameters, at: r)
        default:
            throw QueryError("expected a member value (a string or a number), found '\(e)'", at: e.range,
                             help: "write members in single quotes, e.g. 'Seoul'")
        }
    }

    private mutating func memberFilter(_ level: LevelRef, _ e: Expr, _ decide: (inout Binder, MemberSet) throws(QueryError) -> [Bool]) throws(QueryError) -> RowFilter {
        let members = MemberSet(level: level.level(in: cube), name: e.description)
        return leafFilter(level, try decide(&self, members))
    }

    private func leafFilter(_ level: LevelRef, _ keep: [Bool]) -> RowFilter {
        RowFilter.leafMask(level, keep, cube)
    }

    private func simplify(_ f: RowFilter) -> RowFilter { f.simplified }
}

extension RowFilter {
    /// A mask over the dimension's leaf members from a mask over the level's members.
    static func leafMask(_ level: LevelRef, _ keep: [Bool], _ cube: Cube) -> RowFilter {
        if level.isLeaf(in: cube) { return .members(dimension: level.dimension, mask: keep) }
        let map = level.leafMap(in: cube)
        return .members(dimension: level.dimension, mask: map.map { keep[Int($0)] })
    }

    /// Member masks of one dimension under AND/OR/NOT folded into one mask, so each row is
    /// tested once per dimension.
    var simplified: RowFilter { RowFilter.simplify(self) }

    private static func simplify(_ f: RowFilter) -> RowFilter {
        switch f {
        case .not(let inner):
            switch simplify(inner) {
            case .members(let d, let mask): return .members(dimension: d, mask: mask.map { !$0 })
            case .constant(let b): return .constant(!b)
            case let other: return .not(other)
            }
        case .and(let list), .or(let list):
            let isAnd: Bool
            if case .and = f { isAnd = true } else { isAnd = false }
            var flat: [RowFilter] = []
            for child in list.map(simplify) {
                switch child {
                case .and(let inner) where isAnd: flat += inner
                case .or(let inner) where !isAnd: flat += inner
                default: flat.append(child)
                }
            }
            var masks: [Int: [Bool]] = [:]
            var order: [Int] = []
            var rest: [RowFilter] = []
            for child in flat {
                switch child {
                case .members(let d, let mask):
                    if let m = masks[d] {
                        masks[d] = zip(m, mask).map { isAnd ? ($0 && $1) : ($0 || $1) }
                    } else {
                        masks[d] = mask
                        order.append(d)
                    }
                case .constant(let b):
                    if b != isAnd { return .constant(b) }
                default: rest.append(child)
                }
            }
            let all = order.map { RowFilter.members(dimension: $0, mask: masks[$0] ?? []) } + rest
            if all.isEmpty { return .constant(isAnd) }
            if all.count == 1 { return all[0] }
            return isAnd ? .and(all) : .or(all)
        default:
            return f
        }
    }

}

extension Binder {
    // MARK: HAVING and ORDER BY

    private mutating func groupFilter(_ c: Condition) throws(QueryError) -> GroupFilter {
        switch c {
        case .and(let a, let b): return .and(try groupFilter(a), try groupFilter(b))
        case .or(let a, let b): return .or(try groupFilter(a), try groupFilter(b))
        case .not(let a, _): return .not(try groupFilter(a))
        case .compare(let x, let op, let y):
            return .compare(try havingValue(x), op, try havingValue(y))
        case .between(let x, let low, let high, let negated):
            let v = try havingValue(x)
            let f = GroupFilter.and(.compare(v, .greaterOrEqual, try havingValue(low)), .compare(v, .lessOrEqual, try havingValue(high)))
            return negated ? .not(f) : f
        case .inList(let x, let values, let negated):
            let v = try havingValue(x)
            guard var f = try values.first.map({ (e: Expr) throws(QueryError) in GroupFilter.compare(v, .equal, try havingValue(e)) }) else {
                throw QueryError("IN needs at least one value", at: x.range)
            }
            for e in values.dropFirst() { f = .or(f, .compare(v, .equal, try havingValue(e))) }
            return negated ? .not(f) : f
        case .like(let x, _, _), .inSelect(let x, _, _):
            throw QueryError("HAVING compares measures; member tests belong in WHERE", at: x.range, help: "move this condition to WHERE")
        }
    }

    private mutating func havingValue(_ e: Expr) throws(QueryError) -> Int {
        if case .name(let path, let r) = e, path.count == 1, let i = plan.items.firstIndex(where: { $0.header.caseInsensitiveEquals(path[0]) }),
           names.measure(path[0]) == nil {
            _ = r
            return plan.items[i].value
        }
        return value(try measure(e, context: "HAVING").0)
    }

    private mutating func orderKey(_ o: OrderItem, items: [SelectItem]) throws(QueryError) -> OrderKey {
        let written = o.expr.description
        if let i = plan.items.firstIndex(where: { $0.header.caseInsensitiveEquals(written) }) {
            return .value(plan.items[i].value, descending: o.descending)
        }
        if let j = plan.levelHeaders.firstIndex(where: { $0.caseInsensitiveEquals(written) }) {
            return .level(j, descending: o.descending)
        }
        if case .name(let path, let r) = o.expr, path.count > 1 || names.measure(path[0]) == nil,
           let level = try names.level(path, at: r) {
            guard let j = plan.levels.firstIndex(of: level), j < plan.byCount else {
                throw QueryError("ORDER BY \(written): the level is not in BY", at: r, help: "add it to BY, or order by a measure")
            }
            return .level(j, descending: o.descending)
        }
        return .value(value(try measure(o.expr, context: "ORDER BY").0), descending: o.descending)
    }
}

extension ComparisonOperator {
    /// The operator with its operands swapped: `a < b` is `b > a`.
    var flipped: ComparisonOperator? {
        switch self {
        case .equal, .notEqual: return self
        case .less: return .greater
        case .lessOrEqual: return .greaterOrEqual
        case .greater: return .less
        case .greaterOrEqual: return .lessOrEqual
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
