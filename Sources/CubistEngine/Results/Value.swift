import CubistStore

/// One cell of a query result.
///
/// Sums, counts and arithmetic on them stay exact (`exact`: an integer mantissa and a
/// count of decimal places); a division, an average or a ratio is a `double`. Null stands
/// for "no value": an empty group, a division by zero, a missing previous period.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    /// No value.
    case null
    /// An exact decimal `mantissa / 10^scale`.
    case exact(Int128, scale: Int)
    /// A floating-point number (ratios, averages, divisions).
    case double(Double)
    /// Text: a member label.
    case text(String)

    /// An exact integer.
    public static func integer(_ n: Int) -> Value { .exact(Int128(n), scale: 0) }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value as a Double, for numbers.
    public var doubleValue: Double? {
        switch self {
        case .exact(let m, let s): return Double(m) / Value.power(s)
        case .double(let d): return d
        case .null, .text: return nil
        }
    }

    /// Full-precision plain text: `1234.50`, `0.125`, a label; empty for null.
    public var description: String {
        switch self {
        case .null: return ""
        case .text(let t): return t
        case .double(let d): return Value.shortest(d)
        case .exact(let m, let s): return Value.exactText(m, scale: s)
        }
    }

    /// `m / 10^s` as plain decimal text with exactly `s` fraction digits.
    static func exactText(_ m: Int128, scale s: Int) -> String {
        if s <= 0 { return String(m) }
        let digits = String(m.magnitude)
        let padded = digits.count <= s ? String(repeating: "0", count: s - digits.count + 1) + digits : digits
        let cut = padded.index(padded.endIndex, offsetBy: -s)
        return (m < 0 ? "-" : "") + padded[..<cut] + "." + padded[cut...]
    }

    /// The shortest text that reads back as the same Double, without exponent for ordinary magnitudes.
    static func shortest(_ d: Double) -> String {
        if d.isNaN || d.isInfinite { return String(d) }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    /// `10^s` as a Double.
    public static func powerOfTen(_ s: Int) -> Double { power(s) }

    /// The mean of `count` values summing to `total / 10^scale`, rounded once (the nearest
    /// Double to the exact quotient) when the sum and the divisor are exact in a Double.
    static func average<T: BinaryInteger>(_ total: T, count: Int, scale: Int) -> Double {
        let divisor = Double(count) * power(scale)
        if total.magnitude < 1 << 53, divisor < 0x1p53 { return Double(total) / divisor }
        return Double(total) / Double(count) / power(scale)
    }

    /// `10^s` as a 128-bit integer.
    public static func powerOfTen128(_ s: Int) -> Int128 { power128(s) }

    static func power(_ s: Int) -> Double {
        var p = 1.0
        for _ in 0..<max(0, s) { p *= 10 }
        return p
    }

    static func power128(_ s: Int) -> Int128 {
        var p: Int128 = 1
        for _ in 0..<max(0, s) { p *= 10 }
        return p
    }

    // MARK: arithmetic (exact where it can be)

    /// `a + b`, `a - b`, `a * b`, `a / b`; null when either side is null or on division by zero.
    public static func arithmetic(_ op: Operator, _ a: Value, _ b: Value) -> Value {
        switch (a, b) {
        case (.exact(let x, let sx), .exact(let y, let sy)):
            switch op {
            case .add, .subtract:
                let s = max(sx, sy)
                let (xa, o1) = x.multipliedReportingOverflow(by: power128(s - sx))
                let (ya, o2) = y.multipliedReportingOverflow(by: power128(s - sy))
                let (r, o3) = op == .add ? xa.addingReportingOverflow(ya) : xa.subtractingReportingOverflow(ya)
                if !(o1 || o2 || o3) { return .exact(r, scale: s) }
            case .multiply:
                let (r, o) = x.multipliedReportingOverflow(by: y)
                if !o, sx + sy <= 18 { return .exact(r, scale: sx + sy) }
            case .divide:
                if y == 0 { return .null }
            }
        default: break
        }
        guard let x = a.doubleValue, let y = b.doubleValue else { return .null }
        switch op {
        case .add: return .double(x + y)
        case .subtract: return .double(x - y)
        case .multiply: return .double(x * y)
        case .divide: return y == 0 ? .null : .double(x / y)
        }
    }

    /// `-a`.
    public static func negate(_ a: Value) -> Value {
        switch a {
        case .exact(let m, let s): return .exact(0 - m, scale: s)
        case .double(let d): return .double(-d)
        case .null, .text: return .null
        }
    }

    /// The four arithmetic operators.
    public enum Operator: Sendable { case add, subtract, multiply, divide }

    /// Orders two values: numbers numerically (exactly when both are exact), text by code
    /// point; nil when either is null or they are of different kinds.
    public static func compare(_ a: Value, _ b: Value) -> Int? {
        switch (a, b) {
        case (.exact(let x, let sx), .exact(let y, let sy)):
            let s = max(sx, sy)
            let (xa, o1) = x.multipliedReportingOverflow(by: power128(s - sx))
            let (ya, o2) = y.multipliedReportingOverflow(by: power128(s - sy))
            if !(o1 || o2) { return xa < ya ? -1 : (xa > ya ? 1 : 0) }
        case (.text(let x), .text(let y)):
            if x == y { return 0 }
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1
        default: break
        }
        guard let x = a.doubleValue, let y = b.doubleValue else { return nil }
        return x < y ? -1 : (x > y ? 1 : 0)
    }
}
