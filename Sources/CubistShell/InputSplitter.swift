import CubistCore
import CubistSyntax
import Foundation

/// One piece of input: a statement (ending at `;`) or a dot command (ending at the line end),
/// with the position of its first character in its file.
public struct InputPiece: Sendable, Equatable {
    /// A statement or a dot command.
    public enum Kind: Sendable, Equatable {
        case statement
        case dotCommand
    }

    public var kind: Kind
    /// The text, without the terminating `;` or newline.
    public var text: String
    /// 1-based line of the first character.
    public var line: Int
    /// 1-based column of the first character.
    public var column: Int
    /// Byte offset of the first character in the text that was split.
    public var offset: Int = 0
    /// The `--` comment lines right above the statement, joined by spaces: a batch file's
    /// title for the result (a Markdown heading, a report section, a worksheet name).
    public var leadingComment: String?
}

/// Splits text into statements and dot commands with the language's own lexer, so quotes
/// and comments follow exactly the rules statements are parsed by; each piece keeps its
/// line and column so errors point into the file.
public struct InputSplitter {
    /// Splits complete text. A trailing statement without `;` is returned too (`complete` false).
    /// Splitting may start at byte `offset`, which is at `line` and `column` of the text.
    public static func split(_ text: String, from offset: Int = 0, line: Int = 1, column: Int = 1) -> (pieces: [InputPiece], incomplete: InputPiece?) {
        let bytes = Array(text.utf8)
        var pieces: [InputPiece] = []
        func slice(_ from: Int, _ to: Int) -> String { String(decoding: bytes[from..<to], as: UTF8.self) }
        // The lexer restarts after each dot command, which runs to its line's end whatever
        // it holds; `base` is where the current lexer's text starts.
        var base = min(max(0, offset), bytes.count)
        var lexer = base == 0 ? Lexer(text, line: line, column: column) : Lexer(slice(base, bytes.count), line: line, column: column)
        var start: (offset: Int, location: SourceLocation)?
        // Where the text between the previous piece and the next one starts.
        var gap = base
        // After a `;` the rest of its line (a trailing comment) belongs to that statement.
        var gapMidLine = false
        func comment(before end: Int) -> String? {
            var text = slice(min(gap, end), end)
            if gapMidLine {
                guard let newline = text.firstIndex(of: "\n") else { return nil }
                text = String(text[text.index(after: newline)...])
            }
            return InputSplitter.leadingComment(text)
        }
        while true {
            let token = lexer.next()
            let offset = base + token.range.start
            switch token.kind {
            case .end:
                guard let s = start else { return (pieces, nil) }
                return (pieces, InputPiece(kind: .statement, text: slice(s.offset, bytes.count), line: s.location.line, column: s.location.column,
                                           offset: s.offset, leadingComment: comment(before: s.offset)))
            case .symbol(";"):
                if let s = start {
                    pieces.append(InputPiece(kind: .statement, text: slice(s.offset, offset), line: s.location.line, column: s.location.column,
                                             offset: s.offset, leadingComment: comment(before: s.offset)))
                }
                start = nil
                gap = offset + 1
                gapMidLine = true
            case .symbol(".") where start == nil:
                // A dot command runs to the end of the line.
                var end = offset
                while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
                pieces.append(InputPiece(kind: .dotCommand, text: slice(offset, end).trimmingTrailingSpace(),
                                         line: token.range.location.line, column: token.range.location.column, offset: offset))
                base = min(bytes.count, end + 1)
                gap = base
                gapMidLine = false
                lexer = Lexer(slice(base, bytes.count), line: token.range.location.line + 1, column: 1)
            default:
                if start == nil { start = (offset, token.range.location) }
            }
        }
    }
}

extension InputSplitter {
    /// The last run of `--` comment lines in `gap` (the text before a statement), joined by
    /// spaces without the dashes; nil when the statement has no comment right above it.
    static func leadingComment(_ gap: String) -> String? {
        var lines: [String] = []
        for line in gap.split(separator: "\n", omittingEmptySubsequences: false).reversed() {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("--") {
                lines.append(String(t.dropFirst(2)).trimmingCharacters(in: .whitespaces))
            } else if t.isEmpty, lines.isEmpty {
                continue
            } else {
                break
            }
        }
        let text = lines.reversed().filter { !$0.isEmpty }.joined(separator: " ")
        return text.isEmpty ? nil : text
    }
}

extension String {
    /// True when the text holds nothing but white space and comments (as the lexer reads them).
    var isOnlyCommentsAndSpace: Bool {
        var lexer = Lexer(self)
        if case .end = lexer.next().kind { return true }
        return false
    }
}
