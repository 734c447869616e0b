import CubistCore
import Testing
@testable import CubistStore

@Suite struct CubeStructureTests {
    @Test func hierarchyIsDictionariesAndParentArraysInNaturalOrder() throws {
        let cube = try loadCube(smallFiles)
        let customer = try #require(cube.dimension(named: "CUSTOMER"))
        #expect(customer.levels.map(\.name) == ["region", "city", "customer"])
        #expect(customer.levels[0].members == ["Busan", "Seoul"])
        #expect(customer.levels[1].members == ["Busan-Saha", "Seoul-Gangnam", "Seoul-Mapo"])
        #expect(customer.levels[1].parents == [0, 1, 1])
        // Keyed leaf: labels repeat ("Kim" twice), ordered by label then key (4 before 10).
        #expect(customer.leaf.members == ["Kim", "Kim", "Lee", "Park"])
        #expect(customer.leaf.parents == [2, 2, 0, 1])
        #expect(customer.leafToLevel[0] == [1, 1, 0, 1])
        #expect(customer.leaf.codes(of: "Kim") == 0..<2)
        #expect(customer.leaf.codes(of: "Park") == 3..<4)
        #expect(customer.leaf.codes(of: "Nobody").isEmpty)
        #expect(customer.attributes.map(\.name) == ["tier"])
        #expect(customer.attributes[0].members == ["Gold", "Silver", "VIP"])
        #expect(customer.leafToAttribute[0] == [1, 2, 0, 0])
        let product = try #require(cube.dimension(named: "product"))
        #expect(product.source == .inline)
        #expect(product.levels[1].members == ["Atlas", "Novel", "Robot"])
        #expect(product.levels[1].parents == [0, 0, 1])
    }

    @Test func everyLeafRollsUpConsistently() throws {
        let cube = try loadCube(smallFiles)
        for d in cube.dimensions {
            for l in 1..<d.levels.count {
                for leaf in 0..<d.leaf.count {
                    let child = Int(d.leafToLevel[l][leaf])
                    #expect(d.levels[l].parents[child] == d.leafToLevel[l - 1][leaf])
                }
            }
        }
    }

    @Test func factColumnsHoldLeafCodesAndExactDecimals() throws {
        let cube = try loadCube(smallFiles)
        let facts = cube.facts
        #expect(facts.rowCount == 5)
        #expect((0..<5).map { facts.dimensionCodes[0][$0] } == [1, 2, 3, 1, 0])
        #expect((0..<5).map { facts.dimensionCodes[1][$0] } == [1, 2, 1, 2, 0])
        let time = try #require(cube.dimension(named: "time"))
        #expect(time.levels.map(\.name) == ["year", "quarter", "month", "day"])
        #expect(time.levels[0].members == ["2023", "2024"])
        #expect(time.levels[1].members.first == "2023-Q1")
        #expect(time.levels[2].members[14] == "2024-03")
        #expect(time.leaf.count == 731)
        #expect((0..<5).map { facts.dimensionCodes[2][$0] } == [439, 364, 365, 424, 439])
        #expect(time.leaf.members[439] == "2024-03-15")
        #expect(time.attributes[0].members[Int(time.leafToAttribute[0][439])] == "Fri")
        #expect(time.levels[2].members[Int(time.leafToLevel[2][424])] == "2024-02")
        #expect(facts.numericColumns.map(\.name) == ["quantity", "revenue", "discount"])
        let revenue = facts.numericColumns[1]
        #expect(revenue.scale == 2)
        #expect((0..<5).map { revenue.mantissa(at: $0) } == [1010, 20, 30, 10000, -5])
        #expect(revenue.value(at: 3)?.description == "100.00")
        #expect(revenue.value(at: 4)?.description == "-0.05")
        let discount = facts.numericColumns[2]
        #expect((0..<5).map { discount.mantissa(at: $0) } == [50, nil, 0, 125, 0])
        #expect(discount.nulls?.setCount == 1)
        #expect(facts.numericColumns[0].packed.width == .one)
    }

    @Test func measuresAreBound() throws {
        let cube = try loadCube(smallFiles)
        #expect(cube.measures.map(\.name) == ["revenue", "quantity", "orders", "customers", "net", "avg_order"])
        guard case .aggregate(.countDistinct, .dimension("customer")) = cube.measures[3].definition else {
            Issue.record("customers should count distinct customer members")
            return
        }
        guard case .aggregate(.sum, .row(let expr)) = cube.measures[4].definition else {
            Issue.record("net should be a row measure")
            return
        }
        #expect(expr.description == "revenue - discount")
        #expect(cube.measures[5].source == "revenue / orders")
        #expect(cube.measures[0].format == .money)
    }

