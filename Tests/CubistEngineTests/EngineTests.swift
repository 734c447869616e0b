import CubistEngine
import CubistStore
import CubistSyntax
import Testing

/// Five sales small enough to add up by hand; one cost and one quantity are empty.
let shopFiles: [String: [UInt8]] = [
    "cube.json": Array("""
    { "name": "shop", "facts": "sales.csv",
      "dimensions": [
        { "name": "customer", "levels": ["region", "city"], "attributes": ["tier"] },
        { "name": "product", "levels": ["category", "product"] },
        { "name": "time", "type": "time", "column": "date" } ],
      "measures": [
        { "name": "revenue", "column": "revenue", "aggregate": "sum", "format": "money" },
        { "name": "cost", "column": "cost", "aggregate": "sum", "format": "money" },
        { "name": "quantity", "column": "quantity", "aggregate": "sum" },
        { "name": "orders", "aggregate": "count" },
        { "name": "cities", "column": "city", "aggregate": "count_distinct" },
        { "name": "margin", "expression": "revenue - cost", "format": "money" },
        { "name": "margin_pct", "expression": "(revenue - cost) / revenue", "format": "percent" } ] }
    """.utf8),
    "sales.csv": Array("""
    date,region,city,tier,category,product,quantity,revenue,cost
    2024-01-05,Seoul,Mapo,VIP,Books,Novel,2,10.50,6.00
    2024-02-10,Seoul,Gangnam,Gold,Toys,Robot,1,99.99,70.00
    2024-02-11,Busan,Saha,Gold,Books,Atlas,3,30.00,
    2023-02-20,Seoul,Mapo,VIP,Toys,Robot,1,100.00,80.00
    2023-12-31,Busan,Saha,Gold,Books,Novel,,5.25,1.25

    """.utf8),
]

@Suite struct EngineTests {
    let shop: Cube

    init() throws { shop = try loadCube(shopFiles) }

    private func q(_ text: String) throws -> [[String]] { cells(try run(shop, text)) }

