#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
/// How a level's members sort: numbers numerically, text by code point, time chronologically.
public enum MemberOrder: String, Sendable {
    /// By code point (UTF-8 byte order).
    case text
    /// By numeric value.
    case numeric
    /// By date: members are generated in calendar order.
    case chronological
}

/// One level of a hierarchy (or an attribute): a dictionary of members in natural order,
/// with a parent array linking each member to its parent in the level above.
public struct Level: Sendable {
    /// The level's name, e.g. `city`.
    public let name: String
    /// The source column holding member labels (nil for derived time levels).
    public let column: String?
    /// The source column that identifies members when labels repeat, if any.
    public let keyColumn: String?
    /// Member labels; a member's code is its index. Sorted in natural order.
    public let members: [String]
    /// For each member, its parent's code in the level above; empty for the top level and attributes.
    public let parents: [Int32]
    /// The natural order of members.
    public let order: MemberOrder
    /// For a computed attribute (`DEFINE ATTRIBUTE`, or `"computed"` in cube.json), how it
    /// was computed, as source text (`min(time.quarter)`); nil for levels read from data.
    public let definition: String?
    /// Whether it is a computed attribute defined in this session (not in the model or a
    /// snapshot); SHOW DIMENSIONS and DESCRIBE say so.
    public let isSession: Bool
    /// For a keyed level of a dimension read from the fact file, each member's key (the
    /// value of `keyColumn`), by code: APPEND matches new rows' members by it. Nil otherwise.
    public let keys: [String]?

    /// Creates a level.
    public init(name: String, column: String?, keyColumn: String?, members: [String], parents: [Int32], order: MemberOrder,
                definition: String? = nil, isSession: Bool = false, keys: [String]? = nil) {
        self.keys = keys
        self.name = name
        self.column = column
        self.keyColumn = keyColumn
        self.members = members
        self.parents = parents
        self.order = order
        self.definition = definition
        self.isSession = isSession
    }

    /// The member that computed attributes give members without facts.
    public static let noneMember = "(none)"

    /// Whether member `code` is a computed attribute's `(none)`, which no range comparison
    /// (`<`, `>=`, BETWEEN) includes.
    public func isNone(_ code: Int) -> Bool {
        definition != nil && members[code] == Level.noneMember
    }

    /// Number of members.
    public var count: Int { members.count }

    /// The codes of the members labelled `label` (several only for keyed levels).
    public func codes(of label: String) -> Range<Int> {
        let key = MemberKey(label, order: order)
        var lo = 0, hi = members.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if MemberKey(members[mid], order: order) < key { lo = mid + 1 } else { hi = mid }
        }
        var end = lo
        while end < members.count, members[end] == label { end += 1 }
        return lo..<end
    }
}

/// A sort key for member labels in a level's natural order: by number when both are
/// numbers that differ, else by UTF-8 bytes (compared with `memcmp`).
struct MemberKey: Comparable {
    let bytes: [UInt8]
    let number: ScaledDecimal?

    init(_ text: String, order: MemberOrder) {
        bytes = Array(text.utf8)
        number = order == .numeric ? FieldParser.decimal(of: text) : nil
    }

    /// Negative, zero or positive as `a` sorts before, with or after `b`.
    static func compare(_ a: MemberKey, _ b: MemberKey) -> Int {
        if let x = a.number, let y = b.number, x != y { return x < y ? -1 : 1 }
        let n = min(a.bytes.count, b.bytes.count)
        let c = a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n) } }  // safe: memcmp runs only when n > 0, so both buffers are non-empty
        if c != 0 { return Int(c) }
        return a.bytes.count - b.bytes.count
    }

    static func < (a: MemberKey, b: MemberKey) -> Bool { compare(a, b) < 0 }

    static func == (a: MemberKey, b: MemberKey) -> Bool { a.bytes == b.bytes }
}

/// A dimension: a hierarchy of levels (coarsest first) plus flat attributes, with every
/// level's code precomputed for each leaf member so a roll-up is one array lookup.
public struct Dimension: Sendable {
    /// Where a dimension's members come from.
    public enum Source: Sendable, Equatable {
        /// A dimension table joined to the facts on `key`.
        case table(file: String, key: String)
        /// Columns of the fact file itself.
        case inline
        /// Derived from one date column of the fact file.
        case time(column: String, firstDay: Int32)
    }

