/// "Did you mean" suggestions for misspelled names.
public enum Suggestions {
    /// The candidate nearest to `name` by edit distance (case-insensitive), if it is close
    /// enough to be a plausible typo.
    public static func nearest(to name: String, in candidates: some Sequence<String>) -> String? {
        let target = Array(name.lowercased().unicodeScalars)
        let limit = target.count <= 2 ? 1 : max(2, target.count / 3)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            // A length difference beyond the limit is already too far: skip the distance.
            let length = candidate.unicodeScalars.count
            guard abs(length - target.count) <= limit else { continue }
            let d = editDistance(target, Array(candidate.lowercased().unicodeScalars))
            if d <= limit, d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        return best?.candidate
    }

    /// A `did you mean 'x'?` phrase, or nil when nothing is near.
    public static func didYouMean(_ name: String, in candidates: some Sequence<String>) -> String? {
        nearest(to: name, in: candidates).map { "did you mean '\($0)'?" }
    }

    /// Levenshtein distance between two scalar arrays.
    public static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension String {
    /// Case-insensitive equality for keywords and names: ASCII letters compare without
    /// allocating; anything else through `lowercased()`.
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        if self == other { return true }
        let a = utf8, b = other.utf8
        if a.allSatisfy({ $0 < 0x80 }) && b.allSatisfy({ $0 < 0x80 }) {
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where x != y {
                let lx = (x >= 65 && x <= 90) ? x + 32 : x
                let ly = (y >= 65 && y <= 90) ? y + 32 : y
                if lx != ly { return false }
            }
            return true
        }
        return lowercased() == other.lowercased()
    }
}

extension String {
    /// Every occurrence of `target` replaced with `replacement`.
    public func replacingAll(_ target: Character, with replacement: String) -> String {
        var s = ""
        for c in self {
            if c == target { s += replacement } else { s.append(c) }
        }
        return s
    }

    /// The text without trailing spaces, tabs and carriage returns.
    public func trimmingTrailingSpace() -> String {
        // Bytes, not Characters: dropping one Character at a time measured the whole
        // string each time, so a line ending in thousands of blanks took quadratic time.
        let bytes = utf8
        var end = bytes.endIndex
        while end > bytes.startIndex {
            let before = bytes.index(before: end)
            let b = bytes[before]
            guard b == 32 || b == 9 || b == 13 else { break }
            end = before
        }
        return end == bytes.endIndex ? self : String(self[..<end])
    }
}
