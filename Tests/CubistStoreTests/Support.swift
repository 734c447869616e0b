import CubistCore
import Testing
@testable import CubistStore

/// Loads a cube from in-memory files; the model is `cube.json` among them.
func loadCube(_ files: [String: String]) throws(Diagnostic) -> Cube {
    let bytes = files.mapValues { Array($0.utf8) }
    let model = try ModelParser.parse(bytes["cube.json"] ?? [], file: "t/cube.json")
    return try CubeLoader.load(model: model, files: MemoryFiles(bytes, label: "t"), origin: "test")
}

/// The diagnostic a load fails with, or nil when it succeeds.
func loadError(_ files: [String: String]) -> Diagnostic? {
    do {
        _ = try loadCube(files)
        return nil
    } catch {
        return error
    }
}

/// A small star schema: two regions, three cities, four customers; two products; sales.
let smallModel = """
{
  "name": "shop",
  "facts": "sales.csv",
  "dimensions": [
    { "name": "customer", "table": "customers.csv", "key": "customer_id",
      "levels": ["region", "city", {"name": "customer", "column": "name", "key": "customer_id"}],
      "attributes": ["tier"] },
    { "name": "product", "levels": ["category", "product"] },
    { "name": "time", "type": "time", "column": "date" }
  ],
  "measures": [
    { "name": "revenue", "column": "revenue", "aggregate": "sum", "format": "money" },
    { "name": "quantity", "column": "quantity", "aggregate": "sum" },
    { "name": "orders", "aggregate": "count" },
    { "name": "customers", "column": "customer_id", "aggregate": "count_distinct" },
    { "name": "net", "aggregate": "sum", "row": "revenue - discount" },
    { "name": "avg_order", "expression": "revenue / orders" }
  ]
}
"""

let smallCustomers = """
customer_id,name,region,city,tier
10,Kim,Seoul,Seoul-Mapo,VIP
2,Lee,Busan,Busan-Saha,Gold
3,Park,Seoul,Seoul-Gangnam,Gold
4,Kim,Seoul,Seoul-Mapo,Silver

"""

let smallSales = """
date,customer_id,category,product,quantity,revenue,discount
2024-03-15,10,Books,Novel,2,10.10,0.5
2023-12-31,2,Toys,Robot,1,0.20,
2024-01-01,3,Books,Novel,3,0.3,0
2024-02-29,10,Toys,Robot,10,1e2,1.25
2024-03-15,4,Books,Atlas,1,-0.05,0

"""

var smallFiles: [String: String] {
    ["cube.json": smallModel, "customers.csv": smallCustomers, "sales.csv": smallSales]
}

/// Every part of two cubes, compared value by value.
func expectSameCube(_ a: Cube, _ b: Cube) {
    #expect(a.name == b.name)
    #expect(a.ignoredColumns == b.ignoredColumns)
    #expect(a.dimensions.count == b.dimensions.count)
    for (x, y) in zip(a.dimensions, b.dimensions) {
        #expect(x.name == y.name)
        #expect(x.source == y.source)
        for (l, m) in zip(x.levels + x.attributes, y.levels + y.attributes) {
            #expect(l.name == m.name && l.column == m.column && l.keyColumn == m.keyColumn && l.order == m.order && l.definition == m.definition)
            #expect(l.members == m.members)
            #expect(l.parents == m.parents)
        }
        #expect(x.levels.count == y.levels.count && x.attributes.count == y.attributes.count)
        #expect(x.leafToLevel == y.leafToLevel)
        #expect(x.leafToAttribute == y.leafToAttribute)
    }
    #expect(a.measures.map(\.name) == b.measures.map(\.name))
    #expect(a.measures.map(\.source) == b.measures.map(\.source))
    #expect(a.measures.map(\.format) == b.measures.map(\.format))
    #expect(a.measures.map { "\($0.definition)" } == b.measures.map { "\($0.definition)" })
    #expect(a.facts.rowCount == b.facts.rowCount)
    for (x, y) in zip(a.facts.dimensionCodes, b.facts.dimensionCodes) {
        #expect(x.width == y.width)
        #expect(x.chunkMinimum == y.chunkMinimum && x.chunkMaximum == y.chunkMaximum)
        #expect((0..<x.count).allSatisfy { x[$0] == y[$0] })
    }
    #expect(a.facts.numericColumns.count == b.facts.numericColumns.count)
    for (x, y) in zip(a.facts.numericColumns, b.facts.numericColumns) {
        #expect(x.name == y.name && x.scale == y.scale && x.base == y.base && x.packed.width == y.packed.width)
        #expect(x.nulls == y.nulls)
        #expect((0..<x.count).allSatisfy { x.mantissa(at: $0) == y.mantissa(at: $0) })
    }
}
