import CubistCore

/// How the dates of a column are written, as a strftime-like pattern: `%Y` a four-digit
/// year, `%m` a month number (one or two digits), `%d` a day (one or two digits), `%b` a
/// month name (`Jan`, `January`, `Sept`, any case), `%H:%M:%S` a time, `%%` a percent
/// sign; a space matches one or more blanks, other characters themselves.
///
/// Any value may carry a time after its date (`2024-01-31 10:15`, `2024-01-31T10:15:00Z`,
/// `1/31/2024 3:05 PM`): a timestamp belongs to the day it is written on.
public struct DateFormat: Sendable, Equatable, CustomStringConvertible {
    enum Part: Equatable, Sendable {
        case year, month, day, monthName, hour, minute, second
        case literal(UInt8)
        case blanks
    }

    /// A pattern that cannot be a date format.
    public struct PatternError: Error {
        public let message: String
    }

    let parts: [Part]
    /// The pattern as written, e.g. `%m/%d/%Y`.
    public let pattern: String
    /// Whether this is `%Y-%m-%d`, parsed on a fast path.
    let isISO: Bool

    /// Parses a pattern; it must have a year, a month (number or name) and a day.
    public init(pattern: String) throws(PatternError) {
        var parts: [Part] = []
        let bytes = Array(pattern.utf8)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "%") {
                guard i + 1 < bytes.count else { throw PatternError(message: "date_format '\(pattern)' ends with a lone %") }
                switch bytes[i + 1] {
                case UInt8(ascii: "Y"): parts.append(.year)
                case UInt8(ascii: "m"): parts.append(.month)
                case UInt8(ascii: "d"), UInt8(ascii: "e"): parts.append(.day)
                case UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "h"): parts.append(.monthName)
                case UInt8(ascii: "H"): parts.append(.hour)
                case UInt8(ascii: "M"): parts.append(.minute)
                case UInt8(ascii: "S"): parts.append(.second)
                case UInt8(ascii: "%"): parts.append(.literal(c))
                default:
                    throw PatternError(message: "date_format '\(pattern)' has an unknown field %\(Character(Unicode.Scalar(bytes[i + 1]))); "
                                       + "use %Y (year), %m (month), %d (day), %b (month name), %H:%M:%S (time)")
                }
                i += 2
            } else if c == 32 {
                if parts.last != .blanks { parts.append(.blanks) }
                i += 1
            } else {
                parts.append(.literal(c))
                i += 1
            }
        }
        let has = { (p: Part) in parts.contains(p) }
        guard has(.year), has(.month) || has(.monthName), has(.day) else {
            throw PatternError(message: "date_format '\(pattern)' needs a year (%Y), a month (%m or %b) and a day (%d)")
        }
        self.parts = parts
        self.pattern = pattern
        self.isISO = pattern == "%Y-%m-%d"
    }

    public var description: String { pattern }

    /// How the format reads to a person, with an example: `YYYY-MM-DD, e.g. 2024-03-15`.
    public var example: String {
        var shape = "", sample = ""
        for part in parts {
            switch part {
            case .year: shape += "YYYY"; sample += "2024"
            case .month: shape += "MM"; sample += "03"
            case .day: shape += "DD"; sample += "15"
            case .monthName: shape += "Mon"; sample += "Mar"
            case .hour: shape += "hh"; sample += "09"
            case .minute: shape += "mm"; sample += "30"
            case .second: shape += "ss"; sample += "00"
            case .literal(let c): shape.append(Character(Unicode.Scalar(c))); sample.append(Character(Unicode.Scalar(c)))
            case .blanks: shape += " "; sample += " "
            }
        }
        return "\(shape), e.g. \(sample)"
    }

    /// `YYYY-MM-DD`.
    public static let iso = try! DateFormat(pattern: "%Y-%m-%d")  // safe: a fixed, valid pattern

    /// The formats detected without being asked for, in order of preference.
    public static let detected: [DateFormat] = [
        "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%d-%m-%Y",
        "%b %d %Y", "%b %d, %Y", "%d %b %Y", "%d-%b-%Y",
    ].map { try! DateFormat(pattern: $0) }  // safe: fixed, valid patterns

    /// The day `field` names, or why not.
    public func parse(_ field: UnsafeBufferPointer<UInt8>) -> FieldParser.DateResult {
        if isISO, field.count == 10 { return FieldParser.date(field) }
        var start = 0, end = field.count
        while start < end, field[start] == 32 || field[start] == 9 { start += 1 }
        while end > start, field[end - 1] == 32 || field[end - 1] == 9 { end -= 1 }
        if start == end { return .empty }
        var i = start
        var year = -1, month = -1, day = -1
        var explicitTime = false
        @inline(__always) func number(_ most: Int) -> Int? {
            var value = 0, digits = 0
            while i < end, digits < most, field[i] >= 48, field[i] <= 57 {
                value = value * 10 + Int(field[i] - 48)
                digits += 1
                i += 1
            }
            return digits == 0 ? nil : value
        }
        for part in parts {
            switch part {
            case .year:
                let from = i
                guard let y = number(4), i - from == 4 else { return .invalid }
                year = y
            case .month:
                guard let m = number(2) else { return .invalid }
                month = m
            case .day:
                guard let d = number(2) else { return .invalid }
                day = d
            case .monthName:
                guard let m = DateFormat.monthName(field, &i, end) else { return .invalid }
                month = m
            case .hour:
                guard let hour = number(2), hour <= 23 else { return .invalid }
                explicitTime = true
            case .minute, .second:
                guard let v = number(2), v <= (part == .minute ? 59 : 60) else { return .invalid }
            case .literal(let c):
                guard i < end, field[i] == c else { return .invalid }
                i += 1
            case .blanks:
                guard i < end, field[i] == 32 || field[i] == 9 else { return .invalid }
                while i < end, field[i] == 32 || field[i] == 9 { i += 1 }
            }
        }
        if i < end {
            guard !explicitTime, DateFormat.timeTail(field, i, end) else { return .invalid }
        }
        guard year >= 1, month >= 1, month <= 12, day >= 1, day <= CivilDate.daysInMonth(year: year, month: month) else { return .noSuchDay }
        return .day(Int32(CivilDate.dayNumber(year: year, month: month, day: day)))
    }

    private static let monthNames: [[UInt8]] = ["january", "february", "march", "april", "may", "june", "july", "august",
                                                 "september", "october", "november", "december"].map { Array($0.utf8) }

    /// A month name at `i` (three letters, `Sept`, or the full name), advancing past it.
    private static func monthName(_ field: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ end: Int) -> Int? {
        var j = i
        var word: [UInt8] = []
        while j < end, word.count < 10, (field[j] | 0x20) >= 97, (field[j] | 0x20) <= 122 {
            word.append(field[j] | 0x20)
            j += 1
        }
        guard word.count >= 3 else { return nil }
        for (m, name) in monthNames.enumerated() {
            let matches = word == name || word == Array(name.prefix(3)) || (m == 8 && word == Array("sept".utf8))
            if matches {
                i = j
                if i < end, field[i] == UInt8(ascii: ".") { i += 1 }
                return m + 1
            }
        }
        return nil
    }

    /// Whether `field[i..<end]` is a time after a date: `T` or blanks, `H:MM[:SS[.fff]]`, an
    /// optional `AM`/`PM`, and an optional `Z` or UTC offset.
    static func timeTail(_ field: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var i = start
        if field[i] == UInt8(ascii: "T") {
            i += 1
        } else {
            guard field[i] == 32 || field[i] == 9 else { return false }
            while i < end, field[i] == 32 || field[i] == 9 { i += 1 }
        }
        func digits(_ least: Int, _ most: Int) -> Int? {
            var value = 0, n = 0
            while i < end, n < most, field[i] >= 48, field[i] <= 57 {
                value = value * 10 + Int(field[i] - 48)
                n += 1
                i += 1
            }
            return n >= least ? value : nil
        }
        guard let hour = digits(1, 2), hour <= 23, i < end, field[i] == UInt8(ascii: ":") else { return false }
        i += 1
        guard let minute = digits(2, 2), minute <= 59 else { return false }
        if i < end, field[i] == UInt8(ascii: ":") {
            i += 1
            guard let second = digits(2, 2), second <= 60 else { return false }
            if i < end, field[i] == UInt8(ascii: ".") || field[i] == UInt8(ascii: ",") {
                i += 1
                guard digits(1, 9) != nil else { return false }
            }
        }
        var j = i
        while j < end, field[j] == 32 { j += 1 }
        if j + 1 < end, (field[j] | 0x20) == 97 || (field[j] | 0x20) == 112, (field[j + 1] | 0x20) == 109 {
            guard hour >= 1, hour <= 12 else { return false }
            i = j + 2
        }
        if i < end, field[i] == UInt8(ascii: "Z") {
            i += 1
        } else if i < end, field[i] == UInt8(ascii: "+") || field[i] == UInt8(ascii: "-") {
            i += 1
            guard let h = digits(2, 2), h <= 14 else { return false }
            if i < end, field[i] == UInt8(ascii: ":") { i += 1 }
            if i < end { guard digits(2, 2) != nil else { return false } }
        }
        return i == end
    }

    /// Which of the formats parse every non-empty value seen: a set narrowed value by value.
    public struct Detector: Sendable {
        /// The formats still possible.
        public private(set) var remaining: [DateFormat]
        /// Whether a non-empty value was seen.
        public private(set) var sawValue = false

        /// Starts with `formats` (default: every detected format).
        public init(_ formats: [DateFormat] = DateFormat.detected) { remaining = formats }

        /// Whether any format is still possible.
        public var isPossible: Bool { !remaining.isEmpty }

        /// Drops the formats `field` does not parse under (an empty field drops none).
        public mutating func see(_ field: UnsafeBufferPointer<UInt8>) {
            guard !remaining.isEmpty else { return }
            var empty = true
            for b in field where b != 32 && b != 9 {
                empty = false
                break
            }
            if empty { return }
            // Every format starts with a digit or a letter: anything else is not a date.
            sawValue = true
            remaining.removeAll { format in
                if case .day = format.parse(field) { return false }
                return true
            }
        }

        /// The outcome: one format, several (day and month orders both fit), or none.
        public var outcome: Outcome {
            guard sawValue, let first = remaining.first else { return .none }
            if remaining.count == 1 || first.isISO { return .format(first) }
            return .ambiguous(remaining)
        }
    }

    /// What a column's values say about its date format.
    public enum Outcome: Sendable, Equatable {
        case format(DateFormat)
        case ambiguous([DateFormat])
        case none
    }
}
