import ArgumentParser
import CubistCore
import CubistFormats
import CubistGenerator
import CubistReports
import CubistShell
import CubistStore
import Foundation

/// `cubist [SOURCE] [options]` and `cubist generate ...`.
struct CubistCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cubist",
        abstract: "An OLAP engine for CRM analysis: a columnar in-memory cube with a REPL.",
        version: CubistVersion.current,
        subcommands: [Open.self, Generate.self, ReportCommand.self],
        defaultSubcommand: Open.self
    )
}

/// Opens a cube and runs the REPL, `-c` statements, `-f` files, or statements from stdin.
struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Open a cube (default: the built-in CRM sample) and run the REPL or statements."
    )

    @Argument(help: "A cube directory, a cube.json, a .csv or .parquet file, or a .cube snapshot. Default: the built-in CRM sample.")
    var source: String?

    // A statement may begin with a comment (`-c "-- note ..."`): the value is taken as is.
    @Option(name: .customShort("c"), parsing: .unconditionalSingleValue, help: "Run these statements or dot commands and exit (repeatable).")
    var command: [String] = []

    @Option(name: .customShort("f"), help: "Run a batch file ('-' is stdin) and exit (repeatable).")
    var file: [String] = []

    @Option(help: "Output format: \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")). Default: table on a terminal, else csv.")
    var format: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("Give parameter $NAME a value (repeatable).", valueName: "NAME=VALUE"))
    var parameters: [String] = []

    @Option(help: "Write results to this file instead of stdout.")
    var output: String?

    @Option(parsing: .unconditional, help: "Threads a query scans with (default: every core).")
    var threads: Int?

    @Flag(help: "Show how long each statement takes.")
    var timer = false

    @Flag(name: .long, help: "Keep going after a failed statement in a batch.")
    var continueOnError = false

    @Flag(name: .long, help: "No banner.")
    var quiet = false

    @OptionGroup(title: "Reading CSV files")
    var reading: SourceFlags

    func run() throws {
        let options = try reading.options(source: source)
        let cube = try orExit2 { () throws(Diagnostic) -> Cube in
            if let source {
                let bar = ProgressBar("loading \(source)")
                defer { bar.finish() }
                return try Session.openCube(source, options: options, progress: { bar.update($0) })
            }
            return try CRMSample.cube()
        }
        let session = Session(cube: cube)
        session.showProgress = true
        session.colourTerminal = Terminal.supportsColour
        session.format = try outputFormat()
        session.timer = timer
        if let threads {
            guard threads >= 1, threads <= 1024 else { throw ValidationError("--threads must be between 1 and 1024, got \(threads)") }
            session.threads = threads
        }
        if session.format.isBinary, output == nil {
            throw ValidationError("--format \(session.format.rawValue) writes a workbook file: give --output FILE.xlsx")
        }
        if let output {
            do {
                try session.redirectOutput(to: output)
            } catch {
                throw ValidationError("--output: cannot write to '\(output)': \(error.reason)")
            }
        }
        session.parameters.merge(try Parameters.parse(parameters)) { $1 }
        var ok = true
        let command = CommandOptions.taken + self.command
        if !command.isEmpty || !file.isEmpty {
            for text in command where ok || continueOnError {
                ok = session.run(text, file: "<command>", continueOnError: continueOnError) && ok
                if session.wantsToQuit { break }
            }
            for path in file where (ok || continueOnError) && !session.wantsToQuit {
                if path == "-" || (FileBytes.exists(path) && !FileBytes.isRegularFile(path) && !FileBytes.isDirectory(path)) {
                    // Standard input, a pipe or a FIFO (`-f <(...)`): statements run as they arrive.
                    ok = try runStream(session, path) && ok
                } else {
                    let text = String(decoding: try orExit2 { () throws(Diagnostic) in try FileBytes.read(path) }, as: UTF8.self)
                    ok = session.runFile(text, path: path, continueOnError: continueOnError) && ok
                }
            }
        } else if isatty(0) != 0 {
            if format == nil { session.format = .table }
            session.maxRows = 40
            Repl(session: session, quiet: quiet).run()
        } else {
            ok = try runStream(session, "-")
        }
        session.closeDocument()
        if !ok { throw ExitCode(1) }
    }

    /// Runs the statements of standard input (`-`) or of a pipe or FIFO as they arrive; an
    /// unreadable stream (closed, a directory) or an endless one exits with status 2.
    private func runStream(_ session: Session, _ path: String) throws -> Bool {
        let name = path == "-" ? "<stdin>" : path
        let fd = path == "-" ? Int32(0) : open(path, O_RDONLY)
        guard fd >= 0 else {
            StandardStreams.error(Diagnostic(file: path, message: "cannot open file: \(String(cString: strerror(errno)).lowercased())").rendered)
            throw ExitCode(2)
        }
        defer { if fd != 0 { close(fd) } }
        do {
            return try session.runStream(fd, file: name, continueOnError: continueOnError)
        } catch {
            StandardStreams.error(error.diagnostic.rendered)
            throw ExitCode(2)
        }
    }

    private func outputFormat() throws -> OutputFormat {
        guard let format else { return isatty(1) != 0 ? .table : .csv }
        guard let f = OutputFormat(rawValue: format.lowercased()) else {
            throw ValidationError("--format must be one of \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format)'")
        }
        return f
    }
}

