import CubistCore
import CubistEngine
import CubistSyntax
import CubistFormats
import CubistCharts
import Foundation
import CubistStore

/// The dot commands.
extension Session {
    struct DotCommand {
        let name: String
        let arguments: String
        let summary: String
    }

    static let dotCommands: [DotCommand] = [
        DotCommand(name: ".help", arguments: "[TOPIC]", summary: "list the dot commands, statements and functions; with a statement or function name, that one"),
        DotCommand(name: ".stats", arguments: "", summary: "rows, members per level and bytes per fact row of the cube"),
        DotCommand(name: ".schema", arguments: "[DIM]", summary: "dimensions with their levels, and measures"),
        DotCommand(name: ".cubes", arguments: "", summary: "the loaded cube and where it came from"),
        DotCommand(name: ".timer", arguments: "on|off", summary: "show how long each statement takes"),
        DotCommand(name: ".mode", arguments: "FORMAT", summary: "result format: " + OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")),
        DotCommand(name: ".chart", arguments: "KIND", summary: "draw the last result as a chart: " + ChartKind.allCases.map(\.rawValue).joined(separator: ", ")),
        DotCommand(name: ".output", arguments: "[FILE]", summary: "send results to FILE; alone, back to the screen"),
        DotCommand(name: ".once", arguments: "FILE", summary: "send the next result to FILE"),
        DotCommand(name: ".read", arguments: "FILE", summary: "run the statements in FILE"),
        DotCommand(name: ".edit", arguments: "", summary: "edit the last statement in $EDITOR; runs it when you save (REPL only)"),
        DotCommand(name: ".maxrows", arguments: "N", summary: "show at most N rows in table mode (first and last); 0 shows all"),
        DotCommand(name: ".quit", arguments: "", summary: "leave (also .exit or Ctrl-D)"),
        DotCommand(name: ".exit", arguments: "", summary: "leave"),
    ]

    func runDotCommand(_ piece: InputPiece, file: String, sourceText: String) throws(Diagnostic) {
        let parts = piece.text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let name = parts.first?.lowercased() ?? "."
        let arguments = Array(parts.dropFirst())
        switch name {
        case ".help":
            guard let topic = arguments.first else {
                output.write(helpText() + "\n")
                return
            }
            let offset = piece.text.count - topic.count
            guard arguments.count == 1, let text = Session.helpText(topic) else {
                let names = Vocabulary.statements.map(\.keyword) + FunctionRegistry.functions.map(\.name)
                throw located(piece, file: file, sourceText: sourceText, offset: offset, span: topic.count,
                              arguments.count == 1 ? "no statement or function is called '\(topic)'" : "'.help' takes one statement or function name",
                              help: Suggestions.didYouMean(topic, in: names) ?? "type .help for the list")
            }
            output.write(text + "\n")
        case ".stats":
            try noArguments(arguments, name, piece, file, sourceText)
            output.write(Session.statsText(cube) + "\n")
        case ".schema":
            if arguments.count > 1 {
                throw located(piece, file: file, sourceText: sourceText, "'.schema' takes at most one dimension name")
            }
            if let dim = arguments.first, cube.dimension(named: dim) == nil {
                let names = cube.dimensions.map(\.name)
                throw located(piece, file: file, sourceText: sourceText, offset: piece.text.count - dim.count, span: dim.count,
                              "unknown dimension '\(dim)'", help: Suggestions.didYouMean(dim, in: names) ?? "the dimensions are: \(names.joined(separator: ", "))")
            }
            output.write(Session.schemaText(cube, dimension: arguments.first, sessionMeasures: sessionMeasures) + "\n")
        case ".cubes":
            try noArguments(arguments, name, piece, file, sourceText)
            // The SHOW CUBES table, drawn for people whatever the output mode.
            let table = (try? Catalog.answer(.cubes, engine: QueryEngine(cube: cube, sessionMeasures: sessionMeasures), cubes: loaded))
            if let table { output.write(Renderer.render(table, as: .table).components(separatedBy: "\n").dropLast(2).joined(separator: "\n") + "\n") }
        case ".timer":
            guard arguments.count == 1, let value = ["on": true, "off": false][arguments[0].lowercased()] else {
                throw located(piece, file: file, sourceText: sourceText, offset: min(piece.text.count, name.count + 1),
                              span: max(1, arguments.joined(separator: " ").count), "'.timer' takes on or off", help: "write .timer on")
            }
            timer = value
        case ".mode":
            guard arguments.count == 1, let f = OutputFormat(rawValue: arguments[0].lowercased()) else {
                let given = arguments.joined(separator: " ")
                let names = OutputFormat.allCases.map(\.rawValue)
                throw located(piece, file: file, sourceText: sourceText, offset: min(piece.text.count, name.count + 1), span: max(1, given.count),
                              given.isEmpty ? "'.mode' needs a format" : "unknown format '\(given)'",
                              help: Suggestions.didYouMean(given, in: names) ?? "formats: \(names.joined(separator: ", "))")
            }
            format = f
        case ".output", ".once":
            guard arguments.count <= 1, name == ".output" || arguments.count == 1 else {
                throw located(piece, file: file, sourceText: sourceText, "'\(name)' takes one file name", help: "write \(name) report.csv")
            }
            guard let path = arguments.first else {
                if redirect != nil, documentSink === redirect { closeDocument() }
                redirect = nil
                return
            }
            let target: FileOutput
            do {
                target = try FileOutput(path: path)
            } catch {
                throw located(piece, file: file, sourceText: sourceText, offset: name.count + 1, span: path.count,
                              "cannot write to '\(path)': \(error.reason)", help: "name a file in a directory you can write to")
            }
            if name == ".output" {
                if redirect != nil, documentSink === redirect { closeDocument() }
                redirect = target
            } else {
                once = target
            }
        case ".chart":
            let kinds = ChartKind.allCases.map(\.rawValue)
            guard arguments.count == 1, let kind = ChartKind(rawValue: arguments[0].lowercased()) else {
                let given = arguments.joined(separator: " ")
                throw located(piece, file: file, sourceText: sourceText, offset: min(piece.text.count, name.count + 1), span: max(1, given.count),
                              given.isEmpty ? "'.chart' needs a chart kind" : "unknown chart kind '\(given)'",
                              help: Suggestions.didYouMean(given, in: kinds) ?? "chart kinds: \(kinds.joined(separator: ", "))")
            }
            guard let result = lastResult else {
                throw located(piece, file: file, sourceText: sourceText, span: name.count, "there is no result to chart yet",
                              help: "run a query first, then .chart \(kind.rawValue)")
            }
            let chart: Chart
            do {
                chart = try Chart(kind, of: result)
            } catch {
                throw located(piece, file: file, sourceText: sourceText, offset: name.count + 1, span: arguments[0].count, error.message, help: error.help)
            }
            if let presenter {
                presenter(Presented(result: result, chart: chart, heading: piece.leadingComment, statement: piece.text))
            } else if format.isBinary {
                guard once != nil || redirect != nil else {
                    throw located(piece, file: file, sourceText: sourceText, span: name.count,
                                  "the \(format.rawValue) format writes a workbook file, and results go to the screen",
                                  help: ".once report.xlsx (or .output report.xlsx) first")
                }
                // A workbook holds the data; the chart is for people reading text.
                present(result, chart: nil, heading: nil, started: .now)
            } else if format == .html {
                present(result, chart: chart, heading: nil, started: .now)
            } else {
                // A chart asked for by name is drawn whatever the mode (CSV and JSON are for data).
                let sink: OutputSink = once ?? redirect ?? output
                sink.write(TerminalChart.render(chart, width: sink === output && width > 0 ? width : 80, colour: sink === output && colourTerminal))
                once = nil
            }
        case ".read":
            guard arguments.count == 1 else {
                throw located(piece, file: file, sourceText: sourceText, "'.read' takes one file name", help: "write .read report.cq")
            }
            try read(arguments[0], piece, file, sourceText)
        case ".maxrows":
            guard arguments.count == 1, let n = Int(arguments[0]), n >= 0 else {
                throw located(piece, file: file, sourceText: sourceText, offset: min(piece.text.count, name.count + 1),
                              span: max(1, arguments.joined(separator: " ").count), "'.maxrows' takes a whole number", help: "write .maxrows 100, or .maxrows 0 for all rows")
            }
            maxRows = n
        case ".edit":
            throw located(piece, file: file, sourceText: sourceText, span: name.count, "'.edit' works in the interactive REPL only",
                          help: "in a batch file, write the statement itself")
        case ".quit", ".exit":
            quit()
        default:
            let names = Session.dotCommands.map(\.name)
            throw located(piece, file: file, sourceText: sourceText, span: name.count, "unknown command '\(name)'",
                          help: Suggestions.didYouMean(name, in: names) ?? "type .help for the list of commands")
        }
    }

    /// Runs a file's statements; the file's own errors name the file. A file that is
    /// already being read (directly or through others) is refused.
    private func read(_ path: String, _ piece: InputPiece, _ file: String, _ sourceText: String) throws(Diagnostic) {
        let resolved = Session.canonicalPath(path)
        if reading.contains(resolved) {
            throw located(piece, file: file, sourceText: sourceText, offset: 6, span: path.count,
                          "'\(path)' is already being read (.read cycle)", help: "remove the .read that leads back to it")
        }
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path)
        } catch {
            throw located(piece, file: file, sourceText: sourceText, offset: 6, span: path.count,
                          "cannot read '\(path)': \(error.message)", help: "check the path; it is relative to the current directory")
        }
        reading.append(resolved)
        defer { reading.removeLast() }
        if !run(String(decoding: bytes, as: UTF8.self), file: path) {
            throw Session.alreadyReported
        }
    }

    private func noArguments(_ arguments: [String], _ name: String, _ piece: InputPiece, _ file: String, _ sourceText: String) throws(Diagnostic) {
        if !arguments.isEmpty {
            throw located(piece, file: file, sourceText: sourceText, offset: name.count + 1, span: arguments.joined(separator: " ").count,
                          "'\(name)' takes no arguments")
        }
    }

    /// `.help TOPIC`: how a statement (`BASKET`) or a function (`share`) is written and
    /// what it does; nil when nothing has that name.
    static func helpText(_ topic: String) -> String? {
        let name = topic.hasSuffix("()") ? String(topic.dropLast(2)) : topic
        if let statement = Vocabulary.statements.first(where: { $0.keyword.caseInsensitiveEquals(name) }) {
            var table = TextTable(["statement", "what it does"])
            for line in statement.help { table.add([line.usage, line.summary]) }
            let analyses = ["PARETO", "RFM", "COHORT", "CHURN", "BASKET", "LTV"]
            return table.rendered() + "\nThe language: docs/" + (analyses.contains(statement.keyword) ? "crm.md" : "language.md")
        }
        if let f = FunctionRegistry.functions.first(where: { $0.name.caseInsensitiveEquals(name) }) {
            var table = TextTable(["function", "what it computes"])
            table.add([f.name + "()", f.summary])
            return table.rendered() + "\nThe language: docs/language.md"
        }
        return nil
    }

    func helpText() -> String {
        var table = TextTable(["command", "what it does"])
        for c in Session.dotCommands { table.add([c.name + (c.arguments.isEmpty ? "" : " " + c.arguments), c.summary]) }
        var statements = TextTable(["statement", "what it does"])
        for statement in Vocabulary.statements {
            for line in statement.help { statements.add([line.usage, line.summary]) }
        }
        var functions = TextTable(["function", "what it computes"])
        for f in FunctionRegistry.functions { functions.add([f.name + "()", f.summary]) }
        for form in FunctionRegistry.forms { functions.add([form.usage, form.summary]) }
        return table.rendered() + "\n\n" + statements.rendered() + "\n\n" + functions.rendered()
            + "\n\nStatements end with ';' and may span lines. Dot commands end at the line end."
            + "\nExample: SELECT revenue, margin_pct BY time.year, channel.type WHERE customer.tier = 'VIP';"
            + "\nThe language: docs/language.md"
    }

    /// The `.stats` report: facts, storage per column, members per level.
    public static func statsText(_ cube: Cube) -> String {
        let stats = CubeStats(cube)
        var lines: [String] = []
        lines.append("cube \(cube.name): \(grouped(stats.rows)) fact rows in \(stats.chunks) chunk\(stats.chunks == 1 ? "" : "s") of \(grouped(PackedColumn.chunkSize)) rows")
        lines.append("fact storage: \(String(format: "%.2f", stats.bytesPerRow)) bytes per fact row, \(byteSize(stats.factBytes)) in all; dimensions \(byteSize(stats.dimensionBytes))")
        lines.append("")
        var columns = TextTable(["fact column", "stored as", "bytes/row"], alignments: [.left, .left, .right])
        for c in stats.columns {
            columns.add([c.name, c.kind + (c.hasNulls ? ", nulls" : ""), c.hasNulls ? "\(c.width) + 1 bit" : String(c.width)])
        }
        lines.append(columns.rendered())
        lines.append("")
        var levels = TextTable(["dimension", "level", "members"], alignments: [.left, .left, .right])
        for (d, l, n, attribute) in stats.levels { levels.add([d, attribute ? l + " (attribute)" : l, grouped(n)]) }
        lines.append(levels.rendered())
        if !cube.ignoredColumns.isEmpty {
            lines.append("")
            lines.append("not loaded (text columns the model does not use): \(cube.ignoredColumns.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }

    /// The `.schema` report: dimensions with hierarchy and attributes, then the measures as
    /// SHOW MEASURES lists them (session measures too).
    public static func schemaText(_ cube: Cube, dimension only: String? = nil, sessionMeasures: [Measure] = []) -> String {
        var lines: [String] = []
        if only == nil {
            for format in cube.fileFormats { lines.append("read " + format) }
        }
        for d in cube.dimensions where only.map({ d.name.caseInsensitiveEquals($0) }) ?? true {
            let kind: String
            switch d.source {
            case .table(let file, let key): kind = "table \(file), key \(key)"
            case .inline: kind = "columns of the fact file"
            case .time(let column, _): kind = "time, from column \(column)"
            }
            lines.append("dimension \(d.name) (\(kind))")
            lines.append("  levels: " + d.levels.map { "\($0.name) (\(grouped($0.count)))" }.joined(separator: " > "))
            if !d.attributes.isEmpty {
                lines.append("  attributes: " + d.attributes.map { "\($0.name) (\(grouped($0.count)))" }.joined(separator: ", "))
            }
        }
        if only == nil, let measures = try? Catalog.answer(.measures, engine: QueryEngine(cube: cube, sessionMeasures: sessionMeasures)) {
            lines.append("measures:")
            var table = TextTable(measures.columns.map(\.name))
            for row in measures.rows { table.add(row.map(\.description)) }
            lines.append(table.rendered().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        }
        return lines.joined(separator: "\n")
    }
}
