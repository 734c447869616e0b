import CubistCore

/// Rows of a table being loaded, one at a time: a CSV file's records, or a Parquet file's
/// rows. The loader reads fields as bytes (labels, keys) or typed (numbers, dates); a CSV
/// reader parses its text, a Parquet reader hands over the stored values.
protocol RecordReader: AnyObject {
    /// The file, as shown in messages.
    var file: String { get }
    /// Fields in the current record.
    var fieldCount: Int { get }
    /// The line (CSV) or row (Parquet, from 1) of the current record.
    var recordLine: Int { get }
    /// Progress through the input, in `progressTotal` units.
    var bytesRead: Int { get }
    /// Column names the file declares itself (Parquet), or nil when a header record says (CSV).
    var declaredNames: [String]? { get }

    func next() throws(Diagnostic) -> Bool
    func rewindRecord()
    /// Field `i` as text bytes; an empty buffer for null.
    func field(_ i: Int) -> UnsafeBufferPointer<UInt8>
    func string(_ i: Int) throws(Diagnostic) -> String
    /// Field `i` as a number.
    func decimal(_ i: Int, decimalComma: Bool) -> FieldParser.DecimalResult
    /// Field `i` as a day; text is read with `format` (`iso`: the format is `YYYY-MM-DD`).
    func day(_ i: Int, format: DateFormat, iso: Bool) -> FieldParser.DateResult
    /// Field `i` when it is stored as a whole number that is not negative (Parquet), else nil.
    func integerKey(_ i: Int) -> Int?
    func error(at i: Int, _ message: String, help: String?) -> Diagnostic
    func errorAtRecordEnd(_ message: String, help: String?) -> Diagnostic
    /// About how many records `total` progress units hold, to reserve room.
    func rowEstimate(_ total: Int) -> Int
    /// Whether column `i` stores dates as dates (Parquet DATE or TIMESTAMP), not as text.
    func storesDates(_ i: Int) -> Bool
}

extension CSVReader: RecordReader {
    var declaredNames: [String]? { nil }

    @inline(__always)
    func decimal(_ i: Int, decimalComma: Bool) -> FieldParser.DecimalResult {
        FieldParser.decimal(field(i), decimalComma: decimalComma)
    }

    @inline(__always)
    func day(_ i: Int, format: DateFormat, iso: Bool) -> FieldParser.DateResult {
        let field = field(i)
        // ISO dates on the fast path, without touching the format (no reference counting per row).
        return iso && field.count == 10 ? FieldParser.date(field) : format.parse(field)
    }

    @inline(__always)
    func integerKey(_ i: Int) -> Int? { nil }

    func storesDates(_ i: Int) -> Bool { false }

    /// Judged from the lines in the first 64 KiB.
    func rowEstimate(_ total: Int) -> Int {
        let sample = UnsafeBufferPointer(rebasing: buffer.prefix(1 << 16))
        let lines = max(1, sample.reduce(0) { $0 + ($1 == 10 ? 1 : 0) })
        return total / max(1, sample.count / lines) + 1024
    }
}

/// A table file read and ready to load: CSV text (transcoded, its dialect found) or a
/// decoded Parquet file.
public enum TableInput: Sendable {
    /// A CSV file, transcoded to UTF-8, with its dialect.
    case csv(CSVInput)
    /// A Parquet file, decoded.
    case parquet(ParquetTable)

    /// Reads `raw` (a whole file): Parquet when it begins with `PAR1`, else CSV with `options`.
    /// `facts`: a model's fact file, whose whole-number Parquet columns are packed while
    /// they are decoded.
    public static func prepare(_ raw: [UInt8], options: CSVOptions, file: String, threads: Int = 0, facts: Bool = false) throws(Diagnostic) -> TableInput {
        if ParquetTable.isParquet(raw) || file.lowercased().hasSuffix(".parquet") {
            return .parquet(try ParquetTable.read(raw, file: file, threads: threads, direct: facts))
        }
        return .csv(try CSVInput.prepare(raw, options: options, file: file))
    }

    /// How the file was read, for `.schema`.
    public var summary: String {
        switch self {
        case .csv(let input): input.summary
        case .parquet(let table): table.summary
        }
    }
}
