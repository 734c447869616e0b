import CubistCore
import CubistGenerator
import CubistShell
import CubistStore
import CubistSyntax
import Foundation
import Testing

/// The statement fuzz of issue 7: statements from the docs, mutated (tokens dropped,
/// duplicated, swapped, cut off; random bytes and invalid UTF-8 inserted) plus huge and
/// deeply nested statements, run through a real session. Every case must end in a result or
/// a located error within a time bound, and the session must then still answer a known
/// query with the known result.
///
/// Issue 17 added generators for the classes of its findings: TOP/LIMIT/OFFSET edge
/// values through literals and parameters, chains and DAGs of measure references, wide
/// crosstabs in table mode, endless and odd streams for `.read`, and SAVE onto devices,
/// FIFOs, links, directories and long names.
///
/// `CUBIST_FUZZ_CASES=100000 swift test --filter SessionFuzzTests` is the long mode
/// (docs/testing.md); the normal run does 800 cases.
@Suite struct SessionFuzzTests {
    static var cases: Int { Int(ProcessInfo.processInfo.environment["CUBIST_FUZZ_CASES"] ?? "") ?? 800 }

    /// Statements of every kind from the docs (not the ones that touch files or limits).
    static func seeds() throws -> [String] {
        var out: [String] = []
        for file in try docFiles() {
            for example in try docExamples(in: file) {
                for piece in example.statements.components(separatedBy: ";") {
                    let text = piece.trimmingCharacters(in: .whitespacesAndNewlines)
                    guard !text.isEmpty, !text.hasPrefix("."), !text.hasPrefix("--") else { continue }
                    let upper = text.uppercased()
                    if upper.hasPrefix("SAVE") || upper.hasPrefix("LOAD") { continue }
                    out.append(text)
                }
            }
        }
        return out
    }

