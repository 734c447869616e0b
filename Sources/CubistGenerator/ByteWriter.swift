/// Appends CSV text as bytes, with number and money formatting that needs no String.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 1 << 20) { bytes.reserveCapacity(capacity) }

    @inline(__always) mutating func byte(_ b: UInt8) { bytes.append(b) }
    @inline(__always) mutating func comma() { bytes.append(44) }
    @inline(__always) mutating func newline() { bytes.append(10) }

    mutating func text(_ s: String) {
        if s.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) {
            bytes.append(34)
            for b in s.utf8 {
                if b == 34 { bytes.append(34) }
                bytes.append(b)
            }
            bytes.append(34)
        } else {
            bytes.append(contentsOf: s.utf8)
        }
    }

    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    @inline(__always) mutating func int(_ value: Int) {
        var v = value
        if v < 0 {
            bytes.append(45)
            v = -v
        }
        if v < 10 {
            bytes.append(UInt8(48 + v))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 {
                d[n] = UInt8(48 + v % 10)
                v /= 10
                n += 1
            }
            while n > 0 {
                n -= 1
                bytes.append(d[n])
            }
        }
    }

    /// Cents as a decimal with two places: 12345 -> `123.45`.
    @inline(__always) mutating func cents(_ value: Int) {
        if value < 0 { bytes.append(45) }
        let v = value.magnitude
        int(Int(v / 100))
        bytes.append(46)
        let c = Int(v % 100)
        bytes.append(UInt8(48 + c / 10))
        bytes.append(UInt8(48 + c % 10))
    }
}
