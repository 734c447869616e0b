import CubistCore
/// A statement of the Cubist language, as parsed (syntax only; the planner binds names).
public indirect enum Statement: Sendable, Hashable {
    /// `SELECT ...`
    case select(SelectStatement)
    /// `SET $name = value`
    case setParameter(name: String, value: Expr, SourceRange)
    /// `SET name = value`: a session setting (`max_result_rows`, `memory_limit`, `timeout`).
    case setOption(name: String, value: Expr, SourceRange)
    /// A step on the session's current view (the last SELECT).
    case navigate(Navigation, SourceRange)
    /// A question about the cube's model.
    case metadata(Metadata, SourceRange)
    /// `LOAD 'path' [AS name]`: load another cube and make it current.
    case load(path: String, name: String?, SourceRange)
    /// `USE name`: make a loaded cube current.
    case use(name: String, SourceRange)
    /// `SAVE 'file'`: write the current cube to a binary snapshot.
    /// `SAVE 'file' [OVERWRITE]`: OVERWRITE replaces a file that is not a snapshot.
    case save(path: String, overwrite: Bool, SourceRange)
    /// `APPEND 'file' [TO 'snapshot.cube']`: add the file's fact rows to the current cube;
    /// with TO, also journal them to the snapshot the cube is the state of.
    case append(path: String, snapshot: String?, SourceRange)
    /// `EXPLAIN SELECT ...`: how the query is planned and what running it did.
    /// `EXPLAIN [ANALYZE] select`: ANALYZE times each finishing stage too.
    case explain(SelectStatement, analyze: Bool, SourceRange)
    /// `EXPLAIN [ANALYZE] PARETO|RFM|LTV ...`: the grouped queries an analysis scans and
    /// its own steps.
    case explainAnalysis(Analysis, analyze: Bool, SourceRange)
    /// `DEFINE MEASURE name = expr [FORMAT f]`: a measure for the rest of the session.
    case defineMeasure(name: String, expr: Expr, format: String?, SourceRange)
    /// `DEFINE ATTRIBUTE dim.name = expr [WHERE condition]`: an attribute computed from each
    /// leaf member's facts.
    case defineAttribute(dimension: String, name: String, expr: Expr, condition: Condition?, SourceRange)
    /// A customer analysis answered in one statement (`PARETO ...`, `RFM ...`, `LTV ...`).
    case analysis(Analysis, SourceRange)
    /// A SELECT or an analysis followed by `CHART kind`: its result drawn as a chart where
    /// the output can show one (the terminal, HTML and Markdown reports).
    case charted(Statement, ChartClause)

    /// Where the statement is in its source.
    public var range: SourceRange {
        switch self {
        case .select(let s): return s.range
        case .setParameter(_, _, let r), .setOption(_, _, let r), .navigate(_, let r), .metadata(_, let r), .defineMeasure(_, _, _, let r), .defineAttribute(_, _, _, _, let r),
             .load(_, _, let r), .use(_, let r), .save(_, _, let r), .append(_, _, let r), .explain(_, _, let r), .analysis(_, let r),
             .explainAnalysis(_, _, let r): return r
        case .charted(let inner, let chart): return SourceRange(start: inner.range.start, end: chart.range.end, location: inner.range.location)
        }
    }
}

/// The kinds of chart `CHART` draws.
public enum ChartKind: String, Sendable, Hashable, CaseIterable {
    /// Vertical bars, one group per x category (series side by side).
    case bar
    /// Horizontal bars, one row per category: long labels read well.
    case hbar
    /// A line per series over the x axis.
    case line
    /// Like line, the area under it filled.
    case area
    /// Bars with the series stacked.
    case stacked
    /// A grid of x by series, each cell shaded by its value.
    case heatmap
    /// Bars in descending order with the cumulative share as a line.
    case pareto
}

/// `CHART kind` after a SELECT or an analysis.
public struct ChartClause: Sendable, Hashable {
    /// What to draw.
    public var kind: ChartKind
    /// Where the clause is (from `CHART` to the kind).
    public var range: SourceRange

    /// Creates a clause.
    public init(kind: ChartKind, range: SourceRange) {
        self.kind = kind
        self.range = range
    }
}