/// How to read the CSV files of the source: `--csv KEY=VALUE`, `--measure`, `--dimension`.
struct SourceFlags: ParsableArguments {
    @Option(name: .customLong("csv"), help: ArgumentHelp("Read the CSV files so (repeatable): \(CSVOptions.keys.joined(separator: ", ")); e.g. --csv delimiter=';' --csv encoding=cp949.",
                                                         valueName: "KEY=VALUE"))
    var csv: [String] = []

    @Option(help: ArgumentHelp("Load this column of a CSV file as a measure (repeatable), optionally with its aggregate: sum, avg, min, max, count_distinct.",
                               valueName: "COLUMN[:AGGREGATE]"))
    var measure: [String] = []

    @Option(help: ArgumentHelp("Load this column of a CSV file as a dimension (repeatable).", valueName: "COLUMN"))
    var dimension: [String] = []

    /// The options the flags set; a bad one is a usage error naming the flag.
    func options(source: String?) throws -> SourceOptions {
        var options = SourceOptions()
        for item in csv {
            guard let equals = item.firstIndex(of: "=") else {
                throw ValidationError("--csv takes KEY=VALUE (e.g. --csv delimiter=';'), got '\(item)'; the keys are: \(CSVOptions.keys.joined(separator: ", "))")
            }
            let key = String(item[..<equals]).trimmingCharacters(in: .whitespaces)
            var value = String(item[item.index(after: equals)...])
            if value.count >= 2, let f = value.first, f == value.last, f == "'" || f == "\"" { value = String(value.dropFirst().dropLast()) }
            if let problem = options.csv.set(key, value) { throw ValidationError("--csv \(item): \(problem)") }
        }
        for item in measure {
            let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
            guard let column = parts.first, !column.isEmpty else { throw ValidationError("--measure takes COLUMN[:AGGREGATE], got '\(item)'") }
            var aggregate: Aggregate?
            if parts.count == 2 {
                guard let a = Aggregate(rawValue: parts[1].lowercased()), a != .count else {
                    throw ValidationError("--measure \(item): unknown aggregate '\(parts[1])'; use sum, avg, min, max or count_distinct")
                }
                aggregate = a
            }
            options.measures.append((column, aggregate))
        }
        options.dimensions = dimension
        if source == nil, !csv.isEmpty || !measure.isEmpty || !dimension.isEmpty {
            throw ValidationError("--csv, --measure and --dimension say how to read a source: name the CSV file or cube directory")
        }
        return options
    }
}

