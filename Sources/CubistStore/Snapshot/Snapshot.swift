import CubistCore
import CubistSyntax
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Binary snapshots of a loaded cube (`SAVE 'file.cube'`), read back in bulk.
///
/// Layout, all integers little-endian (the format is described in `docs/storage.md`):
///
///     header   64 bytes: "CUBISTSN", version u32, byte-order mark u32 (0x01020304),
///              meta length u64, meta checksum u64, data offset u64, file length u64,
///              reserved u64, header checksum u64 (of the 56 bytes before it)
///     meta     cube name, ignored columns, dimensions (levels with members and
///              parent arrays, attributes), measures (definitions as source text), the
///              fact columns' descriptions, and a table of data blocks: offset, length,
///              checksum of each
///     data     the fact columns' bytes exactly as they sit in memory (leaf codes, packed
///              measure offsets, null bitmaps), each block 64-byte aligned
///
/// Reading checks the header, the meta checksum and every block's checksum (blocks are read
/// and checked in parallel), then validates every code against its dictionary, so a
/// truncated, damaged or foreign file is a clear error and never a crash or a wrong answer.
public enum Snapshot {
    /// The first eight bytes of every snapshot.
    public static let magic: [UInt8] = Array("CUBISTSN".utf8)
    /// The format version this build writes and reads.
    public static let version: UInt32 = 3
    static let byteOrderMark: UInt32 = 0x0102_0304
    static let headerSize = 64
    static let alignment = 64

