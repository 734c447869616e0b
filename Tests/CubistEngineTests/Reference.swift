import Foundation
import CubistStore

// A naive, row-at-a-time reference evaluator for the differential test. It shares nothing
// with the engine beyond the loaded cube: queries are built here as structured values,
// printed as text for the engine, and evaluated here directly by scanning every fact row,
// grouping in dictionaries and doing its own exact arithmetic.

/// A reference value.
enum RV: Equatable, CustomStringConvertible {
    case null
    case exact(Int128, Int)
    case double(Double)
    case text(String)

    var description: String {
        switch self {
        case .null: return "null"
        case .exact(let m, let s): return "\(m)e-\(s)"
        case .double(let d): return "\(d)"
        case .text(let t): return "'\(t)'"
        }
    }

    var number: Double? {
        switch self {
        case .exact(let m, let s): return Double(m) / pow10(s)
        case .double(let d): return d
        default: return nil
        }
    }
}

func pow10(_ s: Int) -> Double { (0..<s).reduce(1.0) { r, _ in r * 10 } }
func ipow10(_ s: Int) -> Int128 { (0..<s).reduce(Int128(1)) { r, _ in r * 10 } }

func refArith(_ op: Character, _ a: RV, _ b: RV) -> RV {
    if case .exact(let x, let sx) = a, case .exact(let y, let sy) = b {
        switch op {
        case "+", "-":
            let s = max(sx, sy)
            let xa = x * ipow10(s - sx), ya = y * ipow10(s - sy)
            return .exact(op == "+" ? xa + ya : xa - ya, s)
        case "*": return .exact(x * y, sx + sy)
        default: if y == 0 { return .null }
        }
    }
    guard let x = a.number, let y = b.number else { return .null }
    switch op {
    case "+": return .double(x + y)
    case "-": return .double(x - y)
    case "*": return .double(x * y)
    default: return y == 0 ? .null : .double(x / y)
    }
}

/// -1, 0, 1, or nil when incomparable (null).
func refCompare(_ a: RV, _ b: RV) -> Int? {
    if case .text(let x) = a, case .text(let y) = b { return x == y ? 0 : (x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1) }
    if case .exact(let x, let sx) = a, case .exact(let y, let sy) = b {
        let s = max(sx, sy)
        let xa = x * ipow10(s - sx), ya = y * ipow10(s - sy)
        return xa < ya ? -1 : (xa > ya ? 1 : 0)
    }
    guard let x = a.number, let y = b.number else { return nil }
    return x < y ? -1 : (x > y ? 1 : 0)
}

/// Combines values the way `agg(m PER level)` and the row statistics do: nulls left out;
/// quantiles interpolate linearly at p × (n − 1), exactly (`p` in hundredths).
func refCombine(_ agg: String, _ values: [RV], p: Int128?) -> RV {
    let xs = values.filter { $0 != .null }
    switch agg {
    case "count": return .exact(Int128(xs.count), 0)
    case "sum": return xs.isEmpty ? .null : xs.dropFirst().reduce(xs[0]) { refArith("+", $0, $1) }
    case "avg": return xs.isEmpty ? .null : .double(xs.reduce(0) { $0 + $1.number! } / Double(xs.count))
    case "min": return xs.min { refCompare($0, $1)! < 0 } ?? .null
    case "max": return xs.max { refCompare($0, $1)! < 0 } ?? .null
    case "stddev":
        guard xs.count >= 2 else { return .null }
        // Exact values at one scale: from exact sums, (n Σx² − (Σx)²) / (n (n − 1)), so equal
        // spreads give equal results (ranks of them tie as they should).
        let scales = Set(xs.compactMap { v -> Int? in if case .exact(_, let s) = v { return s } else { return nil } })
        if scales.count == 1, let scale = scales.first, xs.allSatisfy({ if case .exact = $0 { return true } else { return false } }) {
            let ms = xs.map { v -> Int128 in if case .exact(let m, _) = v { return m } else { return 0 } }
            let n = Int128(ms.count), sum = ms.reduce(0, +), squares = ms.reduce(0) { $0 + $1 * $1 }
            return .double((Double(n * squares - sum * sum) / (Double(n) * Double(n - 1)) / pow10(2 * scale)).squareRoot())
        }
        let mean = xs.reduce(0) { $0 + $1.number! } / Double(xs.count)
        return .double((xs.reduce(0) { $0 + ($1.number! - mean) * ($1.number! - mean) } / Double(xs.count - 1)).squareRoot())
    default:
        // median (p = 50) or percentile
        guard !xs.isEmpty else { return .null }
        let sorted = xs.sorted { refCompare($0, $1)! < 0 }
        let position = (p ?? 50) * Int128(sorted.count - 1)  // in hundredths
        let low = Int(position / 100), rest = position % 100
        if rest == 0 { return sorted[low] }
        return refArith("+", sorted[low], refArith("*", refArith("-", sorted[low + 1], sorted[low]), .exact(rest, 2)))
    }
}

/// A level named by dimension and level name.
struct RL: Hashable, Sendable {
    var dim: String
    var level: String
    var text: String { "\(dim).\(level)" }
}

/// Row arithmetic over fact columns.
indirect enum RowE: Sendable {
    case col(String)
    case const(Int128, Int)
    case bin(Character, RowE, RowE)

    var text: String {
        switch self {
        case .col(let c): return c
        case .const(let m, let s): return RV.exact(m, s).plain
        case .bin(let op, let a, let b): return "(\(a.text) \(op) \(b.text))"
        }
    }
}

extension RV {
    var plain: String {
        guard case .exact(let m, let s) = self else { return description }
        if s == 0 { return "\(m)" }
        let p = ipow10(s)
        let frac = String(abs(m % p))
        return (m < 0 ? "-" : "") + "\(abs(m / p))." + String(repeating: "0", count: s - frac.count) + frac
    }
}

