import CubistCore
import CubistStore
import CubistSyntax

/// Name resolution against a cube, with the rules of the language: a name is a measure, a
/// `dim.level`, a level (or attribute) name unique in the cube, or a dimension (its
/// coarsest level). Unknown names get a did-you-mean; ambiguous ones list the candidates.
struct Names {
    let cube: Cube
    /// Session measures, which act like model measures (`DEFINE MEASURE`).
    let measures: [Measure]
    /// Each lower-cased measure name's last position in `measures` (a session measure
    /// comes after the model's).
    private let measureIndex: [String: Int]

    init(cube: Cube, extraMeasures: [Measure] = []) {
        self.cube = cube
        self.measures = cube.measures + extraMeasures
        var index: [String: Int] = [:]
        for (i, m) in measures.enumerated() { index[m.name.lowercased()] = i }
        measureIndex = index
    }

    func measure(_ name: String) -> Measure? {
        measureIndex[name.lowercased()].map { measures[$0] }
    }

    func numericColumn(_ name: String) -> Int? {
        cube.facts.numericColumns.firstIndex { $0.name.caseInsensitiveEquals(name) }
    }

    /// Every level and attribute, qualified.
    var allLevels: [LevelRef] {
        cube.dimensions.indices.flatMap { d in
            cube.dimensions[d].levels.indices.map { LevelRef(dimension: d, index: $0, isAttribute: false) }
                + cube.dimensions[d].attributes.indices.map { LevelRef(dimension: d, index: $0, isAttribute: true) }
        }
    }

    /// The level a name denotes, nil when it denotes no level; throws when it is ambiguous
    /// or names a dimension with a level it does not have.
    func level(_ path: [String], at range: SourceRange) throws(Diagnostic) -> LevelRef? {
        if path.count == 2 {
            guard let d = cube.dimensions.firstIndex(where: { $0.name.caseInsensitiveEquals(path[0]) }) else { return nil }
            let dim = cube.dimensions[d]
            if let i = dim.levels.firstIndex(where: { $0.name.caseInsensitiveEquals(path[1]) }) {
                return LevelRef(dimension: d, index: i, isAttribute: false)
            }
            if let i = dim.attributes.firstIndex(where: { $0.name.caseInsensitiveEquals(path[1]) }) {
                return LevelRef(dimension: d, index: i, isAttribute: true)
            }
            let names = (dim.levels + dim.attributes).map(\.name)
            throw Diagnostic("dimension '\(dim.name)' has no level '\(path[1])'", at: range,
                             help: Suggestions.didYouMean(path[1], in: names) ?? "its levels are: \(names.joined(separator: ", "))")
        }
        guard path.count == 1 else { return nil }
        let matches = allLevels.filter { $0.level(in: cube).name.caseInsensitiveEquals(path[0]) }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 {
            throw Diagnostic("'\(path[0])' is ambiguous", at: range,
                             help: "write one of: " + matches.map { $0.qualifiedName(in: cube) }.joined(separator: ", "))
        }
        if let d = cube.dimensions.firstIndex(where: { $0.name.caseInsensitiveEquals(path[0]) }) {
            return LevelRef(dimension: d, index: 0, isAttribute: false)
        }
        return nil
    }

    /// A level, or an error with a suggestion.
    func requireLevel(_ expr: Expr, role: String) throws(Diagnostic) -> LevelRef {
        guard case .name(let path, let range) = expr else {
            throw Diagnostic("\(role) takes levels, found '\(expr)'", at: expr.range, help: "write a level such as time.year or customer.region")
        }
        if let l = try level(path, at: range) { return l }
        let written = path.joined(separator: ".")
        if path.count == 1, measure(path[0]) != nil {
            throw Diagnostic("'\(written)' is a measure; \(role) takes levels", at: range,
                             help: "put measures in the SELECT list; \(role) takes levels such as time.year")
        }
        throw Diagnostic("unknown level '\(written)'", at: range, help: suggestion(for: written, levelsOnly: true))
    }

    /// A did-you-mean over level names (and measures, unless `levelsOnly`), else a hint.
    func suggestion(for written: String, levelsOnly: Bool) -> String {
        var candidates = allLevels.map { $0.qualifiedName(in: cube) }
        candidates += allLevels.map { $0.level(in: cube).name }
        candidates += cube.dimensions.map(\.name)
        if !levelsOnly { candidates += measures.map(\.name) + cube.facts.numericColumns.map(\.name) }
        if let near = Suggestions.didYouMean(written, in: candidates) { return near }
        return levelsOnly ? "see the levels with .schema" : "see the measures and levels with .schema"
    }

    /// The value a parameter has, or an error saying how to give it one.
    static func parameter(_ name: String, _ parameters: [String: String], at range: SourceRange) throws(Diagnostic) -> String {
        if let v = parameters[name.lowercased()] { return v }
        throw Diagnostic("parameter $\(name) has no value", at: range,
                         help: "set it first with SET $\(name) = '...', or pass --param \(name)=... on the command line")
    }
}

/// Name resolution for tools outside the engine (tab completion), by the binder's own rules.
public enum NameResolver {
    /// The level `path` names in `cube` (`dim.level`, a level name unique in the cube, or a
    /// dimension's coarsest level), or nil when it names none or is ambiguous.
    public static func level(_ path: [String], in cube: Cube) -> Level? {
        let nowhere = SourceRange(start: 0, end: 0, location: SourceLocation(line: 1, column: 1))
        guard let found = try? Names(cube: cube).level(path, at: nowhere) else { return nil }
        return found.level(in: cube)
    }
}
