import CubistCore

/// Byte strings stored back to back: value `i` is `data[offsets[i]..<offsets[i + 1]]`.
struct ByteValues {
    var offsets: [UInt32] = [0]
    var data: [UInt8] = []

    var count: Int { offsets.count - 1 }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        data.append(contentsOf: bytes)
        offsets.append(UInt32(truncatingIfNeeded: data.count))
    }
}

/// One column chunk of a Parquet row group, decoded: a value per row, nulls marked.
struct ParquetColumn {
    enum Values {
        case boolean([Bool])
        case int32([Int32])
        case int64([Int64])
        case float([Float])
        case double([Double])
        /// INT96 timestamps, as day numbers (days since 1970-01-01) and nanoseconds of the day.
        case int96(days: [Int32], nanoseconds: [Int64])
        case bytes(ByteValues)
        /// Byte strings by dictionary index: the dictionary, then an index per row.
        case dictionary(ByteValues, [UInt32])
        case fixed(data: [UInt8], width: Int)
        /// Whole numbers (integers, decimals' unscaled values, days, timestamps) in the
        /// narrowest width that holds them.
        case integers(NarrowIntegers)
    }

    var values: Values
    /// Per row, whether it is null; nil when no row is.
    var nulls: [Bool]?
}

/// Why a column chunk could not be decoded; the caller adds the file, column and row group.
struct ParquetFailure: Error {
    let reason: String
    /// Set when the file is valid but uses a feature Cubist does not read.
    var help: String?
}

/// Decodes one column chunk from the file's bytes: its dictionary page and data pages
/// (version 1 and 2), PLAIN, dictionary (RLE_DICTIONARY, PLAIN_DICTIONARY) and
/// BYTE_STREAM_SPLIT values, RLE/bit-packed definition levels, through `Decompress`.
struct ChunkDecoder {
    let column: ParquetMetadata.Column
    let chunk: ParquetMetadata.Chunk
    let rowCount: Int

    private enum Builder {
        case boolean([Bool])
        case int32([Int32])
        case int64([Int64])
        case float([Float])
        case double([Double])
        case int96([Int32], [Int64])
        case bytes(ByteValues)
        case fixed([UInt8])
    }

