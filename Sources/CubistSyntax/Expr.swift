import CubistCore
/// An expression of the Cubist language: arithmetic over names, numbers and calls.
///
/// Syntax only: a name is not yet known to be a measure, a level or a fact column; the
/// planner (or the model loader) binds it.
public indirect enum Expr: Sendable, Hashable {
    /// A number literal as written.
    case number(String, SourceRange)
    /// A string literal, unescaped.
    case string(String, SourceRange)
    /// A parameter reference `$name`.
    case parameter(String, SourceRange)
    /// A possibly dotted name: `revenue`, `time.year`, `"unit price"`.
    case name([String], SourceRange)
    /// A function call; `star` for `count(*)`, `distinct` for `count(distinct x)`.
    case call(String, [Expr], distinct: Bool, star: Bool, SourceRange)
    /// A per-member aggregate `agg(m PER level [, argument ...])`: the measure `m` for every
    /// member of `level` in the cell, then aggregated by `agg` (the arguments follow, e.g.
    /// the fraction of `percentile`).
    case per(String, Expr, level: Expr, [Expr], SourceRange)
    /// `count(level HAVING condition)`: how many members of `level` in the cell meet a
    /// condition on measures.
    case countHaving(Expr, Condition, SourceRange)
    /// `m FILTER (WHERE condition)`: the measure over the fact rows that also meet the condition.
    case filtered(Expr, Condition, SourceRange)
    /// `CASE WHEN condition THEN expression ... [ELSE expression] END`, over measures.
    case caseWhen([CaseBranch], otherwise: Expr?, SourceRange)
    /// `ALL dimension`, an argument of `share(m, ALL dimension)`: the dimension rolled up
    /// to its top.
    case all(Expr, SourceRange)
    /// Unary minus.
    case negate(Expr, SourceRange)
    /// A binary arithmetic operation.
    case binary(BinaryOperator, Expr, Expr, SourceRange)

    /// Where the expression is in its source.
    public var range: SourceRange {
        switch self {
        case .number(_, let r), .string(_, let r), .parameter(_, let r), .name(_, let r),
             .call(_, _, _, _, let r), .negate(_, let r), .binary(_, _, _, let r),
             .per(_, _, _, _, let r), .countHaving(_, _, let r), .filtered(_, _, let r), .all(_, let r), .caseWhen(_, _, let r):
            return r
        }
    }

    /// Every name the expression refers to, in source order.
    public var names: [([String], SourceRange)] {
        switch self {
        case .number, .string, .parameter: return []
        case .name(let path, let r): return [(path, r)]
        case .call(_, let args, _, _, _): return args.flatMap(\.names)
        case .negate(let e, _), .all(let e, _): return e.names
        case .per(_, let m, let level, let args, _): return m.names + level.names + args.flatMap(\.names)
        case .countHaving(let level, let c, _): return level.names + c.names
        case .filtered(let m, let c, _): return m.names + c.names
        case .caseWhen(let branches, let otherwise, _):
            return branches.flatMap { $0.condition.names + $0.result.names } + (otherwise?.names ?? [])
        case .binary(_, let l, let r, _): return l.names + r.names
        }
    }
}

/// One `WHEN condition THEN result` of a CASE expression.
public struct CaseBranch: Sendable, Hashable {
    /// The condition, over measures.
    public var condition: Condition
    /// The value when the condition holds (and no earlier one did).
    public var result: Expr

    /// Creates a branch.
    public init(condition: Condition, result: Expr) {
        self.condition = condition
        self.result = result
    }
}

/// Binary arithmetic operators, with their precedence.
public enum BinaryOperator: String, Sendable, Hashable, CaseIterable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"

    /// Binding strength: higher binds tighter.
    public var precedence: Int {
        switch self {
        case .add, .subtract: return 1
        case .multiply, .divide: return 2
        }
    }
}
