import CubistCore

/// Finds a CSV file's dialect from a sample of its first records, as DuckDB's sniffer
/// does: every combination of delimiter (`,` `;` tab `|`), quote (`"`, none, `'`) and
/// escape (the quote doubled, or a backslash) the user did not fix is tried; the one that
/// reads the sample without error into more than one field, with the most records at the
/// same number of fields, wins (more fields beat fewer, then a quote that is used beats
/// one that is not, then earlier candidates break ties). Then the decimal separator and the
/// header are judged from the values.
public enum CSVSniffer {
    /// Bytes of the file the dialect is judged from.
    public static let sampleBytes = 256 << 10
    /// Records of the sample looked at.
    public static let sampleRecords = 2_000

    /// The dialect of `data` (UTF-8), with what `options` fix taken as given.
    public static func sniff(_ data: UnsafeBufferPointer<UInt8>, options: CSVOptions) -> CSVDialect {
        var sample = UnsafeBufferPointer(rebasing: data.prefix(sampleBytes))
        if sample.count < data.count, let lastNewline = sample.lastIndex(of: 10) {
            sample = UnsafeBufferPointer(rebasing: sample[...lastNewline])
        }
        let truncated = sample.count < data.count
        let delimiters: [UInt8] = options.delimiter.map { [$0] } ?? [44, 59, 9, 124]
        let quotes: [UInt8?] = options.quote.map { [$0] } ?? [34, nil, 39]
        var best: (dialect: CSVDialect, score: (Int, Int, Int, Int))?
        for quote in quotes {
            let escapes: [UInt8] = options.escape.map { [$0] } ?? (quote.map { [$0, 92] } ?? [34])
            for escape in escapes {
                for delimiter in delimiters {
                    let dialect = CSVDialect(delimiter: delimiter, quote: quote, escape: escape)
                    guard let (counts, quoted) = fieldCounts(sample, dialect, truncated: truncated), !counts.isEmpty else { continue }
                    // Consistent records first, then the share at the most common width, then the width.
                    var widths: [Int: Int] = [:]
                    for c in counts { widths[c, default: 0] += 1 }
                    let (mode, modeCount) = widths.max { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) }!  // safe: counts is not empty
                    // Several columns first (a ragged row must not make a file one column wide),
                    // then the share of records at the common width, the width, used quotes.
                    let score = (mode > 1 ? 1 : 0, modeCount * 1000 / counts.count, mode, quoted)
                    if best == nil || score > best!.score { best = (dialect, score) }  // safe: checked for nil just before
                }
            }
        }
        var dialect = best?.dialect ?? CSVDialect(delimiter: options.delimiter ?? 44, quote: options.quote ?? 34, escape: options.escape ?? 34)
        let records = sampleRecords(sample, dialect)
        dialect.decimalComma = options.decimalComma ?? (dialect.delimiter != 44 && usesDecimalComma(records.dropFirst(), semicolon: dialect.delimiter == 59))
        dialect.header = options.header ?? looksLikeHeader(records, decimalComma: dialect.decimalComma)
        return dialect
    }

    /// The number of fields of each record of the sample and how many fields were quoted, or
    /// nil when the dialect cannot read it (a stray or unterminated quote).
    static func fieldCounts(_ sample: UnsafeBufferPointer<UInt8>, _ dialect: CSVDialect, truncated: Bool) -> ([Int], Int)? {
        let scanner = CSVReader(bytes: sample, file: "", dialect: dialect)
        var counts: [Int] = []
        do {
            while counts.count < sampleRecords, try scanner.next() { counts.append(scanner.fieldCount) }
        } catch {
            // A quoted field cut by the end of the sample is not the dialect's fault.
            if truncated, error.message.hasPrefix("unterminated"), !counts.isEmpty { return (counts, scanner.quotedFields) }
            return nil
        }
        return (counts, scanner.quotedFields)
    }

    /// The sample's first records as byte arrays of their fields.
    static func sampleRecords(_ sample: UnsafeBufferPointer<UInt8>, _ dialect: CSVDialect) -> [[[UInt8]]] {
        let reader = CSVReader(bytes: sample, file: "", dialect: dialect)
        var records: [[[UInt8]]] = []
        while records.count < sampleRecords, (try? reader.next()) == true {
            records.append((0..<reader.fieldCount).map { Array(reader.field($0)) })
        }
        return records
    }

    /// Whether numbers are written `10,5`: some field is a number with a decimal comma and
    /// none is one with a decimal point. `1,234` alone (three digits after the comma could
    /// be a thousands separator) counts for the comma only in a `;`-separated file, where
    /// the comma is not free to group thousands.
    static func usesDecimalComma(_ records: ArraySlice<[[UInt8]]>, semicolon: Bool) -> Bool {
        var comma = 0, ambiguousComma = 0, point = 0
        for record in records {
            for field in record {
                guard let (separator, after) = fractionShape(field) else { continue }
                if separator == 44 {
                    if after == 3 { ambiguousComma += 1 } else { comma += 1 }
                } else if after != 3 {
                    point += 1
                }
            }
        }
        if point > 0 { return false }
        return comma > 0 || (semicolon && ambiguousComma > 0)
    }

    /// For `[-+]digits(.|,)digits` with one separator: the separator and the digits after it.
    private static func fractionShape(_ field: [UInt8]) -> (UInt8, Int)? {
        var bytes = field[...]
        while let f = bytes.first, f == 32 { bytes = bytes.dropFirst() }
        while let l = bytes.last, l == 32 { bytes = bytes.dropLast() }
        if let f = bytes.first, f == 45 || f == 43 { bytes = bytes.dropFirst() }
        var separator: UInt8?, before = 0, after = 0
        for b in bytes {
            if b >= 48 && b <= 57 {
                if separator == nil { before += 1 } else { after += 1 }
            } else if (b == 44 || b == 46), separator == nil {
                separator = b
            } else {
                return nil
            }
        }
        guard let separator, before > 0, after > 0 else { return nil }
        return (separator, after)
    }

    /// Whether the first record names the columns: it does unless, in every column whose
    /// other values are all numbers (or all dates), the first record's value is one too.
    static func looksLikeHeader(_ records: [[[UInt8]]], decimalComma: Bool) -> Bool {
        guard records.count >= 2, let first = records.first else { return true }
        var typedColumns = 0
        for c in first.indices {
            var profile = ColumnProfile()
            for record in records.dropFirst() where c < record.count {
                record[c].withUnsafeBufferPointer { profile.see($0, decimalComma: decimalComma) }
            }
            let isDate = profile.dates.outcome != .none
            guard profile.isNumeric || isDate else { continue }
            typedColumns += 1
            let firstIsTyped = first[c].withUnsafeBufferPointer { field -> Bool in
                if isDate {
                    var d = DateFormat.Detector(profile.dates.remaining)
                    d.see(field)
                    return d.isPossible && d.sawValue
                }
                if case .value = FieldParser.decimal(field, decimalComma: decimalComma) { return true }
                return false
            }
            if !firstIsTyped { return true }
        }
        return typedColumns == 0
    }
}

