import Foundation
import CubistCore
import CubistSyntax

/// Loads a cube from its model and CSV files. Everything is checked — unknown columns,
/// fact keys with no dimension row, bad numbers and dates, ragged rows, duplicate keys,
/// members with two parents — and reported with file, line and column. Nothing is kept
/// from a load that fails.
public enum CubeLoader {
    /// Loads a model file (`cube.json`) or a directory holding one.
    /// `progress`, if given, hears the fraction of the fact file read, every 65,536 rows.
    /// The fact file is parsed on `threads` threads (0: every core) when it can be split
    /// safely at line ends (it holds no quoted fields and no inline dimensions). `csv` overrides
    /// the model's CSV options (`"csv"`) for every file it reads.
    public static func load(modelAt path: String, threads: Int = 0, csv: CSVOptions = CSVOptions(),
                            progress: ((Double) -> Void)? = nil) throws(Diagnostic) -> Cube {
        var modelPath = path
        if FileBytes.isDirectory(path) {
            modelPath = path.hasSuffix("/") ? path + "cube.json" : path + "/cube.json"
            guard FileBytes.exists(modelPath) else {
                throw Diagnostic(file: path, message: "directory has no cube.json",
                                 help: "point at a cube directory, a cube.json file, a .csv file or a snapshot")
            }
        }
        let bytes = try FileBytes.read(modelPath)
        let model = try ModelParser.parse(bytes, file: modelPath)
        let slash = modelPath.lastIndex(of: "/")
        let directory = slash.map { String(modelPath[..<$0]) } ?? "."
        let files = DiskFiles(base: directory.isEmpty ? "/" : directory)
        let cube = try load(model: model, files: files, origin: path, threads: threads, csv: csv, progress: progress)
        return cube.readFrom([modelPath, files.resolve(model.facts)] + model.dimensions.compactMap { $0.table.map(files.resolve) })
    }

    /// Loads a parsed model, reading its CSV files from `files`; `facts`, when given, is the
    /// fact file already read and prepared.
    /// A fact or dimension file may be CSV or Parquet (by its first bytes).
    public static func load(model: CubeModel, files: FileSource, origin: String, threads: Int = 0, csv: CSVOptions = CSVOptions(),
                            facts: TableInput? = nil, progress: ((Double) -> Void)? = nil) throws(Diagnostic) -> Cube {
        var loader = Loader(model: model, files: files)
        loader.progress = progress
        loader.options = model.csv.overridden(by: csv)
        loader.preparedFacts = facts
        loader.threads = Parallel.threads(threads)
        return try loader.run(origin: origin)
    }
}

/// Looks up a fact's dimension key: a direct array when keys are small integers, else a
/// hash of the key bytes.
struct KeyIndex {
    private var dense: [Int32]?
    private var interner: ByteInterner
    private var codes: [Int32]

    /// The largest code a key maps to.
    let maximumCode: Int32

    init(interner: ByteInterner, codes: [Int32]) {
        self.interner = interner
        self.codes = codes
        self.maximumCode = codes.max() ?? 0
        var values: [Int] = []
        values.reserveCapacity(codes.count)
        for id in 0..<interner.count {
            let value = interner.bytes(id).withUnsafeBufferPointer(KeyIndex.canonicalInteger)
            guard let value else { return }
            values.append(value)
        }
        let limit = max(1024, codes.count * 8)
        guard let maximum = values.max(), maximum < limit else { return }
        var table = [Int32](repeating: -1, count: maximum + 1)
        for (id, v) in values.enumerated() { table[v] = codes[id] }
        dense = table
    }

    /// A non-negative integer written without sign or leading zeros, at most 9 digits.
    @inline(__always)
    static func canonicalInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 9, bytes[0] != 48 || bytes.count == 1 else { return nil }
        var v = 0
        for b in bytes {
            guard b >= 48 && b <= 57 else { return nil }
            v = v * 10 + Int(b - 48)
        }
        return v
    }

    /// The code of a key stored as a whole number, when keys are small integers (else nil:
    /// look the key up by its text).
    @inline(__always)
    func lookup(integer value: Int) -> Int32? {
        guard let dense, value < dense.count else { return nil }
        let code = dense[value]
        return code < 0 ? nil : code
    }

    @inline(__always)
    func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        if let dense {
            guard let v = KeyIndex.canonicalInteger(bytes), v < dense.count else { return nil }
            let code = dense[v]
            return code < 0 ? nil : code
        }
        return interner.find(bytes).map { codes[Int($0)] }
    }
}

struct Loader {
    let model: CubeModel
    let files: FileSource
    var progress: ((Double) -> Void)?
    var threads = 1
    var options = CSVOptions()
    var preparedFacts: TableInput?
    /// When appending: the cube the facts are added to. Its dimension tables join the new
    /// rows, its inline dimensions grow, and every column of the file must be one of its own.
    var base: Cube?
    /// Date formats to take when a time column's dates read two ways, by dimension index.
    var preferredDates: [Int: DateFormat] = [:]

    init(model: CubeModel, files: FileSource) {
        self.model = model
        self.files = files
    }

    // MARK: files and headers

