import CubistStore
import CubistSyntax

/// Evaluates measure expressions for every group of a table, analytic functions included.
/// Columns are computed once per expression and kept.
final class MeasureEvaluator {
    let table: GroupTable
    /// The grand total of the filtered result (one group), the denominator of `share(m)`.
    let total: TotalGroup
    let cube: Cube
    /// The query's measure expressions, which `.value(i)` refers to.
    let values: [MeasureExpr]
    private var memo: [MeasureExpr: [Value]] = [:]
    private var yearBack: [Int: [String: Int32]] = [:]

    /// `known`: columns computed elsewhere (time functions over periods WHERE leaves out).
    init(table: GroupTable, total: TotalGroup, cube: Cube, values: [MeasureExpr], known: [MeasureExpr: [Value]] = [:]) {
        self.table = table
        self.total = total
        self.cube = cube
        self.values = values
        memo = known
    }

    /// The value of `e` for group `g`: from its column when that was computed; an
    /// aggregate's straight from its state, without a column for every group (a few shown
    /// rows of many groups). Arithmetic goes through its (memoized) column, so measures
    /// built of shared parts (`x1 = x0 + x0`, ...) cost one column per part, not a
    /// recursion per group that doubles at every level.
    func value(_ e: MeasureExpr, _ g: Int) -> Value {
        if let c = memo[e] { return c[g] }
        switch e {
        case .slot(let s, let part):
            let a = table.accumulators[s]
            return a.valuesTogether ? column(e)[g] : a.value(g, part)
        case .constant(let v): return v
        case .value(let i): return value(values[i], g)
        default: return column(e)[g]
        }
    }

    /// The column of `e` made ready for sorting; an exact sum is read from its state
    /// without making a value per group.
    func sortColumn(_ e: MeasureExpr) -> SortColumn {
        var e = e
        while case .value(let i) = e, memo[e] == nil { e = values[i] }
        if memo[e] == nil, case .slot(let s, let part) = e, part == .sum || part == .value,
           let a = table.accumulators[s] as? ExactSumAccumulator {
            return SortColumn(mantissas: Array(a.sums.prefix(table.count)), nulls: a.counts.prefix(table.count).map { $0 == 0 })
        }
        return SortColumn(column(e))
    }

    /// Per group, whether it meets a HAVING condition (over indices into `values`),
    /// evaluated a column at a time.
    func passing(_ f: GroupFilter) -> [Bool] {
        switch f {
        case .and(let a, let b): return zip(passing(a), passing(b)).map { $0 && $1 }
        case .or(let a, let b): return zip(passing(a), passing(b)).map { $0 || $1 }
        case .not(let a): return passing(a).map { !$0 }
        case .compare(let x, let op, let y):
            let l = column(values[x]), r = column(values[y])
            return (0..<table.count).map { g in Value.compare(l[g], r[g]).map { RowEvaluator.test($0, op, 0) } ?? false }
        }
    }

    func column(_ e: MeasureExpr) -> [Value] {
        if let c = memo[e] { return c }
        let c = compute(e)
        memo[e] = c
        return c
    }

    /// The day ordinal of each group's value of `e` (a day label), nil where it is empty or
    /// no day: read through the member codes when `e` is the first or last member of a
    /// level (each label parsed once), parsed once when constant, else parsed per distinct label.
    private func dayOrdinals(_ e: MeasureExpr) -> [Int?] {
        let n = table.count
        if case .slot(let s, _) = e, let m = table.accumulators[s] as? MemberAccumulator {
            let perLabel = m.labels.map { TimeGrain.day.ordinal(of: $0) }
            return (0..<n).map { g in m.best[g] < 0 ? nil : perLabel[Int(m.best[g])] }
        }
        switch e {
        case .constant(let v):
            guard case .text(let t) = v else { return [Int?](repeating: nil, count: n) }
            return [Int?](repeating: TimeGrain.day.ordinal(of: t), count: n)
        default:
            var cache: [String: Int?] = [:]
            return column(e).map { v in
                guard case .text(let t) = v else { return nil }
                if let known = cache[t] { return known }
                let o = TimeGrain.day.ordinal(of: t)
                cache[t] = o
                return o
            }
        }
    }

