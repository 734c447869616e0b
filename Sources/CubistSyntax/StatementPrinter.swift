import CubistCore
/// Prints statements back as canonical source: keywords upper case, clauses in the order
/// of the grammar, parentheses only where needed. Printing then parsing gives the same tree.
extension Statement: CustomStringConvertible {
    public var description: String {
        switch self {
        case .select(let s): return s.description
        case .setParameter(let name, let value, _): return "SET $\(name) = \(value)"
        case .setOption(let name, let value, _): return "SET \(Expr.printName(name)) = \(value)"
        case .navigate(let n, _): return n.description
        case .metadata(let m, _): return m.description
        case .load(let path, let name, _): return "LOAD " + Expr.string(path, SourceRange(start: 0, end: 0, location: SourceLocation(line: 1, column: 1))).description + (name.map { " AS \(Expr.printName($0))" } ?? "")
        case .use(let name, _): return "USE \(Expr.printName(name))"
        case .append(let path, let snapshot, _):
            let at = SourceRange(start: 0, end: 0, location: SourceLocation(line: 1, column: 1))
            return "APPEND " + Expr.string(path, at).description + (snapshot.map { " TO " + Expr.string($0, at).description } ?? "")
        case .save(let path, let overwrite, _):
            return "SAVE " + Expr.string(path, SourceRange(start: 0, end: 0, location: SourceLocation(line: 1, column: 1))).description + (overwrite ? " OVERWRITE" : "")
        case .explain(let s, let analyze, _): return "EXPLAIN \(analyze ? "ANALYZE " : "")\(s)"
        case .defineMeasure(let name, let expr, let format, _):
            return "DEFINE MEASURE \(Expr.printName(name)) = \(expr)" + (format.map { " FORMAT \($0)" } ?? "")
        case .defineAttribute(let dimension, let name, let expr, let condition, _):
            return "DEFINE ATTRIBUTE \(Expr.printName(dimension)).\(Expr.printName(name)) = \(expr)" + (condition.map { " WHERE \($0)" } ?? "")
        case .analysis(let a, _): return a.description
        case .explainAnalysis(let a, let analyze, _): return "EXPLAIN " + (analyze ? "ANALYZE " : "") + a.description
        case .charted(let inner, let chart): return "\(inner) CHART \(chart.kind.rawValue.uppercased())"
        }
    }
}

extension Analysis: CustomStringConvertible {
    public var description: String {
        switch self {
        case .pareto(let level, let measure, let condition, let curve):
            return "PARETO \(level) BY \(measure)" + (condition.map { " WHERE \($0)" } ?? "") + (curve ? " CURVE" : "")
        case .rfm(let level, let monetary, let frequency, let condition, let summary):
            return "RFM \(level)" + (monetary.map { " BY \($0)" } ?? "") + (frequency.map { " FREQUENCY \($0)" } ?? "")
                + (condition.map { " WHERE \($0)" } ?? "") + (summary ? " SUMMARY" : "")
        case .basket(let level, let per, let minSupport, let condition):
            return "BASKET \(level)" + (per.map { " PER \($0)" } ?? "") + (minSupport.map { " MIN SUPPORT \($0)" } ?? "")
                + (condition.map { " WHERE \($0)" } ?? "")
        case .churn(let level, let window, let by, let list, let condition):
            var text = "CHURN \(level)"
            switch window {
            case .days(let n)?: text += " WINDOW \(n) DAYS"
            case .between(let p, let q)?: text += " BETWEEN \(p) AND \(q)"
            case nil: break
            }
            return text + (by.isEmpty ? "" : " BY " + by.map(\.description).joined(separator: ", ")) + (list ? " LIST" : "")
                + (condition.map { " WHERE \($0)" } ?? "")
        case .cohort(let level, let period, let measure, let condition):
            return "COHORT \(level) BY \(period)" + (measure.map { " MEASURE \($0)" } ?? "") + (condition.map { " WHERE \($0)" } ?? "")
        case .ltv(let level, let by, let condition):
            return "LTV \(level)" + (by.isEmpty ? "" : " BY " + by.map(\.description).joined(separator: ", "))
                + (condition.map { " WHERE \($0)" } ?? "")
        }
    }
}

