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
}
