import Foundation
import Testing

/// Batch files run by the real binary, compared with their recorded output: `NAME.cq` in
/// `golden/`, `NAME.out` holding stdout, stderr and the exit status.
/// `CUBIST_RECORD_GOLDEN=1 swift test --filter GoldenTests` re-records (review the diff).
@Suite(.serialized) struct GoldenTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("golden").path

    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".cq") }.sorted()
    }

    @Test(arguments: GoldenTests.cases)
    func batchFileMatchesItsRecording(_ name: String) throws {
        let run = try cubist(["--continue-on-error", "-f", name], directory: GoldenTests.directory)
        let actual = run.stdout + "--- stderr ---\n" + run.stderr + "--- exit \(run.status) ---\n"
        let expectedPath = GoldenTests.directory + "/" + name.dropLast(3) + ".out"
        if ProcessInfo.processInfo.environment["CUBIST_RECORD_GOLDEN"] == "1" {
            try actual.write(toFile: expectedPath, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOfFile: expectedPath, encoding: .utf8)
        #expect(actual == expected, "\(name): output differs from \(expectedPath)")
    }
}
