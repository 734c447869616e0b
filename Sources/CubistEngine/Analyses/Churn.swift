import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// The windows of a CHURN without WINDOW or BETWEEN, in days.
    static let churnDefaultDays = 365

    /// `CHURN level [WINDOW n DAYS | BETWEEN p AND q] [BY levels] [LIST] [WHERE c]`: the
    /// members of `level` with facts in the earlier window (under WHERE) and none in the
    /// later one. Per group of the BY levels (levels or attributes the members have one of
    /// each), and in total: `active_before`, `churned`, `churn_rate` and `lost_<m>`, the
    /// churned members' money measure in the earlier window. LIST prints the churned members
    /// instead, with their last purchase and that value, largest first.
    ///
    /// One grouped scan over the two windows: per member the rows and the money measure of
    /// each window (measures with FILTER) and the last purchase day.
    func churn(level: Expr, window: ChurnWindow?, by: [Expr], list: Bool, condition: Condition?, parameters: [String: String],
               at range: SourceRange) throws(Diagnostic) -> AnalysisRun {
        let help = "e.g. CHURN customer.customer WINDOW 180 DAYS BY customer.tier"
        let ref = try analysedLevel(level, statement: "CHURN", help: help)
        let (t, firstDay) = try timeDimension(for: "CHURN", needs: "to tell when it stopped", follows: "follows customers (or products, or stores) over time",
                                              level: ref, level, help: help)
        let members = ref.level(in: cube)
        // The groups: levels or attributes that give each member one group.
        let names = Names(cube: cube, extraMeasures: sessionMeasures)
        var groupOf: [[Int32]] = []  // per BY level, per member of `level`: its group member
        var byLevels: [(name: String, labels: [String])] = []
        for e in by {
            guard case .name(let path, let r) = e, let b = try names.level(path, at: r) else {
                throw Diagnostic("CHURN groups members by levels; '\(e)' is not a level", at: e.range, help: help)
            }
            guard b.dimension == ref.dimension, b != ref else {
                throw Diagnostic("CHURN groups the members of \(level) by what each of them is (a coarser level or an attribute of \(cube.dimensions[ref.dimension].name)); \(e) is not one",
                                 at: e.range, help: "e.g. CHURN \(level) BY \(cube.dimensions[ref.dimension].name).\(cube.dimensions[ref.dimension].attributes.first?.name ?? cube.dimensions[ref.dimension].levels[0].name)")
            }
            let leafToMember = ref.isLeaf(in: cube) ? nil : ref.leafMap(in: cube), leafToGroup = b.leafMap(in: cube)
            var map = [Int32](repeating: -1, count: members.count)
            for leaf in leafToGroup.indices {
                let m = Int(leafToMember.map { $0[leaf] } ?? Int32(leaf)), g = leafToGroup[leaf]
                if map[m] >= 0 && map[m] != g {
                    throw Diagnostic("a member of \(level) ('\(members.members[m])') has several \(e) (\(b.level(in: cube).members[Int(map[m])]), \(b.level(in: cube).members[Int(g)])), so it has no one group",
                                     at: e.range, help: "group by a coarser level of \(level), or churn a finer level, e.g. CHURN \(cube.dimensions[ref.dimension].name).\(cube.dimensions[ref.dimension].leaf.name) BY \(e)")
                }
                map[m] = g
            }
            groupOf.append(map)
            byLevels.append(("\(e)", b.level(in: cube).members))
        }
        guard cube.facts.rowCount > 0 else {
            throw Diagnostic("the cube has no facts, so it has no latest date to count windows back from", at: range)
        }
        let latest = Int(firstDay) + Int(cube.facts.dimensionCodes[t].maximum)
        let (before, after, windows) = try churnWindows(window, latest: latest, parameters: parameters, at: range)
        let money = try moneyMeasure(for: "CHURN", keyword: nil, at: level.range)

        // One scan of both windows: rows before, rows after, money before, last purchase.
        let dayName = [cube.dimensions[t].name, cube.dimensions[t].leaf.name]
        func inWindow(_ w: ClosedRange<Int>) -> Condition {
            .between(.name(dayName, range), low: .string(CivilDate.isoDate(w.lowerBound), range), high: .string(CivilDate.isoDate(w.upperBound), range), negated: false)
        }
        func call(_ name: String, _ args: [Expr], star: Bool = false) -> Expr { .call(name, args, distinct: false, star: star, range) }
        let items = [SelectItem(expr: .filtered(call("count", [], star: true), inWindow(before), range), alias: "rows_before"),
                     SelectItem(expr: .filtered(call("count", [], star: true), inWindow(after), range), alias: "rows_after"),
                     SelectItem(expr: .filtered(money, inWindow(before), range), alias: "\(money)_before"),
                     SelectItem(expr: call("max", [.name(dayName, range)]), alias: "last_purchase")]
        let both = Condition.or(inWindow(before), inWindow(after))
        let scanned = try memberValues(of: items, by: level, where: condition.map { .and($0, both) } ?? both,
                                       analytic: "CHURN works on each member's own facts", help: help, parameters: parameters, at: range)
        // One pass over the members: who was active before, who of them churned, and the
        // counts per group of the BY members (keyed by their codes).
        struct Tally { var active = 0, churned = 0; var lost = Value.integer(0) }
        var tallies: [[Int32]: Tally] = [:]
        var total = Tally()
        var churned: [Int] = []  // groups of the scan
        for g in 0..<scanned.count where (Value.compare(scanned.columns[0][g], .integer(0)) ?? 0) > 0 {
            let m = Int(scanned.member(g))
            let key = groupOf.map { $0[m] }
            var tally = tallies[key] ?? Tally()
            tally.active += 1
            total.active += 1
            if (Value.compare(scanned.columns[1][g], .integer(0)) ?? 0) == 0 {
                churned.append(g)
                tally.churned += 1
                total.churned += 1
                let v = scanned.columns[2][g]
                if !v.isNull {
                    tally.lost = Value.arithmetic(.add, tally.lost, v)
                    total.lost = Value.arithmetic(.add, total.lost, v)
                }
            }
            tallies[key] = tally
        }
        let active = total.active
        var run = AnalysisRun(table: ResultTable(columns: [], rows: [], rowKinds: []), scans: [scanned.explained])
        run.steps = [("windows", windows),
                     ("churned", "\(grouped(churned.count)) of \(grouped(active)) members active before have no facts after")]
        var warnings = scanned.warnings
        if active == 0 {
            warnings.append(.warning("no member of \(level) has facts in the earlier window\(condition == nil ? "" : " under WHERE"), so none can churn", at: range,
                                     help: windows))
        }
        let moneyFormat = scanned.item(2).format
        if list {
            guard churned.count <= limits.maxResultRows else {
                throw Diagnostic("CHURN would list \(grouped(churned.count)) members, more than max_result_rows (\(grouped(limits.maxResultRows)))", at: range,
                                 help: "without LIST it counts them per group; or narrow with WHERE, or SET max_result_rows")
            }
            let keys = SortKeys(scanned.columns[2])
            let order = churned.sorted { a, b in
                let c = keys.compare(a, b)
                return c != 0 ? c > 0 : scanned.member(a) < scanned.member(b)
            }
            let columns = [ResultColumn(name: members.name, kind: .member, format: nil)]
                + byLevels.map { ResultColumn(name: $0.name, kind: .member, format: nil) }
                + [ResultColumn(name: "last_purchase", kind: .member, format: nil), ResultColumn(name: "\(money)_before", kind: .measure, format: moneyFormat)]
            let rows = order.map { g -> [Value] in
                let m = Int(scanned.member(g))
                return [.text(members.members[m])] + byLevels.indices.map { .text(byLevels[$0].labels[Int(groupOf[$0][m])]) }
                    + [scanned.columns[3][g], scanned.columns[2][g]]
            }
            run.table = ResultTable(columns: columns, rows: rows, rowKinds: rows.map { _ in .detail }, warnings: warnings)
            run.finish = ContinuousClock.now - scanned.scanned
            return run
        }
        // The groups in their members' order, then a total.
        func row(_ t: Tally) -> [Value] {
            [.integer(t.active), .integer(t.churned), t.active == 0 ? .null : .double(Double(t.churned) / Double(t.active)), t.lost]
        }
        let columns = byLevels.map { ResultColumn(name: $0.name, kind: .member, format: nil) }
            + [ResultColumn(name: "active_before", kind: .measure, format: .integer), ResultColumn(name: "churned", kind: .measure, format: .integer),
               ResultColumn(name: "churn_rate", kind: .measure, format: .percent), ResultColumn(name: "lost_\(money)", kind: .measure, format: moneyFormat)]
        var rows: [[Value]] = []
        var kinds: [RowKind] = []
        for key in tallies.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            rows.append(key.indices.map { Value.text(byLevels[$0].labels[Int(key[$0])]) } + row(tallies[key]!))  // safe: the key comes from the dictionary
            kinds.append(.detail)
        }
        if by.isEmpty {
            rows = [row(total)]
            kinds = [.detail]
        } else if !tallies.isEmpty {
            rows.append(by.map { _ in Value.null } + row(total))
            kinds.append(.total)
        }
        run.table = ResultTable(columns: columns, rows: rows, rowKinds: kinds, warnings: warnings)
        run.finish = ContinuousClock.now - scanned.scanned
        return run
    }

    /// The earlier and later windows as day numbers, and how EXPLAIN words them.
    private func churnWindows(_ window: ChurnWindow?, latest: Int, parameters: [String: String],
                              at range: SourceRange) throws(Diagnostic) -> (ClosedRange<Int>, ClosedRange<Int>, String) {
        switch window {
        case .between(let p, let q)?:
            func period(_ e: Expr) throws(Diagnostic) -> (TimeGrain, Int, String) {
                var text: String
                switch e {
                case .string(let s, _): text = s
                case .number, .parameter: text = try Binder.numberText(e, parameters)
                case .call, .binary:
                    // A period computed from a date: quarter($month) - 1, latest(time.year).
                    let binder = Binder(names: Names(cube: cube, extraMeasures: sessionMeasures), parameters: parameters)
                    guard let (label, _) = try binder.dateConstant(e) else { fallthrough }
                    text = label
                default: throw Diagnostic("CHURN BETWEEN takes two periods, such as 2024 or '2025-Q1', found '\(e)'", at: e.range,
                                          help: "e.g. CHURN customer.customer BETWEEN 2024 AND 2025")
                }
                text = text.trimmingSpaces
                guard let grain = TimeGrain.of(label: text), let o = grain.ordinal(of: text) else {
                    throw Diagnostic("'\(text)' is not a period: write a year (2024), a quarter ('2024-Q1'), a month ('2024-03') or a day ('2024-03-15')",
                                     at: e.range, help: "e.g. CHURN customer.customer BETWEEN '2025-Q1' AND '2025-Q2'")
                }
                return (grain, o, text)
            }
            let (g1, o1, t1) = try period(p), (g2, o2, t2) = try period(q)
            guard g1 == g2 else {
                throw Diagnostic("CHURN BETWEEN compares two periods of one kind; '\(t1)' and '\(t2)' are not", at: q.range,
                                 help: "e.g. BETWEEN 2024 AND 2025, or BETWEEN '2025-Q1' AND '2025-Q2'")
            }
            guard o1 < o2 else {
                throw Diagnostic("CHURN BETWEEN names the earlier period first; '\(t1)' is not before '\(t2)'", at: q.range,
                                 help: "e.g. BETWEEN \(t2) AND \(t1)")
            }
            let first = g1.firstDay(o1)...(g1.firstDay(o1 + 1) - 1), second = g1.firstDay(o2)...(g1.firstDay(o2 + 1) - 1)
            return (first, second, "active in \(t1) (\(CivilDate.isoDate(first.lowerBound)) to \(CivilDate.isoDate(first.upperBound))), "
                    + "churned if not in \(t2) (\(CivilDate.isoDate(second.lowerBound)) to \(CivilDate.isoDate(second.upperBound)))")
        case .days(let e)?:
            let text = try Binder.numberText(e, parameters)
            guard let n = Int(text), n >= 1, n <= 36_500 else {
                throw Diagnostic("CHURN WINDOW takes a whole number of days from 1 to 36,500, found '\(text)'", at: e.range, help: "e.g. WINDOW 180 DAYS")
            }
            return churnDays(n, latest: latest)
        case nil:
            return churnDays(QueryEngine.churnDefaultDays, latest: latest)
        }
    }

    private func churnDays(_ n: Int, latest: Int) -> (ClosedRange<Int>, ClosedRange<Int>, String) {
        let after = (latest - n + 1)...latest, before = (latest - 2 * n + 1)...(latest - n)
        return (before, after, "active in the \(grouped(n)) days \(CivilDate.isoDate(before.lowerBound)) to \(CivilDate.isoDate(before.upperBound)), "
                + "churned if not in the \(grouped(n)) days \(CivilDate.isoDate(after.lowerBound)) to \(CivilDate.isoDate(after.upperBound)), the latest date")
    }
}