    func decode(_ fileBuffer: UnsafeBufferPointer<UInt8>) throws(ParquetFailure) -> ParquetColumn {
        // Room for every row, unless the footer's row count is out of all proportion to the bytes.
        var builder = emptyBuilder(reserving: min(rowCount, max(1 << 16, Int(chunk.compressedSize) * 64)))
        var dictionary: Builder?
        var dictionaryIndices: [UInt32]?  // byte strings kept as indices while every page is dictionary-encoded
        var nulls: [Bool] = []
        var anyNull = false
        var rows = 0
        var position = Int(chunk.start)
        let end = Int(chunk.start + chunk.compressedSize)
        if column.physical == .byteArray { dictionaryIndices = [] }
        while rows < rowCount {
            guard position < end else { throw ParquetFailure(reason: "the column chunk ends after \(rows) of \(rowCount) rows") }
            var reader = ThriftReader(fileBuffer, from: position, to: end)
            let header: ThriftStruct
            do {
                header = try reader.readStruct()
            } catch {
                throw ParquetFailure(reason: "a page header at byte \(position) \(error.message)")
            }
            position = reader.position
            guard let type = header.int(1), let uncompressed = header.int(2), let compressed = header.int(3),
                  uncompressed >= 0, compressed >= 0, compressed <= end - position else {
                throw ParquetFailure(reason: "a page header at byte \(position) has no valid sizes")
            }
            // A page of N values needs some bytes: a claim far beyond them is damage.
            guard uncompressed <= Int64(Int32.max), compressed <= uncompressed * 1100 + 1024 else {
                throw ParquetFailure(reason: "a page header at byte \(position) claims \(uncompressed) bytes from \(compressed)")
            }
            let pageStart = position
            position += Int(compressed)
            let raw = UnsafeBufferPointer(rebasing: fileBuffer[pageStart..<pageStart + Int(compressed)])
            switch type {
            case 2:  // dictionary page
                guard let info = header.structure(7), let count = info.int(1), count >= 0, count <= uncompressed + 1 else { throw ParquetFailure(reason: "a dictionary page has no valid value count") }
                let page = try decompress(raw, Int(uncompressed))
                var values = emptyBuilder()
                try withBytes(page) { (bytes) throws(ParquetFailure) in
                    var offset = 0
                    try plain(bytes, &offset, Int(count), into: &values)
                }
                dictionary = values
            case 0, 3:
                let v2 = type == 3
                guard let info = header.structure(v2 ? 8 : 5), let valueCount = info.int(1), valueCount >= 0, valueCount <= rowCount - rows,
                      valueCount <= max(1 << 20, uncompressed * 64) else {
                    throw ParquetFailure(reason: "a data page has no valid value count")
                }
                let encoding = info.int(v2 ? 4 : 2) ?? 0
                let page: [UInt8]
                var levels: [UInt8] = []
                var offset = 0
                if v2 {
                    let definitionLength = Int(info.int(5) ?? 0), repetitionLength = Int(info.int(6) ?? 0)
                    guard definitionLength >= 0, repetitionLength == 0, definitionLength <= raw.count else {
                        throw ParquetFailure(reason: "a version 2 data page has repetition levels or bad level sizes")
                    }
                    if column.optional {
                        levels = try Hybrid.levels(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(raw)[0..<definitionLength]), count: Int(valueCount))
                    }
                    let body = UnsafeBufferPointer(rebasing: raw[definitionLength...])
                    let compressedBody = info[7]?.bool ?? true
                    page = compressedBody ? try decompress(body, Int(uncompressed) - definitionLength) : Array(body)
                } else {
                    page = try decompress(raw, Int(uncompressed))
                    if column.optional {
                        guard page.count >= 4 else { throw ParquetFailure(reason: "a data page is too short for its definition levels") }
                        let length = Int(page[0]) | Int(page[1]) << 8 | Int(page[2]) << 16 | Int(page[3]) << 24
                        guard length <= page.count - 4 else { throw ParquetFailure(reason: "a data page's definition levels run past its end") }
                        levels = try withBytes(page) { (b) throws(ParquetFailure) in try Hybrid.levels(UnsafeRawBufferPointer(rebasing: b[4..<4 + length]), count: Int(valueCount)) }
                        offset = 4 + length
                    }
                }
                let present: Int
                if column.optional, levels.isEmpty {
                    present = Int(valueCount)  // one run of present values: no nulls on this page
                    if anyNull { nulls.append(contentsOf: repeatElement(false, count: Int(valueCount))) }
                } else if column.optional {
                    var count = 0
                    for l in levels {
                        guard l <= 1 else { throw ParquetFailure(reason: "a definition level is \(l) in a flat column") }
                        count += Int(l)
                    }
                    present = count
                    if count < levels.count {
                        if !anyNull { nulls = [Bool](repeating: false, count: rows) }
                        anyNull = true
                    }
                    if anyNull { nulls.append(contentsOf: levels.lazy.map { $0 == 0 }) }
                } else {
                    present = Int(valueCount)
                }
                try withBytes(page) { (bytes) throws(ParquetFailure) in
                    let body = UnsafeRawBufferPointer(rebasing: bytes[offset...])
                    switch encoding {
                    case 0:
                        if let indices = dictionaryIndices, let dictionary {
                            // A plain page after dictionary pages: the strings so far become plain.
                            builder = materialize(dictionary, indices)
                        }
                        dictionaryIndices = nil
                        var o = 0
                        try plain(body, &o, present, into: &builder)
                    case 2, 8:
                        guard let dictionary else { throw ParquetFailure(reason: "a dictionary-encoded page comes without a dictionary page") }
                        guard body.count >= 1 else { throw ParquetFailure(reason: "a dictionary-encoded page is empty") }
                        let width = Int(body[0])
                        guard width <= 32 else { throw ParquetFailure(reason: "dictionary indices are \(width) bits wide") }
                        let indices = try Hybrid.decode32(UnsafeRawBufferPointer(rebasing: body[1...]), bitWidth: width, count: present)
                        let size = count(dictionary)
                        let largest = indices.withUnsafeBufferPointer { ix in ix.reduce(0) { Swift.max($0, $1) } }
                        if !indices.isEmpty, Int(largest) >= size { throw ParquetFailure(reason: "dictionary index \(largest) is past the dictionary's \(size) values") }
                        if dictionaryIndices != nil {
                            dictionaryIndices!.append(contentsOf: indices)  // safe: checked for nil just before
                        } else {
                            append(dictionary, indices, to: &builder)
                        }
                    case 3 where column.physical == .boolean:
                        // Booleans as RLE: a 4-byte length, then 1-bit runs.
                        guard body.count >= 4 else { throw ParquetFailure(reason: "an RLE boolean page is too short") }
                        let length = Int(body.loadUnaligned(as: UInt32.self).littleEndian)
                        guard length <= body.count - 4 else { throw ParquetFailure(reason: "RLE booleans run past the page's end") }
                        let bits = try Hybrid.decode(UnsafeRawBufferPointer(rebasing: body[4..<4 + length]), bitWidth: 1, count: present)
                        if case .boolean(var v) = builder {
                            v.append(contentsOf: bits.lazy.map { $0 == 1 })
                            builder = .boolean(v)
                        }
                    case 5, 6, 7:
                        try delta(body, encoding, present, into: &builder)
                    case 9:
                        try byteStreamSplit(body, present, into: &builder)
                    default:
                        throw ParquetFailure(reason: "pages encoded \(ChunkDecoder.encodingName(encoding)) cannot be read yet",
                                             help: "write the file with PLAIN or dictionary encoding (Parquet format version 1, the default of DuckDB, Polars and pyarrow)")
                    }
                }
                rows += Int(valueCount)
            default:
                continue  // index pages and unknown pages carry no values
            }
        }
        let nullFlags: [Bool]? = anyNull ? nulls : nil
        if let indices = dictionaryIndices, case .bytes(let values)? = dictionary {
            let present = nullFlags.map { $0.reduce(0) { $0 + ($1 ? 0 : 1) } } ?? rowCount
            guard indices.count == present else { throw ParquetFailure(reason: "the pages hold \(indices.count) values for \(present) rows that are not null") }
            return ParquetColumn(values: .dictionary(values, expand(indices, nullFlags, fill: 0)), nulls: nullFlags)
        }
        return ParquetColumn(values: try finish(builder, nullFlags), nulls: nullFlags)
    }

    static func encodingName(_ encoding: Int64) -> String {
        switch encoding {
        case 0: "PLAIN"
        case 2: "PLAIN_DICTIONARY"
        case 3: "RLE"
        case 4: "BIT_PACKED"
        case 5: "DELTA_BINARY_PACKED"
        case 6: "DELTA_LENGTH_BYTE_ARRAY"
        case 7: "DELTA_BYTE_ARRAY"
        case 8: "RLE_DICTIONARY"
        case 9: "BYTE_STREAM_SPLIT"
        default: "encoding \(encoding)"
        }
    }

    private func decompress(_ raw: UnsafeBufferPointer<UInt8>, _ size: Int) throws(ParquetFailure) -> [UInt8] {
        do {
            return try Decompress.page(raw, codec: chunk.codec, size: size)
        } catch {
            throw ParquetFailure(reason: error.reason, help: error.unsupported ? "write the file with snappy, gzip or zstd compression, or none" : nil)
        }
    }

    /// A builder with room for `n` values.
    private func emptyBuilder(reserving n: Int = 0) -> Builder {
        func room<T>(_ type: T.Type) -> [T] {
            var array = [T]()
            array.reserveCapacity(n)
            return array
        }
        switch column.physical {
        case .boolean: return .boolean(room(Bool.self))
        case .int32: return .int32(room(Int32.self))
        case .int64: return .int64(room(Int64.self))
        case .int96: return .int96(room(Int32.self), room(Int64.self))
        case .float: return .float(room(Float.self))
        case .double: return .double(room(Double.self))
        case .byteArray:
            var values = ByteValues()
            values.offsets.reserveCapacity(n + 1)
            return .bytes(values)
        case .fixedLenByteArray:
            var bytes = [UInt8]()
            bytes.reserveCapacity(n * min(64, max(0, column.typeLength)))
            return .fixed(bytes)
        }
    }

    private func count(_ builder: Builder) -> Int {
        switch builder {
        case .boolean(let v): v.count
        case .int32(let v): v.count
        case .int64(let v): v.count
        case .int96(let v, _): v.count
        case .float(let v): v.count
        case .double(let v): v.count
        case .bytes(let v): v.count
        case .fixed(let v): column.typeLength > 0 ? v.count / column.typeLength : 0
        }
    }

    /// Reads `n` PLAIN values from `bytes` at `offset`.
    private func plain(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int, _ n: Int, into builder: inout Builder) throws(ParquetFailure) {
        func need(_ size: Int) throws(ParquetFailure) {
            guard size >= 0, size <= bytes.count - offset else { throw ParquetFailure(reason: "a page holds fewer values than its header says") }
        }
        switch builder {
        case .boolean(var v):
            builder = .fixed([])  // release the payload so appending does not copy it
            try need((n + 7) / 8)
            for k in 0..<n { v.append(bytes[offset + k / 8] >> (k % 8) & 1 == 1) }
            offset += (n + 7) / 8
            builder = .boolean(v)
        case .int32(var v):
            builder = .fixed([])  // release the payload so appending does not copy it
            try ChunkDecoder.appendPlain(bytes, &offset, n, to: &v)
            builder = .int32(v)
        case .int64(var v):
            builder = .fixed([])  // release the payload so appending does not copy it
            try ChunkDecoder.appendPlain(bytes, &offset, n, to: &v)
            builder = .int64(v)
        case .float(var v):
            builder = .fixed([])  // release the payload so appending does not copy it
            try ChunkDecoder.appendPlain(bytes, &offset, n, to: &v)
            builder = .float(v)
        case .double(var v):
            builder = .fixed([])  // release the payload so appending does not copy it
            try ChunkDecoder.appendPlain(bytes, &offset, n, to: &v)
            builder = .double(v)
        case .int96(var days, var nanos):
            builder = .fixed([])
            try need(n * 12)
            for k in 0..<n {
                let base = offset + 12 * k
                nanos.append(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: base, as: Int64.self)))
                // Julian day 2,440,588 is 1970-01-01.
                days.append(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 8, as: Int32.self)) &- 2_440_588)
            }
            offset += n * 12
            builder = .int96(days, nanos)
        case .bytes(var v):
            builder = .int32([])  // release the payload so appending does not copy it
            v.offsets.reserveCapacity(v.offsets.count + n)
            for _ in 0..<n {
                try need(4)
                let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                offset += 4
                try need(length)
                v.append(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))
                offset += length
            }
            guard v.data.count < Int(UInt32.max) else { throw ParquetFailure(reason: "a column chunk holds more than 4 GiB of text") }
            builder = .bytes(v)
        case .fixed(var v):
            builder = .boolean([])
            let width = column.typeLength
            guard width > 0 else { throw ParquetFailure(reason: "a FIXED_LEN_BYTE_ARRAY column has no length") }
            try need(n * width)
            v.append(contentsOf: bytes[offset..<offset + n * width])
            offset += n * width
            builder = .fixed(v)
        }
    }

    /// Appends `dictionary[i]` for each index (every index already checked to be in range).
    static func gather<T: Numeric>(_ dictionary: [T], _ indices: [UInt32], into array: inout [T]) {
        let old = array.count
        array.append(contentsOf: repeatElement(0, count: indices.count))
        dictionary.withUnsafeBufferPointer { d in
            indices.withUnsafeBufferPointer { ix in
                array.withUnsafeMutableBufferPointer { out in
                    let base = d.baseAddress!, target = out.baseAddress! + old  // safe: the dictionary is not empty when there are indices, and the array was just grown by their count
                    for k in 0..<ix.count { target[k] = base[Int(ix[k])] }
                }
            }
        }
    }

    /// `n` PLAIN fixed-width values at `offset`, which moves past them.
    static func appendPlain<T: BitwiseCopyable & Numeric>(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int, _ n: Int, to array: inout [T]) throws(ParquetFailure) {
        let size = n * MemoryLayout<T>.size
        guard size >= 0, size <= bytes.count - offset else { throw ParquetFailure(reason: "a page holds fewer values than its header says") }
        append(bytes, offset, n, to: &array)
        offset += size
    }

    /// `n` little-endian values at `offset` (the byte order of every platform Cubist runs on).
    static func append<T: BitwiseCopyable & Numeric>(_ bytes: UnsafeRawBufferPointer, _ offset: Int, _ n: Int, to array: inout [T]) {
        guard n > 0 else { return }
        let old = array.count
        array.append(contentsOf: repeatElement(0, count: n))
        array.withUnsafeMutableBytes { target in
            (target.baseAddress! + old * MemoryLayout<T>.stride).copyMemory(from: bytes.baseAddress! + offset, byteCount: n * MemoryLayout<T>.size)  // safe: the caller checked n values fit
        }
    }

    /// The DELTA encodings: DELTA_BINARY_PACKED integers, DELTA_LENGTH_BYTE_ARRAY (lengths
    /// delta-packed, then the bytes) and DELTA_BYTE_ARRAY (prefixes shared with the value
    /// before, then suffixes).
    private func delta(_ bytes: UnsafeRawBufferPointer, _ encoding: Int64, _ n: Int, into builder: inout Builder) throws(ParquetFailure) {
        switch (encoding, builder) {
        case (5, .int32(var v)):
            builder = .fixed([])
            var offset = 0
            let values = try Delta.integers(bytes, &offset, n)
            v.append(contentsOf: values.lazy.map { Int32(truncatingIfNeeded: $0) })
            builder = .int32(v)
        case (5, .int64(var v)):
            builder = .fixed([])
            var offset = 0
            v.append(contentsOf: try Delta.integers(bytes, &offset, n))
            builder = .int64(v)
        case (6, .bytes(var v)):
            builder = .fixed([])
            var offset = 0
            let lengths = try Delta.integers(bytes, &offset, n)
            for length in lengths {
                guard length >= 0, length <= Int64(bytes.count - offset) else { throw ParquetFailure(reason: "a DELTA_LENGTH_BYTE_ARRAY value runs past the page") }
                v.append(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + Int(length)]))
                offset += Int(length)
            }
            builder = .bytes(v)
        case (7, .bytes(var v)):
            builder = .fixed([])
            var offset = 0
            let prefixes = try Delta.integers(bytes, &offset, n)
            let suffixes = try Delta.integers(bytes, &offset, n)
            var previous: [UInt8] = []
            for (prefix, suffix) in zip(prefixes, suffixes) {
                guard prefix >= 0, prefix <= Int64(previous.count), suffix >= 0, suffix <= Int64(bytes.count - offset) else {
                    throw ParquetFailure(reason: "a DELTA_BYTE_ARRAY value runs past the page or its predecessor")
                }
                previous.removeLast(previous.count - Int(prefix))
                previous.append(contentsOf: bytes[offset..<offset + Int(suffix)])
                offset += Int(suffix)
                previous.withUnsafeBytes { v.append($0) }
            }
            builder = .bytes(v)
        default:
            throw ParquetFailure(reason: "\(ChunkDecoder.encodingName(encoding)) is not defined for \(column.physical.name) columns")
        }
    }

    /// BYTE_STREAM_SPLIT: byte `b` of value `k` is at `b * n + k`.
    private func byteStreamSplit(_ bytes: UnsafeRawBufferPointer, _ n: Int, into builder: inout Builder) throws(ParquetFailure) {
        let width: Int
        switch builder {
        case .int32, .float: width = 4
        case .int64, .double: width = 8
        case .fixed: width = column.typeLength
        default: throw ParquetFailure(reason: "BYTE_STREAM_SPLIT is not defined for \(column.physical.name)")
        }
        guard width > 0, bytes.count >= n * width else { throw ParquetFailure(reason: "a page holds fewer values than its header says") }
        var joined = [UInt8](repeating: 0, count: n * width)
        for k in 0..<n { for b in 0..<width { joined[k * width + b] = bytes[b * n + k] } }
        try withBytes(joined) { (raw) throws(ParquetFailure) in
            var o = 0
            try plain(raw, &o, n, into: &builder)
        }
    }

    private func append(_ dictionary: Builder, _ indices: [UInt32], to builder: inout Builder) {
        switch (dictionary, builder) {
        case (.boolean(let d), .boolean(var v)): builder = .fixed([]); v.append(contentsOf: indices.lazy.map { d[Int($0)] }); builder = .boolean(v)
        case (.int32(let d), .int32(var v)): builder = .fixed([]); ChunkDecoder.gather(d, indices, into: &v); builder = .int32(v)
        case (.int64(let d), .int64(var v)): builder = .fixed([]); ChunkDecoder.gather(d, indices, into: &v); builder = .int64(v)
        case (.float(let d), .float(var v)): builder = .fixed([]); ChunkDecoder.gather(d, indices, into: &v); builder = .float(v)
        case (.double(let d), .double(var v)): builder = .fixed([]); ChunkDecoder.gather(d, indices, into: &v); builder = .double(v)
        case (.int96(let dd, let dn), .int96(var vd, var vn)):
            builder = .fixed([])
            vd.append(contentsOf: indices.lazy.map { dd[Int($0)] })
            vn.append(contentsOf: indices.lazy.map { dn[Int($0)] })
            builder = .int96(vd, vn)
        case (.bytes(let d), .bytes(var v)):
            builder = .int32([])
            for i in indices { d.data.withUnsafeBytes { v.append(UnsafeRawBufferPointer(rebasing: $0[Int(d.offsets[Int(i)])..<Int(d.offsets[Int(i) + 1])])) } }
            builder = .bytes(v)
        case (.fixed(let d), .fixed(var v)):
            builder = .boolean([])
            let w = column.typeLength
            for i in indices { v.append(contentsOf: d[Int(i) * w..<(Int(i) + 1) * w]) }
            builder = .fixed(v)
        default: break
        }
    }

    private func materialize(_ dictionary: Builder, _ indices: [UInt32]) -> Builder {
        var builder = emptyBuilder()
        append(dictionary, indices, to: &builder)
        return builder
    }

    /// Spreads values stored for present rows only over every row, `fill` at the nulls.
    private func expand<T>(_ values: [T], _ nulls: [Bool]?, fill: T) -> [T] {
        guard let nulls else { return values }
        var result = [T]()
        result.reserveCapacity(nulls.count)
        var next = 0
        for null in nulls {
            if null { result.append(fill) } else { result.append(values[next]); next += 1 }
        }
        return result
    }

    private func finish(_ builder: Builder, _ nulls: [Bool]?) throws(ParquetFailure) -> ParquetColumn.Values {
        let present = nulls.map { $0.reduce(0) { $0 + ($1 ? 0 : 1) } } ?? rowCount
        guard count(builder) == present else { throw ParquetFailure(reason: "the pages hold \(count(builder)) values for \(present) rows that are not null") }
        switch builder {
        case .boolean(let v): return .boolean(expand(v, nulls, fill: false))
        case .int32(let v): return .int32(expand(v, nulls, fill: 0))
        case .int64(let v): return .int64(expand(v, nulls, fill: 0))
        case .float(let v): return .float(expand(v, nulls, fill: 0))
        case .double(let v): return .double(expand(v, nulls, fill: 0))
        case .int96(let d, let n): return .int96(days: expand(d, nulls, fill: 0), nanoseconds: expand(n, nulls, fill: 0))
        case .bytes(let v):
            guard let nulls else { return .bytes(v) }
            var spread = ByteValues()
            spread.data = v.data
            spread.offsets.reserveCapacity(nulls.count + 1)
            var next = 0
            for null in nulls {
                if !null { next += 1 }
                spread.offsets.append(v.offsets[next])
            }
            return .bytes(spread)
        case .fixed(let v):
            let w = column.typeLength
            guard let nulls else { return .fixed(data: v, width: w) }
            var spread = [UInt8]()
            spread.reserveCapacity(nulls.count * w)
            var next = 0
            for null in nulls {
                if null { spread.append(contentsOf: repeatElement(0, count: w)) } else { spread.append(contentsOf: v[next * w..<(next + 1) * w]); next += 1 }
            }
            return .fixed(data: spread, width: w)
        }
    }
}

