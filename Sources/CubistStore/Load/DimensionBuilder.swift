import CubistCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds one dimension's dictionaries from records (of a dimension table, or of the
/// fact file for inline dimensions): interns members level by level, checks that every
/// member has one parent and one label, then sorts each level into natural order.
final class DimensionBuilder {
    struct LevelState {
        let name: String
        let column: String
        let keyColumn: String?
        let labelField: Int
        let keyField: Int?
        var interner = ByteInterner()
        var labels: [String] = []
        var parents: [Int32] = []
        var firstLines: [Int32] = []
    }

    let name: String
    private var levels: [LevelState]
    private var attributes: [LevelState]
    /// For each attribute, the attribute member of each (provisional) leaf member.
    private var leafAttributes: [[Int32]]

    init(name: String, levels: [LevelState], attributes: [LevelState]) {
        self.name = name
        self.levels = levels
        self.attributes = attributes
        self.leafAttributes = Array(repeating: [], count: attributes.count)
    }

    /// A builder that starts with the members of `dimension` (an inline dimension being
    /// appended to): each member's provisional id is its code, so `finish`'s remap takes old
    /// codes to new ones. The dimension's data attributes are `attributes`, in order;
    /// members taken from it are marked as first seen "in the cube" (line -1).
    init(seededWith dimension: Dimension, levels: [LevelState], attributes: [LevelState]) {
        name = dimension.name
        var levels = levels
        for l in levels.indices {
            let level = dimension.levels[l]
            for code in 0..<level.count {
                let identity = level.keys?[code] ?? level.members[code]
                levels[l].interner.intern(identity)
            }
            levels[l].labels = level.members
            levels[l].parents = l == 0 ? [Int32](repeating: -1, count: level.count) : level.parents
            levels[l].firstLines = [Int32](repeating: -1, count: level.count)
        }
        var attributes = attributes
        var maps: [[Int32]] = []
        for a in attributes.indices {
            guard let index = dimension.attributes.firstIndex(where: { $0.name == attributes[a].name }) else {
                preconditionFailure("seeded attribute not in the dimension")  // safe: the caller builds the states from this dimension's own attributes
            }
            let level = dimension.attributes[index]
            for member in level.members { attributes[a].interner.intern(member) }
            attributes[a].labels = level.members
            attributes[a].firstLines = [Int32](repeating: -1, count: level.count)
            maps.append(dimension.leafToAttribute[index])
        }
        self.levels = levels
        self.attributes = attributes
        leafAttributes = maps
    }

    /// Where a member was first seen, for messages: a line of the file, or the cube.
    private static func seen(_ line: Int32) -> String {
        line < 0 ? "in the cube" : "at line \(line)"
    }

    /// Adds the members named by the current record; returns the provisional leaf id.
    /// `newLeaf`, when given, is the id of a leaf member known to be new (keyed by the
    /// dimension table's key, already checked unique): the leaf level's dictionary is then
    /// the caller's key dictionary (`shareLeafKeys`), not hashed a second time.
    func add<R: RecordReader>(_ reader: R, newLeaf: Int32? = nil) throws(Diagnostic) -> Int32 {
        var parent: Int32 = -1
        let last = levels.count - 1
        for l in levels.indices {
            let identityField = levels[l].keyField ?? levels[l].labelField
            let (id, inserted): (Int32, Bool)
            if l == last, let newLeaf {
                precondition(Int(newLeaf) == levels[l].labels.count, "a new leaf out of order")  // safe: the caller's key dictionary and this level both gain one member per row
                (id, inserted) = (newLeaf, true)
            } else {
                (id, inserted) = levels[l].interner.intern(reader.field(identityField))
            }
            if inserted {
                levels[l].labels.append(try reader.string(levels[l].labelField))
                levels[l].parents.append(parent)
                levels[l].firstLines.append(Int32(truncatingIfNeeded: reader.recordLine))
            } else {
                let i = Int(id)
                if levels[l].keyField != nil, !levels[l].labels[i].utf8.elementsEqual(reader.field(levels[l].labelField)) {
                    let label = (try? reader.string(levels[l].labelField)) ?? "?"
                    throw reader.error(at: levels[l].labelField,
                                       "\(levels[l].name) with key '\(levels[l].interner.bytesText(i))' is labelled '\(label)' here but '\(levels[l].labels[i])' \(DimensionBuilder.seen(levels[l].firstLines[i]))",
                                       help: "a key names one member: give it the same \(levels[l].column) on every row")
                }
                if l > 0, levels[l].parents[i] != parent {
                    let above = levels[l - 1]
                    let was = above.labels[Int(levels[l].parents[i])]
                    let now = above.labels[Int(parent)]
                    throw reader.error(at: levels[l].labelField,
                                       "\(levels[l].name) '\(levels[l].labels[i])' is under \(above.name) '\(now)' here but under '\(was)' \(DimensionBuilder.seen(levels[l].firstLines[i]))",
                                       help: "each member has one parent; if these are different members that share a name, give level '\(levels[l].name)' a \"key\" column")
                }
            }
            parent = id
        }
        let leaf = parent
        for a in attributes.indices {
            let (id, inserted) = attributes[a].interner.intern(reader.field(attributes[a].labelField))
            if inserted {
                attributes[a].labels.append(try reader.string(attributes[a].labelField))
                attributes[a].firstLines.append(Int32(truncatingIfNeeded: reader.recordLine))
            }
            if leafAttributes[a].count == Int(leaf) {
                leafAttributes[a].append(id)
            } else if leafAttributes[a][Int(leaf)] != id {
                let was = attributes[a].labels[Int(leafAttributes[a][Int(leaf)])]
                throw reader.error(at: attributes[a].labelField,
                                   "\(levels[levels.count - 1].name) '\(levels[levels.count - 1].labels[Int(leaf)])' has \(attributes[a].name) '\(attributes[a].labels[Int(id)])' here but '\(was)' \(levels[levels.count - 1].firstLines[Int(leaf)] < 0 ? "in the cube" : "on an earlier row")",
                                   help: "an attribute has one value per member of the leaf level")
            }
        }
        return leaf
    }

