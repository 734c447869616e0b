import CubistCore
import CubistSyntax

/// How a measure's values are shown.
public enum MeasureFormat: String, Sendable, CaseIterable {
    /// Thousands separators, two decimals.
    case money
    /// A fraction shown as `12.3%`.
    case percent
    /// Thousands separators, as many decimals as the value has.
    case number
    /// Thousands separators, no decimals.
    case integer
}

/// The aggregate functions a model measure may use.
public enum Aggregate: String, Sendable, CaseIterable {
    case sum, count, min, max, avg
    case countDistinct = "count_distinct"
}

/// A measure of the model, after loading: what it aggregates and how it is shown.
public struct Measure: Sendable {
    /// What a measure aggregates.
    public enum Input: Sendable {
        /// Nothing: `count` of fact rows.
        case rows
        /// A numeric fact column.
        case column(String)
        /// A dimension's leaf members, through its key column (e.g. `customer_id`).
        case dimension(String)
        /// A level of a dimension, through the column it is read from.
        case level(dimension: String, level: String)
        /// A row-level arithmetic expression of numeric fact columns.
        case row(Expr)
    }

    /// How a measure is defined.
    public enum Definition: Sendable {
        /// An aggregate of fact rows.
        case aggregate(Aggregate, Input)
        /// Arithmetic over other measures, after aggregation.
        case expression(Expr)
    }

    /// The measure's name.
    public let name: String
    /// The definition.
    public let definition: Definition
    /// How values are shown; nil for the default.
    public let format: MeasureFormat?
    /// The definition as the model wrote it, for `SHOW MEASURES`.
    public let source: String

    /// Creates a measure.
    public init(name: String, definition: Definition, format: MeasureFormat?, source: String) {
        self.name = name
        self.definition = definition
        self.format = format
        self.source = source
    }
}

/// The model of a cube as written in `cube.json`, checked for shape but not yet against
/// the data files. Locations are kept so load errors can point at the model.
public struct CubeModel: Sendable {
    /// A level (or attribute) as declared.
    public struct LevelSpec: Sendable {
        public let name: String
        public let column: String
        public let key: String?
        public let location: SourceLocation?

        /// Creates a level spec.
        public init(name: String, column: String, key: String?, location: SourceLocation?) {
            self.name = name
            self.column = column
            self.key = key
            self.location = location
        }
    }

    /// A dimension as declared.
    public struct DimensionSpec: Sendable {
        public let name: String
        public let table: String?
        public let key: String?
        public let isTime: Bool
        /// The date column of a time dimension.
        public let column: String?
        public let levels: [LevelSpec]
        public let attributes: [LevelSpec]
        public let location: SourceLocation?
        public let tableLocation: SourceLocation?
        public let keyLocation: SourceLocation?
        public let columnLocation: SourceLocation?
        /// How the dates of a time dimension's column are written, when the model says
        /// (`"date_format"`); else the CSV options' or the detected format.
        public var dateFormat: DateFormat?

        /// Creates a dimension spec.
        public init(name: String, table: String?, key: String?, isTime: Bool, column: String?, levels: [LevelSpec], attributes: [LevelSpec],
                    location: SourceLocation?, tableLocation: SourceLocation?, keyLocation: SourceLocation?, columnLocation: SourceLocation?) {
            self.name = name
            self.table = table
            self.key = key
            self.isTime = isTime
            self.column = column
            self.levels = levels
            self.attributes = attributes
            self.location = location
            self.tableLocation = tableLocation
            self.keyLocation = keyLocation
            self.columnLocation = columnLocation
        }
    }

    /// A measure as declared.
    public struct MeasureSpec: Sendable {
        public let name: String
        public let aggregate: Aggregate?
        public let column: String?
        public let row: String?
        public let expression: String?
        public let format: MeasureFormat?
        public let location: SourceLocation?
        public let columnLocation: SourceLocation?
        /// Location of the first character inside the `row` or `expression` string.
        public let textLocation: SourceLocation?

        /// Creates a measure spec.
        public init(name: String, aggregate: Aggregate?, column: String?, row: String?, expression: String?, format: MeasureFormat?,
                    location: SourceLocation?, columnLocation: SourceLocation?, textLocation: SourceLocation?) {
            self.name = name
            self.aggregate = aggregate
            self.column = column
            self.row = row
            self.expression = expression
            self.format = format
            self.location = location
            self.columnLocation = columnLocation
            self.textLocation = textLocation
        }
    }

    /// A computed attribute as declared (`"computed"`): parsed, computed after loading by
    /// the query engine exactly as `DEFINE ATTRIBUTE dimension.name = expression WHERE where`.
    public struct ComputedSpec: Sendable {
        public let name: String
        public let dimension: String
        public let expression: Expr
        public let condition: Condition?
        /// Where the declaration is, for messages.
        public let location: SourceLocation?
        /// The model file and its lines, so errors found when computing point into it.
        public let file: String
        public let lines: [String]

        /// Creates a computed-attribute spec.
        public init(name: String, dimension: String, expression: Expr, condition: Condition?, location: SourceLocation?, file: String, lines: [String]) {
            self.name = name
            self.dimension = dimension
            self.expression = expression
            self.condition = condition
            self.location = location
            self.file = file
            self.lines = lines
        }

        /// The definition as `DEFINE ATTRIBUTE` would write it after the `=`.
        public var definition: String { "\(expression)" + (condition.map { " WHERE \($0)" } ?? "") }
    }

    /// The cube's name.
    public let name: String
    /// The fact file, relative to the model.
    public let facts: String
    public let factsLocation: SourceLocation?
    public let dimensions: [DimensionSpec]
    public let measures: [MeasureSpec]
    /// Computed attributes, in declaration order.
    public let computed: [ComputedSpec]
    /// How its CSV files are read (`"csv"`); what is not set is detected per file.
    public var csv = CSVOptions()
    /// The model file as shown in messages.
    public let file: String
    /// The model's text, line by line, for showing the offending line in messages.
    public let lines: [String]

    /// Creates a model.
    public init(name: String, facts: String, factsLocation: SourceLocation?, dimensions: [DimensionSpec], measures: [MeasureSpec], computed: [ComputedSpec] = [],
                file: String, lines: [String]) {
        self.name = name
        self.computed = computed
        self.facts = facts
        self.factsLocation = factsLocation
        self.dimensions = dimensions
        self.measures = measures
        self.file = file
        self.lines = lines
    }

    /// A located error about the model.
    public func error(_ location: SourceLocation?, _ message: String, help: String? = nil, span: Int = 1) -> Diagnostic {
        Diagnostic.located(file: file, lines: lines, at: location, message, help: help, span: span)
    }
}