extension Metadata: CustomStringConvertible {
    public var description: String {
        switch self {
        case .cubes: return "SHOW CUBES"
        case .dimensions: return "SHOW DIMENSIONS"
        case .measures: return "SHOW MEASURES"
        case .describe(let d): return "DESCRIBE \(d)"
        case .members(let level, let like, let limit):
            return "SHOW MEMBERS \(level)" + (like.map { " LIKE \($0)" } ?? "") + (limit.map { " LIMIT \($0)" } ?? "")
        }
    }
}

extension Navigation: CustomStringConvertible {
    public var description: String {
        switch self {
        case .slice(let level, let member): return "SLICE \(level) = \(member)"
        case .dice(let parts):
            return "DICE " + parts.map { "\($0.level) IN (" + $0.members.map(\.description).joined(separator: ", ") + ")" }.joined(separator: ", ")
        case .rollup(let d, let to, let all): return "ROLLUP \(d)" + (all ? " ALL" : to.map { " TO \($0)" } ?? "")
        case .drilldown(let d, let to, let member): return "DRILLDOWN \(d)" + (to.map { " TO \($0)" } ?? "") + (member.map { " = \($0)" } ?? "")
        case .pivot: return "PIVOT"
        case .back: return "BACK"
        case .showView: return "SHOW VIEW"
        case .drillthrough(let row, let limit): return "DRILLTHROUGH" + (row.map { " ROW \($0)" } ?? "") + (limit.map { " LIMIT \($0)" } ?? "")
        }
    }
}

extension SelectStatement: CustomStringConvertible {
    public var description: String {
        var parts = ["SELECT " + items.map { item in
            item.alias.map { "\(item.expr) AS \(Expr.printName($0))" } ?? item.expr.description
        }.joined(separator: ", ")]
        if let from { parts.append("FROM \(from)") }
        if !by.isEmpty {
            parts.append("BY " + by.map { item in
                switch item {
                case .level(let e): return e.description
                case .rollup(let list, _): return "ROLLUP(" + list.map(\.description).joined(separator: ", ") + ")"
                }
            }.joined(separator: ", "))
        }
        if !across.isEmpty { parts.append("ACROSS " + across.map(\.description).joined(separator: ", ")) }
        if let whereClause { parts.append("WHERE \(whereClause)") }
        if let having { parts.append("HAVING \(having)") }
        if let top {
            parts.append("TOP \(top.count)" + (top.percent ? " PERCENT" : "") + " BY \(top.by)" + (top.withOthers ? " WITH OTHERS" : ""))
        }
        if !orderBy.isEmpty {
            parts.append("ORDER BY " + orderBy.map { $0.expr.description + ($0.descending ? " DESC" : "") }.joined(separator: ", "))
        }
        if let limit { parts.append("LIMIT \(limit)") }
        if let offset { parts.append("OFFSET \(offset)") }
        if withTotals { parts.append("WITH TOTALS") }
        return parts.joined(separator: " ")
    }
}

extension Condition: CustomStringConvertible {
    public var description: String { printed(context: 0) }

    /// Binding strength: OR 1, AND 2, NOT and predicates 3.
    private var strength: Int {
        switch self {
        case .or: return 1
        case .and: return 2
        default: return 3
        }
    }

    private func printed(context: Int) -> String {
        let text: String
        switch self {
        case .or(let a, let b): text = a.printed(context: 1) + " OR " + b.printed(context: 2)
        case .and(let a, let b): text = a.printed(context: 2) + " AND " + b.printed(context: 3)
        case .not(let a, _): text = "NOT " + a.printed(context: 3)
        case .compare(let x, let op, let y): text = "\(x) \(op.rawValue) \(y)"
        case .between(let x, let low, let high, let negated):
            text = "\(x) \(negated ? "NOT " : "")BETWEEN \(low) AND \(high)"
        case .inList(let x, let values, let negated):
            text = "\(x) \(negated ? "NOT " : "")IN (" + values.map(\.description).joined(separator: ", ") + ")"
        case .inSelect(let x, let sub, let negated):
            text = "\(x) \(negated ? "NOT " : "")IN (\(sub))"
        case .like(let x, let pattern, let negated, let caseInsensitive):
            text = "\(x) \(negated ? "NOT " : "")\(caseInsensitive ? "ILIKE" : "LIKE") \(pattern)"
        case .inLast(let x, let count, let unit, let negated):
            text = "\(x) \(negated ? "NOT " : "")IN LAST \(count) \(unit.keyword)"
        }
        return strength < context ? "(\(text))" : text
    }
}
