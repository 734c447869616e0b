import CubistCore
import CubistEngine
import CubistFormats
import CubistCharts
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

    /// Writes all of `text`. When the reader has gone (`cubist ... | head -1`) the program
    /// ends quietly with the status a closed pipe gives (141); any other failure (a full
    /// disk) ends it with a message and status 1. Files written so far are complete: they
    /// are flushed after every write.
    public func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            guard let failure = StandardStreams.write(1, bytes) else { return }
            if failure == EPIPE { exit(141) }
            StandardStreams.error("cubist: cannot write results to standard output: \(String(cString: strerror(failure)).lowercased())")
            exit(1)
        }
    }
}

/// Writing to the standard streams with POSIX calls, whatever the state of the stream.
public enum StandardStreams {
    /// Writes all bytes to `fd`; returns errno on failure (EINTR is retried).
    static func write(_ fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)  // safe: inside the loop the buffer holds bytes still to write
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        return nil
    }

    /// Writes a line to stderr; a closed or broken stderr is ignored (there is nowhere
    /// left to report to).
    public static func error(_ line: String) {
        raw(line + "\n")
    }

    /// Writes text to stderr as is.
    public static func raw(_ text: String) {
        var text = text
        text.withUTF8 { _ = write(2, $0) }
    }
}

/// A file opened for `.output` or `.once`.
public final class FileOutput: OutputSink {
    private let handle: UnsafeMutablePointer<FILE>
    /// The path as the user wrote it.
    public let path: String

    /// Opens (creates or truncates) `path` for writing; the error says why it cannot.
    public init(path: String) throws(CannotOpen) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CannotOpen(reason: "it is a directory")
        }
        guard let h = fopen(path, "w") else { throw CannotOpen(reason: String(cString: strerror(errno)).lowercased()) }
        handle = h
        self.path = path
    }

    /// Writes bytes (a workbook) and flushes; false when the file cannot take them.
    public func write(bytes: Data) -> Bool {
        let written = bytes.withUnsafeBytes { raw in fwrite(raw.baseAddress, 1, raw.count, handle) == raw.count }
        return written && fflush(handle) == 0
    }

    /// Writes and flushes, so results already written survive the process being killed.
    /// A file that cannot take more (a full disk) ends the program with a message.
    public func write(_ text: String) {
        var text = text
        let written = text.withUTF8 { bytes in fwrite(bytes.baseAddress, 1, bytes.count, handle) == bytes.count }
        if !written || fflush(handle) != 0 {
            StandardStreams.error("cubist: cannot write to '\(path)': \(String(cString: strerror(errno)).lowercased()); the results before this one are complete")
            exit(1)
        }
    }

    deinit { fclose(handle) }

    /// Why a file could not be opened.
    public struct CannotOpen: Error {
        public let reason: String
    }
}

/// Collects output in memory (tests, embedding).
public final class StringOutput: OutputSink {
    public private(set) var text = ""
    public init() {}
    public func write(_ text: String) { self.text += text }
    /// Forgets what was written.
    public func clear() { text = "" }
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
    /// In table mode, the most rows shown (first and last halves); 0 shows all (`.maxrows`).
    public var maxRows = 0
    /// In table mode, the width to fit long text into; 0 for no limit (the terminal's width in the REPL).
    public var width = 0
    /// Where results go instead of `output` after `.output FILE`.
    var redirect: FileOutput?
    /// Where the next result goes (`.once FILE`).
    var once: FileOutput?
    /// Threads a query scans with (`--threads`; default every core).
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Whether to show a progress bar on stderr for queries over a second (when it is a terminal).
    public var showProgress = false
    /// Set (by Ctrl-C in the REPL) to stop the running query.
    public let cancellation = CancellationFlag()
    /// The session's `max_result_rows`, `memory_limit` and `timeout` (set with SET).
    public private(set) var limits = QueryLimits()
    /// Every loaded cube; `cube` is the current one.
    public private(set) var loaded: [Cube] = []
    /// Measures defined with `DEFINE MEASURE`, usable wherever a model measure is.
    public private(set) var sessionMeasures: [Measure] = []
    /// The views: each successful SELECT or navigation step pushes one; BACK pops.
    public private(set) var views: [SelectStatement] = []
    /// Files being read by `.read`, innermost last, to refuse cycles.
    var reading: [String] = []
    /// The CHART clause of the statement running now.
    var chartRequest: ChartClause?
    /// The last result shown (`.chart` draws it).
    public private(set) var lastResult: ResultTable?
    /// Where the current Markdown or HTML document is being written (results after the
    /// first are separated, HTML gets its closing tags once).
    var documentSink: OutputSink?
    /// The format the open document was begun in (`.mode` may change under it).
    var documentFormat: OutputFormat?
    /// The sheets of the workbook being written (`xlsx`).
    var workbook = Workbook()
    /// Whether the terminal shows ANSI colours (charts colour their series).
    public var colourTerminal = false
    /// A result as the session presents it, for a caller that lays results out itself.
    public struct Presented {
        /// The result table.
        public let result: ResultTable
        /// Its chart, when the statement asked for one.
        public let chart: Chart?
        /// The `--` comment right above the statement.
        public let heading: String?
        /// The statement's text.
        public let statement: String
    }
    /// When set, results go here instead of being printed (reports lay them out).
    public var presenter: ((Presented) -> Void)?
    /// Lines of the input before the text being run (a stream is run a part at a time):
    /// diagnostics at line n show line n - sourceLineBase of that text.
    var sourceLineBase = 0

