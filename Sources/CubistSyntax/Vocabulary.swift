import CubistCore

/// The words of the language in one place: its statements (keyword, grammar rule, usage and
/// summary), clause keywords and other keywords. The parser dispatches on it, did-you-mean
/// suggests from it, and the shell's `.help` and tab completion list it, so a new
/// statement is added here once.
public enum Vocabulary {
    /// A line of `.help`: how a statement is written and what it does.
    public struct HelpLine: Sendable {
        public let usage: String
        public let summary: String
    }

    /// A statement of the language.
    public struct Statement: Sendable {
        /// The first word, upper-case (`SELECT`, `DRILLTHROUGH`).
        public let keyword: String
        /// The rule in `grammar/cubist.ebnf` that defines it.
        public let rule: String
        /// Its lines in `.help`.
        public let help: [HelpLine]
    }

    private static func statement(_ keyword: String, _ rule: String, _ help: [(String, String)]) -> Statement {
        Statement(keyword: keyword, rule: rule, help: help.map { HelpLine(usage: $0.0, summary: $0.1) })
    }

    /// Every statement, in the order `.help` lists them.
    public static let statements: [Statement] = [
        statement("SELECT", "select", [
            ("SELECT m, ... BY level, ... [ACROSS level] [WHERE ...]", "measures broken down by levels, filtered by members"),
            ("  [HAVING ...] [TOP n BY m] [ORDER BY ...] [LIMIT n]", "filter, rank and cut the result rows"),
            ("  [WITH TOTALS]  |  BY ROLLUP(a, b)", "a total row; subtotal rows"),
            ("  ... CHART bar|hbar|line|area|stacked|heatmap|pareto", "draw the result (also after PARETO, RFM, ...)"),
        ]),
        statement("SET", "set", [
            ("SET $name = 'value'", "a parameter for later statements"),
            ("SET max_result_rows | memory_limit | timeout = v", "limits that stop a runaway query"),
        ]),
        statement("SLICE", "slice", [("SLICE level = 'm'", "filter the current view (the last SELECT) to one member")]),
        statement("DICE", "dice", [("DICE level IN (...) [, level IN (...)]", "filter the current view to some members")]),
        statement("ROLLUP", "rollup", [("ROLLUP dim [TO level | TO ALL | ALL]", "one level up (or to a level, or to the top)")]),
        statement("DRILLDOWN", "drilldown", [("DRILLDOWN dim [TO level] [= 'm']", "one level down (or to a level), optionally into a member")]),
        statement("PIVOT", "pivot", [("PIVOT", "swap rows (BY) and columns (ACROSS)")]),
        statement("BACK", "back", [("BACK", "undo the last navigation step")]),
        statement("DRILLTHROUGH", "drillthrough", [("DRILLTHROUGH [ROW n] [LIMIT k]", "the fact rows behind one row of the view")]),
        statement("SHOW", "show", [
            ("SHOW VIEW", "the SELECT the view stands for, runnable as is"),
            ("SHOW CUBES | DIMENSIONS | MEASURES", "what is loaded and what is in the cube"),
            ("SHOW MEMBERS level [LIKE 'x'] [LIMIT n]", "a level's members"),
        ]),
        statement("DESCRIBE", "describe", [("DESCRIBE dim", "a dimension's levels with member counts")]),
        statement("DEFINE", "define", [("DEFINE MEASURE name = expr [FORMAT f]", "a measure for this session"),
                                       ("DEFINE ATTRIBUTE dim.name = expr [WHERE c]", "an attribute from each member's facts (cohorts, bands, tiles)")]),
        statement("LOAD", "load", [("LOAD 'path' [AS name]", "load another cube and make it current")]),
        statement("USE", "use", [("USE name", "switch to another loaded cube")]),
        statement("SAVE", "save", [("SAVE 'file.cube' [OVERWRITE]", "a snapshot of the cube that reopens in a moment")]),
        statement("APPEND", "append", [("APPEND 'file' [TO 'file.cube']", "add a file's fact rows (TO: also journal them to the snapshot)")]),
        statement("EXPLAIN", "explain", [("EXPLAIN [ANALYZE] SELECT ... | PARETO, RFM, COHORT, CHURN, BASKET, LTV ...", "the plan, and what running it did (ANALYZE: per stage)")]),
        statement("PARETO", "pareto", [("PARETO level BY m [WHERE ...] [CURVE]", "the 20:80 rule: the share of m the top 1%, 5%, ... of members bring")]),
        statement("RFM", "rfm", [("RFM level [BY m] [FREQUENCY f] [WHERE ...] [SUMMARY]", "recency, frequency, monetary scores 1-5 and segments (Champions ... Lost)")]),
        statement("COHORT", "cohort", [("COHORT level BY time.month [MEASURE m] [WHERE ...]", "retention: who is still active n periods after the first purchase")]),
        statement("CHURN", "churn", [("CHURN level [WINDOW n DAYS | BETWEEN p AND q] [BY levels] [LIST] [WHERE ...]",
                                      "who bought in the earlier window and not in the later one")]),
        statement("BASKET", "basket", [("BASKET level [PER basket] [MIN SUPPORT x] [WHERE ...]", "what sells together in one order (or per customer ...): pairs with support, confidence, lift")]),
        statement("LTV", "ltv", [("LTV level [BY levels] [WHERE ...]", "what a member is worth: value, orders and margin per member, lifetime")]),
    ]

    /// The statement keywords, upper-case, in `.help` order.
    public static let statementKeywords: [String] = statements.map(\.keyword)

    /// The statement a first word starts, if any (case-insensitive).
    public static func statement(named word: String) -> Statement? {
        statements.first { $0.keyword.caseInsensitiveEquals(word) }
    }

    /// Keywords that start or continue a SELECT's clauses, in clause order.
    public static let clauseKeywords = ["FROM", "BY", "GROUP BY", "ACROSS", "WHERE", "HAVING", "TOP", "ORDER BY", "LIMIT", "OFFSET", "WITH TOTALS", "CHART"]

    /// Other keywords: operators, modifiers and the words of navigation and metadata statements.
    public static let otherKeywords = [
        "PERCENT", "WITH OTHERS", "ROLLUP", "AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "AS", "ASC", "DESC", "DISTINCT",
        "TO", "ALL", "ROW", "VIEW", "OVERWRITE", "CUBES", "DIMENSIONS", "MEASURES", "MEMBERS", "MEASURE", "FORMAT", "ANALYZE",
        "PER", "FILTER", "CASE", "ILIKE", "ATTRIBUTE", "LAST", "DAYS", "WEEKS", "MONTHS", "QUARTERS", "YEARS",
        "CURVE", "FREQUENCY", "SUMMARY", "WINDOW", "LIST", "SUPPORT",
    ]

    /// Words that start or separate clauses; they are never names unless double-quoted.
    public static let reservedWords: Set<String> = [
        "select", "from", "by", "group", "across", "where", "having", "top", "order", "limit", "offset",
        "with", "and", "or", "not", "in", "between", "like", "as", "set",
    ]

    /// Every keyword a statement may hold, for completion: statements, clauses, the rest.
    public static var allKeywords: [String] {
        var seen = Set<String>()
        return (statementKeywords + clauseKeywords + otherKeywords).filter { seen.insert($0).inserted }
    }
}
