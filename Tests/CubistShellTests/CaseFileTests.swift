import CubistCore
import CubistFormats
import CubistGenerator
import CubistShell
import CubistStore
import Foundation
import Testing

/// Case files: the language's examples with their expected output next to each statement,
/// in the style of sqllogictest (`docs/testing.md` describes the format). Every
/// `cases/<area>/<name>.test` runs through one real session.
///
/// `CUBIST_RECORD_CASES=1 swift test --filter CaseFileTests` re-records the expected
/// outputs from what the engine prints (review the diff; never edit outputs by hand).
@Suite struct CaseFileTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("cases").path

    /// Every case file, as a path relative to `cases/`.
    static var files: [String] {
        let found = FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? []
        return found.filter { $0.hasSuffix(".test") }.sorted()
    }

    @Test(arguments: CaseFileTests.files)
    func caseFile(_ name: String) throws {
        let path = CaseFileTests.directory + "/" + name
        var file = try CaseFile.parse(try String(contentsOfFile: path, encoding: .utf8), name: name)
        let record = ProcessInfo.processInfo.environment["CUBIST_RECORD_CASES"] == "1"
        var runner = CaseRunner(directory: CaseFileTests.directory)
        for i in file.items.indices {
            switch file.items[i] {
            case .text: continue
            case .directive(let line, let words, let body):
                try runner.directive(words, body: body, place: "\(name):\(line)")
            case .record(var r):
                let actual = try runner.run(r)
                if record {
                    r.expected = r.kind == .statementOK && actual.output.isEmpty ? nil : actual.output
                    file.items[i] = .record(r)
                    continue
                }
                let place = "\(name):\(r.line)"
                switch r.kind {
                case .statementOK:
                    #expect(actual.ok, "\(place): the statement failed:\n\(actual.output.joined(separator: "\n"))")
                    if let expected = r.expected {
                        #expect(actual.output == expected, "\(place): the output differs:\n\(actual.output.joined(separator: "\n"))")
                    }
                case .statementError:
                    #expect(!actual.ok, "\(place): the statement was expected to fail but ran:\n\(actual.output.joined(separator: "\n"))")
                    guard let expected = r.expected else { continue }
                    if expected.count == 1 {
                        // One line: a part of the message.
                        #expect(actual.output.joined(separator: "\n").contains(expected[0]),
                                "\(place): the error does not contain '\(expected[0])':\n\(actual.output.joined(separator: "\n"))")
                    } else {
                        #expect(actual.output == expected, "\(place): the diagnostic differs:\n\(actual.output.joined(separator: "\n"))")
                    }
                case .query:
                    #expect(actual.ok, "\(place): the query failed:\n\(actual.output.joined(separator: "\n"))")
                    #expect(actual.output == (r.expected ?? []), """
                        \(place): the output differs.
                        expected:
                        \((r.expected ?? []).joined(separator: "\n"))
                        actual:
                        \(actual.output.joined(separator: "\n"))
                        """)
                }
            }
        }
        if record { try file.text.write(toFile: path, atomically: true, encoding: .utf8) }
    }

    /// The runner's own format: directives, records and their errors.
    @Test func aMalformedCaseFileIsAnError() {
        #expect(throws: CaseFile.FormatError.self) { try CaseFile.parse("query\nSELECT orders;\n", name: "x") }
        #expect(throws: CaseFile.FormatError.self) { try CaseFile.parse("statement maybe\nSELECT orders;\n", name: "x") }
        #expect(throws: CaseFile.FormatError.self) { try CaseFile.parse("query\n----\n1\n", name: "x") }
    }
}

/// A parsed case file: its lines as directives, records and verbatim text (comments and
/// blank lines), so re-recording keeps everything but the expected outputs.
struct CaseFile {
    enum Item {
        case text(String)
        /// `load ...`, `threads N`, `set-format F`: a line of words and, for `load csv`, the inline file.
        case directive(line: Int, words: [String], body: [String])
        case record(Record)
    }

    struct Record {
        enum Kind { case statementOK, statementError, query }
        var kind: Kind
        /// The record's first line as written (`query table`, `statement error`).
        var header: String
        var line: Int
        /// `table`, `csv`, ... for `query FORMAT`; nil for the raw tab-separated values.
        var format: String?
        var statement: [String]
        var expected: [String]?
    }

    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    var items: [Item] = []

    static func parse(_ text: String, name: String) throws -> CaseFile {
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var file = CaseFile()
        var i = 0
        func fail(_ message: String) -> FormatError { FormatError(description: "\(name):\(i + 1): \(message)") }
        while i < lines.count {
            let line = lines[i]
            let words = line.split(separator: " ").map(String.init)
            guard let first = words.first, !line.hasPrefix("#") else {
                file.items.append(.text(line))
                i += 1
                continue
            }
            switch first {
            case "load", "threads":
                let start = i
                i += 1
                var body: [String] = []
                if words.count >= 2, words[1] == "csv" {
                    // The inline file runs to the next blank line.
                    while i < lines.count, !lines[i].isEmpty { body.append(lines[i]); i += 1 }
                }
                file.items.append(.directive(line: start + 1, words: words, body: body))
            case "query", "statement":
                let start = i
                let kind: Record.Kind
                var format: String?
                if first == "query" {
                    kind = .query
                    format = words.count > 1 ? words[1] : nil
                } else if words.count == 2, words[1] == "ok" {
                    kind = .statementOK
                } else if words.count == 2, words[1] == "error" {
                    kind = .statementError
                } else {
                    throw fail("expected 'statement ok' or 'statement error', found '\(line)'")
                }
                i += 1
                var statement: [String] = []
                while i < lines.count, !lines[i].isEmpty, lines[i] != "----" { statement.append(lines[i]); i += 1 }
                if statement.isEmpty { throw fail("the record has no statement") }
                var expected: [String]?
                if i < lines.count, lines[i] == "----" {
                    i += 1
                    var out: [String] = []
                    while i < lines.count, !lines[i].isEmpty { out.append(lines[i]); i += 1 }
                    expected = out
                } else if kind == .query {
                    throw fail("a query record needs '----' and its expected output")
                }
                file.items.append(.record(Record(kind: kind, header: line, line: start + 1, format: format, statement: statement, expected: expected)))
            default:
                throw fail("unknown directive '\(first)': expected load, threads, query or statement")
            }
        }
        return file
    }

    /// The file's text, with the records' expected outputs as they are now.
    var text: String {
        var out: [String] = []
        for item in items {
            switch item {
            case .text(let t): out.append(t)
            case .directive(_, let words, let body): out.append(words.joined(separator: " ")); out += body
            case .record(let r):
                out.append(r.header)
                out += r.statement
                if let e = r.expected {
                    out.append("----")
                    out += e
                }
            }
        }
        return out.joined(separator: "\n") + "\n"
    }
}

/// Runs a case file's directives and records in one session.
struct CaseRunner {
    let directory: String
    var session: Session?
    let output = StringOutput()
    let diagnostics = StringOutput()
    var threads = 1

    init(directory: String) { self.directory = directory }

    mutating func directive(_ words: [String], body: [String], place: String) throws {
        switch words[0] {
        case "threads":
            guard words.count == 2, let n = Int(words[1]), n >= 1 else { throw CaseFile.FormatError(description: "\(place): write 'threads N'") }
            threads = n
            session?.threads = n
        default:
            let cube: Cube
            switch words.count >= 2 ? words[1] : "" {
            case "sample":
                cube = try CRMSample.cube()
            case "generated":
                // load generated rows=N seed=S
                var options: [String: UInt64] = [:]
                for w in words.dropFirst(2) {
                    let kv = w.split(separator: "=")
                    guard kv.count == 2, let v = UInt64(kv[1]) else { throw CaseFile.FormatError(description: "\(place): bad option '\(w)'") }
                    options[String(kv[0])] = v
                }
                var files = MemoryOutput()
                try CRMGenerator(rows: Int(options["rows"] ?? 2000), seed: options["seed"] ?? 1).generate(into: &files)
                let model = try ModelParser.parse(files.files["cube.json"] ?? [], file: "generated/cube.json")
                cube = try CubeLoader.load(model: model, files: MemoryFiles(files.files, label: "generated"), origin: "generated")
            case "csv":
                // load csv NAME.csv, then the file's lines up to a blank line.
                guard words.count == 3 else { throw CaseFile.FormatError(description: "\(place): write 'load csv NAME.csv' and the file's lines") }
                cube = try AdHocCube.load(bytes: Array((body.joined(separator: "\n") + "\n").utf8), fileName: words[2], displayDirectory: "",
                                          origin: words[2])
            case "path":
                guard words.count == 3 else { throw CaseFile.FormatError(description: "\(place): write 'load path DIR' (relative to cases/)") }
                cube = try Session.openCube(directory + "/" + words[2])
            default:
                throw CaseFile.FormatError(description: "\(place): write 'load sample', 'load generated rows=N seed=S', 'load csv NAME.csv' or 'load path DIR'")
            }
            let diagnostics = self.diagnostics
            let s = Session(cube: cube, output: output, errors: { diagnostics.write($0 + "\n") })
            s.threads = threads
            session = s
        }
    }

    /// Runs a record's statement; returns whether it succeeded and what it printed:
    /// diagnostics (warnings, errors, notices) first, then the results.
    func run(_ r: CaseFile.Record) throws -> (ok: Bool, output: [String]) {
        guard let session else { throw CaseFile.FormatError(description: "line \(r.line): no cube yet; start the file with a load directive") }
        output.clear()
        diagnostics.clear()
        switch r.format {
        case nil:
            session.format = .tsv
        case let name?:
            guard let format = OutputFormat(rawValue: name) else { throw CaseFile.FormatError(description: "line \(r.line): unknown format '\(name)'") }
            session.format = format
        }
        let ok = session.run(r.statement.joined(separator: "\n"), file: "<command>")
        var lines = diagnostics.text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var results = output.text.components(separatedBy: "\n")
        if results.last == "" { results.removeLast() }
        if r.format == nil, r.kind == .query {
            // Raw values: a null is NULL, so it cannot be mistaken for an empty text.
            results = results.enumerated().map { i, line in
                i == 0 ? line : line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.isEmpty ? "NULL" : String($0) }.joined(separator: "\t")
            }
        }
        return (ok, lines + results)
    }
}
