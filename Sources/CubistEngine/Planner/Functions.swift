import CubistStore

/// A function of the query language: its name, kind, how many arguments it takes, the
/// format of its result, and what it does. The binder resolves calls through
/// `FunctionRegistry`, and the shell completes and documents from it.
public struct FunctionInfo: Sendable {
    /// Where a function is computed.
    public enum Kind: Sendable {
        /// Over fact rows, per group (`sum`, `count`, ...).
        case aggregate
        /// Over the aggregated result (`share`, `rank`, ...).
        case analytic
        /// Per cell, of measure values (`round`, `abs`, `coalesce`).
        case scalar
    }

    /// How a function's result is formatted.
    public enum ResultFormat: Sendable {
        /// As its (first) argument.
        case argument
        /// A whole number.
        case integer
        /// A fraction shown as a percentage.
        case percent
    }

    /// Lower-case name.
    public let name: String
    public let kind: Kind
    /// How many arguments it takes (`count(*)` counts as one).
    public let arguments: ClosedRange<Int>
    public let format: ResultFormat
    /// One line on what it computes.
    public let summary: String
}

/// Every function of the language.
public enum FunctionRegistry {
    /// The functions, aggregates first.
    public static let functions: [FunctionInfo] = [
        FunctionInfo(name: "sum", kind: .aggregate, arguments: 1...1, format: .argument, summary: "sum of a fact column or row expression"),
        FunctionInfo(name: "avg", kind: .aggregate, arguments: 1...1, format: .argument, summary: "mean of the non-empty values"),
        FunctionInfo(name: "min", kind: .aggregate, arguments: 1...1, format: .argument, summary: "smallest value, or a level's first member"),
        FunctionInfo(name: "max", kind: .aggregate, arguments: 1...1, format: .argument, summary: "largest value, or a level's last member"),
        FunctionInfo(name: "count", kind: .aggregate, arguments: 1...1, format: .integer,
                     summary: "count(*) rows, count(x) non-empty values, count(distinct level) members, count(level HAVING condition)"),
        FunctionInfo(name: "median", kind: .aggregate, arguments: 1...1, format: .argument,
                     summary: "middle value of a fact column, or median(m PER level) over members"),
        FunctionInfo(name: "percentile", kind: .aggregate, arguments: 2...2, format: .argument,
                     summary: "percentile(x, 0.9): continuous quantile; also percentile(m PER level, p)"),
        FunctionInfo(name: "stddev", kind: .aggregate, arguments: 1...1, format: .argument,
                     summary: "sample standard deviation of a fact column, or stddev(m PER level)"),
        FunctionInfo(name: "round", kind: .scalar, arguments: 1...2, format: .argument,
                     summary: "round(m, d): to d decimal places (default 0), halves away from zero"),
        FunctionInfo(name: "abs", kind: .scalar, arguments: 1...1, format: .argument, summary: "absolute value"),
        FunctionInfo(name: "coalesce", kind: .scalar, arguments: 2...16, format: .argument, summary: "the first argument that is not empty"),
        FunctionInfo(name: "latest", kind: .scalar, arguments: 1...1, format: .argument,
                     summary: "latest(time.day): the cube's latest date (latest(time.month): its month); minus n is n periods before"),
        FunctionInfo(name: "days", kind: .scalar, arguments: 2...2, format: .integer,
                     summary: "days(a, b): days from date a to date b, e.g. days(max(time.day), latest(time.day))"),
        FunctionInfo(name: "share", kind: .analytic, arguments: 1...2, format: .percent, summary: "share(m) of the total, share(m, level) of the parent, share(m, ALL dim) within the rest"),
        FunctionInfo(name: "rank", kind: .analytic, arguments: 1...1, format: .integer, summary: "competition rank, highest first"),
        FunctionInfo(name: "prev", kind: .analytic, arguments: 1...1, format: .argument, summary: "the value at the previous period"),
        FunctionInfo(name: "growth", kind: .analytic, arguments: 1...1, format: .percent, summary: "m / prev(m) - 1"),
        FunctionInfo(name: "yoy", kind: .analytic, arguments: 1...1, format: .percent, summary: "growth against the same period a year before"),
        FunctionInfo(name: "running", kind: .analytic, arguments: 1...1, format: .argument,
                     summary: "m over every period so far (a cumulative distinct count counts each member once)"),
        FunctionInfo(name: "ytd", kind: .analytic, arguments: 1...1, format: .argument, summary: "year to date: m from the year's first period on"),
        FunctionInfo(name: "qtd", kind: .analytic, arguments: 1...1, format: .argument, summary: "quarter to date"),
        FunctionInfo(name: "mtd", kind: .analytic, arguments: 1...1, format: .argument, summary: "month to date"),
    ]

    /// The forms that are more than a name and arguments, with what each computes.
    public static let forms: [(usage: String, summary: String)] = [
        ("agg(m PER level)", "m for every member of level in the cell, combined by sum avg min max count median stddev"),
        ("percentile(m PER level, p)", "the p quantile (0 to 1) of the members' values"),
        ("count(level HAVING condition)", "members whose own measures meet the condition"),
        ("m FILTER (WHERE condition)", "m over the cell's rows that also meet the condition"),
        ("CASE WHEN c THEN m ... [ELSE m] END", "the value of the first condition (over measures) that holds"),
    ]

    /// The function with this name (case-insensitive), if any.
    public static func function(named name: String) -> FunctionInfo? {
        functions.first { $0.name.caseInsensitiveEquals(name) }
    }

    /// Every function name.
    public static var names: [String] { functions.map(\.name) }

    /// The names of one kind of function.
    static func names(_ kind: FunctionInfo.Kind) -> [String] { functions.filter { $0.kind == kind }.map(\.name) }
}
