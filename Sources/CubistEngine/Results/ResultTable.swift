import CubistCore
import CubistStore
import CubistSyntax

/// A column of a query result.
public struct ResultColumn: Sendable, Hashable {
    /// What a column holds.
    public enum Kind: Sendable, Hashable {
        /// Member labels of a BY level.
        case member
        /// Values of a measure (for a crosstab, of one ACROSS member combination).
        case measure
    }

    /// The header: the name as written in the query, or its alias.
    public var name: String
    /// Members or measure values.
    public var kind: Kind
    /// How measure values are shown; nil for the default.
    public var format: MeasureFormat?
    /// For a crosstab column: its member of each ACROSS level (`["Total"]` padded with empty
    /// labels for a row-total column); empty otherwise.
    public var acrossMembers: [String]
    /// For a crosstab column: the SELECT item it shows.
    public var item: String?

    /// Creates a column.
    public init(name: String, kind: Kind, format: MeasureFormat?, acrossMembers: [String] = [], item: String? = nil) {
        self.name = name
        self.kind = kind
        self.format = format
        self.acrossMembers = acrossMembers
        self.item = item
    }
}

/// What a result row stands for.
public enum RowKind: Sendable, Hashable {
    /// A group of the BY levels.
    case detail
    /// A ROLLUP subtotal; `depth` is how many BY levels it keeps.
    case subtotal(depth: Int)
    /// The grand total (`WITH TOTALS`, or the last ROLLUP row).
    case total
    /// Everything outside a `TOP ... WITH OTHERS`.
    case others
}

/// The typed result of a query: columns, rows and what each row stands for. The engine
/// never prints; renderers in the shell turn this into text.
public struct ResultTable: Sendable {
    /// The columns, BY levels first.
    public var columns: [ResultColumn]
    /// The rows; each has one value per column.
    public var rows: [[Value]]
    /// What each row stands for.
    public var rowKinds: [RowKind]
    /// Warnings found while planning.
    public var warnings: [Diagnostic]
    /// For crosstabs: the ACROSS level names, so renderers can draw a header row per level.
    public var acrossLevels: [String]

    /// Creates a result.
    public init(columns: [ResultColumn], rows: [[Value]], rowKinds: [RowKind], warnings: [Diagnostic] = [], acrossLevels: [String] = []) {
        self.columns = columns
        self.rows = rows
        self.rowKinds = rowKinds
        self.warnings = warnings
        self.acrossLevels = acrossLevels
    }
}
