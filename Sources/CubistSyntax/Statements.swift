import CubistCore

extension Parser {
    /// True when `word` is reserved (case-insensitive).
    static func isReserved(_ word: String) -> Bool { Vocabulary.reservedWords.contains(word.lowercased()) }

    /// Parses one statement (an optional trailing `;` is allowed).
    /// input statement = statement , [ chart ] ;
    public static func parseStatement(_ text: String, line: Int = 1, column: Int = 1) throws(Diagnostic) -> Statement {
        var parser = Parser(text, line: line, column: column)
        var statement = try parser.statement()
        if parser.atKeyword("chart") { statement = try parser.chartClause(after: statement) }
        _ = parser.eat(";")
        guard case .end = parser.current.kind else {
            var help = parser.clauseHelp()
            // Only a SELECT goes on with clauses; any other statement is told how it is written.
            var isSelect = false
            if case .select = statement { isSelect = true }
            if case .charted(.select, _) = statement { isSelect = true }
            if case .explain = statement { isSelect = true }
            if !isSelect, case .word(let w) = parser.tokens[0].kind, let entry = Vocabulary.statement(named: w) {
                help = "\(entry.keyword) is written " + entry.help.map(\.usage).joined(separator: " or ")
            }
            throw parser.failure("expected end of statement, found \(parser.current.quoted)", help: help)
        }
        return statement
    }

    // MARK: statements, one function each, dispatched on the vocabulary's table

    /// statement = select | set | slice | dice | rollup | drilldown | pivot | back | drillthrough
    ///   | show | describe | define | load | use | save | append | explain | pareto | rfm | cohort | churn | basket | ltv ;
    mutating func statement() throws(Diagnostic) -> Statement {
        let token = current
        switch token.kind {
        case .word(let w):
            guard let entry = Vocabulary.statement(named: w) else {
                let help = Suggestions.nearest(to: w.uppercased(), in: Vocabulary.statementKeywords).map { "did you mean \($0)?" }
                    ?? "statements start with one of: \(Vocabulary.statementKeywords.joined(separator: ", "))"
                throw failure("unknown statement '\(w)'", help: help)
            }
            switch entry.rule {
            case "select": return .select(try select())
            case "set": return try setStatement()
            case "slice", "dice", "rollup", "drilldown", "pivot", "back", "drillthrough": return try navigationStatement(entry.rule)
            case "show": return try showStatement()
            case "describe": return try describeStatement()
            case "define": return try defineStatement()
            case "load": return try loadStatement()
            case "use": return try useStatement()
            case "save": return try saveStatement()
            case "append": return try appendStatement()
            case "explain": return try explainStatement()
            case "pareto": return try paretoStatement()
            case "rfm": return try rfmStatement()
            case "ltv": return try ltvStatement()
            case "cohort": return try cohortStatement()
            case "churn": return try churnStatement()
            case "basket": return try basketStatement()
            default: throw failure("the statement \(entry.keyword) has no parser", help: "this is a bug in Cubist; please report it")
            }
        case .end:
            throw failure("expected a statement, found end of input")
        default:
            throw failure("expected a statement, found \(token.quoted)",
                          help: "statements start with one of: \(Vocabulary.statementKeywords.joined(separator: ", "))")
        }
    }

    /// chart = "CHART" , ( "BAR" | "HBAR" | "LINE" | "AREA" | "STACKED" | "HEATMAP" | "PARETO" ) ;
    /// It follows a SELECT or an analysis, after every other clause.
    mutating func chartClause(after statement: Statement) throws(Diagnostic) -> Statement {
        let start = current
        let kinds = ChartKind.allCases.map { $0.rawValue.uppercased() }
        switch statement {
        case .select, .analysis: break
        default:
            throw failure("CHART draws the result of a SELECT or an analysis (PARETO, RFM, ...), not of this statement",
                          help: "remove CHART, or chart a query: SELECT revenue BY time.month CHART line")
        }
        index += 1
        guard case .word(let w) = current.kind else {
            throw failure("expected a chart kind after CHART, found \(current.quoted)", help: "chart kinds: " + kinds.joined(separator: ", "))
        }
        guard let kind = ChartKind(rawValue: w.lowercased()) else {
            throw failure("unknown chart kind '\(w)'", help: Suggestions.didYouMean(w.uppercased(), in: kinds) ?? "chart kinds: " + kinds.joined(separator: ", "))
        }
        index += 1
        return .charted(statement, ChartClause(kind: kind, range: rangeSince(start)))
    }