    private func read(_ path: String, for what: String, at location: SourceLocation?) throws(Diagnostic) -> [UInt8] {
        do {
            return try files.read(path)
        } catch {
            throw model.error(location, "cannot read '\(path)', the \(what): \(error.message)", help: error.help ?? "paths are relative to the folder of \(model.file)")
        }
    }

    /// A file read and made ready to parse: a Parquet file decoded, a CSV file transcoded
    /// with its dialect found.
    private func input(_ path: String, for what: String, at location: SourceLocation?, facts: Bool = false) throws(Diagnostic) -> TableInput {
        // A Parquet file on disk is mapped, not copied into memory.
        if path.lowercased().hasSuffix(".parquet"), let disk = files as? DiskFiles, FileBytes.isRegularFile(disk.resolve(path)) {
            return .parquet(try ParquetTable.read(mapping: disk.resolve(path), file: files.displayPath(path), threads: threads, direct: facts))
        }
        return try TableInput.prepare(read(path, for: what, at: location), options: options, file: files.displayPath(path), threads: threads,
                               facts: facts)
    }

    private func header<R: RecordReader>(_ reader: R, _ dialect: CSVDialect) throws(Diagnostic) -> [String] {
        if let names = reader.declaredNames { return names }
        guard try reader.next() else {
            throw Diagnostic(file: reader.file, location: SourceLocation(line: 1, column: 1), message: "file is empty; expected a header row of column names",
                             help: "the first line names the columns, e.g. date,customer_id,revenue")
        }
        if !dialect.header {
            // No header: the columns are numbered, and the first record is data.
            let names = (1...max(1, reader.fieldCount)).map { "column\($0)" }
            reader.rewindRecord()
            return names
        }
        var names: [String] = []
        for i in 0..<reader.fieldCount {
            let name = try reader.string(i).trimmingCharacters(in: .whitespaces)
            if name.isEmpty {
                throw reader.error(at: i, "column \(i + 1) of the header has no name", help: "give every column a name in the first line")
            }
            if let first = names.firstIndex(of: name) {
                throw reader.error(at: i, "duplicate column name '\(name)' (also column \(first + 1))", help: "rename one of the columns")
            }
            names.append(name)
        }
        return names
    }

    private func column(_ name: String, in header: [String], file: String, for what: String, at location: SourceLocation?) throws(Diagnostic) -> Int {
        if let i = header.firstIndex(of: name) { return i }
        let folded = header.indices.filter { header[$0].lowercased() == name.lowercased() }
        if folded.count == 1 { return folded[0] }
        var help = Suggestions.didYouMean(name, in: header).map { $0 + " " } ?? ""
        help += "\(file) has the columns: \(header.joined(separator: ", "))"
        throw model.error(location, "column '\(name)' (\(what)) is not in \(file)", help: help, span: name.count + 2)
    }

    // MARK: dimension tables

    private func tableDimension(_ spec: CubeModel.DimensionSpec) throws(Diagnostic) -> (Dimension, KeyIndex, String) {
        guard let table = spec.table else { preconditionFailure("table dimension without table") }  // safe: the model parser guarantees it, and the loader built an entry for every table dimension
        let input = try self.input(table, for: "table of dimension '\(spec.name)'", at: spec.tableLocation)
        switch input {
        case .csv(let csv):
            return try csv.bytes.withUnsafeBufferPointer { (buffer) throws(Diagnostic) -> (Dimension, KeyIndex, String) in
                try tableDimension(spec, CSVReader(bytes: buffer, file: files.displayPath(table), dialect: csv.dialect), csv.dialect, summary: input.summary)
            }
        case .parquet(let parquet):
            return try tableDimension(spec, parquet.rows(), .standard, summary: input.summary)
        }
    }

    private func tableDimension<R: RecordReader>(_ spec: CubeModel.DimensionSpec, _ reader: R, _ dialect: CSVDialect, summary: String) throws(Diagnostic) -> (Dimension, KeyIndex, String) {
        guard let table = spec.table, let key = spec.key else { preconditionFailure("table dimension without table and key") }  // safe: the model parser guarantees it
        let file = files.displayPath(table)
        let names = try header(reader, dialect)
        let keyField = try column(key, in: names, file: file, for: "key of dimension '\(spec.name)'", at: spec.keyLocation ?? spec.location)
        let levels = try levelStates(spec.levels, names, file, spec.name)
        let builder = DimensionBuilder(name: spec.name, levels: levels, attributes: try levelStates(spec.attributes, names, file, spec.name))
        var keys = ByteInterner(capacity: 1024)
        var keyLines: [Int] = []
        var leaves: [Int32] = []
        // A leaf level keyed by the table's key has one member per row: the key dictionary
        // serves as the leaf's.
        let leafByKey = levels.last?.keyField == keyField
        while try reader.next() {
            try checkFieldCount(reader, names.count)
            let (id, inserted) = keys.intern(reader.field(keyField))
            guard inserted else {
                throw reader.error(at: keyField, "duplicate key '\(keys.bytesText(Int(id)).clipped)' in \(file) (first at \(reader.declaredNames == nil ? "line" : "row") \(keyLines[Int(id)]))",
                                   help: "each row of a dimension table needs its own \(key)")
            }
            let leaf = try builder.add(reader, newLeaf: leafByKey ? id : nil)
            keyLines.append(reader.recordLine)
            leaves.append(leaf)
        }
        guard !leaves.isEmpty else {
            throw Diagnostic(file: file, location: reader.declaredNames == nil ? SourceLocation(line: 2, column: 1) : nil,
                             message: reader.declaredNames == nil ? "dimension table has a header but no rows" : "dimension table has no rows",
                             help: "dimension '\(spec.name)' needs at least one member")
        }
        if leafByKey { builder.shareLeafKeys(keys) }
        let (built, remap) = builder.finish(source: .table(file: table, key: key))
        let codes = leaves.map { remap[Int($0)] }
        let dimension = built.with(keyTable: Dimension.KeyTable(interner: keys, leaves: codes))
        return (dimension, KeyIndex(interner: keys, codes: codes), table + ": " + summary)
    }