/// A measure expression of the reference.
indirect enum RM: Sendable {
    case named(String, RM)
    case sum(RowE), avg(RowE), min(RowE), max(RowE), count(RowE), countStar
    case distinct(RL), firstMember(RL), lastMember(RL)
    /// `count(distinct column)`: distinct non-null values of a fact column.
    case distinctValues(String)
    case const(Int128, Int)
    case bin(Character, RM, RM)
    case share(RM), shareOf(RM, RL), shareAll(RM, String), rank(RM), prev(RM), growth(RM), yoy(RM), running(RM), ytd(RM), qtd(RM), mtd(RM)
    /// `agg(m PER level [, p])`, agg one of sum avg min max count median stddev percentile.
    case per(String, RM, RL, p: Int128?)
    /// `count(level HAVING m > v)` (or `<`).
    case countHaving(RL, RM, String, RV)
    /// `median(x)`, `stddev(x)`, `percentile(x, p / 100)` over fact rows.
    case stat(String, RowE, p: Int128?)
    /// `m FILTER (WHERE c)`.
    case filtered(RM, RC)
    /// `CASE WHEN m op v THEN a [ELSE b] END`.
    case caseWhen(RM, String, RV, then: RM, otherwise: RM?)
    case round(RM, Int), abs(RM), coalesce(RM, RM)
    /// `days(max(time.day), latest(time.day))`: days since the group's last sale.
    case recency
    /// `max(time.day) - n`: a date.
    case lastShift(Int)

    var text: String {
        switch self {
        case .named(let n, _): return n
        case .sum(let e): return "sum(\(e.text))"
        case .avg(let e): return "avg(\(e.text))"
        case .min(let e): return "min(\(e.text))"
        case .max(let e): return "max(\(e.text))"
        case .count(let e): return "count(\(e.text))"
        case .countStar: return "count(*)"
        case .distinct(let l): return "count(distinct \(l.text))"
        case .distinctValues(let c): return "count(distinct \(c))"
        case .firstMember(let l): return "min(\(l.text))"
        case .lastMember(let l): return "max(\(l.text))"
        case .const(let m, let s): return RV.exact(m, s).plain
        case .bin(let op, let a, let b): return "(\(a.text) \(op) \(b.text))"
        case .share(let m): return "share(\(m.text))"
        case .shareOf(let m, let l): return "share(\(m.text), \(l.text))"
        case .shareAll(let m, let d): return "share(\(m.text), ALL \(d))"
        case .rank(let m): return "rank(\(m.text))"
        case .prev(let m): return "prev(\(m.text))"
        case .growth(let m): return "growth(\(m.text))"
        case .yoy(let m): return "yoy(\(m.text))"
        case .running(let m): return "running(\(m.text))"
        case .ytd(let m): return "ytd(\(m.text))"
        case .qtd(let m): return "qtd(\(m.text))"
        case .mtd(let m): return "mtd(\(m.text))"
        case .per(let agg, let m, let l, let p): return "\(agg)(\(m.text) PER \(l.text)\(p.map { ", " + RV.exact($0, 2).plain } ?? ""))"
        case .countHaving(let l, let m, let op, let v): return "count(\(l.text) HAVING \(m.text) \(op) \(v.plain))"
        case .stat(let agg, let e, let p): return "\(agg)(\(e.text)\(p.map { ", " + RV.exact($0, 2).plain } ?? ""))"
        case .filtered(let m, let c): return "\(m.text) FILTER (WHERE \(c.text))"
        case .caseWhen(let m, let op, let v, let a, let b):
            return "CASE WHEN \(m.text) \(op) \(v.plain) THEN \(a.text)" + (b.map { " ELSE \($0.text)" } ?? "") + " END"
        case .round(let m, let d): return "round(\(m.text), \(d))"
        case .abs(let m): return "abs(\(m.text))"
        case .coalesce(let a, let b): return "coalesce(\(a.text), \(b.text))"
        case .recency: return "days(max(time.day), latest(time.day))"
        case .lastShift(let n): return "(max(time.day) - \(n))"
        }
    }
}

extension RM {
    /// Whether the measure holds prev, growth, yoy or running.
    var hasTimeFunction: Bool {
        switch self {
        case .prev, .growth, .yoy, .running, .ytd, .qtd, .mtd: return true
        case .named(_, let m), .share(let m), .shareOf(let m, _), .shareAll(let m, _), .rank(let m), .round(let m, _), .abs(let m),
             .filtered(let m, _), .per(_, let m, _, _), .countHaving(_, let m, _, _):
            return m.hasTimeFunction
        case .bin(_, let a, let b), .coalesce(let a, let b): return a.hasTimeFunction || b.hasTimeFunction
        case .caseWhen(let m, _, _, let a, let b): return m.hasTimeFunction || a.hasTimeFunction || (b?.hasTimeFunction ?? false)
        default: return false
        }
    }
}

/// A WHERE condition of the reference.
indirect enum RC: Sendable {
    case memberEq(RL, String, negated: Bool)
    case memberIn(RL, [String])
    case memberBetween(RL, String, String)
    case memberLike(RL, String)
    case rowCompare(RowE, String, RowE)
    case inSub(RL, year: String, negated: Bool)
    /// `time.level IN LAST n UNITS`.
    case inLast(RL, Int, String)
    case and(RC, RC), or(RC, RC), not(RC)

    var text: String {
        func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
        switch self {
        case .memberEq(let l, let v, let n): return "\(l.text) \(n ? "<>" : "=") \(q(v))"
        case .memberIn(let l, let vs): return "\(l.text) IN (\(vs.map(q).joined(separator: ", ")))"
        case .memberBetween(let l, let a, let b): return "\(l.text) BETWEEN \(q(a)) AND \(q(b))"
        case .memberLike(let l, let p): return "\(l.text) LIKE \(q(p))"
        case .rowCompare(let a, let op, let b): return "\(a.text) \(op) \(b.text)"
        case .inSub(let l, let y, let n): return "\(l.text) \(n ? "NOT " : "")IN (SELECT \(l.text) WHERE time.year = \(y))"
        case .inLast(let l, let n, let unit): return "\(l.text) IN LAST \(n) \(unit.uppercased())S"
        case .and(let a, let b): return "(\(a.text) AND \(b.text))"
        case .or(let a, let b): return "(\(a.text) OR \(b.text))"
        case .not(let a): return "NOT (\(a.text))"
        }
    }
}

