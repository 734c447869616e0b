/// A value read with the Thrift compact protocol, the encoding of Parquet's footer and page
/// headers. Only what Parquet uses is kept; unknown fields are skipped by the reader.
indirect enum ThriftValue {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case binary([UInt8])
    case list([ThriftValue])
    case structure(ThriftStruct)
    case map

    var int: Int64? { if case .int(let v) = self { return v } else { return nil } }
    var bool: Bool? { if case .bool(let v) = self { return v } else { return nil } }
    var structure: ThriftStruct? { if case .structure(let s) = self { return s } else { return nil } }
    var list: [ThriftValue]? { if case .list(let l) = self { return l } else { return nil } }
    var string: String? { if case .binary(let b) = self { return String(decoding: b, as: UTF8.self) } else { return nil } }
}

/// A Thrift struct: its fields by id.
struct ThriftStruct {
    var fields: [Int16: ThriftValue] = [:]

    subscript(_ id: Int16) -> ThriftValue? { fields[id] }
    func int(_ id: Int16) -> Int64? { fields[id]?.int }
    func string(_ id: Int16) -> String? { fields[id]?.string }
    func structure(_ id: Int16) -> ThriftStruct? { fields[id]?.structure }
    func list(_ id: Int16) -> [ThriftValue] { fields[id]?.list ?? [] }
}

/// Why Thrift bytes could not be read; the caller names the file and the structure.
struct ThriftError: Error {
    let message: String
}

/// Reads compact-protocol structs from bytes. Every read is bounds-checked: a corrupt or
/// truncated footer is an error, never a crash; nesting is limited.
struct ThriftReader {
    // Valid while the caller's buffer is: readers live within one decoding call.
    private let bytes: UnsafeBufferPointer<UInt8>
    private(set) var position: Int
    private let end: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.position = start
        self.end = min(end ?? bytes.count, bytes.count)
    }

    private mutating func byte() throws(ThriftError) -> UInt8 {
        guard position < end else { throw ThriftError(message: "ends in the middle of a value") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func varint() throws(ThriftError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            guard shift < 64 else { throw ThriftError(message: "has a variable-length integer longer than 10 bytes") }
        }
    }

    private mutating func zigzag() throws(ThriftError) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// Reads one struct (up to its stop byte).
    mutating func readStruct(depth: Int = 0) throws(ThriftError) -> ThriftStruct {
        guard depth < 32 else { throw ThriftError(message: "nests structures too deeply") }
        var result = ThriftStruct()
        var lastID: Int16 = 0
        while true {
            let header = try byte()
            if header == 0 { return result }
            let type = header & 0x0F
            let delta = Int16(header >> 4)
            let id: Int16
            if delta != 0 {
                id = lastID &+ delta
            } else {
                let raw = try zigzag()
                guard let narrow = Int16(exactly: raw) else { throw ThriftError(message: "has a field id out of range") }
                id = narrow
            }
            lastID = id
            if type == 1 || type == 2 {
                result.fields[id] = .bool(type == 1)
            } else {
                result.fields[id] = try value(type, depth: depth)
            }
        }
    }

    private mutating func value(_ type: UInt8, depth: Int) throws(ThriftError) -> ThriftValue {
        switch type {
        case 1, 2: return .bool(try byte() == 1)
        case 3: return .int(Int64(Int8(bitPattern: try byte())))
        case 4, 5, 6: return .int(try zigzag())
        case 7:
            guard end - position >= 8 else { throw ThriftError(message: "ends in the middle of a value") }
            var bits: UInt64 = 0
            for k in 0..<8 { bits |= UInt64(bytes[position + k]) << (8 * UInt64(k)) }
            position += 8
            return .double(Double(bitPattern: bits))
        case 8:
            let length = try varint()
            guard length <= UInt64(end - position) else { throw ThriftError(message: "has a string longer than the bytes left") }
            defer { position += Int(length) }
            return .binary(Array(bytes[position..<position + Int(length)]))
        case 9, 10:
            let header = try byte()
            var count = UInt64(header >> 4)
            if count == 15 { count = try varint() }
            guard count <= UInt64(end - position) else { throw ThriftError(message: "has a list longer than the bytes left") }
            let elementType = header & 0x0F
            var items: [ThriftValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<count { items.append(try value(elementType, depth: depth + 1)) }
            return .list(items)
        case 11:
            let count = try varint()
            guard count <= UInt64(end - position) else { throw ThriftError(message: "has a map longer than the bytes left") }
            if count > 0 {
                let types = try byte()
                for _ in 0..<count {
                    _ = try value(types >> 4, depth: depth + 1)
                    _ = try value(types & 0x0F, depth: depth + 1)
                }
            }
            return .map
        case 12:
            return .structure(try readStruct(depth: depth + 1))
        default:
            throw ThriftError(message: "has an unknown field type \(type)")
        }
    }
}
