import CubistCore
import CubistSyntax
import Foundation
import Testing

/// The grammar is the parser's contract: every rule of `grammar/cubist.ebnf` stands, word
/// for word, in a `///` comment where the lexer or parser handles it, and every rule the
/// sources quote is in the grammar.
@Suite struct GrammarTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `name = body ;` rules, with white space folded and comments dropped.
    static func rules(in text: String, commentPrefix: String?) -> [String: String] {
        var out: [String: String] = [:]
        var current: (name: String, body: String)?
        for raw in text.components(separatedBy: "\n") {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if let prefix = commentPrefix {
                guard line.hasPrefix(prefix) else { current = nil; continue }
                line = String(line.dropFirst(prefix.count))
            }
            line = line.replacingOccurrences(of: #"\(\*.*?\*\)"#, with: "", options: .regularExpression)
            if current == nil {
                guard let m = line.range(of: #"^[a-z][a-z ]*? += "#, options: .regularExpression) else { continue }
                let name = line[m].dropLast(2).trimmingCharacters(in: .whitespaces)
                current = (name, String(line[m.upperBound...]))
            } else {
                current?.body += " " + line
            }
            if let c = current, c.body.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                out[c.name] = c.body.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                current = nil
            }
        }
        return out
    }

    @Test func everyRuleHasItsParseFunctionAndViceVersa() throws {
        let grammar = GrammarTests.rules(in: try String(contentsOfFile: GrammarTests.root + "/grammar/cubist.ebnf", encoding: .utf8), commentPrefix: nil)
        var quoted: [String: String] = [:]
        let folder = GrammarTests.root + "/Sources/CubistSyntax"
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".swift") {
            let found = GrammarTests.rules(in: try String(contentsOfFile: folder + "/" + file, encoding: .utf8), commentPrefix: "/// ")
            quoted.merge(found) { a, _ in a }
        }
        #expect(grammar.count >= 45)
        for (name, body) in grammar.sorted(by: { $0.key < $1.key }) {
            #expect(quoted[name] == body, "grammar rule '\(name)' is not quoted as is in Sources/CubistSyntax: \(quoted[name] ?? "missing")")
        }
        for name in quoted.keys.sorted() where grammar[name] == nil {
            Issue.record("Sources/CubistSyntax quotes a rule '\(name)' that grammar/cubist.ebnf does not have")
        }
    }

    /// The statement table names a grammar rule for each statement, and the `statement`
    /// rule lists exactly those.
    @Test func theVocabularyMatchesTheStatementRule() throws {
        let grammar = GrammarTests.rules(in: try String(contentsOfFile: GrammarTests.root + "/grammar/cubist.ebnf", encoding: .utf8), commentPrefix: nil)
        let alternatives = (grammar["statement"] ?? "").dropLast().split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(Set(alternatives) == Set(Vocabulary.statements.map(\.rule)))
        for statement in Vocabulary.statements {
            #expect(grammar[statement.rule]?.hasPrefix("\"\(statement.keyword)\"") == true, "rule \(statement.rule) starts with \(statement.keyword)")
        }
    }
}