    private func levelStates(_ specs: [CubeModel.LevelSpec], _ header: [String], _ file: String, _ dimension: String) throws(Diagnostic) -> [DimensionBuilder.LevelState] {
        var states: [DimensionBuilder.LevelState] = []
        for s in specs {
            let label = try column(s.column, in: header, file: file, for: "level '\(s.name)' of '\(dimension)'", at: s.location)
            var keyField: Int?
            if let key = s.key {
                keyField = try column(key, in: header, file: file, for: "key of level '\(s.name)'", at: s.location)
            }
            states.append(DimensionBuilder.LevelState(name: s.name, column: s.column, keyColumn: s.key, labelField: label, keyField: keyField))
        }
        return states
    }

    // MARK: facts

    enum Role {
        case tableKey(Int)
        case time(Int)
        case numeric(Int)
        case dimensionColumn
        case other
    }

    mutating func run(origin: String) throws(Diagnostic) -> Cube {
        // Dimension tables first: fact keys are checked against them.
        // The fact file is read while the dimension tables load; a dimension error is still
        // reported first, as when they load one after the other.
        var tableDimensions: [Int: (Dimension, KeyIndex)] = [:]
        var formats: [Int: String] = [:]
        var facts = preparedFacts
        var dimensionFailure: Diagnostic?, readFailure: Diagnostic?
        let loader = self
        if var hashed = base {
            for (i, spec) in model.dimensions.enumerated() where spec.table != nil {
                let (dimension, index) = try Loader.keyIndex(of: hashed.dimensions[i], file: model.file)
                tableDimensions[i] = (dimension, index)
                hashed.dimensions[i] = dimension
            }
            base = hashed
        }
        // The fact file is decoded on every thread (Parquet) while the dimension tables load.
        let readDimensions = {
            guard loader.base == nil else { return }
            do throws(Diagnostic) {
                for (i, spec) in loader.model.dimensions.enumerated() where spec.table != nil {
                    let (dimension, index, format) = try loader.tableDimension(spec)
                    tableDimensions[i] = (dimension, index)
                    formats[i] = format
                }
            } catch {
                dimensionFailure = error
            }
        }
        let readFacts = {
            guard facts == nil else { return }
            do throws(Diagnostic) {
                facts = try loader.input(loader.model.facts, for: "fact file", at: loader.model.factsLocation, facts: true)
            } catch {
                readFailure = error
            }
        }
        if threads > 1 {
            Parallel.concurrently(readDimensions, readFacts)
        } else {
            readDimensions()
            readFacts()
        }
        if let dimensionFailure { throw dimensionFailure }
        if let readFailure { throw readFailure }
        guard let facts else { preconditionFailure("fact file neither read nor failed") }  // safe: the read task sets one of the two
        let factFile = files.displayPath(model.facts)
        let fileFormats = [model.facts + ": " + facts.summary] + formats.keys.sorted().compactMap { formats[$0] }
        switch facts {
        case .csv(let csv):
            return try csv.bytes.withUnsafeBufferPointer { (buffer) throws(Diagnostic) -> Cube in
                let reader = CSVReader(bytes: buffer, file: factFile, dialect: csv.dialect)
                return try loadFacts(reader, file: factFile, dialect: csv.dialect, total: buffer.count, tableDimensions: tableDimensions, origin: origin, fileFormats: fileFormats,
                                     body: { start in CSVReader(bytes: UnsafeBufferPointer(rebasing: buffer[start...]), file: factFile, dialect: csv.dialect) },
                                     parts: { start in csvParts(buffer, from: start, file: factFile, dialect: csv.dialect) }, columnar: { _ in nil })
            }
        case .parquet(let table):
            let threads = self.threads
            return try loadFacts(table.rows(), file: factFile, dialect: .standard, total: table.rowCount, tableDimensions: tableDimensions, origin: origin, fileFormats: fileFormats,
                                 body: { _ in table.rows() },
                                 parts: { _ in
                                     let ranges = table.partitions(threads)
                                     return ranges.count > 1 ? ranges.map { (table.rows(groups: $0), $0.reduce(0) { $0 + table.groups[$1].rowCount }) } : nil
                                 },
                                 columnar: { layout in parquetColumns(table, layout) })
        }
    }

