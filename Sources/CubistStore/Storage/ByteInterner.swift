/// Maps byte strings to dense ids `0, 1, 2, …` in first-seen order, without allocating a
/// String per lookup. Open addressing over a power-of-two table of ids.
public struct ByteInterner {
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

    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        return h ^ (h >> 29)
    }

    @inline(__always)
    private func equals(_ id: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = offsets[id]
        let length = offsets[id + 1] - start
        guard length == bytes.count else { return false }
        return arena.withUnsafeBufferPointer { a in
            var i = 0
            while i < length {
                if a[start + i] != bytes[i] { return false }
                i += 1
            }
            return true
        }
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
    public func bytes(_ id: Int) -> ArraySlice<UInt8> {
        arena[offsets[id]..<offsets[id + 1]]
    }
}
