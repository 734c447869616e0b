import CubistCore
import CubistStore
import CubistSyntax

/// Evaluates a comparison against every member of a level once, giving a mask over the
/// level's members. Order comparisons use the level's natural order, so
/// `time.month BETWEEN '2024-01' AND '2024-06'` and `time.year > 2022` work.
struct MemberSet {
    let level: Level
    /// The level as written, for messages.
    let name: String

    func compare(_ op: ComparisonOperator, _ literal: String, at range: SourceRange, warnings: inout [Diagnostic]) throws(Diagnostic) -> [Bool] {
        let n = level.count
        let equal = codes(equalTo: literal)
        switch op {
        case .equal, .notEqual:
            if equal.isEmpty { warnMissing(literal, at: range, &warnings) }
            var mask = [Bool](repeating: op == .notEqual, count: n)
            for c in equal { mask[c] = op == .equal }
            return mask
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            // Codes below `lower` sort before the literal; codes from `upper` sort after it.
            let lower: Int, upper: Int
            if let first = equal.first, let last = equal.last {
                lower = first
                upper = last + 1
            } else if let p = insertionPoint(literal) {
                lower = p
                upper = p
            } else {
                warnMissing(literal, at: range, &warnings)
                return [Bool](repeating: false, count: n)
            }
            return (0..<n).map { code in
                // A computed attribute's (none) sorts last but is not "after" anything.
                if level.isNone(code) { return false }
                switch op {
                case .less: return code < lower
                case .lessOrEqual: return code < upper
                case .greater: return code >= upper
                default: return code >= lower
                }
            }
        }
    }

    /// The codes of the members equal to `literal`, with a warning when there is none.
    func equalCodes(_ literal: String, at range: SourceRange, warnings: inout [Diagnostic]) -> [Int] {
        let equal = codes(equalTo: literal)
        if equal.isEmpty { warnMissing(literal, at: range, &warnings) }
        return equal
    }

    /// The codes of the members equal to `literal`: a binary search where members sort as
    /// text, else a pass over the members (numeric levels match `2024.0` to `2024`).
    private func codes(equalTo literal: String) -> [Int] {
        if level.order == .text { return Array(level.codes(of: literal)) }
        return (0..<level.count).filter { matches(level.members[$0], literal) }
    }

    /// Whether a member label equals a written value: exactly, or numerically on numeric levels.
    private func matches(_ member: String, _ literal: String) -> Bool {
        if member == literal { return true }
        if level.order == .numeric, let a = FieldParser.decimal(of: member), let b = FieldParser.decimal(of: literal) {
            return a == b
        }
        return false
    }

    /// Where a value that is not a member would sort among the members, when the level's
    /// natural order can place it (numbers, text, ISO dates); nil otherwise.
    private func insertionPoint(_ literal: String) -> Int? {
        var members = level.members[...]
        if let last = members.indices.last, level.isNone(last) { members = members.dropLast() }
        if level.order == .chronological {
            for i in members.indices.dropFirst() where !members[i - 1].utf8.lexicographicallyPrecedes(members[i].utf8) { return nil }
        }
        var lo = 0, hi = members.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if precedes(members[mid], literal) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func precedes(_ a: String, _ b: String) -> Bool {
        if level.order == .numeric, let x = FieldParser.decimal(of: a), let y = FieldParser.decimal(of: b), x != y { return x < y }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    private func warnMissing(_ literal: String, at range: SourceRange, _ warnings: inout [Diagnostic]) {
        // Only the first warnings are shown (the rest are summed up in one line), so only
        // they get a did-you-mean: a long IN list of missing members stays fast.
        let help = level.count <= 100_000 && warnings.count < 5 ? Suggestions.didYouMean(literal, in: level.members) : nil
        warnings.append(Diagnostic.warning("no member '\(literal)' in \(name)", at: range,
                                     help: help ?? "list the members with SHOW MEMBERS \(name)"))
    }
}

/// SQL LIKE: `%` matches any run of characters, `_` exactly one; everything else matches itself.
enum Like {
    /// Whether `text` matches a LIKE pattern (`%` any run, `_` one character); with
    /// `caseInsensitive` (ILIKE), letters match regardless of case (Unicode lower-casing).
    static func matches(_ text: String, pattern: String, caseInsensitive: Bool = false) -> Bool {
        if caseInsensitive { return matches(text.lowercased(), pattern: pattern.lowercased()) }
        let t = Array(text.unicodeScalars), p = Array(pattern.unicodeScalars)
        var i = 0, j = 0
        var star = -1, mark = 0
        while i < t.count {
            if j < p.count, p[j] == "_" || (p[j] != "%" && p[j] == t[i]) {
                i += 1
                j += 1
            } else if j < p.count, p[j] == "%" {
                star = j
                mark = i
                j += 1
            } else if star >= 0 {
                j = star + 1
                mark += 1
                i = mark
            } else {
                return false
            }
        }
        while j < p.count, p[j] == "%" { j += 1 }
        return j == p.count
    }
}
