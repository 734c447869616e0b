import CubistCore
import CubistStore
import CubistSyntax

extension Binder {
    // MARK: WHERE

    mutating func rowFilter(_ c: Condition) throws(Diagnostic) -> RowFilter {
        switch c {
        case .and(let a, let b): return .and([try rowFilter(a), try rowFilter(b)])
        case .or(let a, let b): return .or([try rowFilter(a), try rowFilter(b)])
        case .not(let a, _): return .not(try rowFilter(a))
        case .compare(let x, let op, let y):
            if let level = try whereLevel(x) {
                return try memberFilter(level, x) { (b: inout Binder, members: MemberSet) throws(Diagnostic) in
                    try members.compare(op, b.memberLiteral(y, for: level), at: y.range, warnings: &b.plan.warnings)
                }
            }
            if let level = try whereLevel(y), let flipped = op.flipped {
                return try memberFilter(level, y) { (b: inout Binder, members: MemberSet) throws(Diagnostic) in
                    try members.compare(flipped, b.memberLiteral(x, for: level), at: x.range, warnings: &b.plan.warnings)
                }
            }
            noteColumnThatIsAMeasure(x, c)
            noteColumnThatIsAMeasure(y, c)
            return .compare(try whereRow(x), op, try whereRow(y))
        case .between(let x, let low, let high, let negated):
            let filter: RowFilter
            if let level = try whereLevel(x) {
                filter = try memberFilter(level, x) { (b: inout Binder, members: MemberSet) throws(Diagnostic) in
                    let lo = try members.compare(.greaterOrEqual, b.memberLiteral(low, for: level), at: low.range, warnings: &b.plan.warnings)
                    let hi = try members.compare(.lessOrEqual, b.memberLiteral(high, for: level), at: high.range, warnings: &b.plan.warnings)
                    return zip(lo, hi).map { $0 && $1 }
                }
            } else {
                noteColumnThatIsAMeasure(x, c)
                let v = try whereRow(x)
                filter = .and([.compare(v, .greaterOrEqual, try whereRow(low)), .compare(v, .lessOrEqual, try whereRow(high))])
            }
            return negated ? .not(filter) : filter
        case .inList(let x, let values, let negated):
            let filter: RowFilter
            if let level = try whereLevel(x) {
                filter = try memberFilter(level, x) { (b: inout Binder, members: MemberSet) throws(Diagnostic) in
                    var keep = [Bool](repeating: false, count: members.level.count)
                    for v in values {
                        for c in members.equalCodes(try b.memberLiteral(v, for: level), at: v.range, warnings: &b.plan.warnings) { keep[c] = true }
                    }
                    return keep
                }
            } else {
                noteColumnThatIsAMeasure(x, c)
                let v = try whereRow(x)
                var options: [RowFilter] = []
                for value in values { options.append(.compare(v, .equal, try whereRow(value))) }
                filter = .or(options)
            }
            return negated ? .not(filter) : filter
        case .like(let x, let pattern, let negated, let caseInsensitive):
            let keyword = caseInsensitive ? "ILIKE" : "LIKE"
            guard let level = try whereLevel(x) else {
                throw Diagnostic("\(keyword) matches members of a level, and '\(x)' is not a level", at: x.range)
            }
            let filter = try memberFilter(level, x) { (b: inout Binder, members: MemberSet) throws(Diagnostic) in
                let p = try b.literal(pattern)
                let keep = members.level.members.map { Like.matches($0, pattern: p, caseInsensitive: caseInsensitive) }
                if !keep.contains(true) {
                    // Nothing matches: a warning, as for a member that does not exist.
                    let name = level.qualifiedName(in: b.cube)
                    var help: String?
                    if !caseInsensitive, let m = members.level.members.first(where: { Like.matches($0, pattern: p, caseInsensitive: true) }) {
                        help = "ILIKE ignores case: it matches '\(m)'"
                    } else if members.level.count <= 100_000 {
                        let literal = String(p.unicodeScalars.filter { $0 != "%" && $0 != "_" })
                        help = Suggestions.didYouMean(literal, in: members.level.members)
                    }
                    b.plan.warnings.append(Diagnostic.warning("no member of \(name) matches \(keyword) '\(p)'", at: pattern.range,
                                                              help: help ?? "list the members with SHOW MEMBERS \(name)"))
                }
                return keep
            }
            return negated ? .not(filter) : filter
        case .inLast(let x, let count, let unit, let negated):
            let filter = try lastPeriods(x, count, unit)
            return negated ? .not(filter) : filter
        case .inSelect(let x, let sub, let negated):
            guard let level = try whereLevel(x) else {
                throw Diagnostic("IN (SELECT ...) takes a level on its left, found '\(x)'", at: x.range, help: "e.g. customer.customer IN (SELECT customer.customer WHERE ...)")
            }
            let child = try subQuery(sub)
            guard let subLevel = child.levels.first, subLevel == level else {
                throw Diagnostic("the sub-select lists members of \(child.levels[0].qualifiedName(in: cube)), not of \(level.qualifiedName(in: cube))", at: sub.range,
                                 help: "select the same level: SELECT \(x) WHERE ...")
            }
            plan.subSelects.append(child)
            plan.warnings += child.warnings
            let filter = RowFilter.subSelect(index: plan.subSelects.count - 1, level: level)
            return negated ? .not(filter) : filter
        }
    }