    private func compute(_ e: MeasureExpr) -> [Value] {
        let n = table.count
        switch e {
        case .slot(let s, let part):
            return table.accumulators[s].values(part, count: n)
        case .constant(let v):
            return [Value](repeating: v, count: n)
        case .value(let i):
            // A named measure, bound once and shared by every expression that uses it.
            return column(values[i])
        case .negate(let x):
            return column(x).map(Value.negate)
        case .binary(let op, let l, let r):
            let a = column(l), b = column(r)
            let o = MeasureEvaluator.operator(op)
            return (0..<n).map { Value.arithmetic(o, a[$0], b[$0]) }
        case .scalar(let f, let args):
            let columns = f == .days ? [] : args.map { column($0) }
            switch f {
            case .abs:
                return columns[0].map { v in (Value.compare(v, .integer(0)) ?? 0) < 0 ? Value.negate(v) : v }
            case .round(let places):
                return columns[0].map { MeasureEvaluator.round($0, places) }
            case .coalesce:
                return (0..<n).map { g in columns.first { !$0[g].isNull }?[g] ?? .null }
            case .shift(let grain, let by):
                return columns[0].map { v in
                    guard case .text(let label) = v, let moved = grain.shift(label, by: by) else { return .null }
                    return .text(moved)
                }
            case .days:
                let x = dayOrdinals(args[0]), y = dayOrdinals(args[1])
                return (0..<n).map { g in
                    guard let a = x[g], let b = y[g] else { return .null }
                    return .integer(b - a)
                }
            }
        case .caseWhen(let branches, let otherwise):
            let tests = branches.map { passing($0.when) }
            let results = branches.map { column($0.then) }
            let other = otherwise.map { column($0) }
            return (0..<n).map { g in
                for (i, test) in tests.enumerated() where test[g] { return results[i][g] }
                return other?[g] ?? .null
            }
        case .shareOfAll(let arg, let d):
            // The group with every level of the dimension dropped.
            let a = column(arg)
            let positions = table.levels.indices.filter { table.levels[$0].dimension != d }
            let (parent, map) = table.reduced(positions: positions)
            let whole = MeasureEvaluator(table: parent, total: total, cube: cube, values: values).column(arg)
            return (0..<n).map { Value.arithmetic(.divide, a[$0], whole[Int(map[$0])]) }
        case .analytic(let kind, let arg, let level):
            let a = column(arg)
            switch kind {
            case .share:
                if let level { return shareOfParent(a, arg, level) }
                let whole = MeasureEvaluator(table: total.table, total: total, cube: cube, values: values).value(arg, 0)
                return a.map { Value.arithmetic(.divide, $0, whole) }
            case .rank:
                guard !table.levels.isEmpty else { return [Value](repeating: .null, count: n) }
                return MeasureEvaluator.ranks(a)
            case .prev:
                return (0..<n).map { g in shifted(g, yearBack: false).map { a[$0] } ?? .null }
            case .growth, .yoy:
                return (0..<n).map { g in
                    guard let p = shifted(g, yearBack: kind == .yoy) else { return .null }
                    return Value.arithmetic(.subtract, Value.arithmetic(.divide, a[g], a[p]), .integer(1))
                }
            case .running, .ytd, .qtd, .mtd:
                return toDate(arg, a, period: kind.period)
            }
        }
    }

    /// `v` to `places` decimal places, halves away from zero; exact values stay exact, and a
    /// floating-point value becomes exact at that scale when it fits.
    static func round(_ v: Value, _ places: Int) -> Value {
        switch v {
        case .exact(let m, let s):
            guard s > places else { return v }
            let divisor = Value.power128(s - places)
            var q = m / divisor
            let r = m % divisor
            if (r < 0 ? 0 - r : r) * 2 >= divisor { q += m < 0 ? -1 : 1 }
            return .exact(q, scale: places)
        case .double(let d):
            let scaled = (d * Value.power(places)).rounded(.toNearestOrAwayFromZero)
            guard scaled.isFinite, abs(scaled) < 1e18 else { return .double(scaled / Value.power(places)) }
            return .exact(Int128(scaled), scale: places)
        case .null, .text: return v
        }
    }