    private func referencedColumns() -> Set<String> {
        var names: Set<String> = []
        for m in model.measures {
            if let c = m.column { names.insert(c) }
            if let row = m.row, let expr = try? Parser.parseExpression(row) {
                for (path, _) in expr.names where path.count == 1 { names.insert(path[0]) }
            }
        }
        return names
    }

    /// How each time field's dates are written: as the model or options say, else detected
    /// from the first records (from all of them when the first leave day and month order open).
    private func dateFormats<R: RecordReader>(_ body: () -> R, file: String, names: [String],
                                              timeFields: [(dimension: Int, field: Int)]) throws(Diagnostic) -> [DateFormat] {
        var formats = [DateFormat?](repeating: nil, count: timeFields.count)
        var detectors: [Int: DateFormat.Detector] = [:]
        for (t, time) in timeFields.enumerated() {
            if let set = model.dimensions[time.dimension].dateFormat ?? options.dateFormat { formats[t] = set } else { detectors[t] = DateFormat.Detector() }
        }
        if detectors.isEmpty { return formats.map { $0 ?? .iso } }
        func scan(_ records: Int) {
            let reader = body()
            var seen = 0
            while seen < records, (try? reader.next()) == true, reader.fieldCount == names.count {
                for t in detectors.keys { detectors[t]!.see(reader.field(timeFields[t].field)) }  // safe: iterating the dictionary's own keys
                seen += 1
            }
        }
        scan(4096)
        if detectors.values.contains(where: { if case .ambiguous = $0.outcome { return true } else { return false } }) {
            // Day and month order still open: every value decides.
            for t in detectors.keys { detectors[t] = DateFormat.Detector(detectors[t]!.remaining) }  // safe: iterating the dictionary's own keys
            scan(Int.max)
        }
        for (t, detector) in detectors {
            switch detector.outcome {
            case .format(let f): formats[t] = f
            case .none: formats[t] = .iso  // the parse reports the first value that is no date
            case .ambiguous(let candidates):
                if let preferred = preferredDates[timeFields[t].dimension], candidates.contains(preferred) {
                    formats[t] = preferred
                    continue
                }
                let spec = model.dimensions[timeFields[t].dimension]
                throw model.error(spec.columnLocation ?? spec.location,
                                  "the dates in column '\(names[timeFields[t].field])' of \(file) read as \(candidates.map { "'\($0.pattern)'" }.joined(separator: " and ")) alike",
                                  help: "say which: \"date_format\": \"\(candidates[0].pattern)\" in the time dimension '\(spec.name)', or --csv date_format=\(candidates[0].pattern)")
            }
        }
        return formats.map { $0 ?? .iso }
    }

