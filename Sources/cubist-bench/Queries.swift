import CubistCore
import CubistEngine
import CubistStore
import CubistSyntax

/// One benchmark question: its Cubist text and the fact columns it reads, so the
/// bandwidth bound (bytes read / memory bandwidth) can be computed from the cube.
struct BenchQuery {
    let id: String
    let title: String
    let text: String
    /// Dimensions whose leaf-code column the scan reads.
    let dimensions: [String]
    /// Numeric fact columns the scan reads.
    let columns: [String]

    /// Bytes of fact columns the query streams on `cube`.
    func bytesRead(_ cube: Cube) -> Int {
        var total = 0
        for (d, codes) in zip(cube.dimensions, cube.facts.dimensionCodes) where dimensions.contains(d.name) {
            total += codes.byteCount
        }
        for c in cube.facts.numericColumns where columns.contains(c.name) {
            total += c.packed.byteCount + (c.nulls == nil ? 0 : c.count / 8)
        }
        return total
    }
}

/// The ten questions of issue 6, the customer questions of issue 13, the analyses of issue 14 and the further shapes of issue 16, in the CRM sample's model. `Tests/Peers/peers.py` asks
/// the same questions of DuckDB, chDB and Polars.
let benchQueries: [BenchQuery] = [
    BenchQuery(id: "Q1", title: "grand total of revenue, quantity, orders",
               text: "SELECT revenue, quantity, orders",
               dimensions: [], columns: ["revenue", "quantity", "order_id"]),
    BenchQuery(id: "Q2", title: "revenue by year, quarter",
               text: "SELECT revenue BY time.year, time.quarter",
               dimensions: ["time"], columns: ["revenue"]),
    BenchQuery(id: "Q3", title: "one year sliced: revenue, margin by channel",
               text: "SELECT revenue, margin BY channel.channel WHERE time.year = 2024",
               dimensions: ["time", "channel"], columns: ["revenue", "cost"]),
    BenchQuery(id: "Q4", title: "diced (2 channels, 3 categories): revenue by region, month",
               text: "SELECT revenue BY customer.region, time.month WHERE channel.channel IN ('Web', 'Store') AND product.category IN ('Books', 'Toys', 'Home')",
               dimensions: ["customer", "time", "channel", "product"], columns: ["revenue"]),
    BenchQuery(id: "Q5", title: "top 10 customers by revenue in one year",
               text: "SELECT revenue BY customer.customer WHERE time.year = 2024 TOP 10 BY revenue",
               dimensions: ["customer", "time"], columns: ["revenue"]),
    BenchQuery(id: "Q6", title: "distinct customers by channel and year",
               text: "SELECT customers BY channel.channel, time.year",
               dimensions: ["customer", "channel", "time"], columns: []),
    BenchQuery(id: "Q7", title: "revenue, margin by category, segment, tier with HAVING",
               text: "SELECT revenue, margin BY product.category, customer.segment, customer.tier HAVING revenue > 1000000",
               dimensions: ["product", "customer"], columns: ["revenue", "cost"]),
    BenchQuery(id: "Q8", title: "region ACROSS year",
               text: "SELECT revenue BY customer.region ACROSS time.year",
               dimensions: ["customer", "time"], columns: ["revenue"]),
    BenchQuery(id: "Q9", title: "revenue BY ROLLUP(region, city)",
               text: "SELECT revenue BY ROLLUP(customer.region, customer.city)",
               dimensions: ["customer"], columns: ["revenue"]),
    BenchQuery(id: "Q10", title: "revenue, quantity by product for VIP customers",
               text: "SELECT revenue, quantity BY product.product WHERE customer.tier = 'VIP'",
               dimensions: ["product", "customer"], columns: ["revenue", "quantity"]),
    // Customer questions (issue 13): the customer as the unit, a filtered measure, a
    // statistic of rows.
    BenchQuery(id: "Q11", title: "revenue per customer (LTV) by tier",
               text: "SELECT avg(revenue PER customer.customer) AS ltv BY customer.tier",
               dimensions: ["customer"], columns: ["revenue"]),
    BenchQuery(id: "Q12", title: "repeat rate by segment",
               text: "SELECT count(customer.customer HAVING orders >= 2) / customers AS repeat_rate BY customer.segment",
               dimensions: ["customer"], columns: ["order_id"]),
    BenchQuery(id: "Q13", title: "web share of revenue by region (FILTER)",
               text: "SELECT revenue FILTER (WHERE channel.channel = 'Web') / revenue AS web_share BY customer.region",
               dimensions: ["customer", "channel"], columns: ["revenue"]),
    BenchQuery(id: "Q14", title: "median sale by category",
               text: "SELECT median(revenue) BY product.category",
               dimensions: ["product"], columns: ["revenue"]),
    // A statistic of per-member values that does not add up: the general PER path, one
    // state per (group, member) pair (Q11's avg is rewritten to a sum and a distinct count).
    BenchQuery(id: "Q15", title: "median revenue per customer by tier",
               text: "SELECT median(revenue PER customer.customer) AS median_customer BY customer.tier",
               dimensions: ["customer"], columns: ["revenue"]),
    // Cohorts: customers grouped by the quarter of their first purchase (a computed
    // attribute, `benchSetup`), active customers per quarter, and the same crosstab of
    // revenue (the plain query with the same grouping).
    BenchQuery(id: "Q16", title: "cohort matrix: active customers by first quarter across quarter",
               text: "SELECT customers BY customer.cohort ACROSS time.quarter",
               dimensions: ["customer", "time"], columns: []),
    BenchQuery(id: "Q17", title: "revenue by first quarter across quarter",
               text: "SELECT revenue BY customer.cohort ACROSS time.quarter",
               dimensions: ["customer", "time"], columns: ["revenue"]),
    // Customer analyses (issue 14): one statement each.
    BenchQuery(id: "Q18", title: "PARETO: the 20:80 curve of revenue over customers",
               text: "PARETO customer.customer BY revenue",
               dimensions: ["customer"], columns: ["revenue"]),
    BenchQuery(id: "Q19", title: "RFM SUMMARY: customers by recency, frequency and revenue segment",
               text: "RFM customer.customer SUMMARY",
               dimensions: ["customer", "time"], columns: ["revenue", "order_id"]),
    BenchQuery(id: "Q20", title: "LTV by tier: value, orders, margin and lifetime per customer",
               text: "LTV customer.customer BY customer.tier",
               dimensions: ["customer", "time"], columns: ["revenue", "cost", "order_id"]),
    BenchQuery(id: "Q21", title: "COHORT by month: the share of each month's new customers active n months later",
               text: "COHORT customer.customer BY time.month",
               dimensions: ["customer", "time"], columns: []),
    BenchQuery(id: "Q22", title: "CHURN by tier: active in the 365 days before the last 365 and not since",
               text: "CHURN customer.customer BY customer.tier",
               dimensions: ["customer", "time"], columns: ["revenue"]),
    BenchQuery(id: "Q23", title: "BASKET: categories bought by the same customers, with lift",
               text: "BASKET product.category PER customer.customer",
               dimensions: ["customer", "product"], columns: []),
    BenchQuery(id: "Q24", title: "BASKET per order: categories bought in one order, with lift",
               text: "BASKET product.category",
               dimensions: ["product"], columns: ["order_id"]),
    // Shapes beyond the first questions (issue 16): many groups finished into a few rows,
    // row arithmetic, period functions, crosstab shares, sub-selects, distinct counts over
    // large levels, a three-dimension dice, and the many-group breakdown that was slow.
    BenchQuery(id: "Q25", title: "ORDER BY revenue DESC LIMIT 10 over every customer",
               text: "SELECT revenue BY customer.customer ORDER BY revenue DESC LIMIT 10",
               dimensions: ["customer"], columns: ["revenue"]),
    BenchQuery(id: "Q26", title: "plain LIMIT: the first 10 customers with revenue and orders",
               text: "SELECT revenue, orders BY customer.customer LIMIT 10",
               dimensions: ["customer"], columns: ["revenue", "order_id"]),
    BenchQuery(id: "Q27", title: "row-expression measures: list value and discounts by year",
               text: "SELECT list_revenue, discounts, revenue BY time.year",
               dimensions: ["time"], columns: ["price", "quantity", "discount", "revenue"]),
    BenchQuery(id: "Q28", title: "row filters: lines of 3+ units at 5-15% discount, by channel",
               text: "SELECT revenue, lines BY channel.channel WHERE quantity >= 3 AND discount BETWEEN 0.05 AND 0.15",
               dimensions: ["channel"], columns: ["quantity", "discount", "revenue"]),
    BenchQuery(id: "Q29", title: "growth and yoy by month",
               text: "SELECT revenue, growth(revenue), yoy(revenue) BY time.month",
               dimensions: ["time"], columns: ["revenue"]),
    BenchQuery(id: "Q30", title: "channel mix per age band: share of the row total in a crosstab",
               text: "SELECT share(revenue, ALL channel) AS mix BY customer.age_band ACROSS channel.type",
               dimensions: ["customer", "channel"], columns: ["revenue"]),
    BenchQuery(id: "Q31", title: "churn sub-select: 2024 customers who did not buy in 2025, by tier",
               text: "SELECT revenue, customers BY customer.tier WHERE customer.customer IN (SELECT customer.customer WHERE time.year = 2024) AND customer.customer NOT IN (SELECT customer.customer WHERE time.year = 2025)",
               dimensions: ["customer", "time"], columns: ["revenue"]),
    BenchQuery(id: "Q32", title: "distinct customers and orders by category",
               text: "SELECT customers, orders BY product.category",
               dimensions: ["customer", "product"], columns: ["order_id"]),
    BenchQuery(id: "Q33", title: "three-dimension dice with HAVING in one year",
               text: "SELECT revenue, orders BY customer.region, product.category, channel.channel WHERE time.year = 2025 HAVING revenue > 100000",
               dimensions: ["customer", "product", "channel", "time"], columns: ["revenue", "order_id"]),
    BenchQuery(id: "Q34", title: "segment ACROSS year WITH TOTALS",
               text: "SELECT revenue BY customer.segment ACROSS time.year WITH TOTALS",
               dimensions: ["customer", "time"], columns: ["revenue"]),
    BenchQuery(id: "Q35", title: "customer x category x channel type, top 5 (1.8M groups)",
               text: "SELECT revenue BY customer.customer, product.category, channel.type TOP 5 BY revenue",
               dimensions: ["customer", "product", "channel"], columns: ["revenue"]),
]

/// Statements run once after the cube is loaded, before any question (not timed with them).
let benchSetup = ["DEFINE ATTRIBUTE customer.cohort = min(time.quarter)"]

/// The cube with the setup statements applied.
func preparedForBench(_ cube: Cube) throws(Diagnostic) -> Cube {
    var cube = cube
    for text in benchSetup {
        guard case .defineAttribute(let dimension, let name, let expr, let condition, let range) = try Parser.parseStatement(text) else { continue }
        cube = try QueryEngine(cube: cube).definingAttribute(dimension: dimension, name: name, expr: expr, condition: condition,
                                                             parameters: [:], at: range)
    }
    return cube
}
