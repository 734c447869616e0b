import CubistCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a loader reads its files from: the disk, or memory (the built-in sample).
public protocol FileSource: Sendable {
    /// The bytes of the file at `path` (relative to the source's base, or absolute).
    func read(_ path: String) throws(Diagnostic) -> [UInt8]
    /// The path as it is shown to the user in messages.
    func displayPath(_ path: String) -> String
}

/// Files on disk, with relative paths taken from a base directory.
public struct DiskFiles: FileSource {
    /// The directory relative paths start from.
    public let base: String

    /// Creates a source rooted at `base`.
    public init(base: String) { self.base = base }

    public func resolve(_ path: String) -> String {
        if path.hasPrefix("/") || base.isEmpty || base == "." { return path }
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }

    public func displayPath(_ path: String) -> String { resolve(path) }

    public func read(_ path: String) throws(Diagnostic) -> [UInt8] {
        try FileBytes.read(resolve(path))
    }
}

/// Files held in memory by name.
public struct MemoryFiles: FileSource {
    /// File contents by name.
    public let files: [String: [UInt8]]
    /// Shown as the directory in messages.
    public let label: String

    /// Creates a source from named contents.
    public init(_ files: [String: [UInt8]], label: String) {
        self.files = files
        self.label = label
    }

    public func displayPath(_ path: String) -> String { label + "/" + path }

    public func read(_ path: String) throws(Diagnostic) -> [UInt8] {
        guard let bytes = files[path] else {
            throw Diagnostic(file: displayPath(path), message: "no such file",
                             help: "the files here are: \(files.keys.sorted().joined(separator: ", "))")
        }
        return bytes
    }
}

/// Reads whole files with POSIX calls, reporting failures as diagnostics.
public enum FileBytes {
    /// The whole file at `path`.
    public static func read(_ path: String) throws(Diagnostic) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw Diagnostic(file: path, message: "cannot open file: \(reason.lowercased())",
                             help: errno == ENOENT ? "check the path; relative paths start from the current directory or the model's folder" : nil)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw Diagnostic(file: path, message: "cannot read file: \(String(cString: strerror(errno)).lowercased())")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw Diagnostic(file: path, message: "is a directory, not a file")
        }
        if (info.st_mode & S_IFMT) != S_IFREG {
            return try readStream(fd, path)
        }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(fd, buffer.baseAddress! + done, size - done)  // safe: inside the loop the buffer has room for the bytes still to read
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw Diagnostic(file: path, message: "cannot read file: \(String(cString: strerror(errno)).lowercased())")
            }
            if n == 0 { break }
            done += n
        }
        if done < size { bytes.removeLast(size - done) }
        return bytes
    }

    /// A file mapped into memory, read-only; unmapped when released.
    public final class Mapped {
        /// The file's bytes.
        public let bytes: UnsafeBufferPointer<UInt8>
        private let mapping: UnsafeMutableRawPointer?

        init(mapping: UnsafeMutableRawPointer, count: Int) {
            self.mapping = mapping
            bytes = UnsafeBufferPointer(start: mapping.assumingMemoryBound(to: UInt8.self), count: count)
        }

        init(copy: [UInt8]) {
            let storage = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, copy.count))
            _ = storage.initialize(from: copy)
            mapping = nil
            bytes = UnsafeBufferPointer(start: storage.baseAddress, count: copy.count)
        }

        deinit {
            if let mapping {
                munmap(mapping, bytes.count)
            } else {
                UnsafeMutableRawPointer(mutating: bytes.baseAddress)?.deallocate()
            }
        }
    }

    /// The file at `path`, mapped into memory (a regular, non-empty file) or read (anything else).
    public static func mapped(_ path: String) throws(Diagnostic) -> Mapped {
        guard isRegularFile(path) else { return Mapped(copy: try read(path)) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return Mapped(copy: try read(path)) }  // the read reports why
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else { return Mapped(copy: try read(path)) }
        let size = Int(info.st_size)
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else { return Mapped(copy: try read(path)) }
        return Mapped(mapping: address, count: size)
    }

    /// Most bytes read from a pipe, FIFO or device, which has no size to check beforehand.
    public static let streamLimit = 256 << 20

    /// A pipe, FIFO or device read to its end, refusing more than `streamLimit` bytes (an
    /// endless stream such as /dev/zero is an error, not a hang).
    private static func readStream(_ fd: Int32, _ path: String) throws(Diagnostic) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Diagnostic(file: path, message: "cannot read file: \(String(cString: strerror(errno)).lowercased())")
            }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
            if bytes.count > streamLimit {
                throw Diagnostic(file: path, message: "more than \(streamLimit >> 20) MiB from a stream (an endless or binary input?)",
                                 help: "give a regular file")
            }
        }
    }

    /// Up to the first `count` bytes of a regular file, to tell its kind (empty when it
    /// cannot be read: the full read then reports why).
    public static func head(_ path: String, _ count: Int) -> [UInt8] {
        guard isRegularFile(path) else { return [] }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, count) }
        return n > 0 ? Array(bytes[0..<n]) : []
    }

    /// Whether `path` names a regular file (not a pipe, FIFO, device or directory).
    public static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Whether `path` names an existing directory.
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether `path` exists.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}
