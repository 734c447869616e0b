import CubistCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The journal of a snapshot: `APPEND 'file' TO 'crm.cube'` adds one segment after the
/// snapshot's last byte (the file length its header records), and opening the snapshot
/// replays the segments in order through the same append as in memory.
///
/// A segment, all integers little-endian (described in `docs/storage.md`):
///
///     header   64 bytes: "CUBISTJS", version u32 (1), reserved u32, payload length u64,
///              payload checksum u64, sequence number u64 (1, 2, ...), the snapshot
///              header's checksum u64 (ties the segment to its base), reserved u64,
///              header checksum u64 (of the 56 bytes before it)
///     payload  the appended file's name and its bytes exactly as they were read,
///              padded with zeros to a multiple of 64 bytes
///
/// A segment is written with one `pwrite` after the last whole segment and synced before
/// the append is acknowledged. A crash can leave only the last segment incomplete; opening
/// ignores such a tail (it was never acknowledged) and the next append writes over it.
extension Snapshot {
    static let journalMagic: [UInt8] = Array("CUBISTJS".utf8)
    static let journalVersion: UInt32 = 1

    /// One appended file, as journaled.
    struct Segment {
        let name: String
        let bytes: [UInt8]
    }

    /// The segments after the snapshot's base (`start` bytes), up to `size`; the end of the
    /// last whole segment. A damaged segment that is not the last is an error.
    static func readJournal(_ fd: Int32, from start: Int, size: Int, baseChecksum: UInt64, path: String) throws(Diagnostic) -> (segments: [Segment], end: Int) {
        var segments: [Segment] = []
        var offset = start
        let damaged = "the journal after the snapshot is damaged; SAVE the cube from its source data again"
        while size - offset >= 64 {
            let head = try readBytes(fd, at: offset, count: 64, path: path)
            var h = SnapshotDecoder(head)
            guard Array(head[0..<8]) == journalMagic, Checksum.of(Array(head[0..<56])) == (try? u64(head, 56)) else { break }  // a torn header: the tail
            // The header's checksum held, so its fields are as written.
            _ = try? h.u64("magic")
            let version = (try? h.u32("journal version")) ?? 0
            _ = try? h.u32("reserved")
            let length = (try? h.int("payload length")) ?? -1
            let checksum = (try? h.u64("payload checksum")) ?? 0
            let sequence = (try? h.int("sequence number")) ?? -1
            let base = (try? h.u64("base checksum")) ?? 0
            guard version == journalVersion else {
                throw Diagnostic(file: path, message: "journal segment \(segments.count + 1) is of version \(version); this cubist reads version \(journalVersion)",
                                 help: "open the snapshot with the cubist that appended to it and SAVE it again")
            }
            guard base == baseChecksum, sequence == segments.count + 1, length >= 0, length <= Int(Int32.max) else {
                throw Diagnostic(file: path, message: "journal segment \(segments.count + 1) does not belong to this snapshot", help: damaged)
            }
            let padded = aligned(length)
            guard padded <= size - offset - 64 else { break }  // cut short: the tail
            let payload = try readBytes(fd, at: offset + 64, count: padded, path: path)
            guard Checksum.of(payload) == checksum else {
                if offset + 64 + padded == size { break }  // the last segment, torn
                throw Diagnostic(file: path, message: "journal segment \(segments.count + 1) fails its checksum", help: damaged)
            }
            var p = SnapshotDecoder(Array(payload[0..<length]))
            guard let name = try? p.string("appended file name"), let count = try? p.int("appended file length"), count >= 0, count == length - p.offset else {
                throw Diagnostic(file: path, message: "journal segment \(segments.count + 1) is corrupt: bad appended file", help: damaged)
            }
            segments.append(Segment(name: name, bytes: Array(payload[p.offset..<length])))
            offset += 64 + padded
        }
        return (segments, offset)
    }

