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
}

/// Splits text into statements and dot commands, respecting quotes and comments, and
/// keeping each piece's line and column so errors point into the file.
public struct InputSplitter {
    /// Splits complete text. A trailing statement without `;` is returned too (`complete` false).
    public static func split(_ text: String) -> (pieces: [InputPiece], incomplete: InputPiece?) {
        var pieces: [InputPiece] = []
        let scalars = Array(text.unicodeScalars)
        var i = 0
        var line = 1, column = 1
        var start: (index: Int, line: Int, column: Int)?
        var current = String.UnicodeScalarView()

        func advance() {
            if scalars[i] == "\n" { line += 1; column = 1 } else { column += 1 }
            i += 1
        }
        while i < scalars.count {
            let c = scalars[i]
            if start == nil {
                if c == " " || c == "\t" || c == "\n" || c == "\r" { advance(); continue }
                // Comments between statements belong to none, so a dot command on the next
                // line is still at the start of its line.
                if c == "-", i + 1 < scalars.count, scalars[i + 1] == "-" {
                    while i < scalars.count, scalars[i] != "\n" { advance() }
                    continue
                }
                if c == "/", i + 1 < scalars.count, scalars[i + 1] == "*",
                   let close = (i + 2..<max(i + 2, scalars.count - 1)).first(where: { scalars[$0] == "*" && scalars[$0 + 1] == "/" }) {
                    while i < close + 2 { advance() }
                    continue
                }
                if c == "." {
                    // A dot command runs to the end of the line.
                    let (l, col) = (line, column)
                    var text = String.UnicodeScalarView()
                    while i < scalars.count, scalars[i] != "\n" {
                        text.append(scalars[i])
                        advance()
                    }
                    pieces.append(InputPiece(kind: .dotCommand, text: String(text).trimmingTrailingSpace(), line: l, column: col))
                    continue
                }
                start = (i, line, column)
                current = String.UnicodeScalarView()
            }
            if c == "'" || c == "\"" {
                current.append(c)
                advance()
                while i < scalars.count {
                    let d = scalars[i]
                    current.append(d)
                    advance()
                    if d == c { break }
                }
                continue
            }
            if c == "-", i + 1 < scalars.count, scalars[i + 1] == "-" {
                while i < scalars.count, scalars[i] != "\n" { current.append(scalars[i]); advance() }
                continue
            }
            if c == "/", i + 1 < scalars.count, scalars[i + 1] == "*" {
                current.append(c); advance()
                current.append(scalars[i]); advance()
                while i < scalars.count {
                    if scalars[i] == "*", i + 1 < scalars.count, scalars[i + 1] == "/" {
                        current.append("*"); advance()
                        current.append("/"); advance()
                        break
                    }
                    current.append(scalars[i]); advance()
                }
                continue
            }
            if c == ";" {
                if let s = start {
                    pieces.append(InputPiece(kind: .statement, text: String(current), line: s.line, column: s.column))
                }
                start = nil
                advance()
                continue
            }
            current.append(c)
            advance()
        }
        var incomplete: InputPiece?
        if let s = start {
            let text = String(current)
            if !text.isOnlyCommentsAndSpace {
                incomplete = InputPiece(kind: .statement, text: text, line: s.line, column: s.column)
            }
        }
        return (pieces, incomplete)
    }
}

extension String {
    /// True when the text holds nothing but white space and comments.
    var isOnlyCommentsAndSpace: Bool {
        var rest = Substring(self)
        while !rest.isEmpty {
            if let first = rest.first, first.isWhitespace {
                rest = rest.dropFirst()
            } else if rest.hasPrefix("--") {
                rest = rest.drop { $0 != "\n" }
            } else if rest.hasPrefix("/*"), let end = rest.range(of: "*/") {
                rest = rest[end.upperBound...]
            } else {
                return false
            }
        }
        return true
    }
}
