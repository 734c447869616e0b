import CubistStore

/// Receives the generated files, one at a time, in pieces.
public protocol GeneratorOutput {
    /// Starts a file.
    mutating func begin(_ name: String) throws
    /// Appends bytes to the current file.
    mutating func write(_ bytes: [UInt8]) throws
    /// Ends the current file.
    mutating func end() throws
}

/// Collects generated files in memory.
public struct MemoryOutput: GeneratorOutput {
    /// Contents by file name.
    public private(set) var files: [String: [UInt8]] = [:]
    private var current = ""

    /// Creates an empty collector.
    public init() {}

    public mutating func begin(_ name: String) { current = name; files[name] = [] }
    public mutating func write(_ bytes: [UInt8]) { files[current, default: []].append(contentsOf: bytes) }
    public mutating func end() {}
}

/// Generates the CRM star schema: customers, products, channels, four years of sales and
/// the `cube.json` model. The data tells CRM stories: a Pareto customer base, tiers that
/// match value, year-end seasonality, channel mix by segment and age, churn, repeat
/// purchases, orders of one to six lines (one customer, day and channel each, numbered in
/// file order) and category affinities within them. The same rows and seed give the same bytes anywhere.
public struct CRMGenerator {
    /// Number of fact rows.
    public let rows: Int
    /// The seed.
    public let seed: UInt64

    /// The file names, in the order they are generated.
    public static let fileNames = ["cube.json", "customers.csv", "products.csv", "channels.csv", "sales.csv"]

    /// Creates a generator.
    public init(rows: Int, seed: UInt64 = 42) {
        self.rows = rows
        self.seed = seed
    }

    struct Customer {
        var region = 0, city = 0, segment = 0, age = 0
        var weight = 0.0
        var signup = 0, churn = Int.max
        var primary = 0, partner = 0
        var favourites: [Int] = []
        var channelCumulative: [Double] = []
        var tier = 3
    }

    struct Product {
        var category = 0, subcategory = 0, brand = 0
        var priceCents = 0
        var costPercent = 0
        var name = ""
    }

    /// Number of customers for a given number of fact rows.
    public static func customerCount(rows: Int) -> Int { max(50, rows / 40) }
    /// Number of products for a given number of fact rows.
    public static func productCount(rows: Int) -> Int { min(2000, max(60, rows / 200)) }

