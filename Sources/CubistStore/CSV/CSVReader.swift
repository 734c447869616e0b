import CubistCore

/// The bytes that delimit, quote and escape fields; the reader's loop is specialised for
/// RFC 4180, where they are constants.
private protocol SpecialBytes {
    var delimiter: UInt8 { get }
    var quote: UInt8 { get }
    var quoting: Bool { get }
    var escape: UInt8 { get }
}

private struct StandardBytes: SpecialBytes {
    var delimiter: UInt8 { 44 }
    var quote: UInt8 { 34 }
    var quoting: Bool { true }
    var escape: UInt8 { 34 }
}

private struct DialectBytes: SpecialBytes {
    let delimiter: UInt8
    let quote: UInt8
    let quoting: Bool
    let escape: UInt8
}

/// A strict CSV reader over UTF-8 bytes in a `CSVDialect` (RFC 4180 by default): quoted
/// fields, `""` or backslash escapes, embedded newlines, LF or CRLF line ends, an optional
/// UTF-8 byte-order mark. Blank lines are skipped.
///
/// Fields are handed out as byte buffers without allocating per field; only quoted fields
/// with escapes are copied, into a scratch buffer reused across records.
public final class CSVReader {
    private let base: UnsafePointer<UInt8>
    private let count: Int
    /// The file name used in diagnostics.
    public let file: String
    private var position: Int
    private var line = 1
    private let delimiter: UInt8
    private let quoting: Bool
    private let quote: UInt8
    private let escape: UInt8

    /// Where a field of the current record is: bytes `start..<end` of the input, or of the
    /// scratch buffer when it was unescaped there; `source` is its first byte in the input.
    private struct Span {
        var start: Int
        var end: Int
        var source: Int
        var inScratch: Bool
    }

    /// The current record's fields, in storage reused across records (no per-field
    /// allocation or uniqueness checks in the hot loop).
    private var spans: UnsafeMutablePointer<Span>
    private var spanCapacity = 64
    private var spanCount = 0
    private var scratch: UnsafeMutablePointer<UInt8>
    private var scratchCapacity = 4096
    private var scratchCount = 0

    /// Offset of the current record's first byte (always at a line start).
    public private(set) var recordStart = 0
    /// Line number of the current record's first line.
    public private(set) var recordLine = 0
    /// Number of fields in the current record.
    public var fieldCount: Int { spanCount }
    /// Quoted fields read so far (the sniffer prefers a quote that is used).
    public private(set) var quotedFields = 0

    /// Creates a reader. `bytes` must stay alive and unchanged while the reader is used.
    public init(bytes: UnsafeBufferPointer<UInt8>, file: String, dialect: CSVDialect = .standard) {
        self.delimiter = dialect.delimiter
        self.quoting = dialect.quote != nil
        self.quote = dialect.quote ?? 0
        self.escape = dialect.escape
        self.base = bytes.baseAddress ?? UnsafePointer(CSVReader.emptyInput)
        self.count = bytes.count
        self.file = file
        var start = 0
        if count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        self.position = start
        self.scratch = .allocate(capacity: scratchCapacity)
        self.spans = .allocate(capacity: spanCapacity)
    }

    deinit {
        scratch.deallocate()
        spans.deallocate()
    }

    /// Moves the first `count` values of `storage` into storage twice as large.
    private static func double<T>(_ storage: inout UnsafeMutablePointer<T>, _ capacity: inout Int, keeping count: Int) {
        let bigger = UnsafeMutablePointer<T>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity *= 2
    }

    @inline(__always)
    private func appendSpan(_ span: Span) {
        if spanCount == spanCapacity { CSVReader.double(&spans, &spanCapacity, keeping: spanCount) }
        (spans + spanCount).initialize(to: span)
        spanCount += 1
    }

    /// A valid address for empty input (never read: `count` is 0).
    nonisolated(unsafe) private static let emptyInput = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

    /// The whole input as a buffer.
    public var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// Field `i` of the current record, unescaped.
    @inline(__always)
    public func field(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        precondition(i >= 0 && i < spanCount, "field index out of range")  // safe: field indices come from the reader, never from input
        let span = spans[i]
        return UnsafeBufferPointer(start: (span.inScratch ? UnsafePointer(scratch) : base) + span.start, count: span.end - span.start)
    }

