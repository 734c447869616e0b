import CubistCore
import Foundation

extension Session {
    /// Longest statement (or run of text without a line end) a stream may hold before it is
    /// refused: an endless or binary stream (`< /dev/zero`) stops with an error instead of
    /// filling memory.
    public static let maximumStatementBytes = 16 << 20

    /// Why a stream could not be read.
    public struct StreamFailure: Error {
        /// What went wrong, as a diagnostic naming the input.
        public let diagnostic: Diagnostic
    }

    /// Runs the statements of a stream (standard input, a pipe, a FIFO) as they arrive: each
    /// complete statement runs as soon as it has been read, so memory holds one statement
    /// at a time, not the whole input. Returns false at the first failed statement unless
    /// `continueOnError`; throws when the stream cannot be read or holds a statement over
    /// `maximumStatementBytes`.
    public func runStream(_ fd: Int32, file: String, continueOnError: Bool = false,
                          limit: Int = Session.maximumStatementBytes) throws(StreamFailure) -> Bool {
        // `pending` starts at the beginning of line `firstLine`; splitting resumes at byte
        // `resume` of it, which is at column `resumeColumn` of line `resumeLine`.
        var pending: [UInt8] = []
        var firstLine = 1
        var resume = 0, resumeLine = 1, resumeColumn = 1
        var ok = true
        var ended = false
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let saved = sourceLineBase
        defer { sourceLineBase = saved }
        while !ended {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = fd == 0 && (errno == EBADF || errno == EINVAL) ? "standard input is closed" : String(cString: strerror(errno)).lowercased()
                throw StreamFailure(diagnostic: Diagnostic(file: file, message: "cannot read: \(reason)",
                                                           help: "give statements on standard input, with -f FILE, or with -c"))
            }
            if n == 0 { ended = true } else { pending += chunk[0..<n] }
            // A byte-order mark at the very start is not part of the text.
            if firstLine == 1, resume == 0, pending.count >= 3, pending[0] == 0xEF, pending[1] == 0xBB, pending[2] == 0xBF {
                pending.removeFirst(3)
            }
            // Run what is complete: everything up to the last line end (a line end is never
            // inside a UTF-8 sequence), or everything once the stream has ended. Only the new
            // bytes are searched, so a long line costs linear time.
            let newline = n > 0 ? chunk[0..<n].lastIndex(of: 10).map { pending.count - n + $0 + 1 } : nil
            guard let cut = ended ? pending.count : newline else {
                if pending.count - resume > limit { throw tooLong(file, resumeLine, limit) }
                continue
            }
            let text = String(decoding: pending[0..<cut], as: UTF8.self)
            // Invalid UTF-8 became U+FFFD: keep the bytes the text holds, so offsets agree.
            let bytes = Array(text.utf8)
            pending = bytes + pending[cut...]
            let cutBytes = bytes.count
            let (pieces, incomplete) = InputSplitter.split(text, from: resume, line: resumeLine - firstLine + 1, column: resumeColumn)
            sourceLineBase = firstLine - 1
            let goOn = runPieces(pieces + (ended ? incomplete.map { [$0] } ?? [] : []), file: file, sourceText: text,
                                 lineShift: firstLine - 1, continueOnError: continueOnError, ok: &ok)
            if !goOn { return ok }
            if ended { break }
            if let incomplete {
                // Keep the unfinished statement from the start of its line.
                var lineStart = incomplete.offset
                while lineStart > 0, bytes[lineStart - 1] != 10 { lineStart -= 1 }
                firstLine += bytes[0..<lineStart].reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
                resume = incomplete.offset - lineStart
                resumeLine = firstLine
                resumeColumn = incomplete.column
                pending.removeFirst(lineStart)
                if pending.count - resume > limit { throw tooLong(file, firstLine, limit) }
            } else {
                firstLine += bytes.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
                pending.removeFirst(cutBytes)
                resume = 0
                resumeLine = firstLine
                resumeColumn = 1
            }
        }
        return ok
    }

    private func tooLong(_ file: String, _ line: Int, _ limit: Int) -> StreamFailure {
        StreamFailure(diagnostic: Diagnostic(file: file, location: SourceLocation(line: line, column: 1),
                                             message: "a statement longer than \(limit >> 20) MiB (binary or endless input?)",
                                             help: "end statements with ';'; give text files, not binary ones"))
    }
}
