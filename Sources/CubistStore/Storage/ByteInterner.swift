#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Maps byte strings to dense ids `0, 1, 2, …` in first-seen order, without allocating a
/// String per lookup. Open addressing over a power-of-two table of ids.
public struct ByteInterner: Sendable {
    private var arena: [UInt8] = []
    private var offsets: [Int] = [0]
    private var hashes: [UInt64] = []
    private var table: [Int32]
    private var mask: Int

    /// Creates an empty interner.
    public init(capacity: Int = 64) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        table = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// Number of distinct byte strings seen.
    public var count: Int { hashes.count }

    /// A 64-bit hash taking 8 bytes at a time (a multiply-xorshift mix, finished like
    /// splitmix64): members and keys are short, and a byte-at-a-time hash was a fifth of
    /// building a large dimension.
    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let n = bytes.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            var i = 0
            while i + 8 <= n {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
                h ^= h >> 31
                i += 8
            }
            if i < n {
                var tail: UInt64 = 0
                var shift: UInt64 = 0
                while i < n {
                    tail |= UInt64(base[i]) << shift
                    shift += 8
                    i += 1
                }
                h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
            }
        }
        h ^= h >> 30
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 27
        h = h &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }

    @inline(__always)
    private func equals(_ id: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = offsets[id]
        let length = offsets[id + 1] - start
        guard length == bytes.count else { return false }
        if length == 0 { return true }
        return arena.withUnsafeBufferPointer { a in memcmp(a.baseAddress! + start, bytes.baseAddress!, length) == 0 }  // safe: both hold length bytes
    }

    /// The id of `bytes`, if seen.
    public func find(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        let h = ByteInterner.hash(bytes)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let id = table[slot]
            if id < 0 { return nil }
            if hashes[Int(id)] == h, equals(Int(id), bytes) { return id }
            slot = (slot + 1) & mask
        }
    }

    /// The id of `bytes`, adding it when new; `inserted` tells which.
    public mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> (id: Int32, inserted: Bool) {
        let h = ByteInterner.hash(bytes)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let id = table[slot]
            if id < 0 { break }
            if hashes[Int(id)] == h, equals(Int(id), bytes) { return (id, false) }
            slot = (slot + 1) & mask
        }
        let id = Int32(hashes.count)
        table[slot] = id
        hashes.append(h)
        arena.append(contentsOf: bytes)
        offsets.append(arena.count)
        if hashes.count * 2 > table.count { grow() }
        return (id, true)
    }

    private mutating func grow() {
        let size = table.count * 2
        table = [Int32](repeating: -1, count: size)
        mask = size - 1
        for (id, h) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: h) & mask
            while table[slot] >= 0 { slot = (slot + 1) & mask }
            table[slot] = Int32(id)
        }
    }

    /// The bytes of id `id`.
    /// All keys' bytes one after another, and where each starts (one more offset than keys).
    var packed: (arena: [UInt8], offsets: [Int]) { (arena, offsets) }

    /// Bytes held by the keys, their offsets and hashes, and the hash table.
    var byteCount: Int { arena.count + offsets.count * 8 + hashes.count * 8 + table.count * 4 }

    /// Interns the UTF-8 bytes of `text`.
    @discardableResult
    mutating func intern(_ text: String) -> (id: Int32, inserted: Bool) {
        var copy = text
        return copy.withUTF8 { intern($0) }
    }

    public func bytes(_ id: Int) -> ArraySlice<UInt8> {
        arena[offsets[id]..<offsets[id + 1]]
    }
}