/// The customer analyses: CRM questions that are one statement each.
public enum Analysis: Sendable, Hashable {
    /// `PARETO level BY m [WHERE condition] [CURVE]`: the concentration of `m` over the
    /// members of `level` (the 20:80 rule).
    case pareto(level: Expr, measure: Expr, condition: Condition?, curve: Bool)
    /// `RFM level [BY m] [FREQUENCY f] [WHERE condition] [SUMMARY]`: each member's recency,
    /// frequency and monetary value, their quintile scores and segment (SUMMARY: one row per
    /// segment). Without BY or FREQUENCY the cube's money and order measures are used.
    case rfm(level: Expr, monetary: Expr?, frequency: Expr?, condition: Condition?, summary: Bool)
    /// `LTV level [BY levels] [WHERE condition]`: what a member of `level` is worth, per
    /// group of the BY levels (members, value, orders and margin per member, average order
    /// value, mean lifetime in days).
    case ltv(level: Expr, by: [Expr], condition: Condition?)
    /// `COHORT level BY period [MEASURE m] [WHERE condition]`: members grouped by the period
    /// of their first purchase, and per period since then the share of each group still
    /// active (or `m`).
    case cohort(level: Expr, period: Expr, measure: Expr?, condition: Condition?)
    /// `CHURN level [WINDOW n DAYS | BETWEEN p AND q] [BY levels] [LIST] [WHERE condition]`:
    /// the members active in the earlier window and not in the later one.
    case churn(level: Expr, window: ChurnWindow?, by: [Expr], list: Bool, condition: Condition?)
    /// `BASKET level [PER basket] [MIN SUPPORT x] [WHERE condition]`: which members of
    /// `level` are bought together in one basket (a member of the `PER` level).
    case basket(level: Expr, per: Expr?, minSupport: Expr?, condition: Condition?)
}

/// The two windows a CHURN compares.
public enum ChurnWindow: Sendable, Hashable {
    /// `WINDOW n DAYS`: the last n days against the n before, back from the latest date.
    case days(Expr)
    /// `BETWEEN p AND q`: two periods of one time grain (`2024` and `2025`, `'2025-Q1'` and `'2025-Q2'`).
    case between(Expr, Expr)
}

/// The metadata statements.
public enum Metadata: Sendable, Hashable {
    /// `SHOW CUBES`
    case cubes
    /// `SHOW DIMENSIONS`
    case dimensions
    /// `SHOW MEASURES`
    case measures
    /// `DESCRIBE dim`
    case describe(Expr)
    /// `SHOW MEMBERS level [LIKE 'pattern'] [LIMIT n]`
    case members(Expr, like: Expr?, limit: Expr?)
}

/// The navigation statements: each changes the current view one step.
public enum Navigation: Sendable, Hashable {
    /// `SLICE level = 'member'`: filter to one member and drop that dimension from the axes.
    case slice(level: Expr, member: Expr)
    /// `DICE level IN (...) [, level IN (...)]`: restrict several dimensions at once.
    case dice([(level: Expr, members: [Expr])])
    /// `ROLLUP dim [TO level | ALL]`: one level up, up to a level, or off the axes.
    case rollup(dimension: Expr, to: Expr?, all: Bool)
    /// `DRILLDOWN dim [TO level] [= 'member']`: one level down (or to a level), optionally
    /// into one member of the current level.
    case drilldown(dimension: Expr, to: Expr?, member: Expr?)
    /// `PIVOT`: swap BY and ACROSS.
    case pivot
    /// `BACK`: undo the last step.
    case back
    /// `SHOW VIEW`: the SELECT the view stands for.
    case showView
    /// `DRILLTHROUGH [ROW n] [LIMIT k]`: the fact rows behind one result row of the view.
    case drillthrough(row: Expr?, limit: Expr?)

