import CubistCore
import CubistSyntax

/// Binds the model's measures to the loaded columns and dimensions: fact columns exist and
/// are numeric where they must be, row expressions use only numeric fact columns, and
/// expression measures refer to known measures without cycles.
struct MeasureResolver {
    let model: CubeModel
    let dimensions: [Dimension]
    let numeric: [NumericColumn]
    let ignored: [String]
    let factFile: String
    /// Measure names by their lower-cased form (a model may hold thousands).
    private let measureLookup: [String: String]

    init(model: CubeModel, dimensions: [Dimension], numeric: [NumericColumn], ignored: [String], factFile: String) {
        self.model = model
        self.dimensions = dimensions
        self.numeric = numeric
        self.ignored = ignored
        self.factFile = factFile
        var lookup: [String: String] = [:]
        for m in model.measures where lookup[m.name.lowercased()] == nil { lookup[m.name.lowercased()] = m.name }
        measureLookup = lookup
    }

    private static let aggregateFunctions: Set<String> = ["sum", "avg", "min", "max", "count"]

    func resolve() throws(Diagnostic) -> [Measure] {
        var measures: [Measure] = []
        var references: [String: [(String, SourceRange)]] = [:]
        let measureNames = model.measures.map(\.name)
        for spec in model.measures {
            if let text = spec.expression {
                let expr = try parse(text, spec)
                var used: [(String, SourceRange)] = []
                try check(expr, spec, text: text, allowMeasures: measureNames, used: &used)
                references[spec.name.lowercased()] = used
                measures.append(Measure(name: spec.name, definition: .expression(expr), format: spec.format, source: text))
                continue
            }
            guard let aggregate = spec.aggregate else { continue }
            if let text = spec.row {
                let expr = try parse(text, spec)
                var used: [(String, SourceRange)] = []
                try check(expr, spec, text: text, allowMeasures: nil, used: &used)
                measures.append(Measure(name: spec.name, definition: .aggregate(aggregate, .row(expr)), format: spec.format,
                                        source: "\(aggregate.rawValue)(\(text))"))
            } else if let column = spec.column {
                let input = try input(column, aggregate, spec)
                measures.append(Measure(name: spec.name, definition: .aggregate(aggregate, input), format: spec.format,
                                        source: aggregate == .countDistinct ? "count(distinct \(column))" : "\(aggregate.rawValue)(\(column))"))
            } else {
                measures.append(Measure(name: spec.name, definition: .aggregate(.count, .rows), format: spec.format, source: "count(*)"))
            }
        }
        try checkCycles(references)
        return measures
    }

    private func parse(_ text: String, _ spec: CubeModel.MeasureSpec) throws(Diagnostic) -> Expr {
        let start = spec.textLocation ?? spec.location ?? SourceLocation(line: 1, column: 1)
        do {
            return try Parser.parseExpression(text, line: start.line, column: start.column)
        } catch {
            throw model.error(error.location, "in measure '\(spec.name)': \(error.message)", help: error.help)
        }
    }

    private func input(_ column: String, _ aggregate: Aggregate, _ spec: CubeModel.MeasureSpec) throws(Diagnostic) -> Measure.Input {
        let location = spec.columnLocation ?? spec.location
        if let c = numeric.first(where: { $0.name == column }) ?? numeric.first(where: { $0.name.caseInsensitiveEquals(column) }) {
            return .column(c.name)
        }
        var found: Measure.Input?
        for d in dimensions {
            switch d.source {
            case .table(_, let key) where key.caseInsensitiveEquals(column): found = .dimension(d.name)
            case .time(let c, _) where c.caseInsensitiveEquals(column): found = .dimension(d.name)
            case .inline:
                if let l = d.levels.last(where: { ($0.keyColumn ?? $0.column ?? "").caseInsensitiveEquals(column) || ($0.column ?? "").caseInsensitiveEquals(column) }) {
                    found = .level(dimension: d.name, level: l.name)
                } else if let a = d.attributes.first(where: { ($0.column ?? "").caseInsensitiveEquals(column) }) {
                    found = .level(dimension: d.name, level: a.name)
                }
            default: break
            }
            if found != nil { break }
        }
        if let found {
            guard aggregate == .count || aggregate == .countDistinct else {
                throw model.error(location, "measure '\(spec.name)': \(aggregate.rawValue) needs a numeric column, but '\(column)' identifies dimension members",
                                  help: "use count or count_distinct on '\(column)', or aggregate a numeric column of \(factFile)")
            }
            return found
        }
        if ignored.contains(column) {
            throw model.error(location, "measure '\(spec.name)': column '\(column)' of \(factFile) is not numeric", help: "aggregate a numeric column")
        }
        let candidates = numeric.map(\.name)
        throw model.error(location, "measure '\(spec.name)': column '\(column)' is not a numeric column of \(factFile)",
                          help: (Suggestions.didYouMean(column, in: candidates).map { $0 + " " } ?? "") + "the numeric columns are: \(candidates.joined(separator: ", "))")
    }

