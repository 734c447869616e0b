import CubistCore
import CubistShell
import CubistStore

/// Opens `path` as `cubist PATH` does and runs `statements` with CSV output; returns what
/// was printed and what went to the error stream.
func runSource(_ path: String, _ statements: [String], options: SourceOptions = SourceOptions()) throws -> (out: String, err: String) {
    let cube = try Session.openCube(path, options: options)
    let output = StringOutput()
    var errors = ""
    let session = Session(cube: cube, output: output, errors: { errors += $0 + "\n" })
    session.format = .csv
    for s in statements { session.run(s, file: "<test>") }
    return (output.text, errors)
}

/// The error opening `path` gives, or nil when it opens.
func openSourceError(_ path: String, options: SourceOptions = SourceOptions()) -> Diagnostic? {
    do {
        _ = try Session.openCube(path, options: options)
        return nil
    } catch {
        return error
    }
}