    public static func == (a: Navigation, b: Navigation) -> Bool { a.description == b.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

/// One item of a SELECT list: an expression and an optional `AS` alias.
public struct SelectItem: Sendable, Hashable {
    /// The expression.
    public var expr: Expr
    /// The alias after `AS`, if any.
    public var alias: String?

    /// Creates an item.
    public init(expr: Expr, alias: String?) {
        self.expr = expr
        self.alias = alias
    }
}

/// One item of a BY clause: a level, or `ROLLUP(level, ...)` for subtotals.
public enum GroupItem: Sendable, Hashable {
    /// A level, attribute or dimension name.
    case level(Expr)
    /// `ROLLUP(a, b, ...)`: subtotal rows for every prefix of the list.
    case rollup([Expr], SourceRange)
}

/// `TOP n [PERCENT] BY m [WITH OTHERS]`.
public struct TopClause: Sendable, Hashable {
    /// How many rows (or what percent of them): a number or a parameter.
    public var count: Expr
    /// Whether `count` is a percentage of the rows.
    public var percent: Bool
    /// The measure expression ranked on, highest first.
    public var by: Expr
    /// Whether one more row sums everything outside the top.
    public var withOthers: Bool
    /// Where the clause is.
    public var range: SourceRange

    /// Creates a TOP clause.
    public init(count: Expr, percent: Bool, by: Expr, withOthers: Bool, range: SourceRange) {
        self.count = count
        self.percent = percent
        self.by = by
        self.withOthers = withOthers
        self.range = range
    }
}

/// One ORDER BY key.
public struct OrderItem: Sendable, Hashable {
    /// An output column's name or alias, a level, or a measure expression.
    public var expr: Expr
    /// True for `DESC`.
    public var descending: Bool

    /// Creates an order key.
    public init(expr: Expr, descending: Bool) {
        self.expr = expr
        self.descending = descending
    }
}

/// A SELECT statement (also the body of a sub-select in `IN (...)`).
public struct SelectStatement: Sendable, Hashable {
    /// The select list.
    public var items: [SelectItem]
    /// The cube after `FROM`, if given.
    public var from: Expr?
    /// The BY (GROUP BY) items.
    public var by: [GroupItem]
    /// The ACROSS levels (crosstab columns).
    public var across: [Expr]
    /// The WHERE condition.
    public var whereClause: Condition?
    /// The HAVING condition.
    public var having: Condition?
    /// The TOP clause.
    public var top: TopClause?
    /// The ORDER BY keys.
    public var orderBy: [OrderItem]
    /// LIMIT: a number or a parameter.
    public var limit: Expr?
    /// OFFSET: a number or a parameter.
    public var offset: Expr?
    /// `WITH TOTALS`.
    public var withTotals: Bool
    /// Where the statement is.
    public var range: SourceRange

    /// Creates an empty SELECT at `range`.
    public init(range: SourceRange) {
        items = []
        by = []
        across = []
        orderBy = []
        withTotals = false
        self.range = range
    }
}

/// Comparison operators of conditions.
public enum ComparisonOperator: String, Sendable, Hashable, CaseIterable {
    case equal = "="
    case notEqual = "<>"
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
}

/// The unit of `IN LAST n UNITS`.
public enum PeriodUnit: String, Sendable, Hashable, CaseIterable {
    case day, week, month, quarter, year

    /// The unit a word names, singular or plural, any case (`DAYS`, `month`).
    public init?(word: String) {
        var w = word.lowercased()
        if w.hasSuffix("s") { w.removeLast() }
        self.init(rawValue: w)
    }

    /// The plural keyword, as printed: `DAYS`.
    public var keyword: String { rawValue.uppercased() + "S" }
}

/// A boolean condition of WHERE or HAVING.
public indirect enum Condition: Sendable, Hashable {
    /// `a AND b`
    case and(Condition, Condition)
    /// `a OR b`
    case or(Condition, Condition)
    /// `NOT a`
    case not(Condition, SourceRange)
    /// `x op y`
    case compare(Expr, ComparisonOperator, Expr)
    /// `x [NOT] BETWEEN low AND high`
    case between(Expr, low: Expr, high: Expr, negated: Bool)
    /// `x [NOT] IN (v, ...)`
    case inList(Expr, [Expr], negated: Bool)
    /// `x [NOT] IN (SELECT ...)`
    case inSelect(Expr, SelectStatement, negated: Bool)
    /// `x [NOT] LIKE 'pattern'` (`ILIKE`: ignoring case)
    case like(Expr, pattern: Expr, negated: Bool, caseInsensitive: Bool)
    /// `x [NOT] IN LAST n DAYS|WEEKS|MONTHS|QUARTERS|YEARS`: the periods of a time level
    /// in the last n units, counted back from the cube's latest date.
    case inLast(Expr, count: Expr, unit: PeriodUnit, negated: Bool)

    /// Every name the condition's expressions refer to, in source order (a sub-select's
    /// names are its own).
    public var names: [([String], SourceRange)] {
        switch self {
        case .and(let a, let b), .or(let a, let b): return a.names + b.names
        case .not(let a, _): return a.names
        case .compare(let x, _, let y): return x.names + y.names
        case .between(let x, let low, let high, _): return x.names + low.names + high.names
        case .inList(let x, let values, _): return x.names + values.flatMap(\.names)
        case .inSelect(let x, _, _): return x.names
        case .like(let x, let pattern, _, _): return x.names + pattern.names
        case .inLast(let x, let count, _, _): return x.names + count.names
        }
    }

    /// Where the condition starts.
    public var location: SourceRange {
        switch self {
        case .and(let a, _), .or(let a, _): return a.location
        case .not(_, let r): return r
        case .compare(let x, _, _), .between(let x, _, _, _), .inList(let x, _, _), .inSelect(let x, _, _), .like(let x, _, _, _),
             .inLast(let x, _, _, _):
            return x.range
        }
    }
}