    /// Loads the facts from `reader`; `body(start)` reads the records again from after the
    /// header, `parts(start)` splits them for parsing in parallel (nil: they cannot be split),
    /// with the progress units in each part.
    private func loadFacts<R: RecordReader, B: RecordReader, P: RecordReader>(
        _ reader: R, file: String, dialect: CSVDialect, total: Int, tableDimensions: [Int: (Dimension, KeyIndex)], origin: String, fileFormats: [String],
        body: (Int) -> B, parts: (Int) -> [(P, Int)]?, columnar: (FactLayout) -> FactColumns?) throws(Diagnostic) -> Cube {
        let names = try header(reader, dialect)
        var roles = [Role](repeating: .other, count: names.count)
        var keyFields: [(dimension: Int, field: Int, index: KeyIndex)] = []
        var timeFields: [(dimension: Int, field: Int)] = []
        var inline: [(dimension: Int, builder: DimensionBuilder)] = []
        for (d, spec) in model.dimensions.enumerated() {
            if spec.isTime, let c = spec.column {
                let f = try column(c, in: names, file: file, for: "date column of time dimension '\(spec.name)'", at: spec.columnLocation ?? spec.location)
                roles[f] = .time(timeFields.count)
                timeFields.append((d, f))
            } else if let key = spec.key, let (_, index) = tableDimensions[d] {
                let f = try column(key, in: names, file: file, for: "key of dimension '\(spec.name)', to join \(spec.table ?? "")", at: spec.keyLocation ?? spec.location)
                roles[f] = .tableKey(keyFields.count)
                keyFields.append((d, f, index))
            } else {
                let levels = try levelStates(spec.levels, names, file, spec.name)
                let attributes = try levelStates(spec.attributes, names, file, spec.name)
                for state in levels + attributes {
                    roles[state.labelField] = .dimensionColumn
                    if let k = state.keyField { roles[k] = .dimensionColumn }
                }
                if let base {
                    inline.append((d, DimensionBuilder(seededWith: base.dimensions[d], levels: levels, attributes: attributes)))
                } else {
                    inline.append((d, DimensionBuilder(name: spec.name, levels: levels, attributes: attributes)))
                }
            }
        }
        var referenced = referencedColumns()
        var numericFields: [Int] = []
        if let base { referenced = try appendedColumns(names, roles: roles, base: base, file: file) }
        for (f, role) in roles.enumerated() {
            if case .other = role {
                if let base, base.ignoredColumns.contains(names[f]) { continue }
                roles[f] = .numeric(numericFields.count)
                numericFields.append(f)
            }
        }
        let start = reader.bytesRead
        let dates = try dateFormats({ body(start) }, file: file, names: names, timeFields: timeFields)
        let layout = FactLayout(names: names, keyFields: keyFields, timeFields: timeFields, dateFormats: dates, isoDates: dates.map { $0 == .iso },
                                numericFields: numericFields,
                                referenced: referenced, model: model, files: files, dialect: dialect, appending: base != nil)
        var columns = FactColumns(keys: keyFields.count, inline: inline.count, times: timeFields.count, numeric: numericFields.count)
        if inline.isEmpty, let whole = columnar(layout) {
            columns = whole
            progress?(1)
        } else if inline.isEmpty, threads > 1, let split = parts(start), let parallel = parseInParallel(split, layout: layout) {
            columns = parallel
        } else {
            // One pass in file order; on a parallel failure this also finds the first error.
            try layout.parse(reader, into: &columns, inline: &inline, progress: progress, total: total)
        }
        let keyCodes = columns.keyCodes, days = columns.days, numericBuilders = columns.numeric, dropped = columns.dropped, rows = columns.rows, prebuilt = columns.prebuilt
        let prepackedKeys = columns.prepackedKeys
        var inlineCodes = columns.inlineCodes
        guard rows > 0 else {
            throw Diagnostic(file: file, location: reader.declaredNames == nil ? SourceLocation(line: 2, column: 1) : nil,
                             message: reader.declaredNames == nil ? "fact file has a header but no rows" : "fact file has no rows",
                             help: base == nil ? "a cube needs at least one fact row" : "there is nothing to append; the cube is unchanged")
        }
        // Assemble dimensions in model order, with their fact code columns.
        var dimensions = [Dimension?](repeating: nil, count: model.dimensions.count)
        var codes = [PackedColumn?](repeating: nil, count: model.dimensions.count)
        // Key code columns and numeric columns are packed on all threads at once.
        let packed = UnsafeMutableBufferPointer<PackedColumn?>.allocate(capacity: keyFields.count)
        let built = UnsafeMutableBufferPointer<NumericColumn?>.allocate(capacity: numericFields.count)
        packed.initialize(repeating: nil)
        built.initialize(repeating: nil)
        defer {
            packed.deinitialize()
            packed.deallocate()
            built.deinitialize()
            built.deallocate()
        }
        let leafCounts = keyFields.map { tableDimensions[$0.dimension]!.0.leaf.count }  // safe: the model parser guarantees it, and the loader built an entry for every table dimension
        Parallel.forEach(keyFields.count + numericFields.count, threads: threads) { i in
            if i < keyFields.count {
                packed[i] = prepackedKeys[i] ?? PackedColumn(keyCodes[i], maximum: UInt64(max(0, leafCounts[i] - 1)))
            } else {
                let n = i - keyFields.count
                if !dropped[n] { built[n] = prebuilt[n] ?? numericBuilders[n].build(name: names[numericFields[n]]) }
            }
        }
        for (k, key) in keyFields.enumerated() {
            dimensions[key.dimension] = tableDimensions[key.dimension]!.0  // safe: the model parser guarantees it, and the loader built an entry for every table dimension
            codes[key.dimension] = packed[k]
        }
        if let base {
            return try appending(to: base, rows: rows, keyFields: keyFields.map(\.dimension), keyCodes: (0..<keyFields.count).map { packed[$0]! },  // safe: every key task above stored its column
                                 inline: inline, inlineCodes: inlineCodes, timeFields: timeFields.map(\.dimension), days: days,
                                 numeric: (0..<numericFields.count).map { built[$0] }, file: file, summary: fileFormats[0])
        }
        for (i, entry) in inline.enumerated() {
            let (dimension, remap) = entry.builder.finish(source: .inline, keepKeys: true)
            dimensions[entry.dimension] = dimension
            var column = inlineCodes[i]
            for r in column.indices { column[r] = UInt32(remap[Int(column[r])]) }
            inlineCodes[i] = []
            codes[entry.dimension] = PackedColumn(column, maximum: UInt64(max(0, dimension.leaf.count - 1)))
        }
        for (t, time) in timeFields.enumerated() {
            let spec = model.dimensions[time.dimension]
            let lo = days[t].min() ?? 0, hi = days[t].max() ?? 0
            let dimension = TimeDimensionBuilder.build(name: spec.name, column: spec.column ?? names[time.field], minimumDay: lo, maximumDay: hi)
            guard case .time(_, let firstDay) = dimension.source else { preconditionFailure("time dimension without first day") }  // safe: the model parser guarantees it, and the loader built an entry for every table dimension
            dimensions[time.dimension] = dimension
            codes[time.dimension] = PackedColumn(days[t].map { UInt32($0 - firstDay) }, maximum: UInt64(max(0, dimension.leaf.count - 1)))
        }
        var numeric: [NumericColumn] = []
        var ignored: [String] = []
        for (n, f) in numericFields.enumerated() {
            if dropped[n] { ignored.append(names[f]) } else if let column = built[n] { numeric.append(column) }
        }
        let finalDimensions = dimensions.compactMap { $0 }
        let facts = FactTable(rowCount: rows, dimensionCodes: codes.compactMap { $0 }, numericColumns: numeric)
        let measures = try MeasureResolver(model: model, dimensions: finalDimensions, numeric: numeric, ignored: ignored, factFile: file).resolve()
        let dateNotes = timeFields.enumerated().compactMap { t, time in reader.storesDates(time.field) ? nil : "dates in \(names[time.field]): \(dates[t].pattern)" }
        var formats = fileFormats
        if !dateNotes.isEmpty { formats[0] += "; " + dateNotes.joined(separator: ", ") }
        var cube = Cube(name: model.name, dimensions: finalDimensions, measures: measures, facts: facts, origin: origin, ignoredColumns: ignored,
                        pendingAttributes: model.computed, fileFormats: formats)
        for (t, time) in timeFields.enumerated() where !reader.storesDates(time.field) { cube.dateFormats[model.dimensions[time.dimension].name] = dates[t].pattern }
        return cube
    }