    /// The range from `start` to the last token consumed.
    private func rangeSince(_ start: Token) -> SourceRange {
        SourceRange(start: start.range.start, end: tokens[max(0, index - 1)].range.end, location: start.range.location)
    }

    /// load = "LOAD" , string , [ "AS" , identifier ] ;
    private mutating func loadStatement() throws(Diagnostic) -> Statement {
        let start = current
        index += 1
        guard case .string(let path) = current.kind else {
            throw failure("expected a path in quotes after LOAD, found \(current.quoted)", help: "write LOAD 'datasets/crm' AS crm")
        }
        index += 1
        var name: String?
        if atKeyword("as") {
            index += 1
            name = try identifier(after: "AS")
        }
        return .load(path: path, name: name, rangeSince(start))
    }

    /// save = "SAVE" , string , [ "OVERWRITE" ] ;
    private mutating func saveStatement() throws(Diagnostic) -> Statement {
        let start = current
        index += 1
        guard case .string(let path) = current.kind else {
            throw failure("expected a file name in quotes after SAVE, found \(current.quoted)", help: "write SAVE 'crm.cube'")
        }
        index += 1
        let overwrite = atKeyword("overwrite")
        if overwrite { index += 1 }
        return .save(path: path, overwrite: overwrite, rangeSince(start))
    }

    /// append = "APPEND" , string , [ "TO" , string ] ;
    private mutating func appendStatement() throws(Diagnostic) -> Statement {
        let start = current
        index += 1
        guard case .string(let path) = current.kind else {
            throw failure("expected a file name in quotes after APPEND, found \(current.quoted)", help: "write APPEND 'sales-2025-12-01.csv'")
        }
        index += 1
        var snapshot: String?
        if atKeyword("to") {
            index += 1
            guard case .string(let target) = current.kind else {
                throw failure("expected a snapshot file in quotes after TO, found \(current.quoted)", help: "write APPEND '\(path)' TO 'crm.cube'")
            }
            index += 1
            snapshot = target
        }
        return .append(path: path, snapshot: snapshot, rangeSince(start))
    }

    /// explain = "EXPLAIN" , [ "ANALYZE" ] , ( select | pareto | rfm | cohort | churn | basket | ltv ) ;
    private mutating func explainStatement() throws(Diagnostic) -> Statement {
        let start = current
        index += 1
        let analyze = atKeyword("analyze")
        if analyze { index += 1 }
        if case .word(let w) = current.kind, let entry = Vocabulary.statement(named: w), ["pareto", "rfm", "cohort", "churn", "basket", "ltv"].contains(entry.rule) {
            guard case .analysis(let a, let r) = try statement() else { throw failure("expected an analysis after EXPLAIN") }
            return .explainAnalysis(a, analyze: analyze, SourceRange(start: start.range.start, end: r.end, location: start.range.location))
        }
        guard atKeyword("select") else {
            throw failure("expected SELECT or an analysis (PARETO, RFM, COHORT, CHURN, BASKET, LTV) after EXPLAIN\(analyze ? " ANALYZE" : ""), found \(current.quoted)",
                          help: "e.g. EXPLAIN SELECT revenue BY customer.region, or EXPLAIN RFM customer.customer SUMMARY")
        }
        let s = try select()
        return .explain(s, analyze: analyze, SourceRange(start: start.range.start, end: s.range.end, location: start.range.location))
    }

    /// pareto = "PARETO" , expression , "BY" , expression , [ "WHERE" , condition ] , [ "CURVE" ] ;
    private mutating func paretoStatement() throws(Diagnostic) -> Statement {
        let (start, level) = try analysisHead("PARETO", help: "e.g. PARETO customer.customer BY revenue")
        guard atKeyword("by") else {
            throw failure("expected BY and a measure after PARETO \(level), found \(current.quoted)", help: "e.g. PARETO \(level) BY revenue")
        }
        index += 1
        let measure = try expression()
        let condition = try optionalWhere()
        return .analysis(.pareto(level: level, measure: measure, condition: condition, curve: optionalKeyword("curve")), rangeSince(start))
    }

    /// rfm = "RFM" , expression , [ "BY" , expression ] , [ "FREQUENCY" , expression ] ,
    ///       [ "WHERE" , condition ] , [ "SUMMARY" ] ;
    private mutating func rfmStatement() throws(Diagnostic) -> Statement {
        let help = "e.g. RFM customer.customer, or RFM customer.customer BY revenue FREQUENCY orders SUMMARY"
        let (start, level) = try analysisHead("RFM", help: help)
        let monetary = try optionalOperand("by", "the monetary measure", help: help)
        let frequency = try optionalOperand("frequency", "the frequency measure", help: help)
        let condition = try optionalWhere()
        return .analysis(.rfm(level: level, monetary: monetary, frequency: frequency, condition: condition, summary: optionalKeyword("summary")),
                         rangeSince(start))
    }