    /// Opens the cube source at `path` (directory, cube.json, CSV or snapshot) the way
    /// LOAD does: loaded, then with the model's computed attributes computed.
    /// `progress` hears the fraction of the fact file read.
    public static func openCube(_ path: String, options: SourceOptions = SourceOptions(), progress: ((Double) -> Void)? = nil) throws(Diagnostic) -> Cube {
        let cube = try CubeSource.open(path, options: options, progress: progress)
        if let mark = cube.snapshot, mark.size > mark.end {
            StandardStreams.error("\(path): note: the last \(byteSize(mark.size - mark.end)) are an append that did not finish (it was never acknowledged) and are ignored; the next APPEND ... TO writes over them")
        }
        return cube.pendingAttributes.isEmpty ? cube : try QueryEngine.computingDeclaredAttributes(of: cube)
    }

    /// Creates a session over a loaded cube.
    public init(cube: Cube, output: OutputSink = StandardOutput(), errors: @escaping (String) -> Void = { StandardStreams.error($0) }) {
        self.cube = cube
        self.output = output
        self.errors = errors
        loaded = [cube]
    }

    /// Makes `cube` current; the views belonged to the previous cube and are dropped.
    private func switchTo(_ cube: Cube) {
        self.cube = cube
        views = []
    }

    /// Runs all pieces of `text` from `file`; returns false at the first failure unless
    /// `continueOnError`.
    @discardableResult
    public func run(_ text: String, file: String, continueOnError: Bool = false) -> Bool {
        // A byte-order mark (a file saved by some Windows editors) is not part of the text.
        let text = text.hasPrefix("\u{FEFF}") ? String(text.unicodeScalars.dropFirst()) : text
        let saved = sourceLineBase
        sourceLineBase = 0
        defer { sourceLineBase = saved }
        let (pieces, incomplete) = InputSplitter.split(text)
        var ok = true
        _ = runPieces(pieces + (incomplete.map { [$0] } ?? []), file: file, sourceText: text, continueOnError: continueOnError, ok: &ok)
        return ok
    }

    /// Runs pieces in order, moving each `lineShift` lines down (a stream's later parts);
    /// clears `ok` at a failure. Returns false when the rest of the input must not run: a
    /// failure without `continueOnError`, Ctrl-C, or `.quit`.
    func runPieces(_ pieces: [InputPiece], file: String, sourceText: String, lineShift: Int = 0, continueOnError: Bool, ok: inout Bool) -> Bool {
        for var piece in pieces {
            if cancellation.isCancelled {
                errors("\(file): cancelled; the rest of the input was not run")
                ok = false
                return false
            }
            piece.line += lineShift
            if !execute(piece, file: file, sourceText: sourceText) {
                ok = false
                if !continueOnError { return false }
            }
            if wantsToQuit { return false }
        }
        return true
    }

    /// Runs a batch file's text: like `run`, and a `.read` inside that leads back to this
    /// file is refused as a cycle.
    @discardableResult
    public func runFile(_ text: String, path: String, continueOnError: Bool = false) -> Bool {
        reading.append(Session.canonicalPath(path))
        defer { reading.removeLast() }
        return run(text, file: path, continueOnError: continueOnError)
    }

