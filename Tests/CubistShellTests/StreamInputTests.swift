import CubistCore
import CubistGenerator
import CubistShell
import Foundation
import Testing

/// Statements read from a stream run as they arrive, with the lines and columns of the
/// whole input in their errors, across the chunks the stream is read in.
@Suite struct StreamInputTests {
    /// Runs `text` through a pipe into a session; returns (ok, stdout, stderr).
    private func stream(_ text: String, limit: Int = Session.maximumStatementBytes) throws -> (Bool, String, String) {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let bytes = Array(text.utf8)
        let writeEnd = fds[1]
        let writer = Thread {
            bytes.withUnsafeBytes { b in
                var done = 0
                while done < b.count {
                    let n = write(writeEnd, b.baseAddress! + done, b.count - done)
                    if n <= 0 { break }
                    done += n
                }
            }
            close(writeEnd)
        }
        writer.start()
        let output = StringOutput()
        var errors = ""
        let session = Session(cube: try CRMSample.cube(), output: output, errors: { errors += $0 + "\n" })
        session.format = .csv
        defer { close(fds[0]) }
        do {
            let ok = try session.runStream(fds[0], file: "<stdin>", continueOnError: true, limit: limit)
            return (ok, output.text, errors)
        } catch {
            // Drain the writer so it ends.
            var sink = [UInt8](repeating: 0, count: 1 << 16)
            while read(fds[0], &sink, sink.count) > 0 {}
            return (false, output.text, error.diagnostic.rendered)
        }
    }

    @Test func errorsKeepTheirLineAcrossChunks() throws {
        // About 150 KB: several 64 KiB reads; the bad statement and a statement that spans
        // lines come after the first chunks.
        var text = ""
        for i in 0..<3000 { text += "SELECT lines WHERE time.year = \(2022 + i % 4);\n" }
        text += "SELECT revenue\n  BY time.yer;\n"
        text += "SELECT customers;  SELECT\n  lines\n  ;\n"
        let (ok, out, err) = try stream(text)
        #expect(!ok)
        #expect(err == "<stdin>:3002:6: error: dimension 'time' has no level 'yer'\n 3002 |   BY time.yer;\n      |      ^^^^^^^^\nhelp: did you mean 'year'?\n")
        #expect(out.hasSuffix("customers\n2212\nlines\n100000\n"))
        #expect(out.components(separatedBy: "lines\n").count == 3002)
    }

    @Test func aStatementSplitAcrossReadsAndMultibyteText() throws {
        // A long statement (over 64 KiB) with Hangul in it, ending on a later read.
        let members = (0..<6000).map { "'서울-\($0)'" }.joined(separator: ", ")
        let (ok, out, err) = try stream("SELECT orders\nWHERE customer.city IN (\(members), 'Seoul-Mapo');\nSELECT 1 + ;\n")
        #expect(!ok)
        #expect(out.hasPrefix("orders\n"))
        #expect(err.contains("<stdin>:3:12: error: "))
    }

    @Test func anEndlessLineIsAnErrorNotAHang() throws {
        let (ok, _, err) = try stream(String(repeating: "x", count: 300_000), limit: 100_000)
        #expect(!ok)
        #expect(err.hasPrefix("<stdin>:1:1: error: a statement longer than"))
    }
}
