import CubistCore
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

/// The engine's answers on the shop cube live in the case file
/// `Tests/CubistShellTests/cases/engine/shop.test`; what stays here needs Swift.
@Suite struct EngineTests {
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

@Suite struct DistinctMemoryTests {
    /// A distinct count grows inside its groups (the pairs it holds), so memory_limit is
    /// checked after every slice, not only when new groups appear.
    @Test func memoryLimitBoundsDistinctCountsThatGrowWithinGroups() throws {
        let cube = try crmCube(rows: 20_000, seed: 4)
        guard case .select(let s) = try Parser.parseStatement("SELECT count(distinct customer.customer) BY channel.type") else { return }
        var engine = QueryEngine(cube: cube)
        engine.threads = 1
        engine.sliceRows = 1000
        engine.distinctBitsetBudget = 0       // pairs from the start
        #expect(try engine.run(s).rows.count == 3)
        engine.limits.memoryLimit = 8 << 10
        do {
            _ = try engine.run(s)
            Issue.record("the distinct pairs passed memory_limit without an error")
        } catch {
            #expect(error.message.hasPrefix("the query needs more than memory_limit (8 KiB) for its groups: 3 groups so far"), "\(error.message)")
        }
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
        #expect(throws: Diagnostic.self) { try engine.run(s) }
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
        #expect(steps["aggregates"] == "exact sum and count of revenue; distinct customer.city (bitset per group of the other levels up to 33,554,432, counts folded by customer.region of each member; then a hash set)")
        #expect(steps["chunks"] == "1 of 65,536 rows: 1 scanned, 0 skipped by zone maps")
        #expect(steps["rows"] == "2 of 5 fact rows matched")
        #expect(steps["groups"] == "2")
        #expect(steps["time"]?.hasPrefix("plan ") == true)
        #expect(steps["time"]?.contains("finish ") == true)
    }

    /// sum, avg and count of a measure that adds up over rows are planned without
    /// per-member state (the measure and a distinct count), and give what the per-member
    /// path gives; a median, or an avg over a column with empty cells, keeps the pairs.
    @Test func additivePerMemberAggregatesNeedNoPairs() throws {
        let cube = try crmCube(rows: 3000, seed: 5)
        func aggregates(_ text: String) throws -> String {
            guard case .explain(let s, _, _) = try Parser.parseStatement("EXPLAIN " + text) else { return "" }
            return try QueryEngine(cube: cube).explain(s).rows.first { $0[0].description == "aggregates" }?[1].description ?? ""
        }
        let avg = try aggregates("SELECT avg(revenue PER customer.customer), sum(lines PER customer.customer), count(quantity PER customer.customer) BY customer.tier")
        #expect(!avg.contains("per customer.customer"), "\(avg)")
        #expect(avg.contains("distinct customer.customer"), "\(avg)")
        let median = try aggregates("SELECT median(revenue PER customer.customer) BY customer.tier")
        #expect(median.contains("per customer.customer"), "\(median)")
        // A plain LIMIT says how it narrowed the scan; with ORDER BY it does not narrow.
        func limitStep(_ text: String) throws -> String? {
            guard case .explain(let s, _, _) = try Parser.parseStatement("EXPLAIN " + text) else { return nil }
            return try QueryEngine(cube: cube).explain(s).rows.first { $0[0].description == "limit" }?[1].description
        }
        let narrowed = try limitStep("SELECT revenue BY customer.customer LIMIT 3")
        #expect(narrowed?.hasPrefix("the first 3 of ") == true, "\(narrowed ?? "none")")
        #expect(try limitStep("SELECT revenue BY customer.customer ORDER BY revenue LIMIT 3") == nil)
        #expect(try limitStep("SELECT share(revenue) BY customer.customer LIMIT 3") == nil)

        let a = try run(cube, "SELECT avg(revenue PER customer.customer), revenue / count(distinct customer.customer), sum(orders PER customer.customer), orders BY customer.tier")
        #expect(a.rows.count == 4)
        for row in a.rows {
            #expect(row[1] == row[2])
            #expect(row[3] == row[4])
        }
    }

