import CubistCore
import Testing
@testable import CubistSyntax

@Suite struct LexerTests {
    private func kinds(_ text: String) -> [TokenKind] { Lexer.tokenize(text).map(\.kind) }

    @Test func tokensWithPositions() {
        let tokens = Lexer.tokenize("SELECT revenue,\n  \"unit price\" -- note\n FROM x /* c */ WHERE a <> 'it''s' AND b != 1.5e3 $month;")
        #expect(tokens.map(\.kind) == [
            .word("SELECT"), .word("revenue"), .symbol(","), .quotedName("unit price"), .word("FROM"), .word("x"),
            .word("WHERE"), .word("a"), .symbol("<>"), .string("it's"), .word("AND"), .word("b"), .symbol("<>"),
            .number("1.5e3"), .parameter("month"), .symbol(";"), .end,
        ])
        #expect(tokens[3].range.location == SourceLocation(line: 2, column: 3))
        #expect(tokens[4].range.location == SourceLocation(line: 3, column: 2))
        #expect(tokens[0].isKeyword("select") && tokens[0].isKeyword("SeLeCt"))
    }

    @Test func columnsCountCharactersAndHonourAnOffset() {
        let tokens = Lexer.tokenize("'서울' x", line: 4, column: 10)
        #expect(tokens[1].range.location == SourceLocation(line: 4, column: 15))
    }

    @Test func errorsAreTokensAtTheirStart() {
        #expect(kinds("a 'open") == [.word("a"), .error("unterminated string")])
        #expect(Lexer.tokenize("a\n  /* open").last?.range.location == SourceLocation(line: 2, column: 3))
        #expect(kinds("x /* open").last == .error("unterminated comment"))
        #expect(kinds("12abc").last == .error("malformed number '12abc'"))
        #expect(kinds("a # b")[1] == .error("unexpected character '#'"))
        #expect(kinds("\"\"").last == .error("empty quoted name"))
    }
}

@Suite struct ExpressionParserTests {
    private func parse(_ text: String) throws(Diagnostic) -> Expr { try Parser.parseExpression(text) }

    @Test func precedenceAndCanonicalPrinting() throws {
        #expect(try parse("a + b * c").description == "a + b * c")
        #expect(try parse("(a + b) * c").description == "(a + b) * c")
        #expect(try parse("a - (b - c)").description == "a - (b - c)")
        #expect(try parse("(a - b) - c").description == "a - b - c")
        #expect(try parse("(revenue - cost) / revenue").description == "(revenue - cost) / revenue")
        #expect(try parse("-x * 2").description == "-x * 2")
        #expect(try parse("SUM(price * (1 - discount))").description == "sum(price * (1 - discount))")
        #expect(try parse("count(*)").description == "count(*)")
        #expect(try parse("count(DISTINCT customer.customer)").description == "count(distinct customer.customer)")
        #expect(try parse("\"unit price\" * time.year").description == "\"unit price\" * time.year")
    }

    @Test func printedFormParsesBackToTheSameTree() throws {
        for text in ["a + b * c - d / e", "(a + b) * (c - d)", "-(a + b)", "sum(x * (1 - y)) / count(*)", "a / (b / c)", "'x''y'", "$p * 2",
                     "median(revenue - cost PER customer.customer) / 2", "percentile(orders PER c.c, 0.9)",
                     "count(customer.customer HAVING orders >= 2 AND revenue > 10)", "(revenue - cost) FILTER (WHERE channel.type = 'Online') / revenue",
                     "-revenue FILTER (WHERE x < 1 OR NOT y IN ('a'))", "share(revenue, ALL channel) + all", "share(all, all)", "CASE WHEN a > 1 AND b < 2 THEN x ELSE -y END * 2", "case + CASE WHEN (a - b) / a > 0.3 THEN 1 WHEN a IN (1, 2) THEN 2 END"] {
            let tree = try parse(text)
            let again = try parse(tree.description)
            #expect(again.description == tree.description)
            #expect(strip(again) == strip(tree), "\(text)")
        }
    }

    /// The tree with ranges erased, for comparing structure.
    private func strip(_ e: Expr) -> String {
        switch e {
        case .number(let n, _): return "n(\(n))"
        case .string(let s, _): return "s(\(s))"
        case .parameter(let p, _): return "p(\(p))"
        case .name(let path, _): return "name(\(path))"
        case .call(let f, let args, let d, let star, _): return "\(f)(\(d),\(star),\(args.map(strip)))"
        case .negate(let x, _): return "neg(\(strip(x)))"
        case .binary(let op, let l, let r, _): return "(\(strip(l)) \(op.rawValue) \(strip(r)))"
        case .per(let f, let m, let l, let args, _): return "\(f)(\(strip(m)) per \(strip(l)), \(args.map(strip)))"
        case .countHaving(let l, let c, _): return "count(\(strip(l)) having \(c))"
        case .filtered(let m, let c, _): return "filter(\(strip(m)), \(c))"
        case .all(let e, _): return "all(\(strip(e)))"
        case .caseWhen(let b, let o, _): return "case(\(b.map { "\($0.condition)->\(strip($0.result))" }), \(o.map(strip) ?? "-"))"
        }
    }

    @Test func errorsSayWhatWasExpectedAndWhere() {
        #expect(throws: Diagnostic("expected ')', found end of input (to close '(' at line 1, column 1)",
                                    at: SourceRange(start: 6, end: 6, location: SourceLocation(line: 1, column: 7)))) {
            try parse("(a + b")
        }
        do {
            _ = try parse("a + * b")
            Issue.record("must fail")
        } catch {
            #expect(error.message == "expected an expression, found '*'")
            #expect(error.location! == SourceLocation(line: 1, column: 5))
        }
        do {
            _ = try parse("a b")
            Issue.record("must fail")
        } catch {
            #expect(error.message == "expected end of expression, found 'b'")
        }
        do {
            _ = try parse("time.")
            Issue.record("must fail")
        } catch {
            #expect(error.message == "expected a name after '.', found end of input")
        }
    }

    @Test func deepNestingIsALocatedErrorNotACrash() {
        let deep = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        do {
            _ = try parse(deep)
            Issue.record("must fail")
        } catch {
            #expect(error.message == "expression nested too deeply (more than 200 levels)")
        }
        let minus = String(repeating: "-", count: 10_000) + "1"
        #expect(throws: Diagnostic.self) { try parse(minus) }
    }
}
