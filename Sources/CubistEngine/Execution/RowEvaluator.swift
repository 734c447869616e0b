import CubistStore
import CubistSyntax

/// The values of a row-level expression for a batch of fact rows.
enum RowVector {
    /// Exact values `mantissa / 10^scale`; `nulls[i]` marks a null (nil: none is).
    case exact([Int64], scale: Int, nulls: [Bool]?)
    /// Floating-point values (the expression divides).
    case double([Double], nulls: [Bool]?)

    var nulls: [Bool]? {
        switch self {
        case .exact(_, _, let n), .double(_, let n): return n
        }
    }
}

/// Raised when exact row arithmetic leaves the 64-bit range.
struct RowOverflow: Error {}

/// Reads packed codes and values for a batch of rows, switching on the storage width once
/// per batch rather than once per row.
enum Gather {
    /// `out[i] = column[rows[i]]`.
    static func codes(_ column: PackedColumn, _ rows: [Int32], into out: inout [Int32]) {
        out.removeAll(keepingCapacity: true)
        switch column.storage {
        case .one(let b): for r in rows { out.append(Int32(b[Int(r)])) }
        case .two(let b): for r in rows { out.append(Int32(b[Int(r)])) }
        case .four(let b): for r in rows { out.append(Int32(truncatingIfNeeded: b[Int(r)])) }
        case .eight(let b): for r in rows { out.append(Int32(truncatingIfNeeded: b[Int(r)])) }
        }
    }

    /// The mantissas of a numeric column at `rows` (a null reads as 0).
    static func mantissas(_ column: NumericColumn, _ rows: [Int32]) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(rows.count)
        let base = column.base
        switch column.packed.storage {
        case .one(let b): for r in rows { out.append(base &+ Int64(b[Int(r)])) }
        case .two(let b): for r in rows { out.append(base &+ Int64(b[Int(r)])) }
        case .four(let b): for r in rows { out.append(base &+ Int64(b[Int(r)])) }
        case .eight(let b): for r in rows { out.append(base &+ Int64(bitPattern: b[Int(r)])) }
        }
        return out
    }

    static func nulls(_ column: NumericColumn, _ rows: [Int32]) -> [Bool]? {
        guard let bitmap = column.nulls else { return nil }
        return rows.map { bitmap[Int($0)] }
    }
}

extension Gather {
    /// Adds each row's share of the group key from one dimension: `table[code of the row]`
    /// (`first`: stores instead of adding). `slice` is given when the rows are exactly that
    /// range, so the codes are streamed rather than gathered.
    static func addComposite(_ column: PackedColumn, _ table: [UInt64], _ rows: UnsafeMutableBufferPointer<Int32>, _ n: Int,
                             slice: Range<Int>?, into composite: UnsafeMutableBufferPointer<UInt64>, first: Bool) {
        table.withUnsafeBufferPointer { t in
            switch column.storage {
            case .one(let b): addComposite(b, t, rows, n, slice, composite, first)
            case .two(let b): addComposite(b, t, rows, n, slice, composite, first)
            case .four(let b): addComposite(b, t, rows, n, slice, composite, first)
            case .eight(let b): addComposite(b, t, rows, n, slice, composite, first)
            }
        }
    }

    @inline(__always)
    private static func addComposite<T: FixedWidthInteger & UnsignedInteger>(
        _ codes: UnsafeBufferPointer<T>, _ table: UnsafeBufferPointer<UInt64>, _ rows: UnsafeMutableBufferPointer<Int32>, _ n: Int,
        _ slice: Range<Int>?, _ composite: UnsafeMutableBufferPointer<UInt64>, _ first: Bool
    ) {
        let t = table.baseAddress!, out = composite.baseAddress!, c = codes.baseAddress!, r = rows.baseAddress!
        switch (slice, first) {
        case (let s?, true): for i in 0..<n { out[i] = t[Int(c[s.lowerBound + i])] }
        case (let s?, false): for i in 0..<n { out[i] &+= t[Int(c[s.lowerBound + i])] }
        case (nil, true): for i in 0..<n { out[i] = t[Int(c[Int(r[i])])] }
        case (nil, false): for i in 0..<n { out[i] &+= t[Int(c[Int(r[i])])] }
        }
    }
}

/// Narrows a slice's rows to those passing WHERE, in place. Member masks (and ANDs of them)
/// run on the codes directly, each conjunct over the survivors of the one before; other
/// conditions go through `FilterEvaluator`.
struct Selector {
    let facts: FactTable

