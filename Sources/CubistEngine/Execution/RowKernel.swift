import CubistStore
import CubistSyntax

/// Exact row arithmetic (`+ - *` over numeric fact columns and constants, e.g.
/// `price * quantity * (1 - discount)`) compiled once per scan into loops over the packed
/// columns: every value is a 64-bit mantissa at the expression's scale, scales are aligned
/// at compile time, overflow is flagged per batch rather than branched on per row, and a
/// batch that overflowed is worked out again row by row in 128 bits (exact, the wide
/// fallback). Division and floating-point constants are not compiled (`RowEvaluator` keeps
/// them). One kernel belongs to one worker: it owns its scratch buffers.
final class RowKernel {
    private indirect enum Node {
        case column(NumericColumn)
        case constant(Int64)
        case negate(Node)
        /// `node * factor` (aligning a scale to a larger one).
        case scaled(Node, Int64)
        case add(Node, Node)
        case subtract(Node, Node)
        case multiply(Node, Node)
    }

    /// The decimal places of every value.
    let scale: Int
    private let root: Node
    /// The columns whose empty cells make a row's value empty.
    private let nullable: [Bitmap]
    /// Scratch values per depth of the expression tree, `capacity` each.
    private var buffers: [UnsafeMutablePointer<Int64>] = []
    private var nullFlags: UnsafeMutablePointer<Bool>?
    private var capacity = 0
    /// How many scratch buffers the tree needs.
    private let depth: Int
    /// The most rows worth evaluating at once: a few scratch buffers of this many values
    /// stay in the level-2 cache (32 KiB each).
    static let chunk = 4096

    /// Compiles `e`, or nil when it divides or uses a floating-point constant.
    init?(_ e: RowExpr, facts: FactTable) {
        var nullable: [Bitmap] = []
        func compile(_ e: RowExpr) -> (Node, Int)? {
            switch e {
            case .column(let c):
                let column = facts.numericColumns[c]
                if let n = column.nulls { nullable.append(n) }
                return (.column(column), column.scale)
            case .constant(let m, let s):
                return (.constant(m), s)
            case .doubleConstant:
                return nil
            case .negate(let x):
                return compile(x).map { (.negate($0.0), $0.1) }
            case .binary(let op, let l, let r):
                guard let (a, sa) = compile(l), let (b, sb) = compile(r) else { return nil }
                switch op {
                case .add, .subtract:
                    let s = max(sa, sb)
                    let x = RowKernel.aligned(a, by: FieldParser.powersOfTen[s - sa])
                    let y = RowKernel.aligned(b, by: FieldParser.powersOfTen[s - sb])
                    if op == .add, case .constant = x { return (.add(y, x), s) }  // the constant on the right, applied as a scalar
                    return (op == .add ? .add(x, y) : .subtract(x, y), s)
                case .multiply:
                    guard sa + sb <= 18 else { return nil }
                    if case .constant = a { return (.multiply(b, a), sa + sb) }
                    return (.multiply(a, b), sa + sb)
                case .divide:
                    return nil
                }
            }
        }
        guard let (root, scale) = compile(e) else { return nil }
        self.root = root
        self.scale = scale
        self.nullable = nullable
        depth = RowKernel.depth(root)
    }

    /// `node` times `factor` (a power of ten): a constant multiplied now, anything else
    /// (and a constant that would leave 64 bits, for the 128-bit fallback) scaled per row.
    private static func aligned(_ node: Node, by factor: Int64) -> Node {
        guard factor != 1 else { return node }
        if case .constant(let m) = node {
            let (v, o) = m.multipliedReportingOverflow(by: factor)
            if !o { return .constant(v) }
        }
        return .scaled(node, factor)
    }

    deinit {
        for b in buffers { b.deallocate() }
        nullFlags?.deallocate()
    }

    /// Where the rows of a batch are: a contiguous range, or listed.
    struct Rows {
        let start: Int
        let list: UnsafePointer<Int32>?
        let count: Int

        init(_ batch: Batch) {
            start = batch.range?.lowerBound ?? 0
            list = batch.range == nil ? batch.rows.baseAddress : nil
            count = batch.count
        }

        init(list: UnsafePointer<Int32>, count: Int) {
            start = 0
            self.list = list
            self.count = count
        }

        private init(start: Int, list: UnsafePointer<Int32>?, count: Int) {
            self.start = start
            self.list = list
            self.count = count
        }

        /// Rows `range` of these (positions, not row numbers).
        func part(_ range: Range<Int>) -> Rows {
            Rows(start: start + range.lowerBound, list: list.map { $0 + range.lowerBound }, count: range.count)
        }