    private static func u64(_ bytes: [UInt8], _ at: Int) throws(SnapshotDecoder.Corrupt) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
        return v
    }

    /// The mark of a snapshot just saved to `path` (`bytes` long, no journal).
    public static func mark(ofSaved path: String, bytes: Int) -> Cube.SnapshotMark {
        Cube.SnapshotMark(path: canonicalPath(path), end: bytes, size: bytes, segments: 0)
    }

    /// Checks that `cube` is the state of the snapshot at `path`, so a segment journaled there
    /// replays onto the same rows; returns its mark.
    public static func checkJournalTarget(_ cube: Cube, _ path: String) throws(Diagnostic) -> Cube.SnapshotMark {
        guard FileBytes.exists(path) else {
            throw Diagnostic(file: path, message: "no such snapshot", help: "SAVE '\(path)' first; then APPEND ... TO '\(path)' journals to it")
        }
        guard isSnapshot(path) else {
            throw Diagnostic(file: path, message: "is not a Cubist snapshot; APPEND ... TO journals only to a snapshot", help: "SAVE '\(path.hasSuffix(".cube") ? path : "crm.cube")' first")
        }
        let canonical = canonicalPath(path)
        guard let mark = cube.snapshot, mark.path == canonical else {
            throw Diagnostic(file: path, message: "is not a snapshot of cube '\(cube.name)' as it is in this session",
                             help: "open '\(path)' to append to it, or SAVE '\(path)' first to write this cube there with every row")
        }
        var info = stat()
        guard stat(path, &info) == 0, Int(info.st_size) == mark.size else {
            throw Diagnostic(file: path, message: "changed since this session read it (another cubist appended to it or saved it?)",
                             help: "LOAD '\(path)' again, then append")
        }
        return mark
    }

    /// Journals `bytes` (the file appended as `name`) to the snapshot `cube` is the state of,
    /// synced before it returns; returns the snapshot's new mark. Nothing is acknowledged
    /// before the segment is on disk; a failure leaves the snapshot as it was.
    public static func journal(_ bytes: [UInt8], name: String, to path: String, of cube: Cube) throws(Diagnostic) -> Cube.SnapshotMark {
        let mark = try checkJournalTarget(cube, path)
        let fd = open(path, O_RDWR)
        guard fd >= 0 else {
            throw Diagnostic(file: path, message: "cannot open snapshot to append: \(String(cString: strerror(errno)).lowercased())", help: "the cube in this session has not changed")
        }
        defer { close(fd) }
        // One appender at a time, and none while the file is checked.
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw Diagnostic(file: path, message: "another cubist is appending to this snapshot", help: "try again when it is done; the cube in this session has not changed")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) == mark.size else {
            throw Diagnostic(file: path, message: "changed since this session read it (another cubist appended to it or saved it?)", help: "LOAD '\(path)' again, then append")
        }
        let head = try readBytes(fd, at: 0, count: headerSize, path: path)
        let baseChecksum = try? u64(head, 56)
        var payload = SnapshotEncoder()
        payload.string(name)
        payload.int(bytes.count)
        payload.bytes.append(contentsOf: bytes)
        let length = payload.bytes.count
        payload.bytes.append(contentsOf: [UInt8](repeating: 0, count: aligned(length) - length))
        var header = SnapshotEncoder()
        header.bytes.append(contentsOf: journalMagic)
        header.u32(journalVersion)
        header.u32(0)
        header.int(length)
        header.u64(Checksum.of(payload.bytes))
        header.int(mark.segments + 1)
        header.u64(baseChecksum ?? 0)
        header.u64(0)
        header.u64(Checksum.of(header.bytes))
        let segment = header.bytes + payload.bytes
        CrashPoint.reach("journal-open")
        // An unfinished segment a crash left after the last whole one is written over.
        if mark.end < mark.size, ftruncate(fd, off_t(mark.end)) != 0 {
            throw Diagnostic(file: path, message: "cannot append: \(String(cString: strerror(errno)).lowercased())", help: "the cube in this session has not changed")
        }
        CrashPoint.reach("journal-truncated")
        var done = 0
        var failed: Int32 = 0
        segment.withUnsafeBytes { raw in
            while done < raw.count {
                // A crash test may stop the write halfway.
                let chunk = CrashPoint.isArmed && done == 0 ? max(1, raw.count / 2) : raw.count - done
                let n = pwrite(fd, raw.baseAddress! + done, chunk, off_t(mark.end + done))  // safe: inside the loop the buffer holds bytes still to write
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = errno
                    return
                }
                done += n
                if done < raw.count { CrashPoint.reach("journal-partial") }
            }
        }
        CrashPoint.reach("journal-written")
        if failed == 0 && fsync(fd) != 0 { failed = errno }
        if failed != 0 {
            // Take back what was written, so the file is as it was.
            _ = ftruncate(fd, off_t(mark.end))
            throw Diagnostic(file: path, message: "cannot append: \(String(cString: strerror(failed)).lowercased())",
                             help: failed == ENOSPC ? "free some disk space; the snapshot and the cube in this session are unchanged" : "the snapshot and the cube in this session are unchanged")
        }
        CrashPoint.reach("journal-synced")
        let end = mark.end + segment.count
        return Cube.SnapshotMark(path: mark.path, end: end, size: end, segments: mark.segments + 1)
    }
}

/// Named points where a crash test (`CUBIST_CRASH_AT=name:n`) kills the process the n-th
/// time it passes, to check that an append is all or nothing across a crash.
enum CrashPoint {
    private static let target: (name: String, count: Int)? = {
        guard let spec = getenv("CUBIST_CRASH_AT").map({ String(cString: $0) }) else { return nil }
        let parts = spec.split(separator: ":")
        return (String(parts[0]), parts.count > 1 ? Int(parts[1]) ?? 1 : 1)
    }()
    nonisolated(unsafe) private static var passes = 0

    /// Whether a crash point is set.
    static var isArmed: Bool { target != nil }

    /// Dies (as from SIGKILL: no clean-up, no buffers flushed) at the armed point's n-th pass.
    static func reach(_ name: String) {
        guard let target, target.name == name else { return }
        passes += 1
        if passes == target.count { _exit(137) }
    }
}