    /// Keeps the rows among `rows[0..<n]` that pass `f`, in order; returns how many.
    func select(_ f: RowFilter, _ rows: UnsafeMutableBufferPointer<Int32>, _ n: Int) throws(RowOverflow) -> Int {
        switch f {
        case .constant(let b):
            return b ? n : 0
        case .members(let d, let mask):
            // A Bool is stored as one byte, 0 or 1: read the mask as bytes so keeping a row
            // is an addition, not a branch the CPU would mispredict.
            return mask.withUnsafeBytes { bytes in
                let m = bytes.assumingMemoryBound(to: UInt8.self)
                switch facts.dimensionCodes[d].storage {
                case .one(let b): return Selector.keep(b, m, rows, n)
                case .two(let b): return Selector.keep(b, m, rows, n)
                case .four(let b): return Selector.keep(b, m, rows, n)
                case .eight(let b): return Selector.keep(b, m, rows, n)
                }
            }
        case .and(let list):
            var count = n
            for child in list where count > 0 { count = try select(child, rows, count) }
            return count
        default:
            let keep = try FilterEvaluator(facts: facts).keep(f, Array(rows[0..<n]))
            var k = 0
            for i in 0..<n where keep[i] {
                rows[k] = rows[i]
                k += 1
            }
            return k
        }
    }

    @inline(__always)
    private static func keep<T: FixedWidthInteger & UnsignedInteger>(_ codes: UnsafeBufferPointer<T>, _ mask: UnsafeBufferPointer<UInt8>,
                                                                      _ rows: UnsafeMutableBufferPointer<Int32>, _ n: Int) -> Int {
        let c = codes.baseAddress!, m = mask.baseAddress!, r = rows.baseAddress!
        var k = 0
        for i in 0..<n {
            let row = r[i]
            r[k] = row
            k &+= Int(m[Int(c[Int(row)])] & 1)
        }
        return k
    }
}

/// Evaluates row-level arithmetic over numeric fact columns, exactly while no division occurs.
struct RowEvaluator {
    let facts: FactTable

    func evaluate(_ e: RowExpr, _ rows: [Int32]) throws(RowOverflow) -> RowVector {
        switch e {
        case .column(let c):
            let column = facts.numericColumns[c]
            return .exact(Gather.mantissas(column, rows), scale: column.scale, nulls: Gather.nulls(column, rows))
        case .constant(let m, let s):
            return .exact([Int64](repeating: m, count: rows.count), scale: s, nulls: nil)
        case .doubleConstant(let d):
            return .double([Double](repeating: d, count: rows.count), nulls: nil)
        case .negate(let x):
            switch try evaluate(x, rows) {
            case .exact(let v, let s, let n):
                var out = v
                for i in out.indices {
                    let (r, o) = Int64(0).subtractingReportingOverflow(v[i])
                    if o { throw RowOverflow() }
                    out[i] = r
                }
                return .exact(out, scale: s, nulls: n)
            case .double(let v, let n): return .double(v.map { -$0 }, nulls: n)
            }
        case .binary(let op, let l, let r):
            let a = try evaluate(l, rows), b = try evaluate(r, rows)
            let nulls = RowEvaluator.union(a.nulls, b.nulls)
            if case .exact(let x, let sx, _) = a, case .exact(let y, let sy, _) = b, op != .divide, op != .multiply || sx + sy <= 18 {
                return .exact(try RowEvaluator.exact(op, x, sx, y, sy), scale: op == .multiply ? sx + sy : max(sx, sy), nulls: nulls)
            }
            let x = RowEvaluator.doubles(a), y = RowEvaluator.doubles(b)
            var out = [Double](repeating: 0, count: rows.count)
            var divisionNulls = nulls
            for i in out.indices {
                switch op {
                case .add: out[i] = x[i] + y[i]
                case .subtract: out[i] = x[i] - y[i]
                case .multiply: out[i] = x[i] * y[i]
                case .divide:
                    if y[i] == 0 {
                        if divisionNulls == nil { divisionNulls = [Bool](repeating: false, count: rows.count) }
                        divisionNulls?[i] = true
                    } else {
                        out[i] = x[i] / y[i]
                    }
                }
            }
            return .double(out, nulls: divisionNulls)
        }
    }

    private static func union(_ a: [Bool]?, _ b: [Bool]?) -> [Bool]? {
        guard let a else { return b }
        guard let b else { return a }
        return zip(a, b).map { $0 || $1 }
    }