/// Writes the synthetic CRM star schema and its model.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate the synthetic CRM star schema (customers, products, channels, sales) and cube.json."
    )

    @Option(parsing: .unconditional, help: "Number of fact rows (sales).")
    var rows: Int

    @Option(parsing: .unconditional, help: "Seed; the same rows and seed give byte-identical files.")
    var seed: Int64 = 42

    @Option(help: "Directory to write into (created if missing).")
    var out: String

    @Flag(help: "No summary on stderr.")
    var quiet = false

    func validate() throws {
        guard rows >= 1, rows <= 2_000_000_000 else {
            throw ValidationError("--rows must be between 1 and 2000000000, got \(rows)")
        }
        guard seed >= 0 else { throw ValidationError("--seed must be at least 0, got \(seed)") }
    }

    func run() throws {
        let started = Date()
        var output = try orExit2 { () throws(Diagnostic) in try DirectoryOutput(directory: out) }
        do {
            try CRMGenerator(rows: rows, seed: UInt64(seed)).generate(into: &output)
        } catch {
            StandardStreams.error(((error as? Diagnostic)?.rendered ?? "\(error)"))
            throw ExitCode(2)
        }
        if !quiet {
            let seconds = Date().timeIntervalSince(started)
            StandardStreams.raw("wrote \(CRMGenerator.fileNames.joined(separator: ", ")) to \(out): \(rows) sales rows, \(CRMGenerator.customerCount(rows: rows)) customers, \(CRMGenerator.productCount(rows: rows)) products in \(String(format: "%.1f", seconds)) s\n")
        }
    }
}

/// `cubist report FILE.md -o OUT.html|.md|.pdf`: runs a literate report and writes one document.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Run the ```cubist blocks of a Markdown report in one session and write it as HTML, Markdown or PDF."
    )

    @Argument(help: "The report: Markdown whose ```cubist blocks hold statements.")
    var file: String

    @Option(name: [.customShort("o"), .long], help: "The document to write: .html, .md, .pdf (needs Chromium) or .xlsx (a sheet per result).")
    var output: String

    @Option(name: .customLong("cube"), help: "The cube: a directory, cube.json, .csv or snapshot. Default: the built-in CRM sample.")
    var cubeSource: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("Give parameter $NAME a value (repeatable).", valueName: "NAME=VALUE"))
    var parameters: [String] = []

    @Option(parsing: .unconditional, help: "Threads a query scans with (default: every core).")
    var threads: Int?

    @Flag(name: .long, help: "Show a failed statement's error in the document and go on.")
    var continueOnError = false

    @Flag(name: .long, help: "No summary on stderr.")
    var quiet = false

    @OptionGroup(title: "Reading CSV files")
    var reading: SourceFlags

    func run() throws {
        let started = Date()
        let options = try reading.options(source: cubeSource)
        guard let format = ReportFormat(path: output) else {
            let ext = URL(fileURLWithPath: output).pathExtension
            throw ValidationError("--output must end in .html, .md, .pdf or .xlsx, got '\(output)'\(ext.isEmpty ? "" : " (.\(ext))")")
        }
        let text = String(decoding: try orExit2 { () throws(Diagnostic) in try FileBytes.read(file) }, as: UTF8.self)
        let source = ReportSource(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text)
        let cube = try orExit2 { () throws(Diagnostic) -> Cube in
            if let cubeSource { return try Session.openCube(cubeSource, options: options) }
            return try CRMSample.cube()
        }
        let session = Session(cube: cube)
        if let threads {
            guard threads >= 1, threads <= 1024 else { throw ValidationError("--threads must be between 1 and 1024, got \(threads)") }
            session.threads = threads
        }
        session.parameters = try Parameters.parse(parameters)
        let report: Report
        switch ReportRunner.run(source, file: file, session: session, continueOnError: continueOnError) {
        case .finished(let r): report = r
        case .failed(let error):
            StandardStreams.error(error)
            StandardStreams.error("report stopped: \(output) was not written (--continue-on-error shows errors in the document instead)")
            throw ExitCode(1)
        }
        do {
            switch format {
            case .html:
                try Data(HTMLReport.render(report).utf8).write(to: URL(fileURLWithPath: output))
            case .xlsx:
                let workbook = report.workbook()
                do {
                    try workbook.data().write(to: URL(fileURLWithPath: output))
                } catch let failure as Workbook.Failure {
                    StandardStreams.error("cubist report: \(failure.message)")
                    throw ExitCode(2)
                }
            case .pdf:
                do {
                    try PDFPrinter.print(html: HTMLReport.render(report), to: output)
                } catch {
                    StandardStreams.error("cubist report: \(error.message)")
                    throw ExitCode(2)
                }
            case .markdown:
                let url = URL(fileURLWithPath: output)
                let folder = url.deletingPathExtension().lastPathComponent + "-files"
                let folderURL = url.deletingLastPathComponent().appendingPathComponent(folder)
                var charts: [(String, String)] = []
                let markdown = MarkdownReport.render(report, chartFolder: folder) { charts.append(($0, $1)) }
                if !charts.isEmpty {
                    try FileManager.default.createDirectory(at: folderURL, withIntermediateDirectories: true)
                    for (name, svg) in charts {
                        try Data(svg.utf8).write(to: url.deletingLastPathComponent().appendingPathComponent(name))
                    }
                }
                try Data(markdown.utf8).write(to: url)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            StandardStreams.error("cubist report: cannot write '\(output)': \(error.localizedDescription)")
            throw ExitCode(2)
        }
        if !quiet {
            let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
            StandardStreams.error("wrote \(output): \(report.resultCount) results, \(report.chartCount) charts\(report.errorCount > 0 ? ", \(report.errorCount) errors" : "") in \(seconds) s")
        }
        if report.errorCount > 0 { throw ExitCode(1) }
    }
}