    @Test func exactSumsCountsAndExpressionMeasures() throws {
        #expect(try q("SELECT revenue, cost, margin, quantity, orders, cities BY customer.region") == [
            ["Busan", "35.25", "1.25", "34.00", "3", "2", "1"],
            ["Seoul", "210.49", "156.00", "54.49", "4", "3", "2"],
        ])
        #expect(try q("SELECT revenue, avg(revenue), count(cost), count(*), min(revenue), max(quantity * revenue)") == [
            ["245.74", "49.148", "4", "5", "5.25", "100.00"],
        ])
        #expect(try q("SELECT count(distinct customer.city), min(time.day), max(time.day) BY customer.region") == [
            ["Busan", "1", "2023-12-31", "2024-02-11"], ["Seoul", "2", "2023-02-20", "2024-02-10"],
        ])
        let pct = try run(shop, "SELECT margin_pct BY customer.region")
        #expect(pct.columns[1].format == .percent)
        #expect(pct.rows[0][1].doubleValue == 34.00 / 35.25)
    }

    @Test func memberFiltersUseNaturalOrderAndPatterns() throws {
        #expect(try q("SELECT revenue WHERE time.month BETWEEN '2023-06' AND '2024-01'") == [["15.75"]])
        #expect(try q("SELECT revenue WHERE customer.city LIKE 'G%'") == [["99.99"]])
        #expect(try q("SELECT revenue WHERE customer.tier IN ('VIP') AND NOT time.year = 2024") == [["100.00"]])
        #expect(try q("SELECT revenue WHERE customer.region <> 'Seoul' OR product.product = 'Robot'") == [["235.24"]])
        #expect(try q("SELECT revenue BY time.year WHERE time.year > 2023") == [["2024", "140.49"]])
    }

    @Test func rowFiltersOnFactColumnsSkipEmptyValues() throws {
        #expect(try q("SELECT revenue WHERE quantity >= 2") == [["40.50"]])
        #expect(try q("SELECT revenue WHERE NOT quantity >= 2") == [["205.24"]])
        #expect(try q("SELECT revenue WHERE revenue - cost BETWEEN 4 AND 25") == [["115.75"]])
    }

    @Test func subSelectsGiveMemberSets() throws {
        #expect(try q("SELECT revenue WHERE customer.city IN (SELECT customer.city WHERE product.category = 'Toys' AND time.year = 2024)") == [["99.99"]])
        #expect(try q("SELECT revenue WHERE customer.city NOT IN (SELECT customer.city WHERE product.category = 'Toys')") == [["35.25"]])
        #expect(try q("SELECT revenue WHERE customer.city IN (SELECT customer.city HAVING revenue > 100)") == [["110.50"]])
    }

    @Test func havingTopOrderLimit() throws {
        #expect(try q("SELECT revenue BY customer.city HAVING revenue > 50") == [["Gangnam", "99.99"], ["Mapo", "110.50"]])
        #expect(try q("SELECT revenue BY customer.city TOP 1 BY revenue WITH OTHERS WITH TOTALS") == [
            ["Mapo", "110.50"], ["Others", "135.24"], ["", "245.74"],
        ])
        #expect(try q("SELECT revenue BY customer.city ORDER BY revenue LIMIT 1 OFFSET 1 WITH TOTALS") == [["Gangnam", "99.99"], ["", "245.74"]])
        #expect(try q("SELECT revenue AS r BY customer.city ORDER BY r DESC") == [["Mapo", "110.50"], ["Gangnam", "99.99"], ["Saha", "35.25"]])
        #expect(try q("SELECT orders BY customer.city ORDER BY customer.city DESC") == [["Saha", "2"], ["Mapo", "2"], ["Gangnam", "1"]])
        #expect(try q("SELECT orders BY customer.city LIMIT 9223372036854775807 OFFSET 9223372036854775807 WITH TOTALS") == [["", "5"]])
        #expect(try q("SELECT orders BY customer.city LIMIT 0") == [])
    }

    @Test func rollupAcrossAndTotals() throws {
        let rollup = try run(shop, "SELECT revenue BY ROLLUP(customer.region, customer.city)")
        #expect(cells(rollup) == [
            ["Busan", "Saha", "35.25"], ["Busan", "", "35.25"],
            ["Seoul", "Gangnam", "99.99"], ["Seoul", "Mapo", "110.50"], ["Seoul", "", "210.49"], ["", "", "245.74"],
        ])
        #expect(rollup.rowKinds == [.detail, .subtotal(depth: 1), .detail, .detail, .subtotal(depth: 1), .total])
        let crosstab = try run(shop, "SELECT revenue BY customer.region ACROSS time.year WITH TOTALS")
        #expect(crosstab.columns.map(\.name) == ["customer.region", "2023", "2024", "Total"])
        #expect(cells(crosstab) == [["Busan", "5.25", "30.00", "35.25"], ["Seoul", "100.00", "110.49", "210.49"], ["", "105.25", "140.49", "245.74"]])
        let two = try run(shop, "SELECT revenue, orders ACROSS product.category")
        #expect(two.columns.map(\.name) == ["Books revenue", "Books orders", "Toys revenue", "Toys orders"])
        #expect(cells(two) == [["45.75", "3", "199.99", "2"]])
    }

    @Test func analyticFunctions() throws {
        let months = try run(shop, "SELECT revenue, prev(revenue), growth(revenue), yoy(revenue), running(revenue) BY time.month")
        #expect(cells(months).map { Array($0.prefix(3)) } == [
            ["2023-02", "100.00", ""], ["2023-12", "5.25", ""], ["2024-01", "10.50", "5.25"], ["2024-02", "129.99", "10.50"],
        ])
        #expect(months.rows[2][3] == .double(1.0))
        #expect(months.rows[3][4].doubleValue.map { abs($0 - 0.2999) < 1e-12 } == true)
        #expect(cells(months).map { $0[5] } == ["100.00", "105.25", "115.75", "245.74"])
        let shares = try run(shop, "SELECT share(revenue), share(revenue, customer.region), rank(revenue) BY customer.region, customer.city")
        #expect(shares.rows.map { $0[2].doubleValue ?? -1 } == [35.25 / 245.74, 99.99 / 245.74, 110.50 / 245.74])
        #expect(shares.rows.map { $0[3].doubleValue ?? -1 } == [1, 99.99 / 210.49, 110.50 / 210.49])
        #expect(cells(shares).map { $0[4] } == ["3", "2", "1"])
    }

    @Test func parametersFillStatements() throws {
        #expect(cells(try run(shop, "SELECT revenue WHERE time.month = $m LIMIT $n", parameters: ["m": "2024-02", "n": "5"])) == [["129.99"]])
        #expect(failure(shop, "SELECT revenue WHERE time.month = $m") == "parameter $m has no value | set it first with SET $m = '...', or pass --param m=... on the command line")
    }

    @Test func aMissingMemberIsAWarningWithTheNearestMember() throws {
        let r = try run(shop, "SELECT revenue BY customer.city WHERE customer.city = 'Mappo'")
        #expect(r.rows.isEmpty)
        #expect(r.warnings.map(\.message) == ["no member 'Mappo' in customer.city"])
        #expect(r.warnings.first?.help == "did you mean 'Mapo'?")
        #expect(r.warnings.first?.range.location.column == 55)
    }

    @Test func meaninglessQueriesAreLocatedErrors() throws {
        let cases: [(String, String)] = [
            ("SELECT revnue", "unknown measure 'revnue' | did you mean 'revenue'?"),
            ("SELECT revenue BY customer.citty", "dimension 'customer' has no level 'citty' | did you mean 'city'?"),
            ("SELECT revenue BY nothing", "unknown level 'nothing' | see the levels with .schema"),
            ("SELECT revenue WHERE orders > 1", "'orders' is a measure; WHERE filters members and fact rows | filter on measures with HAVING orders ..."),
            ("SELECT revenue BY customer.city HAVING customer.city = 'Mapo'", "'customer.city' is a level, not a measure | filter members in WHERE"),
            ("SELECT growth(revenue) BY customer.city", "growth() needs a time level (year, quarter, month or day) in BY or ACROSS | add BY time.month, for example"),
            ("SELECT revenue BY time.year ACROSS time.year", "'time.year' is both in BY and ACROSS | a level is either rows (BY) or columns (ACROSS)"),
            ("SELECT sume(revenue)", "unknown function 'sume' | did you mean 'sum'?"),
            ("SELECT revenue + 'x'", "text is not a measure | compare members in WHERE, e.g. WHERE customer.region = 'Seoul'"),
            ("SELECT sum(orders)", "'orders' is a measure; aggregates take fact columns | use orders on its own, outside the aggregate"),
            ("SELECT count(customer.city)", "count(customer.city) counts rows, not members | write count(distinct customer.city) for the number of members"),
            ("SELECT revenue WHERE customer.city > quantity", "expected a member value (a string or a number), found 'quantity' | write members in single quotes, e.g. 'Seoul'"),
            ("SELECT revenue WHERE customer.city IN (SELECT customer.region)", "the sub-select lists members of customer.region, not of customer.city | select the same level: SELECT customer.city WHERE ..."),
            ("SELECT revenue BY ROLLUP(customer.region) TOP 1 BY revenue", "TOP cannot be combined with ROLLUP"),
            ("SELECT revenue FROM shoop", "unknown cube 'shoop' | did you mean 'shop'?"),
            ("SELECT share(revenue, product.category) BY customer.city", "share(m, product.category) needs a level of product at or below category in BY | add BY product.category or a finer level of it"),
            ("SELECT rank(growth(revenue)) BY time.year", "growth() cannot be nested inside another analytic function"),
            ("SELECT sum(revenue * revenue * revenue * revenue * revenue * revenue * revenue * revenue * revenue)",
             "arithmetic overflow in a row expression (values beyond 64-bit exact range) | divide by a constant to get an approximate (floating-point) result"),
            ("SELECT 1e400", "number 1e400 is out of range"),
            ("SELECT revenue BY time.year LIMIT $n", "parameter $n has no value | set it first with SET $n = '...', or pass --param n=... on the command line"),
        ]
        for (text, expected) in cases {
            #expect(failure(shop, text) == expected, "\(text)")
        }
    }

    @Test func ambiguousNamesListTheCandidates() throws {
        let files: [String: [UInt8]] = [
            "cube.json": Array("""
            { "name": "x", "facts": "f.csv", "dimensions": [
                { "name": "buyer", "levels": [{"name": "name", "column": "buyer"}] },
                { "name": "seller", "levels": [{"name": "name", "column": "seller"}] } ],
              "measures": [{ "name": "n", "aggregate": "count" }] }
            """.utf8),
            "f.csv": Array("buyer,seller,v\nAnn,Bob,1\n".utf8),
        ]
        let cube = try loadCube(files)
        #expect(failure(cube, "SELECT n BY name") == "'name' is ambiguous | write one of: buyer.name, seller.name")
        #expect(try cells(run(cube, "SELECT n BY seller.name")) == [["Bob", "1"]])
    }
}

