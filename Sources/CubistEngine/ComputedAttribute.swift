import CubistCore
import CubistStore
import CubistSyntax

extension QueryEngine {
    /// `DEFINE ATTRIBUTE dim.name = expr [WHERE condition]`: computes, for every leaf member
    /// of the dimension, a value from its facts over the whole cube (or the rows WHERE
    /// keeps), and returns the cube with that attribute added to the dimension.
    ///
    /// The expression is one of:
    /// - `min(level)` / `max(level)`: a member of another level (the first purchase quarter,
    ///   the last purchase day); the attribute's members keep that level's order;
    /// - `band(m, e1, e2, ...)`: the measure bucketed at ascending edges, members
    ///   `< e1`, `e1 – e2`, ..., `≥ en` in that order;
    /// - `ntile(k, m)`: the members ranked by the measure into k groups of equal size,
    ///   `1` (lowest) to `k` (highest), ties broken by member order.
    /// Members with no facts (or an empty value) get the member `(none)`, last.
    ///
    /// A session attribute (`session`, the default) replaces an earlier session attribute of
    /// the same name, as DEFINE MEASURE does; the model's levels and attributes cannot be
    /// replaced.
    public func definingAttribute(dimension: String, name: String, expr: Expr, condition: Condition?, parameters: [String: String],
                                  session: Bool = true, at range: SourceRange) throws(Diagnostic) -> Cube {
        guard let d = cube.dimensions.firstIndex(where: { $0.name.caseInsensitiveEquals(dimension) }) else {
            let names = cube.dimensions.map(\.name)
            throw Diagnostic("unknown dimension '\(dimension)'", at: range, help: Suggestions.didYouMean(dimension, in: names) ?? "the dimensions are: " + names.joined(separator: ", "))
        }
        var dim = cube.dimensions[d]
        if let replaced = dim.attributes.firstIndex(where: { $0.isSession && $0.name.caseInsensitiveEquals(name) }) {
            var attributes = dim.attributes, maps = dim.leafToAttribute
            attributes.remove(at: replaced)
            maps.remove(at: replaced)
            dim = dim.with(attributes: attributes, leafToAttribute: maps)
        } else if dim.level(named: name) != nil {
            throw Diagnostic("\(dim.name) already has a level or attribute named '\(name)'", at: range,
                             help: "pick another name; only attributes defined in this session can be defined again")
        }
        let leafExpr = Expr.name([dim.name, dim.leaf.name], expr.range)
        let computed: (members: [String], codes: [Int32])
        var order = MemberOrder.chronological
        switch expr {
        case .call("min", let args, false, false, _) where args.count == 1, .call("max", let args, false, false, _) where args.count == 1:
            computed = try memberAttribute(expr, args[0], d, leafExpr, condition, parameters)
        case .call("band", let args, false, false, let r):
            guard args.count >= 2 else {
                throw Diagnostic("band() takes a measure and at least one edge", at: r, help: "e.g. band(revenue, 1000, 10000, 100000)")
            }
            let edges = try args.dropFirst().map { (e: Expr) throws(Diagnostic) -> Value in try edge(e, parameters) }
            for i in edges.indices.dropFirst() where (Value.compare(edges[i - 1], edges[i]) ?? 1) >= 0 {
                throw Diagnostic("band() edges must ascend", at: args[i + 1].range, help: "write them from lowest to highest, e.g. band(revenue, 1000, 10000)")
            }
            let values = try leafValues(args[0], d, leafExpr, condition, parameters)
            var labels = ["< " + edges[0].grouped]
            for i in edges.indices.dropFirst() { labels.append(edges[i - 1].grouped + " – " + edges[i].grouped) }
            labels.append("≥ " + edges[edges.count - 1].grouped)
            let codes = values.map { v -> Int32 in
                guard let v else { return -1 }
                return Int32(edges.firstIndex { (Value.compare(v, $0) ?? 0) < 0 } ?? edges.count)
            }
            computed = (labels, codes)
        case .call("ntile", let args, false, false, let r):
            guard args.count == 2, case .number(let text, _) = args[0], let k = Int(text), (1...1000).contains(k) else {
                throw Diagnostic("ntile() takes a whole number of groups (1 to 1,000) and a measure", at: r, help: "e.g. ntile(5, revenue) for quintiles")
            }
            let values = try leafValues(args[1], d, leafExpr, condition, parameters)
            let ranked = values.indices.filter { values[$0] != nil }.sorted { a, b in
                let c = Value.compare(values[a]!, values[b]!) ?? 0  // safe: filtered to non-nil above
                return c != 0 ? c < 0 : a < b
            }
            var codes = [Int32](repeating: -1, count: values.count)
            for (i, leaf) in ranked.enumerated() { codes[leaf] = Int32(i * k / ranked.count) }
            computed = ((1...k).map(String.init), codes)
        default:
            computed = try countAttribute(expr, d, leafExpr, condition, parameters)
            order = .numeric
        }
        return QueryEngine.adding(attribute: name, members: computed.members, codes: computed.codes, order: order,
                                  definition: "\(expr)" + (condition.map { " WHERE \($0)" } ?? ""), session: session, to: dim, at: d, of: cube)
    }