    /// `level IN LAST n UNITS`: the level's periods inside the window of the last n units
    /// ending on the cube's latest date. A level whose first period would be cut by the
    /// window (months in the last 90 days) is an error: half a month is not a member.
    mutating func lastPeriods(_ x: Expr, _ countExpr: Expr, _ unit: PeriodUnit) throws(Diagnostic) -> RowFilter {
        let (level, grain) = try timeLevel(x, role: "IN LAST")
        let text = try Binder.numberText(countExpr, parameters)
        guard let n = Int(text), (1...100_000).contains(n) else {
            throw Diagnostic("IN LAST takes a whole number of \(unit.rawValue)s from 1 to 100,000, found '\(text)'", at: countExpr.range,
                             help: "e.g. \(x) IN LAST \(unit == .day ? 90 : 12) \(unit.keyword)")
        }
        let latest = try latestDay(level.dimension, at: x.range)
        let start = unit.windowStart(last: n, endingOn: latest)
        let first = grain.ordinal(ofDay: start)
        if grain.firstDay(first) != start, let cut = grain.label(first) {
            let fitting = unit == .day || unit == .week ? "time.day" : "time.\(unit.rawValue)"
            throw Diagnostic("the last \(n) \(unit.rawValue)\(n == 1 ? "" : "s") start on \(CivilDate.isoDate(start)), inside \(grain.name) \(cut): that \(grain.name) is only partly in the window",
                             at: x.range, help: "filter a finer level, e.g. \(fitting) IN LAST \(n) \(unit.keyword)")
        }
        let members = level.level(in: cube).members
        let keep = members.map { label -> Bool in
            guard let o = grain.ordinal(of: label) else { return false }
            let day = grain.firstDay(o)
            return day >= start && day <= latest
        }
        return leafFilter(level, keep)
    }

    /// A member value in a condition on `level`: a literal, or a date such as
    /// `latest(time.year) - 1`, which must be of the level's grain.
    func memberLiteral(_ e: Expr, for level: LevelRef) throws(Diagnostic) -> String {
        guard let (label, grain) = try dateConstant(e) else { return try literal(e) }
        let name = level.qualifiedName(in: cube)
        guard let g = TimeGrain.of(level, in: cube) else {
            throw Diagnostic("'\(e)' is a date (\(label)), and \(name) is not a level of the time hierarchy", at: e.range)
        }
        guard g == grain else {
            throw Diagnostic("'\(e)' is a \(grain.name) (\(label)), and \(name) holds \(g.name)s", at: e.range,
                             help: "compare \(g.name)s with \(g.name)s, e.g. \(name) >= latest(time.\(g.name)) - \(g == .day ? 30 : 1)")
        }
        return label
    }

