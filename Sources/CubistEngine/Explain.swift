import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// `EXPLAIN query`: how the query is planned and what running it did, one step per row:
    /// grouping levels and strategy, member masks, row filters, aggregates, chunks scanned
    /// and skipped by zone maps, rows matched, groups, result rows, and time per phase.
    public func explain(_ select: SelectStatement, analyze: Bool = false, parameters: [String: String] = [:]) throws(Diagnostic) -> ResultTable {
        let clock = ContinuousClock()
        let t0 = clock.now
        let query = try bind(select, parameters: parameters)
        let bindTime = clock.now - t0
        let run = try Executor(cube: cube, context: context()).execute(query)
        var rows: [(String, String)] = []
        describe(run, into: &rows, indent: "")
        var phases = [("bind", bindTime)] + run.timings
        if !analyze {
            // Plain EXPLAIN sums the finishing stages; EXPLAIN ANALYZE lists each.
            let finish = phases.filter { $0.0.hasPrefix("finish") }.reduce(Duration.zero) { $0 + $1.1 }
            phases = phases.filter { !$0.0.hasPrefix("finish") && $0.0 != "bind" } + [("finish", finish)]
            if let plan = phases.firstIndex(where: { $0.0 == "plan" }) { phases[plan].1 += bindTime }
        }
        rows.append(("time", phases.map { "\($0.0) \(ms($0.1))" }.joined(separator: ", ")))
        return ResultTable(columns: [ResultColumn(name: "step", kind: .member, format: nil), ResultColumn(name: "detail", kind: .member, format: nil)],
                           rows: rows.map { [.text($0.0), .text($0.1)] }, rowKinds: rows.map { _ in .detail })
    }

    /// The recorded choices and what running did, for one query and (indented) its sub-selects.
    func describe(_ run: Execution, into rows: inout [(String, String)], indent: String) {
        let plan = run.plan, query = plan.query
        for (i, child) in run.children.enumerated() {
            let listed = child.table.columns.isEmpty ? child.groups : child.table.rows.count
            rows.append((indent + "sub-select \(i + 1)", "lists \(query.subSelects[i].levels[0].qualifiedName(in: cube)): \(grouped(listed)) members, run first"))
            describe(child, into: &rows, indent: indent + "  ")
        }
        let levels = query.levels.enumerated().map { j, l in
            "\(l.qualifiedName(in: cube)) (\(grouped(l.level(in: cube).count)) members)\(j >= query.byCount ? " across" : "")"
        }
        rows.append((indent + "group by", levels.isEmpty ? "nothing: one total row" : levels.joined(separator: ", ")))
        switch plan.grouping {
        case .single: break
        case .dense:
            rows.append((indent + "group strategy", "dense array (\"perfect hash\") over a key space of \(grouped(Int(plan.keySpace))) codes"))
        case .hash(let reason):
            rows.append((indent + "group strategy", "hash map: \(reason)"))
        }
        if let rollup = query.rollupStart {
            rows.append((indent + "subtotals", "ROLLUP from level \(rollup + 1): \(query.byCount - rollup) subtotal level(s) from the aggregate states"))
        }
        if let f = query.filter { describe(f, into: &rows, indent: indent) } else { rows.append((indent + "filter", "none: every fact row")) }
        if let w = query.timeWindow {
            let level = query.levels[w.position]
            rows.append((indent + "time window", "WHERE's filter on \(level.qualifiedName(in: cube)) leaves the scan so prev/growth/yoy/running see every period; "
                         + "\(grouped(w.keep.filter { $0 }.count)) of \(grouped(w.keep.count)) members shown"))
        }
        rows.append((indent + "aggregates", zip(query.aggregates, plan.distinct).map { describe($0, $1, plan) }.joined(separator: "; ")))
        rows.append((indent + "chunks", "\(plan.chunks) of \(grouped(PackedColumn.chunkSize)) rows: \(plan.chunks - plan.chunksSkipped) scanned, \(plan.chunksSkipped) skipped by zone maps"))
        rows.append((indent + "threads", "\(plan.workers) (\(plan.slices.count) slices)"))
        if let narrowed = run.scan.narrowed { rows.append((indent + "limit", narrowed)) }
        rows.append((indent + "rows", "\(grouped(run.scan.rowsMatched)) of \(grouped(cube.facts.rowCount)) fact rows matched"))
        rows.append((indent + "groups", grouped(run.groups)))
        if run.table.columns.isEmpty {
            rows.append((indent + "result", "no rows built: the analysis reads the \(grouped(run.groups)) groups as the scan left them"))
        } else {
            rows.append((indent + "result", "\(grouped(run.table.rows.count)) rows, \(run.table.columns.count) columns"))
        }
    }

    func ms(_ d: Duration) -> String {
        let v = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        return String(Int(v * 100) / 100) + "." + String(format2(Int(v * 100) % 100)) + " ms"
    }

    private func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    private func describe(_ f: RowFilter, into rows: inout [(String, String)], indent: String) {
        switch f {
        case .members(let d, let mask):
            let dim = cube.dimensions[d]
            rows.append((indent + "member mask", "\(dim.name): \(grouped(mask.filter { $0 }.count)) of \(grouped(mask.count)) \(dim.leaf.name) members kept (decided once per member)"))
        case .and(let list):
            for child in list { describe(child, into: &rows, indent: indent) }
        case .constant(let b):
            rows.append((indent + "filter", b ? "always true" : "always false: no row can match"))
        default:
            rows.append((indent + "row filter", "tested row by row on fact columns: \(describeRow(f))"))
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
        case .subSelect(let i, _): return "the members of sub-select \(i + 1)"
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

    private func describe(_ a: AggregateKind, _ strategy: DistinctStrategy?, _ plan: PhysicalPlan) -> String {
        switch a {
        case .countRows:
            if let from = plan.countRowsFrom, case .sum(let e) = plan.query.aggregates[from] {
                return "count(*) (read from the row counts of the sum of \(describeRow(e)))"
            }
            return "count(*)"
        case .sum(let e): return "exact sum and count of \(describeRow(e))"
        case .min(let e): return "min(\(describeRow(e)))"
        case .max(let e): return "max(\(describeRow(e)))"
        case .distinctMembers(let l):
            if case .bitset(_, let maxGroups)? = strategy {
                return "distinct \(l.qualifiedName(in: cube)) (bitset per group up to \(grouped(maxGroups)) groups, then a hash set)"
            }
            if case .folded(_, let maxSlots, let fold)? = strategy {
                let names = fold.determined.map { plan.query.levels[$0].qualifiedName(in: cube) }.joined(separator: ", ")
                return "distinct \(l.qualifiedName(in: cube)) (bitset per group of the other levels up to \(grouped(maxSlots)), counts folded by \(names) of each member; then a hash set)"
            }
            return "distinct \(l.qualifiedName(in: cube)) (hash set)"
        case .distinctValues(let c):
            let column = cube.facts.numericColumns[c]
            if column.comesInRuns { return "distinct values of \(column.name) (each value's rows are contiguous: counted where the value changes)" }
            return "distinct values of \(column.name) (hash set)"
        case .member(let l, let last): return "\(last ? "last" : "first") member of \(l.qualifiedName(in: cube))"
        case .values(let e): return "every value of \(describeRow(e)) per group (sorted for quantiles)"
        case .per(let spec):
            let inner = spec.aggregates.map { describe($0, nil, plan) }.joined(separator: ", ")
            return "per \(spec.level.qualifiedName(in: cube)) member: \(inner)\(spec.condition == nil ? "" : ", members tested by a condition")"
                + " (a (group, member) pair index: dense up to \(grouped(plan.perBudget)) entries, then a hash map)"
        case .filtered(let k, let f): return "\(describe(k, strategy, plan)) over rows where \(describeRow(f))"
        }
    }
}
