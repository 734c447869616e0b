import CubistCore
import CubistStore
import CubistSyntax

/// A level (or attribute) of a dimension, bound to the cube.
struct LevelRef: Hashable {
    /// Index of the dimension in `Cube.dimensions`.
    let dimension: Int
    /// Index of the level in `levels`, or of the attribute in `attributes`.
    let index: Int
    /// Whether it is an attribute.
    let isAttribute: Bool

    func level(in cube: Cube) -> Level {
        let d = cube.dimensions[dimension]
        return isAttribute ? d.attributes[index] : d.levels[index]
    }

    /// For each leaf member of the dimension, this level's code.
    func leafMap(in cube: Cube) -> [Int32] {
        let d = cube.dimensions[dimension]
        return isAttribute ? d.leafToAttribute[index] : d.leafToLevel[index]
    }

    /// True for the dimension's leaf level (its codes are the fact codes themselves).
    func isLeaf(in cube: Cube) -> Bool { !isAttribute && index == cube.dimensions[dimension].levels.count - 1 }

    /// Whether this level rolls up to `level`: it is `level`, or a finer hierarchy level of
    /// the same dimension.
    func rollsUp(to level: LevelRef) -> Bool {
        self == level || (dimension == level.dimension && !isAttribute && !level.isAttribute && index >= level.index)
    }

    /// The position of the finest time hierarchy level (year, quarter, month, day) in `levels`.
    static func finestTime(in levels: [LevelRef], _ cube: Cube) -> Int? {
        var best: Int?
        for (j, l) in levels.enumerated() where cube.dimensions[l.dimension].isTime && !l.isAttribute {
            if let b = best, levels[b].index >= l.index { continue }
            best = j
        }
        return best
    }

    func qualifiedName(in cube: Cube) -> String {
        "\(cube.dimensions[dimension].name).\(level(in: cube).name)"
    }
}

/// Row-level arithmetic over numeric fact columns, evaluated per fact row.
indirect enum RowExpr: Hashable {
    /// A numeric fact column (index in `FactTable.numericColumns`).
    case column(Int)
    /// An exact constant `mantissa / 10^scale`.
    case constant(Int64, scale: Int)
    /// A floating-point constant.
    case doubleConstant(Double)
    case negate(RowExpr)
    case binary(BinaryOperator, RowExpr, RowExpr)

    /// The decimal places of an exact result, or nil when the expression yields Doubles (it divides).
    func scale(in facts: FactTable) -> Int? {
        switch self {
        case .column(let c): return facts.numericColumns[c].scale
        case .constant(_, let s): return s
        case .doubleConstant: return nil
        case .negate(let e): return e.scale(in: facts)
        case .binary(let op, let l, let r):
            guard let a = l.scale(in: facts), let b = r.scale(in: facts) else { return nil }
            switch op {
            case .add, .subtract: return max(a, b)
            case .multiply: return a + b <= 18 ? a + b : nil
            case .divide: return nil
            }
        }
    }
}

/// What a group accumulates while the facts are scanned.
enum AggregateKind: Hashable {
    /// `count(*)`.
    case countRows
    /// Sum and count of the non-null values (serves sum, avg and count of an expression).
    case sum(RowExpr)
    case min(RowExpr)
    case max(RowExpr)
    /// Exact count of distinct members of a level.
    case distinctMembers(LevelRef)
    /// Exact count of distinct values of a numeric fact column.
    case distinctValues(Int)
    /// The first (or last) member of a level in natural order.
    case member(LevelRef, last: Bool)
    /// Every value of a row expression, kept per group (median, percentile, stddev).
    case values(RowExpr)
    /// A measure computed for every member of a level inside the group (`agg(m PER level)`,
    /// `count(level HAVING condition)`); the slot part says how the members' values combine.
    case per(PerSpec)
    /// An aggregate over only the rows that also meet a condition (`m FILTER (WHERE ...)`).
    indirect case filtered(AggregateKind, RowFilter)
}

extension AggregateKind {
    /// Whether the state of a group grows with its rows (members seen, values kept), so the
    /// scan checks `memory_limit` after every slice, not only when groups are added.
    var growsWithinGroups: Bool {
        switch self {
        case .distinctMembers, .distinctValues, .values, .per: return true
        case .filtered(let k, _): return k.growsWithinGroups
        case .countRows, .sum, .min, .max, .member: return false
        }
    }
}

/// The inner measure of a per-member aggregate: a small bound query of its own, run for
/// every (group, member) pair.
struct PerSpec: Hashable {
    /// The level whose members are the unit (`customer.customer`).
    let level: LevelRef
    /// The inner measure's aggregates.
    let aggregates: [AggregateKind]
    /// The inner measure's expressions; `result` is the one combined.
    let values: [MeasureExpr]
    let result: Int
    /// For `count(level HAVING condition)`: only members that meet it take part.
    let condition: GroupFilter?
}

/// What an aggregate slot contributes to a measure expression.
enum SlotPart: Hashable {
    case sum, count, average, value
    /// The smallest or largest of the values kept per group (per-member aggregates).
    case minimum, maximum
    /// The continuous quantile at `fraction / 10^scale` (the median is 0.5).
    case quantile(fraction: Int128, scale: Int)
    /// The sample standard deviation.
    case stddev
}

/// Analytic functions, computed over the aggregated result.
enum AnalyticKind: String, Hashable {
    case share, rank, prev, growth, yoy, running, ytd, qtd, mtd

    /// The functions that read other periods of the time level.
    static let time: Set<AnalyticKind> = [.prev, .growth, .yoy, .running, .ytd, .qtd, .mtd]

