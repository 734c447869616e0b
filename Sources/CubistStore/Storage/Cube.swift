import CubistCore

/// The fact table: one leaf-code column per dimension and one exact numeric column per
/// numeric fact column, all of `rowCount` rows, in chunks of `PackedColumn.chunkSize`.
public struct FactTable: Sendable {
    /// Number of fact rows.
    public let rowCount: Int
    /// For each dimension (same order as `Cube.dimensions`), the leaf member code per row.
    public let dimensionCodes: [PackedColumn]
    /// The numeric fact columns, in file order.
    public let numericColumns: [NumericColumn]

    /// Creates a fact table.
    public init(rowCount: Int, dimensionCodes: [PackedColumn], numericColumns: [NumericColumn]) {
        self.rowCount = rowCount
        self.dimensionCodes = dimensionCodes
        self.numericColumns = numericColumns
    }

    /// Number of chunks.
    public var chunkCount: Int { (rowCount + PackedColumn.chunkSize - 1) / PackedColumn.chunkSize }

    /// Bytes of fact data per row: code and value widths plus null bitmaps.
    public var bytesPerRow: Double {
        Double(dimensionCodes.reduce(0) { $0 + $1.width.rawValue }) + numericColumns.reduce(0) { $0 + $1.bytesPerRow }
    }

    /// Bytes of fact data in all, with zone maps.
    public var byteCount: Int {
        let zoneMaps = (dimensionCodes.count + numericColumns.count) * chunkCount * 16
        return Int((bytesPerRow * Double(rowCount)).rounded(.up)) + zoneMaps
    }
}

/// A loaded cube: dimensions with their hierarchies, measures, and the fact table.
/// Immutable once built, so it can be shared by every query and thread.
public struct Cube: Sendable {
    /// The cube's name.
    public internal(set) var name: String
    /// Its dimensions.
    public internal(set) var dimensions: [Dimension]
    /// Its model measures, in model order.
    public internal(set) var measures: [Measure]
    /// The facts.
    public internal(set) var facts: FactTable
    /// Where it was loaded from, as the user named it.
    public internal(set) var origin: String
    /// Fact columns that were neither used by the model nor numeric, and so were not loaded.
    public internal(set) var ignoredColumns: [String]
    /// The files the cube was read from (model and CSV files; none for a snapshot or the
    /// built-in sample), so SAVE never writes over them.
    public internal(set) var sourceFiles: [String]
    /// Computed attributes the model declares that are not computed yet: the query engine
    /// computes them (`QueryEngine.computingDeclaredAttributes`) before the cube is used.
    public internal(set) var pendingAttributes: [CubeModel.ComputedSpec]
    /// How each CSV file was read, e.g. `sales.csv: cp949, delimiter ';', ...` (for `.schema`).
    public internal(set) var fileFormats: [String]
    /// For each time dimension whose dates were read as text, their format (`%m/%d/%Y`), by
    /// dimension name: an appended file whose dates could be read two ways is read this way.
    public internal(set) var dateFormats: [String: String] = [:]
    /// The files appended to the cube (APPEND), by the checksum of their bytes, with the name
    /// each was appended as: the same bytes again would count their rows twice.
    public internal(set) var appendedFiles: [UInt64: String] = [:]
    /// The snapshot file this cube is the state of (opened from it, saved to it, or
    /// appended to it since), so `APPEND ... TO` can check it journals to the right file.
    public internal(set) var snapshot: SnapshotMark?

    /// Which snapshot file, at which length, a cube is the state of. A class, so a cube
    /// (copied by value through deep call chains) stays small.
    public final class SnapshotMark: Sendable {
        /// The file's absolute path, links resolved.
        public let path: String
        /// Where its last whole journal segment ends (the base's length when it has none).
        public let end: Int
        /// The file's size when it was read or written: more than `end` when a crash left an
        /// unfinished segment, which the next append writes over.
        public let size: Int
        /// Journal segments replayed or written.
        public let segments: Int

        init(path: String, end: Int, size: Int, segments: Int) {
            self.path = path
            self.end = end
            self.size = size
            self.segments = segments
        }
    }

    /// The same cube, as the state of the snapshot `mark` describes.
    public func marked(_ mark: SnapshotMark?) -> Cube {
        var copy = self
        copy.snapshot = mark
        return copy
    }

    /// Creates a cube.
    public init(name: String, dimensions: [Dimension], measures: [Measure], facts: FactTable, origin: String, ignoredColumns: [String] = [],
                sourceFiles: [String] = [], pendingAttributes: [CubeModel.ComputedSpec] = [], fileFormats: [String] = []) {
        self.pendingAttributes = pendingAttributes
        self.fileFormats = fileFormats
        self.name = name
        self.dimensions = dimensions
        self.measures = measures
        self.facts = facts
        self.origin = origin
        self.ignoredColumns = ignoredColumns
        self.sourceFiles = sourceFiles
    }

    /// The same cube with other dimensions (computed attributes added or removed), still
    /// the state of the same snapshot.
    public func with(dimensions: [Dimension]) -> Cube {
        var copy = self
        copy.dimensions = dimensions
        return copy
    }

    /// The same cube with other computed attributes still to compute.
    public func with(pendingAttributes: [CubeModel.ComputedSpec]) -> Cube {
        var copy = self
        copy.pendingAttributes = pendingAttributes
        return copy
    }

    /// The same cube under another name (LOAD ... AS name).
    public func renamed(_ newName: String) -> Cube {
        var copy = self
        copy.name = newName
        return copy
    }

    /// The same cube, recording the files it was read from.
    public func readFrom(_ files: [String]) -> Cube {
        var copy = self
        copy.sourceFiles = files
        return copy
    }

    /// The same cube, with `formats` as how its files were read.
    public func describingFiles(_ formats: [String]) -> Cube {
        var copy = self
        copy.fileFormats = formats
        return copy
    }

    /// A dimension by name (case-insensitive).
    public func dimension(named name: String) -> Dimension? {
        dimensions.first { $0.name.caseInsensitiveEquals(name) }
    }

    /// A measure by name (case-insensitive).
    public func measure(named name: String) -> Measure? {
        measures.first { $0.name.caseInsensitiveEquals(name) }
    }

    /// A numeric fact column by name (case-insensitive).
    public func numericColumn(named name: String) -> NumericColumn? {
        facts.numericColumns.first { $0.name.caseInsensitiveEquals(name) }
    }

    /// Bytes held by dimension dictionaries and hierarchy arrays (an estimate for labels).
    public var dimensionByteCount: Int {
        var total = 0
        for d in dimensions {
            for l in d.levels + d.attributes {
                total += l.members.reduce(0) { $0 + $1.utf8.count + 16 } + l.parents.count * 4
                total += l.keys?.reduce(0) { $0 + $1.utf8.count + 16 } ?? 0
            }
            total += d.leafToLevel.reduce(0) { $0 + $1.count * 4 } + d.leafToAttribute.reduce(0) { $0 + $1.count * 4 }
            if let table = d.keyTable { total += table.byteCount }
        }
        return total
    }
}
