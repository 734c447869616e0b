import CubistCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exact transcoding to UTF-8 through the system's iconv.
enum Transcoder {
    /// `bytes` (in `encoding`, without a byte-order mark) as UTF-8. A byte sequence that is
    /// invalid in the encoding is an error at its line and column, naming the encoding.
    static func utf8(_ bytes: [UInt8], from encoding: TextEncoding, file: String) throws(Diagnostic) -> [UInt8] {
        if encoding == .utf8 || bytes.isEmpty { return bytes }
        let descriptor = iconv_open("UTF-8", encoding.iconvName)
        guard let descriptor, Int(bitPattern: descriptor) != -1 else {
            throw Diagnostic(file: file, message: "this system cannot convert \(encoding.rawValue) text (iconv has no \(encoding.iconvName))",
                             help: "save the file as UTF-8")
        }
        defer { iconv_close(descriptor) }
        // UTF-8 takes at most 3 bytes for a 2-byte UTF-16 unit or CP949 character.
        var output = [UInt8](repeating: 0, count: bytes.count * 3 / 2 + 16)
        var failure: (offset: Int, produced: Int, incomplete: Bool)?
        var produced = 0
        bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                let inStart = UnsafeMutablePointer<CChar>(mutating: UnsafeRawPointer(input.baseAddress!).assumingMemoryBound(to: CChar.self))  // safe: iconv only reads the input
                var inLeft = input.count
                var outPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: CChar.self)  // safe: room for every converted byte, as sized above
                var outLeft = out.count
                var inOptional: UnsafeMutablePointer<CChar>? = inStart
                while inLeft > 0 {
                    let result = iconv(descriptor, &inOptional, &inLeft, &outPointer, &outLeft)
                    if result == -1 {
                        let code = errno
                        let offset = input.count - inLeft
                        produced = out.count - outLeft
                        if code == EINTR { continue }
                        failure = (offset, produced, code == EINVAL)
                        return
                    }
                }
                produced = out.count - outLeft
            }
        }
        if let failure {
            throw located(failure.offset, failure.produced, failure.incomplete, output, bytes, encoding, file)
        }
        output.removeLast(output.count - produced)
        return output
    }

    /// The error for an invalid sequence at source `offset`, after `produced` bytes of
    /// UTF-8 output: located by the lines and characters converted before it.
    private static func located(_ offset: Int, _ produced: Int, _ incomplete: Bool, _ output: [UInt8], _ source: [UInt8],
                                _ encoding: TextEncoding, _ file: String) -> Diagnostic {
        var line = 1, lineStart = 0
        for i in 0..<produced where output[i] == 10 {
            line += 1
            lineStart = i + 1
        }
        let before = String(decoding: output[lineStart..<produced], as: UTF8.self)
        let column = before.unicodeScalars.count + 1
        let shown = source[offset..<min(source.count, offset + 2)].map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
        let message = incomplete
            ? "the file ends inside a \(encoding.rawValue) character (bytes \(shown))"
            : "bytes \(shown) are not valid \(encoding.rawValue) text"
        return Diagnostic(file: file, location: SourceLocation(line: line, column: column), message: message,
                          help: "the file is not \(encoding.rawValue) here: set the encoding it was saved in (utf-8, utf-16, cp949 or euc-kr) with --csv encoding=NAME or \"csv\": {\"encoding\": \"NAME\"} in cube.json",
                          sourceLine: before)
    }
}
