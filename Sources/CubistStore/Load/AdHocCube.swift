import CubistCore

/// How to open a source: CSV options for every file, and for an ad hoc cube the columns
/// the user says are measures or dimensions.
public struct SourceOptions: Sendable {
    /// CSV options; they override a model's `"csv"`.
    public var csv = CSVOptions()
    /// Columns of an ad hoc cube to take as measures, with their aggregate (nil: the rule's).
    public var measures: [(column: String, aggregate: Aggregate?)] = []
    /// Columns of an ad hoc cube to take as dimensions.
    public var dimensions: [String] = []

    /// Nothing set: everything detected.
    public init() {}
}

/// A cube made from one CSV file with no model. Text columns become one-level dimensions,
/// date columns (one date format in every row) time dimensions, integer columns that are
/// codes (named like `store_id`, `zip`, `year`, or written with leading zeros) one-level
/// dimensions, and other numeric columns measures: `sum` when additive, `avg` when the
/// name says a price, rate, ratio, percentage, score, age, temperature or average, each
/// with `_min`, `_max` (and for sums `_avg`) variants; plus `rows`, a count of fact rows.
public enum AdHocCube {
    /// What a column holds, as inferred from all of its values.
    public enum ColumnKind: Equatable, Sendable {
        case text
        case date(DateFormat)
        /// Numbers; `code` when they are whole, not negative, and have leading zeros.
        case numeric(integer: Bool, leadingZeros: Bool)
    }

    /// What a numeric column becomes.
    public enum NumericRole: Equatable, Sendable {
        case dimension
        case measure(Aggregate)
    }

    /// Loads `path` as an ad hoc cube.
    public static func load(csvAt path: String, options: SourceOptions = SourceOptions(), progress: ((Double) -> Void)? = nil) throws(Diagnostic) -> Cube {
        let bytes = try FileBytes.read(path)
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        return try load(bytes: bytes, fileName: fileName, displayDirectory: directory, origin: path, options: options, progress: progress).readFrom([path])
    }

    /// Loads CSV bytes as an ad hoc cube; `fileName` names the file in messages.
    public static func load(bytes: [UInt8], fileName: String, displayDirectory: String, origin: String, options: SourceOptions = SourceOptions(),
                            progress: ((Double) -> Void)? = nil) throws(Diagnostic) -> Cube {
        let display = displayDirectory == "." ? fileName : displayDirectory + "/" + fileName
        let input = try CSVInput.prepare(bytes, options: options.csv, file: display)
        let (names, kinds, locations) = try classify(input, file: display, dateFormat: options.csv.dateFormat)
        let model = try model(names: names, kinds: kinds, locations: locations, options: options, fileName: fileName, display: display)
        return try CubeLoader.load(model: model, files: MemoryFiles([fileName: bytes], label: displayDirectory), origin: origin,
                                   facts: .csv(input), progress: progress)
    }

    /// Loads a Parquet file as an ad hoc cube: its columns' types say what they are (text
    /// and booleans dimensions, dates and timestamps time dimensions, numbers by the rules;
    /// text that is dates in every row a time dimension).
    public static func load(parquetAt path: String, options: SourceOptions = SourceOptions(), threads: Int = 0,
                            progress: ((Double) -> Void)? = nil) throws(Diagnostic) -> Cube {
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let table = try ParquetTable.read(mapping: path, file: path, threads: threads)
        let kinds = try classify(table, dateFormat: options.csv.dateFormat)
        let model = try model(names: table.names, kinds: kinds, locations: table.names.map { _ in nil }, options: options, fileName: fileName, display: path)
        return try CubeLoader.load(model: model, files: MemoryFiles([:], label: directory), origin: path, threads: threads,
                                   facts: .parquet(table), progress: progress).readFrom([path])
    }