/// What a column's values have been so far: all numbers (whole, with leading zeros), or all
/// dates in some format. The header sniffer and the ad hoc cube's column typing share it.
struct ColumnProfile {
    /// No value so far was anything but a number or empty.
    private(set) var canBeNumber = true
    /// Every number so far was whole and not negative.
    private(set) var integer = true
    /// Some number was written with a leading zero (`007`).
    private(set) var leadingZeros = false
    /// At least one value was a number.
    private(set) var sawNumber = false
    /// The date formats every value so far fits.
    var dates: DateFormat.Detector

    init(dateFormats: [DateFormat] = DateFormat.detected) {
        dates = DateFormat.Detector(dateFormats)
    }

    /// Numbers in every non-empty value, and at least one.
    var isNumeric: Bool { canBeNumber && sawNumber }

    mutating func see(_ field: UnsafeBufferPointer<UInt8>, decimalComma: Bool) {
        if canBeNumber {
            switch FieldParser.decimal(field, decimalComma: decimalComma) {
            case .value(let mantissa, let scale):
                sawNumber = true
                if scale > 0 || mantissa < 0 { integer = false }
                if !leadingZeros, field.count > 1, field[0] == 48, field[1] >= 48, field[1] <= 57 { leadingZeros = true }
            case .empty: break
            default: canBeNumber = false
            }
        }
        dates.see(field)
    }
}

/// A CSV file made ready to parse: transcoded to UTF-8, with its dialect, and what was
/// detected rather than set.
public struct CSVInput: Sendable {
    /// The text, as UTF-8 (a UTF-8 byte-order mark removed).
    public let bytes: [UInt8]
    /// How its fields are written.
    public let dialect: CSVDialect
    /// The encoding it was read from.
    public let encoding: TextEncoding
    /// The options the user set (the rest was detected).
    public let options: CSVOptions

    /// Bytes of the file looked at to judge its encoding.
    public static let encodingSample = 1 << 20