@Suite struct CancellationTests {
    @Test func aCancelledQueryStopsWithAClearErrorAndTheNextOneRuns() throws {
        let cube = try loadCube(shopFiles)
        guard case .select(let s) = try Parser.parseStatement("SELECT revenue BY customer.city") else { return }
        var engine = QueryEngine(cube: cube)
        let flag = CancellationFlag()
        engine.cancellation = flag
        flag.cancel()
        #expect(throws: QueryError.self) { try engine.run(s) }
        do { _ = try engine.run(s) } catch { #expect(error.message == "query cancelled") }
        flag.reset()
        #expect(try engine.run(s).rows.count == 3)
    }
}

@Suite struct ExplainTests {
    @Test func explainShowsPlanAndWhatTheRunDid() throws {
        let cube = try loadCube(shopFiles)
        guard case .explain(let s, _, _) = try Parser.parseStatement("EXPLAIN SELECT revenue, cities BY customer.region WHERE product.category = 'Books' AND quantity >= 2") else {
            Issue.record("not an EXPLAIN")
            return
        }
        let r = try QueryEngine(cube: cube).explain(s)
        let steps = Dictionary(uniqueKeysWithValues: r.rows.map { ($0[0].description, $0[1].description) })
        #expect(steps["group by"] == "customer.region (2 members)")
        #expect(steps["group strategy"] == "dense array (\"perfect hash\") over a key space of 2 codes")
        #expect(steps["member mask"] == "product: 2 of 3 product members kept (decided once per member)")
        #expect(steps["row filter"] == "tested row by row on fact columns: quantity >= 2")
        #expect(steps["aggregates"] == "exact sum and count of revenue; distinct customer.city (bitset per group up to 33,554,432 groups, then a hash set)")
        #expect(steps["chunks"] == "1 of 65,536 rows: 1 scanned, 0 skipped by zone maps")
        #expect(steps["rows"] == "2 of 5 fact rows matched")
        #expect(steps["groups"] == "2")
        #expect(steps["time"]?.hasPrefix("plan ") == true)
        #expect(steps["time"]?.contains("finish ") == true)
    }
}
