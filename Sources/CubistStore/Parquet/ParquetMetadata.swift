import CubistCore

/// The parts of a Parquet file's footer that a flat table needs: its columns, how their
/// values are typed, and where each row group's column chunks are.
struct ParquetMetadata {
    /// Physical storage types (`Type` in parquet.thrift).
    enum PhysicalType: Int64 {
        case boolean = 0, int32, int64, int96, float, double, byteArray, fixedLenByteArray

        var name: String {
            switch self {
            case .boolean: "BOOLEAN"
            case .int32: "INT32"
            case .int64: "INT64"
            case .int96: "INT96"
            case .float: "FLOAT"
            case .double: "DOUBLE"
            case .byteArray: "BYTE_ARRAY"
            case .fixedLenByteArray: "FIXED_LEN_BYTE_ARRAY"
            }
        }
    }

    /// What a column's values mean, from its logical or converted type.
    enum Meaning: Equatable {
        case integer
        /// An unsigned integer stored in a signed physical type.
        case unsigned
        case decimal(scale: Int)
        case floating
        case text
        case binary
        case boolean
        case date
        /// Units per second: 1,000 (millis), 1,000,000 (micros) or 1,000,000,000 (nanos).
        case timestamp(unitsPerSecond: Int64)
        /// INT96: nanoseconds of the day and a Julian day, as Spark and Impala wrote them.
        case int96Timestamp
        /// A type Cubist does not read (time of day, interval, UUID, ...), named.
        case unsupported(String)
    }

    struct Column {
        let name: String
        let physical: PhysicalType
        let meaning: Meaning
        let optional: Bool
        /// Bytes per value of a FIXED_LEN_BYTE_ARRAY column.
        let typeLength: Int
    }

    struct Chunk {
        let codec: Int64
        let valueCount: Int64
        let start: Int64
        let compressedSize: Int64
        /// The smallest and largest value from the footer's statistics (INT32 and INT64
        /// columns, when the writer kept them); nil otherwise.
        var range: ClosedRange<Int64>? = nil
    }

    struct RowGroup {
        let rowCount: Int
        let chunks: [Chunk]
    }

    let columns: [Column]
    let rowGroups: [RowGroup]
    let rowCount: Int
    let createdBy: String?

    static func codecName(_ codec: Int64) -> String {
        switch codec {
        case 0: "uncompressed"
        case 1: "snappy"
        case 2: "gzip"
        case 3: "lzo"
        case 4: "brotli"
        case 5: "lz4"
        case 6: "zstd"
        case 7: "lz4_raw"
        default: "codec \(codec)"
        }
    }