    /// Generates every file into `output`.
    public func generate<Output: GeneratorOutput>(into output: inout Output) throws {
        var random = SeededRandom(seed: seed)
        let firstDay = CivilDate.dayNumber(year: CRMWorld.firstYear, month: 1, day: 1)
        let dayCount = CivilDate.dayNumber(year: CRMWorld.firstYear + CRMWorld.years, month: 1, day: 1) - firstDay

        // Products.
        let categories = CRMWorld.categories
        var subcategoryBase: [Int] = []
        var subcategoryTotal = 0
        for c in categories {
            subcategoryBase.append(subcategoryTotal)
            subcategoryTotal += c.subcategories.count
        }
        var products: [Product] = []
        let productTotal = CRMGenerator.productCount(rows: rows)
        let categoryCumulative = cumulative(categories.map(\.weight))
        var productsByCategory = [[Int]](repeating: [], count: categories.count)
        for p in 0..<productTotal {
            var product = Product()
            product.category = p < categories.count ? p : random.pick(cumulative: categoryCumulative)
            let category = categories[product.category]
            product.subcategory = random.below(category.subcategories.count)
            product.brand = random.below(category.brands.count)
            // Log-uniform list price within the category's range.
            let (lo, hi) = category.price
            let ratio = hi / lo
            // lo * ratio^u without pow(): exp(u * ln ratio), both portable.
            let price = lo * portableExp(random.unit() * CRMGenerator.logarithm(ratio))
            // Prices end in 9 cents, as shop prices do.
            product.priceCents = max(109, Int(price * 100) / 10 * 10 + 9)
            product.costPercent = 55 + random.below(26)
            product.name = "\(category.brands[product.brand]) \(category.subcategories[product.subcategory]) \(100 + p)"
            productsByCategory[product.category].append(p)
            products.append(product)
        }
        // Popularity within a category: harmonic by position.
        let popularity = productsByCategory.map { list in cumulative(list.indices.map { 1.0 / Double($0 + 3) }) }

        // Customers.
        let customerTotal = CRMGenerator.customerCount(rows: rows)
        let regionCumulative = cumulative(CRMWorld.regions.map(\.weight))
        let segmentCumulative = cumulative(CRMWorld.segments.map(\.weight))
        let ageCumulative = cumulative(CRMWorld.ageBands.map(\.weight))
        var customers: [Customer] = []
        customers.reserveCapacity(customerTotal)
        for _ in 0..<customerTotal {
            var c = Customer()
            c.region = random.pick(cumulative: regionCumulative)
            c.city = random.below(CRMWorld.regions[c.region].cities.count)
            c.segment = random.pick(cumulative: segmentCumulative)
            c.age = random.pick(cumulative: ageCumulative)
            // Lognormal spend propensity (sigma 1.3; with uneven active periods about 80% of revenue comes from the top 20%).
            c.weight = portableExp(1.3 * random.normal()) * CRMWorld.segments[c.segment].value
            c.signup = random.unit() < 0.4 ? 0 : random.below(dayCount * 85 / 100)
            if random.unit() < 0.3 {
                let remaining = dayCount - c.signup
                if remaining > 120 { c.churn = c.signup + 60 + random.below(remaining - 60) }
            }
            let categoryWeights = categories.indices.map { categories[$0].weight * CRMWorld.categoryBySegment[c.segment][$0] }
            c.primary = random.pick(cumulative: cumulative(categoryWeights))
            let partnerName = categories[c.primary].partner
            c.partner = categories.firstIndex { $0.name == partnerName } ?? c.primary
            for _ in 0..<3 {
                let list = productsByCategory[c.primary]
                if !list.isEmpty { c.favourites.append(list[random.pick(cumulative: popularity[c.primary])]) }
            }
            let channelWeights = CRMWorld.channels.indices.map { CRMWorld.channelByAge[c.age][$0] * CRMWorld.channelBySegment[c.segment][$0] }
            c.channelCumulative = cumulative(channelWeights)
            customers.append(c)
        }
        // Tiers by expected value: propensity times the share of the period the customer is active.
        let expected = customers.map { c in c.weight * Double(min(c.churn, dayCount) - c.signup) / Double(dayCount) }
        let ranked = customers.indices.sorted { expected[$0] > expected[$1] || (expected[$0] == expected[$1] && $0 < $1) }
        var boundary = 0.0
        var rank = 0
        for (t, tier) in CRMWorld.tiers.enumerated() {
            boundary += tier.share
            let upTo = t == CRMWorld.tiers.count - 1 ? customerTotal : Int((Double(customerTotal) * boundary).rounded())
            while rank < upTo {
                customers[ranked[rank]].tier = t
                rank += 1
            }
        }

        try output.begin("cube.json")
        try output.write(Array(CRMGenerator.model.utf8))
        try output.end()

        var w = ByteWriter(capacity: customerTotal * 80)
        w.raw(Array("customer_id,customer_name,region,city,segment,tier,age_band,signup_date\n".utf8))
        for (i, c) in customers.enumerated() {
            let region = CRMWorld.regions[c.region]
            w.int(i + 1); w.comma()
            w.text("\(CRMWorld.familyNames[(i * 7 + c.age) % 20]) \(CRMWorld.givenNames[(i * 13 + c.region) % 20]) #\(i + 1)"); w.comma()
            w.text(region.name); w.comma()
            w.text("\(region.name)-\(region.cities[c.city])"); w.comma()
            w.text(CRMWorld.segments[c.segment].name); w.comma()
            w.text(CRMWorld.tiers[c.tier].name); w.comma()
            w.text(CRMWorld.ageBands[c.age].name); w.comma()
            w.text(CivilDate.isoDate(firstDay + c.signup)); w.newline()
        }
        try output.begin("customers.csv")
        try output.write(w.bytes)
        try output.end()

        w = ByteWriter(capacity: productTotal * 80)
        w.raw(Array("product_id,product_name,category,subcategory,brand,list_price\n".utf8))
        for (i, p) in products.enumerated() {
            let category = categories[p.category]
            w.int(i + 1); w.comma()
            w.text(p.name); w.comma()
            w.text(category.name); w.comma()
            w.text(category.subcategories[p.subcategory]); w.comma()
            w.text(category.brands[p.brand]); w.comma()
            w.cents(p.priceCents); w.newline()
        }
        try output.begin("products.csv")
        try output.write(w.bytes)
        try output.end()

        w = ByteWriter(capacity: 1024)
        w.raw(Array("channel_id,channel,channel_type\n".utf8))
        for (i, c) in CRMWorld.channels.enumerated() {
            w.int(i + 1); w.comma(); w.text(c.name); w.comma(); w.text(c.type); w.newline()
        }
        try output.begin("channels.csv")
        try output.write(w.bytes)
        try output.end()

        try generateSales(into: &output, random: &random, customers: customers, products: products,
                          productsByCategory: productsByCategory, popularity: popularity,
                          categoryCumulative: categoryCumulative, firstDay: firstDay, dayCount: dayCount)
    }