    private static func exact(_ op: BinaryOperator, _ x: [Int64], _ sx: Int, _ y: [Int64], _ sy: Int) throws(RowOverflow) -> [Int64] {
        var out = [Int64](repeating: 0, count: x.count)
        if op == .multiply {
            for i in out.indices {
                let (r, o) = x[i].multipliedReportingOverflow(by: y[i])
                if o { throw RowOverflow() }
                out[i] = r
            }
            return out
        }
        let s = max(sx, sy)
        let fx = FieldParser.powersOfTen[s - sx], fy = FieldParser.powersOfTen[s - sy]
        for i in out.indices {
            let (a, o1) = x[i].multipliedReportingOverflow(by: fx)
            let (b, o2) = y[i].multipliedReportingOverflow(by: fy)
            let (r, o3) = op == .add ? a.addingReportingOverflow(b) : a.subtractingReportingOverflow(b)
            if o1 || o2 || o3 { throw RowOverflow() }
            out[i] = r
        }
        return out
    }

    static func doubles(_ v: RowVector) -> [Double] {
        switch v {
        case .double(let d, _): return d
        case .exact(let m, let s, _):
            let p = Double(FieldParser.powersOfTen[s])
            return m.map { Double($0) / p }
        }
    }

    /// Applies a comparison to two vectors; rows where either side is null fail.
    static func compare(_ a: RowVector, _ op: ComparisonOperator, _ b: RowVector) -> [Bool] {
        let nulls = union(a.nulls, b.nulls)
        var out: [Bool]
        if case .exact(let x, let sx, _) = a, case .exact(let y, let sy, _) = b {
            let s = max(sx, sy)
            let fx = Int128(FieldParser.powersOfTen[s - sx]), fy = Int128(FieldParser.powersOfTen[s - sy])
            out = (0..<x.count).map { i in test(Int128(x[i]) * fx, op, Int128(y[i]) * fy) }
        } else {
            let x = doubles(a), y = doubles(b)
            out = (0..<x.count).map { i in test(x[i], op, y[i]) }
        }
        if let nulls { for i in out.indices where nulls[i] { out[i] = false } }
        return out
    }

    static func test<T: Comparable>(_ x: T, _ op: ComparisonOperator, _ y: T) -> Bool {
        switch op {
        case .equal: return x == y
        case .notEqual: return x != y
        case .less: return x < y
        case .lessOrEqual: return x <= y
        case .greater: return x > y
        case .greaterOrEqual: return x >= y
        }
    }
}

/// Evaluates a WHERE filter for one chunk of rows into a keep flag per row.
struct FilterEvaluator {
    let facts: FactTable

    func keep(_ f: RowFilter, _ rows: [Int32]) throws(RowOverflow) -> [Bool] {
        switch f {
        case .constant(let b):
            return [Bool](repeating: b, count: rows.count)
        case .members(let d, let mask):
            var codes: [Int32] = []
            Gather.codes(facts.dimensionCodes[d], rows, into: &codes)
            return mask.withUnsafeBufferPointer { m in codes.map { m[Int($0)] } }
        case .compare(let l, let op, let r):
            let evaluator = RowEvaluator(facts: facts)
            return RowEvaluator.compare(try evaluator.evaluate(l, rows), op, try evaluator.evaluate(r, rows))
        case .not(let inner):
            return try keep(inner, rows).map { !$0 }
        case .and(let list):
            var out = [Bool](repeating: true, count: rows.count)
            for child in list {
                let k = try keep(child, rows)
                for i in out.indices { out[i] = out[i] && k[i] }
            }
            return out
        case .or(let list):
            var out = [Bool](repeating: false, count: rows.count)
            for child in list {
                let k = try keep(child, rows)
                for i in out.indices { out[i] = out[i] || k[i] }
            }
            return out
        }
    }

    /// Whether a chunk can hold a passing row, judged from the zone maps of member filters
    /// in the top-level AND: a chunk whose code range holds no kept member is skipped.
    static func mayPass(_ f: RowFilter, chunk: Int, facts: FactTable, prefix: [Int: [Int32]]) -> Bool {
        switch f {
        case .constant(let b): return b
        case .members(let d, _):
            guard let counts = prefix[d] else { return true }
            let column = facts.dimensionCodes[d]
            let lo = Int(column.chunkMinimum[chunk]), hi = Int(column.chunkMaximum[chunk])
            return counts[hi + 1] - counts[lo] > 0
        case .and(let list):
            return list.allSatisfy { mayPass($0, chunk: chunk, facts: facts, prefix: prefix) }
        default: return true
        }
    }

    /// For each top-level member mask, a running count of kept members (for `mayPass`).
    static func prefixCounts(_ f: RowFilter) -> [Int: [Int32]] {
        var out: [Int: [Int32]] = [:]
        func visit(_ f: RowFilter) {
            switch f {
            case .members(let d, let mask):
                var counts = [Int32](repeating: 0, count: mask.count + 1)
                for i in mask.indices { counts[i + 1] = counts[i] + (mask[i] ? 1 : 0) }
                out[d] = counts
            case .and(let list): list.forEach(visit)
            default: break
            }
        }
        visit(f)
        return out
    }
}