    /// cohort = "COHORT" , expression , "BY" , expression , [ "MEASURE" , expression ] , [ "WHERE" , condition ] ;
    private mutating func cohortStatement() throws(Diagnostic) -> Statement {
        let help = "e.g. COHORT customer.customer BY time.month, or COHORT customer.customer BY time.quarter MEASURE revenue"
        let (start, level) = try analysisHead("COHORT", help: help)
        guard atKeyword("by") else { throw failure("expected BY and a time level after COHORT \(level), found \(current.quoted)", help: help) }
        index += 1
        let period = try operand("a time level", after: "BY", help: help)
        let measure = try optionalOperand("measure", "a measure", help: help)
        return .analysis(.cohort(level: level, period: period, measure: measure, condition: try optionalWhere()), rangeSince(start))
    }

    /// churn = "CHURN" , expression , [ "WINDOW" , expression , "DAYS" | "BETWEEN" , expression , "AND" , expression ]
    ///         , [ "BY" , expression , { "," , expression } ] , [ "LIST" ] , [ "WHERE" , condition ] ;
    private mutating func churnStatement() throws(Diagnostic) -> Statement {
        let help = "e.g. CHURN customer.customer, CHURN customer.customer WINDOW 180 DAYS BY customer.tier, or CHURN customer.customer BETWEEN 2024 AND 2025 LIST"
        let (start, level) = try analysisHead("CHURN", help: help)
        var window: ChurnWindow?
        if atKeyword("window") {
            index += 1
            let n = try operand("a number of days", after: "WINDOW", help: help)
            guard atKeyword("days") else { throw failure("expected DAYS after WINDOW \(n), found \(current.quoted)", help: "CHURN compares windows of days: WINDOW 90 DAYS") }
            index += 1
            window = .days(n)
        } else if atKeyword("between") {
            index += 1
            let from = try operand("a period", after: "BETWEEN", help: help)
            guard atKeyword("and") else { throw failure("expected AND and the later period after BETWEEN \(from), found \(current.quoted)", help: help) }
            index += 1
            window = .between(from, try operand("a period", after: "AND", help: help))
        }
        let by = try optionalLevels(help: help)
        let list = optionalKeyword("list")
        return .analysis(.churn(level: level, window: window, by: by, list: list, condition: try optionalWhere()), rangeSince(start))
    }

    /// basket = "BASKET" , expression , [ "PER" , expression ] , [ "MIN" , "SUPPORT" , expression ] , [ "WHERE" , condition ] ;
    private mutating func basketStatement() throws(Diagnostic) -> Statement {
        let help = "e.g. BASKET product.category MIN SUPPORT 0.05, or BASKET product.category PER customer.customer"
        let (start, level) = try analysisHead("BASKET", help: help)
        let per = try optionalOperand("per", "the order column or the basket level", help: help)
        var minSupport: Expr?
        if atKeyword("min") {
            index += 1
            guard atKeyword("support") else { throw failure("expected SUPPORT after MIN, found \(current.quoted)", help: help) }
            index += 1
            minSupport = try operand("a share of the baskets", after: "MIN SUPPORT", help: help)
        }
        return .analysis(.basket(level: level, per: per, minSupport: minSupport, condition: try optionalWhere()), rangeSince(start))
    }

    /// ltv = "LTV" , expression , [ "BY" , expression , { "," , expression } ] , [ "WHERE" , condition ] ;
    private mutating func ltvStatement() throws(Diagnostic) -> Statement {
        let help = "e.g. LTV customer.customer BY customer.tier"
        let (start, level) = try analysisHead("LTV", help: help)
        let by = try optionalLevels(help: help)
        return .analysis(.ltv(level: level, by: by, condition: try optionalWhere()), rangeSince(start))
    }

    /// An analysis's keyword (the current token) and the level after it.
    private mutating func analysisHead(_ keyword: String, help: String) throws(Diagnostic) -> (start: Token, level: Expr) {
        let start = current
        index += 1
        return (start, try operand("a level", after: keyword, help: help))
    }

    /// An analysis's operand after a keyword: an error at the end of the input.
    private mutating func operand(_ what: String, after keyword: String, help: String) throws(Diagnostic) -> Expr {
        if case .end = current.kind { throw failure("expected \(what) after \(keyword)", help: help) }
        return try expression()
    }

