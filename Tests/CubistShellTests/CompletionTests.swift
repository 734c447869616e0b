import CubistGenerator
import CubistShell
import CubistStore
import Testing

@Suite struct CompletionTests {
    let cube: Cube

    init() throws { cube = try CRMSample.cube() }

    /// Completions of the last word of `line` (the cursor at its end).
    private func complete(_ line: String) -> [String] {
        let bytes = Array(line.utf8)
        let breaks: Set<UInt8> = Set(" \t\n(),=<>;*+-/".utf8)
        var start = bytes.count
        while start > 0, !breaks.contains(bytes[start - 1]) { start -= 1 }
        return Completion.candidates(line: line, start: start, end: bytes.count, cube: cube)
    }

    @Test func namesAndKeywords() {
        #expect(complete("SELECT marg") == ["margin", "margin_pct"])
        #expect(complete("SELECT revenue BY cust") == ["customers", "customer"])
        #expect(complete("SELECT revenue WH") == ["WHERE"])
        #expect(complete("SELECT revenue FROM sa") == ["sales"])
        #expect(complete("select revenue wh") == ["where"])
        #expect(complete("SELECT revenue BY time.q") == ["time.quarter"])
        #expect(complete("SELECT revenue BY customer.") == ["customer.region", "customer.city", "customer.customer",
                                                             "customer.segment", "customer.tier", "customer.age_band"])
    }

    @Test func membersAfterAComparisonOrInsideIn() {
        #expect(complete("SELECT revenue WHERE channel.type = ") == ["'Direct'", "'Offline'", "'Online'"])
        #expect(complete("SELECT revenue WHERE channel.type = 'O") == ["'Offline'", "'Online'"])
        #expect(complete("SELECT revenue WHERE tier IN ('VIP', 'B") == ["'Bronze'"])
        #expect(complete("SELECT revenue WHERE channel.channel NOT IN ('Web', ") .count == 8)
        // Members are offered quoted; a bare number is left alone.
        #expect(complete("SELECT revenue WHERE time.year BETWEEN 2023 AND 20") == [])
        #expect(complete("SELECT revenue WHERE time.year BETWEEN '2023' AND '20") == ["'2022'", "'2023'", "'2024'", "'2025'"])
        #expect(complete("SELECT revenue WHERE customer.region LIKE 'S") == ["'Seoul'"])
    }

    @Test func everyStatementKeyword() {
        #expect(complete("DRILLD") == ["DRILLDOWN"])
        #expect(complete("DRILLT") == ["DRILLTHROUGH"])
        #expect(complete("exp") == ["explain"])
        for keyword in ["SELECT", "SET", "SLICE", "DICE", "ROLLUP", "DRILLDOWN", "PIVOT", "BACK", "DRILLTHROUGH", "SHOW",
                        "DESCRIBE", "DEFINE", "LOAD", "USE", "SAVE", "EXPLAIN"] {
            #expect(complete(String(keyword.prefix(keyword.count - 1))).contains(keyword), "\(keyword)")
        }
        #expect(complete("SELECT ran") == ["rank"])
    }

    @Test func membersWithDashesAndSpacesCompleteAsOneWord() {
        // Readline breaks words at '-' and ' '; each candidate replaces only readline's word.
        #expect(complete("SELECT revenue WHERE customer.city = 'Seoul-G") == ["Gangnam'"])
        #expect(complete("SELECT revenue WHERE customer.city IN ('Busan-Haeundae', 'Seoul-Gangnam', 'Seoul-M") == ["Mapo'"])
        let park = complete("SELECT revenue WHERE customer.customer = 'Park Haeun #229")
        #expect(!park.isEmpty && park.allSatisfy { $0.hasSuffix("'") && !$0.contains("HAVING") })
        #expect(complete("SELECT revenue WHERE customer.customer = 'Park Ha").allSatisfy { $0.hasPrefix("Ha") })
        // Inside a quote that is not a member, nothing is offered (never a keyword).
        #expect(complete("SELECT revenue WHERE customer.city LIKE 'Park HA") == [])
    }

    @Test func dotCommandsAndTheirArguments() {
        #expect(complete(".sch") == [".schema"])
        #expect(complete(".schema c") == ["customer", "channel"])
        #expect(complete(".mode j") == ["json", "jsonl"])
    }
}
