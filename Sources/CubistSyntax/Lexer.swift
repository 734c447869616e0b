import CubistCore

/// Splits source text into tokens. Never throws: malformed input becomes an `.error` token
/// located at its start (an unterminated string or comment at its opening quote or `/*`).
public struct Lexer {
    private let bytes: [UInt8]
    private var offset = 0
    private var line: Int
    private var lineStart = 0
    private let firstColumn: Int

    /// Creates a lexer over `text`. `line` and `column` give the position of its first
    /// character in the enclosing file (for statements inside a batch file or a model).
    public init(_ text: String, line: Int = 1, column: Int = 1) {
        self.bytes = Array(text.utf8)
        self.line = line
        self.firstColumn = column
    }

    /// All tokens, ending with `.end` (or stopping after the first `.error`).
    public static func tokenize(_ text: String, line: Int = 1, column: Int = 1) -> [Token] {
        var lexer = Lexer(text, line: line, column: column)
        var tokens: [Token] = []
        while true {
            let token = lexer.next()
            tokens.append(token)
            switch token.kind {
            case .end, .error: return tokens
            default: continue
            }
        }
    }

    /// Column bookkeeping: the column at `cachedOffset` on the current line, so computing a
    /// token's column costs only the distance from the previous token (long lines stay linear).
    private var cachedOffset = 0
    private var cachedColumn = 1
    private var cachedLineStart = 0