    @Test func mutatedStatementsNeverCrashHangOrChangeTheCube() throws {
        let cube = try CRMSample.cube()
        let seeds = try SessionFuzzTests.seeds()
        #expect(seeds.count > 40)
        var errors = ""
        let output = StringOutput()
        let session = Session(cube: cube, output: output, errors: { errors += $0 + "\n" })
        session.format = .csv
        var random = SeededRandom(seed: 2026)
        var words: Set<String> = []
        for seed in seeds {
            let bytes = Array(seed.utf8)
            for token in Lexer.tokenize(seed).dropLast() { words.insert(String(decoding: bytes[token.range.start..<token.range.end], as: UTF8.self)) }
        }
        let pool = words.sorted()
        let known = "SELECT revenue, orders BY customer.region WITH TOTALS"
        func checkKnown(_ after: String) {
            output.clear()
            _ = session.run(known, file: "<known>")
            #expect(output.text.hasSuffix(",46027631.57,44971\n"), "after: \(after.prefix(300))")
        }
        var results = 0, failures = 0, slowest = 0.0
        let scratch = NSTemporaryDirectory() + "/cubist-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        mkfifo(scratch + "/fifo", 0o644)
        symlink(scratch + "/nowhere", scratch + "/dangling")
        let edges = ["0", "1", "-1", "2", "9223372036854775807", "99999999999999999999", "1.5", "0.0001", "100", "''", "'x'"]
        var chain = 0
        for round in 0..<SessionFuzzTests.cases {
            let text: String
            switch round % 400 {
            case 0: text = "SELECT " + String(repeating: "(", count: 10_000) + "revenue" + String(repeating: ")", count: 10_000)
            case 1: text = "SELECT revenue BY customer.city WHERE customer.city IN (" + (0..<12_000).map { "'c\($0)'" }.joined(separator: ", ") + ")"
            case 2: text = "SELECT " + String(repeating: "revenue + ", count: 10_000) + "1"
            case 3: text = String(decoding: (0..<100_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }, as: UTF8.self)
            case 4: text = "SELECT revenue WHERE " + Array(repeating: "customer.region = 'Seoul'", count: 5_000).joined(separator: " AND ")
            case 5: text = "SELECT revenue WHERE " + Array(repeating: "(time.year = 2024 AND channel.type = 'Online')", count: 5_000).joined(separator: " OR ")
            case 6: text = String(repeating: "SELECT revenue BY customer.customer WHERE customer.customer IN (", count: 40) + "SELECT customer.customer" + String(repeating: ")", count: 40)
            case 7: text = "SELECT revenue BY customer.region WHERE customer.region IN (" + Array(repeating: "'\u{FFFD}\u{0}서울'", count: 20_000).joined(separator: ",") + ")"
            case 8, 9, 10, 11:
                // TOP, LIMIT and OFFSET at edge values, written or through a parameter.
                let value = edges[random.below(edges.count)]
                let viaParameter = random.below(2) == 0
                if viaParameter { _ = session.run("SET $n = \(value.hasPrefix("'") ? value : "'\(value)'")", file: "<fuzz>") }
                let n = viaParameter ? "$n" : value
                let shape = [
                    "SELECT revenue BY customer.city TOP \(n) BY revenue",
                    "SELECT revenue BY customer.city TOP \(n) PERCENT BY revenue WITH OTHERS WITH TOTALS",
                    "SELECT revenue BY customer.city ACROSS channel.type TOP \(n) BY revenue WITH OTHERS",
                    "SELECT revenue BY customer.city ORDER BY revenue DESC LIMIT \(n) OFFSET \(n)",
                    "EXPLAIN SELECT revenue BY customer.city TOP \(n) BY revenue",
                    "SELECT revenue BY customer.city LIMIT \(n)",
                    "SELECT revenue BY customer.city ORDER BY \(n)",
                    "SHOW MEMBERS customer.city LIMIT \(n)",
                ][random.below(8)]
                text = shape
            case 12, 13:
                // A chain (or a doubling DAG) of measures, defined one by one, then used.
                chain = (chain + 1) % 2  // redefined each time, so the session does not grow
                let length = 150 + random.below(100)
                let doubling = round % 400 == 13
                var lines = ["DEFINE MEASURE ch\(chain)_0 = revenue"]
                for i in 1..<length {
                    lines.append("DEFINE MEASURE ch\(chain)_\(i) = ch\(chain)_\(i - 1) " + (doubling ? "+ ch\(chain)_\(i - 1)" : "+ 1"))
                }
                _ = session.run(lines.joined(separator: ";\n") + ";", file: "<fuzz>", continueOnError: true)
                text = "SELECT ch\(chain)_\(length - 1) BY channel.type"
            case 14:
                // A wide crosstab in table mode, fitted to a terminal width.
                session.format = .table
                session.width = [0, 40, 80, 200][random.below(4)]
                text = "SELECT revenue BY customer.customer ACROSS product.product LIMIT \(1 + random.below(300))"
            case 15, 16:
                // Odd and endless streams for .read.
                text = ".read " + ["/dev/null", "/dev/zero", "/tmp", scratch + "/missing.cq", "/proc/self/status"][random.below(5)]
            case 17, 18, 19:
                // SAVE onto what it must not replace, and long names.
                let target = ["/dev/null", "/dev/zero", scratch + "/fifo", scratch + "/dangling", scratch, "/proc/self/environ",
                              scratch + "/" + String(repeating: "n", count: 240 + random.below(20)) + ".cube",
                              scratch + "/" + String(repeating: "n", count: 300) + ".cube"][random.below(8)]
                text = "SAVE '\(target)'" + (random.below(3) == 0 ? " OVERWRITE" : "")
            default:
                let seed = seeds[random.below(seeds.count)]
                let bytes = Array(seed.utf8)
                var words = Lexer.tokenize(seed).dropLast().map { String(decoding: bytes[$0.range.start..<$0.range.end], as: UTF8.self) }
                for _ in 0..<(1 + random.below(3)) {
                    guard !words.isEmpty else { break }
                    let i = random.below(words.count)
                    switch random.below(7) {
                    case 0: words.remove(at: i)
                    case 1: words.insert(words[random.below(words.count)], at: i)
                    case 2: words.swapAt(i, random.below(words.count))
                    case 3: words = Array(words.prefix(i))
                    case 4: words[i] = pool[random.below(pool.count)]
                    case 5: words.insert(String(decoding: (0..<(1 + random.below(6))).map { _ in UInt8(truncatingIfNeeded: random.next()) }, as: UTF8.self), at: i)
                    default: words.insert(["\u{FFFD}", "\0", "'", "\"", "(", ")", ";", "$", "--", "\u{C0}\u{80}", "서울"][random.below(11)], at: i)
                    }
                }
                text = words.joined(separator: random.below(4) == 0 ? "" : " ")
            }
            let begin = Date()
            if session.run(text, file: "<fuzz>") { results += 1 } else { failures += 1 }
            session.format = .csv
            session.width = 0
            let seconds = Date().timeIntervalSince(begin)
            slowest = max(slowest, seconds)
            #expect(seconds < 10, "slow (\(seconds) s): \(text.prefix(300))")
            if round % 250 == 249 { checkKnown(text) }
            if errors.count > 1 << 20 { errors = "" }
            output.clear()
        }
        checkKnown("the last case")
        // SAVE never replaced a device, and never left a temporary file.
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: scratch)) ?? []
        #expect(!left.contains { $0.hasPrefix(".cubist-save-") }, "\(left)")
        try? FileManager.default.removeItem(atPath: scratch)
        #expect(results > 10 && failures > 10, "\(results) results, \(failures) failures")
        // Every error was located: "<fuzz>:LINE:COL: error: ..." (or about the whole input).
        for line in errors.split(separator: "\n") where line.hasPrefix("<fuzz>") {
            #expect(line.hasPrefix("<fuzz>:") && (line.contains(": error: ") || line.contains(": warning: ")), "\(line.prefix(200))")
        }
    }
}