    /// Makes `keys` the leaf level's dictionary: the members `add` was told were new, in the
    /// same order.
    func shareLeafKeys(_ keys: ByteInterner) {
        levels[levels.count - 1].interner = keys
    }

    /// Number of distinct leaf members so far.
    var leafCount: Int { levels[levels.count - 1].labels.count }

    /// Sorts every level into natural order; returns the dimension and, for each provisional
    /// leaf id, its final leaf code.
    /// A keyed level keeps its members' keys (`Level.keys`) when `keepKeys` is set (inline
    /// dimensions, which APPEND extends; a dimension table keeps its keys in a `KeyTable`).
    func finish(source: Dimension.Source, keepKeys: Bool = false) -> (Dimension, [Int32]) {
        var remaps: [[Int32]] = []
        var orders: [MemberOrder] = []
        var sortedLabels: [[String]] = []
        var sortedKeys: [[String]?] = []
        for state in levels {
            let (order, remap, labels) = DimensionBuilder.sort(state)
            remaps.append(remap)
            orders.append(order)
            sortedLabels.append(labels)
            if keepKeys, state.keyField != nil {
                var keys = [String](repeating: "", count: remap.count)
                for (provisional, code) in remap.enumerated() { keys[Int(code)] = state.interner.bytesText(provisional) }
                sortedKeys.append(keys)
            } else {
                sortedKeys.append(nil)
            }
        }
        var built: [Level] = []
        for (l, state) in levels.enumerated() {
            var parents: [Int32] = []
            if l > 0 {
                parents = [Int32](repeating: 0, count: state.labels.count)
                for (provisional, parent) in state.parents.enumerated() {
                    parents[Int(remaps[l][provisional])] = remaps[l - 1][Int(parent)]
                }
            }
            built.append(Level(name: state.name, column: state.column, keyColumn: state.keyColumn,
                               members: sortedLabels[l], parents: parents, order: orders[l], keys: sortedKeys[l]))
        }
        var builtAttributes: [Level] = []
        var leafToAttribute: [[Int32]] = []
        let leafRemap = remaps[levels.count - 1]
        for (a, state) in attributes.enumerated() {
            let (order, remap, labels) = DimensionBuilder.sort(state)
            builtAttributes.append(Level(name: state.name, column: state.column, keyColumn: nil, members: labels, parents: [], order: order))
            var map = [Int32](repeating: 0, count: leafRemap.count)
            for (leaf, attribute) in leafAttributes[a].enumerated() {
                map[Int(leafRemap[leaf])] = remap[Int(attribute)]
            }
            leafToAttribute.append(map)
        }
        let dimension = Dimension(name: name, source: source, levels: built, attributes: builtAttributes, leafToAttribute: leafToAttribute)
        return (dimension, leafRemap)
    }

    /// Natural order of one level's members: numeric when every label is a number, else by
    /// code point; members with equal labels (keyed levels) by key in the same manner.
    private static func sort(_ state: LevelState) -> (MemberOrder, [Int32], [String]) {
        let numeric = !state.labels.isEmpty && state.labels.allSatisfy { FieldParser.decimal(of: $0) != nil }
        let order: MemberOrder = numeric ? .numeric : .text
        let labels = SortKeys(state.labels.map { Array($0.utf8) }, numeric: numeric)
        var identities: SortKeys?
        if state.keyField != nil {
            let keys = (0..<state.labels.count).map { Array(state.interner.bytesText($0).utf8) }
            identities = SortKeys(keys, numeric: keys.allSatisfy { FieldParser.decimal(of: String(decoding: $0, as: UTF8.self)) != nil })
        }
        var sorted = Array(0..<state.labels.count)
        labels.withComparator { byLabel in
            if let identities {
                identities.withComparator { byKey in
                    sorted.sort { a, b in
                        let c = byLabel(a, b)
                        return c != 0 ? c < 0 : byKey(a, b) < 0
                    }
                }
            } else {
                sorted.sort { byLabel($0, $1) < 0 }
            }
        }
        var remap = [Int32](repeating: 0, count: sorted.count)
        for (code, provisional) in sorted.enumerated() { remap[provisional] = Int32(code) }
        return (order, remap, sorted.map { state.labels[$0] })
    }
}

