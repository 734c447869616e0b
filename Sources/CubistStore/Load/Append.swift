import CubistCore
import CubistSyntax

extension CubeLoader {
    /// What an append produced: the cube with the new rows, how many there were, and the
    /// computed attributes taken off (their values depend on the facts): the query engine
    /// computes them again (`QueryEngine.recomputing`).
    public struct Appended: Sendable {
        /// The cube with every row, old and new.
        public let cube: Cube
        /// Rows appended.
        public let rows: Int
        /// The computed attributes to compute again, by dimension, in their order.
        public let recompute: [(dimension: String, attribute: Level)]
    }

    /// Appends the fact rows of a CSV or Parquet file to `cube` (`APPEND 'file'`). The file
    /// has the columns of the cube's fact file (in any order). Keys join the cube's dimension
    /// tables; new members of inline dimensions and new days extend their dimensions; members
    /// sort into natural order, so a member's code changes only when a new one sorts before
    /// it. Every row is checked as a load checks it, and the first error is reported with its
    /// row; a failed append returns no cube, so the caller's cube is unchanged.
    /// `bytes` is the file's content; `file` is how messages name it.
    public static func append(_ bytes: [UInt8], file: String, to cube: Cube, threads: Int = 0) throws(Diagnostic) -> Appended {
        let base = strippingComputed(cube)
        var loader = Loader(model: try model(of: base.cube, file: file), files: NamedBytes(name: file, bytes: bytes))
        loader.base = base.cube
        for (d, dimension) in cube.dimensions.enumerated() {
            if let pattern = cube.dateFormats[dimension.name], let format = try? DateFormat(pattern: pattern) { loader.preferredDates[d] = format }
        }
        loader.threads = Parallel.threads(threads)
        let appended = try loader.run(origin: cube.origin)
        return Appended(cube: appended, rows: appended.facts.rowCount - cube.facts.rowCount, recompute: base.stripped)
    }

    /// The cube without its computed attributes, and those attributes.
    private static func strippingComputed(_ cube: Cube) -> (cube: Cube, stripped: [(dimension: String, attribute: Level)]) {
        var stripped: [(dimension: String, attribute: Level)] = []
        var dimensions: [Dimension] = []
        for d in cube.dimensions {
            let keep = d.attributes.indices.filter { d.attributes[$0].definition == nil }
            for a in d.attributes where a.definition != nil { stripped.append((d.name, a)) }
            dimensions.append(keep.count == d.attributes.count ? d : d.with(attributes: keep.map { d.attributes[$0] }, leafToAttribute: keep.map { d.leafToAttribute[$0] }))
        }
        return (cube.with(dimensions: dimensions), stripped)
    }

    /// A model that reads a file of the cube's fact columns into the cube's dimensions.
    private static func model(of cube: Cube, file: String) throws(Diagnostic) -> CubeModel {
        var specs: [CubeModel.DimensionSpec] = []
        for d in cube.dimensions {
            switch d.source {
            case .table(let table, let key):
                specs.append(CubeModel.DimensionSpec(name: d.name, table: table, key: key, isTime: false, column: nil, levels: [], attributes: [],
                                                     location: nil, tableLocation: nil, keyLocation: nil, columnLocation: nil))
            case .time(let column, _):
                specs.append(CubeModel.DimensionSpec(name: d.name, table: nil, key: nil, isTime: true, column: column, levels: [], attributes: [],
                                                     location: nil, tableLocation: nil, keyLocation: nil, columnLocation: nil))
            case .inline:
                var levels: [CubeModel.LevelSpec] = []
                for l in d.levels {
                    guard let column = l.column, l.keyColumn == nil || l.keys != nil else { throw oldSnapshot(cube, d) }
                    levels.append(CubeModel.LevelSpec(name: l.name, column: column, key: l.keyColumn, location: nil))
                }
                let attributes = d.attributes.compactMap { a in a.column.map { CubeModel.LevelSpec(name: a.name, column: $0, key: nil, location: nil) } }
                specs.append(CubeModel.DimensionSpec(name: d.name, table: nil, key: nil, isTime: false, column: nil, levels: levels, attributes: attributes,
                                                     location: nil, tableLocation: nil, keyLocation: nil, columnLocation: nil))
            }
        }
        return CubeModel(name: cube.name, facts: file, factsLocation: nil, dimensions: specs, measures: [], file: file, lines: [])
    }