    /// For a to-date function, the index of the time level it restarts at (year 0,
    /// quarter 1, month 2).
    var period: Int? {
        switch self {
        case .ytd: return 0
        case .qtd: return 1
        case .mtd: return 2
        default: return nil
        }
    }
}

/// A measure expression, evaluated per group after aggregation.
indirect enum MeasureExpr: Hashable {
    case slot(Int, SlotPart)
    case constant(Value)
    /// The value of `BoundQuery.values[i]`: a named measure, bound once however often it is
    /// used, so measures that build on each other bind and evaluate in linear time.
    case value(Int)
    case negate(MeasureExpr)
    case binary(BinaryOperator, MeasureExpr, MeasureExpr)
    /// An analytic function of a measure expression; `level` for `share(m, level)`.
    case analytic(AnalyticKind, MeasureExpr, level: LevelRef?)
    /// A function of measure values, per cell.
    case scalar(ScalarFunction, [MeasureExpr])
    /// `CASE WHEN ... END`: the first branch whose condition holds, else `otherwise` (or null).
    case caseWhen([BoundBranch], otherwise: MeasureExpr?)
    /// `share(m, ALL dimension)`: m over m with every level of the dimension dropped from
    /// the group (rolled up to its top), the other levels kept.
    case shareOfAll(MeasureExpr, dimension: Int)

}

/// The functions of measure values.
enum ScalarFunction: Hashable {
    /// To this many decimal places, halves away from zero.
    case round(places: Int)
    case abs
    /// The first argument that is not null.
    case coalesce
    /// A date (a period label of this grain) moved by whole periods: `max(time.day) - 90`.
    case shift(TimeGrain, by: Int)
    /// `days(a, b)`: days from date a to date b.
    case days
}

/// One bound `WHEN condition THEN result`: the condition over indices into the query's values.
struct BoundBranch: Hashable {
    let when: GroupFilter
    let then: MeasureExpr
}

/// A row filter of WHERE, evaluated per chunk of fact rows.
indirect enum RowFilter: Hashable {
    /// Keep rows whose leaf member of the dimension is set in the mask.
    case members(dimension: Int, mask: [Bool])
    /// Compare row-level arithmetic; rows where either side is null fail.
    case compare(RowExpr, ComparisonOperator, RowExpr)
    case and([RowFilter])
    case or([RowFilter])
    case not(RowFilter)
    case constant(Bool)
    /// The members listed by sub-select `index` of the query (a mask once it has run).
    case subSelect(index: Int, level: LevelRef)
}

/// A condition of HAVING over measure expressions (indices into the plan's value list).
indirect enum GroupFilter: Hashable {
    case compare(Int, ComparisonOperator, Int)
    case and(GroupFilter, GroupFilter)
    case or(GroupFilter, GroupFilter)
    case not(GroupFilter)
}

/// One ORDER BY key of a plan.
enum OrderKey {
    /// Natural member order of the key level at this position.
    case level(Int, descending: Bool)
    /// A value of the plan's value list.
    case value(Int, descending: Bool)
}

/// A SELECT bound to a cube: what was asked, with every name resolved. It holds no
/// physical choices (those are the `PhysicalPlan`'s) and no runtime knobs (those are the
/// `ExecutionContext`'s), so one bound query can be planned and run many times.
struct BoundQuery {
    /// The grouping levels: BY levels (ROLLUP ones included) then ACROSS levels.
    var levels: [LevelRef] = []
    /// Headers of the BY levels, as written.
    var levelHeaders: [String] = []
    /// How many of `levels` are BY levels.
    var byCount = 0
    /// Index (into the BY levels) where ROLLUP starts, if any.
    var rollupStart: Int?
    /// The aggregates to accumulate.
    var aggregates: [AggregateKind] = []
    /// WHERE. Member sets of sub-selects stand in it as `.subSelect` until they are run.
    var filter: RowFilter?
    /// The sub-selects of WHERE (`level IN (SELECT ...)`), bound; the executor runs them
    /// before this query and turns their members into masks.
    var subSelects: [BoundQuery] = []
    /// Every measure expression the query evaluates: output items first, then hidden ones.
    var values: [MeasureExpr] = []
    /// Output items, in SELECT order.
    var items: [OutputItem] = []
    var having: GroupFilter?
    var order: [OrderKey] = []
    var top: TopClause?
    var limit: Int?
    var offset: Int = 0
    var totals = false
    /// When time functions (`prev`, `growth`, `yoy`, `running`) must see periods WHERE
    /// leaves out: the scan reads every period, and only the groups whose member at grouping
    /// position `position` is kept are shown.
    var timeWindow: TimeWindow?
    var warnings: [Diagnostic] = []
    /// The statement's range, for errors found while executing.
    var range = SourceRange(start: 0, end: 0, location: SourceLocation(line: 1, column: 1))

    var acrossCount: Int { levels.count - byCount }
}

/// The periods WHERE keeps, taken out of the scan's filter so time functions see the
/// periods before them; the finisher shows only the groups in the window.
struct TimeWindow {
    /// The position of the finest time level among the grouping levels.
    let position: Int
    /// Per member of that level, whether WHERE keeps it.
    let keep: [Bool]
}

/// One output column of a SELECT list: its header, the value it shows, and its format.
struct OutputItem {
    let header: String
    /// Index into `BoundQuery.values`.
    let value: Int
    let format: MeasureFormat?
}

/// `TOP n [PERCENT] BY m [WITH OTHERS]`, bound.
struct TopClause {
    /// n as an exact decimal `count / 10^scale` (a percentage may have decimals).
    let count: Int128
    let scale: Int
    let percent: Bool
    /// Index into `BoundQuery.values` of the measure ranked by.
    let value: Int
    let others: Bool
}