    private func generateSales<Output: GeneratorOutput>(into output: inout Output, random: inout SeededRandom, customers: [Customer], products: [Product],
                                                        productsByCategory: [[Int]], popularity: [[Double]], categoryCumulative: [Double],
                                                        firstDay: Int, dayCount: Int) throws {
        // Orders per day: season x weekday x growth, with peaks on 11-11 and before Christmas.
        var dayWeights: [Double] = []
        for d in 0..<dayCount {
            let (y, m, day) = CivilDate.civil(firstDay + d)
            var weight = CRMWorld.monthWeight[m - 1] * CRMWorld.weekdayWeight[CivilDate.weekday(firstDay + d)]
            weight *= 1 + 0.15 * Double(y - CRMWorld.firstYear)
            if m == 11 && day == 11 { weight *= 2.5 }
            if m == 12 && day >= 18 && day <= 24 { weight *= 1.5 }
            dayWeights.append(weight)
        }
        let total = dayWeights.reduce(0, +)
        var perDay = dayWeights.map { Int((Double(rows) * $0 / total).rounded(.down)) }
        var left = rows - perDay.reduce(0, +)
        var d = 0
        while left > 0 {
            perDay[(d * 7919) % dayCount] += 1
            left -= 1
            d += 1
        }
        let customerCumulative = cumulative(customers.map(\.weight))
        let dateBytes = (0..<dayCount).map { Array(CivilDate.isoDate(firstDay + $0).utf8) }

        try output.begin("sales.csv")
        var w = ByteWriter(capacity: 1 << 21)
        w.raw(Array("order_id,date,customer_id,product_id,channel_id,quantity,price,discount,revenue,cost\n".utf8))
        var order = 0
        for day in 0..<dayCount {
            let (_, month, _) = CivilDate.civil(firstDay + day)
            var left = perDay[day]
            while left > 0 {
                // An order: a customer active on this day (by spend propensity), one channel,
                // 1-6 lines (the day's last order may be cut short to keep the row count).
                var ci = random.pick(cumulative: customerCumulative)
                var tries = 0
                while (day < customers[ci].signup || day >= customers[ci].churn) && tries < 64 {
                    ci = random.pick(cumulative: customerCumulative)
                    tries += 1
                }
                let c = customers[ci]
                let channel = random.pick(cumulative: c.channelCumulative)
                let lines = min(left, 1 + random.pick(cumulative: CRMGenerator.linesCumulative))
                left -= lines
                order += 1
                var chosen: [Int] = []
                for _ in 0..<lines {
                    // Product: a favourite (repeat purchase), the primary category, its partner,
                    // or anything; a product already in the order is drawn again (twice at most).
                    var pi = 0
                    for _ in 0..<3 {
                        let roll = random.unit()
                        if roll < 0.25, !c.favourites.isEmpty {
                            pi = c.favourites[random.below(c.favourites.count)]
                        } else {
                            let category = roll < 0.6 ? c.primary : roll < 0.8 ? c.partner : random.pick(cumulative: categoryCumulative)
                            let list = productsByCategory[category]
                            pi = list.isEmpty ? random.below(products.count) : list[random.pick(cumulative: popularity[category])]
                        }
                        if !chosen.contains(pi) { break }
                    }
                    chosen.append(pi)
                    let p = products[pi]
                    let bulk = CRMWorld.categories[p.category].bulk
                    var quantity = 1
                    while quantity < 5 * bulk && random.unit() < 0.35 + 0.1 * Double(bulk) { quantity += 1 }
                    if c.segment == 2 && random.unit() < 0.3 { quantity *= 1 + random.below(4) }
                    quantity = min(quantity, 40)
                    var discount = 0
                    if channel == 1 { discount = 10 + 5 * random.below(5) }
                    else if channel == 4 { discount = 5 + 5 * random.below(2) }
                    else if random.unit() < 0.15 { discount = 5 }
                    if month >= 11 && random.unit() < 0.5 { discount += 5 }
                    if c.tier == 0 { discount += 3 }
                    discount = min(discount, 40)
                    let gross = quantity * p.priceCents
                    let revenue = (gross * (100 - discount) + 50) / 100
                    let cost = (gross * p.costPercent + 50) / 100

                    w.int(order); w.comma()
                    w.raw(dateBytes[day]); w.comma()
                    w.int(ci + 1); w.comma()
                    w.int(pi + 1); w.comma()
                    w.int(channel + 1); w.comma()
                    w.int(quantity); w.comma()
                    w.cents(p.priceCents); w.comma()
                    w.byte(48); w.byte(46); w.byte(UInt8(48 + discount / 10)); w.byte(UInt8(48 + discount % 10)); w.comma()
                    w.cents(revenue); w.comma()
                    w.cents(cost); w.newline()
                }
                if w.bytes.count > 1 << 20 {
                    try output.write(w.bytes)
                    w.bytes.removeAll(keepingCapacity: true)
                }
            }
        }
        try output.write(w.bytes)
        try output.end()
    }

