import Foundation
import CubistStore
import CubistSyntax

/// Every non-null value of a row expression, kept per group, for the statistics that need
/// them all: `median(x)`, `percentile(x, p)`, `stddev(x)`. Holds 8 bytes per matching row.
final class ValuesAccumulator: Accumulator {
    let expr: RowExpr
    let facts: FactTable
    /// The decimal places of exact values; nil when the expression divides (Doubles).
    let scale: Int?
    var exact: [[Int64]] = []
    var doubles: [[Double]] = []
    private var held = 0

    init(expr: RowExpr, facts: FactTable) {
        self.expr = expr
        self.facts = facts
        scale = expr.scale(in: facts)
    }

    func resize(_ groups: Int) {
        if exact.count < groups {
            exact += [[Int64]](repeating: [], count: groups - exact.count)
            doubles += [[Double]](repeating: [], count: groups - doubles.count)
        }
    }

    func update(_ batch: Batch) throws(RowOverflow) {
        if case .column(let c) = expr, facts.numericColumns[c].nulls == nil {
            // A column without nulls: its values are read straight from the packed storage.
            let column = facts.numericColumns[c]
            var lists = exact
            exact = []
            switch column.packed.storage {
            case .one(let b): ValuesAccumulator.append(b, column.base, batch, &lists)
            case .two(let b): ValuesAccumulator.append(b, column.base, batch, &lists)
            case .four(let b): ValuesAccumulator.append(b, column.base, batch, &lists)
            case .eight(let b): ValuesAccumulator.append(b, column.base, batch, &lists)
            }
            exact = lists
            held += batch.count
            return
        }
        let rows = batch.rowArray
        let v = try RowEvaluator(facts: facts).evaluate(expr, rows)
        let nulls = v.nulls
        // The lists are taken out of the object for the loop, so no access is checked per row.
        switch v {
        case .exact(let values, _, _):
            var lists = exact
            exact = []
            for i in rows.indices where !(nulls?[i] ?? false) { lists[Int(batch.groups[i])].append(values[i]) }
            exact = lists
        case .double(let values, _):
            var lists = doubles
            doubles = []
            for i in rows.indices where !(nulls?[i] ?? false) { lists[Int(batch.groups[i])].append(values[i]) }
            doubles = lists
        }
        held += rows.count
    }

    private static func append<T: FixedWidthInteger & UnsignedInteger>(_ b: UnsafeBufferPointer<T>, _ base: Int64, _ batch: Batch, _ lists: inout [[Int64]]) {
        let n = batch.count
        guard n > 0, let values = b.baseAddress else { return }
        // The batch's values, in row order. Stored offsets are added to the base as 64-bit
        // patterns, as everywhere else.
        let read = [Int64](unsafeUninitializedCapacity: n) { out, count in
            if let range = batch.range {
                let start = values + range.lowerBound
                for i in 0..<n { out[i] = base &+ Int64(truncatingIfNeeded: start[i]) }
            } else {
                for i in 0..<n { out[i] = base &+ Int64(truncatingIfNeeded: values[Int(batch.rows[i])]) }
            }
            count = n
        }
        if batch.single {
            lists[0].append(contentsOf: read)
            return
        }
        if lists.count > 4096 {
            for i in 0..<n { lists[Int(batch.groups[i])].append(read[i]) }
            return
        }
        // Few groups: sort the batch by group (counting sort), then append one run per group.
        var start = [Int](repeating: 0, count: lists.count + 1)
        for g in batch.groups { start[Int(g) + 1] += 1 }
        for g in 0..<lists.count { start[g + 1] += start[g] }
        var next = start
        let sorted = [Int64](unsafeUninitializedCapacity: n) { out, count in
            for i in 0..<n {
                let g = Int(batch.groups[i])
                out[next[g]] = read[i]
                next[g] += 1
            }
            count = n
        }
        for g in 0..<lists.count where start[g + 1] > start[g] {
            // Grown four-fold, not two: fewer copies of long lists (untouched capacity costs
            // address space, not memory).
            let needed = lists[g].count + start[g + 1] - start[g]
            if lists[g].capacity < needed { lists[g].reserveCapacity(max(needed, lists[g].count * 4)) }
            lists[g].append(contentsOf: sorted[start[g]..<start[g + 1]])
        }
    }

