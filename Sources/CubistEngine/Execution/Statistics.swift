/// Combines a list of values into one: the members' values of a per-member aggregate
/// (`median(revenue PER customer.customer)`), or a group's row values (`median(price)`).
/// Exact values stay exact wherever the arithmetic allows; nulls take no part.
enum Statistics {
    static func combine(_ values: [Value], _ part: SlotPart) -> Value {
        let present = values.filter { !$0.isNull }
        switch part {
        case .count:
            return .integer(present.count)
        case .sum, .value:
            guard var total = present.first else { return .null }
            for v in present.dropFirst() { total = Value.arithmetic(.add, total, v) }
            return total
        case .average:
            guard !present.isEmpty else { return .null }
            let total = combine(present, .sum)
            if case .exact(let m, let s) = total { return .double(Double(m) / Double(present.count) / Value.power(s)) }
            return total.doubleValue.map { .double($0 / Double(present.count)) } ?? .null
        case .minimum, .maximum:
            guard var best = present.first else { return .null }
            for v in present.dropFirst() {
                guard let c = Value.compare(v, best) else { continue }
                if part == .minimum ? c < 0 : c > 0 { best = v }
            }
            return best
        case .quantile(let fraction, let scale):
            // Interpolation adds decimal places; those that are zeros beyond the inputs' own
            // are dropped (a median of 25 and 25 orders is 25, not 25.0).
            let floor = present.reduce(0) { r, v in if case .exact(_, let t) = v { return max(r, t) } else { return r } }
            return trimmed(quantile(sorted(present), fraction: fraction, scale: scale), floor: floor)
        case .stddev:
            return stddev(present.compactMap(\.doubleValue))
        }
    }

    /// Ascending, by exact comparison where both values are exact.
    static func sorted(_ values: [Value]) -> [Value] {
        values.sorted { (Value.compare($0, $1) ?? 0) < 0 }
    }

    /// The continuous quantile of ascending values at `fraction / 10^scale`, interpolating
    /// linearly between the two nearest values (as `percentile_cont` and DuckDB's
    /// `quantile_cont` do): position `p × (n − 1)`, exact when the values are.
    static func quantile(_ ascending: [Value], fraction: Int128, scale: Int) -> Value {
        quantile(count: ascending.count, fraction: fraction, scale: scale) { ascending[$0] }
    }

    /// The same over `count` ascending values read through `at` (only the two nearest the
    /// position are read, so a caller need not box every value).
    static func quantile(count: Int, fraction: Int128, scale: Int, at: (Int) -> Value) -> Value {
        guard count > 0 else { return .null }
        let one = Value.power128(scale)
        let position = fraction * Int128(count - 1)
        let low = Int(position / one), rest = position % one
        if rest == 0 || low + 1 >= count { return at(low) }
        let step = Value.arithmetic(.subtract, at(low + 1), at(low))
        return Value.arithmetic(.add, at(low), Value.arithmetic(.multiply, step, .exact(rest, scale: scale)))
    }

    /// Drops zeros beyond `floor` decimal places from an exact value.
    static func trimmed(_ v: Value, floor: Int) -> Value {
        guard case .exact(var m, var s) = v else { return v }
        while s > floor, m % 10 == 0 {
            m /= 10
            s -= 1
        }
        return .exact(m, scale: s)
    }

    /// The sample standard deviation of numbers (null for fewer than two).
    static func stddev(_ xs: [Double]) -> Value {
        guard xs.count >= 2 else { return .null }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let squares = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return .double((squares / Double(xs.count - 1)).squareRoot())
    }

    /// The `k`-th smallest of `xs` (0-based) and the next larger value, found by
    /// quickselect in expected linear time; `xs` is reordered.
    static func select<T: Comparable>(_ xs: inout [T], _ k: Int) -> (T, T?) {
        var low = 0, high = xs.count - 1
        while high - low > 16 {
            // Median of three as the pivot, then a three-way partition (ties stay in the middle).
            let mid = low + (high - low) / 2
            let a = xs[low], b = xs[mid], c = xs[high]
            let pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b))
            var lt = low, i = low, gt = high
            while i <= gt {
                if xs[i] < pivot {
                    xs.swapAt(lt, i)
                    lt += 1
                    i += 1
                } else if xs[i] > pivot {
                    xs.swapAt(i, gt)
                    gt -= 1
                } else {
                    i += 1
                }
            }
            if k < lt { high = lt - 1 } else if k > gt { low = gt + 1 } else {
                // xs[k] is the pivot; the next value is the pivot again or the least above gt.
                if k + 1 <= gt { return (pivot, pivot) }
                return (pivot, gt + 1 < xs.count ? xs[(gt + 1)...].min() : nil)
            }
        }
        xs[low...high].sort()
        let value = xs[k]
        if k + 1 <= high { return (value, xs[k + 1]) }
        return (value, k + 1 < xs.count ? xs[(k + 1)...].min() : nil)
    }

    /// The quantile of unsorted numbers, reading them through `box`.
    static func quantile<T: Comparable>(of xs: [T], fraction: Int128, scale: Int, box: (T) -> Value) -> Value {
        guard !xs.isEmpty else { return .null }
        let position = fraction * Int128(xs.count - 1)
        let low = Int(position / Value.power128(scale))
        var copy = xs
        let (a, b) = select(&copy, low)
        return quantile(count: xs.count, fraction: fraction, scale: scale) { $0 == low ? box(a) : box(b ?? a) }
    }
}
