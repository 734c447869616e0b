import Foundation
import Testing

/// No `try!`, force unwrap, `fatalError` or precondition may sit where user input can reach
/// it unless a `// safe:` comment on its line (or the line above) says why it cannot fail.
/// New code meets this test, so every such place is argued for in review.
@Suite struct SourceSafetyTests {
    @Test func everyTrapIsJustified() throws {
        let root = GrammarTests.root + "/Sources"
        let trap = try NSRegularExpression(pattern: #"([A-Za-z0-9_)]|\])!([^=]|$)|try!|fatalError\(|preconditionFailure\(|precondition\("#)
        let string = try NSRegularExpression(pattern: #""(?:[^"\\]|\\.)*""#)
        var unjustified: [String] = []
        var justified = 0
        let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        #expect(files.count > 50)
        for file in files {
            let lines = try String(contentsOfFile: root + "/" + file, encoding: .utf8).components(separatedBy: "\n")
            for (i, line) in lines.enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("//") { continue }
                // Strings and trailing comments hold prose, not code.
                var code = string.stringByReplacingMatches(in: line, range: NSRange(line.startIndex..., in: line), withTemplate: "\"\"")
                if let comment = code.range(of: "//") { code = String(code[..<comment.lowerBound]) }
                guard trap.firstMatch(in: code, range: NSRange(code.startIndex..., in: code)) != nil else { continue }
                if line.contains("// safe:") || (i > 0 && lines[i - 1].contains("// safe:")) {
                    justified += 1
                } else {
                    unjustified.append("Sources/\(file):\(i + 1): \(trimmed)")
                }
            }
        }
        #expect(unjustified.isEmpty, "add a '// safe: why' comment, or handle the failure:\n\(unjustified.joined(separator: "\n"))")
        #expect(justified > 0)
    }
}
