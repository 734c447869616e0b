import Foundation
import CubistCore
import CubistSyntax

/// Resource limits a query runs under, set per session with `SET name = value`:
/// `max_result_rows`, `memory_limit` and `timeout`. A query that would pass one stops with a
/// clear error and leaves the session as it was.
public struct QueryLimits: Sendable, Equatable {
    /// Most rows a result may have (detail, subtotal and total rows together).
    public var maxResultRows = 1_000_000
    /// Most bytes the scan's group tables may take, all threads together.
    public var memoryLimit = 4 << 30
    /// Longest a query may run; nil for no limit.
    public var timeout: Duration?

    /// Creates the default limits.
    public init() {}

    /// The settings `SET` knows.
    public static let names = ["max_result_rows", "memory_limit", "timeout"]

    /// Applies `SET name = value`; returns the setting as it now reads (`timeout = 30 s`).
    public mutating func set(_ name: String, _ value: Expr, at range: SourceRange) throws(Diagnostic) -> String {
        let key = name.lowercased()
        guard QueryLimits.names.contains(key) else {
            let near = Suggestions.didYouMean(name, in: QueryLimits.names)
            throw Diagnostic("unknown setting '\(name)'", at: range,
                             help: (near.map { $0 + " " } ?? "") + "The settings are \(QueryLimits.names.joined(separator: ", ")); a parameter is written with $, as in SET $month = '2024-03'")
        }
        let text: String
        switch value {
        case .number(let t, _), .string(let t, _): text = t.trimmingCharacters(in: .whitespaces)
        default: throw Diagnostic("\(key) takes a number or a quoted value", at: value.range, help: QueryLimits.example(key))
        }
        switch key {
        case "max_result_rows":
            guard let n = Int(text), n > 0 else {
                throw Diagnostic("max_result_rows must be a whole number above 0, not '\(text)'", at: value.range, help: QueryLimits.example(key))
            }
            maxResultRows = n
        case "memory_limit":
            guard let bytes = QueryLimits.bytes(text), bytes >= 1 << 20 else {
                throw Diagnostic("memory_limit must be a size of at least 1 MB, not '\(text)'", at: value.range, help: QueryLimits.example(key))
            }
            memoryLimit = bytes
        default:
            guard let d = QueryLimits.duration(text) else {
                throw Diagnostic("timeout must be a duration, not '\(text)'", at: value.range, help: QueryLimits.example(key))
            }
            timeout = d == .zero ? nil : d
        }
        return describe(key)
    }

    /// A setting as it reads now.
    public func describe(_ name: String) -> String {
        switch name {
        case "max_result_rows": return "max_result_rows = \(grouped(maxResultRows))"
        case "memory_limit": return "memory_limit = \(QueryLimits.size(memoryLimit))"
        default:
            guard let timeout else { return "timeout = off" }
            let ms = Double(timeout.components.seconds) * 1000 + Double(timeout.components.attoseconds) / 1e15
            return ms < 1000 ? "timeout = \(Int(ms)) ms" : "timeout = \(ms.truncatingRemainder(dividingBy: 1000) == 0 ? String(Int(ms / 1000)) : String(ms / 1000)) s"
        }
    }

    private static func example(_ key: String) -> String {
        switch key {
        case "max_result_rows": return "e.g. SET max_result_rows = 5000000"
        case "memory_limit": return "e.g. SET memory_limit = '8GB' (units: KB, MB, GB; bytes without a unit)"
        default: return "e.g. SET timeout = '30s' (units: ms, s, m; seconds without a unit; 0 turns it off)"
        }
    }

    /// `512MB`, `4 GB`, `1GiB`, `1048576`: bytes (units are powers of 1,024).
    static func bytes(_ text: String) -> Int? {
        let lower = text.lowercased().replacingOccurrences(of: " ", with: "")
        let units: [(String, Int)] = [("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("tib", 1 << 40),
                                      ("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("tb", 1 << 40), ("k", 1 << 10),
                                      ("m", 1 << 20), ("g", 1 << 30), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let n = Double(lower.dropLast(suffix.count)), n >= 0, n * Double(factor) < 9e18 else { return nil }
            return Int(n * Double(factor))
        }
        guard let n = Int(lower), n >= 0 else { return nil }
        return n
    }

    /// `30`, `30s`, `500ms`, `2m`, `1h`: a duration (seconds without a unit).
    static func duration(_ text: String) -> Duration? {
        let lower = text.lowercased().replacingOccurrences(of: " ", with: "")
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = lower, factor = 1.0
        for (suffix, f) in units where lower.hasSuffix(suffix) {
            number = String(lower.dropLast(suffix.count))
            factor = f
            break
        }
        guard let n = Double(number), n >= 0, n * factor < 1e9 else { return nil }
        return .milliseconds(Int64((n * factor * 1000).rounded()))
    }

    /// A size estimate as people read it: `4.9 MiB`, `320 KiB`, `1.2 GiB`.
    static func approximateSize(_ bytes: Int) -> String {
        if bytes >= 1 << 30 { return oneDecimal(Double(bytes) / Double(1 << 30)) + " GiB" }
        if bytes >= 1 << 20 { return oneDecimal(Double(bytes) / Double(1 << 20)) + " MiB" }
        return "\(max(1, bytes >> 10)) KiB"
    }

    private static func oneDecimal(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// A byte count as people read it: `512 MiB`, `4 GiB`.
    static func size(_ bytes: Int) -> String {
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(grouped(bytes)) bytes"
    }
}
