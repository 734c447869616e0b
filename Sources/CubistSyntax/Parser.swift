import CubistCore

/// A hand-written recursive-descent parser with precedence climbing for expressions.
public struct Parser {
    var tokens: [Token]
    var index = 0
    var depth = 0
    /// Deepest nesting of expressions accepted before a located error (no stack overflow).
    public static let maximumDepth = 200

    /// Creates a parser over `text`, positioned at `line`/`column` of its enclosing file.
    public init(_ text: String, line: Int = 1, column: Int = 1) {
        self.tokens = Lexer.tokenize(text, line: line, column: column)
    }

    /// Parses a whole text as one expression.
    public static func parseExpression(_ text: String, line: Int = 1, column: Int = 1) throws(Diagnostic) -> Expr {
        var parser = Parser(text, line: line, column: column)
        let expr = try parser.expression()
        try parser.expectEnd()
        return expr
    }

    /// Parses a whole text as one condition (a WHERE clause without the keyword).
    public static func parseCondition(_ text: String, line: Int = 1, column: Int = 1) throws(Diagnostic) -> Condition {
        var parser = Parser(text, line: line, column: column)
        let condition = try parser.condition()
        try parser.expectEnd()
        return condition
    }

    // MARK: token helpers

    var current: Token { tokens[index] }

    func at(_ symbol: String) -> Bool { current.isSymbol(symbol) }

    func atKeyword(_ keyword: String) -> Bool { current.isKeyword(keyword) }

    mutating func eat(_ symbol: String) -> Bool {
        guard at(symbol) else { return false }
        index += 1
        return true
    }

    mutating func expect(_ symbol: String, closing open: Token? = nil) throws(Diagnostic) {
        guard eat(symbol) else {
            var message = "expected '\(symbol)', found \(current.quoted)"
            if let open { message += " (to close '(' at line \(open.range.location.line), column \(open.range.location.column))" }
            throw failure(message)
        }
    }

    func failure(_ message: String, help: String? = nil) -> Diagnostic {
        if case .error(let lexical) = current.kind { return Diagnostic(lexical, at: current.range) }
        return Diagnostic(message, at: current.range, help: help)
    }

    /// Fails unless all input has been consumed.
    public mutating func expectEnd() throws(Diagnostic) {
        guard case .end = current.kind else {
            throw failure("expected end of expression, found \(current.quoted)")
        }
    }

    // MARK: expressions

    /// expression = term , { ( "+" | "-" ) , term } ;
    /// term = unary , { ( "*" | "/" ) , unary } ;
    /// Both by precedence climbing over a table of operator priorities.
    public mutating func expression() throws(Diagnostic) -> Expr {
        try binary(minimumPrecedence: 1)
    }

    private mutating func binary(minimumPrecedence: Int) throws(Diagnostic) -> Expr {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Parser.maximumDepth else { throw failure("expression nested too deeply (more than \(Parser.maximumDepth) levels)") }
        var lhs = try unary()
        // A chain `a + b + c ...` builds a tree as deep as it is long; later passes walk it
        // recursively, so its length counts as nesting.
        var chain = 0
        while case .symbol(let s) = current.kind, let op = BinaryOperator(rawValue: s), op.precedence >= minimumPrecedence {
            chain += 1
            guard depth + chain <= Parser.maximumDepth else {
                throw failure("expression too long (more than \(Parser.maximumDepth) operators in a row)",
                              help: "split the calculation into measures with DEFINE MEASURE")
            }
            index += 1
            let rhs = try binary(minimumPrecedence: op.precedence + 1)
            let range = SourceRange(start: lhs.range.start, end: rhs.range.end, location: lhs.range.location)
            lhs = .binary(op, lhs, rhs, range)
        }
        return lhs
    }

    /// unary = "-" , unary | filtered ;
    private mutating func unary() throws(Diagnostic) -> Expr {
        if at("-") {
            let minus = current
            index += 1
            depth += 1
            defer { depth -= 1 }
            guard depth <= Parser.maximumDepth else { throw failure("expression nested too deeply (more than \(Parser.maximumDepth) levels)") }
            let operand = try unary()
            return .negate(operand, SourceRange(start: minus.range.start, end: operand.range.end, location: minus.range.location))
        }
        // The operand is parsed here, not in `filtered`, so nesting adds no frame for FILTER.
        return try filtered(try primary())
    }

    /// filtered = primary , [ "FILTER" , "(" , "WHERE" , condition , ")" ] ;
    private mutating func filtered(_ operand: Expr) throws(Diagnostic) -> Expr {
        // FILTER is a keyword only here, after an operand and before '(' (no alias is
        // written without AS, so nothing else can follow an operand as a word).
        guard atKeyword("filter"), index + 1 < tokens.count, tokens[index + 1].isSymbol("(") else { return operand }
        index += 1
        let open = current
        index += 1
        guard atKeyword("where") else {
            throw failure("expected WHERE after FILTER (, found \(current.quoted)", help: "write m FILTER (WHERE channel.type = 'Online')")
        }
        index += 1
        let condition = try condition()
        let close = current
        try expect(")", closing: open)
        return .filtered(operand, condition, SourceRange(start: operand.range.start, end: close.range.end, location: operand.range.location))
    }

