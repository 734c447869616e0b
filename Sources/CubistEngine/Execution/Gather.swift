import CubistStore
import CubistSyntax

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
    /// Each leaf member's share of the group key, stored as narrow as the key space allows.
    enum KeyTable {
        case two([UInt16])
        case four([UInt32])
        case eight([UInt64])
    }

    static func addComposite(_ column: PackedColumn, _ table: KeyTable, _ rows: UnsafeMutableBufferPointer<Int32>, _ n: Int,
                             slice: Range<Int>?, into composite: UnsafeMutableBufferPointer<UInt64>, first: Bool) {
        switch table {
        case .two(let t): t.withUnsafeBufferPointer { addComposite(column, $0, rows, n, slice, composite, first) }
        case .four(let t): t.withUnsafeBufferPointer { addComposite(column, $0, rows, n, slice, composite, first) }
        case .eight(let t): t.withUnsafeBufferPointer { addComposite(column, $0, rows, n, slice, composite, first) }
        }
    }

    @inline(__always)
    private static func addComposite<U: FixedWidthInteger & UnsignedInteger>(_ column: PackedColumn, _ t: UnsafeBufferPointer<U>, _ rows: UnsafeMutableBufferPointer<Int32>,
                                                                            _ n: Int, _ slice: Range<Int>?, _ composite: UnsafeMutableBufferPointer<UInt64>, _ first: Bool) {
        switch column.storage {
        case .one(let b): addComposite(b, t, rows, n, slice, composite, first)
        case .two(let b): addComposite(b, t, rows, n, slice, composite, first)
        case .four(let b): addComposite(b, t, rows, n, slice, composite, first)
        case .eight(let b): addComposite(b, t, rows, n, slice, composite, first)
        }
    }

    @inline(__always)
    private static func addComposite<T: FixedWidthInteger & UnsignedInteger, U: FixedWidthInteger & UnsignedInteger>(
        _ codes: UnsafeBufferPointer<T>, _ table: UnsafeBufferPointer<U>, _ rows: UnsafeMutableBufferPointer<Int32>, _ n: Int,
        _ slice: Range<Int>?, _ composite: UnsafeMutableBufferPointer<UInt64>, _ first: Bool
    ) {
        let t = table.baseAddress!, out = composite.baseAddress!, c = codes.baseAddress!, r = rows.baseAddress!  // safe: kernels run on non-empty buffers (n > 0)
        switch (slice, first) {
        case (let s?, true): for i in 0..<n { out[i] = UInt64(t[Int(c[s.lowerBound + i])]) }
        case (let s?, false): for i in 0..<n { out[i] &+= UInt64(t[Int(c[s.lowerBound + i])]) }
        case (nil, true): for i in 0..<n { out[i] = UInt64(t[Int(c[Int(r[i])])]) }
        case (nil, false): for i in 0..<n { out[i] &+= UInt64(t[Int(c[Int(r[i])])]) }
        }
    }
}
