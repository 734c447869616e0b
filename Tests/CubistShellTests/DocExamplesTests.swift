import CubistCore
import CubistGenerator
import CubistShell
import CubistStore
import CubistSyntax
import Foundation
import Testing

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// One ```cubist block of a Markdown file and the ```text block right after it, if any.
struct DocExample {
    var file: String
    var line: Int
    var statements: String
    /// Line range (start, end exclusive) of the output block's content, when there is one.
    var output: (start: Int, end: Int, text: String)?
}

func docExamples(in path: String) throws -> [DocExample] {
    let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
    var out: [DocExample] = []
    var i = 0
    while i < lines.count {
        guard lines[i].trimmingCharacters(in: .whitespaces) == "```cubist" else { i += 1; continue }
        let start = i + 1
        var j = start
        while j < lines.count, lines[j].trimmingCharacters(in: .whitespaces) != "```" { j += 1 }
        var example = DocExample(file: path, line: start + 1, statements: lines[start..<min(j, lines.count)].joined(separator: "\n"))
        i = j + 1
        if i < lines.count, lines[i].trimmingCharacters(in: .whitespaces) == "```text" {
            var k = i + 1
            while k < lines.count, lines[k].trimmingCharacters(in: .whitespaces) != "```" { k += 1 }
            example.output = (i + 1, k, lines[(i + 1)..<min(k, lines.count)].map { $0 + "\n" }.joined())
            i = k + 1
        }
        out.append(example)
    }
    return out
}

/// Every Markdown file under docs/.
func docFiles() throws -> [String] {
    let dir = repositoryRoot + "/docs"
    return try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".md") }.sorted().map { dir + "/" + $0 }
}

@Suite(.serialized) struct DocExamplesTests {
    /// Runs every example on the built-in sample and compares its output with the doc.
    /// `CUBIST_RECORD_DOCS=1 swift test --filter DocExamplesTests` rewrites the outputs
    /// (then review the diff; never edit outputs by hand).
    @Test func examplesPrintWhatTheDocsShow() throws {
        let cube = try CRMSample.cube()
        let record = ProcessInfo.processInfo.environment["CUBIST_RECORD_DOCS"] == "1"
        for file in try docFiles() {
            var lines = try String(contentsOfFile: file, encoding: .utf8).components(separatedBy: "\n")
            var shift = 0
            for example in try docExamples(in: file) {
                let output = StringOutput()
                var text = ""
                let session = Session(cube: cube, output: output, errors: { text += $0 + "\n" })
                session.format = .table
                let ok = session.run(example.statements, file: "<command>")
                let printed = output.text + text
                #expect(ok, "\(file):\(example.line): example failed:\n\(printed)")
                guard let expected = example.output else { continue }
                if record {
                    var new = printed.components(separatedBy: "\n")
                    if new.last == "" { new.removeLast() }
                    lines.replaceSubrange((expected.start + shift)..<(expected.end + shift), with: new)
                    shift += new.count - (expected.end - expected.start)
                } else {
                    #expect(printed == expected.text, "\(file):\(example.line): output differs")
                }
            }
            if record { try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8) }
        }
    }

    /// Every example in docs/ and grammar/ parses, and printing it gives source that
    /// parses back to the same statement.
    @Test func everyExampleParsesAndRoundTrips() throws {
        var texts: [(String, String)] = []
        for file in try docFiles() {
            for example in try docExamples(in: file) { texts.append(("\(file):\(example.line)", example.statements)) }
        }
        let grammar = try String(contentsOfFile: repositoryRoot + "/grammar/cubist.ebnf", encoding: .utf8)
        for line in grammar.components(separatedBy: "\n") where line.hasPrefix("(* example: ") {
            texts.append(("grammar", String(line.dropFirst(12).dropLast(3))))
        }
        #expect(texts.count >= 20)
        for (place, text) in texts {
            let (pieces, rest) = InputSplitter.split(text)
            for piece in pieces + (rest.map { [$0] } ?? []) where piece.kind == .statement {
                do {
                    let statement = try Parser.parseStatement(piece.text)
                    let printed = statement.description
                    let again = try Parser.parseStatement(printed)
                    #expect(again.description == printed, "\(place): printing does not round-trip: \(printed)")
                } catch {
                    Issue.record("\(place): \(piece.text)\n\(error.message)")
                }
            }
        }
    }
}
