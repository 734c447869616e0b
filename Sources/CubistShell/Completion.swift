import CubistCore
import CubistEngine
import CubistFormats
import CubistStore
import CubistSyntax
import Foundation

/// Tab completion for the REPL: what may come at the cursor, given the line so far.
///
/// - a dot command at the start of a line, and its argument (`.schema` dimensions,
///   `.mode` formats);
/// - after `dim.`, the dimension's levels and attributes;
/// - after `level =`, `<>`, `<`, `LIKE`, `BETWEEN`, or inside `level IN (`, the members of
///   that level, quoted;
/// - elsewhere, keywords, measures, dimensions and level names.
public enum Completion {
    /// Keywords offered for completion: every word of the language's vocabulary and the
    /// engine's functions.
    public static var keywords: [String] { Vocabulary.allKeywords + FunctionRegistry.names }

    /// The completions of the word that starts at byte offset `start` of `line` and runs to
    /// the cursor at `end`, each a whole replacement for that word.
    public static func candidates(line: String, start: Int, end: Int, cube: Cube) -> [String] {
        let bytes = Array(line.utf8)
        var s = min(max(0, start), bytes.count)
        let e = min(max(s, end), bytes.count)
        // Inside a quoted member the word runs from its opening quote, whatever readline
        // took for a word break (`'Seoul-`, `'Park Ha`); each candidate then drops the part
        // before readline's word start, since readline replaces only that word.
        var dropped = 0
        if let quote = openQuote(bytes, before: e), quote < s {
            dropped = s - quote
            s = quote
        }
        let found = candidates(bytes: bytes, start: s, end: e, cube: cube)
        guard dropped > 0 else { return found }
        let head = Array(bytes[s..<(s + dropped)])
        return found.compactMap { c in
            let u = Array(c.utf8)
            guard u.count >= dropped, Array(u[0..<dropped]).elementsEqual(head, by: { lower($0) == lower($1) }) else { return nil }
            return String(decoding: u[dropped...], as: UTF8.self)
        }
    }

    private static func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }

    /// The offset of the `'` that opens a string still open at `end`, if any.
    static func openQuote(_ bytes: [UInt8], before end: Int) -> Int? {
        var open: Int?
        var i = 0
        while i < end {
            if bytes[i] == UInt8(ascii: "'") { open = open == nil ? i : nil }
            i += 1
        }
        return open
    }

    private static func candidates(bytes: [UInt8], start s: Int, end e: Int, cube: Cube) -> [String] {
        let before = String(decoding: bytes[..<s], as: UTF8.self)
        let word = String(decoding: bytes[s..<e], as: UTF8.self)
        let trimmedBefore = before.drop { $0 == " " || $0 == "\t" }

        // Dot commands and their arguments.
        if trimmedBefore.isEmpty, word.hasPrefix(".") {
            return matching(word, Session.dotCommands.map(\.name))
        }
        if trimmedBefore.hasPrefix(".") {
            let command = trimmedBefore.split(separator: " ").first.map { String($0).lowercased() } ?? ""
            switch command {
            case ".schema": return matching(word, cube.dimensions.map(\.name))
            case ".mode": return matching(word, OutputFormat.allCases.map(\.rawValue))
            case ".timer": return matching(word, ["on", "off"])
            default: return []
            }
        }
        // Members of the level being compared.
        if let level = comparedLevel(before, cube) {
            let quoted = level.members.map { "'" + $0.replacingAll("'", with: "''") + "'" }
            return matching(word, quoted)
        }
        if word.hasPrefix("'") { return [] }
        // Levels of a dimension after `dim.`.
        if let dot = word.firstIndex(of: "."), let dim = cube.dimension(named: String(word[..<dot])) {
            return matching(word, (dim.levels + dim.attributes).map { "\(dim.name).\($0.name)" })
        }
        var names = cube.measures.map(\.name) + cube.dimensions.map(\.name) + [cube.name]
        var seen = Set(names.map { $0.lowercased() })
        for d in cube.dimensions {
            for l in d.levels + d.attributes where !seen.contains(l.name.lowercased()) {
                names.append(l.name)
                seen.insert(l.name.lowercased())
            }
        }
        let lowercase = word.first.map { $0.isLowercase } ?? false
        // A statement's first word is a statement keyword; later words are clause and other
        // keywords (SELECT again for a sub-select) and functions.
        let atStatementStart = before.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || before.trimmingCharacters(in: .whitespaces).hasSuffix(";")
        let vocabulary = atStatementStart ? Vocabulary.statementKeywords
            : ["SELECT"] + Vocabulary.clauseKeywords + Vocabulary.otherKeywords + FunctionRegistry.names
        let words = vocabulary.map { k in lowercase && k.uppercased() == k ? k.lowercased() : k }
        return matching(word, atStatementStart ? words : names + words)
    }

    private static func matching(_ prefix: String, _ candidates: [String]) -> [String] {
        let p = prefix.lowercased()
        var seen = Set<String>()
        return candidates.filter { $0.lowercased().hasPrefix(p) && seen.insert($0).inserted }
    }

    /// The level on the left of a comparison the cursor is the right side of:
    /// `level =`, `level <> `, `level LIKE`, `level BETWEEN`, `level BETWEEN 'a' AND`,
    /// `level IN (`, `level IN ('a', `.
    static func comparedLevel(_ before: String, _ cube: Cube) -> Level? {
        var tokens = Lexer.tokenize(before).map(\.kind)
        guard tokens.last == .end else { return nil }
        tokens.removeLast()
        var i = tokens.count - 1
        // Inside an IN list: skip the values already written.
        var inList = false
        while i >= 0 {
            if case .string = tokens[i] { i -= 1; continue }
            if case .number = tokens[i] { i -= 1; continue }
            if tokens[i] == .symbol(",") { i -= 1; continue }
            break
        }
        if i >= 1, tokens[i] == .symbol("("), isWord(tokens[i - 1], "in") {
            inList = true
            i -= 2
            if i >= 0, isWord(tokens[i], "not") { i -= 1 }
        }
        if !inList {
            guard i >= 0 else { return nil }
            switch tokens[i] {
            case .symbol(let s) where ["=", "<>", "<", "<=", ">", ">="].contains(s): i -= 1
            case .word(let w) where ["like", "between"].contains(w.lowercased()):
                i -= 1
                if i >= 0, isWord(tokens[i], "not") { i -= 1 }
            case .word(let w) where w.lowercased() == "and":
                // `level BETWEEN 'a' AND |`
                guard i >= 3, isWord(tokens[i - 2], "between") else { return nil }
                i -= 3
                if i >= 0, isWord(tokens[i], "not") { i -= 1 }
            default: return nil
            }
        }
        // The dotted name ending at i.
        var path: [String] = []
        while i >= 0 {
            guard case .word(let w) = tokens[i] else {
                if case .quotedName(let n) = tokens[i] { path.insert(n, at: 0); i -= 1 } else { break }
                if i >= 0, tokens[i] == .symbol(".") { i -= 1; continue }
                break
            }
            path.insert(w, at: 0)
            i -= 1
            if i >= 0, tokens[i] == .symbol(".") { i -= 1 } else { break }
        }
        return level(path, cube)
    }

    private static func isWord(_ kind: TokenKind, _ word: String) -> Bool {
        if case .word(let w) = kind { return w.caseInsensitiveEquals(word) }
        return false
    }

    /// `dim.level`, a level name unique in the cube, or a dimension's coarsest level:
    /// resolved by the binder's rules.
    private static func level(_ path: [String], _ cube: Cube) -> Level? {
        NameResolver.level(path, in: cube)
    }
}
