/// A seeded xoshiro256** generator: the same seed gives the same stream on every machine.
/// (The system generator is neither seedable nor portable.)
public struct SeededRandom {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Seeds the four state words from `seed` with SplitMix64.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// A uniform integer in `0..<n` (n > 0).
    @inline(__always)
    public mutating func below(_ n: Int) -> Int {
        Int(UInt64(n).multipliedFullWidth(by: next()).high)
    }

    /// A uniform Double in [0, 1).
    @inline(__always)
    public mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// An approximately standard normal value (Irwin–Hall: twelve uniforms less six),
    /// computed with additions only, so it is identical everywhere.
    public mutating func normal() -> Double {
        var sum = 0.0
        for _ in 0..<12 { sum += unit() }
        return sum - 6
    }

    /// A random index drawn with the given cumulative weights (last element = total).
    @inline(__always)
    public mutating func pick(cumulative: [Double]) -> Int {
        let target = unit() * cumulative[cumulative.count - 1]
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) >> 1
            if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

/// exp(x) from basic arithmetic only (range reduction by ln 2 and a Taylor polynomial),
/// so generated data does not depend on the platform's math library.
func portableExp(_ x: Double) -> Double {
    let ln2 = 0.693_147_180_559_945_3
    var k = (x / ln2).rounded(.down)
    if k > 1000 { k = 1000 }
    if k < -1000 { k = -1000 }
    let r = x - k * ln2
    var term = 1.0, sum = 1.0
    for n in 1...20 {
        term = term * r / Double(n)
        sum += term
    }
    var scale = 1.0
    let steps = Int(k.magnitude)
    for _ in 0..<steps { scale = k > 0 ? scale * 2 : scale / 2 }
    return sum * scale
}

/// Cumulative sums of weights, for `SeededRandom.pick(cumulative:)`.
func cumulative(_ weights: [Double]) -> [Double] {
    var total = 0.0
    return weights.map { total += $0; return total }
}