/// A computed attribute: `DEFINE ATTRIBUTE dim.name = kind [WHERE condition]`.
struct RAttr {
    enum Kind {
        /// `min(level)`, `max(level)`.
        case first(RL), last(RL)
        /// `band(m, edges...)`, whole-number edges.
        case band(RM, [Int128])
        /// `ntile(k, m)`.
        case ntile(Int, RM)
        /// A whole-number measure: its values are the members.
        case count(RM)
    }
    var attribute: RL
    var kind: Kind
    var condition: RC?

    var text: String {
        let expr: String
        switch kind {
        case .first(let l): expr = "min(\(l.text))"
        case .last(let l): expr = "max(\(l.text))"
        case .band(let m, let edges): expr = "band(\(m.text), \(edges.map { "\($0)" }.joined(separator: ", ")))"
        case .ntile(let k, let m): expr = "ntile(\(k), \(m.text))"
        case .count(let m): expr = m.text
        }
        return "DEFINE ATTRIBUTE \(attribute.text) = \(expr)" + (condition.map { " WHERE " + $0.text } ?? "")
    }
}

/// A whole number with thousands separators, as band labels show edges.
func refGrouped(_ n: Int128) -> String {
    var digits = String(n < 0 ? -n : n)
    var out = ""
    while digits.count > 3 {
        out = "," + digits.suffix(3) + out
        digits = String(digits.dropLast(3))
    }
    return (n < 0 ? "-" : "") + digits + out
}

/// A query of the reference.
struct RQ {
    var by: [RL] = []
    var rollup = false
    var across: [RL] = []
    var measures: [RM] = []
    var filter: RC?
    var having: (Int, String, RV)?
    /// `HAVING max(time.day) op latest(time.day) - n`.
    var dateHaving: (op: String, days: Int)?
    var top: (n: Int, measure: Int, others: Bool)?
    var order: (measure: Int, descending: Bool)?
    var limit: Int?
    var offset: Int?
    var totals = false

    var text: String {
        var s = "SELECT " + measures.map(\.text).joined(separator: ", ")
        if !by.isEmpty { s += " BY " + (rollup ? "ROLLUP(" + by.map(\.text).joined(separator: ", ") + ")" : by.map(\.text).joined(separator: ", ")) }
        if !across.isEmpty { s += " ACROSS " + across.map(\.text).joined(separator: ", ") }
        if let filter { s += " WHERE " + filter.text }
        var conditions: [String] = []
        if let (m, op, v) = having { conditions.append("\(measures[m].text) \(op) \(v.plain)") }
        if let (op, n) = dateHaving { conditions.append("max(time.day) \(op) latest(time.day) - \(n)") }
        if !conditions.isEmpty { s += " HAVING " + conditions.joined(separator: " AND ") }
        if let top { s += " TOP \(top.n) BY \(measures[top.measure].text)" + (top.others ? " WITH OTHERS" : "") }
        if let order { s += " ORDER BY \(measures[order.measure].text)" + (order.descending ? " DESC" : "") }
        if let limit { s += " LIMIT \(limit)" }
        if let offset { s += " OFFSET \(offset)" }
        if totals { s += " WITH TOTALS" }
        return s + ";"
    }
}

/// Evaluates reference queries on a cube, one fact row at a time.
struct Reference {
    let cube: Cube
    /// Sub-select member sets, computed once per query.
    final class Cache {
        var members: [String: Set<Int>] = [:]
        /// When time functions see periods WHERE leaves out: the grouping levels it applies
        /// to, and the rows that pass WHERE without its time conditions.
        var relaxed: (levels: [RL], rows: [Int])?
        var latest: String?
    }
    let cache = Cache()
    /// Computed attributes (DEFINE ATTRIBUTE), worked out by `define` from the fact rows:
    /// the members in order and each leaf member's code.
    var computed: [RL: (members: [String], leaves: [Int])] = [:]

    init(cube: Cube) { self.cube = cube }

