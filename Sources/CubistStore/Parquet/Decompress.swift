import CInflate
import CZstd

/// Page decompression for Parquet's codecs: Snappy (raw blocks, written here), GZIP through
/// zlib and ZSTD through libzstd. Each call knows the uncompressed size from the page header
/// and fails on anything else — a short or long result, a bad offset — with a reason.
enum Decompress {
    struct Failure: Error {
        let reason: String
        /// The codec is one Cubist does not read (the data need not be corrupt).
        var unsupported = false
    }

    /// Decompresses `input` with `codec` (parquet.thrift numbering) into exactly `size` bytes.
    static func page(_ input: UnsafeBufferPointer<UInt8>, codec: Int64, size: Int) throws(Failure) -> [UInt8] {
        switch codec {
        case 0:
            guard input.count == size else { throw Failure(reason: "an uncompressed page of \(input.count) bytes should hold \(size)") }
            return Array(input)
        case 1: return try snappy(input, size: size)
        case 2: return try gzip(input, size: size)
        case 6: return try zstd(input, size: size)
        default:
            throw Failure(reason: "pages compressed with \(ParquetMetadata.codecName(codec)) cannot be read; Cubist reads uncompressed, snappy, gzip and zstd", unsupported: true)
        }
    }

    /// Snappy's raw format: a varint length, then literals and back-references.
    static func snappy(_ input: UnsafeBufferPointer<UInt8>, size: Int) throws(Failure) -> [UInt8] {
        var i = 0
        let n = input.count
        guard let length = Varint.read(UnsafeRawBufferPointer(input), &i, limit: 5) else { throw Failure(reason: "the Snappy block has no length") }
        guard length == size else { throw Failure(reason: "the Snappy block holds \(length) bytes where the page header says \(size)") }
        // A Snappy copy tag of 3 bytes yields at most 64: a larger claim is damage, not data.
        guard size <= n * 22 + 64 else { throw Failure(reason: "the Snappy block claims \(size) bytes from \(n)") }
        var output = [UInt8](repeating: 0, count: size)
        var o = 0
        try output.withUnsafeMutableBufferPointer { (out) throws(Failure) in
            while i < n {
                let tag = input[i]
                i += 1
                switch tag & 3 {
                case 0:
                    var literal = Int(tag >> 2)
                    if literal >= 60 {
                        let extra = literal - 59
                        guard i + extra <= n else { throw Failure(reason: "a Snappy literal length is cut off") }
                        literal = 0
                        for k in 0..<extra { literal |= Int(input[i + k]) << (8 * k) }
                        i += extra
                    }
                    literal += 1
                    guard i + literal <= n, o + literal <= size else { throw Failure(reason: "a Snappy literal runs past the end") }
                    (out.baseAddress! + o).update(from: input.baseAddress! + i, count: literal)  // safe: both ranges were checked just above
                    i += literal
                    o += literal
                    continue
                case 1:
                    guard i < n else { throw Failure(reason: "a Snappy copy is cut off") }
                    let count = 4 + Int((tag >> 2) & 7)
                    let offset = Int(tag >> 5) << 8 | Int(input[i])
                    i += 1
                    try copy(out, &o, offset, count, size)
                case 2:
                    guard i + 2 <= n else { throw Failure(reason: "a Snappy copy is cut off") }
                    let offset = Int(input[i]) | Int(input[i + 1]) << 8
                    i += 2
                    try copy(out, &o, offset, Int(tag >> 2) + 1, size)
                default:
                    guard i + 4 <= n else { throw Failure(reason: "a Snappy copy is cut off") }
                    let offset = Int(input[i]) | Int(input[i + 1]) << 8 | Int(input[i + 2]) << 16 | Int(input[i + 3]) << 24
                    i += 4
                    try copy(out, &o, offset, Int(tag >> 2) + 1, size)
                }
            }
        }
        guard o == size else { throw Failure(reason: "the Snappy block ends after \(o) of \(size) bytes") }
        return output
    }

    @inline(__always)
    private static func copy(_ out: UnsafeMutableBufferPointer<UInt8>, _ o: inout Int, _ offset: Int, _ count: Int, _ size: Int) throws(Failure) {
        guard offset > 0, offset <= o, o + count <= size else { throw Failure(reason: "a Snappy copy points outside the block") }
        if offset >= count {
            (out.baseAddress! + o).update(from: out.baseAddress! + o - offset, count: count)  // safe: source and target were checked and do not overlap
        } else {
            for k in 0..<count { out[o + k] = out[o + k - offset] }
        }
        o += count
    }

    /// A gzip (or zlib) stream, inflated through zlib.
    static func gzip(_ input: UnsafeBufferPointer<UInt8>, size: Int) throws(Failure) -> [UInt8] {
        // Deflate expands at most 1,032 times.
        guard size <= input.count * 1032 + 64 else { throw Failure(reason: "the gzip data claims \(size) bytes from \(input.count)") }
        var output = [UInt8](repeating: 0, count: max(1, size))
        var stream = z_stream()
        // 15 + 32: a gzip or zlib header, detected.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var status: Int32 = Z_OK
        var produced = 0
        output.withUnsafeMutableBufferPointer { out in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)  // safe: zlib only reads the input
            stream.avail_in = UInt32(input.count)
            stream.next_out = out.baseAddress
            stream.avail_out = UInt32(size)
            // A page may hold several gzip members back to back.
            while true {
                status = inflate(&stream, Z_FINISH)
                if status == Z_STREAM_END, stream.avail_in > 0, stream.avail_out > 0 {
                    inflateReset(&stream)
                    continue
                }
                break
            }
            produced = size - Int(stream.avail_out)
        }
        guard status == Z_STREAM_END || (status == Z_BUF_ERROR && produced == size && stream.avail_in == 0) else {
            throw Failure(reason: "the gzip data is corrupt (zlib: \(stream.msg.map { String(cString: $0) } ?? "status \(status)"))")
        }
        guard produced == size else { throw Failure(reason: "the gzip data holds \(produced) bytes where the page header says \(size)") }
        if size == 0 { return [] }
        return output
    }

    /// A Zstandard frame (or frames), through libzstd.
    static func zstd(_ input: UnsafeBufferPointer<UInt8>, size: Int) throws(Failure) -> [UInt8] {
        let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        // ZSTD_CONTENTSIZE_ERROR: not a zstd frame at all.
        if declared == UInt64.max - 1 { throw Failure(reason: "the page is not zstd data") }
        if declared < UInt64.max - 1, declared > UInt64(size) { throw Failure(reason: "the zstd frame holds \(declared) bytes where the page header says \(size)") }
        var result = 0
        // Not zero-filled first: libzstd writes every byte, or fails.
        let output = [UInt8](unsafeUninitializedCapacity: max(1, size)) { out, count in
            result = ZSTD_decompress(out.baseAddress, size, input.baseAddress, input.count)
            count = ZSTD_isError(result) == 0 && result == size ? size : 0
        }
        if ZSTD_isError(result) != 0 {
            throw Failure(reason: "the zstd data is corrupt (\(String(cString: ZSTD_getErrorName(result))))")
        }
        guard result == size else { throw Failure(reason: "the zstd data holds \(result) bytes where the page header says \(size)") }
        return output
    }
}