    /// Reads `raw` (a whole file) with `options`, detecting the encoding and dialect they
    /// leave open.
    public static func prepare(_ raw: [UInt8], options: CSVOptions, file: String) throws(Diagnostic) -> CSVInput {
        var encoding: TextEncoding
        var bomLength = 0
        let bom: TextEncoding?
        if raw.count >= 3, raw[0] == 0xEF, raw[1] == 0xBB, raw[2] == 0xBF {
            bom = .utf8
            bomLength = 3
        } else if raw.count >= 2, raw[0] == 0xFF, raw[1] == 0xFE {
            bom = .utf16le
            bomLength = 2
        } else if raw.count >= 2, raw[0] == 0xFE, raw[1] == 0xFF {
            bom = .utf16be
            bomLength = 2
        } else {
            bom = nil
        }
        if let set = options.encoding {
            encoding = set
            if bom != set { bomLength = 0 }
        } else if let bom {
            encoding = bom
        } else {
            encoding = try detectEncoding(raw, file: file)
        }
        var text = bomLength == 0 ? raw : Array(raw[bomLength...])
        if encoding == .utf8 {
            // A file declared UTF-8 that is not: say where, before any field is read.
            if options.encoding != nil, let bad = UTF8Check.firstInvalid(text[...].prefix(encodingSample), allowCutEnd: text.count > encodingSample) {
                throw notUTF8(text, at: bad, file: file)
            }
        } else {
            text = try Transcoder.utf8(text, from: encoding, file: file)
        }
        let dialect = text.withUnsafeBufferPointer { CSVSniffer.sniff($0, options: options) }
        return CSVInput(bytes: text, dialect: dialect, encoding: encoding, options: options)
    }

    /// UTF-8 when the sample is, UTF-16 when every other byte of an ASCII-heavy sample is
    /// zero, else CP949 when the sample is valid CP949 (the Korean Windows default).
    static func detectEncoding(_ raw: [UInt8], file: String) throws(Diagnostic) -> TextEncoding {
        let sample = raw[...].prefix(encodingSample)
        let firstBad = UTF8Check.firstInvalid(sample, allowCutEnd: raw.count > encodingSample)
        guard let firstBad else { return .utf8 }
        // UTF-16 without a byte-order mark: ASCII text has a zero in every other byte.
        let probe = sample.prefix(4096)
        var evenZeros = 0, oddZeros = 0
        for (i, b) in probe.enumerated() where b == 0 { if i % 2 == 0 { evenZeros += 1 } else { oddZeros += 1 } }
        if probe.count >= 4 {
            if oddZeros * 3 > probe.count, evenZeros == 0 { return .utf16le }
            if evenZeros * 3 > probe.count, oddZeros == 0 { return .utf16be }
        }
        if !probe.contains(0) {
            // Cut the sample at a line end so no character is split.
            var end = sample.endIndex
            if raw.count > encodingSample, let newline = sample.lastIndex(of: 10) { end = newline + 1 }
            if (try? Transcoder.utf8(Array(sample[..<end]), from: .cp949, file: file)) != nil { return .cp949 }
        }
        throw notUTF8(raw, at: firstBad, file: file)
    }

    private static func notUTF8(_ text: [UInt8], at offset: Int, file: String) -> Diagnostic {
        let buffer = text
        return buffer.withUnsafeBufferPointer { b in
            let location = SourceText.location(of: offset, in: b, startingAt: 0, line: 1)
            let shown = text[offset..<min(text.count, offset + 2)].map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            return Diagnostic(file: file, location: location, message: "bytes \(shown) are not valid UTF-8 text (nor UTF-16 or CP949)",
                              help: "set the encoding the file was saved in with --csv encoding=NAME or \"csv\": {\"encoding\": \"NAME\"} in cube.json; Cubist reads utf-8, utf-16, cp949 and euc-kr",
                              sourceLine: SourceText.line(containing: offset, in: b))
        }
    }

    /// What was read how, for `.schema`: e.g. `cp949 (detected), delimiter ';', ...`.
    public var summary: String {
        var parts = [encoding.rawValue]
        parts.append(dialect.summary)
        return parts.joined(separator: ", ")
    }
}

/// UTF-8 validation of bytes.
enum UTF8Check {
    /// The offset of the first byte that does not begin or continue a valid UTF-8
    /// character, or nil; with `allowCutEnd` a character cut by the end is not invalid.
    static func firstInvalid(_ bytes: ArraySlice<UInt8>, allowCutEnd: Bool) -> Int? {
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch b {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            for k in 1..<length {
                guard i + k < end else { return allowCutEnd ? nil : i }
                let c = bytes[i + k]
                if k == 1 {
                    guard c >= low, c <= high else { return i }
                } else {
                    guard c >= 0x80, c <= 0xBF else { return i }
                }
            }
            i += length
        }
        return nil
    }
}