    /// Works out a computed attribute from the fact rows, one leaf member at a time, as the
    /// documentation defines it (not as the engine computes it).
    mutating func define(_ a: RAttr) {
        let d = dimIndex(a.attribute)
        var rows = [[Int]](repeating: [], count: cube.dimensions[d].leaf.count)
        for r in 0..<cube.facts.rowCount where a.condition.map({ passes($0, r) }) ?? true {
            rows[Int(cube.facts.dimensionCodes[d][r])].append(r)
        }
        var codes: [Int?]
        var names: [String]
        func values(_ m: RM) -> [RV] { rows.map { $0.isEmpty ? .null : aggregate(m, $0) } }
        switch a.kind {
        case .first(let l), .last(let l):
            let first: Bool
            if case .first = a.kind { first = true } else { first = false }
            let picked = rows.map { rs -> Int? in rs.isEmpty ? nil : (first ? rs.map { code(l, $0) }.min() : rs.map { code(l, $0) }.max()) }
            let used = Set(picked.compactMap { $0 }).sorted()
            names = used.map { members(l)[$0] }
            codes = picked.map { $0.map { used.firstIndex(of: $0)! } }
        case .band(let m, let edges):
            names = ["< " + refGrouped(edges[0])] + edges.indices.dropFirst().map { refGrouped(edges[$0 - 1]) + " – " + refGrouped(edges[$0]) }
                + ["≥ " + refGrouped(edges[edges.count - 1])]
            codes = values(m).map { v in v == .null ? nil : (edges.firstIndex { refCompare(v, .exact($0, 0))! < 0 } ?? edges.count) }
        case .ntile(let k, let m):
            let vs = values(m)
            let ranked = vs.indices.filter { vs[$0] != .null }.sorted { x, y in
                let c = refCompare(vs[x], vs[y])!
                return c != 0 ? c < 0 : x < y
            }
            codes = [Int?](repeating: nil, count: vs.count)
            for (i, leaf) in ranked.enumerated() { codes[leaf] = i * k / ranked.count }
            names = (1...k).map(String.init)
        case .count(let m):
            let numbers = values(m).map { v -> Int128? in if case .exact(let x, 0) = v { return x } else { return nil } }
            let used = Set(numbers.compactMap { $0 }).sorted()
            names = used.map { "\($0)" }
            codes = numbers.map { $0.map { used.firstIndex(of: $0)! } }
        }
        if codes.contains(where: { $0 == nil }) { names.append("(none)") }
        computed[a.attribute] = (names, codes.map { $0 ?? names.count - 1 })
    }

    /// The latest sale day in the whole cube (whatever WHERE says).
    var latestDay: String {
        if let d = cache.latest { return d }
        let d = (0..<cube.facts.rowCount).map { label(RL(dim: "time", level: "day"), $0) }.max() ?? ""
        cache.latest = d
        return d
    }

    func dimIndex(_ l: RL) -> Int { cube.dimensions.firstIndex { $0.name == l.dim }! }

    /// The member code of level `l` for fact row `r`, walking the parent arrays up from the leaf.
    func code(_ l: RL, _ r: Int) -> Int {
        let d = dimIndex(l)
        let dim = cube.dimensions[d]
        let leaf = Int(cube.facts.dimensionCodes[d][r])
        if let computed = computed[l] { return computed.leaves[leaf] }
        if let a = dim.attributes.firstIndex(where: { $0.name == l.level }) { return Int(dim.leafToAttribute[a][leaf]) }
        var i = dim.levels.count - 1
        var c = leaf
        while dim.levels[i].name != l.level {
            c = Int(dim.levels[i].parents[c])
            i -= 1
        }
        return c
    }

    func level(_ l: RL) -> Level {
        let dim = cube.dimensions[dimIndex(l)]
        return (dim.levels + dim.attributes).first { $0.name == l.level }!
    }

    /// The members of a level in order; a computed attribute's as the reference worked them out.
    func members(_ l: RL) -> [String] { computed[l]?.members ?? level(l).members }

    func label(_ l: RL, _ r: Int) -> String { members(l)[code(l, r)] }

    func rowValue(_ e: RowE, _ r: Int) -> RV {
        switch e {
        case .col(let c):
            let column = cube.facts.numericColumns.first { $0.name == c }!
            guard let v = column.value(at: r) else { return .null }
            return .exact(Int128(v.mantissa), v.scale)
        case .const(let m, let s): return .exact(m, s)
        case .bin(let op, let a, let b):
            let x = rowValue(a, r), y = rowValue(b, r)
            if x == .null || y == .null { return .null }
            return refArith(op, x, y)
        }
    }

    func passes(_ c: RC, _ r: Int) -> Bool {
        switch c {
        case .memberEq(let l, let v, let n): return (label(l, r) == v) != n
        case .memberIn(let l, let vs): return vs.contains(label(l, r))
        case .memberBetween(let l, let a, let b):
            let members = self.members(l)
            let lo = members.firstIndex(of: a)!, hi = members.lastIndex(of: b)!
            // A computed attribute's (none) (members without facts) is never inside a range.
            if computed[l] != nil, label(l, r) == "(none)" { return false }
            return (lo...max(lo, hi)).contains(code(l, r)) && lo <= hi
        case .memberLike(let l, let p): return label(l, r).hasPrefix(String(p.dropLast()))
        case .rowCompare(let a, let op, let b):
            guard let c = refCompare(rowValue(a, r), rowValue(b, r)) else { return false }
            switch op {
            case "<": return c < 0
            case "<=": return c <= 0
            case ">": return c > 0
            case ">=": return c >= 0
            case "=": return c == 0
            default: return c != 0
            }
        case .inSub(let l, let y, let n):
            let members = subSelect(l, y)
            return members.contains(code(l, r)) != n
        case .inLast(let l, let n, let unit):
            return RefDate.periodStart(label(RL(dim: "time", level: "day"), r), l.level) >= RefDate.windowStart(latest: latestDay, n: n, unit: unit)
        case .and(let a, let b): return passes(a, r) && passes(b, r)
        case .or(let a, let b): return passes(a, r) || passes(b, r)
        case .not(let a): return !passes(a, r)
        }
    }

    func subSelect(_ l: RL, _ year: String) -> Set<Int> {
        if let s = cache.members[l.text + "|" + year] { return s }
        var s = Set<Int>()
        for r in 0..<cube.facts.rowCount where label(RL(dim: "time", level: "year"), r) == year { s.insert(code(l, r)) }
        cache.members[l.text + "|" + year] = s
        return s
    }

    // MARK: grouping sets

    /// Groups of `rows` by `levels`, each with its rows.
    func groups(_ levels: [RL], _ rows: [Int]) -> [[Int]: [Int]] {
        var out: [[Int]: [Int]] = [:]
        for r in rows { out[levels.map { code($0, r) }, default: []].append(r) }
        if levels.isEmpty, out.isEmpty { out[[]] = [] }
        return out
    }

