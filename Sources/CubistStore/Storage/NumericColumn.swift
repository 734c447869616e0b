/// An exact decimal number: `mantissa / 10^scale`.
public struct ScaledDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The unscaled integer.
    public var mantissa: Int64
    /// Digits after the decimal point.
    public var scale: Int

    /// Creates a decimal.
    public init(mantissa: Int64, scale: Int) {
        self.mantissa = mantissa
        self.scale = scale
    }

    /// The nearest Double.
    public var doubleValue: Double { Double(mantissa) / Double(FieldParser.powersOfTen[scale]) }

    public static func < (a: ScaledDecimal, b: ScaledDecimal) -> Bool {
        let s = max(a.scale, b.scale)
        return Int128(a.mantissa) * Int128(FieldParser.powersOfTen[s - a.scale]) < Int128(b.mantissa) * Int128(FieldParser.powersOfTen[s - b.scale])
    }

    /// Plain decimal text with exactly `scale` fraction digits: `-12.50`.
    public var description: String {
        if scale == 0 { return String(mantissa) }
        let negative = mantissa < 0
        let digits = String(mantissa.magnitude)
        let padded = digits.count <= scale ? String(repeating: "0", count: scale - digits.count + 1) + digits : digits
        let cut = padded.index(padded.endIndex, offsetBy: -scale)
        return (negative ? "-" : "") + padded[..<cut] + "." + padded[cut...]
    }
}

/// A numeric fact column stored exactly: each value is a scaled integer
/// (`value = (base + stored) / 10^scale`) packed in the narrowest width; nulls (empty
/// fields) are stored as the value 0 and marked in a bitmap, so sums need no null test.
public struct NumericColumn: Sendable {
    /// The fact column's name.
    public let name: String
    /// Digits after the decimal point (0 for integer columns).
    public let scale: Int
    /// The offset added to every stored value (frame of reference, at most 0).
    public let base: Int64
    /// The stored offsets from `base`.
    public let packed: PackedColumn
    /// Which rows are null, or nil when none is.
    public let nulls: Bitmap?

    /// Creates a column from its parts.
    public init(name: String, scale: Int, base: Int64, packed: PackedColumn, nulls: Bitmap?) {
        self.name = name
        self.scale = scale
        self.base = base
        self.packed = packed
        self.nulls = nulls
    }

    /// Number of rows.
    public var count: Int { packed.count }

    /// The scaled integer at row `i`, or nil when null.
    public func mantissa(at i: Int) -> Int64? {
        if let nulls, nulls[i] { return nil }
        return base &+ Int64(bitPattern: packed[i])
    }

    /// The exact value at row `i`, or nil when null.
    public func value(at i: Int) -> ScaledDecimal? {
        mantissa(at: i).map { ScaledDecimal(mantissa: $0, scale: scale) }
    }

    /// Whether each value's rows are contiguous and none is null (the column never
    /// decreases), so a distinct count can count where the value changes.
    public var comesInRuns: Bool { nulls == nil && packed.isNonDecreasing }

    /// Bytes per row, including the null bitmap.
    public var bytesPerRow: Double {
        Double(packed.width.rawValue) + (nulls == nil ? 0 : 0.125)
    }
}

/// Accumulates exact decimals for one column while a CSV loads, rescaling earlier values
/// when a value with more decimal places arrives.
struct DecimalColumnBuilder {
    var values: [Int64] = []
    var scale = 0
    var nulls: Bitmap?
    var nullRows: [Int] = []

    enum Failure: Error { case outOfRange }

    mutating func appendNull() {
        nullRows.append(values.count)
        values.append(0)
    }

    mutating func append(mantissa: Int64, scale s: Int) throws(Failure) {
        if s > scale {
            let factor = FieldParser.powersOfTen[s - scale]
            for i in values.indices {
                let (m, o) = values[i].multipliedReportingOverflow(by: factor)
                if o { throw .outOfRange }
                values[i] = m
            }
            scale = s
            values.append(mantissa)
        } else if s < scale {
            let (m, o) = mantissa.multipliedReportingOverflow(by: FieldParser.powersOfTen[scale - s])
            if o { throw .outOfRange }
            values.append(m)
        } else {
            values.append(mantissa)
        }
    }

    /// Appends the values of the next part of the file (`rowsBefore` rows precede them),
    /// bringing both to the larger scale; false when a value would leave 64 bits.
    mutating func append(_ other: DecimalColumnBuilder, rowsBefore: Int) -> Bool {
        var incoming = other.values
        if other.scale > scale {
            let factor = FieldParser.powersOfTen[other.scale - scale]
            for i in values.indices {
                let (m, o) = values[i].multipliedReportingOverflow(by: factor)
                if o { return false }
                values[i] = m
            }
            scale = other.scale
        } else if other.scale < scale {
            let factor = FieldParser.powersOfTen[scale - other.scale]
            for i in incoming.indices {
                let (m, o) = incoming[i].multipliedReportingOverflow(by: factor)
                if o { return false }
                incoming[i] = m
            }
        }
        values += incoming
        nullRows += other.nullRows.map { $0 + rowsBefore }
        return true
    }

    func build(name: String) -> NumericColumn {
        var lo: Int64 = 0, hi: Int64 = 0
        for v in values {
            lo = min(lo, v)
            hi = max(hi, v)
        }
        let base = lo
        let span = UInt64(bitPattern: hi &- base)
        let offsets = values.map { UInt64(bitPattern: $0 &- base) }
        var bitmap: Bitmap?
        if !nullRows.isEmpty {
            var b = Bitmap(count: values.count)
            for r in nullRows { b[r] = true }
            bitmap = b
        }
        return NumericColumn(name: name, scale: scale, base: base, packed: PackedColumn(offsets, maximum: span), nulls: bitmap)
    }
}
