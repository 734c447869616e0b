import ArgumentParser
import CubistCore
import CubistEngine
import CubistFormats
import CubistGenerator
import CubistStore
import CubistSyntax
import Foundation

/// `cubist-bench`: times CSV load, snapshot save and load, and the ten benchmark queries
/// on generated CRM cubes; `serve` answers queries one at a time for the peer script.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cubist-bench",
        abstract: "Benchmark Cubist on generated CRM cubes (see docs/benchmarks.md).",
        subcommands: [Run.self, Serve.self, ParquetRead.self],
        defaultSubcommand: Run.self
    )
}

/// Wall-clock seconds of `body`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Resident memory of this process, in bytes (Linux; 0 elsewhere).
func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return digits * 1024
    }
    return 0
}

/// Runs a benchmark question: a SELECT or a customer analysis.
func answer(_ engine: QueryEngine, _ statement: Statement) throws -> ResultTable {
    try orFail { () throws(Diagnostic) in
        switch statement {
        case .select(let s): return try engine.run(s)
        case .analysis(let a, let r): return try engine.analysis(a, at: r)
        default: throw Diagnostic("a benchmark question is a SELECT or an analysis", at: statement.range)
        }
    }
}

/// Prints to stderr.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Fails the run with the diagnostic's text.
func orFail<T>(_ body: () throws(Diagnostic) -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw ValidationError(error.rendered)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Time loads and every benchmark question; print a table and write JSON.")

    @Option(help: "Fact row counts to benchmark, comma-separated.")
    var rows: String = "1000000,10000000"

    @Option(help: "Timed runs per measurement, after one warm-up; the median is reported.")
    var runs = 5

    @Option(help: "Query threads (0: every core).")
    var threads = 0

    @Option(help: "Where generated data and snapshots are kept (reused when present).")
    var data = ".build/bench-data"

    @Option(help: "Where the machine-readable results are written.")
    var json = ".build/bench-results.json"

    @Flag(help: "Skip the CSV load timing (the queries still need one load).")
    var skipLoad = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard sizes.count > 0 else { throw ValidationError("--rows must list row counts, e.g. --rows 1000000,10000000") }
    }

    var sizes: [Int] { rows.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 } }

    /// Timed runs after one warm-up.
    func timed(_ body: () throws -> Void) rethrows -> [Double] {
        _ = try seconds(body)
        var times: [Double] = []
        for _ in 0..<runs { times.append(try seconds(body)) }
        return times
    }

    func run() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let queryThreads = threads > 0 ? threads : cores
        note("measuring memory read bandwidth on \(queryThreads) threads...")
        let bandwidth = Bandwidth.measure(threads: queryThreads)
        var report = Report(machine: Machine.describe(), threads: queryThreads, runs: runs,
                            bandwidthGBps: bandwidth / 1e9, sizes: [])
        for n in sizes {
            let directory = "\(data)/crm-\(n)"
            if !FileManager.default.fileExists(atPath: directory + "/sales.csv") {
                note("generating \(n) rows into \(directory)...")
                var output = try orFail { () throws(Diagnostic) in try DirectoryOutput(directory: directory) }
                try CRMGenerator(rows: n, seed: 42).generate(into: &output)
            }
            var size = SizeReport(rows: n)
            var cube: Cube?
            if skipLoad {
                cube = try orFail { () throws(Diagnostic) in try CubeLoader.load(modelAt: directory) }
            } else {
                note("\(n) rows: CSV load x\(runs + 1)...")
                let times = try timed { cube = nil; cube = try orFail { () throws(Diagnostic) in try CubeLoader.load(modelAt: directory) } }
                size.csvLoadSeconds = median(times)
            }
            guard let cube else { return }
            if !skipLoad {
                // What judging the fact file's encoding and dialect costs, next to the whole load.
                let raw = try orFail { () throws(Diagnostic) in try FileBytes.read(directory + "/sales.csv") }
                let sniff = median(try timed { _ = try orFail { () throws(Diagnostic) in try CSVInput.prepare(raw, options: CSVOptions(), file: "sales.csv") } })
                note(String(format: "\(n) rows: sniffing the fact file takes %.1f ms, %.2f%% of the CSV load", sniff * 1000, sniff / (size.csvLoadSeconds ?? 1) * 100))
            }
            size.bytesPerRow = cube.facts.bytesPerRow
            let snapshot = "\(data)/crm-\(n).cube"
            note("\(n) rows: snapshot save and load x\(runs + 1)...")
            var snapshotBytes = 0
            size.snapshotSaveSeconds = median(try timed { snapshotBytes = try orFail { () throws(Diagnostic) in try Snapshot.save(cube, to: snapshot) } })
            size.snapshotBytes = snapshotBytes
            size.snapshotLoadSeconds = median(try timed { _ = try orFail { () throws(Diagnostic) in try Snapshot.load(snapshot, threads: threads) } })

            var engine = QueryEngine(cube: try orFail { () throws(Diagnostic) in try preparedForBench(cube) })
            engine.threads = queryThreads
            note("\(n) rows: queries x\(runs + 1)...")
            for q in benchQueries {
                let statement = try orFail { () throws(Diagnostic) in try Parser.parseStatement(q.text) }
                var result: ResultTable?
                let times = try timed { result = try answer(engine, statement) }
                let bytes = q.bytesRead(cube)
                size.queries.append(QueryReport(id: q.id, title: q.title, text: q.text, medianSeconds: median(times), minSeconds: times.min() ?? 0,
                                                resultRows: result?.rows.count ?? 0, bytesRead: bytes,
                                                bandwidthBoundSeconds: Double(bytes) / bandwidth))
            }
            report.sizes.append(size)
            print(size.table(bandwidth: bandwidth))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        note("wrote \(json)")
    }
}

