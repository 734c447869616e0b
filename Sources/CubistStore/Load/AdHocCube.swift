import CubistCore

/// A cube made from one CSV file with no model: text columns become one-level dimensions,
/// date columns (`YYYY-MM-DD` in every row) time dimensions, numeric columns `sum`
/// measures, plus `rows` (a count of fact rows).
public enum AdHocCube {
    /// What a column holds, as inferred from all of its values.
    public enum ColumnKind: Equatable, Sendable {
        case text, date, numeric
    }

    /// Loads `path` as an ad hoc cube.
    public static func load(csvAt path: String, progress: ((Double) -> Void)? = nil) throws(Diagnostic) -> Cube {
        let bytes = try FileBytes.read(path)
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        return try load(bytes: bytes, fileName: fileName, displayDirectory: directory, origin: path, progress: progress).readFrom([path])
    }

    /// Loads CSV bytes as an ad hoc cube; `fileName` names the file in messages.
    public static func load(bytes: [UInt8], fileName: String, displayDirectory: String, origin: String,
                            progress: ((Double) -> Void)? = nil) throws(Diagnostic) -> Cube {
        let display = displayDirectory == "." ? fileName : displayDirectory + "/" + fileName
        let (names, kinds) = try classify(bytes, file: display)
        var dimensions: [CubeModel.DimensionSpec] = []
        var measures: [CubeModel.MeasureSpec] = []
        var used: Set<String> = []
        func unique(_ name: String) -> String {
            var candidate = name.replacingOccurrences(of: ".", with: "_")
            while used.contains(candidate.lowercased()) { candidate += "_" }
            used.insert(candidate.lowercased())
            return candidate
        }
        for (name, kind) in zip(names, kinds) {
            switch kind {
            case .text:
                let dimension = unique(name)
                dimensions.append(CubeModel.DimensionSpec(name: dimension, table: nil, key: nil, isTime: false, column: nil,
                                                          levels: [CubeModel.LevelSpec(name: dimension, column: name, key: nil, location: nil)],
                                                          attributes: [], location: nil, tableLocation: nil, keyLocation: nil, columnLocation: nil))
            case .date:
                dimensions.append(CubeModel.DimensionSpec(name: unique(name), table: nil, key: nil, isTime: true, column: name, levels: [], attributes: [],
                                                          location: nil, tableLocation: nil, keyLocation: nil, columnLocation: nil))
            case .numeric:
                measures.append(CubeModel.MeasureSpec(name: unique(name), aggregate: .sum, column: name, row: nil, expression: nil, format: nil,
                                                      location: nil, columnLocation: nil, textLocation: nil))
            }
        }
        measures.append(CubeModel.MeasureSpec(name: unique("rows"), aggregate: .count, column: nil, row: nil, expression: nil, format: .integer,
                                              location: nil, columnLocation: nil, textLocation: nil))
        var stem = fileName
        if stem.lowercased().hasSuffix(".csv") { stem.removeLast(4) }
        let model = CubeModel(name: stem, facts: fileName, factsLocation: nil, dimensions: dimensions, measures: measures, file: display, lines: [])
        return try CubeLoader.load(model: model, files: MemoryFiles([fileName: bytes], label: displayDirectory), origin: origin, progress: progress)
    }

    /// Reads the header and every value once to decide each column's kind.
    public static func classify(_ bytes: [UInt8], file: String) throws(Diagnostic) -> ([String], [ColumnKind]) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(Diagnostic) -> ([String], [ColumnKind]) in
            let reader = CSVReader(bytes: buffer, file: file)
            guard try reader.next() else {
                throw Diagnostic(file: file, location: SourceLocation(line: 1, column: 1), message: "file is empty; expected a header row of column names")
            }
            var names: [String] = []
            for i in 0..<reader.fieldCount { names.append(try reader.string(i).trimmingCharacters(in: .whitespaces)) }
            let width = names.count
            var canBeNumber = [Bool](repeating: true, count: width)
            var canBeDate = [Bool](repeating: true, count: width)
            var sawValue = [Bool](repeating: false, count: width)
            while try reader.next() {
                guard reader.fieldCount == width else { break }  // the loader reports the ragged row
                for i in 0..<width {
                    let field = reader.field(i)
                    if canBeNumber[i] {
                        switch FieldParser.decimal(field) {
                        case .value: sawValue[i] = true
                        case .empty: break
                        default: canBeNumber[i] = false
                        }
                    }
                    if canBeDate[i] {
                        if case .day = FieldParser.date(field) { sawValue[i] = true } else { canBeDate[i] = false }
                    }
                }
            }
            let kinds = (0..<width).map { i -> ColumnKind in
                if canBeDate[i] && sawValue[i] { return .date }
                if canBeNumber[i] && sawValue[i] { return .numeric }
                return .text
            }
            return (names, kinds)
        }
    }
}

/// Opens whatever the user named as a SOURCE: a cube directory, a `cube.json`, a `.csv`,
/// or a snapshot written by `SAVE` (recognised by its first bytes, whatever its name).
public enum CubeSource {
    /// Loads the cube at `path`.
    /// `progress`, if given, hears the fraction of the fact file read while loading.
    public static func open(_ path: String, progress: ((Double) -> Void)? = nil) throws(Diagnostic) -> Cube {
        guard FileBytes.exists(path) else {
            throw Diagnostic(file: path, message: "no such file or directory",
                             help: "name a cube directory (holding cube.json), a cube.json file, a .csv file or a .cube snapshot")
        }
        if FileBytes.isDirectory(path) || path.lowercased().hasSuffix(".json") {
            return try CubeLoader.load(modelAt: path, progress: progress)
        }
        if Snapshot.isSnapshot(path) || path.lowercased().hasSuffix(".cube") {
            return try Snapshot.load(path)
        }
        if path.lowercased().hasSuffix(".csv") || looksLikeCSV(path) {
            return try AdHocCube.load(csvAt: path, progress: progress)
        }
        throw Diagnostic(file: path, message: "not a cube source",
                         help: "name a cube directory (holding cube.json), a cube.json file, a .csv file or a .cube snapshot")
    }

    private static func looksLikeCSV(_ path: String) -> Bool {
        guard let bytes = try? FileBytes.read(path) else { return false }
        return bytes.prefix(4096).contains(UInt8(ascii: ",")) && !bytes.prefix(4096).contains(0)
    }
}
