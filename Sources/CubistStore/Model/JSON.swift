import Foundation
import CubistCore

/// A JSON value that remembers where it was in its file, so model errors can point at
/// the offending key or value. (Foundation's JSON reader keeps no positions.)
public struct JSONNode: Sendable {
    /// The value.
    public indirect enum Value: Sendable {
        case null
        case bool(Bool)
        case number(String)
        case string(String)
        case array([JSONNode])
        case object([Member])
    }

    /// A member of an object, with the key's own location.
    public struct Member: Sendable {
        public let key: String
        public let keyLocation: SourceLocation
        public let value: JSONNode
    }

    /// The value.
    public let value: Value
    /// Where the value starts.
    public let location: SourceLocation

    /// A short name for the value's type, for messages.
    public var typeName: String {
        switch value {
        case .null: return "null"
        case .bool: return "true/false"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A strict JSON reader (RFC 8259) with line and column positions.
public struct JSONReader {
    private let bytes: [UInt8]
    private let file: String
    private var offset = 0
    private var line = 1
    private var lineStart = 0
    private var depth = 0
    /// The column at a recent offset of the current line, so locating each value costs the
    /// distance from the previous one (a model written on one long line stays linear).
    private var columnCache = (offset: 0, column: 1)

    /// Parses a whole document.
    public static func parse(_ bytes: [UInt8], file: String) throws(Diagnostic) -> JSONNode {
        var reader = JSONReader(bytes: bytes, file: file)
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { reader.offset = 3; reader.lineStart = 3 }
        reader.skipSpace()
        let node = try reader.value()
        reader.skipSpace()
        if reader.offset < bytes.count { throw reader.failure("unexpected text after the JSON document") }
        return node
    }

    private init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    private var location: SourceLocation {
        bytes.withUnsafeBufferPointer { SourceLocation(line: line, column: SourceText.scalarCount($0, from: lineStart, to: offset) + 1) }
    }

    /// The current location, counted on from the last one asked for on this line.
    private mutating func here() -> SourceLocation {
        let from = columnCache.offset >= lineStart && columnCache.offset <= offset ? columnCache : (lineStart, 1)
        let column = from.1 + bytes.withUnsafeBufferPointer { SourceText.scalarCount($0, from: from.0, to: offset) }
        columnCache = (offset, column)
        return SourceLocation(line: line, column: column)
    }

    private func failure(_ message: String, help: String? = nil) -> Diagnostic {
        let shown = offset < bytes.count ? "'\(String(decoding: [bytes[offset]], as: UTF8.self).clipped)'" : "end of file"
        let text = message.replacingOccurrences(of: "{found}", with: shown)
        let sourceLine = bytes.withUnsafeBufferPointer { SourceText.line(containing: max(lineStart, min(offset, bytes.count - 1)), in: $0) }
        return Diagnostic(file: file, location: location, message: "invalid JSON: " + text, help: help, sourceLine: sourceLine)
    }

    private mutating func skipSpace() {
        while offset < bytes.count {
            let c = bytes[offset]
            if c == 10 {
                line += 1
                lineStart = offset + 1
            } else if c != 32 && c != 9 && c != 13 {
                return
            }
            offset += 1
        }
    }

    private mutating func value() throws(Diagnostic) -> JSONNode {
        let start = here()
        guard offset < bytes.count else { throw failure("expected a value, found end of file") }
        switch bytes[offset] {
        case UInt8(ascii: "{"):
            depth += 1
            defer { depth -= 1 }
            if depth > 100 { throw failure("nested too deeply") }
            offset += 1
            var members: [JSONNode.Member] = []
            skipSpace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
                offset += 1
                return JSONNode(value: .object([]), location: start)
            }
            while true {
                skipSpace()
                let keyLocation = here()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
                    throw failure("expected a key in double quotes, found {found}")
                }
                let key = try string()
                if members.contains(where: { $0.key == key }) {
                    throw Diagnostic(file: file, location: keyLocation, message: "duplicate key \"\(key)\"",
                                     sourceLine: bytes.withUnsafeBufferPointer { SourceText.line(containing: lineStart, in: $0) })
                }
                skipSpace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw failure("expected ':' after the key, found {found}") }
                offset += 1
                skipSpace()
                let v = try value()
                members.append(JSONNode.Member(key: key, keyLocation: keyLocation, value: v))
                skipSpace()
                guard offset < bytes.count else { throw failure("expected ',' or '}', found end of file") }
                if bytes[offset] == UInt8(ascii: ",") {
                    offset += 1
                    continue
                }
                if bytes[offset] == UInt8(ascii: "}") {
                    offset += 1
                    return JSONNode(value: .object(members), location: start)
                }
                throw failure("expected ',' or '}', found {found}")
            }
        case UInt8(ascii: "["):
            depth += 1
            defer { depth -= 1 }
            if depth > 100 { throw failure("nested too deeply") }
            offset += 1
            var items: [JSONNode] = []
            skipSpace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
                offset += 1
                return JSONNode(value: .array([]), location: start)
            }
            while true {
                skipSpace()
                items.append(try value())
                skipSpace()
                guard offset < bytes.count else { throw failure("expected ',' or ']', found end of file") }
                if bytes[offset] == UInt8(ascii: ",") {
                    offset += 1
                    continue
                }
                if bytes[offset] == UInt8(ascii: "]") {
                    offset += 1
                    return JSONNode(value: .array(items), location: start)
                }
                throw failure("expected ',' or ']', found {found}")
            }
        case UInt8(ascii: "\""):
            return JSONNode(value: .string(try string()), location: start)
        case UInt8(ascii: "t"): try literal("true"); return JSONNode(value: .bool(true), location: start)
        case UInt8(ascii: "f"): try literal("false"); return JSONNode(value: .bool(false), location: start)
        case UInt8(ascii: "n"): try literal("null"); return JSONNode(value: .null, location: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let begin = offset
            while offset < bytes.count, let c = Optional(bytes[offset]),
                  (c >= 48 && c <= 57) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                offset += 1
            }
            return JSONNode(value: .number(String(decoding: bytes[begin..<offset], as: UTF8.self)), location: start)
        default:
            throw failure("expected a value, found {found}", help: "strings take double quotes; JSON has no comments or trailing commas")
        }
    }

    private mutating func literal(_ word: String) throws(Diagnostic) {
        let w = Array(word.utf8)
        guard offset + w.count <= bytes.count, Array(bytes[offset..<offset + w.count]) == w else {
            throw failure("expected a value, found {found}")
        }
        offset += w.count
    }

    private mutating func string() throws(Diagnostic) -> String {
        let quoteLocation = (offset, here())
        offset += 1
        var out: [UInt8] = []
        while offset < bytes.count {
            let c = bytes[offset]
            if c == UInt8(ascii: "\"") {
                offset += 1
                guard let text = String(validating: out, as: UTF8.self) else { throw failure("string is not valid UTF-8") }
                return text
            }
            if c == 10 || c == 13 { break }
            if c == UInt8(ascii: "\\") {
                offset += 1
                guard offset < bytes.count else { break }
                let e = bytes[offset]
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "u"):
                    guard offset + 4 < bytes.count, let code = UInt32(String(decoding: bytes[offset + 1...offset + 4], as: UTF8.self), radix: 16) else {
                        throw failure("bad \\u escape")
                    }
                    offset += 4
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(code) ?? "\u{FFFD}")).utf8))
                default: throw failure("unknown escape '\\\(Character(Unicode.Scalar(e)))'")
                }
                offset += 1
                continue
            }
            out.append(c)
            offset += 1
        }
        offset = quoteLocation.0
        throw failure("unterminated string")
    }
}
