import Foundation
import Testing

/// `APPEND ... TO 'crm.cube'` across crashes: the process is killed at each point of
/// writing a journal segment, and at random moments of a run of appends; the snapshot then
/// always opens, holds every acknowledged append, and holds an unacknowledged one only
/// whole or not at all.
@Suite(.serialized) struct AppendCrashTests {
    /// A directory with a snapshot of the built-in sample and day files of 40 rows each.
    static func setUp(days: Int) throws -> (dir: String, days: [String]) {
        let dir = try temporaryDirectory()
        let saved = try cubist(["-c", "SAVE 'crm.cube'"], directory: dir)
        #expect(saved.status == 0, "\(saved.stderr)")
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let sales = try String(contentsOfFile: root.path + "/datasets/crm/sales.csv", encoding: .utf8).split(separator: "\n")
        var files: [String] = []
        for d in 0..<days {
            let rows = sales[(1 + d * 40)..<(1 + (d + 1) * 40)].map { line -> String in
                // The same sales again, on days after the sample's last one.
                var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                fields[1] = String(format: "2026-01-%02d", 1 + d % 28)
                return fields.joined(separator: ",")
            }
            let name = "day\(d).csv"
            try ([String(sales[0])] + rows).joined(separator: "\n").appending("\n").write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            files.append(name)
        }
        return (dir, files)
    }

    /// Fact rows in the snapshot, as a fresh process opens it.
    static func rows(_ dir: String) throws -> Int {
        let r = try cubist(["crm.cube", "-c", "SELECT lines"], directory: dir)
        #expect(r.status == 0, "\(r.stderr)")
        return Int(r.stdout.split(separator: "\n").last ?? "") ?? -1
    }

    @Test(arguments: ["journal-open", "journal-truncated", "journal-partial", "journal-written", "journal-synced"])
    func aCrashAtEachPointLosesNothingAcknowledged(point: String) throws {
        // Every append takes a file of its own: the same bytes twice are refused.
        let (dir, files) = try AppendCrashTests.setUp(days: 10)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (round, pass) in [1, 3].enumerated() {
            let days = Array(files[(round * 5)..<(round * 5 + 5)])
            let before = try AppendCrashTests.rows(dir)
            let statements = days.prefix(4).flatMap { ["-c", "APPEND '\($0)' TO 'crm.cube'"] }
            let crashed = try cubist(["crm.cube"] + statements, directory: dir, environment: ["CUBIST_CRASH_AT": "\(point):\(pass)"])
            #expect(crashed.status == 137, "\(point):\(pass) \(crashed.stderr)")
            let acknowledged = crashed.stderr.components(separatedBy: "journaled to crm.cube").count - 1
            #expect(acknowledged == pass - 1, "\(crashed.stderr)")
            // Before the segment is whole it is not there; after the write it is, acknowledged or not.
            let whole = ["journal-written", "journal-synced"].contains(point)
            let after = try AppendCrashTests.rows(dir)
            #expect(after == before + 40 * (acknowledged + (whole ? 1 : 0)), "\(point):\(pass)")
            // The next append writes over an unfinished tail and is kept.
            let next = try cubist(["crm.cube", "-c", "APPEND '\(days[4])' TO 'crm.cube'"], directory: dir)
            #expect(next.status == 0, "\(next.stderr)")
            #expect(try AppendCrashTests.rows(dir) == after + 40)
        }
        let opened = try cubist(["crm.cube", "-c", "SELECT lines BY time.year"], directory: dir)
        #expect(opened.stdout.contains("2026,"))
    }

    /// A run of appends killed with SIGKILL at random moments.
    @Test func killedAtRandomMomentsTheSnapshotStillOpens() throws {
        let (dir, files) = try AppendCrashTests.setUp(days: 96)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var generator = SystemRandomNumberGenerator()
        var expected = try AppendCrashTests.rows(dir)
        for round in 0..<8 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["crm.cube"] + files[(round * 12)..<(round * 12 + 12)].flatMap { ["-c", "APPEND '\($0)' TO 'crm.cube'"] }
            process.currentDirectoryURL = URL(fileURLWithPath: dir)
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: Double(UInt64.random(in: 0...400, using: &generator)) / 1000)
            kill(process.processIdentifier, SIGKILL)
            let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let acknowledged = said.components(separatedBy: "journaled to crm.cube").count - 1
            let rows = try AppendCrashTests.rows(dir)
            // Every acknowledged append is kept; at most one more, whole.
            #expect(rows == expected + 40 * acknowledged || rows == expected + 40 * (acknowledged + 1), "round \(round): \(rows) rows, \(acknowledged) acknowledged")
            expected = rows
        }
    }
}
