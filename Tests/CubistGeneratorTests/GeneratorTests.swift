import CubistCore
import Foundation
import Testing
@testable import CubistGenerator
@testable import CubistStore

/// The repository's `datasets/crm`, found from this file's path.
let datasetDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("datasets/crm").path
}()

private func generate(rows: Int, seed: UInt64) throws -> [String: [UInt8]] {
    var output = MemoryOutput()
    try CRMGenerator(rows: rows, seed: seed).generate(into: &output)
    return output.files
}

@Suite struct GeneratorTests {
    @Test func sameSeedSameBytesOtherSeedOtherBytes() throws {
        let a = try generate(rows: 20_000, seed: 7)
        let b = try generate(rows: 20_000, seed: 7)
        let c = try generate(rows: 20_000, seed: 8)
        #expect(Set(a.keys) == Set(CRMGenerator.fileNames))
        for name in CRMGenerator.fileNames { #expect(a[name] == b[name], "\(name) differs between two runs with one seed") }
        #expect(a["sales.csv"] != c["sales.csv"])
        #expect(a["customers.csv"] != c["customers.csv"])
    }

    /// Orders are numbered 1, 2, ... in file order; each holds one to six lines of one
    /// customer, day and channel, rarely a product twice (the day's last order may be shorter).
    @Test func ordersHoldOneToSixLinesOfOneCustomerDayAndChannel() throws {
        let files = try generate(rows: 20_000, seed: 3)
        let rows = String(decoding: files["sales.csv"]!, as: UTF8.self).split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        var lines: [Int: [[String]]] = [:]
        var previous = 0
        for r in rows {
            let order = Int(r[0])!
            #expect(order == previous || order == previous + 1, "order \(order) after \(previous)")
            previous = order
            lines[order, default: []].append(r)
        }
        var sizes = [Int](repeating: 0, count: 7)
        var repeated = 0
        for (order, held) in lines {
            #expect((1...6).contains(held.count), "order \(order) has \(held.count) lines")
            sizes[min(held.count, 6)] += 1
            #expect(Set(held.map { [$0[1], $0[2], $0[4]] }).count == 1, "order \(order) mixes customers, days or channels")
            if Set(held.map { $0[3] }).count < held.count { repeated += 1 }
        }
        // A product is drawn again when the order holds it: a repeat is rare.
        #expect(repeated * 50 < lines.count, "\(repeated) of \(lines.count) orders repeat a product")
        // Most orders are small, and every size occurs.
        #expect(sizes[1] > sizes[2] && sizes[2] > sizes[3] && sizes[6] > 0, "\(sizes)")
        let mean = Double(rows.count) / Double(lines.count)
        #expect(mean > 2.0 && mean < 2.5, "\(mean) lines per order")
    }

    @Test func exactRowCountAndColumns() throws {
        let files = try generate(rows: 1234, seed: 1)
        let sales = String(decoding: files["sales.csv"]!, as: UTF8.self).split(separator: "\n")
        #expect(sales.count == 1235)
        #expect(sales[0] == "order_id,date,customer_id,product_id,channel_id,quantity,price,discount,revenue,cost")
        let customers = String(decoding: files["customers.csv"]!, as: UTF8.self).split(separator: "\n")
        #expect(customers[0] == "customer_id,customer_name,region,city,segment,tier,age_band,signup_date")
        #expect(customers.count == CRMGenerator.customerCount(rows: 1234) + 1)
        let products = String(decoding: files["products.csv"]!, as: UTF8.self).split(separator: "\n")
        #expect(products[0] == "product_id,product_name,category,subcategory,brand,list_price")
        let channels = String(decoding: files["channels.csv"]!, as: UTF8.self).split(separator: "\n")
        #expect(channels[0] == "channel_id,channel,channel_type")
        #expect(channels.count == 9)
    }

    @Test func tinyCubesLoad() throws {
        for rows in [1, 2, 17] {
            let files = try generate(rows: rows, seed: 3)
            let model = try ModelParser.parse(files["cube.json"]!, file: "cube.json")
            let cube = try CubeLoader.load(model: model, files: MemoryFiles(files, label: "tiny"), origin: "tiny")
            #expect(cube.facts.rowCount == rows)
        }
    }

    @Test func builtInSampleIsByteIdenticalToDatasetsCRM() throws {
        let files = CRMSample.files()
        for name in CRMGenerator.fileNames {
            let onDisk = try FileBytes.read(datasetDirectory + "/" + name)
            #expect(files[name] == onDisk, "datasets/crm/\(name) differs from the built-in sample; regenerate it with `cubist generate --rows 100000 --seed 42 --out datasets/crm`")
        }
    }

    @Test func builtInSampleLoadsTheSameCubeAsTheFiles() throws {
        let memory = try CRMSample.cube()
        let disk = try CubeLoader.load(modelAt: datasetDirectory)
        #expect(memory.facts.rowCount == 100_000)
        #expect(disk.facts.rowCount == memory.facts.rowCount)
        #expect(disk.measures.map(\.name) == memory.measures.map(\.name))
        for (a, b) in zip(disk.dimensions, memory.dimensions) {
            #expect(a.name == b.name)
            for (x, y) in zip(a.levels + a.attributes, b.levels + b.attributes) {
                #expect(x.name == y.name && x.members == y.members && x.parents == y.parents)
            }
            #expect(a.leafToAttribute == b.leafToAttribute)
        }
        for (x, y) in zip(disk.facts.dimensionCodes, memory.facts.dimensionCodes) {
            #expect(x.width == y.width)
            #expect((0..<x.count).allSatisfy { x[$0] == y[$0] })
        }
        for (x, y) in zip(disk.facts.numericColumns, memory.facts.numericColumns) {
            #expect(x.name == y.name && x.scale == y.scale)
            #expect((0..<x.count).allSatisfy { x.mantissa(at: $0) == y.mantissa(at: $0) })
        }
    }

    @Test func sampleFitsTheStorageTarget() throws {
        let cube = try CRMSample.cube()
        #expect(cube.facts.bytesPerRow <= 24)
    }
}

/// The CRM stories the generator promises, measured on the sample with naive scans.
@Suite struct CRMStoryTests {
    struct Scan {
        let cube: Cube
        let customer: CubistStore.Dimension, product: CubistStore.Dimension, channel: CubistStore.Dimension, time: CubistStore.Dimension
        let customerCode: [Int], productCode: [Int], channelCode: [Int], dayCode: [Int]
        let revenue: [Int64]

