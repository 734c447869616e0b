import CubistCore
import Testing
@testable import CubistStore

/// Every model and CSV error names the file, line and column, and says what to do.
@Suite struct ModelErrorTests {
    private func error(_ change: (inout [String: String]) -> Void) throws -> Diagnostic {
        var files = smallFiles
        change(&files)
        return try #require(loadError(files))
    }

    private func replacing(_ file: String, _ old: String, _ new: String) -> (inout [String: String]) -> Void {
        { files in
            precondition(files[file]!.contains(old), "test setup: \(old) not in \(file)")
            files[file] = files[file]!.replacingOccurrences(of: old, with: new)
        }
    }

    /// The small model with a `"computed"` list holding `entry`.
    private func computed(_ entry: String) -> (inout [String: String]) -> Void {
        replacing("cube.json", "    { \"name\": \"avg_order\", \"expression\": \"revenue / orders\" }\n  ]",
                  "    { \"name\": \"avg_order\", \"expression\": \"revenue / orders\" }\n  ],\n  \"computed\": [\n    \(entry)\n  ]")
    }

    @Test func computedAttributesAreParsedWithTheModel() throws {
        var files = smallFiles
        computed(#"{ "name": "cohort", "dimension": "customer", "expression": "min(time.quarter)", "where": "product.category = 'Books'" }"#)(&files)
        let model = try ModelParser.parse(Array(files["cube.json"]!.utf8), file: "t/cube.json")
        let spec = try #require(model.computed.first)
        #expect(spec.name == "cohort" && spec.dimension == "customer")
        #expect(spec.definition == "min(time.quarter) WHERE product.category = 'Books'")
        // Loading leaves them for the query engine to compute.
        let cube = try loadCube(files)
        #expect(cube.pendingAttributes.map(\.name) == ["cohort"])
    }

    @Test func computedAttributeErrorsPointIntoTheModel() throws {
        var e = try error(computed(#"{ "name": "cohort", "dimension": "custmer", "expression": "min(time.quarter)" }"#))
        #expect(e.headline == "t/cube.json:20:5: error: computed attribute 'cohort' names no dimension of the model: 'custmer'")
        #expect(e.help == "did you mean 'customer'?")
        e = try error(computed(#"{ "name": "tier", "dimension": "customer", "expression": "min(time.quarter)" }"#))
        #expect(e.headline == "t/cube.json:20:5: error: dimension 'customer' already has a level or attribute named 'tier'")
        e = try error(computed(#"{ "name": "cohort", "dimension": "customer", "expression": "min(time.quarter" }"#))
        #expect(e.headline == "t/cube.json:20:81: error: in computed attribute 'cohort': expected ')', found end of input (to close '(' at line 20, column 68)")
        e = try error(computed(#"{ "name": "cohort", "dimension": "customer" }"#))
        #expect(e.headline == "t/cube.json:20:5: error: computed attribute 'cohort' has no \"expression\"")
        e = try error(computed(#"{ "name": "cohort", "dimension": "customer", "expression": "min(time.quarter)", "when": "x" }"#))
        #expect(e.message == "unknown key \"when\" in a computed attribute")
    }

    @Test func theSmallCubeLoads() throws {
        #expect(loadError(smallFiles) == nil)
    }

    @Test func invalidJSON() throws {
        let e = try error(replacing("cube.json", "\"shop\",", "\"shop\""))
        #expect(e.headline == "t/cube.json:3:3: error: invalid JSON: expected ',' or '}', found '\"'")
    }

    @Test func unknownKeySuggestsTheNearest() throws {
        let e = try error(replacing("cube.json", "\"levels\": [\"category\"", "\"levls\": [\"category\""))
        #expect(e.headline == "t/cube.json:8:26: error: unknown key \"levls\" in a dimension")
        #expect(e.help == "did you mean 'levels'?")
    }

    @Test func unknownAggregate() throws {
        let e = try error(replacing("cube.json", "\"aggregate\": \"count\" }", "\"aggregate\": \"cnt\" }"))
        #expect(e.headline == "t/cube.json:14:38: error: unknown aggregate 'cnt'")
        #expect(e.help?.hasPrefix("did you mean 'count'?") == true)
    }

    @Test func unknownColumnInDimensionTable() throws {
        let e = try error(replacing("cube.json", "\"region\", \"city\"", "\"regon\", \"city\""))
        #expect(e.headline == "t/cube.json:6:18: error: column 'regon' (level 'regon' of 'customer') is not in t/customers.csv")
        #expect(e.help == "did you mean 'region'? t/customers.csv has the columns: customer_id, name, region, city, tier")
    }

    @Test func unknownColumnInFacts() throws {
        let e = try error(replacing("cube.json", "\"column\": \"date\"", "\"column\": \"day\""))
        #expect(e.headline == "t/cube.json:9:49: error: column 'day' (date column of time dimension 'time') is not in t/sales.csv")
    }

    @Test func measureOverUnknownColumn() throws {
        let e = try error(replacing("cube.json", "\"column\": \"quantity\"", "\"column\": \"qty\""))
        #expect(e.headline == "t/cube.json:13:37: error: measure 'quantity': column 'qty' is not a numeric column of t/sales.csv")
        #expect(e.help == "the numeric columns are: quantity, revenue, discount")
    }

    @Test func sumOverAKeyColumn() throws {
        let e = try error(replacing("cube.json", "\"column\": \"customer_id\", \"aggregate\": \"count_distinct\"", "\"column\": \"customer_id\", \"aggregate\": \"sum\""))
        #expect(e.message == "measure 'customers': sum needs a numeric column, but 'customer_id' identifies dimension members")
    }

    @Test func missingDimensionTable() throws {
        let e = try error { $0["customers.csv"] = nil }
        #expect(e.headline.hasPrefix("t/cube.json:5:36: error: cannot read 'customers.csv', the table of dimension 'customer'"))
    }

    @Test func badNumber() throws {
        let e = try error(replacing("sales.csv", "Robot,1,0.20", "Robot,one,0.20"))
        #expect(e.headline == "t/sales.csv:3:25: error: bad number 'one' in column 'quantity'")
        #expect(e.sourceLine == "2023-12-31,2,Toys,Robot,one,0.20,")
        #expect(e.span == 3)
    }

    @Test func thousandsSeparators() throws {
        let e = try error(replacing("sales.csv", "2,10.10,", "2,\"1,010.10\","))
        #expect(e.headline == "t/sales.csv:2:29: error: number '1,010.10' has thousands separators")
    }

    @Test func outOfRangeNumber() throws {
        let e = try error(replacing("sales.csv", "2,10.10,", "2,123456789012345678901,"))
        #expect(e.headline == "t/sales.csv:2:29: error: number '123456789012345678901' is out of range")
    }

    @Test func badAndImpossibleDates() throws {
        let bad = try error(replacing("sales.csv", "2024-01-01", "01/01/2024"))
        #expect(bad.headline == "t/sales.csv:4:1: error: bad date '01/01/2024'")
        // The first rows are ISO dates, so the column is read as ISO and the stray form is located.
        #expect(bad.help == "the dates of this column are written YYYY-MM-DD, e.g. 2024-03-15; another form needs \"date_format\" (e.g. \"%m/%d/%Y\") in the time dimension or --csv date_format=...")
        let impossible = try error(replacing("sales.csv", "2024-02-29", "2023-02-29"))
        #expect(impossible.headline == "t/sales.csv:5:1: error: no such day '2023-02-29'")
    }

    @Test func raggedRows() throws {
        let short = try error(replacing("sales.csv", "Novel,3,0.3,0\n", "Novel,3\n"))
        #expect(short.headline == "t/sales.csv:4:27: error: row has 5 fields but the header has 7")
        let long = try error(replacing("sales.csv", "Novel,3,0.3,0\n", "Novel,3,0.3,0,9\n"))
        #expect(long.headline == "t/sales.csv:4:34: error: row has 8 fields but the header has 7")
        #expect(long.help?.contains("must be quoted") == true)
    }

    @Test func factKeyWithoutDimensionRow() throws {
        let e = try error(replacing("sales.csv", "2023-12-31,2,", "2023-12-31,7,"))
        #expect(e.headline == "t/sales.csv:3:12: error: customer_id '7' has no row in t/customers.csv")
    }

    @Test func duplicateDimensionKey() throws {
        let e = try error(replacing("customers.csv", "4,Kim,Seoul", "3,Kim,Seoul"))
        #expect(e.headline == "t/customers.csv:5:1: error: duplicate key '3' in t/customers.csv (first at line 4)")
    }

    @Test func memberWithTwoParents() throws {
        let e = try error(replacing("customers.csv", "4,Kim,Seoul,Seoul-Mapo", "4,Kim,Busan,Seoul-Mapo"))
        #expect(e.headline == "t/customers.csv:5:13: error: city 'Seoul-Mapo' is under region 'Busan' here but under 'Seoul' at line 2")
        #expect(e.help?.contains("give level 'city' a \"key\" column") == true)
    }

    @Test func inlineMemberWithTwoParents() throws {
        let e = try error(replacing("sales.csv", "2024-03-15,4,Books,Atlas", "2024-03-15,4,Toys,Novel"))
        #expect(e.headline == "t/sales.csv:6:19: error: product 'Novel' is under category 'Toys' here but under 'Books' at line 2")
    }

    @Test func attributeWithTwoValues() throws {
        var files = smallFiles
        files["cube.json"] = smallModel.replacingOccurrences(of: "\"levels\": [\"category\", \"product\"] }",
                                                             with: "\"levels\": [\"category\", \"product\"], \"attributes\": [\"quantity\"] }")
        let e = try #require(loadError(files))
        #expect(e.headline == "t/sales.csv:4:26: error: product 'Novel' has quantity '3' here but '2' on an earlier row")
    }

    @Test func duplicateHeaderEmptyFileAndHeaderOnly() throws {
        let duplicate = try error(replacing("sales.csv", "quantity,revenue,discount", "quantity,revenue,quantity"))
        #expect(duplicate.headline == "t/sales.csv:1:52: error: duplicate column name 'quantity' (also column 5)")
        let empty = try error { $0["sales.csv"] = "" }
        #expect(empty.headline == "t/sales.csv:1:1: error: file is empty; expected a header row of column names")
        let headerOnly = try error { $0["sales.csv"] = "date,customer_id,category,product,quantity,revenue,discount\n" }
        #expect(headerOnly.headline == "t/sales.csv:2:1: error: fact file has a header but no rows")
    }

    @Test func unknownAndCyclicMeasureReferences() throws {
        let unknown = try error(replacing("cube.json", "\"revenue / orders\"", "\"revenu / orders\""))
        #expect(unknown.headline == "t/cube.json:17:43: error: in measure 'avg_order': unknown measure 'revenu'")
        #expect(unknown.help == "did you mean 'revenue'?")
        var files = smallFiles
        files["cube.json"] = smallModel.replacingOccurrences(of: "{ \"name\": \"avg_order\", \"expression\": \"revenue / orders\" }",
                                                             with: "{ \"name\": \"a\", \"expression\": \"b + 1\" }, { \"name\": \"b\", \"expression\": \"a * 2\" }")
        let cycle = try #require(loadError(files))
        #expect(cycle.message == "measure expressions refer to each other in a cycle: a -> b -> a")
    }

    @Test func rowExpressionErrors() throws {
        let syntax = try error(replacing("cube.json", "\"revenue - discount\"", "\"revenue - (discount\""))
        #expect(syntax.headline == "t/cube.json:16:69: error: in measure 'net': expected ')', found end of input (to close '(' at line 16, column 60)")
        let column = try error(replacing("cube.json", "\"revenue - discount\"", "\"revenue - discont\""))
        #expect(column.headline == "t/cube.json:16:60: error: in measure 'net': 'discont' is not a numeric column of t/sales.csv")
        #expect(column.help == "did you mean 'discount'?")
    }

    @Test func nonUTF8Member() throws {
        var files = smallFiles.mapValues { Array($0.utf8) }
        var sales = Array(smallSales.utf8)
        let at = sales.firstIndex(of: UInt8(ascii: "N"))!
        sales[at] = 0xFF
        files["sales.csv"] = sales
        let e: Diagnostic? = {
            do {
                let model = try ModelParser.parse(files["cube.json"]!, file: "t/cube.json")
                _ = try CubeLoader.load(model: model, files: MemoryFiles(files, label: "t"), origin: "test")
                return nil
            } catch { return error as? Diagnostic }
        }()
        // Found when the encoding is judged, before any field is read: neither UTF-8 nor CP949.
        #expect(e?.headline == "t/sales.csv:2:21: error: bytes 0xFF 0x6F are not valid UTF-8 text (nor UTF-16 or CP949)")
        #expect(e?.help?.contains("--csv encoding=NAME") == true)
    }
}