struct ParquetRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parquet",
        abstract: "Time decoding a Parquet file (read into memory first) on 1 and 2 threads.")

    @Argument(help: "A Parquet file.")
    var file: String

    @Option(help: "Timed runs after one warm-up.")
    var runs = 5

    func run() throws {
        let bytes = try orFail { () throws(Diagnostic) in try FileBytes.read(file) }
        for threads in [1, 2] {
            var times: [Double] = []
            for r in 0...runs {
                let t = try seconds { _ = try orFail { () throws(Diagnostic) in try ParquetTable.read(bytes, file: file, threads: threads) } }
                if r > 0 { times.append(t) }
            }
            print(String(format: "decode on %d thread%@: %.3f s median of %d", threads, threads == 1 ? "" : "s", median(times), runs))
        }
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Load a cube, then answer benchmark questions named one per line on stdin with JSON lines (used by Tests/Peers).")

    @Argument(help: "A cube directory, cube.json, .csv or .cube snapshot.")
    var source: String

    @Option(help: "Query threads (0: every core).")
    var threads = 0

    func run() throws {
        var cube: Cube?
        let load = try seconds { cube = try orFail { () throws(Diagnostic) in try QueryEngine.computingDeclaredAttributes(of: CubeSource.open(source)) } }
        guard let cube else { return }
        var engine = QueryEngine(cube: try orFail { () throws(Diagnostic) in try preparedForBench(cube) })
        if threads > 0 { engine.threads = threads }
        reply(["event": "ready", "load_seconds": load, "rss_bytes": residentBytes(), "rows": cube.facts.rowCount])
        while let line = readLine() {
            let id = line.trimmingCharacters(in: .whitespaces)
            if id == "quit" || id.isEmpty { break }
            guard let q = benchQueries.first(where: { $0.id.caseInsensitiveEquals(id) }),
                  let statement = try? Parser.parseStatement(q.text) else {
                reply(["id": id, "error": "unknown query; use Q1 to Q\(benchQueries.count)"])
                continue
            }
            var result: ResultTable?
            let time = try seconds { result = try answer(engine, statement) }
            reply(["id": q.id, "seconds": time, "csv": result.map { Renderer.render($0, as: .csv) } ?? ""])
        }
    }

    func reply(_ object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

Bench.main()