    /// `[ KEYWORD , expression ]` of an analysis: the operand after the keyword, or nil
    /// without the keyword.
    private mutating func optionalOperand(_ keyword: String, _ what: String, help: String) throws(Diagnostic) -> Expr? {
        guard atKeyword(keyword) else { return nil }
        index += 1
        return try operand(what, after: keyword.uppercased(), help: help)
    }

    /// Whether an optional keyword of an analysis (`SUMMARY`, `CURVE`, `LIST`) comes next,
    /// taking it if so.
    private mutating func optionalKeyword(_ keyword: String) -> Bool {
        guard atKeyword(keyword) else { return false }
        index += 1
        return true
    }

    /// `[ "WHERE" , condition ]` at the end of an analysis.
    private mutating func optionalWhere() throws(Diagnostic) -> Condition? {
        guard atKeyword("where") else { return nil }
        index += 1
        return try condition()
    }

    /// `[ "BY" , expression , { "," , expression } ]` of an analysis.
    private mutating func optionalLevels(help: String) throws(Diagnostic) -> [Expr] {
        guard atKeyword("by") else { return [] }
        index += 1
        var levels: [Expr] = []
        repeat { levels.append(try operand("a level", after: "BY", help: help)) } while eat(",")
        return levels
    }

    /// use = "USE" , identifier ;
    private mutating func useStatement() throws(Diagnostic) -> Statement {
        let start = current
        index += 1
        let name = try identifier(after: "USE")
        return .use(name: name, rangeSince(start))
    }

    /// describe = "DESCRIBE" , expression ;
    private mutating func describeStatement() throws(Diagnostic) -> Statement {
        let start = current
        index += 1
        let d = try expression()
        return .metadata(.describe(d), SourceRange(start: start.range.start, end: d.range.end, location: start.range.location))
    }

    /// define = "DEFINE" , "MEASURE" , identifier , "=" , expression , [ "FORMAT" , identifier ]
    ///   | "DEFINE" , "ATTRIBUTE" , identifier , "." , identifier , "=" , expression , [ "WHERE" , condition ] ;
    private mutating func defineStatement() throws(Diagnostic) -> Statement {
        let start = current
        index += 1
        if atKeyword("attribute") {
            index += 1
            let dimension = try identifier(after: "DEFINE ATTRIBUTE")
            guard eat(".") else {
                throw failure("expected '.' after the dimension, found \(current.quoted)", help: "name the attribute with its dimension: DEFINE ATTRIBUTE customer.cohort = ...")
            }
            let name = try identifier(after: "DEFINE ATTRIBUTE \(dimension).")
            try expect("=")
            let expr = try expression()
            var condition: Condition?
            if atKeyword("where") {
                index += 1
                condition = try self.condition()
            }
            return .defineAttribute(dimension: dimension, name: name, expr: expr, condition: condition, rangeSince(start))
        }
        guard atKeyword("measure") else {
            throw failure("expected MEASURE or ATTRIBUTE after DEFINE, found \(current.quoted)", help: "DEFINE MEASURE name = expr, or DEFINE ATTRIBUTE dim.name = expr")
        }
        index += 1
        let name = try identifier(after: "DEFINE MEASURE")
        try expect("=")
        let expr = try expression()
        var format: String?
        if atKeyword("format") {
            index += 1
            format = try identifier(after: "FORMAT")
        }
        return .defineMeasure(name: name, expr: expr, format: format, rangeSince(start))
    }

    /// The navigation statements, on the current view:
    /// slice = "SLICE" , expression , "=" , expression ;
    /// dice = "DICE" , dice part , { "," , dice part } ;
    /// dice part = expression , "IN" , "(" , expression , { "," , expression } , ")" ;
    /// rollup = "ROLLUP" , expression , [ "TO" , ( "ALL" | expression ) | "ALL" ] ;
    /// drilldown = "DRILLDOWN" , expression , [ "TO" , expression ] , [ "=" , expression ] ;
    /// pivot = "PIVOT" ;
    /// back = "BACK" ;
    /// drillthrough = "DRILLTHROUGH" , [ "ROW" , count ] , [ "LIMIT" , count ] ;
    private mutating func navigationStatement(_ rule: String) throws(Diagnostic) -> Statement {
        let start = current
        let step = try navigation(rule)
        return .navigate(step, rangeSince(start))
    }