/// Members' sort keys laid out for sorting without reference counting: every key's bytes in
/// one buffer, and its number when the level is numeric. Compares as `MemberKey` does.
private struct SortKeys {
    var bytes: [UInt8] = []
    var offsets: [Int] = [0]
    var numbers: [ScaledDecimal?]

    init(_ keys: [[UInt8]], numeric: Bool) {
        for key in keys {
            bytes.append(contentsOf: key)
            offsets.append(bytes.count)
        }
        numbers = numeric ? keys.map { FieldParser.decimal(of: String(decoding: $0, as: UTF8.self)) } : []
    }

    /// Calls `body` with a comparison of keys `a` and `b`: negative, zero or positive.
    func withComparator(_ body: ((Int, Int) -> Int) -> Void) {
        bytes.withUnsafeBufferPointer { b in
            offsets.withUnsafeBufferPointer { o in
                numbers.withUnsafeBufferPointer { numbers in
                    let base = b.baseAddress
                    body { x, y in
                        if !numbers.isEmpty, let p = numbers[x], let q = numbers[y], p != q { return p < q ? -1 : 1 }
                        let lx = o[x + 1] - o[x], ly = o[y + 1] - o[y]
                        let n = min(lx, ly)
                        let c = n == 0 ? 0 : Int(memcmp(base! + o[x], base! + o[y], n))  // safe: n > 0 means the buffer holds both keys
                        return c != 0 ? c : lx - ly
                    }
                }
            }
        }
    }
}

extension ByteInterner {
    /// The bytes of an id as text (for messages and key ordering).
    func bytesText(_ id: Int) -> String {
        String(decoding: bytes(id), as: UTF8.self)
    }
}

/// Builds the time dimension from the day numbers found in the fact file: whole calendar
/// years, levels year > quarter > month > day, attributes weekday and month_of_year.
enum TimeDimensionBuilder {
    static func build(name: String, column: String, minimumDay: Int32, maximumDay: Int32) -> Dimension {
        let firstYear = CivilDate.civil(Int(minimumDay)).year
        let lastYear = CivilDate.civil(Int(maximumDay)).year
        let firstDay = CivilDate.dayNumber(year: firstYear, month: 1, day: 1)
        let lastDay = CivilDate.dayNumber(year: lastYear, month: 12, day: 31)
        // Years are four digits, like the days' ISO dates (0999, not 999).
        let years = (firstYear...lastYear).map { CivilDate.pad($0, 4) }
        var quarters: [String] = [], quarterParents: [Int32] = []
        var months: [String] = [], monthParents: [Int32] = []
        for (y, year) in (firstYear...lastYear).enumerated() {
            for q in 1...4 {
                quarters.append("\(CivilDate.pad(year, 4))-Q\(q)")
                quarterParents.append(Int32(y))
            }
            for m in 1...12 {
                months.append("\(CivilDate.pad(year, 4))-\(CivilDate.pad(m, 2))")
                monthParents.append(Int32(y * 4 + (m - 1) / 3))
            }
        }
        var days: [String] = [], dayParents: [Int32] = [], weekdays: [Int32] = [], monthsOfYear: [Int32] = []
        days.reserveCapacity(lastDay - firstDay + 1)
        for d in firstDay...lastDay {
            let (y, m, _) = CivilDate.civil(d)
            days.append(CivilDate.isoDate(d))
            dayParents.append(Int32((y - firstYear) * 12 + m - 1))
            weekdays.append(Int32(CivilDate.weekday(d)))
            monthsOfYear.append(Int32(m - 1))
        }
        let levels = [
            Level(name: "year", column: nil, keyColumn: nil, members: years, parents: [], order: .chronological),
            Level(name: "quarter", column: nil, keyColumn: nil, members: quarters, parents: quarterParents, order: .chronological),
            Level(name: "month", column: nil, keyColumn: nil, members: months, parents: monthParents, order: .chronological),
            Level(name: "day", column: column, keyColumn: nil, members: days, parents: dayParents, order: .chronological),
        ]
        let weekday = Level(name: "weekday", column: nil, keyColumn: nil, members: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                            parents: [], order: .chronological)
        // Months of any year side by side: seasonality, this year against last.
        let monthOfYear = Level(name: "month_of_year", column: nil, keyColumn: nil,
                                members: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
                                parents: [], order: .chronological)
        return Dimension(name: name, source: .time(column: column, firstDay: Int32(firstDay)), levels: levels,
                         attributes: [weekday, monthOfYear], leafToAttribute: [weekdays, monthsOfYear])
    }
}