    /// `cube` with an attribute added to `dim` (dimension `d`): `codes` gives each leaf
    /// member's member of `members`, -1 for none (then the member `(none)` comes last).
    static func adding(attribute name: String, members: [String], codes: [Int32], order: MemberOrder, definition: String, session: Bool,
                       to dim: Dimension, at d: Int, of cube: Cube) -> Cube {
        var members = members
        var codes = codes
        if codes.contains(-1) {
            members.append(Level.noneMember)
            codes = codes.map { $0 < 0 ? Int32(members.count - 1) : $0 }
        }
        let level = Level(name: name, column: nil, keyColumn: nil, members: members, parents: [], order: order,
                          definition: definition, isSession: session)
        let extended = dim.with(attributes: dim.attributes + [level], leafToAttribute: dim.leafToAttribute + [codes])
        var dimensions = cube.dimensions
        dimensions[d] = extended
        return cube.with(dimensions: dimensions)
    }

    /// `cube` with the computed attributes an append took off computed again from all its
    /// facts, each as it was defined (a session attribute stays one), in their order.
    public static func recomputing(_ attributes: [(dimension: String, attribute: Level)], in cube: Cube) throws(Diagnostic) -> Cube {
        var result = cube
        for (dimension, attribute) in attributes {
            guard let spec = CubeLoader.computedSpec(of: attribute, in: dimension, file: cube.origin) else {
                throw Diagnostic(file: cube.origin, message: "cannot compute attribute \(dimension).\(attribute.name) again: its definition does not parse",
                                 help: "this is a bug in Cubist; please report it")
            }
            do {
                result = try QueryEngine(cube: result).definingAttribute(dimension: dimension, name: attribute.name, expr: spec.expression, condition: spec.condition,
                                                                         parameters: [:], session: attribute.isSession, at: spec.expression.range)
            } catch {
                throw Diagnostic(file: cube.origin, message: "computing attribute \(dimension).\(attribute.name) again after the append: \(error.message)", help: error.help)
            }
        }
        return result
    }

    /// The cube with the computed attributes its model declares (`"computed"` in cube.json)
    /// computed, in declaration order (a later one may use an earlier one); an error in one
    /// points into the model file.
    public static func computingDeclaredAttributes(of cube: Cube) throws(Diagnostic) -> Cube {
        var result = cube
        for spec in cube.pendingAttributes {
            let engine = QueryEngine(cube: result)
            let range = spec.expression.range
            do {
                result = try engine.definingAttribute(dimension: spec.dimension, name: spec.name, expr: spec.expression, condition: spec.condition,
                                                      parameters: [:], session: false, at: range)
            } catch {
                let at = error.range?.location ?? error.location ?? spec.location
                throw Diagnostic.located(file: spec.file, lines: spec.lines, at: at, "in computed attribute '\(spec.name)': \(error.message)",
                                         help: error.help, span: error.range.map { max(1, $0.end - $0.start) } ?? 1)
            }
        }
        return result.with(pendingAttributes: [])
    }

    /// A whole-number measure per leaf member (`count(distinct channel.type)`, `orders`):
    /// the attribute's members are the numbers that occur, in numeric order.
    private func countAttribute(_ expr: Expr, _ d: Int, _ leafExpr: Expr, _ condition: Condition?,
                                _ parameters: [String: String]) throws(Diagnostic) -> (members: [String], codes: [Int32]) {
        let help = "e.g. DEFINE ATTRIBUTE customer.cohort = min(time.quarter), band(revenue, 1000, 10000), ntile(5, revenue) or count(distinct channel.type)"
        if case .name(let path, _) = expr, (try? Names(cube: cube, extraMeasures: sessionMeasures).level(path, at: expr.range)) != nil {
            throw Diagnostic("an attribute is computed from each member's facts, not copied from a level", at: expr.range,
                             help: "min(\(expr)) or max(\(expr)) gives each member its first or last \(expr); " + help)
        }
        let values = try leafValues(expr, d, leafExpr, condition, parameters)
        var numbers: [Int128?] = []
        numbers.reserveCapacity(values.count)
        for v in values {
            switch v {
            case nil: numbers.append(nil)
            case .exact(let m, scale: let s)? where s >= 0 && s <= 30 && m % tenTo(s) == 0: numbers.append(m / tenTo(s))
            default:
                throw Diagnostic("'\(expr)' is not a whole number for every member, so its values cannot be the attribute's members", at: expr.range,
                                 help: "bucket it with band(\(expr), edges...) or ntile(k, \(expr))")
            }
        }
        let distinct = Set(numbers.compactMap { $0 }).sorted()
        var position: [Int128: Int32] = [:]
        for (i, n) in distinct.enumerated() { position[n] = Int32(i) }
        return (distinct.map { "\($0)" }, numbers.map { $0.flatMap { position[$0] } ?? -1 })
    }

