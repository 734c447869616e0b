import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// Runs a customer analysis statement (`PARETO ...`); `parameters` maps lower-cased
    /// parameter names to their values.
    public func analysis(_ a: Analysis, parameters: [String: String] = [:], at range: SourceRange) throws(Diagnostic) -> ResultTable {
        switch a {
        case .pareto(let level, let measure, let condition, let curve):
            return try pareto(level: level, measure: measure, condition: condition, curve: curve, parameters: parameters, at: range)
        }
    }

    /// The cuts of a PARETO table, in percent of the members.
    static let paretoCuts = [1, 5, 10, 20, 50, 100]

    /// `PARETO level BY m [WHERE c] [CURVE]`: the members of `level` with facts under WHERE,
    /// ranked by `m` (largest first, ties in member order, empty values last), and for the
    /// top 1%, 5%, 10%, 20%, 50% and 100% of them (`ceil(n × p)` members) the sum of their
    /// `m` and its share of the total; then the smallest number of members whose `m` reaches
    /// 80% of the total (the "80% point"). CURVE gives every percent from 1 to 100 instead.
    /// Sums are exact; shares are ratios.
    func pareto(level: Expr, measure: Expr, condition: Condition?, curve: Bool, parameters: [String: String],
                at range: SourceRange) throws(Diagnostic) -> ResultTable {
        let help = "e.g. PARETO customer.customer BY revenue"
        guard case .name(let path, let r) = level, (try Names(cube: cube, extraMeasures: sessionMeasures).level(path, at: r)) != nil else {
            throw Diagnostic("PARETO ranks the members of a level; '\(level)' is not a level", at: level.range, help: help)
        }
        let analytic = "PARETO ranks members by a measure of their own facts; share, rank and time functions have no place in it"
        if let call = QueryEngine.analyticCall(in: measure) {
            throw Diagnostic(analytic, at: call.range, help: "rank by the measure itself, e.g. PARETO \(level) BY revenue")
        }
        // Each member's value: one grouped query through the executor (no row limit: the
        // members are not printed).
        var select = SelectStatement(range: range)
        select.items = [SelectItem(expr: measure, alias: nil)]
        select.by = [.level(level)]
        select.whereClause = condition
        let query = try bind(select, parameters: parameters)
        if query.values.contains(where: \.hasAnalytic) {  // inside a named measure
            throw Diagnostic(analytic, at: measure.range,
                             help: "rank by the measure itself, e.g. PARETO \(level) BY revenue")
        }
        // The groups are read as the scan left them: no result rows are built for the members.
        let scanned = try Executor(cube: cube, context: context()).scan(query)
        let fine = scanned.fine
        let item = query.items[0]
        let column = MeasureEvaluator(table: fine, total: TotalGroup(of: fine), cube: cube, values: query.values).column(query.values[item.value])
        // PARETO has no HAVING: a warning that suggests one points to a sub-select instead.
        let warnings = query.warnings.map { w -> Diagnostic in
            guard w.help?.hasPrefix("to filter groups on the measure write HAVING") == true else { return w }
            var changed = w
            changed.help = "to rank only members whose measure passes, write WHERE \(level) IN (SELECT \(level) HAVING ...)"
            return changed
        }
        // Each member's value (the groups are the members with facts; their order does not
        // matter: equal values give equal sums whichever comes first).
        var values: [Value] = []
        values.reserveCapacity(fine.count)
        for v in column {
            if case .text = v {
                throw Diagnostic("PARETO needs a number to rank members by; '\(measure)' is a member or a date", at: measure.range,
                                 help: "rank by a measure such as revenue, orders or margin")
            }
            values.append(v)
        }
        let columns = [ResultColumn(name: "top", kind: .member, format: nil),
                       ResultColumn(name: "members", kind: .measure, format: .integer),
                       ResultColumn(name: item.header, kind: .measure, format: item.format),
                       ResultColumn(name: "share", kind: .measure, format: .percent),
                       ResultColumn(name: "member_share", kind: .measure, format: .percent)]
        guard !values.isEmpty else {
            return ResultTable(columns: columns, rows: [], rowKinds: [],
                               warnings: warnings + [.warning("no member of \(level) has facts\(condition == nil ? "" : " under WHERE"), so there is nothing to rank", at: range)])
        }
        let sums = RunningSums(values)
        let n = values.count, total = sums[n]
        guard (Value.compare(total, .integer(0)) ?? 0) > 0 else {
            let what = values.allSatisfy(\.isNull) ? "empty for every one" : total.description
            throw Diagnostic("the total of \(measure) over the \(grouped(n)) members is \(what): shares of it have no meaning",
                             at: measure.range, help: "PARETO needs a measure whose total is positive, e.g. revenue or orders")
        }
        func row(_ label: String, _ k: Int) -> [Value] {
            [.text(label), .integer(k), sums[k], Value.arithmetic(.divide, sums[k], total), .double(Double(k) / Double(n))]
        }
        var rows: [[Value]] = []
        var kinds: [RowKind] = []
        for p in curve ? Array(1...100) : QueryEngine.paretoCuts {
            rows.append(row("\(p)%", (n * p + 99) / 100))
            kinds.append(.detail)
        }
        if !curve {
            // The smallest k with sum(k) ≥ 80% of the total, compared exactly.
            let k = sums.first(reachingTenths: 8)
            rows.append(row("80% point", k))
            kinds.append(.total)
        }
        return ResultTable(columns: columns, rows: rows, rowKinds: kinds, warnings: warnings)
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

/// Members' values ranked largest first (ties keep the given order, empty values last) and
/// the running sums of the ranked values: `sums[k]` is the sum of the first `k`, exact.
/// Values that are all exact at one scale (sums of a money column, counts) are ranked and
/// added as integers; others as `Value`s.
struct RunningSums {
    private var integers: (sums: [Int128], scale: Int)?
    private var general: [Value] = []

    init(_ values: [Value]) {
        if let fast = RunningSums.integers(values) {
            integers = fast
            return
        }
        let order = values.indices.sorted { a, b in
            switch (values[a].isNull, values[b].isNull) {
            case (false, false): return (Value.compare(values[a], values[b]) ?? 0) > 0
            case (false, true): return true
            default: return false
            }
        }
        var sums: [Value] = [.integer(0)]
        sums.reserveCapacity(values.count + 1)
        for i in order {
            let v = values[i], last = sums[sums.count - 1]
            sums.append(v.isNull ? last : Value.arithmetic(.add, last, v))
        }
        general = sums
    }

    /// The integer path: nil when a value is not exact, scales differ, or a sum overflows.
    /// Only the values are sorted: which of two equal values comes first changes no sum.
    private static func integers(_ values: [Value]) -> (sums: [Int128], scale: Int)? {
        var scale: Int?
        var wide: [Int128] = []
        wide.reserveCapacity(values.count)
        for v in values {
            switch v {
            case .exact(let m, let s):
                if scale == nil { scale = s }
                guard s == scale else { return nil }
                wide.append(m)
            case .null: continue
            default: return nil
            }
        }
        // 64-bit keys sort several times faster than 128-bit ones.
        var sorted: [Int128]
        if wide.allSatisfy({ $0 >= Int128(Int64.min) && $0 <= Int128(Int64.max) }) {
            var narrow = wide.map { Int64($0) }
            narrow.sort(by: >)
            sorted = narrow.map { Int128($0) }
        } else {
            sorted = wide
            sorted.sort(by: >)
        }
        var sums = [Int128](repeating: 0, count: values.count + 1)
        for (k, v) in sorted.enumerated() {
            let (s, overflow) = sums[k].addingReportingOverflow(v)
            if overflow { return nil }
            sums[k + 1] = s
        }
        // Empty values rank last and add nothing.
        for k in (sorted.count + 1)..<(values.count + 1) { sums[k] = sums[sorted.count] }
        return (sums, scale ?? 0)
    }

    /// The sum of the first `k` ranked values (0 for none).
    subscript(k: Int) -> Value {
        if let integers { return .exact(integers.sums[k], scale: integers.scale) }
        return general[k]
    }

    /// The smallest k ≥ 1 whose sum reaches `fraction` (tenths) of the total of all, compared
    /// exactly; the last k when none does.
    func first(reachingTenths fraction: Int) -> Int {
        let n = (integers?.sums.count ?? general.count) - 1
        if let sums = integers?.sums {
            let (target, o) = sums[n].multipliedReportingOverflow(by: Int128(fraction))
            if !o {
                for k in 1..<max(2, n + 1) {
                    let (scaled, o2) = sums[k].multipliedReportingOverflow(by: 10)
                    if o2 { break }
                    if scaled >= target { return k }
                }
                return n
            }
        }
        let target = Value.arithmetic(.multiply, self[n], .exact(Int128(fraction), scale: 1))
        return (1...max(1, n)).first { (Value.compare(self[$0], target) ?? -1) >= 0 } ?? n
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
