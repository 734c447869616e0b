/// Appends little-endian values to a byte array: the snapshot's metadata section.
struct SnapshotEncoder {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func int(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func optionalString(_ s: String?) {
        if let s {
            u8(1)
            string(s)
        } else {
            u8(0)
        }
    }

    mutating func strings(_ list: [String]) {
        int(list.count)
        for s in list { string(s) }
    }

    mutating func int32s(_ list: [Int32]) {
        int(list.count)
        for v in list { u32(UInt32(bitPattern: v)) }
    }
}

/// Reads what `SnapshotEncoder` wrote, checking every length against the bytes left, so a
/// damaged section is an error, never a read out of bounds.
struct SnapshotDecoder {
    /// A section that does not decode; `what` says which part.
    struct Corrupt: Error {
        let what: String
    }

    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset == bytes.count }

    private mutating func take(_ n: Int, _ what: String) throws(Corrupt) -> Int {
        guard n >= 0, n <= bytes.count - offset else { throw Corrupt(what: what) }
        defer { offset += n }
        return offset
    }

    mutating func u8(_ what: String) throws(Corrupt) -> UInt8 {
        bytes[try take(1, what)]
    }

    mutating func u32(_ what: String) throws(Corrupt) -> UInt32 {
        let at = try take(4, what)
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }

    mutating func u64(_ what: String) throws(Corrupt) -> UInt64 {
        let at = try take(8, what)
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    }

    mutating func int(_ what: String) throws(Corrupt) -> Int {
        let v = Int64(bitPattern: try u64(what))
        guard v >= Int64(Int.min), v <= Int64(Int.max) else { throw Corrupt(what: what) }
        return Int(v)
    }

    /// A count of items, each at least `itemSize` bytes, that must fit in the bytes left.
    mutating func count(_ what: String, itemSize: Int) throws(Corrupt) -> Int {
        let n = try int(what)
        guard n >= 0, n <= (bytes.count - offset) / max(1, itemSize) else { throw Corrupt(what: what) }
        return n
    }

    mutating func string(_ what: String) throws(Corrupt) -> String {
        let n = Int(try u32(what))
        let at = try take(n, what)
        return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[at..<(at + n)]), as: UTF8.self) }
    }

    mutating func optionalString(_ what: String) throws(Corrupt) -> String? {
        switch try u8(what) {
        case 0: return nil
        case 1: return try string(what)
        default: throw Corrupt(what: what)
        }
    }

    mutating func strings(_ what: String) throws(Corrupt) -> [String] {
        let n = try count(what, itemSize: 4)
        var list: [String] = []
        list.reserveCapacity(n)
        for _ in 0..<n { list.append(try string(what)) }
        return list
    }

    /// `n` bytes as they are.
    mutating func raw(_ n: Int, _ what: String) throws(Corrupt) -> [UInt8] {
        let at = try take(n, what)
        return Array(bytes[at..<(at + n)])
    }

    mutating func int32s(_ what: String) throws(Corrupt) -> [Int32] {
        let n = try count(what, itemSize: 4)
        let at = try take(n * 4, what)
        return [Int32](unsafeUninitializedCapacity: n) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                for i in 0..<n { buffer[i] = Int32(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + i * 4, as: UInt32.self))) }
            }
            initialized = n
        }
    }
}
