import CubistCore
import Foundation
import CubistStore
#if canImport(Glibc)
import Glibc
#endif

/// Writes generated files into a directory, streaming each file as it is produced.
public struct DirectoryOutput: GeneratorOutput {
    /// The target directory (created if missing).
    public let directory: String
    private var handle: UnsafeMutablePointer<FILE>?
    private var currentPath = ""

    /// Creates the directory if needed.
    public init(directory: String) throws(Diagnostic) {
        self.directory = directory
        if !FileBytes.exists(directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw Diagnostic(file: directory, message: "cannot create directory: \(error.localizedDescription)")
            }
        } else if !FileBytes.isDirectory(directory) {
            throw Diagnostic(file: directory, message: "exists and is not a directory", help: "name a new or existing directory with --out")
        }
    }

    public mutating func begin(_ name: String) throws {
        currentPath = directory + "/" + name
        guard let h = fopen(currentPath, "wb") else {
            throw Diagnostic(file: currentPath, message: "cannot write file: \(String(cString: strerror(errno)).lowercased())")
        }
        handle = h
    }

    public mutating func write(_ bytes: [UInt8]) throws {
        guard let handle else { return }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        if written != bytes.count {
            throw Diagnostic(file: currentPath, message: "cannot write file: \(String(cString: strerror(errno)).lowercased())")
        }
    }

    public mutating func end() throws {
        if let handle, fclose(handle) != 0 {
            throw Diagnostic(file: currentPath, message: "cannot finish writing: \(String(cString: strerror(errno)).lowercased())")
        }
        handle = nil
    }
}

/// The built-in CRM sample: the cube in `datasets/crm`, regenerated in memory from the
/// same rows and seed, so `cubist` works from any directory without finding the files.
public enum CRMSample {
    /// Fact rows of the sample.
    public static let rows = 100_000
    /// Seed of the sample.
    public static let seed: UInt64 = 42
    /// How the sample is named in messages.
    public static let label = "datasets/crm"

    /// The sample's files, byte-identical to `datasets/crm`.
    public static func files() -> [String: [UInt8]] {
        var output = MemoryOutput()
        // MemoryOutput never throws.
        try? CRMGenerator(rows: rows, seed: seed).generate(into: &output)
        return output.files
    }

    /// The sample, loaded.
    public static func cube() throws(Diagnostic) -> Cube {
        let files = files()
        let model = try ModelParser.parse(files["cube.json"] ?? [], file: label + "/cube.json")
        // The sample's files are generated, not the user's: how they were read is no news.
        return try CubeLoader.load(model: model, files: MemoryFiles(files, label: label), origin: "built-in sample (\(label))").describingFiles([])
    }
}
