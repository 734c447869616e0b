import CubistStore
import CubistSyntax

/// Narrows a slice's rows to those passing WHERE, in place. Member masks (and ANDs of them)
/// run on the codes directly, each conjunct over the survivors of the one before; a
/// comparison of exact row arithmetic (`quantity < 25`, `price * quantity > 100`) runs as a
/// compiled `RowKernel` of its difference, compared with zero without a branch per row;
/// other conditions go through `FilterEvaluator`. One selector belongs to one worker (its
/// kernels own their scratch buffers).
final class Selector {
    private indirect enum Step {
        case constant(Bool)
        case members(dimension: Int, mask: [Bool])
        /// `left - right` compiled, compared with zero; `filter` is the comparison itself,
        /// for a part whose difference leaves 64 bits.
        case compare(RowKernel, ComparisonOperator, filter: RowFilter)
        case and([Step])
        case general(RowFilter)
    }

    let facts: FactTable
    private let root: Step

    init(_ filter: RowFilter, facts: FactTable) {
        self.facts = facts
        func compile(_ f: RowFilter) -> Step {
            switch f {
            case .constant(let b): return .constant(b)
            case .members(let d, let mask): return .members(dimension: d, mask: mask)
            case .and(let list): return .and(list.map(compile))
            case .compare(let l, let op, let r):
                guard let kernel = RowKernel(.binary(.subtract, l, r), facts: facts) else { return .general(f) }
                return .compare(kernel, op, filter: f)
            default: return .general(f)
            }
        }
        root = compile(filter)
    }

    /// Keeps the rows among `rows[0..<n]` that pass the filter, in order; returns how many.
    func select(_ rows: UnsafeMutableBufferPointer<Int32>, _ n: Int) throws(RowOverflow) -> Int {
        try select(root, rows, n)
    }

    private func select(_ step: Step, _ rows: UnsafeMutableBufferPointer<Int32>, _ n: Int) throws(RowOverflow) -> Int {
        switch step {
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
        case .compare(let kernel, let op, let filter):
            guard let r = rows.baseAddress else { return 0 }
            var k = 0
            // A part at a time: the kernel's scratch values stay in the cache, and each kept
            // row moves down to `k`, never past the part being read.
            for from in stride(from: 0, to: n, by: RowKernel.chunk) {
                let count = min(RowKernel.chunk, n - from)
                let (values, overflowed, nulls) = kernel.evaluate(RowKernel.Rows(list: r + from, count: count))
                if overflowed {
                    let keep = try FilterEvaluator(facts: facts).keep(filter, Array(rows[from..<(from + count)]))
                    for i in 0..<count where keep[i] {
                        r[k] = r[from + i]
                        k += 1
                    }
                    continue
                }
                k = Selector.keep(values, op, nulls, r, from: from, count: count, kept: k)
            }
            return k
        case .general(let f):
            let keep = try FilterEvaluator(facts: facts).keep(f, Array(rows[0..<n]))
            var k = 0
            for i in 0..<n where keep[i] {
                rows[k] = rows[i]
                k += 1
            }
            return k
        }
    }

    /// Moves the rows `r[from ..< from + count]` whose value compares with zero as `op` says
    /// (and is not empty) down to `r[kept...]`; returns the new count kept.
    private static func keep(_ values: UnsafePointer<Int64>, _ op: ComparisonOperator, _ nulls: UnsafePointer<Bool>?,
                             _ r: UnsafeMutablePointer<Int32>, from: Int, count: Int, kept: Int) -> Int {
        switch op {
        case .equal: return keep(values, nulls, r, from, count, kept) { $0 == 0 }
        case .notEqual: return keep(values, nulls, r, from, count, kept) { $0 != 0 }
        case .less: return keep(values, nulls, r, from, count, kept) { $0 < 0 }
        case .lessOrEqual: return keep(values, nulls, r, from, count, kept) { $0 <= 0 }
        case .greater: return keep(values, nulls, r, from, count, kept) { $0 > 0 }
        case .greaterOrEqual: return keep(values, nulls, r, from, count, kept) { $0 >= 0 }
        }
    }

    @inline(__always)
    private static func keep(_ values: UnsafePointer<Int64>, _ nulls: UnsafePointer<Bool>?, _ r: UnsafeMutablePointer<Int32>,
                             _ from: Int, _ count: Int, _ kept: Int, _ passes: (Int64) -> Bool) -> Int {
        // The test's Bool read as its byte (0 or 1) and added: no branch to mispredict.
        let source = r + from
        var k = kept
        if let nulls {
            let empty = UnsafeRawPointer(nulls).assumingMemoryBound(to: UInt8.self)
            for i in 0..<count {
                r[k] = source[i]
                k &+= Int(unsafeBitCast(passes(values[i]), to: UInt8.self) & ~empty[i] & 1)
            }
        } else {
            for i in 0..<count {
                r[k] = source[i]
                k &+= Int(unsafeBitCast(passes(values[i]), to: UInt8.self))
            }
        }
        return k
    }

    @inline(__always)
    private static func keep<T: FixedWidthInteger & UnsignedInteger>(_ codes: UnsafeBufferPointer<T>, _ mask: UnsafeBufferPointer<UInt8>,
                                                                      _ rows: UnsafeMutableBufferPointer<Int32>, _ n: Int) -> Int {
        let c = codes.baseAddress!, m = mask.baseAddress!, r = rows.baseAddress!  // safe: kernels run on non-empty buffers (n > 0)
        var k = 0
        for i in 0..<n {
            let row = r[i]
            r[k] = row
            k &+= Int(m[Int(c[Int(row)])] & 1)
        }
        return k
    }
}