/// Parquet's RLE / bit-packed hybrid encoding of levels and dictionary indices.
enum Hybrid {
    static func decode(_ bytes: UnsafeRawBufferPointer, bitWidth: Int, count: Int) throws(ParquetFailure) -> [UInt8] {
        try decode32(bytes, bitWidth: bitWidth, count: count).map { UInt8(truncatingIfNeeded: $0) }
    }

    /// Definition levels (0: null, 1: present) of a flat optional column; empty when every
    /// value is present (one run of ones: the common case, not spelled out value by value).
    static func levels(_ bytes: UnsafeRawBufferPointer, count: Int) throws(ParquetFailure) -> [UInt8] {
        if let run = singleRun(bytes, count: count) { return run == 1 ? [] : [UInt8](repeating: 0, count: count) }
        return try decode(bytes, bitWidth: 1, count: count)
    }

    /// The value of a 1-bit RLE run that covers all `count` values, if the data is one.
    private static func singleRun(_ bytes: UnsafeRawBufferPointer, count: Int) -> UInt8? {
        var header = 0, shift = 0, i = 0
        while i < bytes.count, shift < 35 {
            let b = bytes[i]
            i += 1
            header |= Int(b & 0x7F) << shift
            if b & 0x80 == 0 {
                guard header & 1 == 0, header >> 1 >= count, i < bytes.count, bytes[i] <= 1 else { return nil }
                return bytes[i]
            }
            shift += 7
        }
        return nil
    }