/// `--param NAME=VALUE` values by lower-cased name, without a leading `$`.
enum Parameters {
    static func parse(_ values: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for p in values {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                throw ValidationError("--param takes NAME=VALUE, got '\(p)'")
            }
            var name = String(p[..<eq])
            if name.hasPrefix("$") { name.removeFirst() }
            out[name.lowercased()] = String(p[p.index(after: eq)...])
        }
        return out
    }
}

/// Runs `body`; a diagnostic goes to stderr and the program exits with status 2.
func orExit2<T>(_ body: () throws(Diagnostic) -> T) throws -> T {
    let result = Result<T, Diagnostic> { () throws(Diagnostic) -> T in try body() }
    switch result {
    case .success(let value):
        return value
    case .failure(let diagnostic):
        StandardStreams.error(diagnostic.rendered)
        throw ExitCode(2)
    }
}

// A parent that ignores SIGPIPE passes that on; like any filter, `cubist ... | head -1`
// should end quietly when the reader goes, so take the default back.
signal(SIGPIPE, SIG_DFL)
// Likewise a parent may start us with signals blocked; SIGTERM, Ctrl-C and a closed pipe
// must reach us (a killed batch keeps what it wrote: output files are flushed per write).
var unblock = sigset_t()
sigemptyset(&unblock)
for s in [SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGHUP] { sigaddset(&unblock, s) }
sigprocmask(SIG_UNBLOCK, &unblock, nil)
// A closed standard output (`cubist >&-`) is said at once, before a file opened later could
// take its place as descriptor 1.
if fcntl(1, F_GETFD) == -1 {
    StandardStreams.error("cubist: standard output is closed; results have nowhere to go (give --output FILE, or redirect it)")
    exit(2)
}
// A signal that ends the program mid-SAVE removes the half-written temporary file.
PendingFile.installSignalCleanup()

/// The `-c` values, taken out of the arguments before ArgumentParser sees them: it keeps
/// the origins of a repeated option in a set it merges on every occurrence, so thousands
/// of `-c` options cost quadratic time (20,000: 27 s). Order is kept; `--` ends options.
enum CommandOptions {
    nonisolated(unsafe) static var taken: [String] = []

    /// The arguments without `-c VALUE` pairs, collecting the values into `taken`.
    static func extract(_ arguments: [String]) -> [String] {
        guard arguments.first.map({ !["generate", "help", "report"].contains($0) }) ?? false else { return arguments }
        let takesValue: Set<String> = ["-f", "--format", "--param", "--output", "--threads"]
        var rest: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" {
                rest += arguments[i...]
                break
            }
            if a == "-c", i + 1 < arguments.count {
                taken.append(arguments[i + 1])
                i += 2
                continue
            }
            rest.append(a)
            if takesValue.contains(a), i + 1 < arguments.count {
                rest.append(arguments[i + 1])
                i += 1
            }
            i += 1
        }
        return rest
    }
}

// Bad usage exits with 2 (PRODUCT.md), not ArgumentParser's default 64.
do {
    var command = try CubistCommand.parseAsRoot(CommandOptions.extract(Array(CommandLine.arguments.dropFirst())))
    try command.run()
} catch {
    let code = CubistCommand.exitCode(for: error)
    if code == .success {
        print(CubistCommand.fullMessage(for: error))
        exit(0)
    }
    if let exitCode = error as? ExitCode {
        exit(exitCode.rawValue)
    }
    StandardStreams.error(CubistCommand.fullMessage(for: error))
    exit(2)
}
