import CubistCore


/// The kinds of token of the Cubist language.
public enum TokenKind: Sendable, Hashable {
    /// A bare word: a keyword or a name (told apart by the parser, case-insensitively).
    case word(String)
    /// A name in double quotes, `"unit price"`; never a keyword.
    case quotedName(String)
    /// A string in single quotes with `''` escapes, unescaped.
    case string(String)
    /// A number as written: `12`, `3.5`, `1e6`.
    case number(String)
    /// A parameter reference `$name` (the name without `$`).
    case parameter(String)
    /// Punctuation and operators: `, . ( ) ; * + - / = <> != < <= > >=`.
    case symbol(String)
    /// A malformed token; the lexer never throws, it reports here.
    case error(String)
    /// The end of the input.
    case end
}

/// One token with its source range.
public struct Token: Sendable, Hashable {
    /// What the token is.
    public var kind: TokenKind
    /// Where it is.
    public var range: SourceRange

    /// Creates a token.
    public init(_ kind: TokenKind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
    }

    /// True when the token is the bare word `keyword` (case-insensitive).
    public func isKeyword(_ keyword: String) -> Bool {
        if case .word(let w) = kind { return w.caseInsensitiveEquals(keyword) }
        return false
    }

    /// True when the token is the symbol `s`.
    public func isSymbol(_ s: String) -> Bool {
        if case .symbol(let x) = kind { return x == s }
        return false
    }

    /// How the token reads in an error message: `'SELECT'`, `end of input`.
    public var quoted: String {
        switch kind {
        case .word(let w): return "'\(w)'"
        case .quotedName(let n): return "\"\(n)\""
        case .string(let s): return "string '\(s)'"
        case .number(let n): return "number \(n)"
        case .parameter(let p): return "parameter $\(p)"
        case .symbol(let s): return "'\(s)'"
        case .error(let message): return message
        case .end: return "end of input"
        }
    }
}
