import CubistCore
import CubistGenerator
import Foundation
import Testing
@testable import CubistStore

/// A fresh path in the temporary directory.
private func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cubist-snapshot-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

private func loadError(_ path: String) -> Diagnostic? {
    do {
        _ = try Snapshot.load(path)
        return nil
    } catch {
        return error
    }
}

@Suite struct SnapshotTests {
    /// A snapshot whose checksums all hold but whose sizes are absurd (a crafted file) is a
    /// clear error: every size is checked before arithmetic on it, so nothing overflows.
    @Test func craftedSizesWithValidChecksumsAreErrors() throws {
        let cube = try CRMSample.cube()
        let path = temporaryPath("crafted.cube")
        try Snapshot.save(cube, to: path)
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        func u64(_ bytes: [UInt8], _ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        func put(_ bytes: inout [UInt8], _ at: Int, _ value: UInt64) { for i in 0..<8 { bytes[at + i] = UInt8((value >> (8 * UInt64(i))) & 0xFF) } }
        let metaLength = u64(original, 16), dataOffset = u64(original, 32)
        // The row count (100,000) is followed by the number of code columns (4 dimensions).
        let pattern: [UInt8] = (0..<8).map { UInt8((100_000 >> (8 * $0)) & 0xFF) } + (0..<8).map { UInt8((4 >> (8 * $0)) & 0xFF) }
        let meta = Array(original[64..<(64 + metaLength)])
        let hits = (0...(meta.count - 16)).filter { Array(meta[$0..<($0 + 16)]) == pattern }
        #expect(hits.count == 1)
        for huge: UInt64 in [UInt64(Int64.max), UInt64(Int64.max) / 4 + 1, UInt64(Int32.max) + 1] {
            var bytes = original
            put(&bytes, 64 + hits[0], huge)
            let newMeta = Array(bytes[64..<dataOffset])
            put(&bytes, 24, newMeta.withUnsafeBytes { Snapshot.paddedChecksum($0, to: dataOffset - 64) })
            put(&bytes, 56, Checksum.of(Array(bytes[0..<56])))
            let crafted = temporaryPath("crafted-\(huge).cube")
            try Data(bytes).write(to: URL(fileURLWithPath: crafted))
            #expect(Snapshot.isSnapshot(crafted))
            #expect(loadError(crafted)?.message == "snapshot is corrupt: bad row count", "\(huge)")
        }
    }

    @Test func roundTripsTheSmallCubeWithNullsAndEveryMeasureKind() throws {
        let cube = try loadCube(["cube.json": smallModel, "customers.csv": smallCustomers, "sales.csv": smallSales])
        #expect(cube.facts.numericColumns.contains { $0.nulls != nil })
        let path = temporaryPath("small.cube")
        let written = try Snapshot.save(cube, to: path)
        #expect(written == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int))
        let back = try Snapshot.load(path)
        expectSameCube(cube, back)
        #expect(back.origin == path)
        // One thread reads the same.
        expectSameCube(cube, try Snapshot.load(path, threads: 1))
    }

    @Test func roundTripsTheSampleAndOpensAsASource() throws {
        let cube = try CRMSample.cube()
        let path = temporaryPath("crm.cube")
        try Snapshot.save(cube, to: path)
        expectSameCube(cube, try CubeSource.open(path))
        // The magic decides, not the name.
        let renamed = temporaryPath("crm.data")
        try FileManager.default.copyItem(atPath: path, toPath: renamed)
        expectSameCube(cube, try CubeSource.open(renamed))
    }

    @Test func everyTruncationIsAClearError() throws {
        let cube = try loadCube(["cube.json": smallModel, "customers.csv": smallCustomers, "sales.csv": smallSales])
        let path = temporaryPath("t.cube")
        try Snapshot.save(cube, to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for step in 0..<20 {
            let cut = bytes.count * step / 20
            let damaged = temporaryPath("cut-\(step).cube")
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: damaged))
            let error = try #require(loadError(damaged), "cut at \(cut) of \(bytes.count) loaded")
            #expect(error.file == damaged)
            if cut >= 8 {
                #expect(error.message.hasPrefix("snapshot is truncated"), "cut at \(cut): \(error.message)")
                #expect(error.help != nil)
            }
        }
    }