    /// A computed attribute's definition as a spec to compute again (nil if its text no
    /// longer parses, which cannot happen for text this build printed).
    public static func computedSpec(of attribute: Level, in dimension: String, file: String) -> CubeModel.ComputedSpec? {
        guard let definition = attribute.definition else { return nil }
        let text = "DEFINE ATTRIBUTE \(Expr.printName(dimension)).\(Expr.printName(attribute.name)) = \(definition)"
        guard case .defineAttribute(_, _, let expr, let condition, _)? = try? Parser.parseStatement(text) else { return nil }
        return CubeModel.ComputedSpec(name: attribute.name, dimension: dimension, expression: expr, condition: condition, location: nil, file: file, lines: [text])
    }

    static func oldSnapshot(_ cube: Cube, _ d: Dimension) -> Diagnostic {
        Diagnostic(file: cube.origin, message: "cannot append: the cube's dimension '\(d.name)' was read from a snapshot of an older version, which does not keep its keys",
                   help: "open the cube's source data and SAVE it again; that snapshot takes appends")
    }
}

/// One file's bytes, read by the loader under the name the user gave.
private struct NamedBytes: FileSource {
    let name: String
    let bytes: [UInt8]

    func read(_ path: String) throws(Diagnostic) -> [UInt8] { bytes }
    func displayPath(_ path: String) -> String { path }
}

extension Loader {
    /// The key index of a dimension table the cube keeps.
    static func keyIndex(of dimension: Dimension, file: String) throws(Diagnostic) -> KeyIndex {
        guard let table = dimension.keyTable else {
            throw Diagnostic(file: file, message: "cannot append: the cube's dimension '\(dimension.name)' was read from a snapshot of an older version, which does not keep its keys",
                             help: "open the cube's source data and SAVE it again; that snapshot takes appends")
        }
        return KeyIndex(interner: table.interner, codes: table.leaves)
    }

    /// Checks that an appended file has the cube's fact columns: every numeric column, and
    /// no column the cube does not know. Returns the numeric columns, all of which must
    /// hold numbers (a load would drop a column that does not; an append cannot).
    func appendedColumns(_ names: [String], roles: [Role], base: Cube, file: String) throws(Diagnostic) -> Set<String> {
        let numeric = base.facts.numericColumns.map(\.name)
        let known = Set(numeric + base.ignoredColumns)
        for (f, role) in roles.enumerated() {
            guard case .other = role, !known.contains(names[f]) else { continue }
            let expected = names.indices.filter { if case .other = roles[$0] { return false } else { return true } }.map { names[$0] } + numeric
            throw Diagnostic(file: file, location: SourceLocation(line: 1, column: 1),
                             message: "column '\(names[f])' is not a column of cube '\(base.name)'",
                             help: (Suggestions.didYouMean(names[f], in: numeric + base.ignoredColumns).map { $0 + " " } ?? "")
                                + "an appended file has the columns of the cube's fact file: \(expected.joined(separator: ", "))")
        }
        let present = Set(names)
        if let missing = numeric.first(where: { !present.contains($0) }) {
            throw Diagnostic(file: file, location: SourceLocation(line: 1, column: 1),
                             message: "column '\(missing)' of cube '\(base.name)' is not in the file",
                             help: (Suggestions.didYouMean(missing, in: names).map { $0 + " " } ?? "") + "an appended file needs every fact column; leave a value empty for null")
        }
        return Set(numeric)
    }