    /// primary = number
    ///   | string
    ///   | parameter
    ///   | case
    ///   | call
    ///   | name
    ///   | "(" , expression , ")" ;
    private mutating func primary() throws(Diagnostic) -> Expr {
        let token = current
        switch token.kind {
        case .number(let n):
            index += 1
            return .number(n, token.range)
        case .string(let s):
            index += 1
            return .string(s, token.range)
        case .parameter(let p):
            index += 1
            return .parameter(p, token.range)
        case .symbol("("):
            index += 1
            let inner = try expression()
            try expect(")", closing: token)
            return inner
        case .word(let w):
            if Parser.isReserved(w) { throw failure("expected an expression, found \(token.quoted)") }
            // CASE is a keyword only when WHEN follows it.
            if w.caseInsensitiveEquals("case"), index + 1 < tokens.count, tokens[index + 1].isKeyword("when") { return try caseWhen() }
            index += 1
            if at("(") { return try call(w, start: token) }
            return try dottedName(first: w, start: token)
        case .quotedName(let n):
            index += 1
            return try dottedName(first: n, start: token)
        default:
            throw failure("expected an expression, found \(token.quoted)")
        }
    }

    /// case = "CASE" , "WHEN" , condition , "THEN" , expression , { "WHEN" , condition , "THEN" , expression } , [ "ELSE" , expression ] , "END" ;
    private mutating func caseWhen() throws(Diagnostic) -> Expr {
        let start = current
        index += 1
        var branches: [CaseBranch] = []
        while atKeyword("when") {
            index += 1
            let condition = try condition()
            guard atKeyword("then") else { throw failure("expected THEN after the condition of WHEN, found \(current.quoted)", help: "write CASE WHEN condition THEN value ... END") }
            index += 1
            branches.append(CaseBranch(condition: condition, result: try expression()))
        }
        var otherwise: Expr?
        if atKeyword("else") {
            index += 1
            otherwise = try expression()
        }
        guard atKeyword("end") else {
            throw failure("expected WHEN, ELSE or END in CASE (opened at line \(start.range.location.line), column \(start.range.location.column)), found \(current.quoted)",
                          help: "close it with END")
        }
        let end = current
        index += 1
        return .caseWhen(branches, otherwise: otherwise, SourceRange(start: start.range.start, end: end.range.end, location: start.range.location))
    }

    /// name = identifier , { "." , identifier } ;
    /// identifier = word | quoted name ;
    mutating func dottedName(first: String, start: Token) throws(Diagnostic) -> Expr {
        var path = [first]
        var end = start.range.end
        while at(".") {
            index += 1
            switch current.kind {
            case .word(let w), .quotedName(let w):
                path.append(w)
                end = current.range.end
                index += 1
            default:
                throw failure("expected a name after '.', found \(current.quoted)")
            }
        }
        return .name(path, SourceRange(start: start.range.start, end: end, location: start.range.location))
    }

    /// argument = "ALL" , expression | expression ;
    /// ALL is a keyword only here, and only before a name (`share(revenue, ALL channel)`).
    private mutating func argument() throws(Diagnostic) -> Expr {
        guard atKeyword("all"), index + 1 < tokens.count else { return try expression() }
        switch tokens[index + 1].kind {
        case .word, .quotedName:
            let keyword = current
            index += 1
            let operand = try expression()
            return .all(operand, SourceRange(start: keyword.range.start, end: operand.range.end, location: keyword.range.location))
        default:
            return try expression()
        }
    }

    /// call = word , "(" , [ arguments ] , ")" ;
    /// arguments = "*"
    ///   | [ "DISTINCT" ] , expression , [ "PER" , expression | "HAVING" , condition ] , { "," , argument } ;
    private mutating func call(_ name: String, start: Token) throws(Diagnostic) -> Expr {
        let open = current
        index += 1
        var args: [Expr] = []
        var distinct = false
        var star = false
        if at("*") {
            index += 1
            star = true
        } else if !at(")") {
            if atKeyword("distinct") {
                index += 1
                distinct = true
            }
            args.append(try expression())
            // PER is a keyword only here, after the first argument.
            if atKeyword("per") {
                let keyword = current
                index += 1
                guard !distinct else { throw Diagnostic("DISTINCT cannot be combined with PER", at: keyword.range, help: "write \(name)(m PER level)") }
                let level = try expression()
                var rest: [Expr] = []
                while eat(",") { rest.append(try argument()) }
                let close = current
                try expect(")", closing: open)
                return .per(name.lowercased(), args[0], level: level, rest,
                            SourceRange(start: start.range.start, end: close.range.end, location: start.range.location))
            }
            if atKeyword("having") {
                let keyword = current
                index += 1
                guard !distinct, name.caseInsensitiveEquals("count") else {
                    throw Diagnostic("only count takes HAVING inside its parentheses", at: keyword.range,
                                     help: "count(customer.customer HAVING orders >= 2) counts the members that meet the condition")
                }
                let condition = try condition()
                let close = current
                try expect(")", closing: open)
                return .countHaving(args[0], condition, SourceRange(start: start.range.start, end: close.range.end, location: start.range.location))
            }
            while eat(",") { args.append(try argument()) }
        }
        let close = current
        try expect(")", closing: open)
        return .call(name.lowercased(), args, distinct: distinct, star: star,
                     SourceRange(start: start.range.start, end: close.range.end, location: start.range.location))
    }
}