    /// The value of `m` for every group of one grouping set; `all` are the rows after WHERE.
    func evaluate(_ m: RM, _ levels: [RL], _ groups: [[Int]: [Int]], all: [Int]) -> [[Int]: RV] {
        var out: [[Int]: RV] = [:]
        switch m {
        case .named(_, let inner): return evaluate(inner, levels, groups, all: all)
        case .share(let x):
            let v = evaluate(x, levels, groups, all: all)
            let total = evaluate(x, [], self.groups([], all), all: all)[[]]!
            for (k, value) in v { out[k] = refArith("/", value, total) }
        case .shareOf(let x, let parent):
            let v = evaluate(x, levels, groups, all: all)
            // The parent group: the member at `parent` in place of the dimension's keys at or
            // below it; coarser levels of the dimension and other dimensions stay.
            let candidates = levels.indices.filter { levels[$0].dim == parent.dim && isAncestorOrSelf(parent, of: levels[$0]) }
            guard !candidates.isEmpty else {
                for k in groups.keys { out[k] = .null }
                return out
            }
            let parentLevels = levels.filter { l in
                l.dim != parent.dim || (isAncestorOrSelf(l, of: parent) && l != parent)
            } + [parent]
            let allRows = groups.values.flatMap { $0 }
            let parentGroups = self.groups(parentLevels, allRows)
            let pv = evaluate(x, parentLevels, parentGroups, all: all)
            for (k, rows) in groups {
                let r = rows[0]
                let pk = parentLevels.map { code($0, r) }
                out[k] = refArith("/", v[k]!, pv[pk]!)
            }
        case .shareAll(let x, let dim):
            let v = evaluate(x, levels, groups, all: all)
            let parentLevels = levels.filter { $0.dim != dim }
            let pv = evaluate(x, parentLevels, self.groups(parentLevels, groups.values.flatMap { $0 }), all: all)
            for (k, rows) in groups {
                guard let r = rows.first else { out[k] = .null; continue }
                out[k] = refArith("/", v[k]!, pv[parentLevels.map { code($0, r) }]!)
            }
        case .rank(let x):
            let v = evaluate(x, levels, groups, all: all)
            for (k, value) in v {
                if levels.isEmpty { out[k] = .null; continue }
                if value == .null {
                    out[k] = .exact(Int128(v.values.filter { $0 != .null }.count + 1), 0)
                    continue
                }
                let higher = v.values.filter { refCompare($0, value).map { $0 > 0 } ?? false }.count
                out[k] = .exact(Int128(higher + 1), 0)
            }
        case .prev(let x), .growth(let x), .yoy(let x):
            let v = evaluate(x, levels, timeSource(levels, groups), all: all)
            let t = timePosition(levels)
            for (k, value) in v where groups[k] != nil {
                guard let t else { out[k] = .null; continue }
                var target: Int?
                let members = self.members(levels[t])
                if case .yoy = m {
                    let label = members[k[t]]
                    target = members.firstIndex(of: String(Int(label.prefix(4))! - 1) + label.dropFirst(4))
                } else if k[t] > 0 {
                    target = k[t] - 1
                }
                // The group whose time code is the target and whose other keys are equal,
                // coarser levels of time aside (they follow from the target).
                let match = target.flatMap { tc in
                    v.keys.first { other in
                        other[t] == tc && levels.indices.allSatisfy { j in j == t || other[j] == k[j] || (levels[j].dim == "time" && !isAttribute(levels[j])) }
                    }
                }
                guard let match else { out[k] = .null; continue }
                if case .prev = m { out[k] = v[match]! } else { out[k] = refArith("-", refArith("/", value, v[match]!), .exact(1, 0)) }
            }
        case .running(let x), .ytd(let x), .qtd(let x), .mtd(let x):
            // m over all the rows of the same other keys at or before the period (within the
            // same year, quarter or month for the to-date forms).
            let source = timeSource(levels, groups)
            guard let t = timePosition(levels) else { return groups.mapValues { _ in .null } }
            let restart: String? = { switch m { case .ytd: return "year"; case .qtd: return "quarter"; case .mtd: return "month"; default: return nil } }()
            // A period finer than the finest time level grouped on (qtd over years, in a
            // crosstab's margin) restarts at every row: each row is its own span.
            let grains = ["year", "quarter", "month", "day"]
            func span(_ code: Int) -> Int {
                guard let restart else { return 0 }
                if grains.firstIndex(of: restart)! > grains.firstIndex(of: levels[t].level)! { return code }
                return ancestorCode(levels[t], code, restart)
            }
            for k in groups.keys {
                var rows: [Int] = []
                for (o, r) in source where o[t] <= k[t] && span(o[t]) == span(k[t]) && levels.indices.allSatisfy({ $0 == t || o[$0] == k[$0] }) {
                    rows += r
                }
                out[k] = rows.isEmpty ? .null : evaluate(x, [], self.groups([], rows), all: all)[[]]!
            }
        case .bin(let op, let a, let b):
            let x = evaluate(a, levels, groups, all: all), y = evaluate(b, levels, groups, all: all)
            for k in groups.keys { out[k] = refArith(op, x[k]!, y[k]!) }
        case .filtered(let x, let c):
            return evaluate(x, levels, groups.mapValues { $0.filter { passes(c, $0) } }, all: all)
        case .caseWhen(let m, let op, let v, let a, let b):
            let test = evaluate(m, levels, groups, all: all), x = evaluate(a, levels, groups, all: all)
            let y = b.map { evaluate($0, levels, groups, all: all) }
            for k in groups.keys {
                let holds = refCompare(test[k]!, v).map { op == ">" ? $0 > 0 : $0 < 0 } ?? false
                out[k] = holds ? x[k]! : (y?[k] ?? .null)
            }
        case .round(let m, let d):
            for (k, value) in evaluate(m, levels, groups, all: all) {
                switch value {
                case .exact(let mantissa, let scale) where scale > d:
                    // Halves away from zero, by hand.
                    let unit = ipow10(scale - d)
                    let magnitude = mantissa < 0 ? -mantissa : mantissa
                    var q = magnitude / unit
                    if (magnitude % unit) * 2 >= unit { q += 1 }
                    out[k] = .exact(mantissa < 0 ? -q : q, d)
                case .double(let x): out[k] = .double((x * pow10(d)).rounded(.toNearestOrAwayFromZero) / pow10(d))
                default: out[k] = value
                }
            }
        case .abs(let m):
            for (k, value) in evaluate(m, levels, groups, all: all) {
                switch value {
                case .exact(let x, let s): out[k] = .exact(x < 0 ? -x : x, s)
                case .double(let x): out[k] = .double(Swift.abs(x))
                default: out[k] = value
                }
            }
        case .coalesce(let a, let b):
            let x = evaluate(a, levels, groups, all: all), y = evaluate(b, levels, groups, all: all)
            for k in groups.keys { out[k] = x[k]! == .null ? y[k]! : x[k]! }
        case .per(let agg, let x, let l, let p):
            for (k, rows) in groups {
                let perMember = evaluate(x, [l], self.groups([l], rows).filter { !$0.value.isEmpty }, all: all)
                out[k] = refCombine(agg, Array(perMember.values), p: p)
            }
        case .countHaving(let l, let x, let op, let v):
            for (k, rows) in groups {
                let perMember = evaluate(x, [l], self.groups([l], rows).filter { !$0.value.isEmpty }, all: all)
                let n = perMember.values.filter { value in refCompare(value, v).map { op == ">" ? $0 > 0 : $0 < 0 } ?? false }.count
                out[k] = .exact(Int128(n), 0)
            }
        default:
            for (k, rows) in groups { out[k] = aggregate(m, rows) }
        }
        return out
    }