    static func `operator`(_ op: BinaryOperator) -> Value.Operator {
        switch op {
        case .add: return .add
        case .subtract: return .subtract
        case .multiply: return .multiply
        case .divide: return .divide
        }
    }

    /// Competition ranks, highest value first; nulls rank last.
    static func ranks(_ a: [Value]) -> [Value] {
        let order = a.indices.sorted { x, y in
            switch (a[x].isNull, a[y].isNull) {
            case (true, _): return false
            case (false, true): return true
            default: return (Value.compare(a[x], a[y]) ?? 0) > 0
            }
        }
        var out = [Value](repeating: .null, count: a.count)
        for (i, g) in order.enumerated() {
            if i > 0, let prev = Optional(order[i - 1]), Value.compare(a[prev], a[g]) == 0 || (a[prev].isNull && a[g].isNull) {
                out[g] = out[prev]
            } else {
                out[g] = .integer(i + 1)
            }
        }
        return out
    }

    // MARK: share of the parent member

    /// `m` over `m` of the parent group: the row's member at `level` in place of every key
    /// of that dimension at or below it (finer levels and attributes of the dimension are
    /// dropped), other dimensions' keys unchanged.
    private func shareOfParent(_ a: [Value], _ arg: MeasureExpr, _ level: LevelRef) -> [Value] {
        let levels = table.levels
        guard let p = levels.indices.filter({ levels[$0].rollsUp(to: level) })
            .max(by: { levels[$0].index < levels[$1].index }) else { return [Value](repeating: .null, count: table.count) }
        let from = levels[p]
        let positions = levels.indices.filter { j in
            let k = levels[j]
            return j == p || k.dimension != level.dimension || (!k.isAttribute && !level.isAttribute && k.index < level.index)
        }
        let newLevels = positions.map { $0 == p ? level : levels[$0] }
        let (parent, map) = table.reduced(positions: positions, levels: newLevels, lift: { j, code in
            j == p ? self.ancestor(code, dimension: from.dimension, from: from.index, to: level.index, attribute: from.isAttribute) : code
        })
        let whole = MeasureEvaluator(table: parent, total: total, cube: cube, values: values).column(arg)
        return (0..<table.count).map { Value.arithmetic(.divide, a[$0], whole[Int(map[$0])]) }
    }

    func ancestor(_ code: Int32, dimension: Int, from: Int, to: Int, attribute: Bool) -> Int32 {
        if attribute { return code }
        let levels = cube.dimensions[dimension].levels
        var c = code
        var i = from
        while i > to {
            c = levels[i].parents[Int(c)]
            i -= 1
        }
        return c
    }

    // MARK: time

    /// The position of the finest time hierarchy level among the table's levels.
    private lazy var timePosition: Int? = LevelRef.finestTime(in: table.levels, cube)

    /// The group of the previous period (or the same period a year before), other keys equal.
    private func shifted(_ g: Int, yearBack: Bool) -> Int? {
        guard let t = timePosition else { return nil }
        let level = table.levels[t]
        var key = table.key(g)
        let code = key[t]
        let target: Int32
        if yearBack {
            guard let c = yearBefore(code, level) else { return nil }
            target = c
        } else {
            guard code > 0 else { return nil }
            target = code - 1
        }
        key[t] = target
        for (j, other) in table.levels.enumerated() where j != t && other.dimension == level.dimension && !other.isAttribute && other.index < level.index {
            key[j] = ancestor(target, dimension: level.dimension, from: level.index, to: other.index, attribute: false)
        }
        return table.group(key)
    }

