import CubistCore
import CubistStore
import CubistSyntax

extension Binder {
    // MARK: HAVING and ORDER BY

    mutating func groupFilter(_ c: Condition) throws(Diagnostic) -> GroupFilter {
        switch c {
        case .and(let a, let b): return .and(try groupFilter(a), try groupFilter(b))
        case .or(let a, let b): return .or(try groupFilter(a), try groupFilter(b))
        case .not(let a, _): return .not(try groupFilter(a))
        case .compare(let x, let op, let y):
            let (a, b) = try comparable(x, y)
            return .compare(a, op, b)
        case .between(let x, let low, let high, let negated):
            let (v, lo) = try comparable(x, low)
            let (_, hi) = try comparable(x, high)
            let f = GroupFilter.and(.compare(v, .greaterOrEqual, lo), .compare(v, .lessOrEqual, hi))
            return negated ? .not(f) : f
        case .inList(let x, let values, let negated):
            let v = try havingValue(x)
            guard var f = try values.first.map({ (e: Expr) throws(Diagnostic) in GroupFilter.compare(v, .equal, try havingValue(e)) }) else {
                throw Diagnostic("IN needs at least one value", at: x.range)
            }
            for e in values.dropFirst() { f = .or(f, .compare(v, .equal, try havingValue(e))) }
            return negated ? .not(f) : f
        case .like(let x, _, _, _), .inSelect(let x, _, _), .inLast(let x, _, _, _):
            throw Diagnostic("HAVING compares measures; member tests belong in WHERE", at: x.range, help: "move this condition to WHERE")
        }
    }

    /// Two sides of a HAVING comparison, checked to be alike: numbers with numbers, dates
    /// with dates of the same grain (a date written as text, `'2025-10-01'`, is taken as one).
    mutating func comparable(_ x: Expr, _ y: Expr) throws(Diagnostic) -> (Int, Int) {
        if case .string(let text, let r) = y { let a = try havingValue(x); return (a, try dateText(text, like: a, at: r)) }
        if case .string(let text, let r) = x { let b = try havingValue(y); return (try dateText(text, like: b, at: r), b) }
        let a = try havingValue(x), b = try havingValue(y)
        let ga = dateGrain(plan.values[a]), gb = dateGrain(plan.values[b])
        let la = isLabel(plan.values[a]), lb = isLabel(plan.values[b])
        if let ga, let gb, ga != gb {
            throw Diagnostic("'\(x)' is a \(ga.name) and '\(y)' is a \(gb.name); they cannot be compared", at: y.range,
                             help: "compare dates of one grain, e.g. max(time.day) <= latest(time.day) - 90")
        }
        if la != lb {
            let (label, number) = la ? (x, y) : (y, x)
            throw Diagnostic("'\(label)' is \(dateGrain(plan.values[la ? a : b]) != nil ? "a date" : "a member"), and '\(number)' is a number; they cannot be compared",
                             at: number.range, help: "compare dates with dates, e.g. max(time.day) <= latest(time.day) - 90, or count days with days(a, b)")
        }
        return (a, b)
    }

    /// A date written as text in HAVING, compared with the date values of `other`.
    private mutating func dateText(_ text: String, like other: Int, at r: SourceRange) throws(Diagnostic) -> Int {
        guard let grain = dateGrain(plan.values[other]) else {
            throw Diagnostic("text is not a measure", at: r, help: "compare members in WHERE, e.g. WHERE customer.region = '\(text)'")
        }
        guard grain.ordinal(of: text) != nil else {
            throw Diagnostic("'\(text)' is not a \(grain.name) (\(["2025", "2025-Q4", "2025-12", "2025-12-31"][grain.rawValue]))", at: r)
        }
        return value(.constant(.text(text)))
    }

    mutating func havingValue(_ e: Expr) throws(Diagnostic) -> Int {
        if case .name(let path, let r) = e, path.count == 1, let i = plan.items.firstIndex(where: { $0.header.caseInsensitiveEquals(path[0]) }),
           names.measure(path[0]) == nil {
            _ = r
            return plan.items[i].value
        }
        return value(try measure(e, context: "HAVING").0)
    }

    mutating func orderKey(_ o: OrderItem, items: [SelectItem]) throws(Diagnostic) -> OrderKey {
        let written = o.expr.description
        // A number is an output column's position, as in SQL: ORDER BY 2 DESC.
        if case .number(let text, let r) = o.expr {
            let columns = plan.byCount + (plan.acrossCount > 0 ? 0 : plan.items.count)
            guard let p = Int(text), p >= 1, p <= columns else {
                let names = plan.levelHeaders + (plan.acrossCount > 0 ? [] : plan.items.map(\.header))
                throw Diagnostic("ORDER BY \(text): there is no output column \(text)\(plan.acrossCount > 0 ? " among the BY levels" : "")", at: r,
                                 help: names.isEmpty ? "order by a measure, e.g. ORDER BY revenue DESC"
                                    : "positions run from 1 to \(names.count): " + names.enumerated().map { "\($0.offset + 1) = \($0.element)" }.joined(separator: ", ")
                                      + (plan.acrossCount > 0 ? "; with ACROSS, order by a measure by name" : ""))
            }
            if p <= plan.byCount { return .level(p - 1, descending: o.descending) }
            return .value(plan.items[p - plan.byCount - 1].value, descending: o.descending)
        }
        if let i = plan.items.firstIndex(where: { $0.header.caseInsensitiveEquals(written) }) {
            return .value(plan.items[i].value, descending: o.descending)
        }
        if let j = plan.levelHeaders.firstIndex(where: { $0.caseInsensitiveEquals(written) }) {
            return .level(j, descending: o.descending)
        }
        if case .name(let path, let r) = o.expr, path.count > 1 || names.measure(path[0]) == nil,
           let level = try names.level(path, at: r) {
            guard let j = plan.levels.firstIndex(of: level), j < plan.byCount else {
                throw Diagnostic("ORDER BY \(written): the level is not in BY", at: r, help: "add it to BY, or order by a measure")
            }
            return .level(j, descending: o.descending)
        }
        return .value(value(try measure(o.expr, context: "ORDER BY").0), descending: o.descending)
    }
}