    /// Splits the fact rows after the header at line ends into one part per thread, with
    /// the bytes in each. Nil when the file cannot be split safely (it has a quote, so a line
    /// end may sit inside a field) or is small.
    private func csvParts(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, file: String, dialect: CSVDialect) -> [(CSVReader, Int)]? {
        let n = buffer.count
        guard let base = buffer.baseAddress, start < n, n - start >= 1 << 20 else { return nil }
        if let quote = dialect.quote, memchr(base + start, Int32(quote), n - start) != nil { return nil }
        var bounds = [start]
        for k in 1..<threads {
            var cut = start + (n - start) / threads * k
            guard cut > bounds[bounds.count - 1] else { continue }
            guard let newline = memchr(base + cut, 10, n - cut) else { break }
            cut = base.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
            if cut < n { bounds.append(cut) }
        }
        bounds.append(n)
        return (0..<bounds.count - 1).map { k in
            let slice = UnsafeBufferPointer(rebasing: buffer[bounds[k]..<bounds[k + 1]])
            return (CSVReader(bytes: slice, file: file, dialect: dialect), slice.count)
        }
    }

    /// A Parquet file's fact columns converted a column at a time from their stored values,
    /// on every thread. Nil when any value needs a closer look (a null key or date, a key
    /// with no row, a number out of range): the row-at-a-time parse then reports the first
    /// such value exactly.
    private func parquetColumns(_ table: ParquetTable, _ layout: FactLayout) -> FactColumns? {
        let keys = layout.keyFields.count, times = layout.timeFields.count, numerics = layout.numericFields.count
        let tasks = keys + times + numerics
        let packedKeys = UnsafeMutableBufferPointer<PackedColumn?>.allocate(capacity: max(1, keys))
        let days = UnsafeMutableBufferPointer<[Int32]?>.allocate(capacity: max(1, times))
        let numeric = UnsafeMutableBufferPointer<DecimalColumnBuilder?>.allocate(capacity: max(1, numerics))
        let packed = UnsafeMutableBufferPointer<NumericColumn?>.allocate(capacity: max(1, numerics))
        packed.initialize(repeating: nil)
        let dropped = UnsafeMutableBufferPointer<Bool>.allocate(capacity: max(1, numerics))
        packedKeys.initialize(repeating: nil)
        days.initialize(repeating: nil)
        numeric.initialize(repeating: nil)
        dropped.initialize(repeating: false)
        defer {
            packedKeys.deinitialize(); packedKeys.deallocate()
            days.deinitialize(); days.deallocate()
            numeric.deinitialize(); numeric.deallocate()
            packed.deinitialize(); packed.deallocate()
            dropped.deinitialize(); dropped.deallocate()
        }
        let rows = table.rowCount
        Parallel.forEach(tasks, threads: threads) { task in
            if task < keys {
                packedKeys[task] = table.packedKeys(layout.keyFields[task].field, layout.keyFields[task].index)
            } else if task < keys + times {
                let t = task - keys
                var column = [Int32]()
                column.reserveCapacity(rows)
                for group in table.groups {
                    guard group.chunks[layout.timeFields[t].field].nulls == nil,
                          group.chunks[layout.timeFields[t].field].appendDays(table.meaning(layout.timeFields[t].field), to: &column) else { return }
                }
                days[t] = column
            } else {
                let n = task - keys - times
                let field = layout.numericFields[n]
                // Integers and decimals stored as integers: packed straight from the file's values.
                if let column = table.packedNumbers(field) {
                    packed[n] = column
                    numeric[n] = DecimalColumnBuilder()
                    return
                }
                var builder = DecimalColumnBuilder()
                builder.values.reserveCapacity(rows)
                switch table.meaning(field) {
                case .integer, .unsigned, .decimal, .floating:
                    for group in table.groups {
                        guard group.chunks[field].appendNumbers(table.meaning(field), to: &builder) else { return }
                    }
                    numeric[n] = builder
                default:
                    // Text (perhaps numbers written as text), dates, booleans: as the row parse takes them.
                    let reader = table.rows()
                    while (try? reader.next()) == true {
                        switch reader.decimal(field, decimalComma: false) {
                        case .value(let mantissa, let scale):
                            do { try builder.append(mantissa: mantissa, scale: scale) } catch { return }
                        case .empty: builder.appendNull()
                        default:
                            if layout.referenced.contains(layout.names[field]) { return }
                            dropped[n] = true
                            numeric[n] = DecimalColumnBuilder()
                            return
                        }
                    }
                    numeric[n] = builder
                }
            }
        }
        var columns = FactColumns(keys: keys, inline: 0, times: times, numeric: numerics)
        for k in 0..<keys {
            guard let codes = packedKeys[k] else { return nil }
            columns.prepackedKeys[k] = codes
        }
        for t in 0..<times {
            guard let column = days[t] else { return nil }
            columns.days[t] = column
        }
        for n in 0..<numerics {
            guard let builder = numeric[n] else { return nil }
            columns.numeric[n] = builder
            columns.dropped[n] = dropped[n]
            columns.prebuilt[n] = packed[n]
        }
        columns.rows = rows
        return columns
    }