    func absorb(_ other: Accumulator, map: [Int32]) {
        guard let o = other as? ValuesAccumulator else { return }
        for g in o.exact.indices {
            exact[Int(map[g])] += o.exact[g]
            doubles[Int(map[g])] += o.doubles[g]
        }
        held += o.held
    }

    func reduced(map: [Int32], count: Int) -> Accumulator {
        let r = ValuesAccumulator(expr: expr, facts: facts)
        r.resize(count)
        for g in exact.indices where map[g] >= 0 {
            r.exact[Int(map[g])] += exact[g]
            r.doubles[Int(map[g])] += doubles[g]
        }
        r.held = held
        return r
    }

    func value(_ g: Int, _ part: SlotPart) -> Value {
        // Quantiles sort the raw numbers and box only the two they read.
        switch (part, scale) {
        case (.quantile(let fraction, let q), let s?):
            // Selected in place: the list keeps its values, only their order changes.
            return Statistics.trimmed(Statistics.quantile(in: &exact[g], fraction: fraction, scale: q) { .exact(Int128($0), scale: s) }, floor: s)
        case (.quantile(let fraction, let q), nil):
            return Statistics.quantile(in: &doubles[g], fraction: fraction, scale: q) { .double($0) }
        case (.stddev, let s?):
            if let v = Statistics.stddev(exact: exact[g].map { Int128($0) }, scale: s) { return v }
            let one = Value.power(s)
            return Statistics.stddev(exact[g].map { Double($0) / one })
        case (.stddev, nil):
            return Statistics.stddev(doubles[g])
        default:
            let values: [Value] = scale.map { s in exact[g].map { .exact(Int128($0), scale: s) } } ?? doubles[g].map { .double($0) }
            return Statistics.combine(values, part)
        }
    }

    func bytes(groups: Int) -> Int { groups * 48 + held * 8 }

    /// Quantiles are selected for every group at once, on every core.
    var valuesTogether: Bool { true }

    /// The quantiles of every group, the groups' selections spread over the cores when
    /// there are many values (`median(revenue) BY product.category`: 10M values in 11
    /// groups); each group's list is reordered by one worker only.
    func values(_ part: SlotPart, count: Int) -> [Value] {
        let workers = min(count, ProcessInfo.processInfo.activeProcessorCount)
        guard case .quantile(let fraction, let q) = part, let s = scale, workers > 1, held >= 1 << 18 else {
            return (0..<count).map { value($0, part) }
        }
        var lists = exact
        exact = []
        defer { exact = lists }
        return lists.withUnsafeMutableBufferPointer { buffer in
            let job = QuantileJob(lists: buffer, count: count)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var g = w
                while g < count {
                    job.out[g] = Statistics.trimmed(Statistics.quantile(in: &job.lists[g], fraction: fraction, scale: q) { .exact(Int128($0), scale: s) },
                                                    floor: s)
                    g += workers
                }
            }
            return Array(job.out)
        }
    }
}

/// The lists and results of a parallel quantile selection: worker `w` reads and writes
/// only the groups `w`, `w + workers`, ..., so no two touch one element.
private final class QuantileJob: @unchecked Sendable {
    let lists: UnsafeMutableBufferPointer<[Int64]>
    let out: UnsafeMutableBufferPointer<Value>

    init(lists: UnsafeMutableBufferPointer<[Int64]>, count: Int) {
        self.lists = lists
        out = .allocate(capacity: count)
        out.initialize(repeating: .null)
    }

    deinit {
        out.deinitialize()
        out.deallocate()
    }
}
