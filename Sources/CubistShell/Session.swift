import CubistCore
import CubistEngine
import CubistFormats
import CubistStore
import CubistSyntax
import Foundation

/// Where text output goes: stdout, or a file named with `.output`.
public protocol OutputSink: AnyObject {
    /// Writes text as is.
    func write(_ text: String)
}

/// Standard output.
public final class StandardOutput: OutputSink {
    public init() {}
    public func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// Collects output in memory (tests, embedding).
public final class StringOutput: OutputSink {
    public private(set) var text = ""
    public init() {}
    public func write(_ text: String) { self.text += text }
}

/// One analyst's session: the loaded cube and settings. It runs pieces of input and reports
/// errors as diagnostics; an error never changes the session.
public final class Session {
    /// The cube queries run against.
    public private(set) var cube: Cube
    /// Where results go.
    public var output: OutputSink
    /// Where diagnostics go.
    public var errors: (String) -> Void
    /// Set by `.quit`.
    public private(set) var wantsToQuit = false
    /// Values of `$name` parameters, by lower-cased name (`SET $name = ...`, `--param`).
    public var parameters: [String: String] = [:]
    /// How results are printed.
    public var format: OutputFormat = .table
    /// Whether to show each statement's run time (`.timer on`, `--timer`).
    public var timer = false

    /// Creates a session over a loaded cube.
    public init(cube: Cube, output: OutputSink = StandardOutput(), errors: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
        self.cube = cube
        self.output = output
        self.errors = errors
    }

    /// Runs all pieces of `text` from `file`; returns false at the first failure unless
    /// `continueOnError`.
    @discardableResult
    public func run(_ text: String, file: String, continueOnError: Bool = false) -> Bool {
        let (pieces, incomplete) = InputSplitter.split(text)
        var ok = true
        for piece in pieces + (incomplete.map { [$0] } ?? []) {
            if !execute(piece, file: file, sourceText: text) {
                ok = false
                if !continueOnError { return false }
            }
            if wantsToQuit { break }
        }
        return ok
    }

    /// Runs one piece; reports a failure and returns false.
    public func execute(_ piece: InputPiece, file: String, sourceText: String) -> Bool {
        do {
            switch piece.kind {
            case .dotCommand: try runDotCommand(piece, file: file, sourceText: sourceText)
            case .statement: try runStatement(piece, file: file, sourceText: sourceText)
            }
            return true
        } catch {
            errors(error.rendered)
            return false
        }
    }

    func located(_ piece: InputPiece, file: String, sourceText: String, offset: Int = 0, span: Int = 1, _ message: String, help: String? = nil) -> Diagnostic {
        Diagnostic(file: file, location: SourceLocation(line: piece.line, column: piece.column + offset), message: message, help: help,
                   sourceLine: SourceText.line(piece.line, of: sourceText), span: span)
    }

    private func runStatement(_ piece: InputPiece, file: String, sourceText: String) throws(Diagnostic) {
        let statement: Statement
        do {
            statement = try Parser.parseStatement(piece.text, line: piece.line, column: piece.column)
        } catch {
            throw diagnostic(error.message, error.range, error.help, piece: piece, file: file, sourceText: sourceText)
        }
        switch statement {
        case .select(let select):
            let result: ResultTable
            let started = ContinuousClock.now
            do {
                result = try QueryEngine(cube: cube).run(select, parameters: parameters)
            } catch {
                throw diagnostic(error.message, error.range, error.help, piece: piece, file: file, sourceText: sourceText)
            }
            for w in result.warnings {
                var d = diagnostic(w.message, w.range, w.help, piece: piece, file: file, sourceText: sourceText)
                d.severity = .warning
                errors(d.rendered)
            }
            let elapsed = timer ? Session.seconds(ContinuousClock.now - started) : nil
            output.write(Renderer.render(result, as: format, elapsed: elapsed))
            if let elapsed, format != .table { errors("time: \(elapsed)") }
        case .setParameter(let name, let value, _):
            switch value {
            case .string(let text, _): parameters[name.lowercased()] = text
            default: parameters[name.lowercased()] = value.description
            }
        }
    }

    /// A duration as people read it: `0.012 s`.
    static func seconds(_ d: Duration) -> String {
        let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        return ms < 10 ? String(format: "%.1f ms", ms) : String(format: "%.3f s", ms / 1000)
    }

    /// A diagnostic for a range of a statement, with the caret spanning the range's first line.
    private func diagnostic(_ message: String, _ range: SourceRange, _ help: String?, piece: InputPiece, file: String, sourceText: String) -> Diagnostic {
        let bytes = Array(piece.text.utf8)
        let start = min(max(0, range.start), bytes.count), end = min(max(start, range.end), bytes.count)
        let covered = String(decoding: bytes[start..<end], as: UTF8.self)
        let span = covered.prefix { $0 != "\n" }.unicodeScalars.count
        return Diagnostic(file: file, location: range.location, message: message, help: help,
                          sourceLine: SourceText.line(range.location.line, of: sourceText), span: max(1, span))
    }

    /// Replaces the session's cube (after a successful load only).
    public func replaceCube(_ cube: Cube) { self.cube = cube }

    func quit() { wantsToQuit = true }
}