    /// The groups time functions read: every period when WHERE's time conditions were lifted
    /// for these levels, else the groups themselves.
    func timeSource(_ levels: [RL], _ groups: [[Int]: [Int]]) -> [[Int]: [Int]] {
        guard let relaxed = cache.relaxed, relaxed.levels == levels else { return groups }
        return self.groups(levels, relaxed.rows)
    }

    /// Whether a time-only condition holds for a leaf day of the time dimension.
    func passesDay(_ c: RC, _ day: Int) -> Bool {
        func label(_ l: RL) -> String {
            let dim = cube.dimensions[dimIndex(l)]
            if let a = dim.attributes.firstIndex(where: { $0.name == l.level }) { return dim.attributes[a].members[Int(dim.leafToAttribute[a][day])] }
            var i = dim.levels.count - 1, code = day
            while dim.levels[i].name != l.level {
                code = Int(dim.levels[i].parents[code])
                i -= 1
            }
            return dim.levels[i].members[code]
        }
        switch c {
        case .memberEq(let l, let v, let n): return (label(l) == v) != n
        case .memberIn(let l, let vs): return vs.contains(label(l))
        case .memberBetween(let l, let a, let b):
            let members = self.members(l)
            let lo = members.firstIndex(of: a)!, hi = members.lastIndex(of: b)!
            return lo <= hi && (lo...hi).contains(members.firstIndex(of: label(l))!)
        case .memberLike(let l, let p): return label(l).hasPrefix(String(p.dropLast()))
        case .inLast(let l, let n, let unit):
            return RefDate.periodStart(label(RL(dim: "time", level: "day")), l.level) >= RefDate.windowStart(latest: latestDay, n: n, unit: unit)
        case .and(let a, let b): return passesDay(a, day) && passesDay(b, day)
        case .or(let a, let b): return passesDay(a, day) || passesDay(b, day)
        case .not(let a): return !passesDay(a, day)
        default: return true
        }
    }

    /// The levels a condition tests, and whether it tests fact columns or sub-selects.
    func onlyTime(_ c: RC) -> Bool {
        switch c {
        case .memberEq(let l, _, _), .memberIn(let l, _), .memberBetween(let l, _, _), .memberLike(let l, _), .inLast(let l, _, _): return l.dim == "time"
        case .and(let a, let b), .or(let a, let b): return onlyTime(a) && onlyTime(b)
        case .not(let a): return onlyTime(a)
        case .rowCompare, .inSub: return false
        }
    }

    func conjuncts(_ c: RC) -> [RC] {
        if case .and(let a, let b) = c { return conjuncts(a) + conjuncts(b) }
        return [c]
    }

    /// Decides whether time functions see past WHERE: they must be in the query, and WHERE's
    /// time-only conditions must keep or drop whole members of the finest time level grouped on.
    func relax(_ q: RQ) {
        cache.relaxed = nil
        guard q.measures.contains(where: \.hasTimeFunction), let filter = q.filter else { return }
        let levels = q.by + q.across
        guard let t = timePosition(levels) else { return }
        let parts = conjuncts(filter)
        let timeParts = parts.filter(onlyTime), rest = parts.filter { !onlyTime($0) }
        guard !timeParts.isEmpty else { return }
        let time = cube.dimensions[dimIndex(RL(dim: "time", level: "year"))]
        var keep: [Int: Bool] = [:]
        for day in 0..<time.leaf.count {
            let pass = timeParts.allSatisfy { passesDay($0, day) }
            let dim = time
            var i = dim.levels.count - 1, code = day
            while dim.levels[i].name != levels[t].level {
                code = Int(dim.levels[i].parents[code])
                i -= 1
            }
            if let seen = keep[code], seen != pass { return }
            keep[code] = pass
        }
        let rows = (0..<cube.facts.rowCount).filter { r in rest.allSatisfy { passes($0, r) } }
        cache.relaxed = (levels, rows)
    }