    /// Checks an expression's names: numeric fact columns (row expressions, and inside
    /// aggregate calls), or measures (expression measures).
    private func check(_ expr: Expr, _ spec: CubeModel.MeasureSpec, text: String, allowMeasures: [String]?, used: inout [(String, SourceRange)]) throws(Diagnostic) {
        switch expr {
        case .number(let text, let r):
            // Checked here, at load, so the error points into cube.json, not at every query.
            guard FieldParser.decimal(of: text) != nil || Double(text)?.isFinite == true else {
                throw model.error(r.location, "in measure '\(spec.name)': number \(text) is out of range", span: text.count)
            }
            return
        case .string(_, let r), .parameter(_, let r):
            throw model.error(r.location, "in measure '\(spec.name)': only numbers, names and + - * / may appear here")
        case .negate(let e, _):
            try check(e, spec, text: text, allowMeasures: allowMeasures, used: &used)
        case .binary(_, let l, let r, _):
            try check(l, spec, text: text, allowMeasures: allowMeasures, used: &used)
            try check(r, spec, text: text, allowMeasures: allowMeasures, used: &used)
        case .call(let name, let args, _, let star, let r):
            guard allowMeasures != nil, MeasureResolver.aggregateFunctions.contains(name) else {
                throw model.error(r.location, "in measure '\(spec.name)': function '\(name)' is not allowed here",
                                  help: allowMeasures == nil ? "a row expression is arithmetic of numeric fact columns" : "use sum, avg, min, max or count over fact columns")
            }
            if star { return }
            guard args.count == 1 else { throw model.error(r.location, "in measure '\(spec.name)': \(name) takes one argument") }
            try check(args[0], spec, text: text, allowMeasures: nil, used: &used)
        case .all(_, let r):
            throw model.error(r.location, "in measure '\(spec.name)': ALL belongs in share(m, ALL dimension) of a query",
                              help: "write share(...) in a SELECT, or define it with DEFINE MEASURE")
        case .per(_, _, _, _, let r), .countHaving(_, _, let r), .filtered(_, _, let r), .caseWhen(_, _, let r):
            throw model.error(r.location, "in measure '\(spec.name)': PER, count(... HAVING ...), FILTER and CASE are not allowed in cube.json",
                              help: "define such a measure in a session or script with DEFINE MEASURE")
        case .name(let path, let r):
            let name = path.joined(separator: ".")
            if let allowMeasures {
                guard path.count == 1, let match = measureLookup[name.lowercased()] else {
                    throw model.error(r.location, "in measure '\(spec.name)': unknown measure '\(name)'",
                                      help: Suggestions.didYouMean(name, in: allowMeasures) ?? "an expression combines the model's measures: \(allowMeasures.joined(separator: ", "))",
                                      span: name.count)
                }
                used.append((match.lowercased(), r))
            } else {
                let columns = numeric.map(\.name)
                guard path.count == 1, columns.contains(where: { $0.caseInsensitiveEquals(name) }) else {
                    throw model.error(r.location, "in measure '\(spec.name)': '\(name)' is not a numeric column of \(factFile)",
                                      help: Suggestions.didYouMean(name, in: columns) ?? "the numeric columns are: \(columns.joined(separator: ", "))",
                                      span: name.count)
                }
            }
        }
    }

    /// Refuses measures that refer to each other in a cycle. Iterative (an explicit stack),
    /// so a chain of any length costs linear time and no recursion.
    private func checkCycles(_ references: [String: [(String, SourceRange)]]) throws(Diagnostic) {
        var state: [String: Int] = [:]  // 1 on the path, 2 done
        for root in references.keys.sorted() where state[root] == nil {
            // Each frame: a measure and how many of its references have been followed.
            var stack: [(name: String, next: Int)] = [(root, 0)]
            state[root] = 1
            while let top = stack.last {
                let edges = references[top.name] ?? []
                guard top.next < edges.count else {
                    state[top.name] = 2
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let (next, range) = edges[top.next]
                switch state[next] {
                case 1:
                    let path = stack.map(\.name) + [next]
                    let cycle = path.drop(while: { $0 != next }).joined(separator: " -> ")
                    throw model.error(range.location, "measure expressions refer to each other in a cycle: \(cycle)",
                                      help: "an expression measure must be defined from aggregates in the end")
                case 2: continue
                default:
                    state[next] = 1
                    stack.append((next, 0))
                }
            }
        }
    }
}
