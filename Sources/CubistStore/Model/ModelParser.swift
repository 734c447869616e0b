import Foundation
import CubistCore
import CubistSyntax

/// Reads `cube.json` into a `CubeModel`, checking its shape: required and unknown keys,
/// value types, names, aggregates and formats. Columns are checked later, against the CSVs.
public struct ModelParser {
    private let file: String
    private let lines: [String]

    private init(file: String, text: String) {
        self.file = file
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
    }

    /// Parses and checks a model file's bytes; `file` is the name shown in messages.
    public static func parse(_ bytes: [UInt8], file: String) throws(Diagnostic) -> CubeModel {
        let root = try JSONReader.parse(bytes, file: file)
        let parser = ModelParser(file: file, text: String(decoding: bytes, as: UTF8.self))
        return try parser.model(root)
    }

    func error(_ location: SourceLocation, _ message: String, help: String? = nil) -> Diagnostic {
        Diagnostic.located(file: file, lines: lines, at: location, message, help: help)
    }

    private func object(_ node: JSONNode, _ what: String, allowed: [String]) throws(Diagnostic) -> [String: JSONNode.Member] {
        guard case .object(let members) = node.value else {
            throw error(node.location, "\(what) must be an object, found \(node.typeName)")
        }
        var byKey: [String: JSONNode.Member] = [:]
        for member in members {
            guard allowed.contains(member.key) else {
                let hint = Suggestions.didYouMean(member.key, in: allowed) ?? "the keys allowed here are: \(allowed.joined(separator: ", "))"
                throw error(member.keyLocation, "unknown key \"\(member.key)\" in \(what)", help: hint)
            }
            byKey[member.key] = member
        }
        return byKey
    }

