import CubistCore
import CubistSyntax
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Snapshot {
    /// Reads the snapshot at `path`. Data blocks are read and checksummed in parallel on
    /// up to `threads` threads. A file that is not a snapshot, is of another version, is
    /// truncated or fails a checksum is a diagnostic naming the file.
    public static func load(_ path: String, threads: Int = 0) throws(Diagnostic) -> Cube {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw Diagnostic(file: path, message: "cannot open snapshot: \(String(cString: strerror(errno)).lowercased())")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw Diagnostic(file: path, message: "cannot read snapshot: \(String(cString: strerror(errno)).lowercased())")
        }
        let size = Int(info.st_size)
        let resave = "the file is damaged; SAVE the cube again from its source data"

        // Header.
        guard size >= headerSize else {
            if size >= 8, (try? readBytes(fd, at: 0, count: 8)) != magic {
                throw notSnapshot(path)
            }
            throw Diagnostic(file: path, message: "snapshot is truncated: \(size) bytes, shorter than its 64-byte header", help: resave)
        }
        let head = try readBytes(fd, at: 0, count: headerSize, path: path)
        guard Array(head[0..<8]) == magic else { throw notSnapshot(path) }
        var h = SnapshotDecoder(head)
        do {
            _ = try h.u64("magic")
            let fileVersion = try h.u32("version")
            let mark = try h.u32("byte order")
            let metaLength = try h.int("meta length")
            let metaChecksum = try h.u64("meta checksum")
            let dataOffset = try h.int("data offset")
            let fileLength = try h.int("file length")
            _ = try h.u64("reserved")
            let headerChecksum = try h.u64("header checksum")
            guard Checksum.of(Array(head[0..<56])) == headerChecksum else {
                throw Diagnostic(file: path, message: "snapshot is corrupt: the header fails its checksum", help: resave)
            }
            guard (1...version).contains(fileVersion) else {
                throw Diagnostic(file: path, message: "snapshot version \(fileVersion) is not supported; this cubist reads versions 1 to \(version)",
                                 help: "open the cube's source data (directory, cube.json or .csv) and SAVE a new snapshot")
            }
            guard mark == byteOrderMark else {
                throw Diagnostic(file: path, message: "snapshot was written on a machine of another byte order",
                                 help: "open the cube's source data and SAVE a new snapshot on this machine")
            }
            guard size >= fileLength else {
                throw Diagnostic(file: path, message: "snapshot is truncated: \(size) bytes of \(fileLength)",
                                 help: "the file was cut short (an interrupted copy or save?); copy it again or SAVE it again")
            }
            guard metaLength >= 0, metaLength <= fileLength, dataOffset >= headerSize + metaLength, dataOffset <= fileLength,
                  dataOffset == aligned(headerSize + metaLength) else {
                throw Diagnostic(file: path, message: "snapshot is corrupt: its length (\(size) bytes) does not match its header", help: resave)
            }
            var meta = try readBytes(fd, at: headerSize, count: dataOffset - headerSize, path: path)
            guard Checksum.of(meta) == metaChecksum else {
                throw Diagnostic(file: path, message: "snapshot is corrupt: the model and dictionaries fail their checksum", help: resave)
            }
            meta.removeLast(meta.count - metaLength)
            var d = SnapshotDecoder(meta)
            // A version 3 snapshot may be followed by the journal of its appends.
            guard size == fileLength || fileVersion >= 3 else {
                throw Diagnostic(file: path, message: "snapshot is corrupt: its length (\(size) bytes) does not match its header", help: resave)
            }
            let base = try decode(&d, version: fileVersion, fd: fd, dataOffset: dataOffset, dataLength: fileLength - dataOffset, path: path,
                                  threads: threads)
            let (segments, end) = try readJournal(fd, from: fileLength, size: size, baseChecksum: headerChecksum, path: path)
            var cube = base
            var recompute: [(dimension: String, attribute: Level)] = []
            if !segments.isEmpty {
                // The segments are appended together: the snapshot's own rows are copied once.
                do {
                    let appended = try CubeLoader.append(segments.map { ($0.bytes, $0.name) }, to: cube, threads: threads)
                    recompute = appended.recompute
                    cube = appended.cube
                } catch {
                    throw Diagnostic(file: path, message: "the journal of \(segments.count) append\(segments.count == 1 ? "" : "s") does not replay: \(error.rendered)",
                                     help: "open the snapshot with the cubist that appended to it and SAVE it again")
                }
            }
            // Computed attributes depend on every row: computed again after the replay.
            let pending = recompute.compactMap { CubeLoader.computedSpec(of: $0.attribute, in: $0.dimension, file: path) }
            cube.pendingAttributes = pending
            return cube.marked(Cube.SnapshotMark(path: canonicalPath(path), end: end, size: size, segments: segments.count))
        } catch let corrupt as SnapshotDecoder.Corrupt {
            throw Diagnostic(file: path, message: "snapshot is corrupt: bad \(corrupt.what)", help: resave)
        } catch let diagnostic as Diagnostic {
            throw diagnostic
        } catch {
            throw Diagnostic(file: path, message: "snapshot is corrupt: \(error)", help: resave)
        }
    }

    private static func notSnapshot(_ path: String) -> Diagnostic {
        Diagnostic(file: path, message: "not a Cubist snapshot (it does not start with CUBISTSN)",
                   help: "snapshots are written by SAVE 'file.cube'; to open source data, name a cube directory, a cube.json or a .csv file")
    }

    static func readBytes(_ fd: Int32, at offset: Int, count: Int, path: String = "") throws(Diagnostic) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBytes { readFully(fd, into: $0.baseAddress, count: count, at: offset) }
        guard ok else { throw Diagnostic(file: path, message: "cannot read snapshot: \(String(cString: strerror(errno)).lowercased())") }
        return bytes
    }

    private static func readFully(_ fd: Int32, into target: UnsafeMutableRawPointer?, count: Int, at offset: Int) -> Bool {
        guard count > 0, let target else { return true }
        var done = 0
        while done < count {
            let n = pread(fd, target + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 {
                errno = EIO
                return false
            }
            done += n
        }
        return true
    }

    private struct BlockEntry {
        let offset: Int
        let length: Int
        let checksum: UInt64
    }

    private struct ColumnEntry {
        let width: PackedColumn.Width
        let block: Int
    }

    /// A level or attribute; version 1 snapshots have no attribute definitions.
    private static func level(_ d: inout SnapshotDecoder, version: UInt32) throws(SnapshotDecoder.Corrupt) -> Level {
        let name = try d.string("level name")
        let column = try d.optionalString("level column")
        let key = try d.optionalString("level key")
        guard let order = MemberOrder(rawValue: try d.string("member order")) else { throw .init(what: "member order") }
        let members = try d.strings("members")
        let parents = try d.int32s("parent array")
        let definition = version >= 2 ? try d.optionalString("attribute definition") : nil
        var keys: [String]?
        if version >= 3 {
            switch try d.u8("key flag") {
            case 0: break
            case 1:
                let list = try d.strings("level keys")
                guard list.count == members.count, key != nil else { throw .init(what: "keys of level '\(name)'") }
                keys = list
            default: throw .init(what: "key flag")
            }
        }
        return Level(name: name, column: column, keyColumn: key, members: members, parents: parents, order: order, definition: definition, keys: keys)
    }

    private static func width(_ d: inout SnapshotDecoder) throws(SnapshotDecoder.Corrupt) -> PackedColumn.Width {
        guard let w = PackedColumn.Width(rawValue: Int(try d.u8("column width"))) else { throw .init(what: "column width") }
        return w
    }

    private static func expression(_ text: String, _ what: String) throws(SnapshotDecoder.Corrupt) -> Expr {
        do { return try Parser.parseExpression(text) } catch { throw .init(what: what) }
    }

    private static func decode(_ d: inout SnapshotDecoder, version: UInt32, fd: Int32, dataOffset: Int, dataLength: Int, path: String,
                               threads: Int) throws -> Cube {
        let name = try d.string("cube name")
        let ignored = try d.strings("ignored columns")
        var dateFormats: [String: String] = [:]
        var appendedFiles: [UInt64: String] = [:]
        if version >= 3 {
            let names = try d.strings("date format dimensions")
            let patterns = try d.strings("date formats")
            guard names.count == patterns.count else { throw SnapshotDecoder.Corrupt(what: "date formats") }
            for (n, p) in zip(names, patterns) { dateFormats[n] = p }
            let appendedNames = try d.strings("appended files")
            for name in appendedNames { appendedFiles[try d.u64("appended file checksum")] = name }
        }
        var dimensions: [Dimension] = []
        let dimensionCount = try d.count("dimension count", itemSize: 8)
        for _ in 0..<dimensionCount {
            let dimensionName = try d.string("dimension name")
            let source: Dimension.Source
            switch try d.u8("dimension source") {
            case 0: source = .table(file: try d.string("dimension table"), key: try d.string("dimension key"))
            case 1: source = .inline
            case 2: source = .time(column: try d.string("time column"), firstDay: Int32(bitPattern: try d.u32("first day")))
            default: throw SnapshotDecoder.Corrupt(what: "dimension source")
            }
            var levels: [Level] = []
            for _ in 0..<(try d.count("level count", itemSize: 8)) { levels.append(try level(&d, version: version)) }
            var attributes: [Level] = []
            for _ in 0..<(try d.count("attribute count", itemSize: 8)) { attributes.append(try level(&d, version: version)) }
            var maps: [[Int32]] = []
            for _ in attributes { maps.append(try d.int32s("attribute map")) }
            // Every code must point into its dictionary before Dimension derives its maps.
            guard let leaf = levels.last else { throw SnapshotDecoder.Corrupt(what: "dimension '\(dimensionName)' (no levels)") }
            for (i, l) in levels.enumerated() {
                let above = i == 0 ? 0 : levels[i - 1].count
                guard i == 0 ? l.parents.isEmpty : (l.parents.count == l.count && l.parents.allSatisfy { $0 >= 0 && Int($0) < above }) else {
                    throw SnapshotDecoder.Corrupt(what: "parent array of level '\(l.name)'")
                }
            }
            for (a, map) in zip(attributes, maps) where map.count != leaf.count || !map.allSatisfy({ $0 >= 0 && Int($0) < a.count }) {
                throw SnapshotDecoder.Corrupt(what: "attribute map of '\(a.name)'")
            }
            var keyTable: Dimension.KeyTable?
            if version >= 3 {
                switch try d.u8("key table flag") {
                case 0: break
                case 1:
                    // Keys stay packed; their hash index is built when an append needs it.
                    let lengths = try d.int32s("key lengths")
                    let total = try d.int("key bytes")
                    var offsets = [Int](repeating: 0, count: lengths.count + 1)
                    for (i, n) in lengths.enumerated() {
                        guard n >= 0 else { throw SnapshotDecoder.Corrupt(what: "key lengths of dimension '\(dimensionName)'") }
                        offsets[i + 1] = offsets[i] + Int(n)
                    }
                    guard total == offsets[lengths.count] else { throw SnapshotDecoder.Corrupt(what: "key bytes of dimension '\(dimensionName)'") }
                    let arena = try d.raw(total, "key bytes")
                    let leaves = try d.int32s("key leaves")
                    guard leaves.count == lengths.count, leaves.allSatisfy({ $0 >= 0 && Int($0) < leaf.count }) else {
                        throw SnapshotDecoder.Corrupt(what: "keys of dimension '\(dimensionName)'")
                    }
                    keyTable = Dimension.KeyTable(arena: arena, offsets: offsets, leaves: leaves)
                default: throw SnapshotDecoder.Corrupt(what: "key table flag")
                }
            }
            dimensions.append(Dimension(name: dimensionName, source: source, levels: levels, attributes: attributes, leafToAttribute: maps, keyTable: keyTable))
        }
        var measures: [Measure] = []
        for _ in 0..<(try d.count("measure count", itemSize: 8)) {
            let measureName = try d.string("measure name")
            let format = try d.optionalString("measure format").map { text throws(SnapshotDecoder.Corrupt) -> MeasureFormat in
                guard let f = MeasureFormat(rawValue: text) else { throw .init(what: "measure format") }
                return f
            }
            let text = try d.string("measure source")
            let definition: Measure.Definition
            switch try d.u8("measure kind") {
            case 1: definition = .expression(try expression(try d.string("measure expression"), "expression of measure '\(measureName)'"))
            case 0:
                guard let aggregate = Aggregate(rawValue: try d.string("aggregate")) else { throw SnapshotDecoder.Corrupt(what: "aggregate") }
                let input: Measure.Input
                switch try d.u8("measure input") {
                case 0: input = .rows
                case 1: input = .column(try d.string("measure column"))
                case 2: input = .dimension(try d.string("measure dimension"))
                case 3: input = .level(dimension: try d.string("measure dimension"), level: try d.string("measure level"))
                case 4: input = .row(try expression(try d.string("row expression"), "row expression of measure '\(measureName)'"))
                default: throw SnapshotDecoder.Corrupt(what: "measure input")
                }
                definition = .aggregate(aggregate, input)
            default: throw SnapshotDecoder.Corrupt(what: "measure kind")
            }
            measures.append(Measure(name: measureName, definition: definition, format: format, source: text))
        }
        // Every size read from the file is checked before any arithmetic on it: rows are
        // numbered with 32-bit integers, so a crafted count cannot overflow a product.
        let rowCount = try d.int("row count")
        guard rowCount >= 0, rowCount <= Int(Int32.max) else { throw SnapshotDecoder.Corrupt(what: "row count") }
        var codeColumns: [ColumnEntry] = []
        let codeCount = try d.count("fact column count", itemSize: 9)
        guard codeCount == dimensions.count else { throw SnapshotDecoder.Corrupt(what: "fact column count") }
        for _ in 0..<codeCount { codeColumns.append(ColumnEntry(width: try width(&d), block: try d.int("block index"))) }
        var numeric: [(name: String, scale: Int, base: Int64, column: ColumnEntry, nulls: Int?)] = []
        for _ in 0..<(try d.count("numeric column count", itemSize: 8)) {
            let columnName = try d.string("numeric column name")
            let scale = try d.int("scale")
            guard (0...18).contains(scale) else { throw SnapshotDecoder.Corrupt(what: "scale of '\(columnName)'") }
            let base = Int64(bitPattern: try d.u64("base"))
            let entry = ColumnEntry(width: try width(&d), block: try d.int("block index"))
            var nulls: Int?
            switch try d.u8("null flag") {
            case 0: break
            case 1: nulls = try d.int("block index")
            default: throw SnapshotDecoder.Corrupt(what: "null flag")
            }
            numeric.append((columnName, scale, base, entry, nulls))
        }
        var blocks: [BlockEntry] = []
        var next = 0   // blocks tile the data region, so every byte of the file is checked
        for _ in 0..<(try d.count("block count", itemSize: 24)) {
            let entry = BlockEntry(offset: try d.int("block offset"), length: try d.int("block length"), checksum: try d.u64("block checksum"))
            guard entry.offset >= 0, entry.length >= 0, entry.offset % alignment == 0, entry.offset <= dataLength,
                  entry.length <= dataLength - entry.offset, aligned(entry.length) <= dataLength - entry.offset, entry.offset == next else {
                throw SnapshotDecoder.Corrupt(what: "block table")
            }
            next += aligned(entry.length)
            blocks.append(entry)
        }
        guard next == dataLength else { throw SnapshotDecoder.Corrupt(what: "block table") }
        guard d.atEnd else { throw SnapshotDecoder.Corrupt(what: "metadata length") }
        // Each block is used once, with the length its column needs.
        var expected = [Int?](repeating: nil, count: blocks.count)
        func claim(_ block: Int, _ length: Int, _ what: String) throws(SnapshotDecoder.Corrupt) {
            guard block >= 0, block < blocks.count, expected[block] == nil, blocks[block].length == length else { throw .init(what: what) }
            expected[block] = length
        }
        for (c, dim) in zip(codeColumns, dimensions) { try claim(c.block, rowCount * c.width.rawValue, "codes of dimension '\(dim.name)'") }
        for n in numeric {
            try claim(n.column.block, rowCount * n.column.width.rawValue, "column '\(n.name)'")
            if let b = n.nulls { try claim(b, (rowCount + 63) / 64 * 8, "null bitmap of '\(n.name)'") }
        }
        guard !expected.contains(where: { $0 == nil }) else { throw SnapshotDecoder.Corrupt(what: "block table") }

        // Read and check every block in parallel, straight into the columns' storage.
        let memory = blocks.map { UnsafeMutableRawPointer.allocate(byteCount: max(1, aligned($0.length)), alignment: 8) }
        var status = [Int32](repeating: 0, count: blocks.count)   // 0 ok, 1 checksum, else errno
        status.withUnsafeMutableBufferPointer { status in
            let work = { (i: Int) in
                let b = blocks[i]
                // The block and its zero padding are read and checked together.
                guard readFully(fd, into: memory[i], count: aligned(b.length), at: dataOffset + b.offset) else {
                    status[i] = errno == 0 ? EIO : errno
                    return
                }
                if Checksum.of(UnsafeRawBufferPointer(start: memory[i], count: aligned(b.length))) != b.checksum { status[i] = 1 }
            }
            Parallel.forEach(blocks.count, threads: threads, work)
        }
        if let bad = status.firstIndex(where: { $0 != 0 }) {
            for m in memory { m.deallocate() }
            if status[bad] == 1 {
                throw Diagnostic(file: path, message: "snapshot is corrupt: data block \(bad + 1) of \(blocks.count) fails its checksum",
                                 help: "the file is damaged; SAVE the cube again from its source data")
            }
            throw Diagnostic(file: path, message: "cannot read snapshot: \(String(cString: strerror(status[bad])).lowercased())")
        }
        // Bitmaps are arrays; copy them out and free their blocks. Columns adopt their blocks.
        var owned = Set(blocks.indices)
        var codes: [PackedColumn] = []
        for (c, dim) in zip(codeColumns, dimensions) {
            let column = PackedColumn(adopting: memory[c.block], count: rowCount, width: c.width)
            owned.remove(c.block)
            guard rowCount == 0 || column.maximum < UInt64(dim.leaf.count) else {
                for b in owned { memory[b].deallocate() }
                throw Diagnostic(file: path, message: "snapshot is corrupt: a code of dimension '\(dim.name)' has no member",
                                 help: "the file is damaged; SAVE the cube again from its source data")
            }
            codes.append(column)
        }
        var numericColumns: [NumericColumn] = []
        for n in numeric {
            let packed = PackedColumn(adopting: memory[n.column.block], count: rowCount, width: n.column.width)
            owned.remove(n.column.block)
            var bitmap: Bitmap?
            if let b = n.nulls {
                let wordCount = (rowCount + 63) / 64
                let words = Array(UnsafeBufferPointer(start: memory[b].assumingMemoryBound(to: UInt64.self), count: wordCount))
                memory[b].deallocate()
                owned.remove(b)
                bitmap = Bitmap(words: words, count: rowCount)
            }
            numericColumns.append(NumericColumn(name: n.name, scale: n.scale, base: n.base, packed: packed, nulls: bitmap))
        }
        let facts = FactTable(rowCount: rowCount, dimensionCodes: codes, numericColumns: numericColumns)
        var cube = Cube(name: name, dimensions: dimensions, measures: measures, facts: facts, origin: path, ignoredColumns: ignored)
        cube.dateFormats = dateFormats
        cube.appendedFiles = appendedFiles
        return cube
    }
}