    private mutating func navigation(_ keyword: String) throws(Diagnostic) -> Navigation {
        index += 1
        switch keyword {
        case "slice":
            let level = try expression()
            try expect("=")
            return .slice(level: level, member: try expression())
        case "dice":
            let parts = try commaList { (p: inout Parser) throws(Diagnostic) -> (level: Expr, members: [Expr]) in
                let level = try p.expression()
                try p.expectKeyword("in")
                let open = p.current
                try p.expect("(")
                let members = try p.commaList { (q: inout Parser) throws(Diagnostic) in try q.expression() }
                try p.expect(")", closing: open)
                return (level, members)
            }
            return .dice(parts)
        case "rollup":
            let dimension = try expression()
            if atKeyword("all") {
                index += 1
                return .rollup(dimension: dimension, to: nil, all: true)
            }
            if atKeyword("to") {
                index += 1
                // ROLLUP dim TO ALL reads as ROLLUP dim ALL.
                if atKeyword("all") {
                    index += 1
                    return .rollup(dimension: dimension, to: nil, all: true)
                }
                return .rollup(dimension: dimension, to: try expression(), all: false)
            }
            return .rollup(dimension: dimension, to: nil, all: false)
        case "drilldown":
            let dimension = try expression()
            var to: Expr?
            if atKeyword("to") {
                index += 1
                to = try expression()
            }
            var member: Expr?
            if eat("=") { member = try expression() }
            return .drilldown(dimension: dimension, to: to, member: member)
        case "drillthrough":
            var row: Expr?
            if atKeyword("row") {
                index += 1
                row = try count(after: "ROW")
            }
            var limit: Expr?
            if atKeyword("limit") {
                index += 1
                limit = try count(after: "LIMIT")
            }
            return .drillthrough(row: row, limit: limit)
        case "pivot": return .pivot
        default: return .back
        }
    }

    /// show = "SHOW" , ( "VIEW"
    ///   | "CUBES" | "DIMENSIONS" | "MEASURES"
    ///   | "MEMBERS" , expression , [ "LIKE" , expression ] , [ "LIMIT" , count ] ) ;
    private mutating func showStatement() throws(Diagnostic) -> Statement {
        let start = current
        index += 1
        if atKeyword("view") {
            index += 1
            return .navigate(.showView, rangeSince(start))
        }
        let metadata = try show()
        return .metadata(metadata, rangeSince(start))
    }

    private mutating func show() throws(Diagnostic) -> Metadata {
        let what = current
        guard case .word(let w) = what.kind else {
            throw failure("expected CUBES, DIMENSIONS, MEASURES, MEMBERS or VIEW after SHOW, found \(what.quoted)")
        }
        index += 1
        switch w.lowercased() {
        case "cubes": return .cubes
        case "dimensions": return .dimensions
        case "measures": return .measures
        case "members":
            let level = try expression()
            var like: Expr?
            if atKeyword("like") {
                index += 1
                like = try expression()
            }
            var limit: Expr?
            if atKeyword("limit") {
                index += 1
                limit = try count(after: "LIMIT")
            }
            return .members(level, like: like, limit: limit)
        default:
            index -= 1
            let near = Suggestions.nearest(to: w.uppercased(), in: ["CUBES", "DIMENSIONS", "MEASURES", "MEMBERS", "VIEW"])
            throw failure("expected CUBES, DIMENSIONS, MEASURES, MEMBERS or VIEW after SHOW, found \(what.quoted)",
                          help: near.map { "did you mean SHOW \($0)?" })
        }
    }

    /// set = "SET" , ( parameter , "=" , ( string | number | "-" , number )
    ///   | setting , "=" , ( string | number ) ) ;
    /// setting = "max_result_rows" | "memory_limit" | "timeout" ;
    private mutating func setStatement() throws(Diagnostic) -> Statement {
        let start = current
        index += 1
        if case .word(let setting) = current.kind {
            // A session setting: SET timeout = '30s'.
            index += 1
            try expect("=")
            let value = try expression()
            switch value {
            case .string, .number: break
            default: throw Diagnostic("a setting's value must be a number or a quoted value", at: value.range, help: "e.g. SET \(setting) = '30s'")
            }
            return .setOption(name: setting, value: value, SourceRange(start: start.range.start, end: value.range.end, location: start.range.location))
        }
        guard case .parameter(let name) = current.kind else {
            throw failure("expected a parameter such as $month or a setting such as timeout after SET, found \(current.quoted)",
                          help: "write SET $name = 'value', or SET max_result_rows | memory_limit | timeout = value")
        }
        index += 1
        try expect("=")
        let value = try expression()
        switch value {
        case .string, .number, .negate(.number, _): break
        default: throw Diagnostic("a parameter's value must be a string or a number", at: value.range, help: "write SET $\(name) = 'value'")
        }
        return .setParameter(name: name, value: value, SourceRange(start: start.range.start, end: value.range.end, location: start.range.location))
    }

