import CubistEngine
import CubistGenerator
import CubistStore
import CubistSyntax
import Foundation
import Testing

/// Mutated statements run through the planner and executor on a real cube: each gives a
/// result or a located error, quickly, and the engine then still answers a known query.
@Suite struct EngineFuzzTests {
    static let statements = [
        "SELECT revenue, margin_pct, customers, sum(quantity) AS units BY time.year, channel ACROSS customer.tier WHERE time.year BETWEEN 2023 AND 2024 AND product.category IN ('Books', 'Toys') HAVING revenue > 1000 ORDER BY revenue DESC LIMIT 20 WITH TOTALS",
        "SELECT count(distinct customer.customer) BY customer.region WHERE customer.customer IN (SELECT customer.customer WHERE time.year = 2023) AND customer.customer NOT IN (SELECT customer.customer WHERE time.year = 2024)",
        "SELECT revenue, share(revenue), share(revenue, customer.region), rank(revenue) BY ROLLUP(customer.region, customer.city)",
        "SELECT revenue, growth(revenue), yoy(revenue), prev(revenue), running(revenue) BY time.month, channel.type WHERE quantity < 5 AND discount BETWEEN 0.01 AND 0.05",
        "SELECT max(time.day), min(time.day), avg(price * (1 - discount)) BY customer.customer TOP 5 PERCENT BY revenue WITH OTHERS",
        "SELECT revenue BY customer.city WHERE customer.city LIKE 'Seoul-%' OR NOT channel.type <> 'Online' ORDER BY customer.city DESC OFFSET 2",
    ]

    @Test func mutatedQueriesNeverCrash() throws {
        let cube = try crmCube(rows: 3000, seed: 99)
        var random = SeededRandom(seed: 4242)
        let engine = QueryEngine(cube: cube)
        let started = Date()
        var results = 0, errors = 0
        for round in 0..<1500 {
            let text = EngineFuzzTests.statements[round % EngineFuzzTests.statements.count]
            let utf8 = Array(text.utf8)
            var words = Lexer.tokenize(text).dropLast().map { String(decoding: utf8[$0.range.start..<$0.range.end], as: UTF8.self) }
            for _ in 0..<random.below(3) {
                guard !words.isEmpty else { break }
                let i = random.below(words.count)
                switch random.below(5) {
                case 0: words.remove(at: i)
                case 1: words.insert(words[random.below(words.count)], at: i)
                case 2: words.swapAt(i, random.below(words.count))
                case 3: words[i] = ["revenue", "time.day", "customer", "0", "-1", "'x'", "9999999999", "share(", "BY", "(", ")"][random.below(11)]
                default: words = Array(words.prefix(max(1, i)))
                }
            }
            let mutated = words.joined(separator: " ")
            let begin = Date()
            do {
                guard case .select(let s) = try Parser.parseStatement(mutated) else { continue }
                _ = try engine.run(s, parameters: [:])
                results += 1
            } catch {
                #expect(error.range != nil && (error.location?.line ?? 0) >= 1 && !error.message.isEmpty)
                errors += 1
            }
            #expect(Date().timeIntervalSince(begin) < 5, "slow: \(mutated)")
        }
        #expect(results > 100 && errors > 100, "\(results) results, \(errors) errors")
        #expect(cells(try run(cube, "SELECT lines")) == [["3000"]])
        #expect(Date().timeIntervalSince(started) < 120)
    }
}