    /// Binds a sub-select of `IN (SELECT ...)`: one level, no ACROSS, no ROLLUP.
    func subQuery(_ sub: SelectStatement) throws(Diagnostic) -> BoundQuery {
        guard nesting < Binder.maximumNesting else {
            throw Diagnostic("sub-selects are nested too deeply (more than \(Binder.maximumNesting))", at: sub.range,
                             help: "combine the conditions of the inner sub-selects in one WHERE")
        }
        var binder = Binder(names: names, parameters: parameters, nesting: nesting + 1)
        let child = try binder.bind(sub)
        guard child.byCount == 1, child.acrossCount == 0, child.rollupStart == nil else {
            throw Diagnostic("a sub-select in IN (...) must list exactly one level", at: sub.range,
                             help: "e.g. SELECT customer.customer WHERE time.year = 2023")
        }
        return child
    }

    /// A fact column that is also the name of a measure (`revenue`) tests each sale row in
    /// WHERE, which a reader may take for the measure: warn once, naming HAVING. Not inside
    /// FILTER, whose conditions are about rows by definition.
    mutating func noteColumnThatIsAMeasure(_ e: Expr, _ condition: Condition) {
        guard !bindingFilterCondition, case .name(let path, let r) = e, path.count == 1,
              names.numericColumn(path[0]) != nil, names.measure(path[0]) != nil,
              !plan.warnings.contains(where: { $0.message.hasPrefix("'\(path[0])' in WHERE is the fact column") }) else { return }
        plan.warnings.append(Diagnostic.warning("'\(path[0])' in WHERE is the fact column: this keeps the sale rows that pass, not the groups whose \(path[0]) measure does",
                                                at: r, help: groupFilterHint ?? "to filter groups on the measure write HAVING \(condition)"))
    }

    /// The level a WHERE operand names, or nil when it is no level. Measures are errors here.
    func whereLevel(_ e: Expr) throws(Diagnostic) -> LevelRef? {
        guard case .name(let path, let r) = e else { return nil }
        if let level = try names.level(path, at: r) { return level }
        if path.count == 1, names.measure(path[0]) != nil, names.numericColumn(path[0]) == nil {
            throw Diagnostic("'\(path[0])' is a measure; WHERE filters members and fact rows", at: r,
                             help: "filter on measures with HAVING \(path[0]) ...")
        }
        return nil
    }

    func whereRow(_ e: Expr) throws(Diagnostic) -> RowExpr {
        if case .call(let name, _, _, _, let r) = e,
           Binder.aggregateFunctions.contains(name) || Binder.analyticFunctions.contains(name) || Binder.scalarFunctions.contains(name) {
            throw Diagnostic("\(name)() is a measure; WHERE filters members and fact rows", at: r, help: "filter on measures with HAVING")
        }
        switch e {
        case .per(_, _, _, _, let r), .countHaving(_, _, let r), .filtered(_, _, let r), .caseWhen(_, _, let r):
            throw Diagnostic("'\(e)' is a measure; WHERE filters members and fact rows", at: r, help: "filter on measures with HAVING")
        default: break
        }
        if case .string(let s, let r) = e {
            throw Diagnostic("'\(s)' is compared with something that is not a level", at: r,
                             help: "compare members of a level, e.g. customer.region = '\(s)'")
        }
        return try rowExpr(e)
    }

    /// A member value written in a condition: a string, a number, or a parameter's value.
    func literal(_ e: Expr) throws(Diagnostic) -> String {
        try Binder.literal(e, parameters)
    }

    static func literal(_ e: Expr, _ parameters: [String: String]) throws(Diagnostic) -> String {
        switch e {
        case .string(let s, _): return s
        case .number(let n, _): return n
        case .negate(.number(let n, _), _): return "-" + n
        case .parameter(let p, let r): return try Names.parameter(p, parameters, at: r)
        default:
            throw Diagnostic("expected a member value (a string or a number), found '\(e)'", at: e.range,
                             help: "write members in single quotes, e.g. 'Seoul'")
        }
    }

    mutating func memberFilter(_ level: LevelRef, _ e: Expr, _ decide: (inout Binder, MemberSet) throws(Diagnostic) -> [Bool]) throws(Diagnostic) -> RowFilter {
        let members = MemberSet(level: level.level(in: cube), name: e.description)
        return leafFilter(level, try decide(&self, members))
    }

    func leafFilter(_ level: LevelRef, _ keep: [Bool]) -> RowFilter {
        RowFilter.leafMask(level, keep, cube)
    }

    func simplify(_ f: RowFilter) -> RowFilter { f.simplified }
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

    static func simplify(_ f: RowFilter) -> RowFilter {
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