    @Test func numericLabelsSortNumerically() throws {
        let model = """
        { "facts": "f.csv", "dimensions": [ { "name": "store", "levels": ["store_no"] } ],
          "measures": [ { "name": "n", "aggregate": "count" } ] }
        """
        let cube = try loadCube(["cube.json": model, "f.csv": "store_no,x\n10,1\n9,2\n100,3\n9,4\n"])
        let store = try #require(cube.dimension(named: "store"))
        #expect(store.leaf.members == ["9", "10", "100"])
        #expect(store.leaf.order == .numeric)
        #expect((0..<4).map { cube.facts.dimensionCodes[0][$0] } == [1, 0, 2, 0])
        #expect(cube.facts.numericColumns.map(\.name) == ["x"])
    }

    @Test func sumsAreExactAndIndependentOfRowOrder() throws {
        var state: UInt64 = 12345
        var cents: [Int64] = []
        for _ in 0..<20_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            cents.append(Int64((state >> 33) % 1_000_000) - 200_000)
        }
        func csv(_ values: [Int64]) -> String {
            "amount\n" + values.map { ScaledDecimal(mantissa: $0, scale: 2).description }.joined(separator: "\n") + "\n"
        }
        let model = """
        { "facts": "f.csv", "dimensions": [], "measures": [ { "name": "amount", "column": "amount", "aggregate": "sum" } ] }
        """
        func total(_ cube: Cube) -> Int64 {
            let column = cube.facts.numericColumns[0]
            return (0..<column.count).reduce(Int64(0)) { $0 + (column.mantissa(at: $1) ?? 0) }
        }
        let forward = try loadCube(["cube.json": model, "f.csv": csv(cents)])
        let backward = try loadCube(["cube.json": model, "f.csv": csv(cents.reversed())])
        let expected = cents.reduce(0, +)
        #expect(total(forward) == expected)
        #expect(total(backward) == expected)
        #expect(forward.facts.numericColumns[0].scale == 2)
    }

    @Test func chunksCarryZoneMaps() throws {
        let model = """
        { "facts": "f.csv", "dimensions": [ { "name": "time", "type": "time", "column": "date" } ],
          "measures": [ { "name": "rows", "aggregate": "count" } ] }
        """
        var csv = "date,v\n"
        let first = CivilDate.dayNumber(year: 2024, month: 1, day: 1)
        for i in 0..<100_000 { csv += CivilDate.isoDate(first + i / 1000) + ",\(i % 7)\n" }
        let cube = try loadCube(["cube.json": model, "f.csv": csv])
        let codes = cube.facts.dimensionCodes[0]
        #expect(codes.chunkCount == 2)
        #expect(codes.chunkMinimum == [0, 65])
        #expect(codes.chunkMaximum == [65, 99])
        #expect(codes.width == .two)
        #expect(cube.facts.numericColumns[0].packed.chunkMaximum == [6, 6])
    }

    @Test func adHocCSVCube() throws {
        let csv = "order date,region,units,price,note,rows\n2024-01-05,Seoul,3,9.99,a,1\n2024-02-01,Busan,,10,7,2\n2024-02-01,Seoul,1,0.5,,3\n"
        let cube = try AdHocCube.load(bytes: Array(csv.utf8), fileName: "export.csv", displayDirectory: ".", origin: "export.csv")
        #expect(cube.name == "export")
        #expect(cube.dimensions.map(\.name) == ["order date", "region", "note"])
        #expect(cube.dimensions[0].isTime)
        #expect(cube.dimensions[2].leaf.members == ["", "7", "a"])
        // price is averaged (the name says so); every numeric column has min, max and avg variants.
        #expect(cube.measures.map(\.name) == ["units", "price", "rows", "rows_", "units_min", "units_max", "units_avg", "price_min", "price_max",
                                              "rows_min", "rows_max", "rows_avg"])
        #expect(cube.measures.map(\.source) == ["sum(units)", "avg(price)", "sum(rows)", "count(*)", "min(units)", "max(units)", "avg(units)",
                                                "min(price)", "max(price)", "min(rows)", "max(rows)", "avg(rows)"])
        let units = try #require(cube.numericColumn(named: "units"))
        #expect((0..<3).map { units.mantissa(at: $0) } == [3, nil, 1])
    }

    @Test func adHocErrorsAreLocated() throws {
        let csv = "a,b\n1,2\n3\n"
        do {
            _ = try AdHocCube.load(bytes: Array(csv.utf8), fileName: "x.csv", displayDirectory: "dir", origin: "dir/x.csv")
            Issue.record("a ragged row must fail")
        } catch {
            #expect(error.headline == "dir/x.csv:3:2: error: row has 1 field but the header has 2")
        }
    }

    @Test func statsReportBytesPerRow() throws {
        let cube = try loadCube(smallFiles)
        let stats = CubeStats(cube)
        // customer 1 + product 1 + time 2 + quantity 1 + revenue 2 + discount 1 + null bitmap 1/8.
        #expect(stats.bytesPerRow == 8.125)
        #expect(stats.columns.map(\.width) == [1, 1, 2, 1, 2, 1])
        let first = try #require(stats.levels.first)
        #expect(first.0 == "customer" && first.1 == "region" && first.2 == 2 && !first.3)
    }
}
