import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// `LTV level [BY levels] [WHERE c]`: what a member of `level` is worth, per group of the
    /// BY levels (with a total row when there are any). It is one SELECT through the
    /// executor (`ltvQuery` shows it), so it is exact and parallel like any other.
    func ltv(level: Expr, by: [Expr], condition: Condition?, parameters: [String: String],
             at range: SourceRange) throws(Diagnostic) -> AnalysisRun {
        let select = try ltvQuery(level: level, by: by, condition: condition, at: range)
        let execution = try execute(select, parameters: parameters)
        var table = execution.table
        // Counts per member are shown as numbers (grouped, with their decimals).
        for (i, c) in table.columns.enumerated() where c.kind == .measure && c.format == nil && c.name.hasSuffix("_per_member") {
            table.columns[i].format = .number
        }
        // The SELECT is the whole analysis: its rows are the result.
        return AnalysisRun(table: table, scans: [(Statement.select(select).description, execution, cube)])
    }

    /// The SELECT an LTV statement runs: members (a distinct count of the level), the first
    /// money measure and `orders` per member, average order value, the mean days from a
    /// member's first to last purchase (a per-member aggregate), and `margin` per member
    /// when the cube has a `margin` measure.
    func ltvQuery(level: Expr, by: [Expr], condition: Condition?, at range: SourceRange) throws(Diagnostic) -> SelectStatement {
        let help = "e.g. LTV customer.customer BY customer.tier"
        let ref = try analysedLevel(level, statement: "LTV", help: help)
        let t = try timeDimension(for: "LTV", needs: "for lifetimes", follows: "values customers (or products, or stores) over their lifetime",
                                  level: ref, level, help: help).index
        let names = Names(cube: cube, extraMeasures: sessionMeasures)
        for e in by {
            guard case .name(let path, let r) = e, let b = try names.level(path, at: r) else {
                throw Diagnostic("LTV groups members by levels; '\(e)' is not a level", at: e.range, help: help)
            }
            if b == ref {
                throw Diagnostic("LTV \(level) BY \(e) would make every member a group of one", at: e.range,
                                 help: "group by something members share, e.g. customer.tier or channel.type")
            }
        }
        let money = try moneyMeasure(for: "LTV", keyword: nil, at: level.range)
        let orders = try orderMeasure(for: "LTV", keyword: nil, at: level.range)
        func call(_ name: String, _ args: [Expr], distinct: Bool = false) -> Expr { .call(name, args, distinct: distinct, star: false, range) }
        let members = call("count", [level], distinct: true)
        let day = Expr.name([cube.dimensions[t].name, cube.dimensions[t].leaf.name], range)
        let lifetime = Expr.per("avg", call("days", [call("min", [day]), call("max", [day])]), level: level, [], range)
        var items = [SelectItem(expr: members, alias: "members"),
                     SelectItem(expr: .binary(.divide, money, members, range), alias: "\(money)_per_member"),
                     SelectItem(expr: .binary(.divide, orders, members, range), alias: "\(orders)_per_member"),
                     SelectItem(expr: .binary(.divide, money, orders, range), alias: "average_order_value"),
                     SelectItem(expr: lifetime, alias: "lifetime_days")]
        if let margin = (cube.measures + sessionMeasures).first(where: { $0.name.caseInsensitiveEquals("margin") }) {
            items.append(SelectItem(expr: .binary(.divide, .name([margin.name], range), members, range), alias: "margin_per_member"))
        }
        var select = SelectStatement(range: range)
        select.items = items
        select.by = by.map { .level($0) }
        select.whereClause = condition
        select.withTotals = !by.isEmpty
        return select
    }
}
