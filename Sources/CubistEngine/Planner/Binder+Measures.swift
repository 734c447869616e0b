import CubistCore
import CubistStore
import CubistSyntax

extension Binder {
    // MARK: measure expressions

    /// Binds an expression over measures; returns it with the format its result is shown in.
    ///
    /// Each form is bound in a function of its own, so this one's stack frame stays small:
    /// it recurses once per level of an expression and of a chain of measures.
    mutating func measure(_ e: Expr, context: String, insideAnalytic: Bool = false) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        switch e {
        case .number, .string, .parameter:
            return try constantMeasure(e)
        case .name(let path, let r):
            return try namedMeasure(path, at: r, context: context)
        case .all(_, let r):
            throw Diagnostic("ALL belongs in share(m, ALL dimension)", at: r, help: "e.g. share(revenue, ALL channel)")
        case .caseWhen(let branches, let otherwise, _):
            return try caseWhen(branches, otherwise, context: context, insideAnalytic: insideAnalytic)
        case .negate(let x, _):
            return try negatedMeasure(x, context: context, insideAnalytic: insideAnalytic)
        case .binary(let op, let l, let r, _):
            return try binaryMeasure(op, l, r, context: context, insideAnalytic: insideAnalytic)
        case .per(let name, let m, let levelExpr, let args, let r):
            return try perCall(name, m, levelExpr, args, at: r, insideAnalytic: insideAnalytic)
        case .countHaving(let levelExpr, let condition, _):
            return try countHaving(levelExpr, condition)
        case .filtered(let m, let condition, let r):
            return try filtered(m, condition, at: r, context: context, insideAnalytic: insideAnalytic)
        case .call(let name, let args, let distinct, let star, let r):
            return try callMeasure(name, args, distinct: distinct, star: star, at: r, context: context, insideAnalytic: insideAnalytic)
        }
    }

    mutating func constantMeasure(_ e: Expr) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        switch e {
        case .number(let n, let r):
            return (.constant(try Binder.number(n, at: r)), nil)
        case .parameter(let p, let r):
            let text = try Names.parameter(p, parameters, at: r)
            guard let d = FieldParser.decimal(of: text.trimmingSpaces) else {
                throw Diagnostic("parameter $\(p) is '\(text)', not a number", at: r)
            }
            return (.constant(.exact(Int128(d.mantissa), scale: d.scale)), nil)
        default:
            throw Diagnostic("text is not a measure", at: e.range, help: "compare members in WHERE, e.g. WHERE customer.region = 'Seoul'")
        }
    }

    /// A measure's name (model or session), or a mistake: a level, a fact column, a typo.
    mutating func namedMeasure(_ path: [String], at r: SourceRange, context: String) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        let written = path.joined(separator: ".")
        if path.count == 1, let m = names.measure(path[0]) {
            // Under FILTER the same measure binds to other (filtered) aggregates.
            let key = m.name.lowercased()
            if filters.isEmpty, let bound = boundMeasures[key] { return (.value(bound), m.format) }
            let expr = try modelMeasure(m, at: r)
            // A plain aggregate stays inline (the common case); a measure expression
            // is bound once and referred to by index.
            if filters.isEmpty, case .expression = m.definition {
                let index = value(expr)
                boundMeasures[key] = index
                return (.value(index), m.format)
            }
            return (expr, m.format)
        }
        if (try names.level(path, at: r)) != nil {
            let where_ = context == "HAVING" ? "WHERE" : "BY"
            throw Diagnostic("'\(written)' is a level, not a measure", at: r,
                             help: context == "HAVING" ? "filter members in \(where_)" : "group on it with BY \(written), or count it with count(distinct \(written))")
        }
        if path.count == 1, names.numericColumn(path[0]) != nil {
            throw Diagnostic("'\(written)' is a fact column, not a measure", at: r, help: "aggregate it, e.g. sum(\(written))")
        }
        throw Diagnostic("unknown measure '\(written)'", at: r, help: names.suggestion(for: written, levelsOnly: false))
    }

    mutating func negatedMeasure(_ x: Expr, context: String, insideAnalytic: Bool) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        let (m, f) = try measure(x, context: context, insideAnalytic: insideAnalytic)
        if isLabel(m) { throw Diagnostic("'\(x)' is a member (a label), and - has no meaning for members", at: x.range) }
        return (.negate(m), f)
    }

    mutating func binaryMeasure(_ op: BinaryOperator, _ l: Expr, _ r: Expr, context: String,
                                insideAnalytic: Bool) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        let (a, fa) = try measure(l, context: context, insideAnalytic: insideAnalytic)
        let (b, fb) = try measure(r, context: context, insideAnalytic: insideAnalytic)
        // A date moves by whole periods of its grain: max(time.day) - 90, latest(time.month) + 1.
        if op == .add || op == .subtract, let grain = dateGrain(a), !isLabel(b) {
            let n = try periods(r, grain)
            return (.scalar(.shift(grain, by: op == .add ? n : -n), [a]), nil)
        }
        if op == .add, let grain = dateGrain(b), !isLabel(a) {
            return (.scalar(.shift(grain, by: try periods(l, grain)), [b]), nil)
        }
        if op == .subtract, dateGrain(a) != nil, dateGrain(b) != nil {
            throw Diagnostic("one date minus another is written days(a, b)", at: SourceRange(start: l.range.start, end: r.range.end, location: l.range.location),
                             help: "days(\(r), \(l)) is the number of days from \(r) to \(l)")
        }
        // Any other member (a label such as a city) has no arithmetic: an error now, not a
        // column of empty cells later.
        for (side, bound) in [(l, a), (r, b)] where isLabel(bound) {
            throw Diagnostic("'\(side)' is a member (a label), and \(op.rawValue) has no meaning for members", at: side.range,
                             help: dateGrain(bound) != nil ? "a date moves by a whole number of periods: \(side) - 30; days(a, b) counts the days between two dates"
                                : "members are compared in WHERE and counted with count(distinct level)")
        }
        var format: MeasureFormat?
        if op == .add || op == .subtract { format = fa == fb ? fa : (fa ?? fb) }
        if op == .multiply || op == .divide, case .constant = b { format = fa == .percent ? nil : fa }
        return (.binary(op, a, b), format)
    }

    mutating func callMeasure(_ name: String, _ args: [Expr], distinct: Bool, star: Bool, at r: SourceRange, context: String,
                              insideAnalytic: Bool) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        if Binder.aggregateFunctions.contains(name) {
            return try aggregateCall(name, args, distinct: distinct, star: star, at: r)
        }
        if Binder.scalarFunctions.contains(name) {
            return try scalarCall(name, args, distinct: distinct, star: star, at: r, context: context, insideAnalytic: insideAnalytic)
        }
        if Binder.analyticFunctions.contains(name) {
            if insideAnalytic {
                throw Diagnostic("\(name)() cannot be nested inside another analytic function", at: r)
            }
            return try analyticCall(name, args, distinct: distinct, star: star, at: r, context: context)
        }
        throw Diagnostic("unknown function '\(name)'", at: r,
                         help: Suggestions.didYouMean(name, in: FunctionRegistry.names)
                            ?? "functions: " + FunctionRegistry.names.joined(separator: ", "))
    }

    static func number(_ text: String, at range: SourceRange) throws(Diagnostic) -> Value {
        if let d = FieldParser.decimal(of: text) { return .exact(Int128(d.mantissa), scale: d.scale) }
        if let x = Double(text), x.isFinite { return .double(x) }
        throw Diagnostic("number \(text) is out of range", at: range)
    }

    mutating func modelMeasure(_ m: Measure, at range: SourceRange) throws(Diagnostic) -> MeasureExpr {
        switch m.definition {
        case .expression(let e):
            let key = m.name.lowercased()
            if binding.contains(key) {
                throw Diagnostic("measure '\(m.name)' refers to itself (\((binding + [key]).joined(separator: " -> ")))", at: range,
                                 help: "define it from other measures")
            }
            if binding.isEmpty { bindingOrigin = range }
            guard binding.count < Binder.maximumMeasureDepth else {
                // Reported where the chain starts, in the statement being bound.
                throw Diagnostic("measures refer to each other more than \(Binder.maximumMeasureDepth) deep (\(binding.prefix(3).joined(separator: " -> ")) -> ... -> \(key))",
                                 at: bindingOrigin ?? range, help: "define long chains in fewer steps; each measure may combine several others")
            }
            binding.append(key)
            defer { binding.removeLast() }
            return try measure(e, context: "measure '\(m.name)'").0
        case .aggregate(let agg, let input):
            switch input {
            case .rows:
                return .slot(slot(.countRows), .value)
            case .column(let c):
                guard let i = names.numericColumn(c) else { throw Diagnostic("measure '\(m.name)' refers to a missing column '\(c)'", at: range) }
                return aggregate(agg, .column(i))
            case .row(let e):
                return aggregate(agg, try rowExpr(e))
            case .dimension(let d):
                guard let di = cube.dimensions.firstIndex(where: { $0.name == d }) else { throw Diagnostic("measure '\(m.name)' refers to a missing dimension", at: range) }
                let leaf = LevelRef(dimension: di, index: cube.dimensions[di].levels.count - 1, isAttribute: false)
                return agg == .count ? .slot(slot(.countRows), .value) : .slot(slot(.distinctMembers(leaf)), .value)
            case .level(let d, let l):
                guard let level = try names.level([d, l], at: range) else { throw Diagnostic("measure '\(m.name)' refers to a missing level", at: range) }
                return agg == .count ? .slot(slot(.countRows), .value) : .slot(slot(.distinctMembers(level)), .value)
            }
        }
    }

    mutating func aggregate(_ agg: Aggregate, _ x: RowExpr) -> MeasureExpr {
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

    /// Whether a bound expression yields members' labels (min/max of a level, a CASE label)
    /// rather than numbers.
    func isLabel(_ e: MeasureExpr) -> Bool {
        switch e {
        case .slot(let s, _):
            var kind = plan.aggregates[s]
            while case .filtered(let inner, _) = kind { kind = inner }
            if case .member = kind { return true }
            return false
        case .constant(.text): return true
        case .value(let i): return isLabel(plan.values[i])
        case .scalar(.shift, _): return true
        case .caseWhen(let branches, let otherwise): return branches.contains { isLabel($0.then) } || otherwise.map(isLabel) == true
        case .scalar(.coalesce, let args): return args.contains(where: isLabel)
        default: return false
        }
    }

    /// The grain of a bound expression whose values are dates (time periods): a first or
    /// last member of a time level, `latest(...)`, a date moved by periods; nil otherwise.
    func dateGrain(_ e: MeasureExpr) -> TimeGrain? {
        switch e {
        case .slot(let s, _):
            var kind = plan.aggregates[s]
            while case .filtered(let inner, _) = kind { kind = inner }
            if case .member(let level, _) = kind { return TimeGrain.of(level, in: cube) }
            return nil
        case .constant(.text(let t)): return TimeGrain.of(label: t)
        case .value(let i): return dateGrain(plan.values[i])
        case .scalar(.shift(let g, _), _): return g
        case .scalar(.coalesce, let args): return args.first.flatMap(dateGrain)
        case .caseWhen(let branches, let otherwise):
            let grains = branches.map { dateGrain($0.then) } + (otherwise.map { [dateGrain($0)] } ?? [])
            guard let first = grains.first, grains.allSatisfy({ $0 == first }) else { return nil }
            return first
        default: return nil
        }
    }

    // The forms below are bound in functions of their own: this keeps `measure`'s stack
    // frame small, and it recurses once per level of a chain of measures.

    /// `count(level HAVING condition)`: the condition is bound as the HAVING of a query of
    /// its own, run per (group, member) pair.
    mutating func countHaving(_ levelExpr: Expr, _ condition: Condition) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        let level = try names.requireLevel(levelExpr, role: "count(... HAVING)")
        var inner = Binder(names: names, parameters: parameters, nesting: nesting)
        let test = try inner.groupFilter(condition)
        if let call = inner.analyticCalls.first {
            throw Diagnostic("\(call.kind.rawValue)() cannot be used inside count(... HAVING ...)", at: call.range,
                             help: "the condition compares each member's own measures, e.g. count(customer.customer HAVING orders >= 2)")
        }
        let result = inner.value(.constant(.integer(1)))
        plan.warnings += inner.plan.warnings
        let spec = PerSpec(level: level, aggregates: inner.plan.aggregates, values: inner.plan.values, result: result, condition: test)
        return (.slot(slot(.per(spec)), .count), .integer)
    }

    /// `m FILTER (WHERE condition)`: every aggregate of `m` counts only the rows that meet it.
    mutating func filtered(_ m: Expr, _ condition: Condition, at r: SourceRange, context: String,
                           insideAnalytic: Bool) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        let before = plan.subSelects.count
        let outer = bindingFilterCondition
        bindingFilterCondition = true
        defer { bindingFilterCondition = outer }
        let f = simplify(try rowFilter(condition))
        bindingFilterCondition = outer
        guard plan.subSelects.count == before else {
            throw Diagnostic("FILTER cannot hold IN (SELECT ...)", at: r, help: "put the sub-select in the statement's WHERE, or list the members")
        }
        filters.append(f)
        defer { filters.removeLast() }
        return try measure(m, context: context, insideAnalytic: insideAnalytic)
    }

    /// `CASE WHEN condition THEN m ... [ELSE m] END`: each condition is bound as a HAVING
    /// over measures; the result's format is the branches' when they agree.
    mutating func caseWhen(_ branches: [CaseBranch], _ otherwise: Expr?, context: String,
                           insideAnalytic: Bool) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        var bound: [BoundBranch] = []
        var formats: [MeasureFormat?] = []
        // A result may be a label in quotes ('big'); the other results are measures.
        func result(_ e: Expr, _ b: inout Binder) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
            if case .string(let text, _) = e { return (.constant(.text(text)), nil) }
            return try b.measure(e, context: context, insideAnalytic: insideAnalytic)
        }
        for b in branches {
            let when = try groupFilter(b.condition)
            let (then, format) = try result(b.result, &self)
            bound.append(BoundBranch(when: when, then: then))
            formats.append(format)
        }
        var other: MeasureExpr?
        if let otherwise {
            let (e, format) = try result(otherwise, &self)
            other = e
            formats.append(format)
        }
        let format = formats.allSatisfy { $0 == formats.first ?? nil } ? formats.first ?? nil : nil
        return (.caseWhen(bound, otherwise: other), format)
    }

    /// `round(m, d)`, `abs(m)`, `coalesce(a, b, ...)`: functions of measure values, per cell.
    mutating func scalarCall(_ name: String, _ args: [Expr], distinct: Bool, star: Bool, at r: SourceRange,
                             context: String, insideAnalytic: Bool) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        let arity = FunctionRegistry.function(named: name)?.arguments ?? 1...1
        guard !star, !distinct, arity.contains(args.count) else {
            let usage = ["round": "round(m) or round(m, 2)", "abs": "abs(m)", "coalesce": "coalesce(m, 0)"][name] ?? name + "(m)"
            throw Diagnostic("\(name)() takes \(arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)") argument\(arity.upperBound == 1 ? "" : "s"), found \(args.count)",
                             at: r, help: "e.g. " + usage)
        }
        if name == "latest" { return (.constant(.text(try latest(args, at: r).label)), nil) }
        if name == "days" {
            var bound: [MeasureExpr] = []
            for a in args {
                let (m, _) = try measure(a, context: context, insideAnalytic: insideAnalytic)
                guard dateGrain(m) == .day else {
                    let found = dateGrain(m).map { "a \($0.name)" } ?? (isLabel(m) ? "a member" : "a number")
                    throw Diagnostic("days() counts the days between two dates, and '\(a)' is \(found)", at: a.range,
                                     help: "give it days, e.g. days(max(time.day), latest(time.day))")
                }
                bound.append(m)
            }
            return (.scalar(.days, bound), nil)
        }
        if name == "round" {
            var places = 0
            if args.count == 2 {
                let text: String
                switch args[1] {
                case .number(let n, _): text = n
                case .negate(.number(let n, _), _): text = "-" + n
                case .parameter(let p, let pr): text = try Names.parameter(p, parameters, at: pr)
                default: text = args[1].description
                }
                guard let d = Int(text.trimmingSpaces), (0...18).contains(d) else {
                    throw Diagnostic("round() takes a whole number of decimal places from 0 to 18, found '\(text)'", at: args[1].range,
                                     help: "e.g. round(revenue, 2)")
                }
                places = d
            }
            let (m, format) = try measure(args[0], context: context, insideAnalytic: insideAnalytic)
            return (.scalar(.round(places: places), [m]), format)
        }
        var bound: [MeasureExpr] = []
        var format: MeasureFormat?
        for (i, a) in args.enumerated() {
            let (m, f) = try measure(a, context: context, insideAnalytic: insideAnalytic)
            bound.append(m)
            if i == 0 { format = f }
        }
        return (.scalar(name == "abs" ? .abs : .coalesce, bound), format)
    }

    /// `agg(m PER level [, p])`: the inner measure is bound as a query of its own, run per
    /// (group, member) pair by the per-member accumulator.
    mutating func perCall(_ name: String, _ m: Expr, _ levelExpr: Expr, _ args: [Expr], at r: SourceRange,
                          insideAnalytic: Bool) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        let parts: [String: SlotPart] = ["sum": .sum, "avg": .average, "min": .minimum, "max": .maximum, "count": .count,
                                         "median": .quantile(fraction: 5, scale: 1), "stddev": .stddev]
        var part = parts[name]
        if name == "percentile" {
            guard args.count == 1 else {
                throw Diagnostic("percentile(m PER level, p) takes the fraction p after the level", at: r, help: "e.g. percentile(revenue PER customer.customer, 0.9)")
            }
            let (fraction, scale) = try percentileFraction(args[0])
            part = .quantile(fraction: fraction, scale: scale)
        } else if !args.isEmpty {
            throw Diagnostic("\(name)(m PER level) takes no further argument", at: args[0].range)
        }
        guard let part else {
            throw Diagnostic("\(name)() cannot combine per-member values", at: r,
                             help: "PER works with " + ["sum", "avg", "min", "max", "count", "median", "percentile", "stddev"].joined(separator: ", "))
        }
        let level = try names.requireLevel(levelExpr, role: "PER")
        var inner = Binder(names: names, parameters: parameters, nesting: nesting)
        let (expr, format) = try inner.measure(m, context: "PER")
        if let call = inner.analyticCalls.first {
            throw Diagnostic("\(call.kind.rawValue)() cannot be used inside PER", at: call.range,
                             help: "PER computes the measure of each member on its own rows; apply \(call.kind.rawValue)() to the result instead")
        }
        if case .slot(let s, _) = expr, case .member = inner.plan.aggregates[s], part != .count {
            throw Diagnostic("\(name)() of members has no meaning: '\(m)' is a member, not a number", at: m.range,
                             help: "count them with count(\(m) PER \(levelExpr)), or use a number such as revenue")
        }
        plan.warnings += inner.plan.warnings
        if let rewritten = additivePer(expr, inner, level: level, part: part, format: format) { return rewritten }
        let result = inner.value(expr)
        let spec = PerSpec(level: level, aggregates: inner.plan.aggregates, values: inner.plan.values, result: result, condition: nil)
        return (.slot(slot(.per(spec)), part), part == .count ? .integer : format)
    }

    /// `sum`, `avg` and `count` over members of a measure that adds up over rows (a sum or a
    /// count of rows) need no per-member state: the members' values add up to the measure
    /// over the cell's rows, and the members with a value are the distinct members of the
    /// cell's rows (for a sum, of its rows with a value; this holds when the summed
    /// expression is never empty). So `avg(revenue PER customer.customer)` is
    /// `revenue / count(distinct customer.customer)`, exactly, at the cost of a plain scan
    /// and a distinct count. Nil when the rewrite does not apply.
    mutating func additivePer(_ expr: MeasureExpr, _ inner: Binder, level: LevelRef, part: SlotPart,
                              format: MeasureFormat?) -> (MeasureExpr, MeasureFormat?)? {
        guard part == .sum || part == .average || part == .count else { return nil }
        var e = expr
        while case .value(let i) = e { e = inner.plan.values[i] }
        guard case .slot(let s, let p) = e else { return nil }
        var kind = inner.plan.aggregates[s]
        var filters: [RowFilter] = []
        while case .filtered(let k, let f) = kind {
            filters.append(f)
            kind = k
        }
        let total: AggregateKind
        switch (kind, p) {
        case (.countRows, .value), (.sum, .count): total = kind
        case (.sum(let x), .sum) where part == .sum || neverEmpty(x): total = kind
        default: return nil
        }
        func wrapped(_ k: AggregateKind) -> AggregateKind { filters.reversed().reduce(k) { .filtered($0, $1) } }
        let members = MeasureExpr.slot(slot(wrapped(.distinctMembers(level))), .value)
        let sum = MeasureExpr.slot(slot(wrapped(total)), p)
        switch part {
        case .count: return (members, .integer)
        case .sum where p == .sum: return (sum, format)  // a sum of no rows is already empty
        case .sum:
            // A sum over no members is empty, where a count of no rows is 0.
            let some = GroupFilter.compare(value(members), .greater, value(.constant(.integer(0))))
            return (.caseWhen([BoundBranch(when: some, then: sum)], otherwise: nil), format)
        default: return (.binary(.divide, sum, members), format)
        }
    }

    /// Whether a row expression has a value on every row: stored columns without empty
    /// cells, constants, and their sums, differences and products (a quotient is empty
    /// where its divisor is zero).
    func neverEmpty(_ x: RowExpr) -> Bool {
        switch x {
        case .column(let c): return cube.facts.numericColumns[c].nulls == nil
        case .constant, .doubleConstant: return true
        case .negate(let a): return neverEmpty(a)
        case .binary(let op, let a, let b): return op != .divide && neverEmpty(a) && neverEmpty(b)
        }
    }

    /// The fraction of `percentile`: a number (or parameter) from 0 to 1.
    func percentileFraction(_ e: Expr) throws(Diagnostic) -> (Int128, Int) {
        switch e {
        case .number, .parameter: break
        default: throw Diagnostic("percentile needs a fraction from 0 to 1, found '\(e)'", at: e.range, help: "e.g. 0.9 for the 90th percentile")
        }
        let text = try Binder.numberText(e, parameters)
        guard let d = FieldParser.decimal(of: text), d.mantissa >= 0, d.scale <= 18,
              d <= ScaledDecimal(mantissa: 1, scale: 0) else {
            let hint = Double(text).map { $0 > 1 && $0 <= 100 ? "write \(Value.shortest($0 / 100)) for the \(text)th percentile" : "" } ?? ""
            throw Diagnostic("percentile needs a fraction from 0 to 1, found '\(text)'", at: e.range,
                             help: hint.isEmpty ? "e.g. 0.9 for the 90th percentile" : hint)
        }
        return (Int128(d.mantissa), d.scale)
    }

    mutating func aggregateCall(_ name: String, _ args: [Expr], distinct: Bool, star: Bool, at r: SourceRange) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        if star {
            guard name == "count" else { throw Diagnostic("only count takes *", at: r, help: "write count(*) or \(name)(column)") }
            return (.slot(slot(.countRows), .value), .integer)
        }
        if name == "percentile" {
            guard args.count == 2, !distinct else {
                throw Diagnostic("percentile() takes a fact column or row expression and a fraction", at: r, help: "e.g. percentile(price, 0.9), or percentile(revenue PER customer.customer, 0.9)")
            }
            let (fraction, scale) = try percentileFraction(args[1])
            return (.slot(slot(.values(try statisticArgument(args[0], name))), .quantile(fraction: fraction, scale: scale)), nil)
        }
        guard args.count == 1 else {
            throw Diagnostic("\(name)() takes one argument, found \(args.count)", at: r)
        }
        let arg = args[0]
        if case .name(let path, let nr) = arg, path.count > 1 || names.numericColumn(path[0]) == nil,
           let level = try names.level(path, at: nr) {
            switch (name, distinct) {
            case ("count", true): return (.slot(slot(.distinctMembers(level)), .value), .integer)
            case ("min", _), ("max", _): return (.slot(slot(.member(level, last: name == "max")), .value), nil)
            case ("count", false):
                throw Diagnostic("count(\(arg)) counts rows, not members", at: r, help: "write count(distinct \(arg)) for the number of members")
            default:
                throw Diagnostic("\(name)() of a level has no meaning", at: r, help: "use min/max(level) for the first/last member, count(distinct level) for how many")
            }
        }
        if distinct {
            guard name == "count" else { throw Diagnostic("DISTINCT is only for count", at: r) }
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
            throw Diagnostic("count(distinct ...) takes a level or a numeric fact column", at: arg.range, help: "e.g. count(distinct customer.customer)")
        }
        if name == "median" || name == "stddev" {
            let part: SlotPart = name == "median" ? .quantile(fraction: 5, scale: 1) : .stddev
            return (.slot(slot(.values(try statisticArgument(arg, name))), part), nil)
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

    mutating func analyticCall(_ name: String, _ args: [Expr], distinct: Bool, star: Bool, at r: SourceRange, context: String) throws(Diagnostic) -> (MeasureExpr, MeasureFormat?) {
        let kind = AnalyticKind(rawValue: name) ?? .share
        let arity = FunctionRegistry.function(named: name)?.arguments ?? 1...1
        guard !star, !distinct, arity.contains(args.count) else {
            throw Diagnostic("\(name)() takes \(kind == .share ? "a measure and optionally a level" : "one measure")", at: r,
                             help: kind == .share ? "e.g. share(revenue) or share(revenue, customer.region)" : "e.g. \(name)(revenue)")
        }
        let (m, format) = try measure(args[0], context: context, insideAnalytic: true)
        var level: LevelRef?
        var all: Int?
        if args.count == 2, case .all(let target, let ar) = args[1] {
            guard case .name(let path, _) = target, path.count == 1,
                  let d = cube.dimensions.firstIndex(where: { $0.name.caseInsensitiveEquals(path[0]) }) else {
                let dims = cube.dimensions.map(\.name)
                let written = target.description
                var help = Suggestions.didYouMean(written, in: dims) ?? "the dimensions are: " + dims.joined(separator: ", ")
                if case .name(let path, _) = target, path.count > 1, let dim = dims.first(where: { $0.caseInsensitiveEquals(path[0]) }) {
                    help = "ALL rolls up a whole dimension: write ALL \(dim)"
                }
                throw Diagnostic("ALL takes a dimension, and '\(written)' is none", at: ar, help: help)
            }
            all = d
        } else if args.count == 2 {
            level = try names.requireLevel(args[1], role: "share()")
        }
        if let first = args.first, case .all(_, let ar) = first {
            throw Diagnostic("ALL goes after the measure: share(m, ALL dimension)", at: ar)
        }
        analyticCalls.append((kind, level, all, r))
        let result = all.map { MeasureExpr.shareOfAll(m, dimension: $0) } ?? MeasureExpr.analytic(kind, m, level: kind == .share ? level : nil)
        switch FunctionRegistry.function(named: name)?.format ?? .argument {
        case .percent: return (result, .percent)
        case .integer: return (result, .integer)
        case .argument: return (result, format)
        }
    }

    /// Every analytic function has what it needs in the grouping levels; errors point at the call.
    func checkAnalytics(_ s: SelectStatement) throws(Diagnostic) {
        for call in analyticCalls {
            if AnalyticKind.time.contains(call.kind), Binder.timeKey(plan, cube) == nil {
                throw Diagnostic("\(call.kind.rawValue)() needs a time level (year, quarter, month or day) in BY or ACROSS", at: call.range,
                                 help: "add BY time.month, for example")
            }
            if let period = call.kind.period, let t = Binder.timeKey(plan, cube), plan.levels[t].index < period {
                let names = ["year", "quarter", "month", "day"]
                throw Diagnostic("\(call.kind.rawValue)() adds up periods within each \(names[period]), so it needs a finer time level than \(plan.levels[t].level(in: cube).name) in BY or ACROSS",
                                 at: call.range, help: "group by " + names[(period + 1)...].map { "time." + $0 }.joined(separator: " or "))
            }
            if let level = call.level, Binder.parentPosition(of: level, plan, cube) == nil {
                throw Diagnostic("share(m, \(level.qualifiedName(in: cube))) needs a level of \(cube.dimensions[level.dimension].name) at or below \(level.level(in: cube).name) in BY",
                                 at: call.range, help: "add BY \(level.qualifiedName(in: cube)) or a finer level of it")
            }
            if let level = call.level, Binder.isOwnParent(level, plan) {
                // The parent group is the row (or cell) itself: 100% everywhere.
                let others = plan.levels.filter { $0.dimension != level.dimension }.map { cube.dimensions[$0.dimension].name }
                let name = level.qualifiedName(in: cube)
                throw Diagnostic("share(m, \(name)) is 100% in every row here: each row's parent at \(name) is the row itself", at: call.range,
                                 help: others.first.map { "for the share within each \(level.level(in: cube).name) write share(m, ALL \($0)); for the share of the whole, share(m)" }
                                    ?? "for the share of the whole write share(m); for the share of a parent, group by a finer level than \(name)")
            }
            if let d = call.all, !plan.levels.contains(where: { $0.dimension == d }) {
                let name = cube.dimensions[d].name
                throw Diagnostic("share(m, ALL \(name)) is 100% in every row here: no level of \(name) is in BY or ACROSS", at: call.range,
                                 help: "add a level of \(name) to BY or ACROSS, e.g. ACROSS \(name).\(cube.dimensions[d].levels[0].name)")
            }
        }
    }

    /// Time functions read the periods before the ones shown: when WHERE filters the time
    /// dimension by whole members of the finest time level grouped on (a year filter under
    /// BY time.month), that filter leaves the scan and becomes a window on the result. A
    /// filter that cuts through those members (months under BY time.year) stays: the
    /// groups themselves would change.
    mutating func openTimeWindow() {
        guard analyticCalls.contains(where: { AnalyticKind.time.contains($0.kind) }),
              let t = Binder.timeKey(plan, cube), let filter = plan.filter else { return }
        let level = plan.levels[t]
        let time = level.dimension
        var mask: [Bool]?
        var rest: [RowFilter] = []
        switch filter {
        case .members(let d, let m) where d == time: mask = m
        case .and(let list):
            for f in list {
                if case .members(let d, let m) = f, d == time, mask == nil { mask = m } else { rest.append(f) }
            }
        default: return
        }
        guard let mask else { return }
        // The filter must keep or drop each member of the level whole.
        let map = level.leafMap(in: cube)
        var keep = [Bool?](repeating: nil, count: level.level(in: cube).count)
        for (leaf, k) in mask.enumerated() {
            let member = level.isLeaf(in: cube) ? leaf : Int(map[leaf])
            if let seen = keep[member], seen != k { return }
            keep[member] = k
        }
        plan.filter = rest.isEmpty ? nil : rest.count == 1 ? rest[0] : .and(rest)
        plan.timeWindow = TimeWindow(position: t, keep: keep.map { $0 ?? false })
    }

    /// The position of the finest time hierarchy level among the grouping levels.
    static func timeKey(_ plan: BoundQuery, _ cube: Cube) -> Int? {
        LevelRef.finestTime(in: plan.levels, cube)
    }

    /// Whether `share(m, level)` divides every group by itself: the finest grouping level
    /// of the dimension is `level`, and no other level of the dimension would be dropped.
    static func isOwnParent(_ level: LevelRef, _ plan: BoundQuery) -> Bool {
        let same = plan.levels.filter { $0.dimension == level.dimension }
        guard same.contains(level) else { return false }
        return same.allSatisfy { $0 == level || (!$0.isAttribute && !level.isAttribute && $0.index < level.index) }
    }

    /// The position of the grouping level that `level` is an ancestor (or self) of.
    static func parentPosition(of level: LevelRef, _ plan: BoundQuery, _ cube: Cube) -> Int? {
        plan.levels.firstIndex { $0.rollsUp(to: level) }
    }

    /// The row expression a statistic of fact rows takes; a measure there is a mistake
    /// whose fix is PER.
    func statisticArgument(_ e: Expr, _ name: String) throws(Diagnostic) -> RowExpr {
        if case .name(let path, let r) = e, path.count == 1, names.numericColumn(path[0]) == nil, names.measure(path[0]) != nil {
            throw Diagnostic("\(name)() of fact rows takes a fact column, and '\(path[0])' is a measure", at: r,
                             help: "for the \(name) over members write \(name)(\(path[0]) PER customer.customer)" + (name == "percentile" ? " with the fraction after it" : ""))
        }
        return try rowExpr(e)
    }

    // MARK: row-level arithmetic

    func rowExpr(_ e: Expr) throws(Diagnostic) -> RowExpr {
        switch e {
        case .number(let n, let r):
            switch try Binder.number(n, at: r) {
            case .exact(let m, let s): return .constant(Int64(m), scale: s)
            case .double(let d): return .doubleConstant(d)
            default: throw Diagnostic("bad number", at: r)
            }
        case .parameter(let p, let r):
            let text = try Names.parameter(p, parameters, at: r)
            guard let d = FieldParser.decimal(of: text.trimmingSpaces) else { throw Diagnostic("parameter $\(p) is '\(text)', not a number", at: r) }
            return .constant(d.mantissa, scale: d.scale)
        case .string(_, let r):
            throw Diagnostic("text cannot take part in arithmetic", at: r)
        case .name(let path, let r):
            let written = path.joined(separator: ".")
            if path.count == 1, let c = names.numericColumn(path[0]) { return .column(c) }
            if path.count == 1, names.measure(path[0]) != nil {
                throw Diagnostic("'\(written)' is a measure; aggregates take fact columns", at: r,
                                 help: "use \(written) on its own, outside the aggregate")
            }
            if (try names.level(path, at: r)) != nil {
                throw Diagnostic("'\(written)' is a level; row arithmetic takes numeric fact columns", at: r)
            }
            throw Diagnostic("unknown fact column '\(written)'", at: r,
                             help: Suggestions.didYouMean(written, in: cube.facts.numericColumns.map(\.name))
                                ?? "numeric fact columns: " + cube.facts.numericColumns.map(\.name).joined(separator: ", "))
        case .negate(let x, _): return .negate(try rowExpr(x))
        case .binary(let op, let l, let r, _): return .binary(op, try rowExpr(l), try rowExpr(r))
        case .call(let name, _, _, _, let r), .per(let name, _, _, _, let r):
            throw Diagnostic("\(name)() cannot be used inside an aggregate", at: r, help: "aggregates take fact columns and arithmetic on them")
        case .countHaving(_, _, let r):
            throw Diagnostic("count(... HAVING ...) cannot be used inside an aggregate", at: r, help: "aggregates take fact columns and arithmetic on them")
        case .all(_, let r):
            throw Diagnostic("ALL belongs in share(m, ALL dimension)", at: r)
        case .caseWhen(_, _, let r):
            throw Diagnostic("CASE works on measures, not on fact columns inside an aggregate", at: r,
                             help: "for a conditional sum write sum(x) FILTER (WHERE condition), e.g. revenue FILTER (WHERE channel.type = 'Online')")
        case .filtered(_, _, let r):
            throw Diagnostic("FILTER applies to measures, not to fact columns inside an aggregate", at: r,
                             help: "write sum(quantity) FILTER (WHERE ...) rather than sum(quantity FILTER (WHERE ...))")
        }
    }
}
