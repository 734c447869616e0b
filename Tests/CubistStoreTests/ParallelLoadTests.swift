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
            fields[8] += "5"
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
                fields[1] = "2024-02-30"
                lines[row] = fields.joined(separator: ",")
            }
            let column = String(decoding: files["sales.csv"]!, as: UTF8.self).split(separator: "\n")[row].prefix { $0 != "," }.count + 2
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
            #expect(messages.first?.hasPrefix("s/sales.csv:\(row + 1):\(column): error: no such day '2024-02-30'") == true)
        }
    }
}

@Suite struct DataFileAttackTests {
    @Test func aMillionCharacterFieldLoadsOrIsQuotedShortly() throws {
        // As a member label it is just a long member.
        let long = String(repeating: "x", count: 1_000_000)
        let cube = try loadCube(["cube.json": smallModel, "customers.csv": smallCustomers.replacingOccurrences(of: "Seoul-Gangnam", with: long),
                                 "sales.csv": smallSales])
        #expect(cube.dimension(named: "customer")?.levels[1].members.contains(long) == true)
        // As a number it is an error whose message and source line stay short.
        let sales = smallSales.replacingOccurrences(of: "2024-03-15,10,Books,Novel,2,10.10,0.5", with: "2024-03-15,10,Books,Novel,2,\(long),0.5")
        let error = try #require(loadError(["cube.json": smallModel, "customers.csv": smallCustomers, "sales.csv": sales]))
        #expect(error.message == "bad number '\(String(repeating: "x", count: 60))… (1,000,000 characters)' in column 'revenue'")
        #expect(error.location == SourceLocation(line: 2, column: 29))
        let rendered = error.rendered
        #expect(rendered.count < 800)
        #expect(rendered.contains(" 2 | 2024-03-15,10,Books,Novel,2,xxxx"))
        #expect(rendered.contains("xxx…\n   | " + String(repeating: " ", count: 28) + "^^^^"))
    }

    @Test func aFileCutMidRecordIsARaggedRowAtItsEnd() throws {
        let cut = String(smallSales.dropLast(12))   // the last row stops inside its fourth field
        let error = try #require(loadError(["cube.json": smallModel, "customers.csv": smallCustomers, "sales.csv": cut]))
        #expect(error.message == "row has 4 fields but the header has 7")
        #expect(error.location?.line == 6)
        #expect(error.help == "every row needs one field per header column; an empty field is written as nothing between commas")
    }
}