    @Test func everyFlippedByteIsCaughtByAChecksum() throws {
        let cube = try CRMSample.cube()
        let path = temporaryPath("flip.cube")
        try Snapshot.save(cube, to: path)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var random = SeededRandom(seed: 7)
        // Bytes in the header, the metadata, padding and the data blocks, and random ones.
        var offsets = [0, 7, 8, 12, 20, 40, 56, 63, 64, 65, original.count / 2, original.count - 1]
        for _ in 0..<40 { offsets.append(Int(random.next() % UInt64(original.count))) }
        for offset in offsets {
            var damaged = original
            damaged[offset] ^= UInt8(1 << (random.next() % 8))
            let file = temporaryPath("flip-\(offset).cube")
            try damaged.write(to: URL(fileURLWithPath: file))
            let error = try #require(loadError(file), "a flip at byte \(offset) went unnoticed")
            let clear = error.message.hasPrefix("snapshot is corrupt") || error.message.hasPrefix("not a Cubist snapshot")
                || error.message.hasPrefix("snapshot version") || error.message.hasPrefix("snapshot is truncated")
                || error.message.hasPrefix("snapshot was written on a machine")
            #expect(clear, "byte \(offset): \(error.message)")
        }
    }

    @Test func aVersionOneSnapshotStillOpens() throws {
        let cube = try loadCube(["cube.json": smallModel, "customers.csv": smallCustomers, "sales.csv": smallSales])
        let path = temporaryPath("v1.cube")
        try Snapshot.save(cube, to: path, overwrite: false, formatVersion: 1)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes[8] == 1)
        let back = try Snapshot.load(path)
        #expect(back.facts.rowCount == cube.facts.rowCount)
        #expect(back.dimensions.map(\.name) == cube.dimensions.map(\.name))
        #expect(back.dimensions.flatMap { $0.levels.map(\.members) } == cube.dimensions.flatMap { $0.levels.map(\.members) })
    }

    @Test func anotherVersionOrAForeignFileIsRefused() throws {
        let cube = try loadCube(["cube.json": smallModel, "customers.csv": smallCustomers, "sales.csv": smallSales])
        let path = temporaryPath("v.cube")
        try Snapshot.save(cube, to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[8] = 4   // version 4, with a header checksum that matches it
        let sum = Checksum.of(Array(bytes[0..<56]))
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { bytes[56 + i] = $0[i] } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let version = try #require(loadError(path))
        #expect(version.message == "snapshot version 4 is not supported; this cubist reads versions 1 to 3")

        let csv = temporaryPath("sales.cube")
        try Data(smallSales.utf8).write(to: URL(fileURLWithPath: csv))
        let foreign = try #require(loadError(csv))
        #expect(foreign.message == "not a Cubist snapshot (it does not start with CUBISTSN)")
        #expect(throws: Diagnostic.self) { try CubeSource.open(csv) }

        let tiny = temporaryPath("tiny.cube")
        try Data("CUBISTSN".utf8).write(to: URL(fileURLWithPath: tiny))
        #expect(loadError(tiny)?.message == "snapshot is truncated: 8 bytes, shorter than its 64-byte header")
    }

    @Test func saveReportsBadTargetsAndKeepsTheOldFile() throws {
        let cube = try loadCube(["cube.json": smallModel, "customers.csv": smallCustomers, "sales.csv": smallSales])
        let directory = temporaryPath("dir")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            try Snapshot.save(cube, to: directory)
            Issue.record("saving over a directory succeeded")
        } catch {
            #expect(error.message == "is a directory, not a file")
        }
        do {
            try Snapshot.save(cube, to: directory + "/missing/x.cube")
            Issue.record("saving into a missing folder succeeded")
        } catch {
            #expect(error.message == "cannot write snapshot: no such file or directory")
            #expect(error.help == "the folder '\(directory)/missing' does not exist; create it or save elsewhere")
        }
        // Saving again replaces the file whole, and leaves no temporary file behind.
        let path = directory + "/c.cube"
        try Snapshot.save(cube, to: path)
        try Snapshot.save(cube, to: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["c.cube"])
        expectSameCube(cube, try Snapshot.load(path))
    }

    /// A snapshot of format 2 still opens, but cannot take appends: it kept no keys.
    @Test func aVersionTwoSnapshotOpensButRefusesAppends() throws {
        let cube = try loadCube(["cube.json": smallModel, "customers.csv": smallCustomers, "sales.csv": smallSales])
        let path = temporaryPath("v2.cube")
        try Snapshot.save(cube, to: path, overwrite: false, formatVersion: 2)
        let back = try Snapshot.load(path)
        #expect(back.facts.rowCount == cube.facts.rowCount)
        #expect(back.dimensions.allSatisfy { $0.keyTable == nil })
        let day = Array(smallSales.utf8.prefix { $0 != 10 }) + [10] + Array(smallSales.split(separator: "\n")[1].utf8) + [10]
        do {
            _ = try CubeLoader.append(day, file: "day.csv", to: back)
            Issue.record("an append to a version 2 snapshot's cube succeeded")
        } catch {
            #expect(error.message.contains("was read from a snapshot of an older version, which does not keep its keys"), "\(error.rendered)")
        }
        // The cube loaded from its source appends.
        #expect(try CubeLoader.append(day, file: "day.csv", to: cube).rows == 1)
    }

    /// A journal's segments: a cut or damaged last one is an unfinished append, ignored; a
    /// damaged earlier one is an error; bytes that are no segment end the journal.
    @Test func aDamagedJournalIsIgnoredAtTheTailAndAnErrorBefore() throws {
        let cube = try loadCube(["cube.json": smallModel, "customers.csv": smallCustomers, "sales.csv": smallSales])
        let path = temporaryPath("j.cube")
        let size = try Snapshot.save(cube, to: path)
        let rows = smallSales.split(separator: "\n")
        var state = cube.marked(Snapshot.mark(ofSaved: path, bytes: size))
        // Two days of one row each (the same bytes twice would be refused).
        for k in 1...2 {
            let day = Array((rows[0] + "\n" + rows[k] + "\n").utf8)
            let appended = try CubeLoader.append(day, file: "day.csv", to: state).cube
            state = appended.marked(try Snapshot.journal(day, name: "day.csv", to: path, of: state))
        }
        let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(try Snapshot.load(path).facts.rowCount == cube.facts.rowCount + 2)
        let segment = (whole.count - size) / 2
        func open(_ bytes: [UInt8]) throws -> Cube {
            let file = temporaryPath("damaged.cube")
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            return try Snapshot.load(file)
        }
        // Cut anywhere in the last segment: one append, the cut noted by the mark.
        for cut in stride(from: whole.count - segment + 1, to: whole.count, by: max(1, segment / 7)) {
            let opened = try open(Array(whole[0..<cut]))
            #expect(opened.facts.rowCount == cube.facts.rowCount + 1, "cut at \(cut)")
            #expect(opened.snapshot?.end == whole.count - segment && opened.snapshot?.size == cut)
        }
        // A flipped byte in the last segment's payload: ignored; in the first's: an error.
        var last = whole
        last[whole.count - 10] ^= 0x40
        #expect(try open(last).facts.rowCount == cube.facts.rowCount + 1)
        var first = whole
        first[size + 64 + 3] ^= 0x40
        do {
            _ = try open(first)
            Issue.record("a damaged first segment opened")
        } catch {
            #expect((error as? Diagnostic)?.message == "journal segment 1 fails its checksum")
        }
        // A segment of another snapshot does not replay onto this one.
        let other = temporaryPath("o.cube")
        let otherSize = try Snapshot.save(try loadCube(["cube.json": smallModel, "customers.csv": smallCustomers,
                                                        "sales.csv": rows.dropLast().joined(separator: "\n") + "\n"]), to: other, overwrite: true)
        let foreign = try [UInt8](Data(contentsOf: URL(fileURLWithPath: other)))[0..<otherSize] + whole[size...]
        #expect(Array(foreign[56..<64]) != Array(whole[56..<64]))
        do {
            _ = try open(Array(foreign))
            Issue.record("a foreign segment replayed")
        } catch {
            #expect((error as? Diagnostic)?.message == "journal segment 1 does not belong to this snapshot")
        }
    }
}
