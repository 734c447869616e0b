/// Footprint figures of a loaded cube, for `.stats` and the storage docs.
public struct CubeStats: Sendable {
    /// One fact column's storage.
    public struct Column: Sendable {
        public let name: String
        public let kind: String
        public let width: Int
        public let hasNulls: Bool
    }

    public let rows: Int
    public let chunks: Int
    public let bytesPerRow: Double
    public let factBytes: Int
    public let dimensionBytes: Int
    public let columns: [Column]
    /// (dimension, level, member count, is attribute)
    public let levels: [(String, String, Int, Bool)]

    /// Computes the figures of `cube`.
    public init(_ cube: Cube) {
        rows = cube.facts.rowCount
        chunks = cube.facts.chunkCount
        bytesPerRow = cube.facts.bytesPerRow
        factBytes = cube.facts.byteCount
        dimensionBytes = cube.dimensionByteCount
        var columns: [Column] = []
        for (d, codes) in zip(cube.dimensions, cube.facts.dimensionCodes) {
            columns.append(Column(name: d.name, kind: "\(d.leaf.name) code", width: codes.width.rawValue, hasNulls: false))
        }
        for n in cube.facts.numericColumns {
            columns.append(Column(name: n.name, kind: n.scale == 0 ? "integer" : "decimal(\(n.scale))", width: n.packed.width.rawValue, hasNulls: n.nulls != nil))
        }
        self.columns = columns
        var levels: [(String, String, Int, Bool)] = []
        for d in cube.dimensions {
            for l in d.levels { levels.append((d.name, l.name, l.count, false)) }
            for a in d.attributes { levels.append((d.name, a.name, a.count, true)) }
        }
        self.levels = levels
    }
}
