import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// `EXPLAIN query`: how the query is planned and what running it did, one step per row:
    /// grouping levels and strategy, member masks, row filters, aggregates, chunks scanned
    /// and skipped by zone maps, rows matched, groups, result rows, and time per phase.
    public func explain(_ select: SelectStatement, parameters: [String: String] = [:]) throws(QueryError) -> ResultTable {
        let clock = ContinuousClock()
        let t0 = clock.now
        let plan = try self.plan(select, parameters: parameters)
        let t1 = clock.now
        var stats = Scan.Stats()
        let fine = try Scan(cube: cube, plan: plan).run(stats: &stats)
        let t2 = clock.now
        let (result, _) = Finalizer(cube: cube, plan: plan, fine: fine).run()
        let t3 = clock.now

        var rows: [(String, String)] = []
        let levels = plan.levels.enumerated().map { j, l in
            "\(l.qualifiedName(in: cube)) (\(grouped(l.level(in: cube).count)) members)\(j >= plan.byCount ? " across" : "")"
        }
        rows.append(("group by", levels.isEmpty ? "nothing: one total row" : levels.joined(separator: ", ")))
        if !plan.levels.isEmpty {
            let dense = stats.keySpace <= UInt64(Scan.denseLimit)
            rows.append(("group strategy", dense
                ? "dense array (\"perfect hash\") over a key space of \(grouped(Int(stats.keySpace))) codes"
                : "hash map: the key space of \(stats.keySpace) codes is over the dense limit of \(grouped(Scan.denseLimit))"))
        }
        if let rollup = plan.rollupStart {
            rows.append(("subtotals", "ROLLUP from level \(rollup + 1): \(plan.byCount - rollup) subtotal level(s) from the aggregate states"))
        }
        if let f = plan.filter { describe(f, into: &rows) } else { rows.append(("filter", "none: every fact row")) }
        rows.append(("aggregates", plan.aggregates.map(describe).joined(separator: "; ")))
        rows.append(("chunks", "\(stats.chunks) of \(grouped(PackedColumn.chunkSize)) rows: \(stats.chunks - stats.chunksSkipped) scanned, \(stats.chunksSkipped) skipped by zone maps"))
        rows.append(("threads", "\(stats.workers) (\(stats.slices) slices)"))
        rows.append(("rows", "\(grouped(stats.rowsMatched)) of \(grouped(cube.facts.rowCount)) fact rows matched"))
        rows.append(("groups", grouped(fine.count)))
        rows.append(("result", "\(grouped(result.rows.count)) rows, \(result.columns.count) columns"))
        func ms(_ d: Duration) -> String {
            let v = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
            return String(Int(v * 100) / 100) + "." + String(format2(Int(v * 100) % 100)) + " ms"
        }
        rows.append(("time", "plan \(ms(t1 - t0)), scan \(ms(t2 - t1)), finish \(ms(t3 - t2))"))
        return ResultTable(columns: [ResultColumn(name: "step", kind: .member, format: nil), ResultColumn(name: "detail", kind: .member, format: nil)],
                           rows: rows.map { [.text($0.0), .text($0.1)] }, rowKinds: rows.map { _ in .detail })
    }

    private func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    private func describe(_ f: RowFilter, into rows: inout [(String, String)]) {
        switch f {
        case .members(let d, let mask):
            let dim = cube.dimensions[d]
            rows.append(("member mask", "\(dim.name): \(grouped(mask.filter { $0 }.count)) of \(grouped(mask.count)) \(dim.leaf.name) members kept (decided once per member)"))
        case .and(let list):
            for child in list { describe(child, into: &rows) }
        case .constant(let b):
            rows.append(("filter", b ? "always true" : "always false: no row can match"))
        default:
            rows.append(("row filter", "tested row by row on fact columns: \(describeRow(f))"))
        }
    }

    private func describeRow(_ f: RowFilter) -> String {
        switch f {
        case .members(let d, _): return "a member mask on \(cube.dimensions[d].name)"
        case .compare(let a, let op, let b): return "\(describeRow(a)) \(op.rawValue) \(describeRow(b))"
        case .and(let list): return list.map(describeRow).joined(separator: " AND ")
        case .or(let list): return "(" + list.map(describeRow).joined(separator: " OR ") + ")"
        case .not(let x): return "NOT " + describeRow(x)
        case .constant(let b): return b ? "true" : "false"
        }
    }

    private func describeRow(_ e: RowExpr) -> String {
        switch e {
        case .column(let c): return cube.facts.numericColumns[c].name
        case .constant(let m, let s): return Value.exact(Int128(m), scale: s).description
        case .doubleConstant(let d): return "\(d)"
        case .negate(let x): return "-" + describeRow(x)
        case .binary(let op, let a, let b): return "(\(describeRow(a)) \(op.rawValue) \(describeRow(b)))"
        }
    }

    private func describe(_ a: AggregateKind) -> String {
        switch a {
        case .countRows: return "count(*)"
        case .sum(let e): return "exact sum and count of \(describeRow(e))"
        case .min(let e): return "min(\(describeRow(e)))"
        case .max(let e): return "max(\(describeRow(e)))"
        case .distinctMembers(let l): return "distinct \(l.qualifiedName(in: cube)) (bitset per group)"
        case .distinctValues(let c): return "distinct values of \(cube.facts.numericColumns[c].name) (hash set)"
        case .member(let l, let last): return "\(last ? "last" : "first") member of \(l.qualifiedName(in: cube))"
        }
    }
}
