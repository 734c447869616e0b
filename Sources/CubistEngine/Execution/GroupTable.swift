import CubistCore
import CubistStore
import Dispatch

/// Groups of one grouping: the key codes of each group (one per grouping level) and the
/// aggregate states. Built by the scan at the finest grouping; coarser groupings (subtotals,
/// totals, crosstab margins, parents for `share`) are reductions of it.
final class GroupTable {
    /// The grouping levels.
    let levels: [LevelRef]
    /// Key codes, `levels.count` per group.
    private(set) var keys: [Int32] = []
    /// Number of groups.
    private(set) var count = 0
    /// One accumulator per aggregate of the plan.
    var accumulators: [Accumulator]
    private var lookup: [[Int32]: Int]?
    /// For tables built by a scan: each group's mixed-radix key, for a fast merge.
    var composites: [UInt64]?
    /// For tables built by a dense scan: the group of each mixed-radix key (-1: none), so
    /// a merge matches groups by array lookups.
    var denseIndex: [Int32]?

    init(levels: [LevelRef], accumulators: [Accumulator]) {
        self.levels = levels
        self.accumulators = accumulators
    }

    /// A table of `count` groups without grouping levels (the inner groups of a per-member
    /// aggregate), for evaluating measure expressions over them.
    init(count: Int, accumulators: [Accumulator]) {
        self.levels = []
        self.accumulators = accumulators
        self.count = count
    }

    /// The key codes of group `g`.
    func key(_ g: Int) -> [Int32] {
        let k = levels.count
        return Array(keys[(g * k)..<(g * k + k)])
    }

    /// Code of grouping level `j` for group `g`.
    func code(_ g: Int, _ j: Int) -> Int32 { keys[g * levels.count + j] }

    /// Adds a group with the given key; returns its index.
    @discardableResult
    func append(_ key: [Int32]) -> Int {
        keys += key
        count += 1
        lookup?[key] = count - 1
        return count - 1
    }

    /// Adds a group whose key is the mixed-radix number `c` (digits `radix`, most
    /// significant last); returns its index. No array is made for the key.
    func append(composite c: UInt64, radix: [UInt64]) -> Int {
        let k = radix.count
        keys.append(contentsOf: repeatElement(0, count: k))
        var rest = c
        for j in stride(from: k - 1, through: 0, by: -1) {
            keys[count * k + j] = Int32(rest / radix[j])
            rest %= radix[j]
        }
        count += 1
        if lookup != nil { lookup?[key(count - 1)] = count - 1 }
        return count - 1
    }

    /// The group with this key, if any.
    func group(_ key: [Int32]) -> Int? {
        if lookup == nil {
            var l: [[Int32]: Int] = [:]
            l.reserveCapacity(count)
            for g in 0..<count { l[self.key(g)] = g }
            lookup = l
        }
        return lookup?[key]
    }

    /// Merges another table of the same grouping (a worker's partial result) into this one.
    func absorb(_ other: GroupTable) {
        var map = [Int32](repeating: -1, count: other.count)
        if composites != nil, let theirs = other.composites, denseIndex != nil {
            // Both came from dense scans: match groups through the key-indexed array
            // (taken out of the properties while growing, so it is not copied).
            var mine = composites!, index = denseIndex!  // safe: both were checked non-nil in the condition above
            composites = nil
            denseIndex = nil
            for g in 0..<other.count {
                let c = Int(theirs[g])
                var t = index[c]
                if t < 0 {
                    t = Int32(append(other.key(g)))
                    index[c] = t
                    mine.append(theirs[g])
                }
                map[g] = t
            }
            composites = mine
            denseIndex = index
        } else if var mine = composites, let theirs = other.composites {
            // Both came from scans: match groups by their 64-bit keys, no arrays hashed.
            let index = KeyIndex(minimumCapacity: mine.count + theirs.count)
            for (g, c) in mine.enumerated() { index.insert(c, Int32(g)) }
            for g in 0..<other.count {
                map[g] = index.group(theirs[g]) {
                    mine.append(theirs[g])
                    return Int32(append(other.key(g)))
                }
            }
            composites = mine
        } else {
            composites = nil
            denseIndex = nil
            for g in 0..<other.count {
                let key = other.key(g)
                map[g] = Int32(group(key) ?? append(key))
            }
        }
        for (a, b) in zip(accumulators, other.accumulators) {
            a.resize(count)
            a.absorb(b, map: map)
        }
    }

    /// A coarser grouping: keeps the grouping levels at `positions` (each possibly mapped to
    /// an ancestor level by `lift`), merging the groups `include` accepts.
    func reduced(positions: [Int], levels newLevels: [LevelRef]? = nil, lift: ((Int, Int32) -> Int32)? = nil,
                 include: ((Int) -> Bool)? = nil) -> (table: GroupTable, map: [Int32]) {
        let out = GroupTable(levels: newLevels ?? positions.map { levels[$0] }, accumulators: [])
        var map = [Int32](repeating: -1, count: count)
        if positions.isEmpty {
            // The grand total: every included group goes to the one group.
            out.append([])
            for g in 0..<count where include?(g) ?? true { map[g] = 0 }
            out.accumulators = accumulators.map { $0.reduced(map: map, count: 1) }
            return (out, map)
        }
        var index: [[Int32]: Int32] = [:]
        for g in 0..<count where include?(g) ?? true {
            let key = positions.map { j in lift.map { $0(j, code(g, j)) } ?? code(g, j) }
            if let t = index[key] {
                map[g] = t
            } else {
                let t = Int32(out.append(key))
                index[key] = t
                map[g] = t
            }
        }
        if positions.isEmpty, out.count == 0 { out.append([]) }
        out.accumulators = accumulators.map { $0.reduced(map: map, count: out.count) }
        return (out, map)
    }
}

/// The grand total of a grouping (one group), reduced only when something asks for it
/// (`share(m)`, crosstab margins): reducing per-member or kept-value states is not free.
final class TotalGroup {
    private let source: GroupTable?
    private var made: GroupTable?

    /// The total of `table`'s groups, made on first use.
    init(of table: GroupTable) { source = table }

    /// A table that is its own total (one group already).
    init(table: GroupTable) {
        source = nil
        made = table
    }

    var table: GroupTable {
        if let made { return made }
        let t = (source ?? GroupTable(count: 1, accumulators: [])).reduced(positions: []).table
        made = t
        return t
    }
}
