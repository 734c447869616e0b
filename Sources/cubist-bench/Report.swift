import Foundation

/// One query's timing at one size.
struct QueryReport: Codable {
    var id: String
    var title: String
    var text: String
    var medianSeconds: Double
    var minSeconds: Double
    var resultRows: Int
    /// Bytes of fact columns the scan streams.
    var bytesRead: Int
    /// `bytesRead` at the measured memory bandwidth: no scan can be faster.
    var bandwidthBoundSeconds: Double
}

/// Everything measured at one row count.
struct SizeReport: Codable {
    var rows: Int
    var csvLoadSeconds: Double?
    var snapshotSaveSeconds: Double?
    var snapshotLoadSeconds: Double?
    var snapshotBytes: Int?
    var bytesPerRow: Double?
    var queries: [QueryReport] = []

    init(rows: Int) { self.rows = rows }

    func table(bandwidth: Double) -> String {
        func ms(_ s: Double?) -> String { s.map { String(format: "%9.1f ms", $0 * 1000) } ?? "        -   " }
        var lines = ["", "CRM cube, \(rows) fact rows (\(String(format: "%.2f", bytesPerRow ?? 0)) bytes per row)"]
        lines.append("  CSV load        \(ms(csvLoadSeconds))")
        lines.append("  snapshot save   \(ms(snapshotSaveSeconds))  (\(String(format: "%.1f", Double(snapshotBytes ?? 0) / 1_048_576)) MiB)")
        lines.append("  snapshot load   \(ms(snapshotLoadSeconds))")
        lines.append("  query   median        min   rows   MB read   bound  x bound")
        for q in queries {
            lines.append(String(format: "  %-4@ %9.1f ms %7.1f ms %6d %9.1f %7.2f %8.1f", q.id as NSString, q.medianSeconds * 1000, q.minSeconds * 1000,
                                q.resultRows, Double(q.bytesRead) / 1e6, q.bandwidthBoundSeconds * 1000, q.medianSeconds / max(q.bandwidthBoundSeconds, 1e-9)))
        }
        return lines.joined(separator: "\n")
    }
}

/// The whole run.
struct Report: Codable {
    var machine: Machine
    var threads: Int
    var runs: Int
    var bandwidthGBps: Double
    var sizes: [SizeReport]
}

/// The facts about the machine that a figure needs next to it.
struct Machine: Codable {
    var cpu: String
    var cores: Int
    var memoryGiB: Double
    var kernel: String
    var date: String

    static func describe() -> Machine {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let cpu = info.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let kernel = ((try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let formatter = ISO8601DateFormatter()
        return Machine(cpu: cpu, cores: ProcessInfo.processInfo.activeProcessorCount,
                       memoryGiB: Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824, kernel: kernel,
                       date: formatter.string(from: Date()))
    }
}

/// Memory read bandwidth: the best of several parallel sums over a buffer far larger than
/// the caches.
enum Bandwidth {
    final class Slots: @unchecked Sendable {
        var sums: [UInt64]
        init(_ n: Int) { sums = [UInt64](repeating: 0, count: n) }
    }

    /// Bytes per second.
    static func measure(threads: Int, bytes: Int = 1 << 30) -> Double {
        let count = bytes / 8
        let buffer = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: count)
        defer { buffer.deallocate() }
        for i in 0..<count { buffer[i] = UInt64(i) }
        let slots = Slots(threads)
        let base = UInt(bitPattern: buffer.baseAddress)
        var best = Double.infinity
        for _ in 0..<5 {
            let time = seconds {
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    let part = count / threads
                    let start = UnsafePointer<UInt64>(bitPattern: base)! + t * part  // safe: the benchmark maps the bandwidth buffer itself; no user input
                    let n = t == threads - 1 ? count - t * part : part
                    var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0, d: UInt64 = 0
                    var i = 0
                    while i + 4 <= n {
                        a &+= start[i]; b &+= start[i + 1]; c &+= start[i + 2]; d &+= start[i + 3]
                        i += 4
                    }
                    slots.sums[t] = a &+ b &+ c &+ d
                }
            }
            best = min(best, time)
        }
        return Double(count * 8) / best
    }
}
