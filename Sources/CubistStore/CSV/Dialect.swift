import CubistCore

/// The text encoding a CSV file is written in. Every encoding is transcoded to UTF-8
/// exactly before parsing; a byte sequence that is invalid in it is a located error.
public enum TextEncoding: String, Sendable, CaseIterable {
    case utf8 = "utf-8"
    case utf16le = "utf-16le"
    case utf16be = "utf-16be"
    /// Korean Windows' code page 949 ("Unified Hangul Code"), a superset of EUC-KR: what
    /// Excel on Korean Windows writes as "CSV".
    case cp949
    case eucKR = "euc-kr"

    /// The name the system's iconv knows the encoding by.
    var iconvName: String {
        switch self {
        case .utf8: return "UTF-8"
        case .utf16le: return "UTF-16LE"
        case .utf16be: return "UTF-16BE"
        case .cp949: return "CP949"
        case .eucKR: return "EUC-KR"
        }
    }

    /// The encoding a user's spelling names (`utf8`, `UTF-16`, `euc_kr`, `uhc`, ...).
    public static func named(_ text: String) -> TextEncoding? {
        let key = text.lowercased().filter { $0 != "-" && $0 != "_" && $0 != " " }
        switch key {
        case "utf8", "utf8bom": return .utf8
        case "utf16", "utf16le", "unicode": return .utf16le
        case "utf16be": return .utf16be
        case "cp949", "uhc", "ms949", "windows949", "mscp949": return .cp949
        case "euckr", "ksc5601": return .eucKR
        default: return nil
        }
    }
}

/// How the fields of a CSV file are written: found by `CSVSniffer` from a sample of the
/// file, or set by the user.
public struct CSVDialect: Sendable, Equatable {
    /// The byte between fields: `,` `;` tab or `|`.
    public var delimiter: UInt8
    /// The byte fields are quoted with, or nil when quotes are ordinary characters.
    public var quote: UInt8?
    /// The byte that escapes a quote inside a quoted field: the quote itself (written
    /// twice, as RFC 4180 has it) or a backslash.
    public var escape: UInt8
    /// Whether numbers are written with a decimal comma (`10,5`); `.` then groups thousands.
    public var decimalComma: Bool
    /// Whether the first record names the columns (else they are `column1`, `column2`, ...).
    public var header: Bool

    /// Creates a dialect.
    public init(delimiter: UInt8 = UInt8(ascii: ","), quote: UInt8? = UInt8(ascii: "\""), escape: UInt8 = UInt8(ascii: "\""),
                decimalComma: Bool = false, header: Bool = true) {
        self.delimiter = delimiter
        self.quote = quote
        self.escape = escape
        self.decimalComma = decimalComma
        self.header = header
    }

    /// RFC 4180: commas, double quotes doubled inside quoted fields, a header.
    public static let standard = CSVDialect()

    /// How a byte is written in messages and `.schema`.
    static func shown(_ byte: UInt8) -> String {
        switch byte {
        case 9: return "tab"
        case 32: return "space"
        default: return "'" + String(Character(Unicode.Scalar(byte))) + "'"
        }
    }

    /// A short description, e.g. `delimiter ';', decimal comma, quote '"'`.
    public var summary: String {
        var parts = ["delimiter \(CSVDialect.shown(delimiter))"]
        if let quote {
            parts.append("quote \(CSVDialect.shown(quote))" + (escape == quote ? "" : ", escape \(CSVDialect.shown(escape))"))
        } else {
            parts.append("no quoting")
        }
        parts.append(decimalComma ? "decimal comma" : "decimal point")
        parts.append(header ? "header" : "no header")
        return parts.joined(separator: ", ")
    }
}

/// What a user set about how to read CSV files (`"csv"` in `cube.json`, or options on the
/// command line); what is not set is detected from the file.
public struct CSVOptions: Sendable, Equatable {
    public var delimiter: UInt8?
    /// `.some(nil)`: no quoting at all.
    public var quote: UInt8??
    public var escape: UInt8?
    public var decimalComma: Bool?
    public var encoding: TextEncoding?
    public var dateFormat: DateFormat?
    public var header: Bool?

    /// No options: everything is detected.
    public init() {}

    /// The option keys, as `cube.json` and `--csv KEY=VALUE` spell them.
    public static let keys = ["delimiter", "quote", "escape", "decimal", "encoding", "date_format", "header"]

    /// Sets option `key` from its text; a bad key or value is a message saying what is
    /// allowed (the caller locates it).
    public mutating func set(_ key: String, _ value: String) -> String? {
        func single(_ what: String) -> (UInt8?, String?) {
            switch value.lowercased() {
            case "tab", "\\t", "\t": return (9, nil)
            case "comma": return (UInt8(ascii: ","), nil)
            case "semicolon": return (UInt8(ascii: ";"), nil)
            case "pipe": return (UInt8(ascii: "|"), nil)
            default: break
            }
            let bytes = Array(value.utf8)
            guard bytes.count == 1, bytes[0] >= 32, bytes[0] < 127, bytes[0] != 10, bytes[0] != 13 else {
                return (nil, "\(what) must be one ASCII character (or tab), got '\(value)'")
            }
            return (bytes[0], nil)
        }
        switch key.lowercased() {
        case "delimiter", "delim", "separator", "sep":
            let (byte, problem) = single("the delimiter")
            if let problem { return problem }
            delimiter = byte
        case "quote":
            if value.isEmpty || value.lowercased() == "none" {
                quote = .some(nil)
            } else {
                let (byte, problem) = single("the quote")
                if let problem { return problem }
                quote = .some(byte)
            }
        case "escape":
            let (byte, problem) = single("the escape")
            if let problem { return problem }
            escape = byte
        case "decimal", "decimal_separator":
            switch value {
            case ".": decimalComma = false
            case ",": decimalComma = true
            default: return "decimal must be \".\" or \",\", got '\(value)'"
            }
        case "encoding":
            guard let e = TextEncoding.named(value) else {
                return "unknown encoding '\(value)'; Cubist reads utf-8, utf-16 (with a byte-order mark), utf-16le, utf-16be, cp949 and euc-kr"
            }
            encoding = e
        case "date_format", "dateformat":
            do {
                dateFormat = try DateFormat(pattern: value)
            } catch {
                return error.message
            }
        case "header":
            switch value.lowercased() {
            case "true", "yes", "1", "on": header = true
            case "false", "no", "0", "off": header = false
            default: return "header must be true or false, got '\(value)'"
            }
        default:
            return "unknown CSV option '\(key)'; " + (Suggestions.didYouMean(key, in: CSVOptions.keys).map { $0 + " " } ?? "")
                + "the options are: " + CSVOptions.keys.joined(separator: ", ")
        }
        return nil
    }

    /// These options with `other`'s set ones taking precedence.
    public func overridden(by other: CSVOptions) -> CSVOptions {
        var result = self
        if let v = other.delimiter { result.delimiter = v }
        if let v = other.quote { result.quote = v }
        if let v = other.escape { result.escape = v }
        if let v = other.decimalComma { result.decimalComma = v }
        if let v = other.encoding { result.encoding = v }
        if let v = other.dateFormat { result.dateFormat = v }
        if let v = other.header { result.header = v }
        return result
    }

    /// Whether nothing is set.
    public var isEmpty: Bool { self == CSVOptions() }
}