    /// The code of time level `to` above `code` of time level `from`.
    func ancestorCode(_ from: RL, _ code: Int, _ to: String) -> Int {
        let dim = cube.dimensions[dimIndex(from)]
        var i = dim.levels.firstIndex { $0.name == from.level }!, c = code
        while dim.levels[i].name != to {
            c = Int(dim.levels[i].parents[c])
            i -= 1
        }
        return c
    }

    func isAttribute(_ l: RL) -> Bool { cube.dimensions[dimIndex(l)].attributes.contains { $0.name == l.level } }

    func isAncestorOrSelf(_ a: RL, of b: RL) -> Bool {
        if a == b { return true }
        if isAttribute(a) || isAttribute(b) { return false }
        let names = cube.dimensions[dimIndex(a)].levels.map(\.name)
        return names.firstIndex(of: a.level)! <= names.firstIndex(of: b.level)!
    }

    func timePosition(_ levels: [RL]) -> Int? {
        let order = ["year", "quarter", "month", "day"]
        var best: Int?
        for (j, l) in levels.enumerated() where l.dim == "time" && order.contains(l.level) {
            if best == nil || order.firstIndex(of: l.level)! > order.firstIndex(of: levels[best!].level)! { best = j }
        }
        return best
    }

    func aggregate(_ m: RM, _ rows: [Int]) -> RV {
        switch m {
        case .countStar: return .exact(Int128(rows.count), 0)
        case .sum(let e), .avg(let e), .count(let e):
            var sum = RV.exact(0, 0)
            var n = 0
            for r in rows {
                let v = rowValue(e, r)
                if v == .null { continue }
                sum = refArith("+", sum, v)
                n += 1
            }
            if case .count = m { return .exact(Int128(n), 0) }
            if n == 0 { return .null }
            if case .avg = m { return .double(sum.number! / Double(n)) }
            return sum
        case .min(let e), .max(let e):
            var best = RV.null
            for r in rows {
                let v = rowValue(e, r)
                if v == .null { continue }
                if best == .null { best = v; continue }
                let c = refCompare(v, best)!
                if case .min = m, c < 0 { best = v }
                if case .max = m, c > 0 { best = v }
            }
            return best
        case .stat(let agg, let e, let p): return refCombine(agg, rows.map { rowValue(e, $0) }, p: p)
        case .distinct(let l): return .exact(Int128(Set(rows.map { code(l, $0) }).count), 0)
        case .distinctValues(let c): return .exact(Int128(Set(rows.compactMap { rowValue(.col(c), $0) == .null ? nil : "\(rowValue(.col(c), $0))" }).count), 0)
        case .firstMember(let l): return rows.isEmpty ? .null : .text(members(l)[rows.map { code(l, $0) }.min()!])
        case .lastMember(let l): return rows.isEmpty ? .null : .text(members(l)[rows.map { code(l, $0) }.max()!])
        case .const(let x, let s): return .exact(x, s)
        case .recency:
            guard let last = rows.map({ label(RL(dim: "time", level: "day"), $0) }).max() else { return .null }
            return .exact(Int128(RefDate.days(last, latestDay)), 0)
        case .lastShift(let n):
            guard let last = rows.map({ label(RL(dim: "time", level: "day"), $0) }).max() else { return .null }
            return .text(RefDate.adding(-n, to: last))
        default: fatalError("not an aggregate: \(m)")
        }
    }

    // MARK: the query

