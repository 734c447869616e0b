/// Parsing of numbers and dates straight from field bytes.
public enum FieldParser {
    /// The outcome of parsing a decimal number.
    public enum DecimalResult: Equatable {
        /// `mantissa / 10^scale`.
        case value(mantissa: Int64, scale: Int)
        /// An empty (or all-blank) field: null.
        case empty
        /// Not a number.
        case invalid
        /// Looks like `1,234.50` (or `1.234,50` with a decimal comma): thousands separators.
        case thousands
        /// Too large, or more decimal places than can be kept exactly.
        case outOfRange
    }

    /// The largest number of decimal places kept exactly.
    public static let maximumScale = 9

    /// Powers of ten that fit in Int64.
    public static let powersOfTen: [Int64] = (0...18).map { n in (0..<n).reduce(Int64(1)) { acc, _ in acc * 10 } }

    /// Parses `[-+]digits[.digits][e[-+]digits]`, allowing blanks around it; with
    /// `decimalComma` the fraction follows a comma (`10,5`) and `.` groups thousands.
    public static func decimal(_ field: UnsafeBufferPointer<UInt8>, decimalComma: Bool = false) -> DecimalResult {
        // Each separator pair gets its own copy of the parser, with the bytes as constants.
        decimalComma ? decimal(field, point: 44, group: 46) : decimal(field, point: 46, group: 44)
    }

    @inline(__always)
    private static func decimal(_ field: UnsafeBufferPointer<UInt8>, point: UInt8, group: UInt8) -> DecimalResult {
        var i = 0
        var end = field.count
        while i < end, field[i] == 32 || field[i] == 9 { i += 1 }
        while end > i, field[end - 1] == 32 || field[end - 1] == 9 { end -= 1 }
        if i == end { return .empty }
        var negative = false
        if field[i] == UInt8(ascii: "-") || field[i] == UInt8(ascii: "+") {
            negative = field[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa: Int64 = 0
        var digits = 0
        var scale = 0
        var overflow = false
        var sawComma = false
        func push(_ d: UInt8) {
            let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(Int64(d))
            if o1 || o2 { overflow = true } else { mantissa = m2 }
        }
        while i < end, (field[i] >= 48 && field[i] <= 57) || field[i] == group {
            if field[i] == group { sawComma = true } else { push(field[i] - 48); digits += 1 }
            i += 1
        }
        if i < end, field[i] == point {
            i += 1
            while i < end, field[i] >= 48 && field[i] <= 57 {
                push(field[i] - 48)
                digits += 1
                scale += 1
                i += 1
            }
        }
        guard digits > 0 else { return .invalid }
        if i < end, field[i] == UInt8(ascii: "e") || field[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < end, field[i] == UInt8(ascii: "-") || field[i] == UInt8(ascii: "+") {
                expNegative = field[i] == UInt8(ascii: "-")
                i += 1
            }
            var exponent = 0
            var expDigits = 0
            while i < end, field[i] >= 48 && field[i] <= 57 {
                exponent = min(exponent * 10 + Int(field[i] - 48), 10_000)
                expDigits += 1
                i += 1
            }
            guard expDigits > 0 else { return .invalid }
            scale += expNegative ? exponent : -exponent
        }
        guard i == end else { return .invalid }
        if sawComma { return .thousands }
        if overflow { return .outOfRange }
        // Drop trailing zeros of the fraction, so 1.50 and 1.5 have the same scale.
        while scale > 0, mantissa % 10 == 0 {
            mantissa /= 10
            scale -= 1
        }
        if scale < 0 {
            guard -scale <= 18 else { return mantissa == 0 ? .value(mantissa: 0, scale: 0) : .outOfRange }
            let (m, o) = mantissa.multipliedReportingOverflow(by: powersOfTen[-scale])
            if o { return .outOfRange }
            mantissa = m
            scale = 0
        }
        if scale > maximumScale { return .outOfRange }
        return .value(mantissa: negative ? -mantissa : mantissa, scale: scale)
    }

    /// The exact value of `text` when it is a decimal number, else nil.
    public static func decimal(of text: String) -> ScaledDecimal? {
        var text = text
        return text.withUTF8 { bytes in
            if case .value(let m, let s) = decimal(bytes) { return ScaledDecimal(mantissa: m, scale: s) }
            return nil
        }
    }

    /// The outcome of parsing a `YYYY-MM-DD` date.
    public enum DateResult: Equatable {
        /// Days since 1970-01-01.
        case day(Int32)
        /// An empty field.
        case empty
        /// Not in `YYYY-MM-DD` form.
        case invalid
        /// The right form but no such day, like `2024-02-30`.
        case noSuchDay
    }

    /// Parses an ISO date `YYYY-MM-DD`.
    public static func date(_ field: UnsafeBufferPointer<UInt8>) -> DateResult {
        if field.isEmpty { return .empty }
        guard field.count == 10, field[4] == UInt8(ascii: "-"), field[7] == UInt8(ascii: "-") else { return .invalid }
        @inline(__always) func digits(_ from: Int, _ to: Int) -> Int? {
            var value = 0
            for i in from..<to {
                let c = field[i]
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            return value
        }
        guard let y = digits(0, 4), let m = digits(5, 7), let d = digits(8, 10) else { return .invalid }
        guard y >= 1, m >= 1, m <= 12, d >= 1, d <= CivilDate.daysInMonth(year: y, month: m) else { return .noSuchDay }
        return .day(Int32(CivilDate.dayNumber(year: y, month: m, day: d)))
    }
}

/// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01).
public enum CivilDate {
    /// Whether `year` is a leap year.
    public static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    /// Days in a month.
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a civil date.
    public static func dayNumber(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The civil date of a day number.
    public static func civil(_ dayNumber: Int) -> (year: Int, month: Int, day: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Weekday of a day number, 0 = Monday … 6 = Sunday.
    public static func weekday(_ dayNumber: Int) -> Int {
        ((dayNumber % 7 + 7) % 7 + 3) % 7
    }

    /// The `YYYY-MM-DD` text of a day number.
    public static func isoDate(_ dayNumber: Int) -> String {
        let (y, m, d) = civil(dayNumber)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
    }

    /// Zero-padded decimal text.
    public static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