    /// The member labelled like `code` one year earlier (`2024-03` → `2023-03`).
    private func yearBefore(_ code: Int32, _ level: LevelRef) -> Int32? {
        let members = level.level(in: cube).members
        if yearBack[level.index] == nil {
            var d: [String: Int32] = [:]
            for (i, m) in members.enumerated() { d[m] = Int32(i) }
            yearBack[level.index] = d
        }
        let label = members[Int(code)]
        guard label.count >= 4, let year = Int(label.prefix(4)) else { return nil }
        let earlier = String(year - 1) + label.dropFirst(4)
        return yearBack[level.index]?[earlier]
    }

    /// `running(m)` (period nil) and `ytd`/`qtd`/`mtd` (the period's time level index): for
    /// each group, `m` over the groups with the same other keys, at or before its period and
    /// (to date) within the same year, quarter or month. An additive `m` (sums and counts)
    /// adds up the periods' values in one pass; any other `m` (a distinct count, a ratio, a
    /// per-member aggregate) is computed from the merged states of those groups, so a
    /// cumulative distinct count counts each member once.
    private func toDate(_ arg: MeasureExpr, _ a: [Value], period: Int?) -> [Value] {
        guard let t = timePosition else { return [Value](repeating: .null, count: table.count) }
        let level = table.levels[t]
        let within: (Int32) -> Int32 = { code in
            period.map { self.ancestor(code, dimension: level.dimension, from: level.index, to: $0, attribute: false) } ?? 0
        }
        let others = table.levels.indices.filter { $0 != t }
        var out = [Value](repeating: .null, count: table.count)
        if isAdditive(arg) {
            let order = (0..<table.count).sorted { x, y in
                for j in others where table.code(x, j) != table.code(y, j) { return table.code(x, j) < table.code(y, j) }
                return table.code(x, t) < table.code(y, t)
            }
            var sum = Value.null
            var previous: Int?
            for g in order {
                if let p = previous, others.contains(where: { table.code(p, $0) != table.code(g, $0) }) || within(table.code(p, t)) != within(table.code(g, t)) {
                    sum = .null
                }
                if !a[g].isNull { sum = sum.isNull ? a[g] : Value.arithmetic(.add, sum, a[g]) }
                out[g] = sum
                previous = g
            }
            return out
        }
        var byTime: [Int32: [Int]] = [:]
        for g in 0..<table.count { byTime[table.code(g, t), default: []].append(g) }
        for (code, groups) in byTime {
            let span = within(code)
            let (merged, _) = table.reduced(positions: others, include: { g in
                let c = self.table.code(g, t)
                return c <= code && within(c) == span
            })
            let column = MeasureEvaluator(table: merged, total: total, cube: cube, values: values).column(arg)
            for g in groups {
                if let m = merged.group(others.map { table.code(g, $0) }) { out[g] = column[m] }
            }
        }
        return out
    }

    /// Whether `e` adds up over groups: sums and counts of rows, sums and differences of
    /// counts, and those times a constant.
    private func isAdditive(_ e: MeasureExpr) -> Bool { additivity(e) != nil }

    /// How a measure adds up over groups: a count is never null; a sum is null in a group
    /// without values, and null minus a number is null there while the difference of the
    /// sums to date is not, so only counts add up in combination.
    private enum Additivity { case count, sum }

    private func additivity(_ e: MeasureExpr) -> Additivity? {
        switch e {
        case .slot(let s, let part):
            var a = table.accumulators[s]
            while let f = a as? FilteredAccumulator { a = f.inner }
            if a is CountAccumulator { return .count }
            guard a is ExactSumAccumulator || a is DoubleSumAccumulator else { return nil }
            return part == .count ? .count : part == .sum || part == .value ? .sum : nil
        case .value(let i): return additivity(values[i])
        case .negate(let x): return additivity(x)
        case .binary(.add, let x, let y), .binary(.subtract, let x, let y):
            return additivity(x) == .count && additivity(y) == .count ? .count : nil
        case .binary(.multiply, let x, .constant), .binary(.multiply, .constant, let x): return additivity(x)
        case .binary(.divide, let x, .constant): return additivity(x) == nil ? nil : .sum
        default: return nil
        }
    }
}
