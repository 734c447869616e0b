import CubistStore
import CubistSyntax

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
