#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The temporary file a save is writing, if any, so that a signal that ends the program
/// (SIGTERM, SIGHUP, Ctrl-C outside the REPL) removes it instead of leaving it behind.
///
/// The path is kept as a C string so the signal handler only calls `unlink`, which is
/// async-signal-safe.
public enum PendingFile {
    nonisolated(unsafe) private static var path: UnsafeMutablePointer<CChar>?

    /// Marks `file` as being written.
    public static func begin(_ file: String) {
        end()
        path = strdup(file)
    }

    /// The file is complete (renamed into place) or removed already.
    public static func end() {
        let old = path
        path = nil
        free(old)
    }

    /// Removes the file being written; for signal handlers.
    public static func removeNow() {
        if let p = path { unlink(p) }
    }

    /// Installs handlers for the signals that end the program: each removes the pending
    /// file, then lets the signal end the program as it would have.
    public static func installSignalCleanup() {
        for s in [SIGTERM, SIGHUP, SIGINT, SIGQUIT] {
            signal(s) { signal in
                PendingFile.removeNow()
                Glibc.signal(signal, SIG_DFL)
                raise(signal)
            }
        }
    }
}
