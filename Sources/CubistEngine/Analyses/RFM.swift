import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// The RFM segments, best first, as SUMMARY lists them.
    public static let rfmSegments = ["Champions", "Loyal", "Potential loyalists", "New customers", "Promising", "Need attention",
                                     "About to sleep", "Cannot lose them", "At risk", "Hibernating", "Lost"]

    /// The segment (index into `rfmSegments`) of a recency score `r` and a frequency score
    /// `f`, both 1–5: the widely used R × F grid, its bottom-left corner split in two.
    ///
    ///     f:    1        2         3         4      5
    ///     r 5   New      Pot.loy.  Pot.loy.  Champ. Champ.
    ///     r 4   Promis.  Pot.loy.  Pot.loy.  Loyal  Loyal
    ///     r 3   Sleep    Sleep     Attent.   Loyal  Loyal
    ///     r 2   Hibern.  Hibern.   At risk   At r.  Cannot lose
    ///     r 1   Lost     Lost      At risk   At r.  Cannot lose
    static func rfmSegment(r: Int, f: Int) -> Int {
        switch (r, f) {
        case (5, 4...5): return 0
        case (3...4, 4...5): return 1
        case (4...5, 2...3): return 2
        case (5, _): return 3
        case (4, _): return 4
        case (3, 3): return 5
        case (3, _): return 6
        case (_, 5): return 7
        case (_, 3...4): return 8
        case (2, _): return 9
        default: return 10
        }
    }

    /// `RFM level [BY m] [FREQUENCY f] [WHERE c] [SUMMARY]`: for each member of `level` with
    /// facts under WHERE, the days from its last purchase to the cube's latest date, its
    /// frequency `f` (default `orders`) and monetary value `m` (default the first money
    /// measure); each scored 1–5 by quintile of rank (5 best: fewest days, most orders, most
    /// money; equal values share the score of their middle rank), the three scores as `score`, and the segment of
    /// the recency and frequency scores. SUMMARY: one row per segment.
    func rfm(level: Expr, monetary: Expr?, frequency: Expr?, condition: Condition?, summary: Bool,
             parameters: [String: String], at range: SourceRange) throws(Diagnostic) -> AnalysisRun {
        let help = "e.g. RFM customer.customer BY revenue FREQUENCY orders"
        let ref = try analysedLevel(level, statement: "RFM", help: help)
        let t = try timeDimension(for: "RFM", needs: "for recency", follows: "scores customers (or products, or stores) by when and how much they buy",
                                  level: ref, level, help: help).index
        let monetary: Expr = if let monetary { monetary } else { try moneyMeasure(for: "RFM", keyword: "BY", at: level.range) }
        let frequency: Expr = if let frequency { frequency } else { try orderMeasure(for: "RFM", keyword: "FREQUENCY", at: level.range) }
        // Recency in days: days(max(time.day), latest(time.day)), as the language writes it.
        let day = Expr.name([cube.dimensions[t].name, cube.dimensions[t].leaf.name], range)
        let recency = Expr.call("days", [.call("max", [day], distinct: false, star: false, range), .call("latest", [day], distinct: false, star: false, range)],
                                distinct: false, star: false, range)
        let scanned = try memberValues(of: [SelectItem(expr: recency, alias: "recency_days"), SelectItem(expr: frequency, alias: nil),
                                            SelectItem(expr: monetary, alias: nil)],
                                       by: level, where: condition,
                                       analytic: "RFM scores each member on its own facts; share, rank and time functions have no place in it",
                                       help: help, parameters: parameters, at: range)
        for (i, e) in [(1, frequency), (2, monetary)] where scanned.columns[i].contains(where: { if case .text = $0 { return true } else { return false } }) {
            throw Diagnostic("RFM needs a number for \(i == 1 ? "frequency" : "monetary value"); '\(e)' is a member or a date", at: e.range,
                             help: "use a measure such as \(i == 1 ? "orders" : "revenue")")
        }
        let n = scanned.count
        let members = ref.level(in: cube).members
        let moneyFormat = scanned.item(2).format
        let columns: [ResultColumn]
        if summary {
            columns = [ResultColumn(name: "segment", kind: .member, format: nil),
                       ResultColumn(name: "members", kind: .measure, format: .integer),
                       ResultColumn(name: "member_share", kind: .measure, format: .percent),
                       ResultColumn(name: "monetary", kind: .measure, format: moneyFormat),
                       ResultColumn(name: "share", kind: .measure, format: .percent)]
        } else {
            columns = [ResultColumn(name: ref.level(in: cube).name, kind: .member, format: nil),
                       ResultColumn(name: "recency_days", kind: .measure, format: .integer),
                       ResultColumn(name: "frequency", kind: .measure, format: scanned.item(1).format),
                       ResultColumn(name: "monetary", kind: .measure, format: moneyFormat),
                       ResultColumn(name: "r", kind: .measure, format: nil),
                       ResultColumn(name: "f", kind: .measure, format: nil),
                       ResultColumn(name: "m", kind: .measure, format: nil),
                       ResultColumn(name: "score", kind: .member, format: nil),
                       ResultColumn(name: "segment", kind: .member, format: nil)]
        }
        var run = AnalysisRun(table: ResultTable(columns: columns, rows: [], rowKinds: []), scans: [scanned.explained])
        guard n > 0 else {
            run.table = ResultTable(columns: columns, rows: [], rowKinds: [],
                                    warnings: scanned.warnings + [.warning("no member of \(level) has facts\(condition == nil ? "" : " under WHERE"), so there is nothing to score", at: range)])
            return run
        }
        let keys = scanned.columns.map(SortKeys.init)  // recency, frequency, monetary: ranked once each
        let quintiles = [QuintileScores(keys[0], largerIsBetter: false), QuintileScores(keys[1], largerIsBetter: true),
                         QuintileScores(keys[2], largerIsBetter: true)]
        let r = quintiles[0].scores, f = quintiles[1].scores, m = quintiles[2].scores
        // A score that cannot tell the members apart is said, not silently printed.
        var warnings = scanned.warnings
        for (i, q) in quintiles.enumerated() where q.allEqual {
            let what = ["recency_days", "frequency", "monetary"][i], score = ["r", "f", "m"][i]
            warnings.append(.warning("all \(grouped(n)) members have the same \(what) (\(scanned.columns[i][0].isNull ? "empty" : scanned.columns[i][0].description)), so \(score) is \(q.scores[0]) for every one and says nothing",
                                     at: i == 0 ? level.range : [frequency, monetary][i - 1].range,
                                     help: i == 0 ? "recency separates members that buy on different days; try a finer level or a longer period"
                                                  : "choose a measure that differs between members\(i == 1 ? ", e.g. FREQUENCY orders" : ", e.g. BY revenue")"))
        }
        let segment = (0..<n).map { QueryEngine.rfmSegment(r: Int(r[$0]), f: Int(f[$0])) }
        run.steps = [("score", "\(grouped(n)) members on recency_days, \(frequency) and \(monetary): "
                      + (quintiles.allSatisfy(\.isExact) ? "each ranked as 64-bit integers" : "ranked as values") + ", 1 + floor(5 × middle rank / n)"),
                     ("segment", "from r and f by the R × F grid (docs/crm.md)" + (summary ? "; summed per segment" : "; listed by segment, then monetary"))]

        if summary {
            let segments = QueryEngine.rfmSegments.count
            var count = [Int](repeating: 0, count: segments)
            var money = [Value](repeating: .integer(0), count: segments)
            var total = Value.integer(0)
            for g in 0..<n { count[segment[g]] += 1 }
            if let ints = keys[2].keys {
                // Exact at one scale: added as 128-bit integers.
                var sums = [Int128](repeating: 0, count: segments)
                for g in 0..<n where ints[g] != Int64.min { sums[segment[g]] += Int128(ints[g]) }
                money = sums.map { .exact($0, scale: keys[2].scale) }
                total = .exact(sums.reduce(0, +), scale: keys[2].scale)
            } else {
                for g in 0..<n {
                    let v = scanned.columns[2][g]
                    if v.isNull { continue }
                    money[segment[g]] = Value.arithmetic(.add, money[segment[g]], v)
                    total = Value.arithmetic(.add, total, v)
                }
            }
            func share(_ v: Value) -> Value { (Value.compare(total, .integer(0)) ?? 0) == 0 ? .null : Value.arithmetic(.divide, v, total) }
            var rows = QueryEngine.rfmSegments.indices.map { s -> [Value] in
                [.text(QueryEngine.rfmSegments[s]), .integer(count[s]), .double(Double(count[s]) / Double(n)), money[s], share(money[s])]
            }
            rows.append([.text("Total"), .integer(n), .double(1), total, share(total)])
            run.table = ResultTable(columns: columns, rows: rows, rowKinds: Array(repeating: .detail, count: rows.count - 1) + [.total],
                                    warnings: warnings)
            run.finish = ContinuousClock.now - scanned.scanned
            return run
        }
        guard n <= limits.maxResultRows else {
            throw Diagnostic("RFM would list \(grouped(n)) members, more than max_result_rows (\(grouped(limits.maxResultRows)))", at: range,
                             help: "RFM \(level) SUMMARY gives one row per segment; or narrow the members with WHERE, or SET max_result_rows")
        }
        // Segments best first; within one, the largest monetary value first, then member order.
        let moneyKeys = keys[2]
        let order = (0..<n).sorted { a, b in
            if segment[a] != segment[b] { return segment[a] < segment[b] }
            let c = moneyKeys.compare(a, b)
            if c != 0 { return c > 0 }
            return scanned.member(a) < scanned.member(b)
        }
        let rows = order.map { g -> [Value] in
            [.text(members[Int(scanned.member(g))]), scanned.columns[0][g], scanned.columns[1][g], scanned.columns[2][g],
             .integer(Int(r[g])), .integer(Int(f[g])), .integer(Int(m[g])), .text("\(r[g])\(f[g])\(m[g])"), .text(QueryEngine.rfmSegments[segment[g]])]
        }
        run.table = ResultTable(columns: columns, rows: rows, rowKinds: Array(repeating: .detail, count: rows.count), warnings: warnings)
        run.finish = ContinuousClock.now - scanned.scanned
        return run
    }

    /// The measure an analysis takes for money by default: the first measure of the model
    /// (then of the session) shown as money, e.g. `revenue`.
    func moneyMeasure(for statement: String, keyword: String?, at range: SourceRange) throws(Diagnostic) -> Expr {
        guard let found = (cube.measures + sessionMeasures).first(where: { $0.format == .money }) else {
            throw Diagnostic("\(statement) needs a money measure, and cube '\(cube.name)' has no measure with \"format\": \"money\"", at: range,
                             help: keyword.map { "name the measure: \(statement) ... \($0) measure" } ?? "give the measure of sales value \"format\": \"money\" in the model")
        }
        return .name([found.name], range)
    }

    /// The measure an analysis counts orders with by default: `orders`, else the first
    /// `count` measure of the model (then of the session).
    func orderMeasure(for statement: String, keyword: String?, at range: SourceRange) throws(Diagnostic) -> Expr {
        let all = cube.measures + sessionMeasures
        let found = all.first { $0.name.caseInsensitiveEquals("orders") } ?? all.first { m in
            if case .aggregate(.count, _) = m.definition { return true } else { return false }
        }
        guard let found else {
            throw Diagnostic("\(statement) needs a measure that counts orders, and cube '\(cube.name)' has neither 'orders' nor a count measure", at: range,
                             help: keyword.map { "name the measure: \(statement) ... \($0) measure" } ?? "add { \"name\": \"orders\", \"aggregate\": \"count\" } to the model's measures")
        }
        return .name([found.name], range)
    }
}