    /// select = "SELECT" , select item , { "," , select item } , { clause } ;
    /// select item = expression , [ "AS" , identifier ] ;
    /// clause = "FROM" , identifier
    ///   | ( "BY" | "GROUP" , "BY" ) , group item , { "," , group item }
    ///   | "ACROSS" , expression , { "," , expression }
    ///   | "WHERE" , condition
    ///   | "HAVING" , condition
    ///   | "TOP" , count , [ "PERCENT" ] , "BY" , expression , [ "WITH" , "OTHERS" ]
    ///   | "ORDER" , "BY" , order item , { "," , order item }
    ///   | "LIMIT" , count , [ "OFFSET" , count ]
    ///   | "OFFSET" , count
    ///   | "WITH" , "TOTALS" ;
    /// Each clause at most once, in any order.
    mutating func select() throws(Diagnostic) -> SelectStatement {
        let start = current
        index += 1
        var s = SelectStatement(range: start.range)
        repeat {
            let expr = try expression()
            var alias: String?
            if atKeyword("as") {
                index += 1
                alias = try identifier(after: "AS")
            }
            s.items.append(SelectItem(expr: expr, alias: alias))
        } while eat(",")
        var seen: Set<String> = []
        while true {
            let token = current
            guard case .word(let w) = token.kind else { break }
            let keyword = w.lowercased()
            let clause = keyword == "group" ? "by" : keyword
            guard ["from", "by", "across", "where", "having", "top", "order", "limit", "offset", "with"].contains(clause) else { break }
            if seen.contains(clause) {
                throw failure("\(w.uppercased()) given twice in one SELECT", help: "combine the two into one clause")
            }
            seen.insert(clause)
            index += 1
            switch clause {
            case "from":
                let name = try identifier(after: "FROM")
                s.from = .name([name], token.range)
            case "by":
                if keyword == "group" { try expectKeyword("by") }
                s.by = try groupItems()
            case "across":
                s.across = try commaList { (p: inout Parser) throws(Diagnostic) in try p.expression() }
            case "where":
                s.whereClause = try condition()
            case "having":
                s.having = try condition()
            case "top":
                s.top = try top(start: token)
            case "order":
                try expectKeyword("by")
                /// order item = expression , [ "ASC" | "DESC" ] ;
                s.orderBy = try commaList { (p: inout Parser) throws(Diagnostic) in
                    let e = try p.expression()
                    if p.atKeyword("desc") { p.index += 1; return OrderItem(expr: e, descending: true) }
                    if p.atKeyword("asc") { p.index += 1 }
                    return OrderItem(expr: e, descending: false)
                }
            case "limit":
                s.limit = try count(after: "LIMIT")
                if atKeyword("offset") {
                    seen.insert("offset")
                    index += 1
                    s.offset = try count(after: "OFFSET")
                }
            case "offset":
                s.offset = try count(after: "OFFSET")
            default: // with
                try expectKeyword("totals")
                s.withTotals = true
            }
        }
        s.range = SourceRange(start: start.range.start, end: tokens[max(0, index - 1)].range.end, location: start.range.location)
        return s
    }

    /// A help text for a word where a clause could start: did-you-mean, or the clause list.
    func clauseHelp() -> String? {
        guard case .word(let w) = current.kind else { return nil }
        if w.caseInsensitiveEquals("per") {
            return "PER goes inside an aggregate's parentheses: median(revenue PER customer.customer)"
        }
        if w.caseInsensitiveEquals("filter") {
            return "FILTER follows a measure and takes WHERE in parentheses: revenue FILTER (WHERE channel.type = 'Online')"
        }
        if let near = Suggestions.nearest(to: w.uppercased(), in: Vocabulary.clauseKeywords + ["AS", "AND", "OR", "DESC", "ASC"]) {
            if near.caseInsensitiveEquals(w) { return "the clauses of a SELECT come in this order: \(Vocabulary.clauseKeywords.joined(separator: ", "))" }
            return "did you mean \(near)?"
        }
        return "a SELECT goes on with ',' or a clause: \(Vocabulary.clauseKeywords.joined(separator: ", "))"
    }

    mutating func expectKeyword(_ keyword: String) throws(Diagnostic) {
        guard atKeyword(keyword) else {
            var help: String?
            if case .word(let w) = current.kind, Suggestions.nearest(to: w.uppercased(), in: [keyword.uppercased()]) != nil {
                help = "did you mean \(keyword.uppercased())?"
            }
            throw failure("expected \(keyword.uppercased()), found \(current.quoted)", help: help)
        }
        index += 1
    }

