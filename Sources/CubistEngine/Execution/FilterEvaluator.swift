import CubistStore
import CubistSyntax

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
        case .subSelect:
            // The executor turns every sub-select into a mask before the scan starts.
            assertionFailure("a sub-select reached the scan unresolved")
            return [Bool](repeating: false, count: rows.count)
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
