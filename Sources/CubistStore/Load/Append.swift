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
        let checksum = Checksum.of(bytes)
        if let earlier = cube.appendedFiles[checksum] {
            throw Diagnostic(file: file, message: "the same bytes were appended to cube '\(cube.name)' already, as \(earlier); nothing was appended",
                             help: "appending a file twice would count its rows twice; if it holds new rows, check that it is the file you meant")
        }
        let base = strippingComputed(cube)
        var loader = Loader(model: try model(of: base.cube, file: file), files: NamedBytes(name: file, bytes: bytes))
        loader.base = base.cube
        for (d, dimension) in cube.dimensions.enumerated() {
            if let pattern = cube.dateFormats[dimension.name], let format = try? DateFormat(pattern: pattern) { loader.preferredDates[d] = format }
        }
        loader.threads = Parallel.threads(threads)
        var appended = try loader.run(origin: cube.origin)
        appended.appendedFiles[checksum] = file
        return Appended(cube: appended, rows: appended.facts.rowCount - cube.facts.rowCount, recompute: base.stripped)
    }

    /// Appends several files in order, as one append of each would, but copies the cube's
    /// own rows once: the files are appended to an empty copy of the cube, and that is
    /// joined to the cube at the end (opening a snapshot replays its journal so).
    public static func append(_ files: [(bytes: [UInt8], name: String)], to cube: Cube, threads: Int = 0) throws(Diagnostic) -> Appended {
        guard files.count > 1 else {
            return files.isEmpty ? Appended(cube: cube, rows: 0, recompute: []) : try append(files[0].bytes, file: files[0].name, to: cube, threads: threads)
        }
        let base = strippingComputed(cube)
        var tail = base.cube
        tail.facts = FactTable(rowCount: 0, dimensionCodes: cube.facts.dimensionCodes.map { _ in PackedColumn([UInt32](), maximum: 0) },
                               numericColumns: cube.facts.numericColumns.map { NumericColumn(name: $0.name, scale: $0.scale, base: $0.base, packed: PackedColumn([UInt64](), maximum: 0), nulls: nil) })
        for file in files { tail = try append(file.bytes, file: file.name, to: tail, threads: threads).cube }
        let joined = try joining(base.cube, tail, file: files[files.count - 1].name, threads: Parallel.threads(threads))
        return Appended(cube: joined, rows: tail.facts.rowCount, recompute: base.stripped)
    }

    /// `base`'s rows followed by `tail`'s, in `tail`'s dimensions (which extend `base`'s):
    /// each of `base`'s code columns carried into the new coding, each numeric column
    /// brought to a common scale and base; columns joined on every thread.
    /// `carries` gives the carry of a dimension when it is known already (else it is found).
    static func joining(_ base: Cube, _ tail: Cube, carries known: [PackedColumn.Carry?] = [], file: String, threads: Int) throws(Diagnostic) -> Cube {
        guard base.facts.rowCount + tail.facts.rowCount <= Int(Int32.max) else {
            throw Diagnostic(file: file, message: "cannot append \(tail.facts.rowCount) rows: the cube would pass \(Int32.max) rows", help: "split the cube, e.g. by year")
        }
        let dimensions = tail.dimensions
        let codeCount = dimensions.count, numericCount = base.facts.numericColumns.count
        let codes = UnsafeMutableBufferPointer<PackedColumn?>.allocate(capacity: max(1, codeCount))
        let numeric = UnsafeMutableBufferPointer<NumericColumn?>.allocate(capacity: max(1, numericCount))
        codes.initialize(repeating: nil)
        numeric.initialize(repeating: nil)
        defer {
            codes.deinitialize(); codes.deallocate()
            numeric.deinitialize(); numeric.deallocate()
        }
        let carries = (0..<codeCount).map { d in (d < known.count ? known[d] : nil) ?? carry(from: base.dimensions[d], to: dimensions[d]) }
        Parallel.forEach(codeCount + numericCount, threads: threads) { i in
            if i < codeCount {
                codes[i] = PackedColumn.joining(base.facts.dimensionCodes[i], carries[i], tail.facts.dimensionCodes[i],
                                                maximum: UInt64(max(0, dimensions[i].leaf.count - 1)))
            } else {
                let n = i - codeCount
                numeric[n] = NumericColumn.joining(base.facts.numericColumns[n], tail.facts.numericColumns[n])
            }
        }
        for n in 0..<numericCount where numeric[n] == nil {
            let name = base.facts.numericColumns[n].name
            throw Diagnostic(file: file, message: "the values of column '\(name)' no longer fit 18 significant digits with the appended ones",
                             help: "the appended file has more decimal places or larger numbers than the cube's column can hold together")
        }
        var cube = tail
        cube.facts = FactTable(rowCount: base.facts.rowCount + tail.facts.rowCount, dimensionCodes: (0..<codeCount).map { codes[$0]! },  // safe: every code task above stored its column
                               numericColumns: (0..<numericCount).map { numeric[$0]! })  // safe: checked above
        cube.snapshot = nil
        return cube
    }

    /// How a code of `old` becomes a code of `new`, which has every member of `old`: the
    /// same for a dimension table, shifted for a time dimension that starts earlier, and
    /// through the leaf identities (key, else label) for an inline dimension.
    static func carry(from old: Dimension, to new: Dimension) -> PackedColumn.Carry {
        switch (old.source, new.source) {
        case (.time(_, let a), .time(_, let b)):
            return a == b ? .same : .shift(UInt64(a - b))
        case (.inline, .inline):
            let leaf = new.leaf, previous = old.leaf
            if leaf.count == previous.count { return .same }
            var codes: [String: Int] = [:]
            codes.reserveCapacity(leaf.count)
            for c in 0..<leaf.count { codes[leaf.keys?[c] ?? leaf.members[c]] = c }
            let table = (0..<previous.count).map { UInt64(codes[previous.keys?[$0] ?? previous.members[$0]]!) }  // safe: the new dimension was built from the old one's members and more
            return table.enumerated().allSatisfy { UInt64($0.offset) == $0.element } ? .same : .table(table)
        default:
            return .same
        }
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
                    guard let column = l.column, l.keyColumn == nil || l.keys != nil else { throw oldSnapshot(d, file: cube.origin) }
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

    static func oldSnapshot(_ d: Dimension, file: String) -> Diagnostic {
        Diagnostic(file: file, message: "cannot append: the cube's dimension '\(d.name)' was read from a snapshot of an older version, which does not keep its keys",
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
    /// The key index of a dimension table the cube keeps, and the dimension with its keys
    /// hashed (keys read from a snapshot are hashed by the first append, then kept so).
    static func keyIndex(of dimension: Dimension, file: String) throws(Diagnostic) -> (Dimension, KeyIndex) {
        guard let table = dimension.keyTable else { throw CubeLoader.oldSnapshot(dimension, file: file) }
        guard let interner = table.interner() else {
            throw Diagnostic(file: file, message: "cannot append: the keys of dimension '\(dimension.name)' in the cube's snapshot repeat (the snapshot is damaged)",
                             help: "open the cube's source data and SAVE it again")
        }
        return (dimension.with(keyTable: Dimension.KeyTable(interner: interner, leaves: table.leaves)), KeyIndex(interner: interner, codes: table.leaves))
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
        var dimensions = base.dimensions
        var tails = [PackedColumn?](repeating: nil, count: dimensions.count)
        var carries = [PackedColumn.Carry?](repeating: nil, count: dimensions.count)
        for (k, d) in keyFields.enumerated() { tails[d] = keyCodes[k] }
        for (i, entry) in inline.enumerated() {
            let oldCount = base.dimensions[entry.dimension].leaf.count
            let (dimension, remap) = entry.builder.finish(source: .inline, keepKeys: true)
            dimensions[entry.dimension] = dimension
            // Old members keep their codes unless a new one sorts before them.
            let moved = remap.prefix(oldCount).enumerated().contains { $0.offset != Int($0.element) }
            carries[entry.dimension] = moved ? .table(remap.prefix(oldCount).map { UInt64($0) }) : .same
            tails[entry.dimension] = PackedColumn(inlineCodes[i].map { UInt32(remap[Int($0)]) }, maximum: UInt64(max(0, dimension.leaf.count - 1)))
        }
        for (t, d) in timeFields.enumerated() {
            let old = base.dimensions[d]
            guard case .time(let column, let oldFirst) = old.source else { preconditionFailure("time field of a dimension not of time") }  // safe: the derived model marks only time dimensions as time
            let oldLast = oldFirst + Int32(old.leaf.count - 1)
            let lo = min(oldFirst, days[t].min() ?? oldFirst), hi = max(oldLast, days[t].max() ?? oldLast)
            let dimension = TimeDimensionBuilder.build(name: old.name, column: column, minimumDay: lo, maximumDay: hi)
            guard case .time(_, let first) = dimension.source else { preconditionFailure("time dimension without first day") }  // safe: the builder makes a time source
            dimensions[d] = dimension
            tails[d] = PackedColumn(days[t].map { UInt32($0 - first) }, maximum: UInt64(max(0, dimension.leaf.count - 1)))
        }
        var columns: [NumericColumn] = []
        for old in base.facts.numericColumns {
            guard let new = numeric.first(where: { $0?.name == old.name }) ?? nil else { preconditionFailure("numeric column not parsed") }  // safe: appendedColumns checked every numeric column is in the file
            columns.append(new)
        }
        var tail = base
        tail.dimensions = dimensions
        // Tail codes are already in the new dimensions' coding.
        tail.facts = FactTable(rowCount: rows, dimensionCodes: tails.map { $0! }, numericColumns: columns)  // safe: every dimension is a table, inline or time dimension, each given a tail above
        var cube = try CubeLoader.joining(base, tail, carries: carries, file: file, threads: threads)
        // "day.csv: utf-8, ..." becomes "day.csv (appended, 40 rows): utf-8, ...".
        let named = summary.hasPrefix(file + ": ") ? String(summary.dropFirst(file.count + 2)) : summary
        cube.fileFormats.append("\(file) (appended, \(rows) row\(rows == 1 ? "" : "s")): \(named)")
        return cube
    }
}

extension PackedColumn {
    /// How `joining` carries a column's values over.
    enum Carry {
        /// Unchanged.
        case same
        /// Through a table: value `v` becomes `table[v]`.
        case table([UInt64])
        /// Plus a constant (wrapping: the caller knows the results fit).
        case shift(UInt64)
    }

    /// The values of `head` followed by those of `tail`, each carried over as told, in the
    /// narrowest width for `maximum`. The zone maps of `head`'s whole chunks carry over
    /// when its values keep their order; the rest are computed.
    static func joining(_ head: PackedColumn, _ carry: Carry, _ tail: PackedColumn, _ tailCarry: Carry = .same, maximum: UInt64) -> PackedColumn {
        let width = Width.fitting(maximum)
        let count = head.count + tail.count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, count * width.rawValue), alignment: 8)
        func fill<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) {
            let target = raw.bindMemory(to: T.self, capacity: count)
            copy(head, carry, into: target)
            copy(tail, tailCarry, into: target + head.count)
        }
        switch width {
        case .one: fill(UInt8.self)
        case .two: fill(UInt16.self)
        case .four: fill(UInt32.self)
        case .eight: fill(UInt64.self)
        }
        let whole = head.count / chunkSize
        switch carry {
        case .same:
            return PackedColumn(adopting: raw, count: count, width: width, known: (head.chunkMinimum[..<whole], head.chunkMaximum[..<whole]))
        case .shift(let delta):
            return PackedColumn(adopting: raw, count: count, width: width,
                                known: (head.chunkMinimum[..<whole].map { $0 &+ delta }[...], head.chunkMaximum[..<whole].map { $0 &+ delta }[...]))
        case .table:
            return PackedColumn(adopting: raw, count: count, width: width)
        }
    }

    private static func copy<T: FixedWidthInteger & UnsignedInteger>(_ column: PackedColumn, _ carry: Carry, into target: UnsafeMutablePointer<T>) {
        func run<S: FixedWidthInteger & UnsignedInteger>(_ source: UnsafeBufferPointer<S>) {
            switch carry {
            case .same, .shift(0):
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
        let nulls = joinedNulls(head, tail)
        if h.factor == 1 && t.factor == 1 {
            let packed = PackedColumn.joining(head.packed, .shift(UInt64(bitPattern: h.low &- base)), tail.packed, .shift(UInt64(bitPattern: t.low &- base)),
                                              maximum: UInt64(span))
            return NumericColumn(name: head.name, scale: scale, base: base, packed: packed, nulls: nulls)
        }
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
        return NumericColumn(name: head.name, scale: scale, base: base, packed: PackedColumn(adopting: raw, count: count, width: width), nulls: nulls)
    }

    /// The null bitmap of `head`'s rows followed by `tail`'s (nil when neither has nulls).
    private static func joinedNulls(_ head: NumericColumn, _ tail: NumericColumn) -> Bitmap? {
        guard head.nulls != nil || tail.nulls != nil else { return nil }
        var words = head.nulls?.words ?? [UInt64](repeating: 0, count: (head.count + 63) / 64)
        words.append(contentsOf: [UInt64](repeating: 0, count: (head.count + tail.count + 63) / 64 - words.count))
        if let n = tail.nulls {
            // Tail bit i goes to bit head.count + i: whole words shifted into place.
            let shift = head.count % 64, first = head.count / 64
            for (w, word) in n.words.enumerated() where word != 0 {
                words[first + w] |= word << UInt64(shift)
                if shift > 0, first + w + 1 < words.count { words[first + w + 1] |= word >> UInt64(64 - shift) }
            }
        }
        return Bitmap(words: words, count: head.count + tail.count)
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