    /// Lines per order, 1 to 6: most orders hold one or two lines (mean about 2.2).
    static let linesCumulative = cumulative([0.42, 0.24, 0.14, 0.1, 0.06, 0.04])

    /// Natural logarithm by Newton's method on `portableExp` (platform-independent).
    static func logarithm(_ x: Double) -> Double {
        var y = 0.0
        var m = x
        while m > 2 { m /= 2; y += 0.693_147_180_559_945_3 }
        for _ in 0..<30 {
            let e = portableExp(y)
            y -= (e - x) / e
        }
        return y
    }

    /// The model of the generated cube: PRODUCT.md section 3's, except that the facts carry
    /// order numbers, so `orders` counts distinct orders and `lines` counts fact rows, and
    /// two row measures: `list_revenue` (sales at list price) and `discounts` (what the
    /// discounts gave away), each a sum of row arithmetic over the fact columns.
    public static let model = """
    {
      "name": "sales",
      "facts": "sales.csv",
      "dimensions": [
        { "name": "customer", "table": "customers.csv", "key": "customer_id",
          "levels": ["region", "city", {"name": "customer", "column": "customer_name", "key": "customer_id"}],
          "attributes": ["segment", "tier", "age_band"] },
        { "name": "product", "table": "products.csv", "key": "product_id",
          "levels": ["category", "subcategory", {"name": "product", "column": "product_name", "key": "product_id"}],
          "attributes": ["brand"] },
        { "name": "channel", "table": "channels.csv", "key": "channel_id",
          "levels": [{"name": "type", "column": "channel_type"}, "channel"] },
        { "name": "time", "type": "time", "column": "date" }
      ],
      "measures": [
        { "name": "revenue",  "column": "revenue",  "aggregate": "sum", "format": "money" },
        { "name": "cost",     "column": "cost",     "aggregate": "sum", "format": "money" },
        { "name": "quantity", "column": "quantity", "aggregate": "sum" },
        { "name": "orders",   "column": "order_id", "aggregate": "count_distinct" },
        { "name": "lines",    "aggregate": "count" },
        { "name": "customers","column": "customer_id", "aggregate": "count_distinct" },
        { "name": "margin",   "expression": "revenue - cost", "format": "money" },
        { "name": "margin_pct", "expression": "(revenue - cost) / revenue", "format": "percent" },
        { "name": "list_revenue", "aggregate": "sum", "row": "price * quantity", "format": "money" },
        { "name": "discounts", "aggregate": "sum", "row": "price * quantity * discount", "format": "money" }
      ]
    }

    """
}
