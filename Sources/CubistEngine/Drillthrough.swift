import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// The fact rows behind result row `row` (1-based) of `view`: the rows its WHERE keeps
    /// whose members at the row's BY levels are the row's (none for a total row), at most
    /// `limit` of them, in file order. Each row shows every dimension's leaf member and the
    /// numeric fact columns.
    public func drillthrough(_ view: SelectStatement, row rowExpr: Expr?, limit limitExpr: Expr?, parameters: [String: String] = [:],
                             at range: SourceRange) throws(Diagnostic) -> ResultTable {
        let row = try rowExpr.map { (e: Expr) throws(Diagnostic) in try Binder.wholeNumber(e, "ROW", parameters) } ?? 1
        let limit = try limitExpr.map { (e: Expr) throws(Diagnostic) in try Binder.wholeNumber(e, "LIMIT", parameters) } ?? 100
        let context = self.context()
        guard limit <= context.limits.maxResultRows else {
            throw Diagnostic("DRILLTHROUGH LIMIT \(grouped(limit)) is more than max_result_rows (\(grouped(context.limits.maxResultRows)))", at: range,
                             help: "ask for fewer rows, or SET max_result_rows = \(limit)")
        }
        // The view is another statement's text: its errors are reported at this statement.
        let run: Execution
        do {
            run = try Executor(cube: cube, context: context).execute(try bind(view, parameters: parameters))
        } catch {
            throw Diagnostic(error.message, at: range, help: error.help)
        }
        let plan = run.plan.query
        let (result, keys, othersKeys) = (run.table, run.keys, run.othersKeys)
        guard row >= 1, row <= result.rows.count else {
            throw Diagnostic("the view has \(result.rows.count) row\(result.rows.count == 1 ? "" : "s"); there is no row \(row)", at: range,
                             help: result.rows.isEmpty ? "the view is empty" : "DRILLTHROUGH ROW 1 ... ROW \(result.rows.count)")
        }
        // The Others row stands for every group outside the top: a row belongs when its BY
        // codes are one of those groups' keys.
        let others: Set<[Int32]>? = result.rowKinds[row - 1] == .others ? Set(othersKeys) : nil
        let key = others == nil ? (keys[row - 1] ?? []) : []
        let facts = cube.facts
        let filter = FilterEvaluator(facts: facts)
        let byMaps = plan.levels.prefix(plan.byCount).map { $0.isLeaf(in: cube) ? nil : $0.leafMap(in: cube) }
        var picked: [Int32] = []
        var start = 0
        scan: while start < facts.rowCount, picked.count < limit {
            try context.check(range)
            let end = min(facts.rowCount, start + PackedColumn.chunkSize)
            var rows = (start..<end).map { Int32($0) }
            start = end
            if let f = plan.filter {
                let keep: [Bool]
                do { keep = try filter.keep(f, rows) } catch { throw Diagnostic("arithmetic overflow in a row expression", at: range) }
                rows = rows.indices.compactMap { keep[$0] ? rows[$0] : nil }
            }
            var codes: [Int32] = []
            var match = [Bool](repeating: true, count: rows.count)
            for (j, code) in key.enumerated() {
                Gather.codes(facts.dimensionCodes[plan.levels[j].dimension], rows, into: &codes)
                for i in rows.indices where match[i] {
                    let c = byMaps[j].map { $0[Int(codes[i])] } ?? codes[i]
                    if c != code { match[i] = false }
                }
            }
            if let others {
                var byCodes = [[Int32]](repeating: [], count: plan.byCount)
                for j in 0..<plan.byCount {
                    Gather.codes(facts.dimensionCodes[plan.levels[j].dimension], rows, into: &byCodes[j])
                }
                for i in rows.indices where match[i] {
                    let k = (0..<plan.byCount).map { j in byMaps[j].map { $0[Int(byCodes[j][i])] } ?? byCodes[j][i] }
                    if !others.contains(k) { match[i] = false }
                }
            }
            for i in rows.indices where match[i] {
                picked.append(rows[i])
                if picked.count >= limit { break scan }
            }
        }
        var columns = cube.dimensions.map { ResultColumn(name: "\($0.name).\($0.leaf.name)", kind: .member, format: nil) }
        columns += facts.numericColumns.map { column in
            let format = cube.measures.first { m in
                if case .aggregate(.sum, .column(let c)) = m.definition { return c == column.name }
                return false
            }?.format
            return ResultColumn(name: column.name, kind: .measure, format: format)
        }
        let rows: [[Value]] = picked.map { r in
            var out: [Value] = cube.dimensions.enumerated().map { d, dim in .text(dim.leaf.members[Int(facts.dimensionCodes[d][Int(r)])]) }
            for column in facts.numericColumns {
                out.append(column.value(at: Int(r)).map { .exact(Int128($0.mantissa), scale: $0.scale) } ?? .null)
            }
            return out
        }
        return ResultTable(columns: columns, rows: rows, rowKinds: rows.map { _ in .detail })
    }
}