    static func decode32(_ bytes: UnsafeRawBufferPointer, bitWidth: Int, count: Int) throws(ParquetFailure) -> [UInt32] {
        if bitWidth == 0 { return [UInt32](repeating: 0, count: count) }
        var failure: ParquetFailure?
        let result = [UInt32](unsafeUninitializedCapacity: count) { out, produced in
            produced = 0
            do throws(ParquetFailure) {
                produced = try decode(bytes, bitWidth: bitWidth, into: UnsafeMutableBufferPointer(rebasing: out[0..<count]))
            } catch {
                failure = error
                // Every element is written before a failure can stop the loop midway; zero the rest.
                for k in produced..<count { out[k] = 0 }
                produced = count
            }
        }
        if let failure { throw failure }
        return result
    }

    /// Fills `out` with values; returns how many (all of them).
    private static func decode(_ bytes: UnsafeRawBufferPointer, bitWidth: Int, into out: UnsafeMutableBufferPointer<UInt32>) throws(ParquetFailure) -> Int {
        let count = out.count
        var written = 0
        var i = 0
        let n = bytes.count
        let byteWidth = (bitWidth + 7) / 8
        let mask: UInt64 = (1 << UInt64(bitWidth)) - 1
        defer { for k in written..<count { out[k] = 0 } }
        while written < count {
            guard let header = Varint.read(bytes, &i, limit: 5) else { throw ParquetFailure(reason: "RLE data ends before its \(count) values") }
            if header & 1 == 0 {
                let run = min(header >> 1, count - written)
                guard i + byteWidth <= n else { throw ParquetFailure(reason: "an RLE run is cut off") }
                var value: UInt32 = 0
                for k in 0..<byteWidth { value |= UInt32(bytes[i + k]) << (8 * UInt32(k)) }
                i += byteWidth
                (out.baseAddress! + written).update(repeating: value, count: run)  // safe: run is at most the values left
                written += run
            } else {
                let groups = header >> 1
                // The last group may be cut short once every value is read.
                let available = min(groups * bitWidth, n - i)
                let wanted = min(groups * 8, count - written)
                guard available * 8 >= wanted * bitWidth else { throw ParquetFailure(reason: "bit-packed values are cut off") }
                let end = i + available
                var k0 = 0
                let base = bytes.baseAddress!  // safe: the run is not empty
                if bitWidth <= 8 {
                    // Eight values of up to 8 bits share one 8-byte load.
                    while k0 + 8 <= wanted, i + k0 * bitWidth / 8 + 8 <= n {
                        let word = UInt64(littleEndian: UnsafeRawPointer(base + i + k0 * bitWidth / 8).loadUnaligned(as: UInt64.self))
                        let target = out.baseAddress! + written + k0  // safe: k0 + 8 <= wanted values left in out
                        for j in 0..<8 { target[j] = UInt32(truncatingIfNeeded: (word >> UInt64(j * bitWidth)) & mask) }
                        k0 += 8
                    }
                }
                if bitWidth <= 32 {
                    // Each value read with one unaligned 8-byte load where 8 bytes remain.
                    while k0 < wanted {
                        let bit = k0 * bitWidth
                        guard i + bit / 8 + 8 <= n else { break }
                        let word = UInt64(littleEndian: UnsafeRawPointer(base + i + bit / 8).loadUnaligned(as: UInt64.self))
                        out[written + k0] = UInt32(truncatingIfNeeded: (word >> UInt64(bit % 8)) & mask)
                        k0 += 1
                    }
                }
                var buffer: UInt64 = 0
                var bits = 0
                var p = i + k0 * bitWidth / 8
                if k0 * bitWidth % 8 != 0 {
                    buffer = UInt64(p < end ? bytes[p] : 0) >> UInt64(k0 * bitWidth % 8)
                    bits = 8 - k0 * bitWidth % 8
                    p += 1
                }
                for k in k0..<wanted {
                    if bits < bitWidth {
                        if p + 4 <= end {
                            buffer |= UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: p, as: UInt32.self))) << UInt64(bits)
                            p += 4
                            bits += 32
                        } else {
                            while bits < bitWidth {
                                buffer |= UInt64(p < end ? bytes[p] : 0) << UInt64(bits)
                                p += 1
                                bits += 8
                            }
                        }
                    }
                    out[written + k] = UInt32(truncatingIfNeeded: buffer & mask)
                    buffer >>= UInt64(bitWidth)
                    bits -= bitWidth
                }
                written += wanted
                i = end
            }
        }
        return written
    }
}

