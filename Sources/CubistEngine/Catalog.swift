import CubistCore
import CubistStore
import CubistSyntax

/// Answers the metadata statements with result tables, so they print in every format.
public enum Catalog {
    private static func text(_ s: String) -> Value { .text(s) }
    private static func member(_ name: String) -> ResultColumn { ResultColumn(name: name, kind: .member, format: nil) }
    private static func count(_ name: String) -> ResultColumn { ResultColumn(name: name, kind: .measure, format: .integer) }

    /// The result of a metadata statement on the engine's cube.
    /// `cubes` are all the loaded cubes (for `SHOW CUBES`); the engine's is the current one.
    public static func answer(_ m: Metadata, engine: QueryEngine, cubes: [Cube] = [], parameters: [String: String] = [:]) throws(Diagnostic) -> ResultTable {
        let cube = engine.cube
        switch m {
        case .cubes:
            let all = cubes.isEmpty ? [cube] : cubes
            let rows: [[Value]] = all.map { c in
                [text(c.name), .integer(c.facts.rowCount), .integer(c.dimensions.count), .integer(c.measures.count), text(c.origin),
                 text(c.name == cube.name ? "yes" : "")]
            }
            return ResultTable(columns: [member("cube"), count("facts"), count("dimensions"), count("measures"), member("source"), member("current")],
                               rows: rows, rowKinds: rows.map { _ in .detail })
        case .dimensions:
            let rows: [[Value]] = cube.dimensions.map { d in
                let source: String
                switch d.source {
                case .table(let file, let key): source = "table \(file), key \(key)"
                case .inline: source = "fact columns"
                case .time(let column, _): source = "time, from column \(column)"
                }
                return [text(d.name), text(d.levels.map(\.name).joined(separator: " > ")), text(d.attributes.map { $0.name + ($0.isSession ? " (session)" : "") }.joined(separator: ", ")),
                        .integer(d.leaf.count), text(source)]
            }
            return ResultTable(columns: [member("dimension"), member("levels"), member("attributes"), count("members"), member("source")],
                               rows: rows, rowKinds: rows.map { _ in .detail })
        case .measures:
            let all = cube.measures.map { ($0, "model") } + engine.sessionMeasures.map { ($0, "session") }
            let rows: [[Value]] = all.map { m, origin in
                let aggregate: String
                switch m.definition {
                case .aggregate(let a, _): aggregate = a.rawValue
                case .expression: aggregate = "expression"
                }
                return [text(m.name), text(aggregate), text(m.source), text(m.format?.rawValue ?? ""), text(origin)]
            }
            return ResultTable(columns: [member("measure"), member("aggregate"), member("definition"), member("format"), member("defined in")],
                               rows: rows, rowKinds: rows.map { _ in .detail })
        case .describe(let e):
            let names = Names(cube: cube, extraMeasures: engine.sessionMeasures)
            let d: Int
            if case .name(let path, _) = e, path.count == 1, let i = cube.dimensions.firstIndex(where: { $0.name.caseInsensitiveEquals(path[0]) }) {
                d = i
            } else if case .name(let path, _) = e, let level = try names.level(path, at: e.range) {
                d = level.dimension
            } else {
                throw Diagnostic("unknown dimension '\(e)'", at: e.range,
                                 help: Suggestions.didYouMean(e.description, in: cube.dimensions.map(\.name)) ?? "dimensions: " + cube.dimensions.map(\.name).joined(separator: ", "))
            }
            let dim = cube.dimensions[d]
            var rows: [[Value]] = []
            for (i, l) in dim.levels.enumerated() {
                let parent = i > 0 ? dim.levels[i - 1].name : ""
                rows.append([text("\(dim.name).\(l.name)"), text("level \(i + 1) of \(dim.levels.count)"), text(parent), .integer(l.count),
                             text(l.members.first ?? ""), text(l.members.last ?? "")])
            }
            for a in dim.attributes {
                let kind = a.definition.map { (a.isSession ? "session: " : "computed: ") + $0 } ?? "attribute"
                rows.append([text("\(dim.name).\(a.name)"), text(kind), text(""), .integer(a.count), text(a.members.first ?? ""), text(a.members.last ?? "")])
            }
            return ResultTable(columns: [member("level"), member("kind"), member("parent"), count("members"), member("first"), member("last")],
                               rows: rows, rowKinds: rows.map { _ in .detail })
        case .members(let e, let like, let limit):
            let names = Names(cube: cube, extraMeasures: engine.sessionMeasures)
            let level = try names.requireLevel(e, role: "SHOW MEMBERS")
            let l = level.level(in: cube)
            var pattern: String?
            if let like {
                switch like {
                case .string(let s, _): pattern = s
                case .parameter(let p, let r): pattern = try Names.parameter(p, parameters, at: r)
                default: throw Diagnostic("LIKE takes a pattern in quotes, e.g. 'Seoul-%'", at: like.range)
                }
            }
            var n: Int?
            if let limit { n = try Binder.wholeNumber(limit, "LIMIT", parameters) }
            let parentLevel: Level? = !level.isAttribute && level.index > 0 ? cube.dimensions[level.dimension].levels[level.index - 1] : nil
            var rows: [[Value]] = []
            for (code, label) in l.members.enumerated() where pattern.map({ Like.matches(label, pattern: $0) }) ?? true {
                if let n, rows.count >= n { break }
                var row: [Value] = [text(label)]
                if let parentLevel { row.append(text(parentLevel.members[Int(l.parents[code])])) }
                rows.append(row)
            }
            var columns = [member(e.description)]
            if let parentLevel { columns.append(member(parentLevel.name)) }
            return ResultTable(columns: columns, rows: rows, rowKinds: rows.map { _ in .detail })
        }
    }
}

extension QueryEngine {
    /// Checks a measure defined in the session: its expression binds (known names, no
    /// reference to itself) and it is not a model measure's name.
    public func check(sessionMeasure m: Measure, at range: SourceRange) throws(Diagnostic) {
        if cube.measure(named: m.name) != nil {
            throw Diagnostic("'\(m.name)' is a measure of the model", at: range, help: "pick another name for the session measure")
        }
        var engine = self
        engine.sessionMeasures = sessionMeasures.filter { !$0.name.caseInsensitiveEquals(m.name) } + [m]
        var select = SelectStatement(range: range)
        select.items = [SelectItem(expr: .name([m.name], range), alias: nil)]
        _ = try engine.bind(select, parameters: [:])
    }
}