    private func string(_ members: [String: JSONNode.Member], _ key: String, in what: String, required: Bool, at location: SourceLocation) throws(Diagnostic) -> (String, SourceLocation)? {
        guard let member = members[key] else {
            if required { throw error(location, "\(what) has no \"\(key)\"", help: "add \"\(key)\": \"...\"") }
            return nil
        }
        guard case .string(let text) = member.value.value else {
            throw error(member.value.location, "\"\(key)\" must be a string, found \(member.value.typeName)")
        }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw error(member.value.location, "\"\(key)\" must not be empty")
        }
        return (text, member.value.location)
    }

    private func array(_ members: [String: JSONNode.Member], _ key: String, in what: String, required: Bool, at location: SourceLocation) throws(Diagnostic) -> [JSONNode]? {
        guard let member = members[key] else {
            if required { throw error(location, "\(what) has no \"\(key)\"", help: "add \"\(key)\": [...]") }
            return nil
        }
        guard case .array(let items) = member.value.value else {
            throw error(member.value.location, "\"\(key)\" must be an array, found \(member.value.typeName)")
        }
        return items
    }

    private func model(_ root: JSONNode) throws(Diagnostic) -> CubeModel {
        let top = try object(root, "the model", allowed: ["name", "facts", "dimensions", "measures", "computed", "csv", "description"])
        let name = try string(top, "name", in: "the model", required: false, at: root.location)?.0 ?? "cube"
        guard let (facts, factsLocation) = try string(top, "facts", in: "the model", required: true, at: root.location) else {
            throw error(root.location, "the model has no \"facts\"")
        }
        let dimensionNodes = try array(top, "dimensions", in: "the model", required: true, at: root.location) ?? []
        var dimensions: [CubeModel.DimensionSpec] = []
        var seen: [String: SourceLocation] = [:]
        for node in dimensionNodes {
            let dimension = try self.dimension(node)
            if let first = seen[dimension.name.lowercased()] {
                throw error(dimension.location ?? root.location, "a second dimension is named '\(dimension.name)' (the first is at line \(first.line))",
                            help: "names are case-insensitive and must be unique")
            }
            seen[dimension.name.lowercased()] = dimension.location ?? root.location
            dimensions.append(dimension)
        }
        var measures: [CubeModel.MeasureSpec] = []
        var measureNames: [String: SourceLocation] = [:]
        for node in try array(top, "measures", in: "the model", required: false, at: root.location) ?? [] {
            let measure = try self.measure(node)
            let lower = measure.name.lowercased()
            if let first = measureNames[lower] {
                throw error(measure.location ?? root.location, "a second measure is named '\(measure.name)' (the first is at line \(first.line))")
            }
            if seen[lower] != nil {
                throw error(measure.location ?? root.location, "measure '\(measure.name)' has the name of a dimension", help: "rename the measure")
            }
            measureNames[lower] = measure.location ?? root.location
            measures.append(measure)
        }
        var computed: [CubeModel.ComputedSpec] = []
        for node in try array(top, "computed", in: "the model", required: false, at: root.location) ?? [] {
            let spec = try computedAttribute(node)
            guard let dimension = dimensions.first(where: { $0.name.caseInsensitiveEquals(spec.dimension) }) else {
                throw error(spec.location ?? root.location, "computed attribute '\(spec.name)' names no dimension of the model: '\(spec.dimension)'",
                            help: Suggestions.didYouMean(spec.dimension, in: dimensions.map(\.name)) ?? "the dimensions are: " + dimensions.map(\.name).joined(separator: ", "))
            }
            let taken = dimension.levels.map(\.name) + dimension.attributes.map(\.name)
                + computed.filter { $0.dimension.caseInsensitiveEquals(dimension.name) }.map(\.name)
            if taken.contains(where: { $0.caseInsensitiveEquals(spec.name) }) {
                throw error(spec.location ?? root.location, "dimension '\(dimension.name)' already has a level or attribute named '\(spec.name)'",
                            help: "name the computed attribute differently")
            }
            computed.append(spec)
        }
        var model = CubeModel(name: name, facts: facts, factsLocation: factsLocation, dimensions: dimensions, measures: measures, computed: computed,
                              file: file, lines: lines)
        if let csv = top["csv"] { model.csv = try csvOptions(csv.value) }
        return model
    }

    /// `"csv": {"delimiter": ";", "decimal": ",", "encoding": "cp949", "date_format": "%m/%d/%Y", "header": true}`
    private func csvOptions(_ node: JSONNode) throws(Diagnostic) -> CSVOptions {
        let m = try object(node, "\"csv\"", allowed: CSVOptions.keys)
        var options = CSVOptions()
        for key in CSVOptions.keys {
            guard let member = m[key] else { continue }
            let text: String
            switch member.value.value {
            case .string(let s): text = s
            case .bool(let b) where key == "header": text = b ? "true" : "false"
            default: throw error(member.value.location, "\"\(key)\" must be a string, found \(member.value.typeName)")
            }
            if let problem = options.set(key, text) { throw error(member.value.location, problem) }
        }
        return options
    }

    /// `{"name": "cohort", "dimension": "customer", "expression": "min(time.quarter)", "where": "..."}`
    private func computedAttribute(_ node: JSONNode) throws(Diagnostic) -> CubeModel.ComputedSpec {
        let what = "a computed attribute"
        let m = try object(node, what, allowed: ["name", "dimension", "expression", "where", "description"])
        guard let (name, nameLocation) = try string(m, "name", in: what, required: true, at: node.location) else { throw error(node.location, "\(what) has no \"name\"") }
        try checkName(name, at: nameLocation)
        let what2 = "computed attribute '\(name)'"
        guard let (dimension, _) = try string(m, "dimension", in: what2, required: true, at: node.location),
              let (text, textLocation) = try string(m, "expression", in: what2, required: true, at: node.location) else {
            throw error(node.location, "\(what2) needs \"dimension\" and \"expression\"")
        }
        let expression: Expr
        do {
            expression = try Parser.parseExpression(text, line: textLocation.line, column: textLocation.column + 1)
        } catch {
            throw self.error(error.location ?? textLocation, "in \(what2): \(error.message)", help: error.help)
        }
        var condition: Condition?
        if let (whereText, whereLocation) = try string(m, "where", in: what2, required: false, at: node.location) {
            do {
                condition = try Parser.parseCondition(whereText, line: whereLocation.line, column: whereLocation.column + 1)
            } catch {
                throw self.error(error.location ?? whereLocation, "in \(what2): \(error.message)", help: error.help)
            }
        }
        return CubeModel.ComputedSpec(name: name, dimension: dimension, expression: expression, condition: condition, location: node.location,
                                      file: file, lines: lines)
    }

    private func dimension(_ node: JSONNode) throws(Diagnostic) -> CubeModel.DimensionSpec {
        let what = "a dimension"
        let m = try object(node, what, allowed: ["name", "table", "key", "levels", "attributes", "type", "column", "date_format", "description"])
        guard let (name, _) = try string(m, "name", in: what, required: true, at: node.location) else { throw error(node.location, "\(what) has no \"name\"") }
        try checkName(name, at: m["name"]?.value.location ?? node.location)
        let type = try string(m, "type", in: "dimension '\(name)'", required: false, at: node.location)
        if let (t, location) = type, t != "time", t != "standard" {
            throw error(location, "unknown dimension type '\(t)'", help: "use \"time\" for a date dimension, or leave \"type\" out")
        }
        let isTime = type?.0 == "time"
        if isTime {
            for key in ["table", "key", "levels", "attributes"] {
                guard let present = m[key] else { continue }
                throw error(present.keyLocation, "a time dimension takes no \"\(key)\"", help: "its levels are year, quarter, month and day, derived from \"column\"")
            }
            let column = try string(m, "column", in: "time dimension '\(name)'", required: true, at: node.location)
            var spec = CubeModel.DimensionSpec(name: name, table: nil, key: nil, isTime: true, column: column?.0, levels: [], attributes: [],
                                               location: node.location, tableLocation: nil, keyLocation: nil, columnLocation: column?.1)
            if let (pattern, location) = try string(m, "date_format", in: "time dimension '\(name)'", required: false, at: node.location) {
                do {
                    spec.dateFormat = try DateFormat(pattern: pattern)
                } catch {
                    throw self.error(location, error.message)
                }
            }
            return spec
        }
        if let f = m["date_format"] {
            throw error(f.keyLocation, "\"date_format\" is for time dimensions", help: "set how a time dimension's dates are written, or \"csv\": {\"date_format\": ...} for all")
        }
        if let c = m["column"] {
            throw error(c.keyLocation, "\"column\" is for time dimensions", help: "list the dimension's columns in \"levels\"")
        }
        let table = try string(m, "table", in: "dimension '\(name)'", required: false, at: node.location)
        let key = try string(m, "key", in: "dimension '\(name)'", required: table != nil, at: node.location)
        let levelNodes = try array(m, "levels", in: "dimension '\(name)'", required: true, at: node.location) ?? []
        guard !levelNodes.isEmpty else { throw error(m["levels"]?.value.location ?? node.location, "dimension '\(name)' needs at least one level") }
        var levels: [CubeModel.LevelSpec] = []
        for n in levelNodes { levels.append(try level(n, of: name)) }
        var attributes: [CubeModel.LevelSpec] = []
        for n in try array(m, "attributes", in: "dimension '\(name)'", required: false, at: node.location) ?? [] {
            attributes.append(try level(n, of: name))
        }
        var names: Set<String> = []
        for l in levels + attributes {
            guard names.insert(l.name.lowercased()).inserted else {
                throw error(l.location ?? node.location, "dimension '\(name)' has two levels or attributes named '\(l.name)'")
            }
        }
        return CubeModel.DimensionSpec(name: name, table: table?.0, key: key?.0, isTime: false, column: nil, levels: levels, attributes: attributes,
                                       location: node.location, tableLocation: table?.1, keyLocation: key?.1, columnLocation: nil)
    }

    private func level(_ node: JSONNode, of dimension: String) throws(Diagnostic) -> CubeModel.LevelSpec {
        if case .string(let column) = node.value {
            try checkName(column, at: node.location)
            return CubeModel.LevelSpec(name: column, column: column, key: nil, location: node.location)
        }
        let what = "a level of '\(dimension)'"
        let m = try object(node, what, allowed: ["name", "column", "key"])
        guard let (name, nameLocation) = try string(m, "name", in: what, required: true, at: node.location) else { throw error(node.location, "\(what) has no \"name\"") }
        try checkName(name, at: nameLocation)
        let column = try string(m, "column", in: "level '\(name)'", required: false, at: node.location)?.0 ?? name
        let key = try string(m, "key", in: "level '\(name)'", required: false, at: node.location)?.0
        return CubeModel.LevelSpec(name: name, column: column, key: key, location: node.location)
    }

    private func measure(_ node: JSONNode) throws(Diagnostic) -> CubeModel.MeasureSpec {
        let what = "a measure"
        let m = try object(node, what, allowed: ["name", "column", "row", "expression", "aggregate", "format", "description"])
        guard let (name, nameLocation) = try string(m, "name", in: what, required: true, at: node.location) else { throw error(node.location, "\(what) has no \"name\"") }
        try checkName(name, at: nameLocation)
        let what2 = "measure '\(name)'"
        var aggregate: Aggregate?
        if let (text, location) = try string(m, "aggregate", in: what2, required: false, at: node.location) {
            guard let a = Aggregate(rawValue: text.lowercased()) else {
                throw error(location, "unknown aggregate '\(text)'",
                            help: (Suggestions.didYouMean(text, in: Aggregate.allCases.map(\.rawValue)).map { $0 + " " } ?? "") + "the aggregates are sum, count, min, max, avg and count_distinct")
            }
            aggregate = a
        }
        var format: MeasureFormat?
        if let (text, location) = try string(m, "format", in: what2, required: false, at: node.location) {
            guard let f = MeasureFormat(rawValue: text.lowercased()) else {
                throw error(location, "unknown format '\(text)'", help: "the formats are money, percent, number and integer")
            }
            format = f
        }
        let column = try string(m, "column", in: what2, required: false, at: node.location)
        let row = try string(m, "row", in: what2, required: false, at: node.location)
        let expression = try string(m, "expression", in: what2, required: false, at: node.location)
        if column != nil, row != nil {
            throw error(m["row"]?.keyLocation ?? node.location, "\(what2) has both \"column\" and \"row\"", help: "keep one: a fact column, or a row-level expression")
        }
        if let expression {
            if aggregate != nil || column != nil || row != nil {
                throw error(expression.1, "\(what2) has an \"expression\" and also \"aggregate\", \"column\" or \"row\"",
                            help: "an expression measure combines other measures after aggregation; it takes no aggregate or column")
            }
        } else if aggregate == nil {
            throw error(node.location, "\(what2) has no \"aggregate\"",
                        help: "add \"aggregate\": \"sum\" (or count, min, max, avg, count_distinct), or give an \"expression\"")
        } else if let aggregate, aggregate != .count, column == nil, row == nil {
            throw error(node.location, "\(what2) aggregates with \(aggregate.rawValue) but names no \"column\" or \"row\"")
        } else if aggregate == .countDistinct, let row {
            throw error(row.1, "count_distinct takes a \"column\", not a \"row\" expression")
        }
        let textLocation = (row ?? expression).map { SourceLocation(line: $0.1.line, column: $0.1.column + 1) }
        return CubeModel.MeasureSpec(name: name, aggregate: aggregate, column: column?.0, row: row?.0, expression: expression?.0,
                                     format: format, location: node.location, columnLocation: column?.1, textLocation: textLocation)
    }

    private func checkName(_ name: String, at location: SourceLocation) throws(Diagnostic) {
        if name.contains(".") {
            throw error(location, "the name '\(name)' contains a '.'", help: "'.' separates a dimension from a level in queries; use '_' instead")
        }
    }
}