    /// Field `i` decoded as text; invalid UTF-8 is an error at the field.
    public func string(_ i: Int) throws(Diagnostic) -> String {
        let bytes = field(i)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw error(at: i, "field is not valid UTF-8 text",
                        help: "name the file's encoding with --csv encoding=cp949 (or utf-16le, euc-kr), or \"encoding\" in the model's \"csv\" options")
        }
        return text
    }

    /// The source location of field `i` (its first character, or its opening quote).
    public func location(ofField i: Int) -> SourceLocation {
        SourceText.location(of: sourceOffset(ofField: i), in: buffer, startingAt: recordStart, line: recordLine)
    }


    private func sourceOffset(ofField i: Int) -> Int {
        i < spanCount ? spans[i].source : recordStart
    }

    /// A located error about field `i` of the current record.
    public func error(at i: Int, _ message: String, help: String? = nil) -> Diagnostic {
        let offset = sourceOffset(ofField: i)
        let span = max(1, SourceText.scalarCount(buffer, from: offset, to: min(count, offset + max(1, (i < spanCount ? spans[i].end - spans[i].start : 1)))))
        return Diagnostic(file: file, location: location(ofField: i), message: message, help: help,
                          sourceLine: SourceText.line(containing: offset, in: buffer), span: min(span, 40))
    }

    /// A located error at the end of the current record (e.g. a missing field).
    public func errorAtRecordEnd(_ message: String, help: String? = nil) -> Diagnostic {
        var end = position
        while end > recordStart, end - 1 < count, base[end - 1] == 10 || base[end - 1] == 13 { end -= 1 }
        let location = SourceText.location(of: end, in: buffer, startingAt: recordStart, line: recordLine)
        return Diagnostic(file: file, location: location, message: message, help: help,
                          sourceLine: SourceText.line(containing: max(recordStart, end - 1), in: buffer))
    }

    private func errorAtOffset(_ offset: Int, _ message: String, help: String?) -> Diagnostic {
        let location = SourceText.location(of: offset, in: buffer, startingAt: recordStart, line: recordLine)
        return Diagnostic(file: file, location: location, message: message, help: help,
                          sourceLine: SourceText.line(containing: offset, in: buffer))
    }

    /// How a quote is written inside a quoted field, in this dialect.
    private var quoteHelp: String {
        escape == quote ? "a quote inside a quoted field is written twice (\"\")" : "a quote inside a quoted field is escaped with \(CSVDialect.shown(escape))"
    }

    private func appendScratch(_ byte: UInt8) {
        if scratchCount == scratchCapacity { CSVReader.double(&scratch, &scratchCapacity, keeping: scratchCount) }
        scratch[scratchCount] = byte
        scratchCount += 1
    }

    /// Bytes consumed so far (for progress).
    public var bytesRead: Int { position }

    /// Goes back to the start of the current record, so the next `next()` reads it again
    /// (a first record that is data, not a header).
    public func rewindRecord() {
        position = recordStart
        line = recordLine
    }

    /// Reads the next record. Returns false at the end of the input.
    public func next() throws(Diagnostic) -> Bool {
        // RFC 4180, the common case, gets its own copy of the loop with the bytes as constants.
        if delimiter == 44, quoting, quote == 34, escape == 34 { return try read(StandardBytes()) }
        return try read(DialectBytes(delimiter: delimiter, quote: quote, quoting: quoting, escape: escape))
    }

    private func read<B: SpecialBytes>(_ bytes: B) throws(Diagnostic) -> Bool {
        let delimiter = bytes.delimiter, quote = bytes.quote, quoting = bytes.quoting, escape = bytes.escape
        spanCount = 0
        scratchCount = 0
        // Skip blank lines.
        while position < count {
            let c = base[position]
            if c == 10 {
                position += 1
                line += 1
            } else if c == 13 {
                position += 1
                if position < count, base[position] == 10 { position += 1 }
                line += 1
            } else {
                break
            }
        }
        guard position < count else { return false }
        recordStart = position
        recordLine = line
        while true {
            let source = position
            if quoting, position < count, base[position] == quote {
                let opening = position
                quotedFields &+= 1
                position += 1
                let start = scratchCount
                var closed = false
                while position < count {
                    let c = base[position]
                    if c == escape, escape != quote, position + 1 < count {
                        appendScratch(base[position + 1])
                        if base[position + 1] == 10 { line += 1 }
                        position += 2
                        continue
                    }
                    if c == quote {
                        if escape == quote, position + 1 < count, base[position + 1] == quote {
                            appendScratch(c)
                            position += 2
                            continue
                        }
                        position += 1
                        closed = true
                        break
                    }
                    if c == 10 { line += 1 }
                    appendScratch(c)
                    position += 1
                }
                guard closed else {
                    throw errorAtOffset(opening, "unterminated quoted field", help: "close the field with a quote; " + quoteHelp)
                }
                appendSpan(Span(start: start, end: scratchCount, source: source, inScratch: true))
                if position < count {
                    let c = base[position]
                    if c != delimiter, c != 10, c != 13 {
                        throw errorAtOffset(position, "expected \(CSVDialect.shown(delimiter)) or a line end after a closing quote, found '\(Character(Unicode.Scalar(c)))'",
                                            help: quoteHelp)
                    }
                }
            } else {
                let start = position
                while position < count {
                    let c = base[position]
                    if c == delimiter || c == 10 || c == 13 { break }
                    if quoting, c == quote {
                        throw errorAtOffset(position, "stray quote in an unquoted field",
                                            help: "quote the whole field and write the quote twice, e.g. \"5\"\" screen\"; or read the file without quoting: --csv quote=none")
                    }
                    position += 1
                }
                appendSpan(Span(start: start, end: position, source: source, inScratch: false))
            }
            if position >= count { return true }
            let c = base[position]
            if c == delimiter {
                position += 1
                continue
            }
            // Line end.
            position += 1
            if c == 13, position < count, base[position] == 10 { position += 1 }
            line += 1
            return true
        }
    }
}
