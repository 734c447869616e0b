import CubistCore
import CubistEngine
import CubistGenerator
import CubistStore
import CubistSyntax
import Testing

/// Loads a cube from in-memory files; the model is `cube.json` among them.
func loadCube(_ files: [String: [UInt8]]) throws -> Cube {
    let model = try ModelParser.parse(files["cube.json"] ?? [], file: "t/cube.json")
    return try CubeLoader.load(model: model, files: MemoryFiles(files, label: "t"), origin: "test")
}

/// The cube with one `DEFINE ATTRIBUTE` statement applied by the engine.
func define(_ cube: Cube, _ text: String) throws -> Cube {
    guard case .defineAttribute(let dimension, let name, let expr, let condition, let range) = try Parser.parseStatement(text) else {
        throw Diagnostic("not DEFINE ATTRIBUTE", at: SourceRange(start: 0, end: 0, location: SourceLocation(line: 1, column: 1)))
    }
    return try QueryEngine(cube: cube).definingAttribute(dimension: dimension, name: name, expr: expr, condition: condition, parameters: [:],
                                                         at: range)
}

/// A small CRM cube from the generator.
func crmCube(rows: Int, seed: UInt64) throws -> Cube {
    var output = MemoryOutput()
    try CRMGenerator(rows: rows, seed: seed).generate(into: &output)
    return try loadCube(output.files)
}

/// A random cube with inline dimensions, negative amounts and empty (null) values.
func nullsCube(rows: Int, seed: UInt64) throws -> Cube {
    var random = SeededRandom(seed: seed)
    let model = """
    { "name": "rnd", "facts": "f.csv",
      "dimensions": [
        { "name": "geo", "levels": ["region", "city"], "attributes": ["segment"] },
        { "name": "item", "levels": ["kind", "item"] },
        { "name": "time", "type": "time", "column": "date" } ],
      "measures": [
        { "name": "amount", "column": "amount", "aggregate": "sum", "format": "money" },
        { "name": "qty", "column": "qty", "aggregate": "sum" },
        { "name": "n", "aggregate": "count" },
        { "name": "cities", "column": "city", "aggregate": "count_distinct" },
        { "name": "net", "expression": "amount - qty" },
        { "name": "per_unit", "expression": "amount / qty" },
        { "name": "gross", "aggregate": "sum", "row": "amount * qty" } ] }
    """
    let regions = ["North", "South", "East"]
    var csv = "date,region,city,segment,kind,item,amount,qty\n"
    for _ in 0..<rows {
        let city = random.below(7)
        let item = random.below(9)
        let day = 1 + random.below(28)
        let month = 1 + random.below(12)
        let year = 2023 + random.below(2)
        let amount = random.below(10) == 0 ? "" : String(format2(Int64(random.below(40_000)) - 8_000))
        let qty = random.below(8) == 0 ? "" : String(random.below(21))
        csv += "\(year)-\(pad(month))-\(pad(day)),\(regions[city % 3]),C\(city),\(city % 2 == 0 ? "Retail" : "Trade"),K\(item % 3),I\(item),\(amount),\(qty)\n"
    }
    return try loadCube(["cube.json": Array(model.utf8), "f.csv": Array(csv.utf8)])
}

private func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

/// Cents as decimal text: -1234 → -12.34.
private func format2(_ cents: Int64) -> String {
    let sign = cents < 0 ? "-" : ""
    let m = abs(cents)
    return "\(sign)\(m / 100).\(pad(Int(m % 100)))"
}

/// Parses and runs one SELECT.
func run(_ cube: Cube, _ text: String, parameters: [String: String] = [:], distinctBudget: Int? = nil,
         threads: Int = 1, sliceRows: Int? = nil) throws -> ResultTable {
    guard case .select(let s) = try Parser.parseStatement(text) else { throw Diagnostic("not a SELECT", at: SourceRange(start: 0, end: 0, location: SourceLocation(line: 1, column: 1))) }
    var engine = QueryEngine(cube: cube)
    if let distinctBudget { engine.distinctBitsetBudget = distinctBudget }
    engine.threads = threads
    if let sliceRows { engine.sliceRows = sliceRows }
    return try engine.run(s, parameters: parameters)
}

/// The message a query fails with.
func failure(_ cube: Cube, _ text: String) -> String? {
    do {
        _ = try run(cube, text)
        return nil
    } catch let e as Diagnostic {
        return e.message + (e.help.map { " | " + $0 } ?? "")
    } catch {
        return "\(error)"
    }
}

/// Result cells as plain text (full precision; null empty), for compact assertions.
func cells(_ result: ResultTable) -> [[String]] {
    result.rows.map { $0.map(\.description) }
}
