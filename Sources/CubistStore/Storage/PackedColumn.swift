import Synchronization

/// An immutable column of unsigned integers stored in the narrowest width that fits
/// (1, 2, 4 or 8 bytes), split logically into fixed-size chunks with a min/max zone map
/// per chunk so scans can run chunk-parallel and skip chunks a filter excludes.
public final class PackedColumn: @unchecked Sendable {
    /// Storage width in bytes.
    public enum Width: Int, Sendable {
        case one = 1, two = 2, four = 4, eight = 8

        /// The narrowest width that holds `maximum`.
        public static func fitting(_ maximum: UInt64) -> Width {
            if maximum <= UInt64(UInt8.max) { return .one }
            if maximum <= UInt64(UInt16.max) { return .two }
            if maximum <= UInt64(UInt32.max) { return .four }
            return .eight
        }
    }

    /// The typed view of a column's storage, for kernels specialised per width.
    public enum Storage {
        case one(UnsafeBufferPointer<UInt8>)
        case two(UnsafeBufferPointer<UInt16>)
        case four(UnsafeBufferPointer<UInt32>)
        case eight(UnsafeBufferPointer<UInt64>)
    }

    /// Rows per chunk.
    public static let chunkSize = 65_536

    /// Number of values.
    public let count: Int
    /// Bytes per value.
    public let width: Width
    /// The smallest value of each chunk.
    public let chunkMinimum: [UInt64]
    /// The largest value of each chunk.
    public let chunkMaximum: [UInt64]
    private let raw: UnsafeMutableRawPointer
    /// What owns `raw` when the column does not (a buffer the loader filled in place).
    private let owner: AnyObject?
    /// Whether the values never decrease, once known (computed on first use).
    private let ascending = Mutex<Bool?>(nil)

    /// Packs `values`, whose largest element is at most `maximum`.
    public init<T: FixedWidthInteger & UnsignedInteger>(_ array: [T], maximum: UInt64) {
        let n = array.count
        let w = Width.fitting(maximum)
        let r = UnsafeMutableRawPointer.allocate(byteCount: max(1, n * w.rawValue), alignment: 8)
        var minima: [UInt64] = []
        var maxima: [UInt64] = []
        array.withUnsafeBufferPointer { values in
            switch w {
            case .one: PackedColumn.fill(r.bindMemory(to: UInt8.self, capacity: n), values)
            case .two: PackedColumn.fill(r.bindMemory(to: UInt16.self, capacity: n), values)
            case .four: PackedColumn.fill(r.bindMemory(to: UInt32.self, capacity: n), values)
            case .eight: PackedColumn.fill(r.bindMemory(to: UInt64.self, capacity: n), values)
            }
            var start = 0
            while start < n {
                let end = Swift.min(n, start + PackedColumn.chunkSize)
                var lo = UInt64.max, hi = UInt64.min
                for i in start..<end {
                    let v = UInt64(values[i])
                    lo = Swift.min(lo, v)
                    hi = Swift.max(hi, v)
                }
                minima.append(lo)
                maxima.append(hi)
                start = end
            }
        }
        count = n
        width = w
        raw = r
        owner = nil
        chunkMinimum = minima
        chunkMaximum = maxima
    }