    /// The base cube with the parsed rows added after its own.
    func appending(to base: Cube, rows: Int, keyFields: [Int], keyCodes: [PackedColumn], inline: [(dimension: Int, builder: DimensionBuilder)],
                   inlineCodes: [[UInt32]], timeFields: [Int], days: [[Int32]], numeric: [NumericColumn?], file: String, summary: String) throws(Diagnostic) -> Cube {
        let oldRows = base.facts.rowCount
        guard oldRows + rows <= Int(Int32.max) else {
            throw Diagnostic(file: file, message: "cannot append \(rows) rows: the cube would pass \(Int32.max) rows", help: "split the cube, e.g. by year")
        }
        var dimensions = base.dimensions
        var codes = base.facts.dimensionCodes
        for (k, d) in keyFields.enumerated() {
            codes[d] = PackedColumn.joining(codes[d], .same, keyCodes[k], maximum: UInt64(max(0, dimensions[d].leaf.count - 1)))
        }
        for (i, entry) in inline.enumerated() {
            let oldCount = base.dimensions[entry.dimension].leaf.count
            let (dimension, remap) = entry.builder.finish(source: .inline, keepKeys: true)
            dimensions[entry.dimension] = dimension
            let moved = remap.prefix(oldCount).enumerated().contains { $0.offset != Int($0.element) }
            let tail = PackedColumn(inlineCodes[i].map { UInt32(remap[Int($0)]) }, maximum: UInt64(max(0, dimension.leaf.count - 1)))
            codes[entry.dimension] = PackedColumn.joining(codes[entry.dimension], moved ? .table(remap.prefix(oldCount).map { UInt64($0) }) : .same, tail,
                                                          maximum: UInt64(max(0, dimension.leaf.count - 1)))
        }
        for (t, d) in timeFields.enumerated() {
            let old = base.dimensions[d]
            guard case .time(let column, let oldFirst) = old.source else { preconditionFailure("time field of a dimension not of time") }  // safe: the derived model marks only time dimensions as time
            let oldLast = oldFirst + Int32(old.leaf.count - 1)
            let lo = min(oldFirst, days[t].min() ?? oldFirst), hi = max(oldLast, days[t].max() ?? oldLast)
            let dimension = TimeDimensionBuilder.build(name: old.name, column: column, minimumDay: lo, maximumDay: hi)
            guard case .time(_, let first) = dimension.source else { preconditionFailure("time dimension without first day") }  // safe: the builder makes a time source
            // Attributes computed over this dimension are gone (stripped); the rest are its own.
            dimensions[d] = dimension
            let maximum = UInt64(max(0, dimension.leaf.count - 1))
            let tail = PackedColumn(days[t].map { UInt32($0 - first) }, maximum: maximum)
            codes[d] = PackedColumn.joining(codes[d], oldFirst == first ? .same : .shift(UInt64(oldFirst - first)), tail, maximum: maximum)
        }
        var columns: [NumericColumn] = []
        for old in base.facts.numericColumns {
            guard let n = numericFieldIndex(old.name, numeric), let new = numeric[n] else { preconditionFailure("numeric column not parsed") }  // safe: appendedColumns checked every numeric column is in the file
            guard let joined = NumericColumn.joining(old, new) else {
                throw Diagnostic(file: file, message: "the values of column '\(old.name)' no longer fit 18 significant digits with the appended ones",
                                 help: "the appended file has more decimal places or larger numbers than the cube's column can hold together")
            }
            columns.append(joined)
        }
        var cube = base
        cube.dimensions = dimensions
        cube.facts = FactTable(rowCount: oldRows + rows, dimensionCodes: codes, numericColumns: columns)
        cube.fileFormats.append("appended " + summary)
        cube.snapshot = nil
        return cube
    }

    private func numericFieldIndex(_ name: String, _ numeric: [NumericColumn?]) -> Int? {
        numeric.firstIndex { $0?.name == name }
    }
}

extension PackedColumn {
    /// How `joining` carries the first column's values over.
    enum Carry {
        /// Unchanged.
        case same
        /// Through a table: value `v` becomes `table[v]`.
        case table([UInt64])
        /// Plus a constant.
        case shift(UInt64)
    }