    /// Parses the parts at once. Returns nil when any part fails: the caller then parses in
    /// one pass, which reports the first error in file order exactly.
    private func parseInParallel<P: RecordReader>(_ split: [(P, Int)], layout: FactLayout) -> FactColumns? {
        let parts = split.count
        let results = UnsafeMutableBufferPointer<FactColumns?>.allocate(capacity: parts)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        let counts = (keys: layout.keyFields.count, times: layout.timeFields.count, numeric: layout.numericFields.count)
        let report = progress
        Parallel.forEach(parts, threads: threads) { k in
            let (reader, total) = split[k]
            var columns = FactColumns(keys: counts.keys, inline: 0, times: counts.times, numeric: counts.numeric)
            columns.reserve(reader.rowEstimate(total))
            var none: [(dimension: Int, builder: DimensionBuilder)] = []
            do {
                // Only the first part reports progress, as the fraction of its own input.
                try layout.parse(reader, into: &columns, inline: &none, progress: k == 0 ? report : nil, total: total)
                results[k] = columns
            } catch {
                results[k] = nil
            }
        }
        var merged = FactColumns(keys: counts.keys, inline: 0, times: counts.times, numeric: counts.numeric)
        for k in 0..<parts {
            guard let part = results[k] else { return nil }
            guard merged.absorb(part) else { return nil }
        }
        return merged
    }
}

/// The columns of the fact file being filled while parsing (one set per part when the file
/// is parsed in parallel).
struct FactColumns {
    var keyCodes: [[UInt32]]
    var inlineCodes: [[UInt32]]
    var days: [[Int32]]
    var numeric: [DecimalColumnBuilder]
    var dropped: [Bool]
    /// Numeric columns already packed (from a Parquet file's integers), by numeric field.
    var prebuilt: [NumericColumn?]
    /// Key code columns already packed (from a Parquet file's integer keys), by key field.
    var prepackedKeys: [PackedColumn?]
    var rows = 0

    init(keys: Int, inline: Int, times: Int, numeric: Int) {
        keyCodes = [[UInt32]](repeating: [], count: keys)
        inlineCodes = [[UInt32]](repeating: [], count: inline)
        days = [[Int32]](repeating: [], count: times)
        self.numeric = [DecimalColumnBuilder](repeating: DecimalColumnBuilder(), count: numeric)
        dropped = [Bool](repeating: false, count: numeric)
        prebuilt = [NumericColumn?](repeating: nil, count: numeric)
        prepackedKeys = [PackedColumn?](repeating: nil, count: keys)
    }

    /// Makes room for `n` rows in every column.
    mutating func reserve(_ n: Int) {
        for k in keyCodes.indices { keyCodes[k].reserveCapacity(n) }
        for t in days.indices { days[t].reserveCapacity(n) }
        for m in numeric.indices { numeric[m].values.reserveCapacity(n) }
    }

    /// Appends the next part's rows; false when a numeric column cannot be brought to one
    /// scale (the one-pass parse then reports where).
    mutating func absorb(_ part: FactColumns) -> Bool {
        if rows == 0 && inlineCodes.isEmpty {
            // The first part becomes the whole without a copy.
            self = part
            return true
        }
        for k in keyCodes.indices { keyCodes[k] += part.keyCodes[k] }
        for t in days.indices { days[t] += part.days[t] }
        for n in numeric.indices {
            dropped[n] = dropped[n] || part.dropped[n]
            if dropped[n] {
                numeric[n] = DecimalColumnBuilder()
                continue
            }
            guard numeric[n].append(part.numeric[n], rowsBefore: rows) else { return false }
        }
        rows += part.rows
        return true
    }
}

/// Where each fact field goes, and the per-row parsing and checks, shared by the one-pass
/// and the parallel parse.
struct FactLayout {
    let names: [String]
    let keyFields: [(dimension: Int, field: Int, index: KeyIndex)]
    let timeFields: [(dimension: Int, field: Int)]
    let dateFormats: [DateFormat]
    /// Whether each time field's format is ISO (`YYYY-MM-DD`), parsed on the fast path.
    let isoDates: [Bool]
    let numericFields: [Int]
    let referenced: Set<String>
    let model: CubeModel
    let files: FileSource
    let dialect: CSVDialect
    /// Whether the rows are appended to a loaded cube (whose dimension tables are fixed).
    let appending: Bool