    /// The kind of each column of a Parquet table, from its type (text columns: from their values).
    static func classify(_ table: ParquetTable, dateFormat: DateFormat?) throws(Diagnostic) -> [ColumnKind] {
        var kinds: [ColumnKind] = []
        var textColumns: [Int] = []
        for (i, name) in table.names.enumerated() {
            switch table.meaning(i) {
            case .integer, .unsigned: kinds.append(.numeric(integer: true, leadingZeros: false))
            case .decimal(let scale): kinds.append(.numeric(integer: scale == 0, leadingZeros: false))
            case .floating: kinds.append(.numeric(integer: false, leadingZeros: false))
            case .date, .timestamp, .int96Timestamp: kinds.append(.date(.iso))
            case .boolean: kinds.append(.text)
            case .text, .binary:
                kinds.append(.text)
                textColumns.append(i)
            case .unsupported(let what):
                throw Diagnostic(file: table.file, message: "column '\(name)' holds \(what) values, which Cubist cannot read",
                                 help: "write the file without it, or with the column converted to text, a number or a date")
            }
        }
        // Text that is a date in every row (a CSV turned into Parquet) makes a time dimension.
        guard !textColumns.isEmpty else { return kinds }
        var detectors = [DateFormat.Detector](repeating: DateFormat.Detector(dateFormat.map { [$0] } ?? DateFormat.detected), count: textColumns.count)
        let rows = table.rows()
        while try rows.next() {
            for (k, i) in textColumns.enumerated() { detectors[k].see(rows.field(i)) }
        }
        for (k, i) in textColumns.enumerated() {
            switch detectors[k].outcome {
            case .format(let f): kinds[i] = .date(f)
            case .ambiguous(let candidates):
                throw Diagnostic(file: table.file,
                                 message: "the dates in column '\(table.names[i])' read as \(candidates.map { "'\($0.pattern)'" }.joined(separator: " and ")) alike",
                                 help: "say which: --csv date_format=\(candidates[0].pattern) (or \(candidates[1].pattern))")
            case .none: break
            }
        }
        return kinds
    }

    /// The model of an ad hoc cube with these columns.
    private static func model(names: [String], kinds: [ColumnKind], locations: [SourceLocation?], options: SourceOptions,
                              fileName: String, display: String) throws(Diagnostic) -> CubeModel {
        let folded = names.map { $0.lowercased() }
        func columnIndex(_ name: String, _ flag: String) throws(Diagnostic) -> Int {
            if let i = names.firstIndex(of: name) ?? folded.firstIndex(of: name.lowercased()) { return i }
            throw Diagnostic(file: display, message: "\(flag) \(name): the file has no column '\(name)'",
                             help: (Suggestions.didYouMean(name, in: names).map { $0 + " " } ?? "") + "the columns are: " + names.joined(separator: ", "))
        }
        var forcedMeasures: [Int: Aggregate?] = [:]
        var forcedDimensions: Set<Int> = []
        for (column, aggregate) in options.measures {
            let i = try columnIndex(column, "--measure")
            guard case .numeric = kinds[i] else {
                throw Diagnostic(file: display, location: locations[i], message: "--measure \(column): column '\(names[i])' has values that are not numbers",
                                 help: "a measure aggregates a numeric column; load it as a dimension instead (leave --measure out)")
            }
            forcedMeasures[i] = aggregate
        }
        for column in options.dimensions {
            let i = try columnIndex(column, "--dimension")
            if forcedMeasures[i] != nil {
                throw Diagnostic(file: display, message: "column '\(names[i])' is named by both --measure and --dimension", help: "keep one")
            }
            forcedDimensions.insert(i)
        }
        var dimensions: [CubeModel.DimensionSpec] = []
        var measures: [CubeModel.MeasureSpec] = []
        var used: Set<String> = []
        func unique(_ name: String) -> String {
            var candidate = name.replacingOccurrences(of: ".", with: "_")
            while used.contains(candidate.lowercased()) { candidate += "_" }
            used.insert(candidate.lowercased())
            return candidate
        }
        func textDimension(_ name: String) {
            let dimension = unique(name)
            dimensions.append(CubeModel.DimensionSpec(name: dimension, table: nil, key: nil, isTime: false, column: nil,
                                                      levels: [CubeModel.LevelSpec(name: dimension, column: name, key: nil, location: nil)],
                                                      attributes: [], location: nil, tableLocation: nil, keyLocation: nil, columnLocation: nil))
        }
        func measure(_ name: String, _ aggregate: Aggregate, column: String) {
            measures.append(CubeModel.MeasureSpec(name: unique(name), aggregate: aggregate, column: column, row: nil, expression: nil, format: nil,
                                                  location: nil, columnLocation: nil, textLocation: nil))
        }
        var variants: [(String, Aggregate, String)] = []
        for (i, (name, kind)) in zip(names, kinds).enumerated() {
            switch kind {
            case .text:
                textDimension(name)
            case .date(let format):
                if forcedDimensions.contains(i) {
                    // --dimension on a date column: its dates as text members (a column with
                    // empty dates cannot make a time dimension).
                    textDimension(name)
                } else {
                    var spec = CubeModel.DimensionSpec(name: unique(name), table: nil, key: nil, isTime: true, column: name, levels: [], attributes: [],
                                                       location: nil, tableLocation: nil, keyLocation: nil, columnLocation: nil)
                    spec.dateFormat = format
                    dimensions.append(spec)
                }
            case .numeric(let integer, let leadingZeros):
                var role = numericRole(name, integer: integer, leadingZeros: leadingZeros)
                if forcedDimensions.contains(i) { role = .dimension }
                if let forced = forcedMeasures[i] {
                    if case .measure(let rule) = role { role = .measure(forced ?? rule) } else { role = .measure(forced ?? .sum) }
                }
                switch role {
                case .dimension:
                    textDimension(name)
                case .measure(let aggregate):
                    measure(name, aggregate, column: name)
                    for variant in [Aggregate.min, .max, .avg] where variant != aggregate {
                        variants.append((name + "_" + variant.rawValue, variant, name))
                    }
                }
            }
        }
        measures.append(CubeModel.MeasureSpec(name: unique("rows"), aggregate: .count, column: nil, row: nil, expression: nil, format: .integer,
                                              location: nil, columnLocation: nil, textLocation: nil))
        for (name, aggregate, column) in variants { measure(name, aggregate, column: column) }
        var stem = fileName
        for suffix in [".csv", ".tsv", ".txt", ".psv", ".parquet"] where stem.lowercased().hasSuffix(suffix) { stem.removeLast(suffix.count) }
        var model = CubeModel(name: stem, facts: fileName, factsLocation: nil, dimensions: dimensions, measures: measures, file: display, lines: [])
        model.csv = options.csv
        return model
    }