    private func tenTo(_ s: Int) -> Int128 { (0..<s).reduce(Int128(1)) { r, _ in r * 10 } }

    /// `min/max(level)` per leaf member: the attribute's members are the level's members
    /// that occur, in the level's order.
    private func memberAttribute(_ expr: Expr, _ levelExpr: Expr, _ d: Int, _ leafExpr: Expr, _ condition: Condition?,
                                 _ parameters: [String: String]) throws(Diagnostic) -> (members: [String], codes: [Int32]) {
        let names = Names(cube: cube, extraMeasures: sessionMeasures)
        guard case .name(let path, let r) = levelExpr, let level = try names.level(path, at: r) else {
            throw Diagnostic("min() and max() of an attribute take a level, e.g. min(time.quarter)", at: levelExpr.range)
        }
        let labels = level.level(in: cube).members
        let values = try leafValues(expr, d, leafExpr, condition, parameters)
        var index: [String: Int] = [:]
        for (i, m) in labels.enumerated() where index[m] == nil { index[m] = i }
        let used = Set(values.compactMap { v -> Int? in if case .text(let t)? = v { return index[t] } else { return nil } }).sorted()
        var position: [Int: Int32] = [:]
        for (i, c) in used.enumerated() { position[c] = Int32(i) }
        let codes = values.map { v -> Int32 in
            guard case .text(let t)? = v, let c = index[t], let p = position[c] else { return -1 }
            return p
        }
        return (used.map { labels[$0] }, codes)
    }

    /// The value of `expr` for every leaf member of dimension `d` (nil where it has no facts
    /// under the condition, or the value is empty): one grouped query over the whole cube.
    private func leafValues(_ expr: Expr, _ d: Int, _ leafExpr: Expr, _ condition: Condition?,
                            _ parameters: [String: String]) throws(Diagnostic) -> [Value?] {
        let scanned = try memberValues(of: [SelectItem(expr: expr, alias: nil)], by: leafExpr, where: condition,
                                       analytic: "an attribute's expression is computed per member on its own facts; analytic functions have no place in it",
                                       help: "e.g. DEFINE ATTRIBUTE customer.cohort = min(time.quarter)", parameters: parameters, at: expr.range)
        var values = [Value?](repeating: nil, count: cube.dimensions[d].leaf.count)
        for g in 0..<scanned.count {
            let v = scanned.columns[0][g]
            values[Int(scanned.member(g))] = v.isNull ? nil : v
        }
        return values
    }

    /// A band edge: a number or a parameter's value.
    private func edge(_ e: Expr, _ parameters: [String: String]) throws(Diagnostic) -> Value {
        var text: String
        switch e {
        case .number(let n, _): text = n
        case .negate(.number(let n, _), _): text = "-" + n
        case .parameter(let p, let r): text = try Names.parameter(p, parameters, at: r)
        default: throw Diagnostic("band() edges are numbers, found '\(e)'", at: e.range, help: "e.g. band(revenue, 1000, 10000)")
        }
        guard let dec = FieldParser.decimal(of: text.trimmingSpaces) else {
            throw Diagnostic("band() edges are numbers, found '\(text)'", at: e.range)
        }
        return .exact(Int128(dec.mantissa), scale: dec.scale)
    }
}

extension Value {
    /// The value with thousands separators (`1,000`, `2,500.5`), for labels.
    var grouped: String {
        guard case .exact(let m, let s) = self else { return description }
        let text = Value.exactText(m < 0 ? 0 - m : m, scale: s)
        let parts = text.split(separator: ".", maxSplits: 1)
        var whole = String(parts[0])
        var out = ""
        while whole.count > 3 {
            out = "," + whole.suffix(3) + out
            whole = String(whole.dropLast(3))
        }
        return (m < 0 ? "-" : "") + whole + out + (parts.count > 1 ? "." + parts[1] : "")
    }
}