    func parse<R: RecordReader>(_ reader: R, into columns: inout FactColumns, inline: inout [(dimension: Int, builder: DimensionBuilder)],
               progress: ((Double) -> Void)?, total: Int) throws(Diagnostic) {
        let decimalComma = dialect.decimalComma
        while try reader.next() {
            if columns.rows & 0xFFFF == 0, let progress { progress(Double(reader.bytesRead) / Double(max(1, total))) }
            try checkFieldCount(reader, names.count)
            for k in keyFields.indices {
                let f = keyFields[k].field
                let code: Int32?
                if let value = reader.integerKey(f), let found = keyFields[k].index.lookup(integer: value) { code = found } else { code = keyFields[k].index.lookup(reader.field(f)) }
                guard let code else {
                    let field = reader.field(f)
                    let spec = model.dimensions[keyFields[k].dimension]
                    let shown = String(decoding: field, as: UTF8.self).clipped
                    throw reader.error(at: keyFields[k].field, "\(names[keyFields[k].field]) '\(shown)' has no row in \(files.displayPath(spec.table ?? ""))",
                                       help: appending ? "APPEND adds facts, not dimension rows: add the key to \(spec.table ?? "the table") and load the cube again, or fix the key"
                                           : "every fact key must name a row of the dimension table; add it there or fix the key")
                }
                columns.keyCodes[k].append(UInt32(code))
            }
            for i in inline.indices {
                columns.inlineCodes[i].append(UInt32(try inline[i].builder.add(reader)))
            }
            for t in timeFields.indices {
                switch reader.day(timeFields[t].field, format: dateFormats[t], iso: isoDates[t]) {
                case .day(let day): columns.days[t].append(day)
                case .empty:
                    let format = dateFormats[t]
                    throw reader.error(at: timeFields[t].field, "empty date",
                                       help: "every row needs a date (\(format.example)) for the time dimension; leave out rows without one, or, for a file opened without a model, take the column as text with --dimension \(names[timeFields[t].field])")
                case .invalid:
                    let format = dateFormats[t]
                    throw reader.error(at: timeFields[t].field, "bad date '\(String(decoding: reader.field(timeFields[t].field), as: UTF8.self).clipped)'",
                                       help: "the dates of this column are written \(format.example); another form needs \"date_format\" (e.g. \"%m/%d/%Y\") in the time dimension or --csv date_format=...")
                case .noSuchDay: throw reader.error(at: timeFields[t].field, "no such day '\(String(decoding: reader.field(timeFields[t].field), as: UTF8.self).clipped)'", help: "check the month and day: the dates are written \(dateFormats[t].example)")
                }
            }
            for n in numericFields.indices where !columns.dropped[n] {
                let f = numericFields[n]
                switch reader.decimal(f, decimalComma: decimalComma) {
                case .value(let mantissa, let scale):
                    do {
                        try columns.numeric[n].append(mantissa: mantissa, scale: scale)
                    } catch {
                        throw reader.error(at: f, "number '\(String(decoding: reader.field(f), as: UTF8.self).clipped)' is out of range for column '\(names[f])'",
                                           help: "values of a column must fit in 18 significant digits at its largest number of decimal places")
                    }
                case .empty:
                    columns.numeric[n].appendNull()
                case .thousands where referenced.contains(names[f]):
                    throw reader.error(at: f, "number '\(String(decoding: reader.field(f), as: UTF8.self).clipped)' has thousands separators",
                                       help: dialect.decimalComma ? "this file is read with a decimal comma: write numbers without separators (1234567,89), or read it with --csv decimal=." : "write numbers without separators: 1234567.89; a decimal comma needs --csv decimal=, or \"csv\": {\"decimal\": \",\"}")
                case .outOfRange where referenced.contains(names[f]):
                    throw reader.error(at: f, "number '\(String(decoding: reader.field(f), as: UTF8.self).clipped)' is out of range", help: "numbers keep at most \(FieldParser.maximumScale) decimal places and 18 significant digits")
                default:
                    if referenced.contains(names[f]) {
                        throw reader.error(at: f, "bad number '\(String(decoding: reader.field(f), as: UTF8.self).clipped)' in column '\(names[f])'", help: "numbers look like 12, -3.5 or 1e6; an empty field is null")
                    }
                    columns.dropped[n] = true
                    columns.numeric[n] = DecimalColumnBuilder()
                }
            }
            columns.rows += 1
        }
    }
}

/// Fails a record whose field count differs from the header's.
private func checkFieldCount<R: RecordReader>(_ reader: R, _ width: Int) throws(Diagnostic) {
    if reader.fieldCount < width {
        throw reader.errorAtRecordEnd("row has \(reader.fieldCount) field\(reader.fieldCount == 1 ? "" : "s") but the header has \(width)",
                                      help: "every row needs one field per header column; an empty field is written as nothing between commas")
    }
    if reader.fieldCount > width {
        throw reader.error(at: width, "row has \(reader.fieldCount) fields but the header has \(width)",
                           help: "a field containing a comma must be quoted: \"Seoul, Korea\"")
    }
}