    private mutating func location(at position: Int) -> SourceLocation {
        if cachedLineStart != lineStart || cachedOffset > position {
            cachedLineStart = lineStart
            cachedOffset = lineStart
            cachedColumn = 1
        }
        var i = cachedOffset
        var column = cachedColumn
        while i < position {
            if bytes[i] & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        cachedOffset = position
        cachedColumn = column
        // Only the first line of the text is shifted by the enclosing column.
        if lineStart == 0 { column += firstColumn - 1 }
        return SourceLocation(line: line, column: column)
    }

    private func peek(_ ahead: Int = 0) -> UInt8? {
        offset + ahead < bytes.count ? bytes[offset + ahead] : nil
    }

    private mutating func advance() {
        if bytes[offset] == UInt8(ascii: "\n") {
            line += 1
            lineStart = offset + 1
        }
        offset += 1
    }

    private func text(_ from: Int, _ to: Int) -> String {
        String(decoding: bytes[from..<to], as: UTF8.self)
    }

    private static func isWordStart(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c >= 0x80
    }

    private static func isWordPart(_ c: UInt8) -> Bool {
        isWordStart(c) || (c >= 48 && c <= 57)
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    /// The next token. The lexical grammar:
    /// comment = "--" , { any character - newline } , newline
    ///   | "/*" , { any character } , "*/" ;        (* unterminated: error at "/*" *)
    /// word = word start , { word start | digit } ;
    /// word start = letter | "_" | non-ASCII character ;
    /// quoted name = '"' , { any character - '"' | '""' } , '"' ;
    /// string = "'" , { any character - "'" | "''" } , "'" ;
    /// number = ( digits , [ "." , digits ] | "." , digits ) , [ ( "e" | "E" ) , [ "+" | "-" ] , digits ] ;
    /// parameter = "$" , word ;
    /// symbol = "," | "." | "(" | ")" | ";" | "*" | "+" | "-" | "/"
    ///   | "=" | "<>" | "!=" | "<" | "<=" | ">" | ">=" ;
    /// digits = digit , { digit } ;
    public mutating func next() -> Token {
        // Skip white space and comments.
        while let c = peek() {
            if c == 32 || c == 9 || c == 10 || c == 13 {
                advance()
            } else if c == UInt8(ascii: "-"), peek(1) == UInt8(ascii: "-") {
                while let d = peek(), d != 10 { advance() }
            } else if c == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
                let start = offset
                let startLocation = location(at: start)
                advance(); advance()
                var closed = false
                while let d = peek() {
                    if d == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") {
                        advance(); advance()
                        closed = true
                        break
                    }
                    advance()
                }
                if !closed {
                    return Token(.error("unterminated comment"), SourceRange(start: start, end: start + 2, location: startLocation))
                }
            } else {
                break
            }
        }
        let start = offset
        let startLocation = location(at: start)
        func range() -> SourceRange { SourceRange(start: start, end: offset, location: startLocation) }
        guard let c = peek() else { return Token(.end, range()) }

        if Lexer.isWordStart(c) {
            while let d = peek(), Lexer.isWordPart(d) { advance() }
            return Token(.word(text(start, offset)), range())
        }
        if Lexer.isDigit(c) || (c == UInt8(ascii: ".") && peek(1).map(Lexer.isDigit) == true) {
            while let d = peek(), Lexer.isDigit(d) { advance() }
            if peek() == UInt8(ascii: "."), peek(1).map(Lexer.isDigit) == true || !(peek(1).map(Lexer.isWordStart) ?? false) {
                advance()
                while let d = peek(), Lexer.isDigit(d) { advance() }
            }
            if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                var ahead = 1
                if let s = peek(1), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { ahead = 2 }
                if peek(ahead).map(Lexer.isDigit) == true {
                    for _ in 0..<ahead { advance() }
                    while let d = peek(), Lexer.isDigit(d) { advance() }
                }
            }
            if let d = peek(), Lexer.isWordStart(d) {
                while let d = peek(), Lexer.isWordPart(d) { advance() }
                return Token(.error("malformed number '\(text(start, offset))'"), range())
            }
            return Token(.number(text(start, offset)), range())
        }
        switch c {
        case UInt8(ascii: "'"):
            advance()
            var value: [UInt8] = []
            while true {
                guard let d = peek() else {
                    return Token(.error("unterminated string"), SourceRange(start: start, end: start + 1, location: startLocation))
                }
                advance()
                if d == UInt8(ascii: "'") {
                    if peek() == UInt8(ascii: "'") { advance(); value.append(d); continue }
                    break
                }
                value.append(d)
            }
            return Token(.string(String(decoding: value, as: UTF8.self)), range())
        case UInt8(ascii: "\""):
            advance()
            var value: [UInt8] = []
            while true {
                guard let d = peek() else {
                    return Token(.error("unterminated quoted name"), SourceRange(start: start, end: start + 1, location: startLocation))
                }
                advance()
                if d == UInt8(ascii: "\"") {
                    if peek() == UInt8(ascii: "\"") { advance(); value.append(d); continue }
                    break
                }
                value.append(d)
            }
            if value.isEmpty { return Token(.error("empty quoted name"), range()) }
            return Token(.quotedName(String(decoding: value, as: UTF8.self)), range())
        case UInt8(ascii: "$"):
            advance()
            guard let d = peek(), Lexer.isWordStart(d) else {
                return Token(.error("expected a parameter name after '$'"), range())
            }
            while let d = peek(), Lexer.isWordPart(d) { advance() }
            return Token(.parameter(text(start + 1, offset)), range())
        case UInt8(ascii: "<"):
            advance()
            if let d = peek(), d == UInt8(ascii: "=") || d == UInt8(ascii: ">") { advance() }
            return Token(.symbol(text(start, offset)), range())
        case UInt8(ascii: ">"):
            advance()
            if peek() == UInt8(ascii: "=") { advance() }
            return Token(.symbol(text(start, offset)), range())
        case UInt8(ascii: "!"):
            advance()
            if peek() == UInt8(ascii: "=") { advance(); return Token(.symbol("<>"), range()) }
            return Token(.error("unexpected character '!'"), range())
        case UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ";"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "="):
            advance()
            return Token(.symbol(text(start, offset)), range())
        default:
            // Consume one whole UTF-8 scalar so the message shows the character.
            advance()
            while let d = peek(), d & 0xC0 == 0x80 { advance() }
            return Token(.error("unexpected character '\(text(start, offset))'"), range())
        }
    }
}
