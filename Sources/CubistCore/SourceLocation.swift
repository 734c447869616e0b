/// A position in a source text: a query, a model file or a CSV file.
///
/// Lines and columns are 1-based; the column counts Unicode scalars from the start of the
/// line, so a caret lines up under the right character in a terminal.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    /// 1-based column, in Unicode scalars.
    public var column: Int

    /// Creates a location.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// A half-open range of a source text, with the location of its first character.
public struct SourceRange: Sendable, Hashable {
    /// Byte offset of the first character.
    public var start: Int
    /// Byte offset just past the last character.
    public var end: Int
    /// Line and column of the first character.
    public var location: SourceLocation

    /// Creates a range.
    public init(start: Int, end: Int, location: SourceLocation) {
        self.start = start
        self.end = end
        self.location = location
    }
}

/// Helpers that turn byte offsets in UTF-8 text into line and column positions.
public enum SourceText {
    /// The 1-based line and column of `offset` in `bytes`, counting Unicode scalars.
    public static func location(of offset: Int, in bytes: UnsafeBufferPointer<UInt8>, startingAt start: Int = 0, line startLine: Int = 1) -> SourceLocation {
        var line = startLine
        var lineStart = start
        var i = start
        let end = min(offset, bytes.count)
        while i < end {
            if bytes[i] == UInt8(ascii: "\n") {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }
        return SourceLocation(line: line, column: scalarCount(bytes, from: lineStart, to: end) + 1)
    }

    /// The text of the line that contains `offset`, without its line terminator.
    public static func line(containing offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard !bytes.isEmpty else { return "" }
        let clamped = max(0, min(offset, bytes.count - 1))
        var start = clamped
        while start > 0 && bytes[start - 1] != UInt8(ascii: "\n") { start -= 1 }
        var end = clamped
        while end < bytes.count && bytes[end] != UInt8(ascii: "\n") && bytes[end] != UInt8(ascii: "\r") { end += 1 }
        if end < start { end = start }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// Number of Unicode scalars in `bytes[from..<to]` (continuation bytes are skipped).
    public static func scalarCount(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int {
        var n = 0
        var i = from
        while i < to {
            if bytes[i] & 0xC0 != 0x80 { n += 1 }
            i += 1
        }
        return n
    }

    /// The line (1-based) of a text, or nil when the text has fewer lines.
    public static func line(_ number: Int, of text: String) -> String? {
        var current = 1
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == number { return String(line.hasSuffix("\r") ? line.dropLast() : line) }
            current += 1
        }
        return nil
    }
}
