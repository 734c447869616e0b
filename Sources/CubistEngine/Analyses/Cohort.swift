import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// Most period columns a COHORT table may have.
    static let cohortMaxPeriods = 400

    /// `COHORT level BY period [MEASURE m] [WHERE c]`: the members of `level` with facts
    /// under WHERE, grouped by the period (a year, quarter or month) of their first purchase;
    /// per cohort its size and, for each period since the first (`0`, `1`, ...), the share of
    /// its members active in that period, or `m` over the cohort's facts in that period.
    /// Periods after the latest one with facts are empty: the table is a triangle.
    ///
    /// Two scans: the first period of each member (`min(period) BY level`), which becomes an
    /// attribute of the level's dimension for the statement; then `count(distinct level)`
    /// (and `m`) by that attribute and the period, planned like the cohort matrix.
    func cohort(level: Expr, period: Expr, measure: Expr?, condition: Condition?, parameters: [String: String],
                at range: SourceRange) throws(Diagnostic) -> AnalysisRun {
        let help = "e.g. COHORT customer.customer BY time.month"
        let ref = try analysedLevel(level, statement: "COHORT", help: help)
        let names = Names(cube: cube, extraMeasures: sessionMeasures)
        guard case .name(let path, let r) = period, let periodRef = try names.level(path, at: r), let grain = TimeGrain.of(periodRef, in: cube),
              grain != .day else {
            throw Diagnostic("COHORT groups members by the year, quarter or month of their first purchase; '\(period)' is none of these", at: period.range,
                             help: cube.dimensions.first(where: \.isTime).map { "e.g. COHORT \(level) BY \($0.name).month" }
                                 ?? "the cube has no time dimension: add one to the model, e.g. { \"name\": \"time\", \"type\": \"time\", \"column\": \"date\" }")
        }
        guard ref.dimension != periodRef.dimension else {
            throw Diagnostic("COHORT follows customers (or products, or stores) over time; \(level) is a level of time", at: level.range, help: help)
        }
        let analytic = "COHORT follows each cohort's own facts; share, rank and time functions have no place in it"
        // 1. Each member's first period.
        let first = try memberValues(of: [SelectItem(expr: .call("min", [period], distinct: false, star: false, period.range), alias: nil)],
                                     by: level, where: condition, analytic: analytic, help: help, parameters: parameters, at: range)
        let periodLevel = periodRef.level(in: cube)
        guard let firstCodes = first.memberCodes(0) else {
            throw Diagnostic("COHORT could not read each member's first \(periodLevel.name)", at: period.range, help: "this is a bug in Cubist; please report it")
        }
        var firstOf = [Int32](repeating: -1, count: ref.level(in: cube).count)  // per member of the level: its first period's code
        for g in 0..<first.count { firstOf[Int(first.member(g))] = firstCodes[g] }
        let cohorts = Set(firstOf.filter { $0 >= 0 }).sorted()
        let columnsBefore = [ResultColumn(name: "cohort", kind: .member, format: nil), ResultColumn(name: "size", kind: .measure, format: .integer)]
        var run = AnalysisRun(table: ResultTable(columns: columnsBefore, rows: [], rowKinds: []), scans: [first.explained])
        guard !cohorts.isEmpty else {
            run.table = ResultTable(columns: columnsBefore, rows: [], rowKinds: [],
                                    warnings: first.warnings + [.warning("no member of \(level) has facts\(condition == nil ? "" : " under WHERE"), so there is no cohort", at: range)])
            return run
        }
        // 2. The first period as an attribute of the level's dimension, for this statement only.
        var position = [Int32](repeating: -1, count: periodLevel.count)
        for (i, c) in cohorts.enumerated() { position[Int(c)] = Int32(i) }
        let dim = cube.dimensions[ref.dimension]
        let leafToMember = ref.isLeaf(in: cube) ? nil : ref.leafMap(in: cube)
        let leafCodes = (0..<dim.leaf.count).map { leaf -> Int32 in
            let member = leafToMember.map { Int($0[leaf]) } ?? leaf
            let c = firstOf[member]
            return c < 0 ? -1 : position[Int(c)]
        }
        var attribute = "first_\(periodLevel.name)"
        while dim.level(named: attribute) != nil { attribute += "_" }
        let extended = QueryEngine.adding(attribute: attribute, members: cohorts.map { periodLevel.members[Int($0)] }, codes: leafCodes,
                                          order: .chronological, definition: "min(\(period))", session: true, to: dim, at: ref.dimension, of: cube)
        let cohortExpr = Expr.name([dim.name, attribute], range)
        var items = [SelectItem(expr: .call("count", [level], distinct: true, star: false, range), alias: "active")]
        if let measure { items.append(SelectItem(expr: measure, alias: nil)) }
        let cells = try over(extended).groupValues(of: items, by: [cohortExpr, period], where: condition, analytic: analytic, help: help,
                                                   parameters: parameters, at: range)
        if let measure, cells.columns[1].contains(where: { if case .text = $0 { return true } else { return false } }) {
            throw Diagnostic("COHORT MEASURE needs a number; '\(measure)' is a member or a date", at: measure.range, help: "e.g. MEASURE revenue")
        }
        run.scans.append(cells.explained)

        // 3. The triangle: offsets from each cohort's first period, up to the latest period.
        let ordinal = periodLevel.members.map { grain.ordinal(of: $0) ?? 0 }
        let cohortOrdinal = cohorts.map { ordinal[Int($0)] }
        var latest = Int.min
        for g in 0..<cells.count { latest = max(latest, ordinal[Int(cells.groups.code(g, 1))]) }
        let width = latest - cohortOrdinal[0] + 1
        guard width <= QueryEngine.cohortMaxPeriods else {
            throw Diagnostic("COHORT BY \(period) would have \(grouped(width)) period columns, more than \(QueryEngine.cohortMaxPeriods)", at: period.range,
                             help: "use a coarser period, e.g. BY \(cube.dimensions[periodRef.dimension].name).\(grain == .month ? "quarter" : "year")")
        }
        var active = [[Int64]](repeating: [Int64](repeating: 0, count: width), count: cohorts.count)
        var values = [[Value]](repeating: [Value](repeating: .null, count: width), count: cohorts.count)
        for g in 0..<cells.count {
            let c = Int(cells.groups.code(g, 0)), offset = ordinal[Int(cells.groups.code(g, 1))] - cohortOrdinal[c]
            guard c < cohorts.count, offset >= 0 else { continue }  // every member's facts start in its cohort
            if case .exact(let n, 0) = cells.columns[0][g] { active[c][offset] = Int64(n) }
            if measure != nil { values[c][offset] = cells.columns[1][g] }
        }
        let format = measure == nil ? MeasureFormat.percent : cells.item(1).format
        let columns = columnsBefore + (0..<width).map { ResultColumn(name: "\($0)", kind: .measure, format: format) }
        var rows: [[Value]] = []
        for c in cohorts.indices {
            let size = active[c][0]
            var row: [Value] = [.text(periodLevel.members[Int(cohorts[c])]), .integer(Int(size))]
            for k in 0..<width {
                if cohortOrdinal[c] + k > latest { row.append(.null); continue }
                row.append(measure == nil ? .double(size == 0 ? 0 : Double(active[c][k]) / Double(size)) : values[c][k])
            }
            rows.append(row)
        }
        run.table = ResultTable(columns: columns, rows: rows, rowKinds: rows.map { _ in .detail }, warnings: first.warnings + cells.warnings)
        run.steps = [("cohorts", "\(grouped(first.count)) members by their first \(periodLevel.name): \(cohorts.count) cohorts, an attribute \(dim.name).\(attribute) for the second query"),
                     ("triangle", "\(width) periods since the first (0 to \(width - 1)), up to the latest \(periodLevel.name) with facts; "
                      + (measure.map { "each cell \($0) of the cohort in that period" } ?? "each cell the cohort's active members over its size"))]
        run.finish = ContinuousClock.now - cells.scanned
        return run
    }
}