/// Members' values ordered for comparison: as 64-bit integers when they are exact at one
/// scale (sums of a money column, counts, days), as `Value`s otherwise. Empty values are
/// below every other.
struct SortKeys {
    private var integers: [Int64]?
    /// The scale of the integer keys.
    private(set) var scale = 0
    private let values: [Value]

    init(_ values: [Value]) {
        self.values = values
        var scale: Int?
        var keys: [Int64] = []
        keys.reserveCapacity(values.count)
        for v in values {
            switch v {
            case .null: keys.append(Int64.min)
            case .exact(let m, let s) where m > Int128(Int64.min) && m < Int128(Int64.max) && (scale == nil || scale == s):
                scale = s
                keys.append(Int64(m))
            default: return
            }
        }
        integers = keys
        self.scale = scale ?? 0
    }

    /// Number of members.
    var count: Int { values.count }

    /// The integer keys (`Int64.min` for an empty value), when every value has one.
    var keys: [Int64]? { integers }

    /// Whether member `i`'s value is empty.
    func isNull(_ i: Int) -> Bool { values[i].isNull }

    /// -1, 0 or 1 as member `a`'s value is below, equal to or above member `b`'s.
    func compare(_ a: Int, _ b: Int) -> Int {
        if let integers { return integers[a] < integers[b] ? -1 : integers[a] == integers[b] ? 0 : 1 }
        switch (values[a].isNull, values[b].isNull) {
        case (true, true): return 0
        case (true, false): return -1
        case (false, true): return 1
        default: return Value.compare(values[a], values[b]) ?? 0
        }
    }
}