    /// The values of `head` (carried over as `carry` says) followed by those of `tail`, in
    /// the narrowest width for `maximum`, with fresh zone maps.
    static func joining(_ head: PackedColumn, _ carry: Carry, _ tail: PackedColumn, maximum: UInt64) -> PackedColumn {
        let width = Width.fitting(Swift.max(maximum, head.maximum, tail.maximum))
        let count = head.count + tail.count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, count * width.rawValue), alignment: 8)
        func fill<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) {
            let target = raw.bindMemory(to: T.self, capacity: count)
            copy(head, carry, into: target)
            copy(tail, .same, into: target + head.count)
        }
        switch width {
        case .one: fill(UInt8.self)
        case .two: fill(UInt16.self)
        case .four: fill(UInt32.self)
        case .eight: fill(UInt64.self)
        }
        return PackedColumn(adopting: raw, count: count, width: width)
    }

    private static func copy<T: FixedWidthInteger & UnsignedInteger>(_ column: PackedColumn, _ carry: Carry, into target: UnsafeMutablePointer<T>) {
        func run<S: FixedWidthInteger & UnsignedInteger>(_ source: UnsafeBufferPointer<S>) {
            switch carry {
            case .same:
                if S.self == T.self, let base = source.baseAddress {
                    UnsafeMutableRawPointer(target).copyMemory(from: base, byteCount: source.count * MemoryLayout<T>.size)
                } else {
                    for i in source.indices { target[i] = T(truncatingIfNeeded: source[i]) }
                }
            case .table(let table):
                table.withUnsafeBufferPointer { map in
                    for i in source.indices { target[i] = T(truncatingIfNeeded: map[Int(source[i])]) }
                }
            case .shift(let delta):
                for i in source.indices { target[i] = T(truncatingIfNeeded: UInt64(source[i]) &+ delta) }
            }
        }
        withExtendedLifetime(column) {
            switch column.storage {
            case .one(let b): run(b)
            case .two(let b): run(b)
            case .four(let b): run(b)
            case .eight(let b): run(b)
            }
        }
    }
}

extension NumericColumn {
    /// `head`'s rows followed by `tail`'s, at the larger scale and a common base; nil when a
    /// value would no longer fit 64 bits.
    static func joining(_ head: NumericColumn, _ tail: NumericColumn) -> NumericColumn? {
        let scale = max(head.scale, tail.scale)
        // Each column's values lie between base and base + maximum: rescaling and rebasing
        // are checked at those ends, so no value in between can overflow.
        func range(_ c: NumericColumn) -> (factor: Int64, low: Int64, high: Int64)? {
            let factor = FieldParser.powersOfTen[scale - c.scale]
            let (top, o1) = c.base.addingReportingOverflow(Int64(bitPattern: c.packed.maximum))
            let (low, o2) = c.base.multipliedReportingOverflow(by: factor)
            let (high, o3) = top.multipliedReportingOverflow(by: factor)
            return o1 || o2 || o3 ? nil : (factor, low, high)
        }
        guard let h = range(head), let t = range(tail) else { return nil }
        let base = min(h.low, t.low, 0)
        let (span, o) = max(h.high, t.high).subtractingReportingOverflow(base)
        guard !o, span >= 0 else { return nil }
        // stored' = (base + stored) * factor - base' = stored * factor + (base * factor - base').
        let width = PackedColumn.Width.fitting(UInt64(span))
        let count = head.count + tail.count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count * width.rawValue), alignment: 8)
        func fill<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) {
            let target = raw.bindMemory(to: T.self, capacity: count)
            rescale(head, factor: h.factor, offset: h.low &- base, into: target)
            rescale(tail, factor: t.factor, offset: t.low &- base, into: target + head.count)
        }
        switch width {
        case .one: fill(UInt8.self)
        case .two: fill(UInt16.self)
        case .four: fill(UInt32.self)
        case .eight: fill(UInt64.self)
        }
        var nulls: Bitmap?
        if head.nulls != nil || tail.nulls != nil {
            var bits = Bitmap(count: count)
            if let n = head.nulls { for i in 0..<head.count where n[i] { bits[i] = true } }
            if let n = tail.nulls { for i in 0..<tail.count where n[i] { bits[head.count + i] = true } }
            nulls = bits
        }
        return NumericColumn(name: head.name, scale: scale, base: base, packed: PackedColumn(adopting: raw, count: count, width: width), nulls: nulls)
    }

    /// Writes `stored * factor + offset` for each stored value (wrapping: the caller checked
    /// that the results fit).
    private static func rescale<T: FixedWidthInteger & UnsignedInteger>(_ column: NumericColumn, factor: Int64, offset: Int64, into target: UnsafeMutablePointer<T>) {
        let f = UInt64(bitPattern: factor), add = UInt64(bitPattern: offset)
        func run<S: FixedWidthInteger & UnsignedInteger>(_ source: UnsafeBufferPointer<S>) {
            for i in source.indices { target[i] = T(truncatingIfNeeded: UInt64(source[i]) &* f &+ add) }
        }
        withExtendedLifetime(column.packed) {
            switch column.packed.storage {
            case .one(let b): run(b)
            case .two(let b): run(b)
            case .four(let b): run(b)
            case .eight(let b): run(b)
            }
        }
    }
}
