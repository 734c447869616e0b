import CubistCore
import Foundation
import Testing
@testable import CubistSyntax

@Suite struct StatementParserTests {
    private func parse(_ text: String) throws(Diagnostic) -> Statement { try Parser.parseStatement(text) }

    private func select(_ text: String) throws -> SelectStatement {
        guard case .select(let s) = try parse(text) else { throw Diagnostic("not a select", at: SourceRange(start: 0, end: 0, location: SourceLocation(line: 1, column: 1))) }
        return s
    }

    private func error(_ text: String) -> Diagnostic? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func everyClauseIsParsedIntoTheTree() throws {
        let s = try select("""
            select revenue, sum(quantity) as units from sales group by time.year, rollup(customer.region, customer.city)
            across customer.tier where time.year between 2023 and 2024 and not customer.tier = 'VIP'
            having revenue > 100000 top 5 percent by revenue with others order by units desc, time.year
            limit 20 offset 3 with totals;
            """)
        #expect(s.items.count == 2 && s.items[1].alias == "units")
        #expect(s.from == .name(["sales"], s.from!.range))
        #expect(s.by.count == 2)
        if case .rollup(let levels, _) = s.by[1] { #expect(levels.map(\.description) == ["customer.region", "customer.city"]) } else { Issue.record("no rollup") }
        #expect(s.across.map(\.description) == ["customer.tier"])
        #expect(s.top?.percent == true && s.top?.withOthers == true && s.top?.count.description == "5")
        #expect(s.orderBy.map(\.descending) == [true, false])
        #expect(s.limit?.description == "20" && s.offset?.description == "3" && s.withTotals)
        #expect(s.description == "SELECT revenue, sum(quantity) AS units FROM sales BY time.year, ROLLUP(customer.region, customer.city) ACROSS customer.tier WHERE time.year BETWEEN 2023 AND 2024 AND NOT customer.tier = 'VIP' HAVING revenue > 100000 TOP 5 PERCENT BY revenue WITH OTHERS ORDER BY units DESC, time.year LIMIT 20 OFFSET 3 WITH TOTALS")
    }

    @Test func clausesMayComeInAnyOrderButOnlyOnce() throws {
        #expect(try select("SELECT revenue WHERE channel = 'Web' BY time.year").description == "SELECT revenue BY time.year WHERE channel = 'Web'")
        #expect(error("SELECT revenue BY a BY b")?.message == "BY given twice in one SELECT")
    }

    @Test func conditionsKeepPrecedenceAndParentheses() throws {
        let s = try select("SELECT r WHERE a = 1 OR b = 2 AND NOT c = 3")
        #expect(s.whereClause?.description == "a = 1 OR b = 2 AND NOT c = 3")
        if case .or(_, .and(_, .not))? = s.whereClause {} else { Issue.record("wrong precedence: \(String(describing: s.whereClause))") }
        #expect(try select("SELECT r WHERE (a = 1 OR b = 2) AND c = 3").whereClause?.description == "(a = 1 OR b = 2) AND c = 3")
        // A parenthesis followed by an operator is arithmetic, not a nested condition.
        #expect(try select("SELECT r HAVING (revenue - cost) / revenue > 0.3").having?.description == "(revenue - cost) / revenue > 0.3")
        #expect(try select("SELECT r WHERE ((a) = 1)").whereClause?.description == "a = 1")
        #expect(try select("SELECT r WHERE x NOT IN ('a', 'b') AND y NOT BETWEEN 1 AND 2 AND z NOT LIKE 'S%'").whereClause?.description
                == "x NOT IN ('a', 'b') AND y NOT BETWEEN 1 AND 2 AND z NOT LIKE 'S%'")
        let sub = try select("SELECT r WHERE c IN (SELECT c WHERE y = 2023 HAVING revenue > 10)")
        if case .inSelect(_, let inner, false)? = sub.whereClause { #expect(inner.having != nil) } else { Issue.record("no sub-select") }
    }

    @Test func setAndParameters() throws {
        #expect(try parse("SET $month = '2024-03'").description == "SET $month = '2024-03'")
        #expect(try parse("set $n = -5;").description == "SET $n = -5")
        #expect(error("SET $n = revenue")?.message == "a parameter's value must be a string or a number")
        #expect(error("SET = 1")?.message == "expected a parameter such as $month or a setting such as timeout after SET, found '='")
        #expect(try parse("set Timeout = '30s'").description == "SET Timeout = '30s'")
        #expect(error("SET timeout = $t")?.message == "a setting's value must be a number or a quoted value")
        let s = try select("SELECT r WHERE m = $month LIMIT $n")
        #expect(s.limit?.description == "$n" && s.whereClause?.description == "m = $month")
    }

    @Test func errorsSayWhatWasExpectedAtTheRightToken() {
        let unclosed = error("SELECT sum(quantity BY time.year")
        #expect(unclosed?.message == "expected ')', found 'BY' (to close '(' at line 1, column 11)")
        #expect(unclosed?.location! == SourceLocation(line: 1, column: 21))
        let typo = error("SELECT revenue BYY time.year")
        #expect(typo?.message == "expected end of statement, found 'BYY'")
        #expect(typo?.help == "did you mean BY?")
        #expect(typo?.location! == SourceLocation(line: 1, column: 16))
        #expect(error("SELCT revenue")?.help == "did you mean SELECT?")
        #expect(error("SELECT")?.message == "expected an expression, found end of input")
        #expect(error("SELECT BY time.year")?.message == "expected an expression, found 'BY'")
        #expect(error("SELECT r WHERE a BETWEN 1 AND 2")?.help == "did you mean BETWEEN?")
        #expect(error("SELECT r ORDER revenue")?.message == "expected BY, found 'revenue'")
        #expect(error("SELECT r LIMIT 2.5")?.message == "expected a whole number after LIMIT, found number 2.5")
        #expect(error("SELECT r WHERE a = 'open")?.message == "unterminated string")
        #expect(error("SELECT r WHERE (a = 1")?.message == "expected ')', found end of input (to close '(' at line 1, column 16)")
        let multiLine = error("SELECT revenue\n  BY time.year\n  WHERE a IN (1, 2")
        #expect(multiLine?.location! == SourceLocation(line: 3, column: 19))
    }

    @Test func printingRoundTrips() throws {
        let texts = [
            "SELECT \"unit price\" * 2 AS \"net price\" BY \"order date\".year",
            "SELECT a - (b - c), -x * 2, count(*), count(distinct customer.customer) BY ROLLUP(a, b, c)",
            "SELECT r WHERE NOT (a = 1 OR b = 2) AND c LIKE 'it''s%'",
            "SELECT share(revenue, customer.region), rank(revenue) BY customer.city TOP 3 BY revenue ORDER BY revenue",
        ]
        for text in texts {
            let printed = try parse(text).description
            #expect(try parse(printed).description == printed, "\(text) -> \(printed)")
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = "SELECT r WHERE " + String(repeating: "(", count: 10_000) + "a = 1" + String(repeating: ")", count: 10_000)
        #expect(error(deep)?.message.contains("nested too deeply") == true)
        let deepNot = "SELECT r WHERE " + String(repeating: "NOT ", count: 10_000) + "a = 1"
        #expect(error(deepNot)?.message.contains("nested too deeply") == true)
    }
}

/// Mutated and random token streams: the parser always returns a statement or a located
/// error, quickly. Seeded and bounded, so it runs in the normal test suite.
@Suite struct ParserFuzzTests {
    struct Mix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    }

    static let seeds = [
        "SELECT revenue, sum(quantity) AS units BY time.year, channel ACROSS customer.tier WHERE time.year BETWEEN 2023 AND 2024 AND product.category IN ('Books', 'Toys') HAVING revenue > 100000 ORDER BY revenue DESC LIMIT 20 WITH TOTALS",
        "SELECT count(distinct customer.customer) WHERE customer.customer IN (SELECT customer.customer WHERE time.year = 2023) AND customer.customer NOT IN (SELECT customer.customer WHERE time.year = 2024)",
        "SELECT revenue, share(revenue) BY ROLLUP(customer.region, customer.city) TOP 10 PERCENT BY revenue WITH OTHERS",
        "SET $month = '2024-03'",
        "DICE channel.type IN ('Online', 'Direct'), customer.tier IN ('VIP')",
        "DRILLDOWN customer TO city = 'Seoul'",
        "SHOW MEMBERS customer.city LIKE 'Seoul-%' LIMIT 5",
        "DEFINE MEASURE aov = revenue / orders FORMAT money",
        "EXPLAIN SELECT revenue BY customer.region WHERE time.year = 2024",
        "SELECT (revenue - cost) / revenue, growth(revenue) BY time.month WHERE NOT (a = 1 OR b LIKE 'x%') AND q < -2.5e3",
    ]

    @Test func mutatedStatementsGiveAResultOrALocatedError() {
        var random = Mix(state: 20_261_123)
        let started = Date()
        var cases = 0
        for round in 0..<3000 {
            let seed = ParserFuzzTests.seeds[round % ParserFuzzTests.seeds.count]
            var tokens = Lexer.tokenize(seed).dropLast().map { String(seed.utf8[seed.utf8.index(seed.utf8.startIndex, offsetBy: $0.range.start)..<seed.utf8.index(seed.utf8.startIndex, offsetBy: $0.range.end)]) ?? "" }
            for _ in 0..<(1 + random.below(3)) {
                guard !tokens.isEmpty else { break }
                let i = random.below(tokens.count)
                switch random.below(6) {
                case 0: tokens.remove(at: i)
                case 1: tokens.insert(tokens[i], at: i)
                case 2: tokens.swapAt(i, random.below(tokens.count))
                case 3: tokens = Array(tokens.prefix(i))
                case 4: tokens.insert(["(", ")", "'", "\"", "/*", "--", ",", "NOT", "IN", "BY", "$", "!", "\u{00}", "\u{FF}"][random.below(14)], at: i)
                default: tokens[i] = String(decoding: (0..<random.below(6)).map { _ in UInt8(random.below(256)) }, as: UTF8.self)
                }
            }
            let text = tokens.joined(separator: " ")
            let begin = Date()
            do {
                _ = try Parser.parseStatement(text)
            } catch {
                #expect(error.location!.line >= 1 && error.location!.column >= 1, "unlocated: \(text)")
                #expect(!error.message.isEmpty)
            }
            #expect(Date().timeIntervalSince(begin) < 1, "slow: \(text)")
            cases += 1
        }
        #expect(cases == 3000)
        #expect(Date().timeIntervalSince(started) < 60)
    }

    @Test func randomBytesAndHugeStatements() {
        var random = Mix(state: 7)
        for _ in 0..<500 {
            let bytes = (0..<random.below(200)).map { _ in UInt8(random.below(256)) }
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? Parser.parseStatement(text)
        }
        let huge = "SELECT " + Array(repeating: "revenue", count: 15_000).joined(separator: ", ")
        #expect((try? Parser.parseStatement(huge)) != nil)
        let longString = "SELECT r WHERE a = '" + String(repeating: "x", count: 100_000) + "'"
        #expect((try? Parser.parseStatement(longString)) != nil)
    }
}

extension StatementParserTests {
    /// APPEND 'file' [TO 'snapshot']: parsed, printed back, and wrong forms told how it is written.
    @Test func appendStatements() throws {
        guard case .append(let path, let snapshot, _) = try parse("append 'day.csv' to 'crm.cube';") else {
            Issue.record("not an APPEND")
            return
        }
        #expect(path == "day.csv" && snapshot == "crm.cube")
        #expect(try parse("APPEND 'it''s.csv'").description == "APPEND 'it''s.csv'")
        #expect(try parse("APPEND 'a.csv' TO 'b.cube'").description == "APPEND 'a.csv' TO 'b.cube'")
        #expect(error("APPEND day.csv")?.message == "expected a file name in quotes after APPEND, found 'day'")
        #expect(error("APPEND 'a.csv' TO crm")?.message == "expected a snapshot file in quotes after TO, found 'crm'")
        let trailing = error("APPEND 'a.csv' OVERWRITE")
        #expect(trailing?.message == "expected end of statement, found 'OVERWRITE'")
        #expect(trailing?.help == "APPEND is written APPEND 'file' [TO 'file.cube']")
        // A SELECT still hears about its clauses.
        #expect(error("SELECT revenue FOO")?.help == "did you mean FROM?")
    }
}