/// `body` over the bytes of `array`, keeping the typed error (`withUnsafeBytes` rethrows untyped).
func withBytes<T>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ParquetFailure) -> T) throws(ParquetFailure) -> T {
    let result: Result<T, ParquetFailure> = array.withUnsafeBytes { bytes in
        do throws(ParquetFailure) { return .success(try body(bytes)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// Whole numbers stored as offsets from their smallest value (or 0) in 1, 2, 4 or 8 bytes:
/// a decoded INT32 or INT64 chunk kept at the size its values need, so that a file's
/// decoded columns take about half the memory while the cube is built.
final class NarrowIntegers: @unchecked Sendable {
    // Immutable after init; read by the threads that load from it.
    let count: Int
    let base: Int64
    let width: PackedColumn.Width
    let minimum: Int64
    let maximum: Int64
    private let raw: UnsafeMutableRawPointer
    /// The buffer this chunk is a stretch of; nil when the chunk owns `raw`.
    private let owner: ColumnBuffer?

    /// Rows `start..<start + count` of a column buffer the decoder wrote in place.
    init(view buffer: ColumnBuffer, from start: Int, count: Int) {
        self.count = count
        base = buffer.base
        minimum = buffer.base
        maximum = buffer.maximum
        width = buffer.width
        raw = buffer.raw + start * buffer.width.rawValue
        owner = buffer
    }

    init<T: FixedWidthInteger & SignedInteger>(_ values: [T]) {
        var lo: Int64 = 0, hi: Int64 = 0
        for v in values {
            lo = Swift.min(lo, Int64(v))
            hi = Swift.max(hi, Int64(v))
        }
        count = values.count
        base = lo
        minimum = lo
        maximum = hi
        owner = nil
        width = PackedColumn.Width.fitting(UInt64(bitPattern: hi &- lo))
        raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, values.count * width.rawValue), alignment: 8)
        let base = lo
        func fill<S: FixedWidthInteger & UnsignedInteger>(_ type: S.Type) {
            let target = raw.bindMemory(to: S.self, capacity: values.count)
            values.withUnsafeBufferPointer { v in
                for k in 0..<v.count { target[k] = S(truncatingIfNeeded: UInt64(bitPattern: Int64(v[k]) &- base)) }
            }
        }
        switch width {
        case .one: fill(UInt8.self)
        case .two: fill(UInt16.self)
        case .four: fill(UInt32.self)
        case .eight: fill(UInt64.self)
        }
    }

    deinit { if owner == nil { raw.deallocate() } }

    subscript(_ i: Int) -> Int64 {
        precondition(i >= 0 && i < count, "row out of range")  // safe: rows come from the chunk's own count
        switch width {
        case .one: return base &+ Int64(raw.load(fromByteOffset: i, as: UInt8.self))
        case .two: return base &+ Int64(raw.load(fromByteOffset: i * 2, as: UInt16.self))
        case .four: return base &+ Int64(raw.load(fromByteOffset: i * 4, as: UInt32.self))
        case .eight: return base &+ Int64(bitPattern: raw.load(fromByteOffset: i * 8, as: UInt64.self))
        }
    }

    /// Calls `body` with every value in order, read at the stored width.
    @inline(__always)
    func forEach(_ body: (Int64) -> Void) {
        func run<S: FixedWidthInteger & UnsignedInteger>(_ type: S.Type) {
            let values = UnsafeBufferPointer(start: raw.assumingMemoryBound(to: S.self), count: count)
            for v in values { body(base &+ Int64(truncatingIfNeeded: UInt64(v))) }
        }
        switch width {
        case .one: run(UInt8.self)
        case .two: run(UInt16.self)
        case .four: run(UInt32.self)
        case .eight: run(UInt64.self)
        }
    }
}

extension ParquetColumn {
    /// The chunk with INT32 and INT64 values of whole-number meanings narrowed.
    func narrowed(_ meaning: ParquetMetadata.Meaning) -> ParquetColumn {
        switch meaning {
        case .integer, .decimal, .date, .timestamp: break
        default: return self
        }
        switch values {
        case .int32(let v): return ParquetColumn(values: .integers(NarrowIntegers(v)), nulls: nulls)
        case .int64(let v): return ParquetColumn(values: .integers(NarrowIntegers(v)), nulls: nulls)
        default: return self
        }
    }
}

/// Parquet's DELTA_BINARY_PACKED integers: blocks of miniblocks, each a bit width and
/// deltas packed at it, added to a minimum delta and the value before (wrapping, as written).
enum Delta {
    private static func uleb(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws(ParquetFailure) -> UInt64 {
        guard let v = Varint.read(bytes, &offset, limit: 10) else { throw ParquetFailure(reason: "a DELTA header is cut off") }
        return UInt64(truncatingIfNeeded: v)
    }

    private static func zigzag(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws(ParquetFailure) -> Int64 {
        let v = try uleb(bytes, &offset)
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// `n` values from `offset`, which moves past them.
    static func integers(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int, _ n: Int) throws(ParquetFailure) -> [Int64] {
        let blockSize = try uleb(bytes, &offset)
        let miniblocks = try uleb(bytes, &offset)
        let total = try uleb(bytes, &offset)
        var value = try zigzag(bytes, &offset)
        guard blockSize > 0, blockSize <= 1 << 20, miniblocks > 0, miniblocks <= blockSize, blockSize % miniblocks == 0,
              (blockSize / miniblocks) % 8 == 0 else {
            throw ParquetFailure(reason: "a DELTA header has a block of \(blockSize) values in \(miniblocks) miniblocks")
        }
        guard total >= UInt64(n) else { throw ParquetFailure(reason: "a DELTA run holds \(total) values where the page needs \(n)") }
        let perMiniblock = Int(blockSize / miniblocks)
        var result = [Int64]()
        result.reserveCapacity(n)
        if n > 0 { result.append(value) }
        // Every block is read, even past the values the page needs, so `offset` ends after the run.
        var remaining = Int(total) - 1
        while remaining > 0 {
            let minDelta = try zigzag(bytes, &offset)
            guard offset + Int(miniblocks) <= bytes.count else { throw ParquetFailure(reason: "a DELTA block is cut off") }
            let widths = (0..<Int(miniblocks)).map { Int(bytes[offset + $0]) }
            offset += Int(miniblocks)
            for width in widths {
                guard remaining > 0 else { break }
                guard width <= 64 else { throw ParquetFailure(reason: "a DELTA miniblock is \(width) bits wide") }
                let size = perMiniblock * width / 8
                guard offset + size <= bytes.count else { throw ParquetFailure(reason: "a DELTA miniblock is cut off") }
                var bit = 0
                for _ in 0..<min(perMiniblock, remaining) {
                    var delta: UInt64 = 0
                    if width > 0 {
                        // Up to 64 bits spread over at most 9 bytes, least significant first.
                        var got = 0
                        while got < width {
                            let byte = UInt64(bytes[offset + (bit + got) / 8])
                            let shift = (bit + got) % 8
                            let take = min(8 - shift, width - got)
                            delta |= ((byte >> UInt64(shift)) & ((1 << UInt64(take)) - 1)) << UInt64(got)
                            got += take
                        }
                    }
                    bit += width
                    value = value &+ minDelta &+ Int64(bitPattern: delta)
                    if result.count < n { result.append(value) }
                    remaining -= 1
                }
                offset += size
            }
        }
        return result
    }
}

/// Unsigned LEB128 integers (Parquet's RLE headers, DELTA headers, Snappy's length).
enum Varint {
    /// The integer at `offset` in at most `limit` bytes, moving `offset` past it; nil when cut off or longer.
    @inline(__always)
    static func read(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int, limit: Int) -> Int? {
        var result: UInt64 = 0, shift: UInt64 = 0
        for _ in 0..<limit {
            guard offset < bytes.count else { return nil }
            let b = bytes[offset]
            offset += 1
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return Int(truncatingIfNeeded: result) }
            shift += 7
        }
        return nil
    }
}

/// A whole column's packed values, written in place by the decoder chunk by chunk: offsets
/// from `base` at a width chosen from the footer's min/max statistics. The cube's packed
/// column and the decoded chunks share it, so the values are written once.
final class ColumnBuffer: @unchecked Sendable {
    // Each decoding task writes only its own rows; read only after every task is done.
    let raw: UnsafeMutableRawPointer
    let count: Int
    let width: PackedColumn.Width
    let base: Int64
    let maximum: Int64

    /// Room for `count` values in `range` (widened to take 0, the value at null rows).
    init(count: Int, range: ClosedRange<Int64>) {
        self.count = count
        base = min(0, range.lowerBound)
        maximum = max(0, range.upperBound)
        width = PackedColumn.Width.fitting(UInt64(bitPattern: maximum &- base))
        raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, count * width.rawValue), alignment: 8)
    }

    deinit { raw.deallocate() }

    /// Writes a decoded chunk's values at row `start`; false when one lies outside the
    /// statistics' range (the chunk is then kept on its own).
    func write(_ values: ParquetColumn.Values, at start: Int) -> Bool {
        switch values {
        case .int32(let v): return write(v, at: start)
        case .int64(let v): return write(v, at: start)
        default: return false
        }
    }

    private func write<T: FixedWidthInteger & SignedInteger>(_ values: [T], at start: Int) -> Bool {
        guard start + values.count <= count else { return false }
        let lo = base, hi = maximum
        func fill<S: FixedWidthInteger & UnsignedInteger>(_ type: S.Type) -> Bool {
            let target = raw.assumingMemoryBound(to: S.self) + start
            return values.withUnsafeBufferPointer { v in
                var inRange = true
                for k in 0..<v.count {
                    let x = Int64(v[k])
                    inRange = inRange && x >= lo && x <= hi
                    target[k] = S(truncatingIfNeeded: UInt64(bitPattern: x &- lo))
                }
                return inRange
            }
        }
        switch width {
        case .one: return fill(UInt8.self)
        case .two: return fill(UInt16.self)
        case .four: return fill(UInt32.self)
        case .eight: return fill(UInt64.self)
        }
    }
}
