import Foundation
import Testing

/// The built `cubist` executable, next to the test bundle.
let binary: String = {
    var url = Bundle.main.bundleURL
    for _ in 0..<4 {
        let candidate = url.appendingPathComponent("cubist").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        url.deleteLastPathComponent()
    }
    var root = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { root.deleteLastPathComponent() }
    return root.appendingPathComponent(".build/debug/cubist").path
}()

struct Run {
    let status: Int32
    let stdout: String
    let stderr: String
}

func cubist(_ arguments: [String], stdin: String? = nil, directory: String? = nil, environment extra: [String: String] = [:]) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    var environment = ProcessInfo.processInfo.environment
    environment["CUBIST_HISTORY"] = NSTemporaryDirectory() + "/cubist-test-history"
    process.environment = environment.merging(extra) { $1 }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "/cubist-cli-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite(.serialized) struct CommandLineTests {
    @Test func builtInSampleDescribesItself() throws {
        let run = try cubist(["-c", ".stats"], directory: NSTemporaryDirectory())
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("cube sales: 100,000 fact rows in 2 chunks of 65,536 rows\nfact storage: 23.00 bytes per fact row"))
        #expect(run.stdout.contains("customer   customer                     2,500"))
        #expect(run.stdout.contains("time       day                          1,461"))
        #expect(run.stderr.isEmpty)
    }

    @Test func schemaFromStdinWhenNotATerminal() throws {
        let run = try cubist([], stdin: ".schema channel\n")
        #expect(run.status == 0)
        #expect(run.stdout == "dimension channel (table channels.csv, key channel_id)\n  levels: type (3) > channel (8)\n")
    }

    @Test func errorsAreLocatedAndExitWithOne() throws {
        let run = try cubist(["-c", ".stats\n.schem"])
        #expect(run.status == 1)
        #expect(run.stderr == "<command>:2:1: error: unknown command '.schem'\n 2 | .schem\n   | ^^^^^^\nhelp: did you mean '.schema'?\n")
        let batch = try temporaryDirectory() + "/report.cq"
        try ".stats\n\n  SELECT revenu BY time.year;\n".write(toFile: batch, atomically: true, encoding: .utf8)
        let file = try cubist(["-f", batch])
        #expect(file.status == 1)
        #expect(file.stderr == "\(batch):3:10: error: unknown measure 'revenu'\n 3 |   SELECT revenu BY time.year;\n   |          ^^^^^^\nhelp: did you mean 'revenue'?\n")
    }

    // Expected figures cross-checked with DuckDB on datasets/crm (DECIMAL(18,2) sums).
    @Test func queriesPrintCSVWhenPipedAndTablesOnRequest() throws {
        let csv = try cubist(["-c", "SELECT revenue, orders BY time.year WHERE channel.type = 'Online' WITH TOTALS;"])
        #expect(csv.status == 0)
        #expect(csv.stdout == """
            time.year,revenue,orders
            2022,4659901.96,4676
            2023,5535876.92,5326
            2024,6275527.78,6141
            2025,6582775.90,6793
            ,23054082.56,22936

            """)
        let table = try cubist(["--format", "table", "-c", "SELECT revenue, margin_pct BY channel.type ORDER BY revenue DESC LIMIT 2"])
        #expect(table.stdout == """
            channel.type        revenue  margin_pct
            ------------  -------------  ----------
            Online        23,054,082.56       29.7%
            Direct        12,194,246.04       30.7%
            2 rows

            """)
        let report = try cubist(["--param", "month=2025-12", "-c", "SELECT orders WHERE time.month = $month"])
        #expect(report.stdout == "orders\n1902\n")
        #expect(try cubist(["--param", "month", "-c", "SELECT 1"]).status == 2)
        let bad = try cubist(["--format", "xml", "-c", "SELECT revenue"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--format"))
    }

    @Test func continueOnErrorRunsTheRest() throws {
        let run = try cubist(["--continue-on-error", "-c", ".nope", "-c", ".cubes"])
        #expect(run.status == 1)
        #expect(run.stdout.hasSuffix("sales  100,000           4        10  built-in sample (datasets/crm)  yes\n"))
    }

    @Test func badSourceAndBadUsageExitWithTwo() throws {
        let missing = try cubist(["/no/such/cube", "-c", ".stats"])
        #expect(missing.status == 2)
        #expect(missing.stderr.hasPrefix("/no/such/cube: error: no such file or directory\n"))
        let flag = try cubist(["--bogus"])
        #expect(flag.status == 2)
        #expect(flag.stderr.contains("Unknown option '--bogus'"))
        let rows = try cubist(["generate", "--rows", "0", "--out", "x"])
        #expect(rows.status == 2)
        #expect(rows.stderr.contains("--rows must be between 1 and 2000000000, got 0"))
        // A value may begin with '-': a negative number gets a range message, not "missing value".
        let threads = try cubist(["--threads", "-1", "-c", "SELECT lines;"])
        #expect(threads.status == 2)
        #expect(threads.stderr.contains("--threads must be between 1 and 1024, got -1"))
        let seed = try cubist(["generate", "--rows", "10", "--seed", "-1", "--out", "x"])
        #expect(seed.status == 2)
        #expect(seed.stderr.contains("--seed must be at least 0, got -1"))
    }

    /// Thousands of -c options run in linear time (ArgumentParser alone was quadratic).
    @Test func thousandsOfCommandOptions() throws {
        let started = Date()
        let run = try cubist(Array(repeating: ["-c", "SELECT lines;"], count: 20_000).flatMap { $0 })
        #expect(run.status == 0)
        #expect(run.stdout.components(separatedBy: "\n").count == 40_001)
        #expect(Date().timeIntervalSince(started) < 60)
    }

    @Test func aCommandMayBeginWithAComment() throws {
        let run = try cubist(["-c", "-- the number of sales\nSELECT lines;", "-c", "--another\nSELECT customers;"])
        #expect(run.status == 0)
        #expect(run.stdout == "lines\n100000\ncustomers\n2212\n")
    }

    @Test func versionAndHelp() throws {
        let version = try cubist(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout == "0.1.0\n")
        let help = try cubist(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("generate"))
    }

    @Test func generateThenOpenTheDirectoryTheModelAndABrokenCopy() throws {
        let directory = try temporaryDirectory()
        let generated = try cubist(["generate", "--rows", "5000", "--seed", "9", "--out", directory + "/crm"])
        #expect(generated.status == 0)
        #expect(generated.stderr.hasPrefix("wrote cube.json, customers.csv, products.csv, channels.csv, sales.csv to \(directory)/crm: 5000 sales rows, 125 customers, 60 products"))
        for source in [directory + "/crm", directory + "/crm/cube.json"] {
            let run = try cubist([source, "-c", ".cubes"])
            #expect(run.status == 0)
            #expect(run.stdout.contains("sales  5,000           4        10  \(source)"))
        }
        // Break one key and the load fails with the file, line and column.
        let sales = directory + "/crm/sales.csv"
        var text = try String(contentsOfFile: sales, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var fields = lines[3].split(separator: ",").map(String.init)
        fields[3] = "99999"
        lines[3] = fields.joined(separator: ",")
        text = lines.joined(separator: "\n")
        try text.write(toFile: sales, atomically: true, encoding: .utf8)
        let broken = try cubist([directory + "/crm", "-c", ".cubes"])
        #expect(broken.status == 2)
        #expect(broken.stderr.hasPrefix("\(directory)/crm/sales.csv:4:\(fields[0].count + fields[1].count + fields[2].count + 4): error: product_id '99999' has no row in \(directory)/crm/products.csv\n"))
    }

    @Test func aSingleCSVIsAnAdHocCube() throws {
        let directory = try temporaryDirectory()
        try "day,store,amount\n2024-01-02,Gangnam,10.5\n2024-01-03,Mapo,4\n".write(toFile: directory + "/export.csv", atomically: true, encoding: .utf8)
        let run = try cubist(["export.csv", "-c", ".schema"], directory: directory)
        #expect(run.status == 0)
        #expect(run.stdout.contains("dimension day (time, from column day)\n  levels: year (1) > quarter (4) > month (12) > day (366)"))
        #expect(run.stdout.contains("dimension store (columns of the fact file)\n  levels: store (2)"))
        #expect(run.stdout.hasPrefix("read export.csv: utf-8, delimiter ',', quote '\"', decimal point, header; dates in day: %Y-%m-%d\n"))
        #expect(run.stdout.contains("  amount      sum        sum(amount)           model\n  rows        count      count(*)     integer  model\n  amount_min  min        min(amount)           model\n"))
        // A CSV whose first column name starts like a snapshot's magic is still a CSV.
        for name in ["magic.csv", "magic.txt"] {
            try "CUBISTSNAPSHOT_ID,amount\nA,1\nB,2\n".write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
            let magic = try cubist([name, "-c", "SELECT amount BY CUBISTSNAPSHOT_ID;"], directory: directory)
            #expect(magic.status == 0, "\(magic.stderr)")
            #expect(magic.stdout == "CUBISTSNAPSHOT_ID,amount\nA,1\nB,2\n")
        }
    }

    @Test func saveThenOpenTheSnapshotAndLoadIt() throws {
        let directory = try temporaryDirectory()
        let query = "SELECT revenue, customers BY customer.region WITH TOTALS"
        let saved = try cubist(["-c", "SAVE 'crm.cube'", "-c", query], directory: directory)
        #expect(saved.status == 0)
        #expect(saved.stderr.hasPrefix("saved cube 'sales' to crm.cube: 100,000 facts, 2.4 MiB in "))
        let reopened = try cubist(["crm.cube", "-c", query], directory: directory)
        #expect(reopened.status == 0)
        #expect(reopened.stdout == saved.stdout)
        #expect(reopened.stdout.hasSuffix(",46027631.57,2212\n"))
        // LOAD of a snapshot in a session, then a bad SAVE that changes nothing.
        let session = try cubist(["-c", "LOAD 'crm.cube' AS copy", "-c", "SAVE 'missing/x.cube'", "-c", query],
                                 directory: directory)
        #expect(session.status == 1)
        #expect(session.stderr.contains("loaded cube 'copy': 100,000 facts from crm.cube"))
        #expect(session.stderr.contains("missing/x.cube: error: cannot write snapshot: no such file or directory\nhelp: the folder 'missing' does not exist; create it or save elsewhere"))
        // A damaged snapshot as SOURCE exits with 2 and says so.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/crm.cube"))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: directory + "/bad.cube"))
        let bad = try cubist(["bad.cube", "-c", query], directory: directory)
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("bad.cube: error: snapshot is corrupt: data block "))
    }
}

/// Runs `script` in /bin/sh with `$0` set to the cubist binary.
@discardableResult
func shell(_ script: String, timeout: TimeInterval = 60) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", script, binary]
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

@Suite(.serialized) struct ShellAttackTests {
    /// SAVE writes only where a snapshot belongs: never over a device, a FIFO, a dangling
    /// link, a file that is not a snapshot (unless OVERWRITE) or the cube's own source files;
    /// it keeps a replaced file's mode, handles long names, and leaves no temporary file.
    @Test func saveRefusesWhatItMustNotReplace() throws {
        let dir = try temporaryDirectory()
        try shell("mkfifo \(dir)/fifo && ln -s \(dir)/nowhere \(dir)/dangling && printf 'id,amount\\nA,1\\n' > \(dir)/data.csv")
        let null = try cubist(["-c", "SAVE '/dev/null'"])
        #expect(null.status == 1)
        #expect(null.stderr.hasPrefix("/dev/null: error: is a device, not a file"))
        #expect(try shell("test -c /dev/null && echo device").stdout == "device\n")
        let fifo = try cubist(["-c", "SAVE 'fifo'"], directory: dir)
        #expect(fifo.stderr.hasPrefix("fifo: error: is a FIFO, not a file"))
        let dangling = try cubist(["-c", "SAVE 'dangling'"], directory: dir)
        #expect(dangling.stderr.hasPrefix("dangling: error: is a symbolic link to a file that does not exist"))
        // A CSV is replaced only with OVERWRITE, and never the cube's own source.
        let csv = try cubist(["-c", "SAVE 'data.csv'"], directory: dir)
        #expect(csv.status == 1)
        #expect(csv.stderr.contains("exists and is not a Cubist snapshot; SAVE replaces only snapshots"))
        #expect(csv.stderr.contains("help: name another file, or write SAVE 'data.csv' OVERWRITE to replace it"))
        #expect(try String(contentsOfFile: dir + "/data.csv", encoding: .utf8) == "id,amount\nA,1\n")
        let own = try cubist(["data.csv", "-c", "SAVE 'data.csv' OVERWRITE"], directory: dir)
        #expect(own.status == 1)
        #expect(own.stderr.contains("is one of the cube's own source files"))
        let replaced = try cubist(["-c", "SAVE 'data.csv' OVERWRITE"], directory: dir)
        #expect(replaced.status == 0, "\(replaced.stderr)")
        // A snapshot is replaced without a word, keeping its mode, also through a link.
        try shell("cd \(dir) && chmod 600 data.csv && ln -s data.csv link.cube")
        let again = try cubist(["-c", "SAVE 'link.cube'"], directory: dir)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try shell("stat -c '%a %F' \(dir)/data.csv \(dir)/link.cube").stdout == "600 regular file\n777 symbolic link\n")
        // A 250-byte name fits: the temporary name is short.
        let long = String(repeating: "n", count: 244) + ".cube"
        let named = try cubist(["-c", "SAVE '\(long)'"], directory: dir)
        #expect(named.status == 0, "\(named.stderr)")
        // A stale temporary file of a process that is gone is removed by the next SAVE;
        // none of this SAVE's remains.
        try shell("touch \(dir)/.cubist-save-999999-1.tmp")
        #expect(try cubist(["-c", "SAVE 'fresh.cube'"], directory: dir).status == 0)
        #expect(try shell("ls -A \(dir) | grep -c cubist-save || true").stdout == "0\n")
    }

    /// Unclear errors made clear: a byte-order mark, a closed stdout, a number out of range
    /// in a model expression, tabs and newlines in members, years before 1000.
    @Test func smallThingsThatWereUnclear() throws {
        let dir = try temporaryDirectory()
        try shell(#"printf '\xef\xbb\xbfSELECT lines;\n' > "# + dir + "/bom.cq")
        let bom = try cubist(["-f", "bom.cq"], directory: dir)
        #expect(bom.status == 0 && bom.stdout == "lines\n100000\n", "\(bom.stderr)")
        let closed = try shell(#""$0" -c 'SELECT lines;' >&-"#)
        #expect(closed.status == 2)
        #expect(closed.stderr == "cubist: standard output is closed; results have nowhere to go (give --output FILE, or redirect it)\n")
        try shell(#"mkdir "# + dir + #"/m && printf 'day,store,amount\n2024-01-02,"Gang\tnam\nX",10.5\n0999-03-04,Mapo,2\n' > "# + dir + "/m/f.csv")
        let model = #"{"name":"c","facts":"f.csv","dimensions":[{"name":"store","levels":["store"]},{"name":"day","type":"time","column":"day"}],"measures":[{"name":"a","column":"amount","aggregate":"sum"},{"name":"big","expression":"a * 1e400"}]}"#
        try model.write(toFile: dir + "/m/cube.json", atomically: true, encoding: .utf8)
        let range = try cubist(["m", "-c", "SELECT a;"], directory: dir)
        #expect(range.status == 2)
        #expect(range.stderr.hasPrefix("m/cube.json:1:217: error: in measure 'big': number 1e400 is out of range"))
        try model.replacingOccurrences(of: "1e400", with: "2").write(toFile: dir + "/m/cube.json", atomically: true, encoding: .utf8)
        let table = try cubist(["m", "--format", "table", "-c", "SELECT a BY store;", "-c", "SELECT a BY day.year, day.quarter;"], directory: dir)
        #expect(table.stdout == """
            store            a
            ------------  ----
            Gang\\tnam\\nX  10.5
            Mapo           2.0
            2 rows
            day.year  day.quarter     a
            --------  -----------  ----
            0999      0999-Q1       2.0
            2024      2024-Q1      10.5
            2 rows

            """)
    }

    @Test func sigtermDuringSaveLeavesNoTemporaryFile() throws {
        let dir = try temporaryDirectory()
        try shell("\"$0\" generate --rows 2000000 --seed 3 --out \(dir)/big --quiet")
        // Start a save of 2M rows, stop it with SIGTERM while it writes, and look for leftovers.
        let run = try shell("""
            cd \(dir) && ("$0" big -c "SAVE 'big.cube'" & pid=$!; \
            for i in $(seq 1 400); do ls -A | grep -q cubist-save && break; sleep 0.05; done; \
            kill -TERM $pid; wait $pid; echo "status $?"); ls -A | grep -c cubist-save || true
            """)
        #expect(run.stdout.hasSuffix("0\n"), "\(run.stdout)")
    }

    /// Standard input closed, a directory, endless, a pipe or a FIFO for -f and .read: a
    /// clear error or the statements run; never a crash, a hang or an empty success.
    @Test func everyKindOfInputStream() throws {
        let closed = try shell(#""$0" <&-"#)
        #expect(closed.status == 2)
        #expect(closed.stderr == "<stdin>: error: cannot read: standard input is closed\nhelp: give statements on standard input, with -f FILE, or with -c\n")
        let directory = try shell(#""$0" < /tmp"#)
        #expect(directory.status == 2)
        #expect(directory.stderr.hasPrefix("<stdin>: error: cannot read: is a directory"))
        let directoryFile = try shell(#""$0" -f - < /tmp"#)
        #expect(directoryFile.status == 2)
        let endless = try shell(#""$0" < /dev/zero"#)
        #expect(endless.status == 2)
        #expect(endless.stderr.hasPrefix("<stdin>:1:1: error: a statement longer than 16 MiB"))
        let substituted = try shell(#""$0" -f <(echo 'SELECT lines;')"#)
        #expect(substituted.status == 0)
        #expect(substituted.stdout == "lines\n100000\n")
        let devStdin = try shell(#"echo 'SELECT customers;' | "$0" -f /dev/stdin"#)
        #expect(devStdin.stdout == "customers\n2212\n")
        let directoryOfTests = try temporaryDirectory()
        let fifo = try shell("mkfifo \(directoryOfTests)/q && (echo 'SELECT lines;' > \(directoryOfTests)/q &) && \"$0\" -c '.read \(directoryOfTests)/q'")
        #expect(fifo.status == 0)
        #expect(fifo.stdout == "lines\n100000\n")
        let zeroRead = try shell(#""$0" -c '.read /dev/zero'"#)
        #expect(zeroRead.status == 1)
        #expect(zeroRead.stderr.contains("more than 256 MiB from a stream"))
    }

    @Test func aClosedStdoutEndsQuietly() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-c", "SELECT revenue BY customer.customer, product.product"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read the header, then go away like `head -1` does.
        let first = out.fileHandleForReading.readData(ofLength: 16)
        try out.fileHandleForReading.close()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(String(decoding: first, as: UTF8.self).hasPrefix("customer.custom"))
        #expect(errors.isEmpty, "stderr: \(String(decoding: errors, as: UTF8.self))")
        let quiet = (process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGPIPE)
            || (process.terminationReason == .exit && process.terminationStatus == 141)
        #expect(quiet, "ended with \(process.terminationReason) \(process.terminationStatus)")
    }

    @Test func unreadableBatchFilesAndUnwritableOutputs() throws {
        let missing = try cubist(["-f", "/nonexistent/report.cq"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "/nonexistent/report.cq: error: cannot open file: no such file or directory\nhelp: check the path; relative paths start from the current directory or the model's folder\n")
        let directory = try temporaryDirectory()
        let folder = try cubist(["-f", directory])
        #expect(folder.status == 2)
        #expect(folder.stderr == "\(directory): error: is a directory, not a file\n")
        let output = try cubist(["-c", ".output /nonexistent/out.csv", "-c", "SELECT orders"])
        #expect(output.status == 1)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.hasPrefix("<command>:1:9: error: cannot write to '/nonexistent/out.csv': no such file or directory\n"))
        #expect(output.stderr.hasSuffix("help: name a file in a directory you can write to\n"))
    }

    @Test func aFullDiskIsAClearErrorWithStatusOne() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
        let run = try cubist(["-c", ".output /dev/full", "-c", "SELECT revenue BY customer.customer"])
        #expect(run.status == 1)
        #expect(run.stderr == "cubist: cannot write to '/dev/full': no space left on device; the results before this one are complete\n")
    }

    @Test func sigtermMidBatchLeavesWrittenResultsWhole() throws {
        let directory = try temporaryDirectory()
        let fifo = directory + "/wait.cq"
        #expect(mkfifo(fifo, 0o600) == 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        // The batch writes one result to a file, then blocks reading a FIFO nobody writes.
        process.arguments = ["-c", ".output result.csv", "-c", "SELECT revenue BY customer.region WITH TOTALS", "-c", ".read wait.cq"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let result = directory + "/result.csv"
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !((try? String(contentsOfFile: result, encoding: .utf8))?.hasSuffix(",46027631.57\n") ?? false) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGTERM)
        let text = try String(contentsOfFile: result, encoding: .utf8)
        #expect(text.hasPrefix("customer.region,revenue\nBusan,5168423.44\n"))
        #expect(text.hasSuffix("Seoul,13345286.41\n,46027631.57\n"))
    }
}
