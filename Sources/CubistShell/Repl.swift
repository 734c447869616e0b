import CReadline
import CubistCore
import CubistEngine
import CubistFormats
import CubistStore
import Foundation

/// Set by the SIGINT handler while readline waits; the REPL then drops the half-typed statement.
nonisolated(unsafe) private var interruptedWhileReading = false
/// While a statement runs, Ctrl-C cancels it through this flag instead of touching readline.
nonisolated(unsafe) private var runningStatement: CancellationFlag?
/// The cube tab completion looks names up in, and the current completions.
nonisolated(unsafe) private var completionCube: Cube?
nonisolated(unsafe) private var completions: [String] = []
nonisolated(unsafe) private var completionNext = 0

/// Readline's completion hook: our candidates only, never file names.
private func complete(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    cubist_completion_over()
    guard let cube = completionCube, let buffer = cubist_line_buffer() else { return nil }
    completions = Completion.candidates(line: String(cString: buffer), start: Int(start), end: Int(end), cube: cube)
    completionNext = 0
    return rl_completion_matches(text) { _, state in
        if state == 0 { completionNext = 0 }
        guard completionNext < completions.count else { return nil }
        defer { completionNext += 1 }
        return strdup(completions[completionNext])
    }
}
/// The primary prompt as a C string, for the signal handler to restore after Ctrl-C.
nonisolated(unsafe) private let primaryPromptC = strdup(Repl.prompt)

/// The interactive loop on GNU readline: line editing, persistent history, multi-line
/// statements ending at `;` with a continuation prompt, Ctrl-C clears the half-typed
/// statement, Ctrl-D on an empty line exits. An error never ends the session.
public final class Repl {
    /// The prompt for a new statement.
    public static let prompt = "cubist> "
    /// The prompt for a continued statement.
    public static let continuation = "   ...> "

    let session: Session
    let quiet: Bool
    /// The last statement entered, for `.edit`.
    private var lastStatement = ""

    /// Creates a REPL over a session.
    public init(session: Session, quiet: Bool) {
        self.session = session
        self.quiet = quiet
    }

    /// Characters that end a word for completion (not `.`, `'` or `$`: `customer.re`,
    /// `'Seo` and `$mo` complete as one word).
    nonisolated(unsafe) static let wordBreaks: UnsafePointer<CChar> = UnsafePointer(strdup(" \t\n(),=<>;*+-/")!)  // safe: strdup of a constant fails only when memory is exhausted

    /// The history file: `$CUBIST_HISTORY`, else `~/.cubist_history`.
    public static var historyPath: String {
        if let path = ProcessInfo.processInfo.environment["CUBIST_HISTORY"], !path.isEmpty { return path }
        return (ProcessInfo.processInfo.environment["HOME"] ?? ".") + "/.cubist_history"
    }

    /// Runs until `.quit` or Ctrl-D.
    public func run() {
        let history = Repl.historyPath
        if !FileManager.default.fileExists(atPath: history) {
            _ = FileManager.default.createFile(atPath: history, contents: nil)
        }
        read_history(history)
        completionCube = session.cube
        cubist_set_completion(complete, Repl.wordBreaks)
        signal(SIGINT) { _ in
            if let running = runningStatement {
                running.cancel()
                return
            }
            interruptedWhileReading = true
            _ = "\n".withCString { write(1, $0, 1) }
            rl_on_new_line()
            rl_replace_line("", 0)
            rl_set_prompt(primaryPromptC)
            rl_redisplay()
        }
        if !quiet {
            let cube = session.cube
            print("Cubist \(CubistVersion.current) — cube '\(cube.name)': \(grouped(cube.facts.rowCount)) facts, \(cube.dimensions.count) dimensions, \(cube.measures.count) measures (\(cube.origin))")
            print("Type .help for help, .stats for the cube's storage, .schema for its model; Ctrl-D to leave.")
        }
        var buffer = ""
        while !session.wantsToQuit {
            interruptedWhileReading = false
            completionCube = session.cube
            guard let raw = readline(buffer.isEmpty ? Repl.prompt : Repl.continuation) else {
                print("")
                break
            }
            // Asked after readline, which has by then read the terminal's size (and follows resizes).
            var rows: Int32 = 0, columns: Int32 = 0
            rl_get_screen_size(&rows, &columns)
            session.width = Int(columns)
            let line = String(cString: raw)
            free(raw)
            if interruptedWhileReading { buffer = "" }
            if buffer.isEmpty {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                if trimmed.lowercased() == ".edit" {
                    edit(history)
                    continue
                }
                if trimmed.hasPrefix(".") {
                    remember(trimmed, history)
                    session.cancellation.reset()
                    runningStatement = session.cancellation
                    session.run(trimmed, file: "<stdin>")
                    runningStatement = nil
                    session.closeScreenDocument()
                    continue
                }
            }
            buffer += line + "\n"
            let (pieces, incomplete) = InputSplitter.split(buffer)
            if !pieces.isEmpty {
                lastStatement = buffer.trimmingCharacters(in: .whitespacesAndNewlines)
                remember(lastStatement, history)
                session.cancellation.reset()
                runningStatement = session.cancellation
                for piece in pieces where !session.wantsToQuit && !session.cancellation.isCancelled {
                    _ = session.execute(piece, file: "<stdin>", sourceText: buffer)
                }
                runningStatement = nil
                session.closeScreenDocument()
                buffer = incomplete.map { $0.text + "\n" } ?? ""
            } else if incomplete == nil {
                buffer = ""  // only comments
            }
        }
        signal(SIGINT, SIG_DFL)
    }

    /// Opens the last statement in `$VISUAL`/`$EDITOR` (default `vi`); when the editor exits
    /// and the file holds something else than before, runs it.
    private func edit(_ history: String) {
        let path = NSTemporaryDirectory() + "/cubist-edit-\(getpid()).cq"
        let before = lastStatement.isEmpty ? "" : lastStatement + "\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(before.utf8)) else {
            session.errors("error: cannot write \(path) for .edit")
            return
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = ProcessInfo.processInfo.environment
        let editor = environment["VISUAL"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["EDITOR"].flatMap { $0.isEmpty ? nil : $0 } ?? "vi"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\(editor) \"$1\"", "sh", path]
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            session.errors("error: cannot start the editor '\(editor)': \(error.localizedDescription)\nhelp: set EDITOR to your editor, e.g. export EDITOR=nano")
            return
        }
        guard process.terminationStatus == 0 else {
            session.errors("error: the editor '\(editor)' exited with status \(process.terminationStatus); nothing was run")
            return
        }
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        guard text != before, !text.isOnlyCommentsAndSpace else { return }
        print(text.trimmingCharacters(in: .whitespacesAndNewlines))
        lastStatement = text.trimmingCharacters(in: .whitespacesAndNewlines)
        remember(lastStatement, history)
        session.cancellation.reset()
        runningStatement = session.cancellation
        session.run(text, file: "<edit>")
        runningStatement = nil
    }

    /// Adds an entry to the history and appends it to the file at once, so a crash loses nothing.
    private func remember(_ entry: String, _ path: String) {
        // The history file is line-based: a multi-line statement is kept as one line.
        let entry = entry.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        add_history(entry)
        append_history(1, path)
    }
}

/// The version printed by `--version` and the banner.
public enum CubistVersion {
    public static let current = "0.1.0"
}