        @inline(__always) func row(_ i: Int) -> Int { list.map { Int($0[i]) } ?? start + i }
    }

    /// The values of the rows, valid until the next call; `overflowed` when some value left
    /// 64 bits (then read `wide` for those rows instead); `nulls[i]` marks an empty value
    /// (nil when no column has empty cells).
    func evaluate(_ rows: Rows) -> (values: UnsafePointer<Int64>, overflowed: Bool, nulls: UnsafePointer<Bool>?) {
        reserve(rows.count)
        var overflow: UInt8 = 0
        run(root, rows, depth: 0, &overflow)
        var flags: UnsafePointer<Bool>?
        if !nullable.isEmpty, let out = nullFlags {
            for i in 0..<rows.count {
                let r = rows.row(i)
                var empty = false
                for bitmap in nullable where bitmap[r] { empty = true }
                out[i] = empty
            }
            flags = UnsafePointer(out)
        }
        return (UnsafePointer(buffers[0]), overflow != 0, flags)
    }

    /// The value of row `row` in 128 bits (nil for an empty value); throws when even that
    /// overflows.
    func wide(row: Int) throws(RowOverflow) -> Int128? {
        for bitmap in nullable where bitmap[row] { return nil }
        return try wide(root, row)
    }

    private func wide(_ node: Node, _ row: Int) throws(RowOverflow) -> Int128 {
        func checked(_ r: (partialValue: Int128, overflow: Bool)) throws(RowOverflow) -> Int128 {
            if r.overflow { throw RowOverflow() }
            return r.partialValue
        }
        switch node {
        case .column(let c): return Int128(c.base &+ Int64(truncatingIfNeeded: c.packed[row]))
        case .constant(let m): return Int128(m)
        case .negate(let x): return try checked(Int128(0).subtractingReportingOverflow(try wide(x, row)))
        case .scaled(let x, let f): return try checked(try wide(x, row).multipliedReportingOverflow(by: Int128(f)))
        case .add(let a, let b): return try checked(try wide(a, row).addingReportingOverflow(try wide(b, row)))
        case .subtract(let a, let b): return try checked(try wide(a, row).subtractingReportingOverflow(try wide(b, row)))
        case .multiply(let a, let b): return try checked(try wide(a, row).multipliedReportingOverflow(by: try wide(b, row)))
        }
    }

    private func reserve(_ n: Int) {
        if n <= capacity, buffers.count >= depth { return }
        for b in buffers { b.deallocate() }
        nullFlags?.deallocate()
        capacity = max(n, capacity)
        buffers = (0..<depth).map { _ in UnsafeMutablePointer<Int64>.allocate(capacity: max(1, capacity)) }
        nullFlags = nullable.isEmpty ? nil : UnsafeMutablePointer<Bool>.allocate(capacity: max(1, capacity))
    }

    private static func depth(_ node: Node) -> Int {
        switch node {
        case .column, .constant: return 1
        case .negate(let x), .scaled(let x, _): return depth(x)
        case .add(let a, let b), .subtract(let a, let b), .multiply(let a, let b):
            // The right side is worked out one level down when it is not a constant or a
            // column (both are read in place).
            if case .constant = b { return depth(a) }
            if case .column = b { return depth(a) }
            return max(depth(a), 1 + depth(b))
        }
    }