    /// Takes ownership of `raw`, holding `count` values of `width` bytes (allocated with
    /// `UnsafeMutableRawPointer.allocate(byteCount:alignment: 8)`), and computes the zone maps;
    /// with an `owner`, the owner keeps and frees the memory instead. `known` holds the zone
    /// maps of leading whole chunks when they are known already (an append's old rows).
    init(adopting raw: UnsafeMutableRawPointer, count: Int, width: Width, owner: AnyObject? = nil,
         known: (minima: ArraySlice<UInt64>, maxima: ArraySlice<UInt64>)? = nil) {
        self.raw = raw
        self.owner = owner
        self.count = count
        self.width = width
        var minima = Array(known?.minima ?? [])
        var maxima = Array(known?.maxima ?? [])
        func zones<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) {
            let values = UnsafeBufferPointer(start: raw.assumingMemoryBound(to: T.self), count: count)
            var start = minima.count * PackedColumn.chunkSize
            while start < count {
                let end = Swift.min(count, start + PackedColumn.chunkSize)
                var lo = T.max, hi = T.min
                for v in values[start..<end] {
                    lo = Swift.min(lo, v)
                    hi = Swift.max(hi, v)
                }
                minima.append(UInt64(lo))
                maxima.append(UInt64(hi))
                start = end
            }
        }
        switch width {
        case .one: zones(UInt8.self)
        case .two: zones(UInt16.self)
        case .four: zones(UInt32.self)
        case .eight: zones(UInt64.self)
        }
        chunkMinimum = minima
        chunkMaximum = maxima
    }

    /// The column's bytes, for writing snapshots.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: raw, count: byteCount) }

    /// The largest value in the column (0 when empty).
    public var maximum: UInt64 { chunkMaximum.max() ?? 0 }

    /// Packs an array.
    public convenience init<T: FixedWidthInteger & UnsignedInteger>(_ values: [T]) {
        var maximum: UInt64 = 0
        for v in values where UInt64(v) > maximum { maximum = UInt64(v) }
        self.init(values, maximum: maximum)
    }


    private static func fill<S: FixedWidthInteger, T: FixedWidthInteger>(_ target: UnsafeMutablePointer<S>, _ values: UnsafeBufferPointer<T>) {
        for i in 0..<values.count { target[i] = S(truncatingIfNeeded: values[i]) }
    }

    deinit { if owner == nil { raw.deallocate() } }

    /// Number of chunks.
    public var chunkCount: Int { chunkMinimum.count }

    /// Bytes of column data (zone maps not included).
    public var byteCount: Int { count * width.rawValue }

    /// The typed storage, for specialised loops.
    public var storage: Storage {
        switch width {
        case .one: return .one(UnsafeBufferPointer(start: raw.assumingMemoryBound(to: UInt8.self), count: count))
        case .two: return .two(UnsafeBufferPointer(start: raw.assumingMemoryBound(to: UInt16.self), count: count))
        case .four: return .four(UnsafeBufferPointer(start: raw.assumingMemoryBound(to: UInt32.self), count: count))
        case .eight: return .eight(UnsafeBufferPointer(start: raw.assumingMemoryBound(to: UInt64.self), count: count))
        }
    }

    /// Whether no value is smaller than the one before it, so each value's rows are
    /// contiguous (order numbers of facts written order by order). One pass over the
    /// column on first use, remembered after.
    public var isNonDecreasing: Bool {
        if let known = ascending.withLock({ $0 }) { return known }
        func check<T: FixedWidthInteger>(_ values: UnsafeBufferPointer<T>) -> Bool {
            guard var previous = values.first else { return true }
            var ordered = true
            for v in values {
                ordered = ordered && v >= previous
                previous = v
            }
            return ordered
        }
        // Chunks whose zone maps overlap cannot be in order: no pass needed then.
        var result = zip(chunkMaximum, chunkMinimum.dropFirst()).allSatisfy { $0 <= $1 }
        if result {
            switch storage {
            case .one(let b): result = check(b)
            case .two(let b): result = check(b)
            case .four(let b): result = check(b)
            case .eight(let b): result = check(b)
            }
        }
        ascending.withLock { $0 = result }
        return result
    }

    /// Value `i` (slow path; kernels use `storage`).
    public subscript(i: Int) -> UInt64 {
        precondition(i >= 0 && i < count, "row index out of range")  // safe: row indices come from the scan, never from input
        switch width {
        case .one: return UInt64(raw.load(fromByteOffset: i, as: UInt8.self))
        case .two: return UInt64(raw.load(fromByteOffset: i * 2, as: UInt16.self))
        case .four: return UInt64(raw.load(fromByteOffset: i * 4, as: UInt32.self))
        case .eight: return raw.load(fromByteOffset: i * 8, as: UInt64.self)
        }
    }
}

/// A fixed-length set of bits, e.g. which rows of a column are null.
public struct Bitmap: Sendable, Equatable {
    /// The 64-bit words, bit `i` in word `i / 64`.
    public private(set) var words: [UInt64]
    /// Number of bits.
    public let count: Int

    /// A bitmap of `count` bits from its words (`(count + 63) / 64` of them).
    init(words: [UInt64], count: Int) {
        self.words = words
        self.count = count
    }

    /// All bits clear.
    public init(count: Int) {
        self.count = count
        words = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    /// Bit `i`.
    public subscript(i: Int) -> Bool {
        get { words[i >> 6] & (1 << UInt64(i & 63)) != 0 }
        set {
            if newValue { words[i >> 6] |= 1 << UInt64(i & 63) } else { words[i >> 6] &= ~(1 << UInt64(i & 63)) }
        }
    }

    /// Number of set bits.
    public var setCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

}
