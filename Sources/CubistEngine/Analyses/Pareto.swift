import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// The cuts of a PARETO table, in percent of the members.
    static let paretoCuts = [1, 5, 10, 20, 50, 100]

    /// `PARETO level BY m [WHERE c] [CURVE]`: the members of `level` with facts under WHERE,
    /// ranked by `m` (largest first, ties in member order, empty values last), and for the
    /// top 1%, 5%, 10%, 20%, 50% and 100% of them (`ceil(n × p)` members) the sum of their
    /// `m` and its share of the total; then the smallest number of members whose `m` reaches
    /// 80% of the total (the "80% point"). CURVE gives every percent from 1 to 100 instead.
    /// Sums are exact; shares are ratios.
    func pareto(level: Expr, measure: Expr, condition: Condition?, curve: Bool, parameters: [String: String],
                at range: SourceRange) throws(Diagnostic) -> AnalysisRun {
        _ = try analysedLevel(level, statement: "PARETO", help: "e.g. PARETO customer.customer BY revenue")
        // Each member's value: one grouped scan.
        let scanned = try memberValues(of: [SelectItem(expr: measure, alias: nil)], by: level, where: condition,
                                       analytic: "PARETO ranks members by a measure of their own facts; share, rank and time functions have no place in it",
                                       help: "rank by the measure itself, e.g. PARETO \(level) BY revenue", parameters: parameters, at: range)
        let item = scanned.item(0), warnings = scanned.warnings
        // Each member's value (the groups are the members with facts; their order does not
        // matter: equal values give equal sums whichever comes first).
        var values: [Value] = []
        values.reserveCapacity(scanned.count)
        for v in scanned.columns[0] {
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
        var run = AnalysisRun(table: ResultTable(columns: columns, rows: [], rowKinds: []), scans: [scanned.explained])
        guard !values.isEmpty else {
            run.table = ResultTable(columns: columns, rows: [], rowKinds: [],
                                    warnings: warnings + [.warning("no member of \(level) has facts\(condition == nil ? "" : " under WHERE"), so there is nothing to rank", at: range)])
            return run
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
        run.table = ResultTable(columns: columns, rows: rows, rowKinds: kinds, warnings: warnings)
        run.steps = [("rank", "\(grouped(n)) members by \(measure), largest first: \(sums.isExact ? "sorted as 64-bit integers" : "sorted as values"), summed once"),
                     ("cuts", curve ? "every percent from 1% to 100%: ceil(n × p / 100) members" : "1%, 5%, 10%, 20%, 50%, 100% (ceil(n × p / 100) members) and the 80% point")]
        run.finish = ContinuousClock.now - scanned.scanned
        return run
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

    /// Whether the values were ranked and added as integers.
    var isExact: Bool { integers != nil }

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