    /// Writes the node's values into `buffers[depth]`; a binary node's right side goes one
    /// level down unless it is a constant, which is applied as a scalar.
    private func run(_ node: Node, _ rows: Rows, depth: Int, _ overflow: inout UInt8) {
        let out = buffers[depth], n = rows.count
        switch node {
        case .column(let c):
            RowKernel.load(c, rows, out)
        case .constant(let m):
            out.update(repeating: m, count: n)
        case .negate(let x):
            run(x, rows, depth: depth, &overflow)
            for i in 0..<n {
                let (v, o) = Int64(0).subtractingReportingOverflow(out[i])
                out[i] = v
                overflow |= o ? 1 : 0
            }
        case .scaled(let x, let f):
            run(x, rows, depth: depth, &overflow)
            RowKernel.multiply(out, by: f, n, &overflow)
        case .add(let a, let b), .subtract(let a, let b), .multiply(let a, let b):
            if case .constant(let m) = a, case .subtract = node {
                // c - x: the common `1 - discount`.
                run(b, rows, depth: depth, &overflow)
                for i in 0..<n {
                    let (v, o) = m.subtractingReportingOverflow(out[i])
                    out[i] = v
                    overflow |= o ? 1 : 0
                }
                return
            }
            run(a, rows, depth: depth, &overflow)
            if case .constant(let m) = b {
                switch node {
                case .add: RowKernel.add(out, m, n, &overflow)
                case .subtract: RowKernel.add(out, -m, n, &overflow)
                default: RowKernel.multiply(out, by: m, n, &overflow)
                }
                return
            }
            if case .column(let c) = b {
                // A column on the right is read where it is stored, not copied first.
                let op: Operation = switch node {
                case .add: .add
                case .subtract: .subtract
                default: .multiply
                }
                switch c.packed.storage {
                case .one(let p): RowKernel.combine(out, p, c.base, rows, op, &overflow)
                case .two(let p): RowKernel.combine(out, p, c.base, rows, op, &overflow)
                case .four(let p): RowKernel.combine(out, p, c.base, rows, op, &overflow)
                case .eight(let p): RowKernel.combine(out, p, c.base, rows, op, &overflow)
                }
                return
            }
            run(b, rows, depth: depth + 1, &overflow)
            let y = buffers[depth + 1]
            switch node {
            case .add:
                for i in 0..<n {
                    let (v, o) = out[i].addingReportingOverflow(y[i])
                    out[i] = v
                    overflow |= o ? 1 : 0
                }
            case .subtract:
                for i in 0..<n {
                    let (v, o) = out[i].subtractingReportingOverflow(y[i])
                    out[i] = v
                    overflow |= o ? 1 : 0
                }
            default:
                for i in 0..<n {
                    let (v, o) = out[i].multipliedReportingOverflow(by: y[i])
                    out[i] = v
                    overflow |= o ? 1 : 0
                }
            }
        }
    }

    private enum Operation { case add, subtract, multiply }

    /// `out[i] = out[i] op column[row i]`, the column read from its packed storage.
    @inline(__always)
    private static func combine<T: FixedWidthInteger & UnsignedInteger>(_ out: UnsafeMutablePointer<Int64>, _ stored: UnsafeBufferPointer<T>,
                                                                         _ base: Int64, _ rows: Rows, _ op: Operation, _ overflow: inout UInt8) {
        guard rows.count > 0, let s = stored.baseAddress else { return }
        @inline(__always) func apply(_ value: (Int) -> Int64) {
            switch op {
            case .add:
                for i in 0..<rows.count {
                    let (v, o) = out[i].addingReportingOverflow(value(i))
                    out[i] = v
                    overflow |= o ? 1 : 0
                }
            case .subtract:
                for i in 0..<rows.count {
                    let (v, o) = out[i].subtractingReportingOverflow(value(i))
                    out[i] = v
                    overflow |= o ? 1 : 0
                }
            case .multiply:
                for i in 0..<rows.count {
                    let (v, o) = out[i].multipliedReportingOverflow(by: value(i))
                    out[i] = v
                    overflow |= o ? 1 : 0
                }
            }
        }
        if let list = rows.list {
            apply { base &+ Int64(truncatingIfNeeded: s[Int(list[$0])]) }
        } else {
            let p = s + rows.start
            apply { base &+ Int64(truncatingIfNeeded: p[$0]) }
        }
    }

    private static func add(_ out: UnsafeMutablePointer<Int64>, _ m: Int64, _ n: Int, _ overflow: inout UInt8) {
        for i in 0..<n {
            let (v, o) = out[i].addingReportingOverflow(m)
            out[i] = v
            overflow |= o ? 1 : 0
        }
    }

    private static func multiply(_ out: UnsafeMutablePointer<Int64>, by m: Int64, _ n: Int, _ overflow: inout UInt8) {
        for i in 0..<n {
            let (v, o) = out[i].multipliedReportingOverflow(by: m)
            out[i] = v
            overflow |= o ? 1 : 0
        }
    }

    /// The mantissas of a column at the rows (an empty cell reads as its stored 0).
    private static func load(_ c: NumericColumn, _ rows: Rows, _ out: UnsafeMutablePointer<Int64>) {
        switch c.packed.storage {
        case .one(let b): load(b, c.base, rows, out)
        case .two(let b): load(b, c.base, rows, out)
        case .four(let b): load(b, c.base, rows, out)
        case .eight(let b): load(b, c.base, rows, out)
        }
    }

    @inline(__always)
    private static func load<T: FixedWidthInteger & UnsignedInteger>(_ stored: UnsafeBufferPointer<T>, _ base: Int64, _ rows: Rows,
                                                                      _ out: UnsafeMutablePointer<Int64>) {
        guard rows.count > 0, let s = stored.baseAddress else { return }
        if let list = rows.list {
            for i in 0..<rows.count { out[i] = base &+ Int64(truncatingIfNeeded: s[Int(list[i])]) }
        } else {
            let p = s + rows.start
            for i in 0..<rows.count { out[i] = base &+ Int64(truncatingIfNeeded: p[i]) }
        }
    }
}
