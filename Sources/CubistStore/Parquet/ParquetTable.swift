import CubistCore

/// A flat Parquet file read into memory: its columns, decoded row group by row group on
/// every thread. Errors name the file, the column and the row group.
public struct ParquetTable: Sendable {
    /// The file, as shown in messages.
    public let file: String
    /// Column names, in file order.
    public let names: [String]
    /// Rows in all row groups.
    public let rowCount: Int
    /// What was read: the writer, row groups and compression, for `.schema`.
    public let summary: String
    let columns: [ParquetMetadata.Column]
    /// Row groups, each a decoded chunk per column.
    let groups: [Group]
    /// Columns written straight into one packed buffer by the decoder, by column.
    let buffers: [Int: ColumnBuffer]

    final class Group: @unchecked Sendable {
        // Immutable after the read: shared by the threads that load from it.
        let rowCount: Int
        let chunks: [ParquetColumn]
        init(rowCount: Int, chunks: [ParquetColumn]) {
            self.rowCount = rowCount
            self.chunks = chunks
        }
    }

    /// Whether `bytes` begin as a Parquet file does.
    public static func isParquet(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes[0] == 80 && bytes[1] == 65 && bytes[2] == 82 && bytes[3] == 49
    }

    /// Reads a whole Parquet file on `threads` threads (0: every core). With `direct` (a
    /// model's fact file), whole-number and date columns are written straight into packed
    /// buffers when the footer gives their min/max: a measure's buffer becomes its packed
    /// column, a key's or date's is read once more when the dimensions are ready.
    public static func read(_ bytes: [UInt8], file: String, threads: Int = 0, direct: Bool = false) throws(Diagnostic) -> ParquetTable {
        let result: Result<ParquetTable, Diagnostic> = bytes.withUnsafeBufferPointer { buffer in
            do throws(Diagnostic) {
                return .success(try read(buffer: buffer, file: file, threads: threads, direct: direct))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Reads the Parquet file at `path` through a memory map (no copy of the file).
    public static func read(mapping path: String, file: String, threads: Int = 0, direct: Bool = false) throws(Diagnostic) -> ParquetTable {
        let mapped = try FileBytes.mapped(path)
        return try read(buffer: mapped.bytes, file: file, threads: threads, direct: direct)
    }

    /// Reads a whole Parquet file held in `bytes`; nothing read keeps a pointer into them.
    static func read(buffer bytes: UnsafeBufferPointer<UInt8>, file: String, threads: Int, direct: Bool) throws(Diagnostic) -> ParquetTable {
        let metadata = try ParquetMetadata.read(bytes, file: file)
        let columnCount = metadata.columns.count
        guard columnCount > 0 else {
            throw Diagnostic(file: file, message: "the Parquet file has no columns", help: "a table needs at least one column")
        }
        var seen: [String: Int] = [:]
        for (i, column) in metadata.columns.enumerated() {
            if let first = seen[column.name] {
                throw Diagnostic(file: file, message: "duplicate column name '\(column.name)' (columns \(first + 1) and \(i + 1))", help: "rename one of the columns")
            }
            seen[column.name] = i
        }
        var starts: [Int] = []
        var rowsSoFar = 0
        for group in metadata.rowGroups {
            starts.append(rowsSoFar)
            rowsSoFar += group.rowCount
        }
        var buffers: [Int: ColumnBuffer] = [:]
        if direct {
            for (c, column) in metadata.columns.enumerated() {
                switch column.meaning {
                case .integer: break
                case .decimal(let scale) where scale <= FieldParser.maximumScale: break
                case .date, .timestamp: break
                default: continue
                }
                let ranges = metadata.rowGroups.map { $0.chunks[c].range }
                guard !ranges.isEmpty, ranges.allSatisfy({ $0 != nil }) else { continue }
                let lo = ranges.map { $0!.lowerBound }.min()!, hi = ranges.map { $0!.upperBound }.max()!  // safe: every range was checked to exist, and there is at least one
                guard lo.magnitude < 1_000_000_000_000_000_000, hi.magnitude < 1_000_000_000_000_000_000 else { continue }
                buffers[c] = ColumnBuffer(count: rowsSoFar, range: lo...hi)
            }
        }
        let written = UnsafeMutableBufferPointer<Bool>.allocate(capacity: max(1, metadata.rowGroups.count * columnCount))
        written.initialize(repeating: false)
        defer {
            written.deinitialize()
            written.deallocate()
        }
        let tasks = metadata.rowGroups.count * columnCount
        let results = UnsafeMutableBufferPointer<Result<ParquetColumn, ParquetFailure>?>.allocate(capacity: max(1, tasks))
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        do {
            let buffer = bytes
            Parallel.forEach(tasks, threads: threads) { t in
                let g = t / columnCount, c = t % columnCount
                let decoder = ChunkDecoder(column: metadata.columns[c], chunk: metadata.rowGroups[g].chunks[c], rowCount: metadata.rowGroups[g].rowCount)
                do throws(ParquetFailure) {
                    let decoded = try decoder.decode(buffer)
                    if let target = buffers[c], target.write(decoded.values, at: starts[g]) {
                        written[t] = true
                        results[t] = .success(ParquetColumn(values: .integers(NarrowIntegers(view: target, from: starts[g], count: metadata.rowGroups[g].rowCount)),
                                                            nulls: decoded.nulls))
                    } else {
                        results[t] = .success(decoded.narrowed(metadata.columns[c].meaning))
                    }
                } catch {
                    results[t] = .failure(error)
                }
            }
        }
        var groups: [Group] = []
        for (g, group) in metadata.rowGroups.enumerated() {
            var chunks: [ParquetColumn] = []
            for c in 0..<columnCount {
                switch results[g * columnCount + c] {
                case .success(let chunk)?: chunks.append(chunk)
                case .failure(let failure)?:
                    throw Diagnostic(file: file, message: "column '\(metadata.columns[c].name)' in row group \(g + 1) of \(metadata.rowGroups.count) cannot be read: \(failure.reason)",
                                     help: failure.help ?? "the file may be corrupt; check it with another reader (DuckDB: SELECT * FROM read_parquet('…'))")
                case nil: preconditionFailure("a chunk neither decoded nor failed")  // safe: every task stores a result
                }
            }
            groups.append(Group(rowCount: group.rowCount, chunks: chunks))
        }
        // A buffer serves the packed column only when every chunk went into it.
        for c in Array(buffers.keys) where !(0..<metadata.rowGroups.count).allSatisfy({ written[$0 * columnCount + c] }) {
            buffers[c] = nil
        }
        let codecs = Set(metadata.rowGroups.flatMap { $0.chunks.map(\.codec) }).sorted().map(ParquetMetadata.codecName)
        var summary = "Parquet"
        if let writer = metadata.createdBy, !writer.isEmpty { summary += " written by \(writer.split(separator: " (").first.map(String.init) ?? writer)" }
        summary += ", \(metadata.rowGroups.count) row group\(metadata.rowGroups.count == 1 ? "" : "s")"
        if !codecs.isEmpty { summary += ", " + codecs.joined(separator: " and ") }
        return ParquetTable(file: file, names: metadata.columns.map(\.name), rowCount: metadata.rowCount, summary: summary,
                            columns: metadata.columns, groups: groups, buffers: buffers)
    }

    /// The meaning of column `i`, for classifying an ad hoc cube's columns.
    func meaning(_ i: Int) -> ParquetMetadata.Meaning { columns[i].meaning }

    /// A reader over row groups `range` (all by default).
    func rows(groups range: Range<Int>? = nil) -> ParquetRows {
        ParquetRows(table: self, groups: range ?? 0..<groups.count)
    }

    /// Row groups split into up to `parts` runs of about equal rows, for parsing in parallel.
    func partitions(_ parts: Int) -> [Range<Int>] {
        guard parts > 1, groups.count > 1 else { return [0..<groups.count] }
        var result: [Range<Int>] = []
        let target = max(1, rowCount / parts)
        var start = 0, rows = 0
        for (g, group) in groups.enumerated() {
            rows += group.rowCount
            if rows >= target * (result.count + 1), result.count < parts - 1 {
                result.append(start..<g + 1)
                start = g + 1
            }
        }
        if start < groups.count { result.append(start..<groups.count) }
        return result
    }
}

/// Rows of a `ParquetTable`, one at a time, for the loader.
final class ParquetRows: RecordReader {
    let table: ParquetTable
    let file: String
    let fieldCount: Int
    private let groupRange: Range<Int>
    private var group: Int
    private var chunks: [ParquetColumn] = []
    private var groupRows = 0
    private var row = -1
    /// Rows before the current group, in the whole file.
    private var rowsBefore: Int
    private var rowsRead = 0
    /// Text of each field of the current row, rendered on demand.
    private var slots: [UnsafeMutablePointer<UInt8>]
    private var capacities: [Int]

    init(table: ParquetTable, groups: Range<Int>) {
        self.table = table
        self.file = table.file
        self.fieldCount = table.names.count
        self.groupRange = groups
        self.group = groups.lowerBound - 1
        self.rowsBefore = table.groups[..<groups.lowerBound].reduce(0) { $0 + $1.rowCount }
        self.capacities = [Int](repeating: 64, count: table.names.count)
        self.slots = (0..<table.names.count).map { _ in UnsafeMutablePointer<UInt8>.allocate(capacity: 64) }
    }

    deinit {
        for slot in slots { slot.deallocate() }
    }

    var recordLine: Int { rowsBefore + row + 1 }
    var bytesRead: Int { rowsRead }
    var declaredNames: [String]? { table.names }

    func next() throws(Diagnostic) -> Bool {
        row += 1
        while row >= groupRows {
            if group >= groupRange.lowerBound { rowsBefore += groupRows }
            group += 1
            guard group < groupRange.upperBound else {
                row = groupRows
                return false
            }
            chunks = table.groups[group].chunks
            groupRows = table.groups[group].rowCount
            row = 0
        }
        rowsRead += 1
        return true
    }

    func rewindRecord() {
        row -= 1
        rowsRead -= 1
    }

    @inline(__always)
    private func isNull(_ i: Int) -> Bool {
        if let nulls = chunks[i].nulls { return nulls[row] }
        return false
    }

    private func put(_ text: some Collection<UInt8>, _ i: Int) -> UnsafeBufferPointer<UInt8> {
        let n = text.count
        if n > capacities[i] {
            slots[i].deallocate()
            capacities[i] = max(n, capacities[i] * 2)
            slots[i] = UnsafeMutablePointer<UInt8>.allocate(capacity: capacities[i])
        }
        var k = 0
        for b in text {
            slots[i][k] = b
            k += 1
        }
        return UnsafeBufferPointer(start: slots[i], count: n)
    }

    func field(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        if isNull(i) { return UnsafeBufferPointer(start: slots[i], count: 0) }
        let meaning = table.columns[i].meaning
        switch chunks[i].values {
        case .bytes(let v):
            return v.data.withUnsafeBufferPointer { put(UnsafeBufferPointer(rebasing: $0[Int(v.offsets[row])..<Int(v.offsets[row + 1])]), i) }
        case .dictionary(let d, let indices):
            let k = Int(indices[row])
            return d.data.withUnsafeBufferPointer { put(UnsafeBufferPointer(rebasing: $0[Int(d.offsets[k])..<Int(d.offsets[k + 1])]), i) }
        case .boolean(let v): return put((v[row] ? "true" : "false").utf8, i)
        case .int32(let v):
            switch meaning {
            case .date: return put(CivilDate.isoDate(Int(v[row])).utf8, i)
            case .decimal(let scale): return put(ParquetRows.decimalText(Int128(v[row]), scale).utf8, i)
            case .unsigned: return put(String(UInt32(bitPattern: v[row])).utf8, i)
            default: return put(String(v[row]).utf8, i)
            }
        case .int64(let v): return int64Field(v[row], meaning, i)
        case .integers(let v): return int64Field(v[row], meaning, i)
        case .float(let v): return put(v[row].description.utf8, i)
        case .double(let v): return put(v[row].description.utf8, i)
        case .int96(let days, let nanos):
            return put(ParquetRows.timestampText(Int64(days[row]) * 86_400_000_000_000 + nanos[row], 1_000_000_000).utf8, i)
        case .fixed(let data, let width):
            if case .decimal(let scale) = meaning, let unscaled = ParquetRows.bigEndian(data, row * width, width) {
                return put(ParquetRows.decimalText(unscaled, scale).utf8, i)
            }
            return put(data[row * width..<(row + 1) * width], i)
        }
    }

    private func int64Field(_ x: Int64, _ meaning: ParquetMetadata.Meaning, _ i: Int) -> UnsafeBufferPointer<UInt8> {
        switch meaning {
        case .timestamp(let units): return put(ParquetRows.timestampText(x, units).utf8, i)
        case .decimal(let scale): return put(ParquetRows.decimalText(Int128(x), scale).utf8, i)
        case .unsigned: return put(String(UInt64(bitPattern: x)).utf8, i)
        case .date: return put(CivilDate.isoDate(Int(x)).utf8, i)
        default: return put(String(x).utf8, i)
        }
    }

    func string(_ i: Int) throws(Diagnostic) -> String {
        if case .unsupported(let what) = table.columns[i].meaning {
            throw error(at: i, "column '\(table.names[i])' holds \(what) values, which Cubist cannot read", help: "convert the column to text, a number or a date when writing the file")
        }
        let bytes = field(i)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw error(at: i, "the value is not valid UTF-8 text", help: "Parquet text is UTF-8; write the column as a UTF-8 string")
        }
        return text
    }

    func decimal(_ i: Int, decimalComma: Bool) -> FieldParser.DecimalResult {
        if isNull(i) { return .empty }
        let meaning = table.columns[i].meaning
        switch chunks[i].values {
        case .int32(let v):
            switch meaning {
            case .integer: return .value(mantissa: Int64(v[row]), scale: 0)
            case .unsigned: return .value(mantissa: Int64(UInt32(bitPattern: v[row])), scale: 0)
            case .decimal(let scale): return ParquetRows.scaled(Int128(v[row]), scale)
            default: return .invalid
            }
        case .int64(let v): return ParquetRows.number(v[row], meaning)
        case .integers(let v): return ParquetRows.number(v[row], meaning)
        case .fixed(let data, let width):
            guard case .decimal(let scale) = meaning else { return .invalid }
            guard let unscaled = ParquetRows.bigEndian(data, row * width, width) else { return .outOfRange }
            return ParquetRows.scaled(unscaled, scale)
        case .float, .double, .bytes, .dictionary:
            if case .unsupported = meaning { return .invalid }
            // Floating point through its shortest text, as other tools print it.
            return FieldParser.decimal(field(i), decimalComma: false)
        case .boolean, .int96:
            return .invalid
        }
    }

    private static func number(_ x: Int64, _ meaning: ParquetMetadata.Meaning) -> FieldParser.DecimalResult {
        switch meaning {
        case .integer: return x.magnitude < 1_000_000_000_000_000_000 ? .value(mantissa: x, scale: 0) : .outOfRange
        case .unsigned: return x < 0 ? .outOfRange : .value(mantissa: x, scale: 0)
        case .decimal(let scale): return ParquetRows.scaled(Int128(x), scale)
        default: return .invalid
        }
    }

    /// Days of the years 0001 to 9999, the years a time dimension spans (as in CSV files).
    static let days: ClosedRange<Int32> = -719_162...2_932_896

    func day(_ i: Int, format: DateFormat, iso: Bool) -> FieldParser.DateResult {
        if isNull(i) { return .empty }
        let result = storedDay(i, format: format, iso: iso)
        if case .day(let d) = result, !ParquetRows.days.contains(d) { return .invalid }
        return result
    }

    private func storedDay(_ i: Int, format: DateFormat, iso: Bool) -> FieldParser.DateResult {
        let meaning = table.columns[i].meaning
        switch chunks[i].values {
        case .int32(let v) where meaning == .date: return .day(v[row])
        case .int64(let v): return ParquetRows.day(v[row], meaning)
        case .integers(let v): return ParquetRows.day(v[row], meaning)
        case .int96(let days, _): return .day(days[row])
        case .bytes, .dictionary:
            let field = field(i)
            return iso && field.count == 10 ? FieldParser.date(field) : format.parse(field)
        default: return .invalid
        }
    }

    private static func day(_ x: Int64, _ meaning: ParquetMetadata.Meaning) -> FieldParser.DateResult {
        if case .timestamp(let units) = meaning {
            let perDay = units * 86_400
            let day = x >= 0 ? x / perDay : -((-x - 1) / perDay) - 1
            guard let narrow = Int32(exactly: day) else { return .invalid }
            return .day(narrow)
        }
        if meaning == .date, let narrow = Int32(exactly: x) { return .day(narrow) }
        return .invalid
    }

    func integerKey(_ i: Int) -> Int? {
        if isNull(i) { return nil }
        switch chunks[i].values {
        case .int32(let v) where table.columns[i].meaning == .integer || table.columns[i].meaning == .unsigned:
            let value = table.columns[i].meaning == .unsigned ? Int(UInt32(bitPattern: v[row])) : Int(v[row])
            return value >= 0 ? value : nil
        case .int64(let v) where table.columns[i].meaning == .integer || table.columns[i].meaning == .unsigned:
            return v[row] >= 0 ? Int(v[row]) : nil
        case .integers(let v) where table.columns[i].meaning == .integer:
            return v[row] >= 0 ? Int(v[row]) : nil
        default: return nil
        }
    }

    func rowEstimate(_ total: Int) -> Int { total }

    func storesDates(_ i: Int) -> Bool {
        switch table.columns[i].meaning {
        case .date, .timestamp, .int96Timestamp: true
        default: false
        }
    }

    func error(at i: Int, _ message: String, help: String?) -> Diagnostic {
        let column = i < table.names.count ? ", column '\(table.names[i])'" : ""
        return Diagnostic(file: file, message: "row \(recordLine)\(column): \(message)", help: help)
    }

    func errorAtRecordEnd(_ message: String, help: String?) -> Diagnostic {
        Diagnostic(file: file, message: "row \(recordLine): \(message)", help: help)
    }

    // MARK: values as text

    /// A big-endian two's-complement integer of up to 16 bytes.
    static func bigEndian(_ data: [UInt8], _ start: Int, _ width: Int) -> Int128? {
        guard width > 0, width <= 16 else { return nil }
        var value: Int128 = data[start] >= 0x80 ? -1 : 0
        for k in 0..<width { value = value << 8 | Int128(data[start + k]) }
        return value
    }

    static func scaled(_ unscaled: Int128, _ scale: Int) -> FieldParser.DecimalResult {
        guard scale >= 0, scale <= FieldParser.maximumScale, let mantissa = Int64(exactly: unscaled),
              mantissa.magnitude < 1_000_000_000_000_000_000 else { return .outOfRange }
        return .value(mantissa: mantissa, scale: scale)
    }

    static func decimalText(_ unscaled: Int128, _ scale: Int) -> String {
        guard scale > 0 else { return String(unscaled) }
        var digits = String(unscaled.magnitude)
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        return (unscaled < 0 ? "-" : "") + digits
    }

    /// `YYYY-MM-DD HH:MM:SS[.fraction]` of a count of `units` per second since 1970.
    static func timestampText(_ value: Int64, _ units: Int64) -> String {
        let perDay = units * 86_400
        let day = value >= 0 ? value / perDay : -((-value - 1) / perDay) - 1
        let within = value - day * perDay
        let seconds = within / units, fraction = within % units
        var text = CivilDate.isoDate(Int(day)) + " " + CivilDate.pad(Int(seconds / 3600), 2) + ":" + CivilDate.pad(Int(seconds / 60 % 60), 2) + ":" + CivilDate.pad(Int(seconds % 60), 2)
        if fraction > 0 {
            let width = units == 1_000 ? 3 : units == 1_000_000 ? 6 : 9
            var digits = CivilDate.pad(Int(fraction), width)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text
    }
}

extension ParquetColumn {
    /// Appends each row's day number; false for a column of another type.
    func appendDays(_ meaning: ParquetMetadata.Meaning, to days: inout [Int32]) -> Bool {
        switch (values, meaning) {
        case (.int32(let v), .date):
            for x in v where !ParquetRows.days.contains(x) { return false }
            days.append(contentsOf: v)
            return true
        case (.int64(let v), .timestamp(let units)):
            let perDay = units * 86_400
            for x in v {
                let day = x >= 0 ? x / perDay : -((-x - 1) / perDay) - 1
                guard let narrow = Int32(exactly: day), ParquetRows.days.contains(narrow) else { return false }
                days.append(narrow)
            }
            return true
        case (.int96(let d, _), _):
            for x in d where !ParquetRows.days.contains(x) { return false }
            days.append(contentsOf: d)
            return true
        case (.integers(let v), .date):
            guard v.minimum >= Int64(ParquetRows.days.lowerBound), v.maximum <= Int64(ParquetRows.days.upperBound) else { return false }
            v.forEach { days.append(Int32(truncatingIfNeeded: $0)) }
            return true
        case (.integers(let v), .timestamp(let units)):
            let perDay = units * 86_400
            var inRange = true
            v.forEach { x in
                let day = x >= 0 ? x / perDay : -((-x - 1) / perDay) - 1
                if let narrow = Int32(exactly: day), ParquetRows.days.contains(narrow) { days.append(narrow) } else { inRange = false; days.append(0) }
            }
            return inRange
        default:
            return false
        }
    }

    /// Appends each row's number (nulls as nulls); false when one is out of range.
    func appendNumbers(_ meaning: ParquetMetadata.Meaning, to builder: inout DecimalColumnBuilder) -> Bool {
        let start = builder.values.count
        var scale = 0
        if case .decimal(let s) = meaning {
            guard s >= 0, s <= FieldParser.maximumScale else { return false }
            scale = s
        }
        func finishFixedScale() -> Bool {
            if let nulls {
                for (r, null) in nulls.enumerated() where null { builder.nullRows.append(start + r) }
            }
            return true
        }
        // Integers and decimals share one scale per column: the stored values are the mantissas.
        func appendMantissas(_ count: Int, _ value: (Int) -> Int64?) -> Bool {
            if builder.scale < scale {
                let factor = FieldParser.powersOfTen[scale - builder.scale]
                for i in builder.values.indices {
                    let (m, o) = builder.values[i].multipliedReportingOverflow(by: factor)
                    if o { return false }
                    builder.values[i] = m
                }
                builder.scale = scale
            }
            let factor = FieldParser.powersOfTen[builder.scale - scale]
            for r in 0..<count {
                guard let v = value(r), v.magnitude < 1_000_000_000_000_000_000 else { return false }
                let (m, o) = v.multipliedReportingOverflow(by: factor)
                if o { return false }
                builder.values.append(m)
            }
            return finishFixedScale()
        }
        // The common case, signed values at the column's scale: one tight pass.
        if builder.scale == scale, meaning != .unsigned {
            switch values {
            case .int32(let v):
                builder.values.append(contentsOf: v.lazy.map { Int64($0) })
                return finishFixedScale()
            case .int64(let v):
                var inRange = true
                for x in v where x.magnitude >= 1_000_000_000_000_000_000 { inRange = false }
                guard inRange else { return false }
                builder.values.append(contentsOf: v)
                return finishFixedScale()
            default: break
            }
        }
        switch values {
        case .int32(let v):
            let unsigned = meaning == .unsigned
            return appendMantissas(v.count) { unsigned ? Int64(UInt32(bitPattern: v[$0])) : Int64(v[$0]) }
        case .int64(let v):
            let unsigned = meaning == .unsigned
            return appendMantissas(v.count) { unsigned && v[$0] < 0 ? nil : v[$0] }
        case .integers(let v):
            guard v.minimum.magnitude < 1_000_000_000_000_000_000, v.maximum.magnitude < 1_000_000_000_000_000_000 else { return false }
            if builder.scale == scale {
                v.forEach { builder.values.append($0) }
                return finishFixedScale()
            }
            return appendMantissas(v.count) { v[$0] }
        case .fixed(let data, let width):
            return appendMantissas(data.count / max(1, width)) { ParquetRows.bigEndian(data, $0 * width, width).flatMap { Int64(exactly: $0) } }
        case .double(let v): return appendFloats(v, to: &builder)
        case .float(let v): return appendFloats(v, to: &builder)
        default:
            return false
        }
    }

    /// Floats as the shortest decimals that read back as the same values, nulls as nulls.
    private func appendFloats<F: BinaryFloatingPoint>(_ values: [F], to builder: inout DecimalColumnBuilder) -> Bool {
        for (r, x) in values.enumerated() {
            if nulls?[r] == true {
                builder.appendNull()
                continue
            }
            guard let (m, s) = ParquetColumn.exactDecimal(x) else { return false }
            do { try builder.append(mantissa: m, scale: s) } catch { return false }
        }
        return true
    }

    /// The decimal with the fewest places (up to 9) that reads back as `x`: what `x` prints
    /// as. Nil for values that need more places, or more than 18 digits, or are not finite.
    static func exactDecimal<F: BinaryFloatingPoint>(_ x: F) -> (Int64, Int)? {
        guard x.isFinite else { return nil }
        for scale in 0...FieldParser.maximumScale {
            let power = F(FieldParser.powersOfTen[scale])
            let scaled = (x * power).rounded()
            guard scaled.magnitude < 1e18 else { return nil }
            let mantissa = Int64(scaled)
            if F(mantissa) / power == x { return (mantissa, scale) }
        }
        return nil
    }
}

extension ParquetTable {
    /// The dimension codes of key column `i`, packed; nil at a null, a key that is no whole
    /// number, or one with no dimension row (the row parse then reports it).
    func packedKeys(_ i: Int, _ index: KeyIndex) -> PackedColumn? {
        guard columns[i].meaning == .integer || columns[i].meaning == .unsigned else { return nil }
        let width = PackedColumn.Width.fitting(UInt64(max(0, index.maximumCode)))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, rowCount * width.rawValue), alignment: 8)
        func fill<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) -> Bool {
            let target = raw.bindMemory(to: T.self, capacity: rowCount)
            var r = 0
            for group in groups {
                let chunk = group.chunks[i]
                guard chunk.nulls == nil else { return false }
                switch chunk.values {
                case .int32(let v):
                    for x in v {
                        guard x >= 0, let code = index.lookup(integer: Int(x)) else { return false }
                        target[r] = T(truncatingIfNeeded: code)
                        r += 1
                    }
                case .int64(let v):
                    for x in v {
                        guard x >= 0, let code = index.lookup(integer: Int(x)) else { return false }
                        target[r] = T(truncatingIfNeeded: code)
                        r += 1
                    }
                case .integers(let v):
                    guard v.minimum >= 0 else { return false }
                    var found = true
                    v.forEach { x in
                        if let code = index.lookup(integer: Int(x)) { target[r] = T(truncatingIfNeeded: code) } else { found = false }
                        r += 1
                    }
                    guard found else { return false }
                default: return false
                }
            }
            return true
        }
        let filled: Bool
        switch width {
        case .one: filled = fill(UInt8.self)
        case .two: filled = fill(UInt16.self)
        case .four: filled = fill(UInt32.self)
        case .eight: filled = fill(UInt64.self)
        }
        guard filled else {
            raw.deallocate()
            return nil
        }
        return PackedColumn(adopting: raw, count: rowCount, width: width)
    }

    /// Column `i` packed straight from its stored integers (INT32 or INT64 integers and
    /// decimals), as the loader packs parsed numbers: offsets from the smallest value (or 0),
    /// nulls in a bitmap. Nil for other columns, and for values of 18 digits or more.
    func packedNumbers(_ i: Int) -> NumericColumn? {
        let scale: Int
        switch columns[i].meaning {
        case .integer: scale = 0
        case .decimal(let s) where s >= 0 && s <= FieldParser.maximumScale: scale = s
        default: return nil
        }
        if let buffer = buffers[i] {
            // Written in place while decoding: the buffer becomes the column.
            return NumericColumn(name: names[i], scale: scale, base: buffer.base,
                                 packed: PackedColumn(adopting: buffer.raw, count: rowCount, width: buffer.width, owner: buffer), nulls: nullBitmap(i))
        }
        var lo: Int64 = 0, hi: Int64 = 0
        var anyNull = false
        for group in groups {
            let chunk = group.chunks[i]
            if chunk.nulls != nil { anyNull = true }
            switch chunk.values {
            case .int32(let v):
                for x in v {
                    lo = min(lo, Int64(x))
                    hi = max(hi, Int64(x))
                }
            case .int64(let v):
                for x in v {
                    lo = min(lo, x)
                    hi = max(hi, x)
                }
            case .integers(let v):
                lo = min(lo, v.minimum)
                hi = max(hi, v.maximum)
            default: return nil
            }
        }
        guard lo.magnitude < 1_000_000_000_000_000_000, hi.magnitude < 1_000_000_000_000_000_000 else { return nil }
        let width = PackedColumn.Width.fitting(UInt64(bitPattern: hi &- lo))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, rowCount * width.rawValue), alignment: 8)
        func fill<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) {
            let target = raw.bindMemory(to: T.self, capacity: rowCount)
            var r = 0
            for group in groups {
                switch group.chunks[i].values {
                case .int32(let v):
                    for x in v {
                        target[r] = T(truncatingIfNeeded: UInt64(bitPattern: Int64(x) &- lo))
                        r += 1
                    }
                case .int64(let v):
                    for x in v {
                        target[r] = T(truncatingIfNeeded: UInt64(bitPattern: x &- lo))
                        r += 1
                    }
                case .integers(let v):
                    v.forEach { x in
                        target[r] = T(truncatingIfNeeded: UInt64(bitPattern: x &- lo))
                        r += 1
                    }
                default: break
                }
            }
        }
        switch width {
        case .one: fill(UInt8.self)
        case .two: fill(UInt16.self)
        case .four: fill(UInt32.self)
        case .eight: fill(UInt64.self)
        }
        return NumericColumn(name: names[i], scale: scale, base: lo, packed: PackedColumn(adopting: raw, count: rowCount, width: width),
                             nulls: anyNull ? nullBitmap(i) : nil)
    }

    /// The null rows of column `i`, or nil when it has none.
    private func nullBitmap(_ i: Int) -> Bitmap? {
        guard groups.contains(where: { $0.chunks[i].nulls != nil }) else { return nil }
        var b = Bitmap(count: rowCount)
        var r = 0
        for group in groups {
            if let nulls = group.chunks[i].nulls {
                for (k, null) in nulls.enumerated() where null { b[r + k] = true }
            }
            r += group.rowCount
        }
        return b
    }
}