    /// ORDER BY ... LIMIT over many groups keeps only the shown rows in a bounded heap, and
    /// a plain LIMIT picks the first rows in natural order without sorting them all: both
    /// give exactly the rows of the fully sorted result, with ties (counts) broken in
    /// natural member order and empty values (a FILTER sum without rows) placed as a full
    /// sort places them, on 1 to 4 threads.
    @Test func orderByLimitOverManyGroupsIsTheFullSortCut() throws {
        let cube = try crmCube(rows: 20_000, seed: 11)
        let measures = "lines, revenue FILTER (WHERE channel.channel = 'Web') AS web, revenue"
        for threads in 1...4 {
            let all = try run(cube, "SELECT \(measures) BY customer.customer", threads: threads)
            #expect(all.rows.count > 400)
            for (order, column) in [("lines DESC", 1), ("lines", 1), ("web DESC", 2), ("web", 2), ("revenue DESC", 3), ("lines DESC, web", 1)] {
                let sorted = try run(cube, "SELECT \(measures) BY customer.customer ORDER BY \(order)", threads: threads)
                #expect(sorted.rows.count == all.rows.count)
                for (a, b) in zip(sorted.rows, sorted.rows.dropFirst()) {
                    // Empty values order before every number.
                    let c = a[column].isNull ? (b[column].isNull ? 0 : -1) : b[column].isNull ? 1 : Value.compare(a[column], b[column]) ?? 0
                    #expect(order.hasPrefix("lines DESC") || order.hasSuffix("DESC") ? c >= 0 : c <= 0, "\(order): \(a) then \(b)")
                }
                for (limit, offset) in [(1, 0), (10, 0), (7, 3), (250, 40), (0, 5)] {
                    let cut = try run(cube, "SELECT \(measures) BY customer.customer ORDER BY \(order) LIMIT \(limit) OFFSET \(offset)", threads: threads)
                    #expect(cut.rows == Array(sorted.rows[offset..<(offset + limit)]), "ORDER BY \(order) LIMIT \(limit) OFFSET \(offset)")
                }
            }
            let natural = try run(cube, "SELECT \(measures) BY customer.customer ORDER BY customer.customer", threads: threads)
            for (limit, offset) in [(10, 0), (5, 100)] {
                let cut = try run(cube, "SELECT \(measures) BY customer.customer LIMIT \(limit) OFFSET \(offset)", threads: threads)
                #expect(cut.rows == Array(natural.rows[offset..<(offset + limit)]))
            }
            // A plain LIMIT scans only the first members' rows: the same rows, with a WHERE,
            // with a second BY level, and with a time function (which reads other groups, so
            // the scan is not narrowed).
            for (by, filter) in [("customer.customer, channel.type", ""), ("customer.customer", " WHERE time.year = 2024 AND quantity > 1"),
                                 ("customer.city, time.month", " WHERE channel.type = 'Online'")] {
                let all = try run(cube, "SELECT \(measures), margin_pct BY \(by)\(filter) ORDER BY \(by)", threads: threads)
                let cut = try run(cube, "SELECT \(measures), margin_pct BY \(by)\(filter) LIMIT 6 OFFSET 2", threads: threads)
                #expect(cut.rows == Array(all.rows[2..<8]), "BY \(by)\(filter)")
            }
            let growth = try run(cube, "SELECT revenue, growth(revenue) BY customer.customer, time.year LIMIT 5", threads: threads)
            let growthAll = try run(cube, "SELECT revenue, growth(revenue) BY customer.customer, time.year", threads: threads)
            #expect(growth.rows == Array(growthAll.rows.prefix(5)))
            let top = try run(cube, "SELECT \(measures) BY customer.customer TOP 12 BY lines", threads: threads)
            let byLines = try run(cube, "SELECT \(measures) BY customer.customer ORDER BY lines DESC LIMIT 12", threads: threads)
            #expect(top.rows == byLines.rows)
        }
    }

