import CubistCore
import CubistStore
import CubistSyntax

/// OLAP navigation: turns the current view (a SELECT) and one navigation step into the
/// next view, as a new SELECT that runs as is. Names resolve as in queries; a step that
/// makes no sense (rolling up past the top, drilling below the leaf, slicing a member that
/// does not exist) is an error, and the caller keeps the old view.
public struct Navigator {
    let names: Names
    let parameters: [String: String]

    /// A navigator over the engine's cube and session measures.
    public init(engine: QueryEngine, parameters: [String: String] = [:]) {
        names = Names(cube: engine.cube, extraMeasures: engine.sessionMeasures)
        self.parameters = parameters
    }

    var cube: Cube { names.cube }

    /// The view after `step`. (`PIVOT` swaps BY and ACROSS; `BACK` and `SHOW VIEW` are the
    /// session's business and are returned unchanged.)
    public func apply(_ step: Navigation, to view: SelectStatement, at range: SourceRange) throws(Diagnostic) -> SelectStatement {
        // The view's names are checked once, here, and a failure is reported at this
        // statement: the view's own ranges point into the text of an earlier statement.
        // Past this point every error is about this statement's own words.
        do {
            _ = try axisLevels(view)
        } catch {
            throw Diagnostic("the view no longer fits the cube: \(error.message)", at: range, help: "run a new SELECT; SHOW VIEW prints the current one")
        }
        var v = view
        switch step {
        case .slice(let levelExpr, let member):
            let level = try names.requireLevel(levelExpr, role: "SLICE")
            try requireMember(member, of: level, written: levelExpr)
            v.whereClause = and(v.whereClause, .compare(levelExpr, .equal, member))
            v = try removing(dimension: level.dimension, from: v)
        case .dice(let parts):
            for part in parts {
                let level = try names.requireLevel(part.level, role: "DICE")
                for m in part.members { try requireMember(m, of: level, written: part.level) }
                v.whereClause = and(v.whereClause, .inList(part.level, part.members, negated: false))
            }
        case .rollup(let dimExpr, let to, let all):
            let d = try dimension(of: dimExpr)
            let dim = cube.dimensions[d]
            let onAxes = try axisLevels(v).filter { $0.level.dimension == d }
            guard let finest = onAxes.max(by: { rank($0.level) < rank($1.level) }) else {
                throw Diagnostic("\(dim.name) is not on the view's axes (BY or ACROSS)", at: dimExpr.range,
                                 help: "the view is: \(view)")
            }
            if all { return try removing(dimension: d, from: v) }
            let target: LevelRef
            if let to {
                target = try names.requireLevel(to, role: "ROLLUP ... TO")
                guard target.dimension == d, !target.isAttribute, !finest.level.isAttribute, target.index < finest.level.index else {
                    throw Diagnostic("ROLLUP \(dim.name) TO \(to) must name a level of \(dim.name) above \(finest.level.qualifiedName(in: cube))", at: to.range,
                                     help: "levels of \(dim.name), top first: " + dim.levels.map(\.name).joined(separator: " > "))
                }
            } else {
                guard !finest.level.isAttribute else {
                    throw Diagnostic("\(finest.level.qualifiedName(in: cube)) is an attribute: there is no level above it", at: dimExpr.range,
                                     help: "ROLLUP \(dim.name) ALL takes it off the axes")
                }
                guard finest.level.index > 0 else {
                    throw Diagnostic("\(finest.level.qualifiedName(in: cube)) is the top level of \(dim.name): nothing to roll up to", at: dimExpr.range,
                                     help: "ROLLUP \(dim.name) ALL takes \(dim.name) off the axes")
                }
                target = LevelRef(dimension: d, index: finest.level.index - 1, isAttribute: false)
            }
            // Levels of the dimension finer than the target leave; the target takes the
            // finest one's place unless it is already on the axes.
            let present = onAxes.contains { $0.level == target }
            v = try replacing(v, dimension: d) { level in
                if level == finest.level { return present ? nil : target }
                if !level.isAttribute, level.index > target.index { return nil }
                return level
            }
        case .drilldown(let dimExpr, let to, let member):
            let d = try dimension(of: dimExpr)
            let dim = cube.dimensions[d]
            let onAxes = try axisLevels(v).filter { $0.level.dimension == d && !$0.level.isAttribute }
            let current = onAxes.max(by: { $0.level.index < $1.level.index })
            var target: LevelRef
            if let to {
                target = try names.requireLevel(to, role: "DRILLDOWN ... TO")
                guard target.dimension == d, !target.isAttribute, target.index > (current?.level.index ?? -1) else {
                    throw Diagnostic("DRILLDOWN \(dim.name) TO \(to) must name a level of \(dim.name) below \(current.map { $0.level.qualifiedName(in: cube) } ?? "the top")",
                                     at: to.range, help: "levels of \(dim.name), top first: " + dim.levels.map(\.name).joined(separator: " > "))
                }
            } else {
                let next = (current?.level.index ?? -1) + 1
                guard next < dim.levels.count else {
                    throw Diagnostic("\(current?.level.qualifiedName(in: cube) ?? dim.name) is the finest level of \(dim.name): nothing below it", at: dimExpr.range,
                                     help: "ROLLUP \(dim.name) goes back up")
                }
                target = LevelRef(dimension: d, index: next, isAttribute: false)
            }
            let targetExpr = Expr.name([dim.name, target.level(in: cube).name], range)
            if let member {
                guard let current else {
                    throw Diagnostic("DRILLDOWN \(dim.name) = \(member) needs \(dim.name) on the view's axes", at: member.range,
                                     help: "first group by it, e.g. BY \(dim.name).\(dim.levels[0].name)")
                }
                try requireMember(member, of: current.level, written: current.expr)
                v.whereClause = and(v.whereClause, .compare(current.expr, .equal, member))
                v = try replacing(v, dimension: d) { level in
                    if level == current.level { return target }
                    if !level.isAttribute, level.index > current.level.index { return nil }
                    return level
                }
            } else if let current {
                v = try inserting(targetExpr, after: current.level, in: v)
            } else {
                v.by.append(.level(targetExpr))
            }
        case .pivot:
            guard !v.by.isEmpty || !v.across.isEmpty else {
                throw Diagnostic("the view has neither BY nor ACROSS levels to swap", at: range)
            }
            var rows: [Expr] = []
            for item in v.by {
                guard case .level(let e) = item else {
                    throw Diagnostic("PIVOT cannot move ROLLUP subtotals to the columns", at: range, help: "ROLLUP ... ALL or BACK first")
                }
                rows.append(e)
            }
            v.by = v.across.map { .level($0) }
            v.across = rows
        case .back, .showView, .drillthrough:
            break
        }
        return v
    }