    private mutating func identifier(after keyword: String) throws(Diagnostic) -> String {
        switch current.kind {
        case .word(let w) where !Parser.isReserved(w):
            index += 1
            return w
        case .quotedName(let n):
            index += 1
            return n
        default:
            throw failure("expected a name after \(keyword), found \(current.quoted)")
        }
    }

    /// A LIMIT, OFFSET, ROW or TOP count: a whole number or a parameter (TOP n PERCENT may have decimals).
    /// count = number | parameter ;
    private mutating func count(after keyword: String) throws(Diagnostic) -> Expr {
        let token = current
        switch token.kind {
        case .number(let n) where n.allSatisfy(\.isNumber):
            index += 1
            return .number(n, token.range)
        case .number(let n) where keyword == "TOP":
            index += 1
            return .number(n, token.range)
        case .parameter(let p):
            index += 1
            return .parameter(p, token.range)
        default:
            throw failure("expected a whole number after \(keyword), found \(token.quoted)")
        }
    }

    mutating func commaList<T>(_ element: (inout Parser) throws(Diagnostic) -> T) throws(Diagnostic) -> [T] {
        var list = [try element(&self)]
        while eat(",") { list.append(try element(&self)) }
        return list
    }

    /// The items of BY, separated by commas.
    /// group item = "ROLLUP" , "(" , expression , { "," , expression } , ")"
    ///   | expression ;
    private mutating func groupItems() throws(Diagnostic) -> [GroupItem] {
        try commaList { (p: inout Parser) throws(Diagnostic) in
            let token = p.current
            if token.isKeyword("rollup"), p.tokens.count > p.index + 1, p.tokens[p.index + 1].isSymbol("(") {
                p.index += 1
                let open = p.current
                p.index += 1
                let levels = try p.commaList { (q: inout Parser) throws(Diagnostic) in try q.expression() }
                let close = p.current
                try p.expect(")", closing: open)
                return .rollup(levels, SourceRange(start: token.range.start, end: close.range.end, location: token.range.location))
            }
            return .level(try p.expression())
        }
    }

    /// The TOP clause: `TOP count [PERCENT] BY expression [WITH OTHERS]`.
    private mutating func top(start: Token) throws(Diagnostic) -> TopClause {
        let n = try count(after: "TOP")
        var percent = false
        if atKeyword("percent") {
            index += 1
            percent = true
        }
        try expectKeyword("by")
        let by = try expression()
        var withOthers = false
        if atKeyword("with"), tokens.count > index + 1, tokens[index + 1].isKeyword("others") {
            index += 2
            withOthers = true
        }
        return TopClause(count: n, percent: percent, by: by, withOthers: withOthers,
                         range: SourceRange(start: start.range.start, end: tokens[index - 1].range.end, location: start.range.location))
    }

    // MARK: conditions

    /// condition = conjunction , { "OR" , conjunction } ;
    mutating func condition() throws(Diagnostic) -> Condition {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Parser.maximumDepth else { throw failure("condition nested too deeply (more than \(Parser.maximumDepth) levels)") }
        var lhs = try conjunction()
        var chain = 0
        while atKeyword("or") {
            try countLink(&chain, "OR")
            index += 1
            lhs = .or(lhs, try conjunction())
        }
        return lhs
    }

    /// A chain `a OR b OR c ...` builds a tree as deep as it is long, and later passes walk
    /// it recursively: its length counts as nesting.
    private func countLink(_ chain: inout Int, _ word: String) throws(Diagnostic) {
        chain += 1
        guard depth + chain <= Parser.maximumDepth else {
            throw failure("condition too long (more than \(Parser.maximumDepth) \(word)s in a row)",
                          help: "write a list of members as level IN ('a', 'b', ...), or split the question into several statements")
        }
    }

    /// conjunction = negation , { "AND" , negation } ;
    private mutating func conjunction() throws(Diagnostic) -> Condition {
        var lhs = try negation()
        var chain = 0
        while atKeyword("and") {
            try countLink(&chain, "AND")
            index += 1
            lhs = .and(lhs, try negation())
        }
        return lhs
    }