    /// Whether the file at `path` has a snapshot's header: the magic and a header whose
    /// checksum holds (any version). A CSV whose first column happens to be named
    /// `CUBISTSN...` is not taken for one.
    public static func isSnapshot(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: headerSize)
        let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, headerSize, 0) }
        guard n == headerSize, Array(head[0..<8]) == magic else { return false }
        var stored: UInt64 = 0
        for i in 0..<8 { stored |= UInt64(head[56 + i]) << (8 * UInt64(i)) }
        return Checksum.of(Array(head[0..<56])) == stored
    }

    static func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// The checksum of `bytes` followed by zeros up to `length` (default: the next multiple
    /// of 64), so a damaged padding byte is caught like any other.
    static func paddedChecksum(_ bytes: UnsafeRawBufferPointer, to length: Int? = nil) -> UInt64 {
        let total = length ?? aligned(bytes.count)
        if total == bytes.count { return Checksum.of(bytes) }
        let padded = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 8)
        defer { padded.deallocate() }
        padded.initializeMemory(as: UInt8.self, repeating: 0)
        if bytes.count > 0 { padded.copyMemory(from: bytes) }
        return Checksum.of(UnsafeRawBufferPointer(padded))
    }

    // MARK: writing

    /// Writes `cube` to `path`: to a temporary file in the same directory first, synced and
    /// then renamed over `path`, so a crash mid-save never leaves a half-written snapshot
    /// or destroys the one already there. Returns the number of bytes written.
    ///
    /// What is at `path` is checked first: a symbolic link is followed to its target (a
    /// dangling one is refused); a directory, device, FIFO or socket is refused; the cube's
    /// own source files are always refused; any other existing file is replaced only when
    /// it is a Cubist snapshot, or when `overwrite` is set. A replaced file keeps its
    /// permissions and, where allowed, its owner.
    @discardableResult
    public static func save(_ cube: Cube, to path: String, overwrite: Bool = false) throws(Diagnostic) -> Int {
        try save(cube, to: path, overwrite: overwrite, formatVersion: version)
    }

    /// `save` in an older format version (the tests write version 1 to check it still reads).
    @discardableResult
    static func save(_ cube: Cube, to path: String, overwrite: Bool, formatVersion: UInt32) throws(Diagnostic) -> Int {
        let target = try saveTarget(cube, path, overwrite: overwrite)
        var blocks: [Block] = []
        let meta = encodeMeta(cube, version: formatVersion, blocks: &blocks)
        return try write(meta: meta, version: formatVersion, blocks: blocks, to: target.path, shownAs: path, keeping: target.existing)
    }

    /// Where a save writes, and the mode and owner of the file it replaces.
    struct SaveTarget {
        var path: String
        var existing: (mode: mode_t, uid: uid_t, gid: gid_t)?
    }

    static func saveTarget(_ cube: Cube, _ path: String, overwrite: Bool) throws(Diagnostic) -> SaveTarget {
        var resolved = path
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK {
            guard let real = realpath(path, nil) else {
                throw Diagnostic(file: path, message: "is a symbolic link to a file that does not exist",
                                 help: "save to the link's target path, or remove the link first")
            }
            resolved = String(cString: real)
            free(real)
        }
        guard stat(resolved, &info) == 0 else { return SaveTarget(path: resolved, existing: nil) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR:
            throw Diagnostic(file: path, message: "is a directory, not a file",
                             help: "name the snapshot file, e.g. SAVE '\(path.hasSuffix("/") ? path : path + "/")\(cube.name).cube'")
        case S_IFIFO:
            throw Diagnostic(file: path, message: "is a FIFO, not a file; a snapshot is written to a regular file", help: "name a file, e.g. SAVE '\(cube.name).cube'")
        case S_IFCHR, S_IFBLK:
            throw Diagnostic(file: path, message: "is a device, not a file; a snapshot is written to a regular file", help: "name a file, e.g. SAVE '\(cube.name).cube'")
        default:
            throw Diagnostic(file: path, message: "is not a regular file", help: "name a file, e.g. SAVE '\(cube.name).cube'")
        }
        let canonical = canonicalPath(resolved)
        if cube.sourceFiles.contains(where: { canonicalPath($0) == canonical }) {
            throw Diagnostic(file: path, message: "is one of the cube's own source files; SAVE never writes over them",
                             help: "save the snapshot beside them, e.g. SAVE '\(cube.name).cube'")
        }
        if !overwrite && !isSnapshot(resolved) {
            throw Diagnostic(file: path, message: "exists and is not a Cubist snapshot; SAVE replaces only snapshots",
                             help: "name another file, or write SAVE '\(path)' OVERWRITE to replace it")
        }
        return SaveTarget(path: resolved, existing: (info.st_mode & 0o7777, info.st_uid, info.st_gid))
    }

    /// The absolute path with links resolved (the path itself when it cannot be).
    static func canonicalPath(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    /// Removes temporary files that saves of processes no longer running left in `directory`.
    static func removeStaleTemporaries(in directory: String) {
        guard let dir = opendir(directory.isEmpty ? "/" : directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            // .cubist-save-PID-N.tmp
            guard name.hasPrefix(".cubist-save-"), name.hasSuffix(".tmp") else { continue }
            let parts = name.dropFirst(13).dropLast(4).split(separator: "-")
            guard parts.count == 2, let pid = Int32(parts[0]), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink((directory.isEmpty ? "" : directory + "/") + name)
            }
        }
    }


    /// One data block to write: a column's storage, or a null bitmap's words.
    private enum Block {
        case column(PackedColumn)
        case words([UInt64])

        var count: Int {
            switch self {
            case .column(let c): return c.byteCount
            case .words(let w): return w.count * 8
            }
        }

        func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
            switch self {
            case .column(let c): return withExtendedLifetime(c) { body(c.bytes) }
            case .words(let w): return w.withUnsafeBytes(body)
            }
        }
    }

    private static func encodeMeta(_ cube: Cube, version: UInt32, blocks: inout [Block]) -> [UInt8] {
        var e = SnapshotEncoder()
        e.string(cube.name)
        e.strings(cube.ignoredColumns)
        if version >= 3 {
            // How text dates were written, so an appended file's are read alike.
            let formats = cube.dateFormats.keys.sorted()
            e.strings(formats)
            e.strings(formats.map { cube.dateFormats[$0]! })  // safe: the keys come from the dictionary
            // The files appended so far, so appending one again is refused after a SAVE too.
            let appended = cube.appendedFiles.keys.sorted()
            e.strings(appended.map { cube.appendedFiles[$0]! })  // safe: the keys come from the dictionary
            for checksum in appended { e.u64(checksum) }
        }
        e.int(cube.dimensions.count)
        for d in cube.dimensions {
            e.string(d.name)
            switch d.source {
            case .table(let file, let key):
                e.u8(0)
                e.string(file)
                e.string(key)
            case .inline:
                e.u8(1)
            case .time(let column, let firstDay):
                e.u8(2)
                e.string(column)
                e.u32(UInt32(bitPattern: firstDay))
            }
            e.int(d.levels.count)
            for l in d.levels { encode(l, version: version, &e) }
            e.int(d.attributes.count)
            for a in d.attributes { encode(a, version: version, &e) }
            for map in d.leafToAttribute { e.int32s(map) }
            if version >= 3 {
                // A dimension table's keys, so APPEND can join new rows to it.
                if let table = d.keyTable {
                    // Each key's length, then all keys' bytes: read back without a String a key.
                    let (arena, offsets) = table.packed
                    e.u8(1)
                    e.int32s((0..<table.count).map { Int32(offsets[$0 + 1] - offsets[$0]) })
                    e.int(arena.count)
                    e.bytes.append(contentsOf: arena[offsets[0]..<offsets[table.count]])
                    e.int32s(table.leaves)
                } else {
                    e.u8(0)
                }
            }
        }
        e.int(cube.measures.count)
        for m in cube.measures {
            e.string(m.name)
            e.optionalString(m.format?.rawValue)
            e.string(m.source)
            switch m.definition {
            case .expression(let expr):
                e.u8(1)
                e.string(expr.description)
            case .aggregate(let aggregate, let input):
                e.u8(0)
                e.string(aggregate.rawValue)
                switch input {
                case .rows: e.u8(0)
                case .column(let c):
                    e.u8(1)
                    e.string(c)
                case .dimension(let d):
                    e.u8(2)
                    e.string(d)
                case .level(let d, let l):
                    e.u8(3)
                    e.string(d)
                    e.string(l)
                case .row(let expr):
                    e.u8(4)
                    e.string(expr.description)
                }
            }
        }
        let facts = cube.facts
        e.int(facts.rowCount)
        e.int(facts.dimensionCodes.count)
        for c in facts.dimensionCodes {
            e.u8(UInt8(c.width.rawValue))
            e.int(blocks.count)
            blocks.append(.column(c))
        }
        e.int(facts.numericColumns.count)
        for c in facts.numericColumns {
            e.string(c.name)
            e.int(c.scale)
            e.u64(UInt64(bitPattern: c.base))
            e.u8(UInt8(c.packed.width.rawValue))
            e.int(blocks.count)
            blocks.append(.column(c.packed))
            if let nulls = c.nulls {
                e.u8(1)
                e.int(blocks.count)
                blocks.append(.words(nulls.words))
            } else {
                e.u8(0)
            }
        }
        // The block table: offsets from the data start, lengths and checksums.
        e.int(blocks.count)
        var offset = 0
        for b in blocks {
            e.int(offset)
            e.int(b.count)
            e.u64(b.withBytes { paddedChecksum($0) })
            offset += aligned(b.count)
        }
        return e.bytes
    }

    private static func encode(_ l: Level, version: UInt32, _ e: inout SnapshotEncoder) {
        e.string(l.name)
        e.optionalString(l.column)
        e.optionalString(l.keyColumn)
        e.string(l.order.rawValue)
        e.strings(l.members)
        e.int32s(l.parents)
        if version >= 2 { e.optionalString(l.definition) }
        if version >= 3 {
            // A keyed level's keys (inline dimensions), so APPEND can match new rows' members.
            if let keys = l.keys {
                e.u8(1)
                e.strings(keys)
            } else {
                e.u8(0)
            }
        }
    }

    private static func write(meta: [UInt8], version: UInt32, blocks: [Block], to path: String, shownAs shown: String,
                              keeping existing: (mode: mode_t, uid: uid_t, gid: gid_t)?) throws(Diagnostic) -> Int {
        let dataOffset = aligned(headerSize + meta.count)
        let dataLength = blocks.reduce(0) { $0 + aligned($1.count) }
        var header = SnapshotEncoder()
        header.bytes.append(contentsOf: magic)
        header.u32(version)
        header.u32(byteOrderMark)
        header.int(meta.count)
        header.u64(meta.withUnsafeBytes { paddedChecksum($0, to: dataOffset - headerSize) })
        header.int(dataOffset)
        header.int(dataOffset + dataLength)
        header.u64(0)
        header.u64(Checksum.of(header.bytes))

        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        removeStaleTemporaries(in: directory)
        // A short temporary name, so a file name of any allowed length still fits NAME_MAX.
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".cubist-save-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, existing.map { $0.mode } ?? 0o644)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno)).lowercased()
            throw Diagnostic(file: shown, message: "cannot write snapshot: \(reason)",
                             help: errno == ENOENT ? "the folder '\(directory)' does not exist; create it or save elsewhere" : "save to a folder you can write to")
        }
        PendingFile.begin(temporary)
        defer { PendingFile.end() }
        if let existing {
            // Keep the replaced file's permissions (open's mode is cut by the umask) and owner.
            fchmod(fd, existing.mode)
            _ = fchown(fd, existing.uid, existing.gid)
        }
        var failed: Int32 = 0
        func put(_ bytes: UnsafeRawBufferPointer) {
            var done = 0
            while failed == 0 && done < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)  // safe: inside the loop the buffer holds bytes still to write
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = errno
                } else {
                    done += n
                }
            }
        }
        let zeros = [UInt8](repeating: 0, count: alignment)
        func pad(_ n: Int) {
            let extra = aligned(n) - n
            if extra > 0 { zeros.withUnsafeBytes { put(UnsafeRawBufferPointer(rebasing: $0[0..<extra])) } }
        }
        header.bytes.withUnsafeBytes { put($0) }
        meta.withUnsafeBytes { put($0) }
        pad(headerSize + meta.count)
        for b in blocks where b.count > 0 {
            b.withBytes { put($0) }
            pad(b.count)
        }
        if failed == 0 && fsync(fd) != 0 { failed = errno }
        close(fd)
        if failed == 0 && rename(temporary, path) != 0 { failed = errno }
        if failed != 0 {
            unlink(temporary)
            let reason = String(cString: strerror(failed)).lowercased()
            throw Diagnostic(file: shown, message: "cannot write snapshot: \(reason)",
                             help: failed == ENOSPC ? "free some disk space; the previous file at this path is unchanged" : "the previous file at this path, if any, is unchanged")
        }
        return dataOffset + dataLength
    }
}