    /// Reads the footer of `bytes` (a whole Parquet file).
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, file: String) throws(Diagnostic) -> ParquetMetadata {
        let magic: [UInt8] = [80, 65, 82, 49]  // "PAR1"
        let n = bytes.count
        guard n >= 12, bytes[0..<4].elementsEqual(magic), bytes[(n - 4)...].elementsEqual(magic) else {
            throw Diagnostic(file: file, message: "not a Parquet file (it does not begin and end with PAR1)",
                             help: "the file may be truncated, still being written, or another format under a .parquet name")
        }
        let footerLength = Int(bytes[n - 8]) | Int(bytes[n - 7]) << 8 | Int(bytes[n - 6]) << 16 | Int(bytes[n - 5]) << 24
        guard footerLength > 0, footerLength <= n - 12 else {
            throw Diagnostic(file: file, message: "the Parquet footer length (\(footerLength) bytes) does not fit in the file (\(n) bytes)",
                             help: "the file is truncated or corrupt; write it again")
        }
        let footerStart = n - 8 - footerLength
        var reader = ThriftReader(bytes, from: footerStart, to: n - 8)
        let meta: ThriftStruct
        do {
            meta = try reader.readStruct()
        } catch {
            throw Diagnostic(file: file, message: "the Parquet footer is corrupt: it \(error.message)", help: "the file is truncated or corrupt; write it again")
        }
        func corrupt(_ what: String) -> Diagnostic {
            Diagnostic(file: file, message: "the Parquet footer is corrupt: \(what)", help: "the file is truncated or corrupt; write it again")
        }
        let schema = meta.list(2).compactMap(\.structure)
        guard let root = schema.first else { throw corrupt("it has no schema") }
        let childCount = Int(root.int(5) ?? 0)
        guard childCount == schema.count - 1 else {
            let nested = schema.dropFirst().first { ($0.int(5) ?? 0) > 0 }?.string(4) ?? "?"
            throw Diagnostic(file: file, message: "column '\(nested)' is nested (a struct, list or map); Cubist reads flat tables",
                             help: "write the file with flat columns, e.g. in DuckDB: COPY (SELECT <flat columns> FROM ...) TO 'file.parquet'")
        }
        var columns: [Column] = []
        for element in schema.dropFirst() {
            let name = element.string(4) ?? "column\(columns.count + 1)"
            guard let raw = element.int(1), let physical = PhysicalType(rawValue: raw) else { throw corrupt("column '\(name)' has no physical type") }
            let repetition = element.int(3) ?? 0
            if repetition == 2 {
                throw Diagnostic(file: file, message: "column '\(name)' is repeated (a list); Cubist reads flat tables",
                                 help: "write the file with one value per row in each column")
            }
            let typeLength = element.int(2) ?? 0
            guard typeLength >= 0, typeLength <= 1 << 16 else { throw corrupt("column '\(name)' has a value length of \(typeLength) bytes") }
            columns.append(Column(name: name, physical: physical, meaning: meaning(element, physical), optional: repetition == 1,
                                  typeLength: Int(typeLength)))
        }
        var groups: [RowGroup] = []
        for (g, value) in meta.list(4).enumerated() {
            guard let group = value.structure else { throw corrupt("row group \(g + 1) is not a structure") }
            let chunkValues = group.list(1)
            guard chunkValues.count == columns.count else { throw corrupt("row group \(g + 1) has \(chunkValues.count) column chunks for \(columns.count) columns") }
            var chunks: [Chunk] = []
            for (c, chunkValue) in chunkValues.enumerated() {
                guard let chunk = chunkValue.structure, let data = chunk.structure(3) else { throw corrupt("column '\(columns[c].name)' in row group \(g + 1) has no metadata") }
                if let path = chunk.string(1), !path.isEmpty {
                    throw Diagnostic(file: file, message: "column '\(columns[c].name)' is stored in another file ('\(path)')",
                                     help: "Cubist reads single-file Parquet; write the table as one file")
                }
                guard let dataOffset = data.int(9), let size = data.int(7), let values = data.int(5) else {
                    throw corrupt("column '\(columns[c].name)' in row group \(g + 1) lacks its offsets")
                }
                let dictionaryOffset = data.int(11).flatMap { $0 > 0 ? $0 : nil }
                let start = min(dataOffset, dictionaryOffset ?? dataOffset)
                guard start >= 4, start <= Int64(footerStart), size >= 0, size <= Int64(footerStart) - start else {
                    throw corrupt("column '\(columns[c].name)' in row group \(g + 1) points outside the file")
                }
                var entry = Chunk(codec: data.int(4) ?? 0, valueCount: values, start: start, compressedSize: size)
                entry.range = integerRange(data.structure(12), columns[c].physical)
                chunks.append(entry)
            }
            guard let rows = group.int(3), rows >= 0, rows <= Int64(Int32.max) else { throw corrupt("row group \(g + 1) has no valid row count") }
            for (c, chunk) in chunks.enumerated() where chunk.valueCount != rows {
                throw corrupt("column '\(columns[c].name)' in row group \(g + 1) has \(chunk.valueCount) values for \(rows) rows")
            }
            groups.append(RowGroup(rowCount: Int(rows), chunks: chunks))
        }
        return ParquetMetadata(columns: columns, rowGroups: groups, rowCount: groups.reduce(0) { $0 + $1.rowCount }, createdBy: meta.string(6))
    }

    /// The min and max statistics of an INT32 or INT64 chunk (min_value/max_value, else the
    /// older min/max, which are signed for these types).
    private static func integerRange(_ statistics: ThriftStruct?, _ physical: PhysicalType) -> ClosedRange<Int64>? {
        guard let statistics, physical == .int32 || physical == .int64 else { return nil }
        func value(_ id: Int16) -> Int64? {
            guard case .binary(let b)? = statistics[id] else { return nil }
            let bytes = Array(b)
            if physical == .int32, bytes.count == 4 {
                return Int64(Int32(bitPattern: UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24))
            }
            if physical == .int64, bytes.count == 8 {
                var v: UInt64 = 0
                for k in 0..<8 { v |= UInt64(bytes[k]) << (8 * UInt64(k)) }
                return Int64(bitPattern: v)
            }
            return nil
        }
        guard let lo = value(6) ?? value(2), let hi = value(5) ?? value(1), lo <= hi else { return nil }
        return lo...hi
    }

    /// The meaning of a column, from its logical type (newer writers) or its converted type.
    private static func meaning(_ element: ThriftStruct, _ physical: PhysicalType) -> Meaning {
        if let logical = element.structure(10), let (id, value) = logical.fields.first {
            switch id {
            case 1, 4, 12: return physical == .byteArray ? .text : .unsupported("string of \(physical.name)")
            case 5:
                let scale = value.structure?.int(1) ?? element.int(7) ?? 0
                return scale >= 0 && scale <= 38 ? .decimal(scale: Int(scale)) : .unsupported("decimal with scale \(scale)")
            case 6: return .date
            case 7: return .unsupported("time of day")
            case 8:
                let unit = value.structure?.structure(2)?.fields.keys.first ?? 2
                return .timestamp(unitsPerSecond: unit == 1 ? 1_000 : unit == 3 ? 1_000_000_000 : 1_000_000)
            case 10:
                let signed = value.structure?[2]?.bool ?? true
                return signed ? .integer : .unsigned
            case 14: return .unsupported("UUID")
            case 15: return .unsupported("FLOAT16")
            default: break
            }
        }
        switch element.int(6) {
        case 0, 4, 19: return physical == .byteArray ? .text : .unsupported("string of \(physical.name)")
        case 5:
            let scale = element.int(7) ?? 0
            return scale >= 0 && scale <= 38 ? .decimal(scale: Int(scale)) : .unsupported("decimal with scale \(scale)")
        case 6: return .date
        case 7, 8: return .unsupported("time of day")
        case 9: return .timestamp(unitsPerSecond: 1_000)
        case 10: return .timestamp(unitsPerSecond: 1_000_000)
        case 11, 12, 13, 14: return .unsigned
        case 15, 16, 17, 18: return .integer
        case 21: return .unsupported("interval")
        default: break
        }
        switch physical {
        case .boolean: return .boolean
        case .int32, .int64: return .integer
        case .int96: return .int96Timestamp
        case .float, .double: return .floating
        case .byteArray: return .binary
        case .fixedLenByteArray: return .unsupported("FIXED_LEN_BYTE_ARRAY without a decimal type")
        }
    }
}