    /// The result rows, as the engine's result defines them.
    func run(_ q: RQ) -> [[RV]] {
        relax(q)
        let all = (0..<cube.facts.rowCount).filter { r in q.filter.map { passes($0, r) } ?? true }
        let detail = groups(q.by, all)
        let values = q.measures.map { evaluate($0, q.by, detail, all: all) }
        var kept = detail.keys.filter { k in
            if let (op, n) = q.dateHaving {
                guard let last = detail[k]!.map({ label(RL(dim: "time", level: "day"), $0) }).max() else { return false }
                let bound = RefDate.adding(-n, to: latestDay)
                guard op == "<" ? last < bound : last > bound else { return false }
            }
            guard let (m, op, v) = q.having else { return true }
            guard let c = refCompare(values[m][k]!, v) else { return false }
            return op == ">" ? c > 0 : c < 0
        }
        if q.by.isEmpty { kept = [[]] }
        func orderValue(_ a: RV, _ b: RV) -> Int {
            switch (a == .null, b == .null) {
            case (true, true): return 0
            case (true, false): return -1
            case (false, true): return 1
            default: return refCompare(a, b) ?? 0
            }
        }
        var others: [[Int]] = []
        if let top = q.top {
            let ranked = kept.sorted { x, y in
                let c = orderValue(values[top.measure][x]!, values[top.measure][y]!)
                return c != 0 ? c > 0 : x.lexicographicallyPrecedes(y)
            }
            kept = Array(ranked.prefix(top.n))
            others = Array(ranked.dropFirst(top.n))
        }
        // Rows as (kind, depth, key prefix, values per measure).
        typealias Row = (kind: String, key: [Int], values: [RV])
        func sorted(_ keys: [[Int]], _ vals: [[[Int]: RV]]) -> [[Int]] {
            keys.sorted { x, y in
                if let o = q.order {
                    let c = orderValue(vals[o.measure][x]!, vals[o.measure][y]!)
                    if c != 0 { return o.descending ? c > 0 : c < 0 }
                } else if let top = q.top {
                    let c = orderValue(vals[top.measure][x]!, vals[top.measure][y]!)
                    if c != 0 { return c > 0 }
                }
                return x.lexicographicallyPrecedes(y)
            }
        }
        var out: [Row] = []
        let keptRows = kept.flatMap { detail[$0]! }
        if q.rollup {
            var setValues: [Int: [[[Int]: RV]]] = [:]
            for k in 0..<q.by.count {
                let levels = Array(q.by.prefix(k))
                let g = groups(levels, keptRows)
                setValues[k] = q.measures.map { evaluate($0, levels, g, all: all) }
            }
            setValues[q.by.count] = values
            func emit(_ k: Int, _ prefix: [Int]) {
                if k == q.by.count {
                    out.append(("detail", prefix, values.map { $0[prefix]! }))
                    return
                }
                let children = Set(kept.filter { Array($0.prefix(k)) == prefix }.map { Array($0.prefix(k + 1)) })
                for child in sorted(Array(children), setValues[k + 1]!) { emit(k + 1, child) }
                out.append((k == 0 ? "total" : "subtotal", prefix, setValues[k]!.map { $0[prefix]! }))
            }
            if !kept.isEmpty { emit(0, []) }
        } else {
            for k in sorted(kept, values) { out.append(("detail", k, values.map { $0[k]! })) }
        }
        let summarized = q.top?.others == true ? kept + others : kept
        var othersRow: Row?
        if q.top?.others == true, !others.isEmpty {
            let g = groups([], others.flatMap { detail[$0]! })
            othersRow = ("others", [], q.measures.map { evaluate($0, [], g, all: all)[[]]! })
        }
        var total: Row?
        if out.last?.kind == "total" {
            total = out.removeLast()
        } else if q.totals, !q.by.isEmpty {
            let g = groups([], summarized.flatMap { detail[$0]! })
            total = ("total", [], q.measures.map { evaluate($0, [], g, all: all)[[]]! })
        }
        let start = min(q.offset ?? 0, out.count)
        let end = q.limit.map { min(out.count, start + $0) } ?? out.count
        var shown = Array(out[start..<end])
        if let othersRow { shown.append(othersRow) }
        if let total { shown.append(total) }

        // Crosstab cells.
        var combos: [[Int]] = []
        var cell: [[[Int]: RV]] = []
        var margin: [[[Int]: RV]] = []
        var otherCells: [[[Int]: RV]] = []
        if !q.across.isEmpty {
            let included = summarized.flatMap { detail[$0]! }
            combos = Set(included.map { r in q.across.map { code($0, r) } }).sorted { $0.lexicographicallyPrecedes($1) }
            let fine = groups(q.by + q.across, all)
            cell = q.measures.map { evaluate($0, q.by + q.across, fine, all: all) }
            let mg = groups(q.across, included)
            margin = q.measures.map { evaluate($0, q.across, mg, all: all) }
            let og = groups(q.across, others.flatMap { detail[$0]! })
            otherCells = q.measures.map { evaluate($0, q.across, og, all: all) }
        }
        return shown.map { row in
            var cells: [RV] = []
            for (j, l) in q.by.enumerated() {
                if row.kind == "others" { cells.append(j == 0 ? .text("Others") : .null) } else if j < row.key.count {
                    cells.append(.text(members(l)[row.key[j]]))
                } else {
                    cells.append(.null)
                }
            }
            if q.across.isEmpty { return cells + row.values }
            for combo in combos {
                for m in q.measures.indices {
                    switch row.kind {
                    case "detail": cells.append(cell[m][row.key + combo] ?? .null)
                    case "subtotal":
                        let levels = Array(q.by.prefix(row.key.count)) + q.across
                        let g = groups(levels, summarized.flatMap { detail[$0]! })
                        cells.append(evaluate(q.measures[m], levels, g, all: all)[row.key + combo] ?? .null)
                    case "total": cells.append(margin[m][combo] ?? .null)
                    default: cells.append(otherCells[m][combo] ?? .null)
                    }
                }
            }
            if q.totals { cells += row.values }
            return cells
        }
    }
}

/// Date arithmetic for the reference, with Foundation's Gregorian calendar in UTC (not the
/// engine's day numbers).
enum RefDate {
    static let calendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    static func date(_ s: String) -> Date {
        let p = s.split(separator: "-").map { Int($0)! }
        return calendar.date(from: DateComponents(year: p[0], month: p[1], day: p[2]))!
    }

    static func text(_ d: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day], from: d)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }

    static func adding(_ days: Int, to s: String) -> String { text(calendar.date(byAdding: .day, value: days, to: date(s))!) }

    static func days(_ a: String, _ b: String) -> Int { calendar.dateComponents([.day], from: date(a), to: date(b)).day! }

    /// The first day of the year, quarter or month holding `day` (the day itself for `day`).
    static func periodStart(_ day: String, _ level: String) -> String {
        let c = calendar.dateComponents([.year, .month], from: date(day))
        switch level {
        case "year": return String(format: "%04d-01-01", c.year!)
        case "quarter": return String(format: "%04d-%02d-01", c.year!, (c.month! - 1) / 3 * 3 + 1)
        case "month": return String(format: "%04d-%02d-01", c.year!, c.month!)
        default: return day
        }
    }

    /// The first day of the last `n` units up to `latest`: days and weeks back from it,
    /// whole calendar months, quarters and years (the latest one included).
    static func windowStart(latest: String, n: Int, unit: String) -> String {
        switch unit {
        case "day": return adding(-(n - 1), to: latest)
        case "week": return adding(-(7 * n - 1), to: latest)
        case "month": return text(calendar.date(byAdding: .month, value: -(n - 1), to: date(periodStart(latest, "month")))!)
        case "quarter": return text(calendar.date(byAdding: .month, value: -3 * (n - 1), to: date(periodStart(latest, "quarter")))!)
        default: return text(calendar.date(byAdding: .year, value: -(n - 1), to: date(periodStart(latest, "year")))!)
        }
    }
}