    /// With many kept values (here 300,000) the groups' quantiles are selected on every
    /// core at once; each equals the same statistic of its group alone (one group, one
    /// thread), and the percentile and median agree with a sort of the group's sales.
    @Test func parallelQuantilesEqualEachGroupAlone() throws {
        let cube = try crmCube(rows: 300_000, seed: 3)
        let all = try run(cube, "SELECT median(revenue), percentile(revenue, 0.9), lines BY product.category", threads: 2)
        #expect(all.rows.count == 11)
        for row in all.rows {
            let alone = try run(cube, "SELECT median(revenue), percentile(revenue, 0.9), lines WHERE product.category = '\(row[0])'")
            #expect(Array(row.dropFirst()) == alone.rows[0], "\(row[0])")
        }
    }

    /// Grouping through the hash table (here forced by a small memory_limit, as a key space
    /// over the dense limit would) gives exactly the rows of the dense array, on 1 to 3
    /// threads whose tables merge by key over small slices.
    @Test func hashedGroupingGivesTheDenseResult() throws {
        let cube = try crmCube(rows: 6000, seed: 9)
        for text in ["SELECT revenue, orders, customers BY customer.customer, time.day",
                     "SELECT list_revenue, lines BY customer.customer, product.product, time.quarter WHERE quantity >= 2 ORDER BY list_revenue DESC LIMIT 20",
                     "SELECT revenue BY customer.customer, time.day ACROSS channel.type WITH TOTALS"] {
            guard case .select(let s) = try Parser.parseStatement(text) else { Issue.record("not a SELECT"); continue }
            let dense = try QueryEngine(cube: cube).run(s)
            for threads in 1...3 {
                var engine = QueryEngine(cube: cube)
                engine.threads = threads
                engine.sliceRows = 700
                engine.limits.memoryLimit = 1 << 19
                guard case .explain(let e, _, _) = try Parser.parseStatement("EXPLAIN " + text) else { continue }
                let strategy = try engine.explain(e).rows.first { $0[0].description == "group strategy" }?[1].description ?? ""
                #expect(strategy.hasPrefix("hash map"), "\(strategy)")
                #expect(try engine.run(s).rows == dense.rows, "\(text) on \(threads) threads")
            }
        }
    }

    /// EXPLAIN prints the choices the planner recorded and the run used: under a small
    /// memory_limit the grouping is a hash map, and says why; sub-selects run first and
    /// show as their own steps; ANALYZE times each finishing stage.
    @Test func explainShowsTheRecordedChoices() throws {
        let cube = try crmCube(rows: 3000, seed: 5)
        func steps(_ text: String, memoryLimit: Int? = nil) throws -> [(String, String)] {
            guard case .explain(let s, let analyze, _) = try Parser.parseStatement(text) else { return [] }
            var engine = QueryEngine(cube: cube)
            engine.threads = 2
            if let memoryLimit { engine.limits.memoryLimit = memoryLimit }
            return try engine.explain(s, analyze: analyze).rows.map { ($0[0].description, $0[1].description) }
        }
        let wide = "EXPLAIN SELECT revenue BY customer.customer, time.day"
        let dense = try steps(wide).first { $0.0 == "group strategy" }?.1
        #expect(dense?.hasPrefix("dense array") == true, "\(dense ?? "")")
        let small = try steps(wide, memoryLimit: 1 << 19).first { $0.0 == "group strategy" }?.1
        #expect(small?.hasPrefix("hash map: a dense array of") == true, "\(small ?? "")")
        let churn = try steps("EXPLAIN SELECT count(distinct customer.customer) WHERE customer.customer IN (SELECT customer.customer WHERE time.year = 2024) AND customer.customer NOT IN (SELECT customer.customer WHERE time.year = 2025)")
        #expect(churn.map(\.0).filter { $0.hasPrefix("sub-select") } == ["sub-select 1", "sub-select 2"])
        #expect(churn.contains { $0.0 == "  rows" })
        #expect(churn.last?.1.hasPrefix("sub-selects ") == true)
        let analyzed = try steps("EXPLAIN ANALYZE SELECT revenue BY customer.city ORDER BY revenue DESC LIMIT 3").last?.1 ?? ""
        for stage in ["bind", "plan", "scan", "finish: having", "finish: top", "finish: order and subtotals", "finish: totals and limit", "finish: cells"] {
            #expect(analyzed.contains(stage + " "), "\(stage) in \(analyzed)")
        }
    }
}