        init() throws {
            cube = try CRMSample.cube()
            customer = cube.dimension(named: "customer")!
            product = cube.dimension(named: "product")!
            channel = cube.dimension(named: "channel")!
            time = cube.dimension(named: "time")!
            let n = cube.facts.rowCount
            let codes = cube.facts.dimensionCodes
            customerCode = (0..<n).map { Int(codes[0][$0]) }
            productCode = (0..<n).map { Int(codes[1][$0]) }
            channelCode = (0..<n).map { Int(codes[2][$0]) }
            dayCode = (0..<n).map { Int(codes[3][$0]) }
            let column = cube.numericColumn(named: "revenue")!
            revenue = (0..<n).map { column.mantissa(at: $0)! }
        }

        func attribute(_ name: String, of code: Int) -> String {
            let (level, _, index) = customer.level(named: name)!
            return level.members[Int(customer.leafToAttribute[index][code])]
        }
    }

    @Test func paretoTiersSeasonalityChurnChannelsAndAffinity() throws {
        let s = try Scan()
        let customers = s.customer.leaf.count
        var perCustomer = [Int64](repeating: 0, count: customers)
        var ordersPerCustomer = [Int](repeating: 0, count: customers)
        var lastDay = [Int](repeating: -1, count: customers)
        var perMonth = [Int64](repeating: 0, count: 12)
        for i in s.revenue.indices {
            perCustomer[s.customerCode[i]] += s.revenue[i]
            ordersPerCustomer[s.customerCode[i]] += 1
            lastDay[s.customerCode[i]] = max(lastDay[s.customerCode[i]], s.dayCode[i])
            perMonth[Int(s.time.leafToLevel[2][s.dayCode[i]]) % 12] += s.revenue[i]
        }
        let total = perCustomer.reduce(0, +)

        // Pareto: the top 20% of customers bring about 80% of revenue.
        let top = perCustomer.sorted(by: >).prefix(customers / 5).reduce(0, +)
        let share = Double(top) / Double(total)
        #expect(share > 0.74 && share < 0.88, "top-20% share \(share)")

        // Tiers match value: average revenue per customer falls VIP > Gold > Silver > Bronze.
        var tierRevenue: [String: (Int64, Int)] = [:]
        for c in 0..<customers {
            let tier = s.attribute("tier", of: c)
            tierRevenue[tier, default: (0, 0)].0 += perCustomer[c]
            tierRevenue[tier, default: (0, 0)].1 += 1
        }
        let average = { (t: String) in Double(tierRevenue[t]!.0) / Double(tierRevenue[t]!.1) }
        #expect(average("VIP") > 2 * average("Gold"))
        #expect(average("Gold") > 2 * average("Silver"))
        #expect(average("Silver") > 2 * average("Bronze"))

        // Seasonality: December well above an average month, February below it.
        let monthAverage = Double(total) / 12
        #expect(Double(perMonth[11]) > 1.4 * monthAverage)
        #expect(Double(perMonth[1]) < 0.9 * monthAverage)

        // Churn: regular customers (10+ orders) whose orders stop a year or more before the end.
        let end = s.time.leaf.count - 1
        let churned = (0..<customers).filter { ordersPerCustomer[$0] >= 10 && lastDay[$0] < end - 365 }
        #expect(churned.count >= 50, "churned regulars: \(churned.count)")

        // Channel mix differs by age band and segment.
        func channelShare(_ channelName: String, where keep: (Int) -> Bool) -> Double {
            let target = s.channel.leaf.codes(of: channelName).lowerBound
            var hit = 0, all = 0
            for i in s.revenue.indices where keep(s.customerCode[i]) {
                all += 1
                if s.channelCode[i] == target { hit += 1 }
            }
            return Double(hit) / Double(all)
        }
        let youngMobile = channelShare("Mobile App") { s.attribute("age_band", of: $0) == "18-24" }
        let oldMobile = channelShare("Mobile App") { s.attribute("age_band", of: $0) == "65+" }
        #expect(youngMobile > 4 * oldMobile)
        let corporateRep = channelShare("Sales Rep") { s.attribute("segment", of: $0) == "Corporate" }
        let consumerRep = channelShare("Sales Rep") { s.attribute("segment", of: $0) == "Consumer" }
        #expect(corporateRep > 5 * consumerRep)

        // Cross-sell: Baby buyers buy Toys far more often than customers at large.
        let categoryOf = { (p: Int) -> String in s.product.levels[0].members[Int(s.product.leafToLevel[0][p])] }
        var bought = [Set<String>](repeating: [], count: customers)
        var pairs: [Int: Int] = [:]
        for i in s.revenue.indices {
            bought[s.customerCode[i]].insert(categoryOf(s.productCode[i]))
            pairs[s.customerCode[i] * 100_000 + s.productCode[i], default: 0] += 1
        }
        let buyers = bought.filter { !$0.isEmpty }
        let babyBuyers = buyers.filter { $0.contains("Baby") }
        let toysGivenBaby = Double(babyBuyers.filter { $0.contains("Toys") }.count) / Double(babyBuyers.count)
        let toys = Double(buyers.filter { $0.contains("Toys") }.count) / Double(buyers.count)
        #expect(toysGivenBaby > 1.5 * toys)

        // Repeat purchases: many customers buy the same product again.
        let repeated = Double(pairs.values.filter { $0 > 1 }.count) / Double(pairs.count)
        #expect(repeated > 0.15)
    }
}
