/// Group numbers by 64-bit group key: an open-addressing hash table with linear probing
/// (keys and values in two flat arrays, at most half full), for grouping whose key space
/// is too large for a dense array. Several times faster than `Dictionary` on the scan's
/// mostly-repeating keys: one multiply to hash, no per-entry allocation, no resilience
/// checks. One index belongs to one worker.
final class KeyIndex {
    private var keys: UnsafeMutablePointer<UInt64>
    /// The group of each slot; -1 marks an empty slot.
    private var values: UnsafeMutablePointer<Int32>
    private var capacity: Int
    private var shift: UInt64
    /// Keys stored.
    private(set) var count = 0

    init(minimumCapacity: Int = 0) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        self.capacity = capacity
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: 0, count: capacity)
        values = .allocate(capacity: capacity)
        values.initialize(repeating: -1, count: capacity)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes the table takes.
    var bytes: Int { capacity * 12 }

    @inline(__always) private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The group of `key`, or nil.
    @inline(__always) func find(_ key: UInt64) -> Int32? {
        var i = slot(key)
        let mask = capacity - 1
        while true {
            let v = values[i]
            if v < 0 { return nil }
            if keys[i] == key { return v }
            i = (i + 1) & mask
        }
    }

    /// The group of `key`; when it has none, `make()` is its group from now on.
    @inline(__always) func group(_ key: UInt64, orInsert make: () -> Int32) -> Int32 {
        var i = slot(key)
        let mask = capacity - 1
        while true {
            let v = values[i]
            if v < 0 { break }
            if keys[i] == key { return v }
            i = (i + 1) & mask
        }
        let g = make()
        keys[i] = key
        values[i] = g
        count += 1
        if count * 2 > capacity { grow() }
        return g
    }

    /// Sets the group of a key not in the table.
    func insert(_ key: UInt64, _ group: Int32) {
        _ = self.group(key) { group }
    }

    private func grow() {
        let oldKeys = keys, oldValues = values, oldCapacity = capacity
        capacity <<= 1
        shift -= 1
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: 0, count: capacity)
        values = .allocate(capacity: capacity)
        values.initialize(repeating: -1, count: capacity)
        let mask = capacity - 1
        for j in 0..<oldCapacity where oldValues[j] >= 0 {
            var i = slot(oldKeys[j])
            while values[i] >= 0 { i = (i + 1) & mask }
            keys[i] = oldKeys[j]
            values[i] = oldValues[j]
        }
        oldKeys.deallocate()
        oldValues.deallocate()
    }
}