    /// The dimension's name, e.g. `customer`.
    public let name: String
    /// Where members come from.
    public let source: Source
    /// The hierarchy, coarsest level first; the last level is the leaf.
    public let levels: [Level]
    /// Flat levels outside the hierarchy (e.g. `segment`, `weekday`).
    public let attributes: [Level]
    /// For each level, the level's code of every leaf member.
    public let leafToLevel: [[Int32]]
    /// For each attribute, the attribute's code of every leaf member.
    public let leafToAttribute: [[Int32]]
    /// For a dimension table, every key with the leaf member it names, so APPEND can join
    /// new fact rows to it; nil for other dimensions (and for old snapshots).
    public let keyTable: KeyTable?

    /// A dimension table's keys: key `i` names leaf member `leaves[i]`. Kept as the load's
    /// interner, or (read from a snapshot) as packed bytes whose hash index is built only
    /// when an append needs it, so opening a snapshot does not hash every key.
    public struct KeyTable: Sendable {
        enum Storage: Sendable {
            case interned(ByteInterner)
            case packed(arena: [UInt8], offsets: [Int])
        }
        let storage: Storage
        /// The leaf code of each key.
        public let leaves: [Int32]

        init(interner: ByteInterner, leaves: [Int32]) {
            storage = .interned(interner)
            self.leaves = leaves
        }

        init(arena: [UInt8], offsets: [Int], leaves: [Int32]) {
            storage = .packed(arena: arena, offsets: offsets)
            self.leaves = leaves
        }

        /// Number of keys.
        public var count: Int { leaves.count }

        /// The keys' bytes one after another, and where each starts.
        var packed: (arena: [UInt8], offsets: [Int]) {
            switch storage {
            case .interned(let interner): return interner.packed
            case .packed(let arena, let offsets): return (arena, offsets)
            }
        }

        /// Key `i` as text.
        public func key(_ i: Int) -> String {
            switch storage {
            case .interned(let interner): return String(decoding: interner.bytes(i), as: UTF8.self)
            case .packed(let arena, let offsets): return String(decoding: arena[offsets[i]..<offsets[i + 1]], as: UTF8.self)
            }
        }

        /// The keys' hash index: the load's, or built now; nil when two keys are the same
        /// (a damaged snapshot).
        func interner() -> ByteInterner? {
            switch storage {
            case .interned(let interner): return interner
            case .packed(let arena, let offsets):
                var interner = ByteInterner(capacity: count)
                let unique = arena.withUnsafeBufferPointer { bytes in
                    (0..<count).allSatisfy { i in interner.intern(UnsafeBufferPointer(rebasing: bytes[offsets[i]..<offsets[i + 1]])).inserted }
                }
                return unique ? interner : nil
            }
        }

        /// Bytes held, for the memory figures.
        var byteCount: Int {
            switch storage {
            case .interned(let interner): return interner.byteCount + leaves.count * 4
            case .packed(let arena, let offsets): return arena.count + offsets.count * 8 + leaves.count * 4
            }
        }
    }

    /// Creates a dimension; `leafToLevel` is derived from the parent arrays.
    public init(name: String, source: Source, levels: [Level], attributes: [Level], leafToAttribute: [[Int32]], keyTable: KeyTable? = nil) {
        self.keyTable = keyTable
        self.name = name
        self.source = source
        self.levels = levels
        self.attributes = attributes
        self.leafToAttribute = leafToAttribute
        var maps = [[Int32]](repeating: [], count: levels.count)
        if let leaf = levels.last {
            maps[levels.count - 1] = (0..<leaf.count).map { Int32($0) }
            var l = levels.count - 1
            while l > 0 {
                let parents = levels[l].parents
                maps[l - 1] = maps[l].map { parents[Int($0)] }
                l -= 1
            }
        }
        leafToLevel = maps
    }

    /// The leaf level.
    public var leaf: Level { levels[levels.count - 1] }

    /// The same dimension with its dimension table's keys.
    func with(keyTable: KeyTable) -> Dimension {
        Dimension(name: name, source: source, levels: levels, attributes: attributes, leafToAttribute: leafToAttribute, keyTable: keyTable)
    }

    /// The same dimension with other attributes (and their leaf maps).
    public func with(attributes: [Level], leafToAttribute: [[Int32]]) -> Dimension {
        Dimension(name: name, source: source, levels: levels, attributes: attributes, leafToAttribute: leafToAttribute, keyTable: keyTable)
    }

    /// Whether this is a time dimension.
    public var isTime: Bool {
        if case .time = source { return true }
        return false
    }

    /// A level or attribute by name (case-insensitive).
    public func level(named name: String) -> (level: Level, isAttribute: Bool, index: Int)? {
        let lower = name.lowercased()
        if let i = levels.firstIndex(where: { $0.name.lowercased() == lower }) { return (levels[i], false, i) }
        if let i = attributes.firstIndex(where: { $0.name.lowercased() == lower }) { return (attributes[i], true, i) }
        return nil
    }
}
