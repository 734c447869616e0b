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