    // MARK: helpers

    private func and(_ a: Condition?, _ b: Condition) -> Condition {
        a.map { .and($0, b) } ?? b
    }

    /// The dimension a navigation names: a dimension, or the dimension of a level.
    private func dimension(of e: Expr) throws(Diagnostic) -> Int {
        if case .name(let path, _) = e, path.count == 1, let d = cube.dimensions.firstIndex(where: { $0.name.caseInsensitiveEquals(path[0]) }) {
            return d
        }
        return try names.requireLevel(e, role: "navigation").dimension
    }

    private func rank(_ l: LevelRef) -> Int { l.isAttribute ? -1 : l.index }

    /// The levels on the view's axes (BY, ROLLUP and ACROSS), with the expressions naming them.
    private func axisLevels(_ v: SelectStatement) throws(Diagnostic) -> [(expr: Expr, level: LevelRef)] {
        var out: [(Expr, LevelRef)] = []
        for item in v.by {
            switch item {
            case .level(let e): out.append((e, try names.requireLevel(e, role: "BY")))
            case .rollup(let list, _): for e in list { out.append((e, try names.requireLevel(e, role: "ROLLUP"))) }
            }
        }
        for e in v.across { out.append((e, try names.requireLevel(e, role: "ACROSS"))) }
        for item in v.items {
            if case .name(let path, let r) = item.expr, path.count > 1 || names.measure(path[0]) == nil,
               let level = try names.level(path, at: r) {
                out.append((item.expr, level))
            }
        }
        return out
    }

    /// The view with every axis level of dimension `d` mapped by `change` (nil removes it).
    private func replacing(_ v: SelectStatement, dimension d: Int, _ change: (LevelRef) -> LevelRef?) throws(Diagnostic) -> SelectStatement {
        var out = v
        func map(_ e: Expr, _ role: String) throws(Diagnostic) -> Expr? {
            let level = try names.requireLevel(e, role: role)
            guard level.dimension == d else { return e }
            guard let new = change(level) else { return nil }
            if new == level { return e }
            return .name([cube.dimensions[d].name, new.level(in: cube).name], e.range)
        }
        var by: [GroupItem] = []
        for item in v.by {
            switch item {
            case .level(let e): if let m = try map(e, "BY") { by.append(.level(m)) }
            case .rollup(let list, let r):
                var kept: [Expr] = []
                for e in list { if let m = try map(e, "ROLLUP") { kept.append(m) } }
                if !kept.isEmpty { by.append(.rollup(kept, r)) }
            }
        }
        out.by = by
        var across: [Expr] = []
        for e in v.across { if let m = try map(e, "ACROSS") { across.append(m) } }
        out.across = across
        var items: [SelectItem] = []
        for item in v.items {
            if case .name(let path, let r) = item.expr, path.count > 1 || names.measure(path[0]) == nil,
               try names.level(path, at: r) != nil {
                if let m = try map(item.expr, "SELECT") { items.append(SelectItem(expr: m, alias: item.alias)) }
                continue
            }
            items.append(item)
        }
        out.items = items
        if out.items.isEmpty, let first = v.items.first { out.items = [first] }
        return out
    }

    private func removing(dimension d: Int, from v: SelectStatement) throws(Diagnostic) -> SelectStatement {
        try replacing(v, dimension: d) { _ in nil }
    }

    /// The view with `e` inserted right after the axis item naming `level`.
    private func inserting(_ e: Expr, after level: LevelRef, in v: SelectStatement) throws(Diagnostic) -> SelectStatement {
        var out = v
        for (i, item) in v.by.enumerated() {
            switch item {
            case .level(let x) where try names.requireLevel(x, role: "BY") == level:
                out.by.insert(.level(e), at: i + 1)
                return out
            case .rollup(var list, let r):
                for (j, x) in list.enumerated() where try names.requireLevel(x, role: "ROLLUP") == level {
                    list.insert(e, at: j + 1)
                    out.by[i] = .rollup(list, r)
                    return out
                }
            default: continue
            }
        }
        for (i, x) in v.across.enumerated() where try names.requireLevel(x, role: "ACROSS") == level {
            out.across.insert(e, at: i + 1)
            return out
        }
        out.by.append(.level(e))
        return out
    }

    /// The member must exist in the level (a navigation step on a missing member is refused).
    private func requireMember(_ e: Expr, of level: LevelRef, written: Expr) throws(Diagnostic) {
        let text = try Binder.literal(e, parameters)
        var warnings: [Diagnostic] = []
        let mask = try MemberSet(level: level.level(in: cube), name: written.description).compare(.equal, text, at: e.range, warnings: &warnings)
        if let w = warnings.first, !mask.contains(true) {
            throw Diagnostic(w.message, at: w.range ?? e.range, help: w.help)
        }
    }
}
