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
            if case .exact(let m, let s) = total { return .double(Value.average(m, count: present.count, scale: s)) }
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

    /// The sample standard deviation of exact values `mantissa / 10^scale`, from exact sums
    /// (so it does not depend on the order the values come in); nil when the sums would
    /// leave 128 bits.
    static func stddev(exact xs: [Int128], scale: Int) -> Value? {
        guard xs.count >= 2 else { return .null }
        var sum: Int128 = 0, squares: Int128 = 0
        for x in xs {
            let (q, o1) = x.multipliedReportingOverflow(by: x)
            let (s2, o2) = squares.addingReportingOverflow(q)
            let (s1, o3) = sum.addingReportingOverflow(x)
            if o1 || o2 || o3 { return nil }
            squares = s2
            sum = s1
        }
        let n = Int128(xs.count)
        let (a, o1) = n.multipliedReportingOverflow(by: squares)
        let (b, o2) = sum.multipliedReportingOverflow(by: sum)
        guard !o1, !o2 else { return nil }
        let variance = Double(a - b) / (Double(n) * Double(n - 1)) / Value.power(2 * scale)
        return .double(variance.squareRoot())
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
        xs.withUnsafeMutableBufferPointer { select($0, k) }
    }

    private static func select<T: Comparable>(_ xs: UnsafeMutableBufferPointer<T>, _ k: Int) -> (T, T?) {
        var low = 0, high = xs.count - 1
        while high - low > 32 {
            // Median of three as the pivot, then Hoare's partition: [low, j] <= pivot <= [j+1, high].
            let mid = low + (high - low) / 2
            if xs[mid] < xs[low] { xs.swapAt(mid, low) }
            if xs[high] < xs[low] { xs.swapAt(high, low) }
            if xs[high] < xs[mid] { xs.swapAt(high, mid) }
            let pivot = xs[mid]
            var i = low - 1, j = high + 1
            while true {
                repeat { i += 1 } while xs[i] < pivot
                repeat { j -= 1 } while pivot < xs[j]
                if i >= j { break }
                xs.swapAt(i, j)
            }
            if k <= j { high = j } else { low = j + 1 }
        }
        // A short run left: sort it, then the next value is beside k or the least above the run.
        var run = UnsafeMutableBufferPointer(rebasing: xs[low...high])
        run.sort()
        let value = xs[k]
        if k + 1 <= high { return (value, xs[k + 1]) }
        guard high + 1 < xs.count else { return (value, nil) }
        var next = xs[high + 1]
        for i in (high + 1)..<xs.count where xs[i] < next { next = xs[i] }
        return (value, next)
    }

    /// The quantile of unsorted numbers, reading them through `box`.
    static func quantile<T: Comparable>(of xs: [T], fraction: Int128, scale: Int, box: (T) -> Value) -> Value {
        var copy = xs
        return quantile(in: &copy, fraction: fraction, scale: scale, box: box)
    }

    /// The same, reordering `xs` in place (its values stay; only their order changes).
    static func quantile<T: Comparable>(in xs: inout [T], fraction: Int128, scale: Int, box: (T) -> Value) -> Value {
        guard !xs.isEmpty else { return .null }
        let count = xs.count
        let position = fraction * Int128(count - 1)
        let low = Int(position / Value.power128(scale))
        let (a, b) = select(&xs, low)
        return quantile(count: count, fraction: fraction, scale: scale) { $0 == low ? box(a) : box(b ?? a) }
    }
}