/// Quintile scores 1–5 of members' values, 5 best, by each member's middle rank: with `w`
/// members of the `n` having a strictly worse value (smaller, or larger when
/// `largerIsBetter` is false; empty values are worst) and `e` an equal one (itself
/// included), the score is `1 + floor(5 × (w + (e − 1) / 2) / n)`. Equal values share a
/// score, the one of the middle of their run, so a quintile may hold more or fewer than a
/// fifth of the members, and members that all tie score alike in the middle.
struct QuintileScores {
    let scores: [UInt8]
    /// Whether every member has the same value (and there are at least two).
    let allEqual: Bool
    /// Whether the values were ranked as integers.
    let isExact: Bool

    /// The score of a run of equal values that starts after `worse` members and holds `equal`.
    private static func score(worse: Int, equal: Int, n: Int) -> UInt8 { UInt8(1 + 5 * (2 * worse + equal - 1) / max(1, 2 * n)) }

    init(_ keys: SortKeys, largerIsBetter: Bool) {
        let n = keys.count
        isExact = keys.keys != nil
        if var ints = keys.keys {
            // Worse values first: negate when smaller is better (empty stays worst). The score
            // only grows with the value, so it is found from the four values where it steps up,
            // read off the sorted keys in one pass.
            if !largerIsBetter { ints = ints.map { $0 == Int64.min ? Int64.min : -$0 } }
            var sorted = ints
            sorted.sort()
            var steps = [Int64](repeating: Int64.max, count: 6)  // steps[k]: the least value scoring k or more
            var start = 0
            while start < n {
                var end = start + 1
                while end < n && sorted[end] == sorted[start] { end += 1 }
                let s = Int(QuintileScores.score(worse: start, equal: end - start, n: n))
                if s >= 2 { for k in 2...s where steps[k] == Int64.max { steps[k] = sorted[start] } }
                start = end
            }
            allEqual = n > 1 && sorted[0] == sorted[n - 1]
            // A step no run reaches stays at Int64.max, above every key (keys are below it).
            let (t2, t3, t4, t5) = (steps[2], steps[3], steps[4], steps[5])
            scores = ints.map { v in
                UInt8(1 + (v >= t2 ? 1 : 0) + (v >= t3 ? 1 : 0) + (v >= t4 ? 1 : 0) + (v >= t5 ? 1 : 0))
            }
            return
        }
        var worse = [Int](repeating: 0, count: n), equal = [Int](repeating: 1, count: n)
        let order = (0..<n).sorted { a, b in
            let c = keys.compare(a, b)
            if keys.isNull(a) || keys.isNull(b) { return c < 0 }
            return largerIsBetter ? c < 0 : c > 0
        }
        var start = 0
        for k in 0...n where k == n || (k > 0 && keys.compare(order[k - 1], order[k]) != 0) {
            for j in start..<k {
                worse[order[j]] = start
                equal[order[j]] = k - start
            }
            start = k
        }
        scores = (0..<n).map { QuintileScores.score(worse: worse[$0], equal: equal[$0], n: n) }
        allEqual = n > 1 && equal[0] == n
    }
}
