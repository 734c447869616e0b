import CubistCore
import CubistGenerator
import Testing
@testable import CubistStore

/// The sample's files with `sales.csv` changed by `edit` (given its lines).
private func sampleFiles(_ edit: (inout [String]) -> Void = { _ in }) -> [String: [UInt8]] {
    var files = CRMSample.files()
    var lines = String(decoding: files["sales.csv"]!, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    edit(&lines)
    files["sales.csv"] = Array(lines.joined(separator: "\n").utf8)
    return files
}

private func load(_ files: [String: [UInt8]], threads: Int) throws(Diagnostic) -> Cube {
    let model = try ModelParser.parse(files["cube.json"]!, file: "s/cube.json")
    return try CubeLoader.load(model: model, files: MemoryFiles(files, label: "s"), origin: "test", threads: threads)
}

@Suite struct ParallelLoadTests {
    @Test func partsParsedAtOnceGiveTheSameCubeAsOnePass() throws {
        let files = sampleFiles()
        #expect(files["sales.csv"]!.count > 1 << 20)
        let one = try load(files, threads: 1)
        for threads in [2, 3, 7] { expectSameCube(one, try load(files, threads: threads)) }
    }

    @Test func aLatePartWithMoreDecimalsRescalesTheEarlierOnes() throws {
        // Row 90,000 is in the last part; its revenue has three decimals, so every part
        // must end at scale 3, exactly as a single pass does.
        let files = sampleFiles { lines in
            var fields = lines[90_000].split(separator: ",").map(String.init)
            fields[7] += "5"
            lines[90_000] = fields.joined(separator: ",")
        }
        let one = try load(files, threads: 1)
        #expect(one.numericColumn(named: "revenue")?.scale == 3)
        expectSameCube(one, try load(files, threads: 3))
    }

    @Test func anErrorInAnyPartIsReportedAsOnePassReportsIt() throws {
        for row in [5, 50_000, 99_999] {
            let files = sampleFiles { lines in
                var fields = lines[row].split(separator: ",").map(String.init)
                fields[0] = "2024-02-30"
                lines[row] = fields.joined(separator: ",")
            }
            var messages: [String] = []
            for threads in [1, 3] {
                do {
                    _ = try load(files, threads: threads)
                    Issue.record("a bad date on line \(row + 1) loaded")
                } catch {
                    messages.append(error.rendered)
                }
            }
            #expect(messages.count == 2 && messages[0] == messages[1])
            #expect(messages.first?.hasPrefix("s/sales.csv:\(row + 1):1: error: no such day '2024-02-30'") == true)
        }
    }
}