    /// The words of a column name, lower-cased: `unitPrice`, `unit_price` and `Unit Price`
    /// are all `unit`, `price`.
    static func words(_ name: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previousLower = false
        for ch in name {
            if ch.isLetter || ch.isNumber {
                if ch.isUppercase, previousLower, !current.isEmpty {
                    words.append(current)
                    current = ""
                }
                current.append(Character(ch.lowercased()))
                previousLower = ch.isLowercase || ch.isNumber
            } else {
                if !current.isEmpty { words.append(current) }
                current = ""
                previousLower = false
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Last words that make a whole-number column a code: a dimension, not a measure.
    public static let codeWords: Set<String> = ["id", "code", "key", "no", "nr", "number", "zip", "zipcode", "postcode", "postal",
                                                "sku", "ean", "upc", "isbn", "year", "quarter", "month", "week", "weekday"]
    /// Words that make a numeric column non-additive: averaged, not summed.
    public static let averageWords: Set<String> = ["price", "prices", "rate", "rates", "ratio", "percent", "percentage", "pct", "score", "rating",
                                                   "age", "temperature", "temp", "avg", "average", "mean", "share", "probability", "latitude",
                                                   "lat", "longitude", "lon", "lng", "humidity", "speed"]

    /// What the rules make of a numeric column.
    public static func numericRole(_ name: String, integer: Bool, leadingZeros: Bool) -> NumericRole {
        let words = words(name)
        if integer, leadingZeros || words.last.map(codeWords.contains) == true { return .dimension }
        if words.contains(where: averageWords.contains) { return .measure(.avg) }
        return .measure(.sum)
    }

    /// Reads the header and every value once to decide each column's kind; also returns
    /// where each header field is.
    public static func classify(_ input: CSVInput, file: String, dateFormat: DateFormat? = nil) throws(Diagnostic) -> ([String], [ColumnKind], [SourceLocation]) {
        try input.bytes.withUnsafeBufferPointer { (buffer) throws(Diagnostic) -> ([String], [ColumnKind], [SourceLocation]) in
            let reader = CSVReader(bytes: buffer, file: file, dialect: input.dialect)
            guard try reader.next() else {
                throw Diagnostic(file: file, location: SourceLocation(line: 1, column: 1), message: "file is empty; expected a header row of column names")
            }
            var names: [String] = []
            var locations: [SourceLocation] = []
            if input.dialect.header {
                for i in 0..<reader.fieldCount {
                    names.append(try reader.string(i).trimmingCharacters(in: .whitespaces))
                    locations.append(reader.location(ofField: i))
                }
            } else {
                for i in 0..<reader.fieldCount {
                    names.append("column\(i + 1)")
                    locations.append(reader.location(ofField: i))
                }
                reader.rewindRecord()
            }
            let width = names.count
            let decimalComma = input.dialect.decimalComma
            var profiles = [ColumnProfile](repeating: ColumnProfile(dateFormats: dateFormat.map { [$0] } ?? DateFormat.detected), count: width)
            while try reader.next() {
                guard reader.fieldCount == width else { break }  // the loader reports the ragged row
                for i in 0..<width { profiles[i].see(reader.field(i), decimalComma: decimalComma) }
            }
            var kinds: [ColumnKind] = []
            for i in 0..<width {
                switch profiles[i].dates.outcome {
                case .format(let f):
                    kinds.append(.date(f))
                    continue
                case .ambiguous(let candidates):
                    throw Diagnostic(file: file, location: locations[i],
                                     message: "the dates in column '\(names[i])' read as \(candidates.map { "'\($0.pattern)'" }.joined(separator: " and ")) alike",
                                     help: "say which: --csv date_format=\(candidates[0].pattern) (or \(candidates[1].pattern))")
                case .none:
                    break
                }
                kinds.append(profiles[i].isNumeric ? .numeric(integer: profiles[i].integer, leadingZeros: profiles[i].leadingZeros) : .text)
            }
            return (names, kinds, locations)
        }
    }
}

/// Opens whatever the user named as a SOURCE: a cube directory, a `cube.json`, a `.csv`,
/// or a snapshot written by `SAVE` (recognised by its first bytes, whatever its name).
public enum CubeSource {
    /// Loads the cube at `path`.
    /// `progress`, if given, hears the fraction of the fact file read while loading.
    public static func open(_ path: String, options: SourceOptions = SourceOptions(), progress: ((Double) -> Void)? = nil) throws(Diagnostic) -> Cube {
        guard FileBytes.exists(path) else {
            throw Diagnostic(file: path, message: "no such file or directory",
                             help: "name a cube directory (holding cube.json), a cube.json file, a .csv or .parquet file, or a .cube snapshot")
        }
        if FileBytes.isDirectory(path) || path.lowercased().hasSuffix(".json") {
            try refuseColumnRoles(options, path)
            return try CubeLoader.load(modelAt: path, csv: options.csv, progress: progress)
        }
        if Snapshot.isSnapshot(path) || path.lowercased().hasSuffix(".cube") {
            try refuseColumnRoles(options, path)
            if !options.csv.isEmpty {
                throw Diagnostic(file: path, message: "CSV options do not apply to a snapshot", help: "a snapshot is read as it was saved; leave --csv out")
            }
            return try Snapshot.load(path)
        }
        if path.lowercased().hasSuffix(".parquet") || isParquet(path) {
            var other = options.csv
            other.dateFormat = nil
            if !other.isEmpty {
                throw Diagnostic(file: path, message: "CSV options do not apply to a Parquet file",
                                 help: "a Parquet file says its own types; only --csv date_format=... applies (to text columns of dates)")
            }
            return try AdHocCube.load(parquetAt: path, options: options, progress: progress)
        }
        if [".csv", ".tsv", ".txt", ".psv"].contains(where: path.lowercased().hasSuffix) || looksLikeCSV(path) {
            return try AdHocCube.load(csvAt: path, options: options, progress: progress)
        }
        throw Diagnostic(file: path, message: "not a cube source",
                         help: "name a cube directory (holding cube.json), a cube.json file, a .csv or .parquet file, or a .cube snapshot")
    }

    /// `--measure` and `--dimension` say how to take the columns of a CSV file without a
    /// model; a model says it itself.
    private static func refuseColumnRoles(_ options: SourceOptions, _ path: String) throws(Diagnostic) {
        if !options.measures.isEmpty || !options.dimensions.isEmpty {
            throw Diagnostic(file: path, message: "--measure and --dimension apply to a CSV file opened without a model",
                             help: "declare measures and dimensions in cube.json")
        }
    }

    private static func isParquet(_ path: String) -> Bool {
        ParquetTable.isParquet(FileBytes.head(path, 4))
    }

    private static func looksLikeCSV(_ path: String) -> Bool {
        let head = FileBytes.head(path, 4096)
        if head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0xFE, 0xFF]) { return true }
        return [UInt8(ascii: ","), UInt8(ascii: ";"), 9, UInt8(ascii: "|")].contains(where: head.contains) && !head.contains(0)
    }
}