    /// negation = "NOT" , negation
    ///   | "(" , condition , ")"
    ///   | predicate ;
    private mutating func negation() throws(Diagnostic) -> Condition {
        let token = current
        if token.isKeyword("not") {
            index += 1
            depth += 1
            defer { depth -= 1 }
            guard depth <= Parser.maximumDepth else { throw failure("condition nested too deeply (more than \(Parser.maximumDepth) levels)") }
            return .not(try negation(), token.range)
        }
        if token.isSymbol("("), matchingParenthesis(from: index).map({ !startsOperator(at: $0 + 1) }) ?? true {
            // A parenthesis opens a condition unless an operator follows its ')', as in
            // `(revenue - cost) > 0`, where it is an arithmetic operand. Unclosed, it is
            // read as a condition so the error names the missing ')'.
            index += 1
            let inner = try condition()
            try expect(")", closing: token)
            return inner
        }
        return try predicate()
    }

    /// The index of the ')' closing the '(' at `open`, or nil when it is never closed.
    private func matchingParenthesis(from open: Int) -> Int? {
        var level = 0
        var i = open
        while i < tokens.count {
            if tokens[i].isSymbol("(") { level += 1 }
            if tokens[i].isSymbol(")") {
                level -= 1
                if level == 0 { return i }
            }
            i += 1
        }
        return nil
    }

    private func startsOperator(at i: Int) -> Bool {
        guard i < tokens.count else { return false }
        let token = tokens[i]
        if case .symbol(let s) = token.kind {
            return ["+", "-", "*", "/", "=", "<>", "<", "<=", ">", ">="].contains(s)
        }
        return token.isKeyword("between") || token.isKeyword("in") || token.isKeyword("like") || token.isKeyword("not")
    }

    /// predicate = expression , comparison , expression
    ///   | expression , [ "NOT" ] , "BETWEEN" , expression , "AND" , expression
    ///   | expression , [ "NOT" ] , "IN" , "(" , select , ")"
    ///   | expression , [ "NOT" ] , "IN" , "(" , expression , { "," , expression } , ")"
    ///   | expression , [ "NOT" ] , "IN" , "LAST" , ( number | parameter ) , period_unit
    ///   | expression , [ "NOT" ] , ( "LIKE" | "ILIKE" ) , expression ;
    /// period_unit = "DAYS" | "WEEKS" | "MONTHS" | "QUARTERS" | "YEARS" (singular too) ;
    /// comparison = "=" | "<>" | "!=" | "<" | "<=" | ">" | ">=" ;
    private mutating func predicate() throws(Diagnostic) -> Condition {
        let lhs = try expression()
        if case .symbol(let s) = current.kind, let op = ComparisonOperator(rawValue: s) {
            index += 1
            return .compare(lhs, op, try expression())
        }
        var negated = false
        if atKeyword("not") {
            index += 1
            negated = true
        }
        if atKeyword("between") {
            index += 1
            let low = try expression()
            try expectKeyword("and")
            let high = try expression()
            return .between(lhs, low: low, high: high, negated: negated)
        }
        if atKeyword("like") || atKeyword("ilike") {
            let caseInsensitive = atKeyword("ilike")
            index += 1
            return .like(lhs, pattern: try expression(), negated: negated, caseInsensitive: caseInsensitive)
        }
        if atKeyword("in") {
            index += 1
            if atKeyword("last") {
                index += 1
                let count: Expr
                switch current.kind {
                case .number(let n): count = .number(n, current.range)
                case .parameter(let p): count = .parameter(p, current.range)
                default:
                    throw failure("expected a number of periods after IN LAST, found \(current.quoted)", help: "e.g. time.day IN LAST 90 DAYS")
                }
                index += 1
                guard case .word(let w) = current.kind, let unit = PeriodUnit(word: w) else {
                    throw failure("expected DAYS, WEEKS, MONTHS, QUARTERS or YEARS, found \(current.quoted)", help: "e.g. time.month IN LAST 12 MONTHS")
                }
                index += 1
                return .inLast(lhs, count: count, unit: unit, negated: negated)
            }
            let open = current
            try expect("(")
            if atKeyword("select") {
                let sub = try select()
                try expect(")", closing: open)
                return .inSelect(lhs, sub, negated: negated)
            }
            let values = try commaList { (p: inout Parser) throws(Diagnostic) in try p.expression() }
            try expect(")", closing: open)
            return .inList(lhs, values, negated: negated)
        }
        let expected = negated ? "BETWEEN, IN, LIKE or ILIKE after NOT" : "a comparison (=, <>, <, <=, >, >=, BETWEEN, IN, LIKE, ILIKE)"
        var help: String?
        if case .word(let w) = current.kind {
            help = Suggestions.nearest(to: w.uppercased(), in: ["BETWEEN", "IN", "LIKE", "ILIKE", "NOT", "AND", "OR"]).map { "did you mean \($0)?" }
        }
        throw failure("expected \(expected), found \(current.quoted)", help: help)
    }
}