    static func canonicalPath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
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
            if error != Session.alreadyReported { errors(error.rendered) }
            return false
        }
    }

    func located(_ piece: InputPiece, file: String, sourceText: String, offset: Int = 0, span: Int = 1, _ message: String, help: String? = nil) -> Diagnostic {
        Diagnostic(file: file, location: SourceLocation(line: piece.line, column: piece.column + offset), message: message, help: help,
                   sourceLine: SourceText.line(piece.line - sourceLineBase, of: sourceText), span: span)
    }

    private func runStatement(_ piece: InputPiece, file: String, sourceText: String) throws(Diagnostic) {
        let statement: Statement
        do {
            statement = try Parser.parseStatement(piece.text, line: piece.line, column: piece.column)
        } catch {
            throw locate(error, piece, file, sourceText)
        }
        try perform(statement, piece: piece, file: file, sourceText: sourceText)
    }

    private func perform(_ statement: Statement, piece: InputPiece, file: String, sourceText: String) throws(Diagnostic) {
        switch statement {
        case .charted(let inner, let clause):
            chartRequest = clause
            defer { chartRequest = nil }
            try perform(inner, piece: piece, file: file, sourceText: sourceText)
        case .select(let select):
            try runSelect(select, piece: piece, file: file, sourceText: sourceText, reportAt: nil)
            views.append(select)
        case .setParameter(let name, let value, _):
            switch value {
            case .string(let text, _): parameters[name.lowercased()] = text
            default: parameters[name.lowercased()] = value.description
            }
        case .setOption(let name, let value, let range):
            do {
                errors(try limits.set(name, value, at: range))
            } catch {
                throw locate(error, piece, file, sourceText)
            }
        case .load(let path, let name, let range):
            let name = name ?? ""
            if !name.isEmpty, let existing = loaded.first(where: { $0.name.caseInsensitiveEquals(name) }) {
                throw fault("a cube named '\(existing.name)' is loaded already", range, "LOAD '\(path)' AS another_name",
                                 piece: piece, file: file, sourceText: sourceText)
            }
            // A failed load throws here and changes nothing.
            var cube = try Session.openCube(path)
            let finalName = name.isEmpty ? cube.name : name
            if name.isEmpty, loaded.contains(where: { $0.name.caseInsensitiveEquals(finalName) }) {
                throw fault("a cube named '\(finalName)' is loaded already", range, "LOAD '\(path)' AS another_name",
                                 piece: piece, file: file, sourceText: sourceText)
            }
            cube = cube.renamed(finalName)
            loaded.append(cube)
            switchTo(cube)
            errors("loaded cube '\(cube.name)': \(grouped(cube.facts.rowCount)) facts from \(path); it is the current cube (USE switches)")
        case .save(let path, let overwrite, _):
            let started = ContinuousClock.now
            let bytes = try Snapshot.save(cube, to: path, overwrite: overwrite)
            // The cube is now that file's state: APPEND ... TO it journals there.
            replaceCurrent(with: cube.marked(Snapshot.mark(ofSaved: path, bytes: bytes)))
            errors("saved cube '\(cube.name)' to \(path): \(grouped(cube.facts.rowCount)) facts, \(byteSize(bytes)) in \(Session.seconds(ContinuousClock.now - started))")
        case .append(let path, let snapshot, _):
            try append(path, to: snapshot)
        case .explain(let select, let analyze, _):
            let result: ResultTable
            do {
                result = try engine().explain(select, analyze: analyze, parameters: parameters)
            } catch {
                throw locate(error, piece, file, sourceText)
            }
            try show(result, started: ContinuousClock.now, piece: piece, file: file, sourceText: sourceText, reportAt: nil)
        case .explainAnalysis(let analysis, let analyze, let range):
            let result: ResultTable
            do {
                result = try engine().explain(analysis, analyze: analyze, parameters: parameters, at: range)
            } catch {
                throw locate(error, piece, file, sourceText)
            }
            try show(result, started: ContinuousClock.now, piece: piece, file: file, sourceText: sourceText, reportAt: nil)
        case .analysis(let analysis, let range):
            let started = ContinuousClock.now
            let result: ResultTable
            do {
                result = try engine().analysis(analysis, parameters: parameters, at: range)
            } catch {
                throw locate(error, piece, file, sourceText)
            }
            try show(result, started: started, piece: piece, file: file, sourceText: sourceText, reportAt: nil)
        case .use(let name, let range):
            guard let target = loaded.first(where: { $0.name.caseInsensitiveEquals(name) }) else {
                throw fault("no cube named '\(name)' is loaded", range,
                                 Suggestions.didYouMean(name, in: loaded.map(\.name)) ?? "loaded: " + loaded.map(\.name).joined(separator: ", "),
                                 piece: piece, file: file, sourceText: sourceText)
            }
            switchTo(target)
        case .metadata(let m, _):
            let result: ResultTable
            do {
                result = try Catalog.answer(m, engine: engine(), cubes: loaded, parameters: parameters)
            } catch {
                throw locate(error, piece, file, sourceText)
            }
            try show(result, started: ContinuousClock.now, piece: piece, file: file, sourceText: sourceText, reportAt: nil)
        case .defineMeasure(let name, let expr, let formatName, let range):
            var measureFormat: MeasureFormat?
            if let formatName {
                guard let f = MeasureFormat(rawValue: formatName.lowercased()) else {
                    let names = MeasureFormat.allCases.map(\.rawValue)
                    throw fault("unknown format '\(formatName)'", range, Suggestions.didYouMean(formatName, in: names) ?? "formats: " + names.joined(separator: ", "),
                                     piece: piece, file: file, sourceText: sourceText)
                }
                measureFormat = f
            }
            let measure = Measure(name: name, definition: .expression(expr), format: measureFormat, source: expr.description)
            do {
                try engine().check(sessionMeasure: measure, at: range)
            } catch {
                throw locate(error, piece, file, sourceText)
            }
            sessionMeasures.removeAll { $0.name.caseInsensitiveEquals(name) }
            sessionMeasures.append(measure)
        case .defineAttribute(let dimension, let name, let expr, let condition, let range):
            let extended: Cube
            do {
                extended = try engine().definingAttribute(dimension: dimension, name: name, expr: expr, condition: condition,
                                                          parameters: parameters, at: range)
            } catch {
                throw locate(error, piece, file, sourceText)
            }
            // The cube keeps its name and facts; the views stay (they still bind).
            if let i = loaded.firstIndex(where: { $0.name == cube.name }) { loaded[i] = extended }
            cube = extended
        case .navigate(let step, let range):
            guard let view = views.last else {
                throw fault("there is no view yet to \(step.description.split(separator: " ").first.map(String.init) ?? "navigate")",
                           range, "run a SELECT first; navigation statements change the last one", piece: piece, file: file, sourceText: sourceText)
            }
            switch step {
            case .showView:
                (once ?? redirect ?? output).write(view.description + ";\n")
                once = nil
            case .drillthrough(let rowExpr, let limitExpr):
                let result: ResultTable
                do {
                    result = try engine().drillthrough(view, row: rowExpr, limit: limitExpr, parameters: parameters, at: range)
                } catch {
                    // The engine places errors of the view (another statement's text) at this one.
                    throw locate(error, piece, file, sourceText)
                }
                try show(result, started: ContinuousClock.now, piece: piece, file: file, sourceText: sourceText, reportAt: nil)
            case .back:
                guard views.count >= 2 else {
                    throw fault("nothing to go back to: this is the first view", range, "SHOW VIEW prints it", piece: piece, file: file, sourceText: sourceText)
                }
                try runSelect(views[views.count - 2], piece: piece, file: file, sourceText: sourceText, reportAt: range)
                views.removeLast()
            default:
                let next: SelectStatement
                do {
                    next = try Navigator(engine: engine(), parameters: parameters).apply(step, to: view, at: range)
                } catch {
                    // The navigator places errors of the view (another statement's text) at this one.
                    throw locate(error, piece, file, sourceText)
                }
                try runSelect(next, piece: piece, file: file, sourceText: sourceText, reportAt: range)
                views.append(next)
            }
        }
    }

    /// `APPEND 'path' [TO 'snapshot']`: the file's rows added to the current cube, and with
    /// TO journaled to its snapshot first. Views stay (they still bind). A failure at any
    /// step leaves the cube, and the snapshot, as they were.
    private func append(_ path: String, to snapshot: String?) throws(Diagnostic) {
        let started = ContinuousClock.now
        if let snapshot { _ = try Snapshot.checkJournalTarget(cube, snapshot) }
        let bytes = try FileBytes.read(path)
        let appended = try CubeLoader.append(bytes, file: path, to: cube, threads: threads)
        var next = try QueryEngine.recomputing(appended.recompute, in: appended.cube)
        var journaled = ""
        if let snapshot {
            next = next.marked(try Snapshot.journal(bytes, name: path, to: snapshot, of: cube))
            journaled = "; journaled to \(snapshot)"
        }
        replaceCurrent(with: next)
        errors("appended \(grouped(appended.rows)) facts from \(path) to cube '\(next.name)': \(grouped(next.facts.rowCount)) in all\(journaled), in \(Session.seconds(ContinuousClock.now - started))")
    }

    /// Makes `next` the current cube in place of the current one (same name), keeping the views.
    private func replaceCurrent(with next: Cube) {
        if let i = loaded.firstIndex(where: { $0.name == cube.name }) { loaded[i] = next }
        cube = next
    }

    /// The engine for a cube (default: the current one) with this session's settings.
    private func engine(for cube: Cube? = nil) -> QueryEngine {
        var engine = QueryEngine(cube: cube ?? self.cube, sessionMeasures: sessionMeasures)
        engine.cancellation = cancellation
        engine.threads = threads
        engine.limits = limits
        return engine
    }

    /// Runs a SELECT and prints its result; `reportAt` puts errors and warnings at the
    /// navigation statement that produced the SELECT.
    private func runSelect(_ select: SelectStatement, piece: InputPiece, file: String, sourceText: String, reportAt: SourceRange?) throws(Diagnostic) {
        let result: ResultTable
        let started = ContinuousClock.now
        do {
            var from: Cube?
            if case .name(let path, _)? = select.from { from = loaded.first { $0.name.caseInsensitiveEquals(path[0]) } }
            var engine = engine(for: from)
            let bar = showProgress ? ProgressBar("query") : nil
            if let bar { engine.progress = { bar.update($0, phase: $1) } }
            defer { bar?.finish() }
            result = try engine.run(select, parameters: parameters)
        } catch {
            throw locate(error, piece, file, sourceText, at: reportAt)
        }
        try show(result, started: started, piece: piece, file: file, sourceText: sourceText, reportAt: reportAt)
    }

    /// Prints a result (and its warnings) where results go now, as a chart when the
    /// statement asked for one and the format can show it; a chart the result's shape does
    /// not suit is an error at the CHART clause, and nothing is printed.
    private func show(_ result: ResultTable, started: ContinuousClock.Instant, piece: InputPiece, file: String, sourceText: String,
                      reportAt: SourceRange?) throws(Diagnostic) {
        var chart: Chart?
        if let clause = chartRequest {
            do {
                chart = try Chart(clause.kind, of: result)
            } catch {
                throw fault(error.message, clause.range, error.help, piece: piece, file: file, sourceText: sourceText)
            }
        }
        if format.isBinary, presenter == nil, once == nil, redirect == nil {
            throw located(piece, file: file, sourceText: sourceText, span: max(1, piece.text.prefix { !$0.isNewline }.count),
                          "the \(format.rawValue) format writes a workbook file, and results go to the screen",
                          help: ".once report.xlsx (or .output report.xlsx) first; from the command line, --output report.xlsx")
        }
        for w in result.warnings {
            errors(locate(w, piece, file, sourceText, at: reportAt).rendered)
        }
        lastResult = result
        if let presenter {
            presenter(Presented(result: result, chart: chart, heading: piece.leadingComment, statement: piece.text))
            return
        }
        present(result, chart: chart, heading: piece.leadingComment, started: started)
    }

    /// Writes a result (or its chart) in the session's format where results go now: in
    /// Markdown a blank line and the statement's comment as a heading between results, in
    /// HTML one document with a section per result.
    func present(_ result: ResultTable, chart: Chart?, heading: String?, started: ContinuousClock.Instant) {
        let sink: OutputSink = once ?? redirect ?? output
        let toTerminal = sink === output
        let cancellation = self.cancellation
        defer {
            if sink === once { closeDocument() }
            once = nil
        }
        // The time shown covers the whole statement, rendering included.
        let elapsedAtEnd: (@Sendable () -> String)? = timer ? { @Sendable in Session.seconds(ContinuousClock.now - started) } : nil
        let options = RenderOptions(maxRows: toTerminal ? maxRows : 0, width: toTerminal ? width : 0, elapsedAtEnd: elapsedAtEnd,
                                    isCancelled: { cancellation.isCancelled })
        var complete = true
        switch format {
        case .table where chart != nil:
            guard let chart else { break }
            sink.write(TerminalChart.render(chart, width: toTerminal && width > 0 ? width : 80, colour: toTerminal && colourTerminal))
            if let elapsedAtEnd { sink.write("(\(elapsedAtEnd()))\n") }
        case .markdown:
            if documentSink === sink, documentFormat == .markdown {
                sink.write("\n")
            } else {
                closeDocument()
            }
            documentSink = sink
            documentFormat = .markdown
            if let heading { sink.write("## " + Renderer.markdownCell(heading) + "\n\n") }
            complete = Renderer.render(result, as: format, options: options) { sink.write($0) }
        case .html:
            if documentSink !== sink || documentFormat != .html {
                closeDocument()
                sink.write(Renderer.htmlHead(title: "Cubist results"))
                documentSink = sink
                documentFormat = .html
            }
            sink.write("<section>\n")
            if let heading { sink.write("<h2>\(Renderer.escapeHTML(heading))</h2>\n") }
            if let chart {
                sink.write(SVGChart.render(chart))
            } else {
                complete = Renderer.renderHTMLTable(result, options: options) { sink.write($0) }
            }
            sink.write("</section>\n")
        case .xlsx:
            if documentSink !== sink || documentFormat != .xlsx {
                closeDocument()
                documentSink = sink
                documentFormat = .xlsx
                workbook = Workbook()
            }
            workbook.add(result, name: heading)
        default:
            if documentSink === sink { closeDocument() }
            complete = Renderer.render(result, as: format, options: options) { sink.write($0) }
        }
        if !complete { errors("output cancelled: the result above is cut short") }
        if let elapsedAtEnd, format != .table { errors("time: \(elapsedAtEnd())") }
    }

    /// In the REPL each input's results on the screen are a document of their own.
    func closeScreenDocument() {
        if documentSink === output { closeDocument() }
    }

    /// Ends the HTML document results have been written into, if one is open: a batch at
    /// its end, the REPL after each input, `.output` before it changes the destination.
    public func closeDocument() {
        if let sink = documentSink, documentFormat == .html {
            sink.write(Renderer.htmlTail)
        }
        if let file = documentSink as? FileOutput, documentFormat == .xlsx {
            do {
                if !file.write(bytes: try workbook.data()) {
                    errors("cubist: cannot write the workbook to '\(file.path)': \(String(cString: strerror(errno)).lowercased())")
                }
            } catch {
                errors("cubist: cannot write the workbook to '\(file.path)': \(error.message)")
            }
            workbook = Workbook()
        }
        documentSink = nil
        documentFormat = nil
    }

    /// A duration as people read it: `0.012 s`.
    static func seconds(_ d: Duration) -> String {
        let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        return ms < 10 ? String(format: "%.1f ms", ms) : String(format: "%.3f s", ms / 1000)
    }

    /// A statement's diagnostic placed in its file, with the source line and a caret; `at`
    /// moves it (a view re-run by a navigation statement is reported at that statement).
    func locate(_ d: Diagnostic, _ piece: InputPiece, _ file: String, _ sourceText: String, at override: SourceRange? = nil) -> Diagnostic {
        d.located(file: file, text: sourceText, pieceText: piece.text, at: override, lineBase: sourceLineBase)
    }

    /// An error the shell itself finds at a range of a statement.
    private func fault(_ message: String, _ range: SourceRange, _ help: String?, piece: InputPiece, file: String, sourceText: String) -> Diagnostic {
        locate(Diagnostic(message, at: range, help: help), piece, file, sourceText)
    }

    /// Sends results to a file from now on (`--output`); the error says why it cannot.
    public func redirectOutput(to path: String) throws(FileOutput.CannotOpen) {
        redirect = try FileOutput(path: path)
    }

    /// A failure whose diagnostic has already been shown (inside a `.read` file).
    static let alreadyReported = Diagnostic(file: "", message: "")

    /// Replaces the session's cube (after a successful load only).
    public func replaceCube(_ cube: Cube) { self.cube = cube }

    func quit() { wantsToQuit = true }
}

/// What the terminal on standard output can show.
public enum Terminal {
    /// True when standard output is a terminal that shows ANSI colours: not `TERM=dumb`,
    /// and no `NO_COLOR` (no-color.org) in the environment.
    public static var supportsColour: Bool {
        let env = ProcessInfo.processInfo.environment
        guard isatty(1) != 0, env["NO_COLOR"] == nil else { return false }
        return env["TERM"].map { $0 != "dumb" && !$0.isEmpty } ?? false
    }
}
