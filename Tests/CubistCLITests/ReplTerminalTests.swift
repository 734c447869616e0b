import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Drives the real REPL through a pseudo-terminal, as a person at a keyboard would: the
/// child gets a new session with the terminal as its controlling terminal and a clean
/// signal mask, so a typed Ctrl-C reaches it as SIGINT through the terminal.
final class Terminal {
    private(set) var pid: pid_t = 0
    private var master: Int32 = -1
    private(set) var screen = ""

    init(arguments: [String], environment: [String: String]) throws {
        var slave: Int32 = -1
        var size = winsize(ws_row: 50, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
        guard openpty(&master, &slave, nil, nil, &size) == 0, let name = ttyname(slave) else { throw POSIXError(.EIO) }
        let path = String(cString: name)
        close(slave)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGQUIT, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | setsid))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, master)
        // Opened after setsid, the terminal becomes the child's controlling terminal.
        posix_spawn_file_actions_addopen(&actions, 0, path, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)

        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        guard posix_spawn(&pid, binary, &actions, &attributes, argv, envp) == 0 else { throw POSIXError(.ECHILD) }
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        if pid > 0, waitpid(pid, nil, WNOHANG) == 0 {
            kill(pid, SIGKILL)
            waitpid(pid, nil, 0)
        }
        close(master)
    }

    func type(_ text: String) {
        var bytes = Array(text.utf8)
        _ = write(master, &bytes, bytes.count)
    }

    /// Reads until the screen holds `text` after `from`; false after `seconds`.
    @discardableResult
    func wait(for text: String, after from: String.Index? = nil, seconds: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let n = read(master, &buffer, buffer.count)
            // Bells (an ambiguous completion) are dropped so the text reads as typed.
            if n > 0 { screen += String(decoding: buffer[0..<n].filter { $0 != 7 }, as: UTF8.self) }
            if screen[(from ?? screen.startIndex)...].contains(text) { return true }
            if n <= 0 { usleep(20_000) }
        }
        return false
    }

    /// The exit status, waiting up to `seconds`; nil if it is still running.
    func exitStatus(seconds: Double = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while Date() < deadline {
            wait(for: "\u{0}", seconds: 0.05)
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                return (status >> 8) & 0xFF
            }
        }
        return nil
    }
}

@Suite(.serialized) struct ReplTerminalTests {
    @Test func aSessionAtTheKeyboard() throws {
        let dir = try temporaryDirectory()
        let long = (0..<3000).map { _ in "SELECT count(distinct customer.customer) BY product.product, time.month LIMIT 1;" }.joined(separator: "\n")
        try long.write(toFile: dir + "/long.cq", atomically: true, encoding: .utf8)
        let terminal = try Terminal(arguments: [], environment: ["CUBIST_HISTORY": dir + "/history", "TERM": "dumb",
                                                               "VISUAL": "", "EDITOR": "sed -i s/customer.segment/channel.type/"])

        #expect(terminal.wait(for: "cubist> "), "no prompt: \(terminal.screen)")
        // A statement over two lines, with the continuation prompt.
        var mark = terminal.screen.endIndex
        terminal.type("SELECT revenue\r")
        #expect(terminal.wait(for: "...> ", after: mark))
        terminal.type("  BY time.year;\r")
        #expect(terminal.wait(for: "4 rows", after: mark), "\(terminal.screen)")
        #expect(terminal.screen[mark...].contains("2025       13,163,942.32"))

        // Tab completion of a measure, a level, and a member.
        mark = terminal.screen.endIndex
        terminal.type("SELECT marg\t")
        #expect(terminal.wait(for: "margin", after: mark, seconds: 10), "\(terminal.screen[mark...].debugDescription)")
        terminal.type(" BY customer.seg\t")
        #expect(terminal.wait(for: "customer.segment", after: mark))
        terminal.type(" WHERE customer.tier = 'VI\t")
        #expect(terminal.wait(for: "'VIP'", after: mark))
        terminal.type(";\r")
        #expect(terminal.wait(for: "3 rows", after: mark), "\(terminal.screen)")

        // .edit opens the last statement in $EDITOR and runs what was saved.
        mark = terminal.screen.endIndex
        terminal.type(".edit\r")
        #expect(terminal.wait(for: "Online", after: mark), "\(terminal.screen[mark...])")
        #expect(terminal.screen[mark...].contains("SELECT margin BY channel.type  WHERE customer.tier = 'VIP' ;"))

        // Ctrl-C during a long run of queries: back at the prompt, and the session works.
        terminal.type(".output \(dir)/out.txt\r.read \(dir)/long.cq\r")
        // Ctrl-C once the run is under way: its first result is in the file.
        let started = Date()
        while Date().timeIntervalSince(started) < 60,
              ((try? FileManager.default.attributesOfItem(atPath: dir + "/out.txt")[.size] as? Int) ?? 0) == 0 {
            usleep(50_000)
        }
        mark = terminal.screen.endIndex
        terminal.type("\u{03}")
        #expect(terminal.wait(for: "cancelled", after: mark, seconds: 10), "\(terminal.screen)")
        terminal.type(".output\rSELECT lines;\r")
        #expect(terminal.wait(for: "100,000", after: mark), "\(terminal.screen)")

        // An error never ends the session.
        mark = terminal.screen.endIndex
        terminal.type("SELECT revnue;\r")
        #expect(terminal.wait(for: "did you mean 'revenue'?", after: mark))

        // Ctrl-D on an empty line leaves.
        // Ctrl-D at the prompt, as a person would: typed earlier, while the terminal is not
        // yet back in readline's raw mode, the kernel's line discipline would swallow it.
        let prompt = terminal.screen.range(of: "did you mean 'revenue'?", options: .backwards)?.upperBound ?? terminal.screen.startIndex
        #expect(terminal.wait(for: "cubist> ", after: prompt))
        usleep(200_000)
        mark = terminal.screen.endIndex
        terminal.type("\u{04}")
        let status = terminal.exitStatus(seconds: 60)
        #expect(status == 0, "no exit after Ctrl-D; screen since: \(terminal.screen[mark...].debugDescription); tail: \(terminal.screen.suffix(300).debugDescription)")
        let history = try String(contentsOfFile: dir + "/history", encoding: .utf8)
        #expect(history.contains("SELECT revenue BY time.year;\n"))
        #expect(history.contains("SELECT revnue;\n"))
        #expect(history.contains("SELECT margin BY channel.type  WHERE customer.tier = 'VIP' ;\n"))
    }
}
