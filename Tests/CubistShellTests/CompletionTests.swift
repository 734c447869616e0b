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

    @Test func dotCommandsAndTheirArguments() {
        #expect(complete(".sch") == [".schema"])
        #expect(complete(".schema c") == ["customer", "channel"])
        #expect(complete(".mode j") == ["json", "jsonl"])
    }
}
