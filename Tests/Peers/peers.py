#!/usr/bin/env python3
"""Cubist side by side with DuckDB, chDB (ClickHouse in-process) and Polars.

One command from a clean clone:

    python3 Tests/Peers/peers.py            # 10M rows, 5 runs, 2 threads each
    python3 Tests/Peers/peers.py --parquet-load   # loading the facts from ZSTD Parquet

It installs what is missing from PyPI, builds Cubist (release), generates the CRM star
schema with `cubist generate` (reused when present), starts one server process per engine
(`cubist-bench serve` for Cubist, this script in --serve mode for the peers), waits until
each has loaded the CSV files and notes its load time and resident memory, then runs
Q1..Q24: one warm-up per engine, then `--runs` rounds, each round asking every engine in
turn (the order rotates), so the machine's noise falls on all of them alike. Every
engine's answer is checked against Cubist's. It prints the median per query and engine,
the ratio of Cubist to the fastest peer and the geometric mean, and writes JSON.

See docs/benchmarks.md.
"""
import argparse, csv, io, json, math, os, re, statistics, subprocess, sys, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEERS = ["duckdb", "chdb", "polars"]
PACKAGES = {"duckdb": "duckdb", "chdb": "chdb", "polars": "polars"}

# The flat table every SQL peer queries: the star schema joined once, with the time levels
# as integers (year; q = quarter 1-4; ym = year * 100 + month), the fastest to group by;
# answers are turned into Cubist's labels (2024-Q1, 2024-01) after timing, in `labels`.
SQL = {
    "Q1": "SELECT sum(revenue), sum(quantity), count(DISTINCT order_id) FROM f",
    "Q2": "SELECT year, q, sum(revenue) FROM f GROUP BY year, q",
    "Q3": "SELECT channel, sum(revenue), sum(revenue) - sum(cost) FROM f WHERE year = 2024 GROUP BY channel",
    "Q4": "SELECT region, ym, sum(revenue) FROM f WHERE channel IN ('Web', 'Store') AND category IN ('Books', 'Toys', 'Home') GROUP BY region, ym",
    "Q5": "SELECT customer_name, sum(revenue) AS r FROM f WHERE year = 2024 GROUP BY customer_id, customer_name ORDER BY r DESC LIMIT 10",
    "Q6": "SELECT channel, year, count(DISTINCT customer_id) FROM f GROUP BY channel, year",
    "Q7": "SELECT category, segment, tier, sum(revenue), sum(revenue) - sum(cost) FROM f GROUP BY category, segment, tier HAVING sum(revenue) > 1000000",
    "Q8": "SELECT region, year, sum(revenue) FROM f GROUP BY region, year",
    "Q9": None,  # ROLLUP is spelled differently per engine, below
    "Q10": "SELECT product_name, sum(revenue), sum(quantity) FROM f WHERE tier = 'VIP' GROUP BY product_id, product_name",
    "Q11": "SELECT tier, avg(r) FROM (SELECT tier, customer_id, sum(revenue) AS r FROM f GROUP BY tier, customer_id) GROUP BY tier",
    "Q12": "SELECT segment, sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END) / count(*) FROM (SELECT segment, customer_id, count(DISTINCT order_id) AS n FROM f GROUP BY segment, customer_id) GROUP BY segment",
    "Q13": "SELECT region, sum(CASE WHEN channel = 'Web' THEN revenue ELSE 0 END) / sum(revenue) FROM f GROUP BY region",
    "Q14": None,  # the interpolating median is spelled differently per engine, below
    "Q15": None,  # likewise, over each customer's revenue
    # cohort = year * 10 + quarter of the customer's first purchase, a column of the flat
    # table (as Cubist defines its cohort attribute once before the questions)
    "Q16": "SELECT cohort, year, q, count(DISTINCT customer_id) FROM f GROUP BY cohort, year, q",
    "Q17": "SELECT cohort, year, q, sum(revenue) FROM f GROUP BY cohort, year, q",
    "Q18": None,  # PARETO: window functions, spelled per engine below
    "Q19": None,  # RFM SUMMARY, below
    "Q20": None,  # LTV, below
    "Q21": None,  # COHORT, below
    "Q22": None,  # CHURN, below
    "Q23": None,  # BASKET, below
    "Q24": None,  # BASKET per order, below
    # Shapes beyond the first questions (issue 16).
    "Q25": "SELECT customer_name, sum(revenue) AS r FROM f GROUP BY customer_id, customer_name ORDER BY r DESC LIMIT 10",
    # Cubist's natural order of customers is by name (names are unique: they end in the id)
    "Q26": "SELECT customer_name, sum(revenue), count(DISTINCT order_id) FROM f GROUP BY customer_name ORDER BY customer_name LIMIT 10",
    "Q27": "SELECT year, sum(price * quantity), sum(price * quantity * discount), sum(revenue) FROM f GROUP BY year",
    "Q28": "SELECT channel, sum(revenue), count(*) FROM f WHERE quantity >= 3 AND discount BETWEEN 0.05 AND 0.15 GROUP BY channel",
    "Q29": None,  # lag() is spelled differently per engine, below
    "Q30": None,  # a share of the row total, below
    "Q31": """SELECT tier, sum(revenue), count(DISTINCT customer_id) FROM f
        WHERE customer_id IN (SELECT customer_id FROM f WHERE year = 2024) AND customer_id NOT IN (SELECT customer_id FROM f WHERE year = 2025)
        GROUP BY tier""",
    "Q32": "SELECT category, count(DISTINCT customer_id), count(DISTINCT order_id) FROM f GROUP BY category",
    "Q33": """SELECT region, category, channel, sum(revenue), count(DISTINCT order_id) FROM f WHERE year = 2025
        GROUP BY region, category, channel HAVING sum(revenue) > 100000""",
    "Q34": None,  # GROUPING SETS, below
    "Q35": """SELECT customer_name, category, channel_type, sum(revenue) AS r FROM f
        GROUP BY customer_id, customer_name, category, channel_type ORDER BY r DESC LIMIT 5""",
}
# growth(revenue) and yoy(revenue) BY time.month: the month before and the same month a year
# before (every one of the 48 months has sales, so they are 1 and 12 rows back).
GROWTH = {
    "duckdb": """SELECT ym, r, r / lag(r) OVER (ORDER BY ym) - 1, r / lag(r, 12) OVER (ORDER BY ym) - 1
        FROM (SELECT ym, sum(revenue) AS r FROM f GROUP BY ym)""",
    "chdb": """SELECT ym, r, r / nullIf(lagInFrame(r, 1) OVER (ORDER BY ym ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), 0) - 1,
               r / nullIf(lagInFrame(r, 12) OVER (ORDER BY ym ROWS BETWEEN 12 PRECEDING AND CURRENT ROW), 0) - 1
        FROM (SELECT ym, toFloat64(sum(revenue)) AS r FROM f GROUP BY ym)""",
}
# share(revenue, ALL channel) BY customer.age_band ACROSS channel.type: each cell over its row.
ROW_SHARE = {
    "duckdb": """SELECT a, t, r / sum(r) OVER (PARTITION BY a) FROM
        (SELECT age_band AS a, channel_type AS t, CAST(sum(revenue) AS DOUBLE) AS r FROM f GROUP BY a, t)""",
    "chdb": """SELECT a, t, r / sum(r) OVER (PARTITION BY a) FROM
        (SELECT age_band AS a, channel_type AS t, toFloat64(sum(revenue)) AS r FROM f GROUP BY a, t)""",
}
# WITH TOTALS on a crosstab: the cells, the row totals, the column totals and the grand total.
CROSSTAB_TOTALS = {
    "duckdb": "SELECT segment, year, sum(revenue) FROM f GROUP BY GROUPING SETS ((segment, year), (segment), (year), ())",
    "chdb": "SELECT segment, year, sum(revenue) FROM f GROUP BY GROUPING SETS ((segment, year), (segment), (year), ()) SETTINGS group_by_use_nulls = 1",
}
ROLLUP = {
    "duckdb": "SELECT region, city, sum(revenue) FROM f GROUP BY ROLLUP (region, city)",
    "chdb": "SELECT region, city, sum(revenue) FROM f GROUP BY region, city WITH ROLLUP SETTINGS group_by_use_nulls = 1",
}
MEDIAN = {
    "duckdb": "SELECT category, median(revenue) FROM f GROUP BY category",
    "chdb": "SELECT category, quantileExactInclusive(0.5)(toFloat64(revenue)) FROM f GROUP BY category",
}
PER_MEDIAN = {
    "duckdb": "SELECT tier, median(r) FROM (SELECT tier, customer_id, sum(revenue) AS r FROM f GROUP BY tier, customer_id) GROUP BY tier",
    "chdb": "SELECT tier, quantileExactInclusive(0.5)(toFloat64(r)) FROM (SELECT tier, customer_id, sum(revenue) AS r FROM f GROUP BY tier, customer_id) GROUP BY tier",
}
# PARETO customer.customer BY revenue: each customer's revenue ranked, the running sum at
# ceil(n * p / 100) customers for the cuts, and the fewest customers reaching 80%.
PARETO = {
    "duckdb": """WITH m AS (SELECT customer_id, sum(revenue) AS r FROM f GROUP BY customer_id),
        r AS (SELECT row_number() OVER (ORDER BY r DESC, customer_id) AS k, count(*) OVER () AS n, sum(r) OVER () AS total,
                     sum(r) OVER (ORDER BY r DESC, customer_id ROWS UNBOUNDED PRECEDING) AS cum FROM m)
        SELECT p || '%', k, cum, cum / total, k / n FROM r, (VALUES (1), (5), (10), (20), (50), (100)) t(p) WHERE k = ceil(n * p / 100.0)
        UNION ALL SELECT '80% point', min(k), min(cum), min(cum) / any_value(total), min(k) / any_value(n) FROM r WHERE cum >= 0.8 * total""",
    "chdb": """WITH r AS (SELECT row_number() OVER (ORDER BY r DESC, customer_id) AS k, count() OVER () AS n, sum(r) OVER () AS total,
                     sum(r) OVER (ORDER BY r DESC, customer_id ROWS UNBOUNDED PRECEDING) AS cum
                     FROM (SELECT customer_id, sum(revenue) AS r FROM f GROUP BY customer_id))
        SELECT * FROM (SELECT concat(toString(p), '%') AS top, k, cum, toFloat64(cum) / toFloat64(total), k / n FROM r
                       ARRAY JOIN [1, 5, 10, 20, 50, 100] AS p WHERE k = ceil(n * p / 100.0)
        UNION ALL SELECT '80% point', min(k), min(cum), toFloat64(min(cum)) / toFloat64(any(total)), min(k) / any(n) FROM r WHERE cum >= 0.8 * total)""",
}
# RFM customer.customer SUMMARY: per customer the days since the last purchase, the rows and
# the revenue; scores 1 + floor(5 * (2 * worse + ties - 1) / (2 * n)) by rank (ties share
# their middle rank); segments from the R x F grid (docs/crm.md); every segment, then Total.
SEGMENTS = ["Champions", "Loyal", "Potential loyalists", "New customers", "Promising", "Need attention",
            "About to sleep", "Cannot lose them", "At risk", "Hibernating", "Lost"]
SEGMENT_CASE = """CASE WHEN r = 5 AND fs >= 4 THEN 'Champions' WHEN r >= 3 AND fs >= 4 THEN 'Loyal'
    WHEN r >= 4 AND fs >= 2 THEN 'Potential loyalists' WHEN r = 5 THEN 'New customers' WHEN r = 4 THEN 'Promising'
    WHEN r = 3 AND fs = 3 THEN 'Need attention' WHEN r = 3 THEN 'About to sleep' WHEN fs = 5 THEN 'Cannot lose them'
    WHEN fs >= 3 THEN 'At risk' WHEN r = 2 THEN 'Hibernating' ELSE 'Lost' END"""
SEGMENT_VALUES = ", ".join(f"('{s}', {i})" for i, s in enumerate(SEGMENTS))
RFM = {
    "duckdb": f"""WITH m AS (SELECT customer_id, (SELECT max(date) FROM f) - max(date) AS rec, count(DISTINCT order_id) AS fr, sum(revenue) AS mo
                           FROM f GROUP BY customer_id),
        s AS (SELECT *, count(*) OVER () AS n FROM m),
        q AS (SELECT mo, 1 + floor(5 * (2 * (rank() OVER (ORDER BY rec DESC) - 1) + count(*) OVER (PARTITION BY rec) - 1) / (2 * n)) AS r,
                         1 + floor(5 * (2 * (rank() OVER (ORDER BY fr) - 1) + count(*) OVER (PARTITION BY fr) - 1) / (2 * n)) AS fs FROM s),
        g AS (SELECT {SEGMENT_CASE} AS segment, mo FROM q),
        t AS (SELECT count(*) AS n, sum(mo) AS total FROM g)
        SELECT * FROM (SELECT seg.name, count(g.mo), count(g.mo) / (SELECT n FROM t), coalesce(sum(g.mo), 0),
                              coalesce(sum(g.mo), 0) / (SELECT total FROM t)
                       FROM (VALUES {SEGMENT_VALUES}) seg(name, k) LEFT JOIN g ON g.segment = seg.name GROUP BY seg.name, seg.k ORDER BY seg.k)
        UNION ALL SELECT 'Total', n, 1, total, 1 FROM t""",
    "chdb": f"""WITH m AS (SELECT customer_id, dateDiff('day', max(date), (SELECT max(date) FROM f)) AS rec, uniqExact(order_id) AS fr, sum(revenue) AS mo
                         FROM f GROUP BY customer_id),
        s AS (SELECT *, count() OVER () AS n FROM m),
        q AS (SELECT mo, 1 + intDiv(5 * (2 * (rank() OVER (ORDER BY rec DESC) - 1) + count() OVER (PARTITION BY rec) - 1), 2 * n) AS r,
                         1 + intDiv(5 * (2 * (rank() OVER (ORDER BY fr) - 1) + count() OVER (PARTITION BY fr) - 1), 2 * n) AS fs FROM s),
        g AS (SELECT {SEGMENT_CASE} AS segment, mo FROM q)
        SELECT * FROM (SELECT name, countIf(g.segment != ''), countIf(g.segment != '') / (SELECT count() FROM g),
                              sumIf(g.mo, g.segment != ''), toFloat64(sumIf(g.mo, g.segment != '')) / toFloat64((SELECT sum(mo) FROM g))
                       FROM (SELECT arrayJoin({SEGMENTS}) AS name) AS seg LEFT JOIN g ON g.segment = seg.name GROUP BY name
                       ORDER BY indexOf({SEGMENTS}, name))
        UNION ALL SELECT 'Total', count(), 1, sum(mo), 1 FROM g""",
}
# LTV customer.customer BY customer.tier: per tier and customer the sums and the days from
# the first to the last purchase; per tier (and in total) the figures per customer.
LTV = {
    "duckdb": """WITH m AS (SELECT tier, customer_id, sum(revenue) AS rev, count(DISTINCT order_id) AS o, sum(revenue) - sum(cost) AS mar,
                                  max(date) - min(date) AS life FROM f GROUP BY tier, customer_id)
        SELECT tier, count(*), sum(rev) / count(*), sum(o) / count(*), sum(rev) / sum(o), avg(life), sum(mar) / count(*) FROM m GROUP BY tier
        UNION ALL SELECT NULL, count(*), sum(rev) / count(*), sum(o) / count(*), sum(rev) / sum(o), avg(life), sum(mar) / count(*) FROM m""",
    "chdb": """WITH m AS (SELECT tier, customer_id, sum(revenue) AS rev, uniqExact(order_id) AS o, sum(revenue) - sum(cost) AS mar,
                                dateDiff('day', min(date), max(date)) AS life FROM f GROUP BY tier, customer_id)
        SELECT toString(tier), count(), toFloat64(sum(rev)) / count(), sum(o) / count(), toFloat64(sum(rev)) / sum(o), avg(life),
               toFloat64(sum(mar)) / count() FROM m GROUP BY tier
        UNION ALL SELECT NULL, count(), toFloat64(sum(rev)) / count(), sum(o) / count(), toFloat64(sum(rev)) / sum(o), avg(life),
               toFloat64(sum(mar)) / count() FROM m""",
}
# COHORT customer.customer BY time.month: each customer's first month; per cohort and months
# since, the distinct customers over the cohort's size (k = -1: the size itself).
COHORT = {
    "duckdb": """WITH c AS (SELECT customer_id, min(ym) AS cym FROM f GROUP BY customer_id),
        a AS (SELECT cym, (ym // 100) * 12 + ym % 100 - ((cym // 100) * 12 + cym % 100) AS k, count(DISTINCT customer_id) AS n
              FROM f JOIN c USING (customer_id) GROUP BY ALL)
        SELECT cym, k, n / max(CASE WHEN k = 0 THEN n END) OVER (PARTITION BY cym) FROM a
        UNION ALL SELECT cym, -1, n FROM a WHERE k = 0""",
    "chdb": """WITH c AS (SELECT customer_id, min(ym) AS cym FROM f GROUP BY customer_id),
        a AS (SELECT cym, intDiv(ym, 100) * 12 + ym % 100 - (intDiv(cym, 100) * 12 + cym % 100) AS k, uniqExact(customer_id) AS n
              FROM f JOIN c USING (customer_id) GROUP BY cym, k)
        SELECT cym, k, n / max(if(k = 0, n, 0)) OVER (PARTITION BY cym) FROM a
        UNION ALL SELECT cym, -1, n FROM a WHERE k = 0""",
}
# CHURN customer.customer BY customer.tier: per customer the rows in the 365 days before the
# last 365 and in the last 365 (to the latest date), and the revenue of the earlier ones.
CHURN = {
    "duckdb": """WITH l AS (SELECT max(date) AS d FROM f),
        m AS (SELECT tier, customer_id,
                     count(*) FILTER (WHERE date <= (SELECT d FROM l) - 365) AS b,
                     sum(revenue) FILTER (WHERE date <= (SELECT d FROM l) - 365) AS rb,
                     count(*) FILTER (WHERE date > (SELECT d FROM l) - 365) AS a
              FROM f WHERE date > (SELECT d FROM l) - 730 GROUP BY tier, customer_id),
        c AS (SELECT tier, b > 0 AS active, b > 0 AND a = 0 AS gone, rb FROM m)
        SELECT tier, count(*) FILTER (WHERE active), count(*) FILTER (WHERE gone), count(*) FILTER (WHERE gone) / count(*) FILTER (WHERE active),
               coalesce(sum(rb) FILTER (WHERE gone), 0) FROM c GROUP BY tier
        UNION ALL SELECT NULL, count(*) FILTER (WHERE active), count(*) FILTER (WHERE gone), count(*) FILTER (WHERE gone) / count(*) FILTER (WHERE active),
               coalesce(sum(rb) FILTER (WHERE gone), 0) FROM c""",
    "chdb": """WITH (SELECT max(date) FROM f) AS d,
        m AS (SELECT tier, customer_id, countIf(date <= d - 365) AS b, sumIf(revenue, date <= d - 365) AS rb, countIf(date > d - 365) AS a
              FROM f WHERE date > d - 730 GROUP BY tier, customer_id)
        SELECT toString(tier), countIf(b > 0), countIf(b > 0 AND a = 0), countIf(b > 0 AND a = 0) / countIf(b > 0), sumIf(rb, b > 0 AND a = 0) FROM m GROUP BY tier
        UNION ALL SELECT NULL, countIf(b > 0), countIf(b > 0 AND a = 0), countIf(b > 0 AND a = 0) / countIf(b > 0), sumIf(rb, b > 0 AND a = 0) FROM m""",
}
# BASKET product.category PER basket: the distinct (basket, category) pairs joined to
# themselves on the basket; support, confidence and lift per ordered pair. The basket is
# the customer (Q23) or the order (Q24, BASKET's default).
def basket_sql(key):
    return {
        "duckdb": f"""WITH b AS (SELECT DISTINCT {key}, category FROM f),
        n AS (SELECT count(DISTINCT {key}) AS n FROM b),
        s AS (SELECT category, count(*) AS k FROM b GROUP BY category),
        p AS (SELECT x.category AS a, y.category AS b, count(*) AS t FROM b x JOIN b y ON x.{key} = y.{key} AND x.category <> y.category
              GROUP BY a, b)
        SELECT a, b, t, t / n, t / sa.k, t * n / (sa.k * sb.k) FROM p, n, s sa, s sb WHERE sa.category = a AND sb.category = b""",
        "chdb": f"""WITH b AS (SELECT DISTINCT {key}, toString(category) AS category FROM f),
        (SELECT uniqExact({key}) FROM b) AS n,
        s AS (SELECT category, count() AS k FROM b GROUP BY category),
        p AS (SELECT x.category AS a, y.category AS c, count() AS t FROM b AS x INNER JOIN b AS y ON x.{key} = y.{key}
              WHERE x.category != y.category GROUP BY a, c)
        SELECT p.a, p.c, p.t, p.t / n, p.t / sa.k, p.t * n / (sa.k * sb.k) FROM p INNER JOIN s AS sa ON sa.category = p.a INNER JOIN s AS sb ON sb.category = p.c""",
    }
BASKET, BASKET_ORDER = basket_sql("customer_id"), basket_sql("order_id")
# The questions each SQL engine spells its own way.
SPELLED = {"Q9": ROLLUP, "Q14": MEDIAN, "Q15": PER_MEDIAN, "Q18": PARETO, "Q19": RFM, "Q20": LTV, "Q21": COHORT, "Q22": CHURN,
           "Q23": BASKET, "Q24": BASKET_ORDER, "Q29": GROWTH, "Q30": ROW_SHARE, "Q34": CROSSTAB_TOTALS}
QUERIES = [f"Q{i}" for i in range(1, 36)]


def ensure_packages(names):
    missing = []
    for name in names:
        try:
            __import__(name)
        except ImportError:
            missing.append(PACKAGES[name])
    if missing:
        print(f"installing {', '.join(missing)} from PyPI...", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *missing])


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------- peer servers

class DuckDBPeer:
    def __init__(self, data, threads):
        import duckdb
        self.db = duckdb.connect(":memory:", config={"threads": threads})
        money = {"sales": ["revenue", "cost", "price", "discount"], "products": ["list_price"], "customers": [], "channels": []}
        for t, columns in money.items():
            types = "{" + ", ".join(f"'{c}': 'DECIMAL(18,2)'" for c in columns) + "}"
            typed = f", types = {types}" if columns else ""
            self.db.execute(f"CREATE TABLE {t} AS SELECT * FROM read_csv('{data}/{t}.csv', header = true{typed})")

    def flatten(self):
        self.db.execute("""CREATE TABLE f AS SELECT s.order_id, s.date, year(s.date)::SMALLINT AS year,
            quarter(s.date)::TINYINT AS q, (year(s.date) * 100 + month(s.date))::INTEGER AS ym,
            s.customer_id, c.customer_name, c.region, c.city, c.segment, c.tier, c.age_band,
            s.product_id, p.product_name, p.category, ch.channel, ch.channel_type, s.quantity, s.price, s.discount, s.revenue, s.cost, co.cohort
            FROM sales s JOIN customers c USING (customer_id) JOIN products p USING (product_id)
            JOIN channels ch USING (channel_id)
            JOIN (SELECT customer_id, min(year(date) * 10 + quarter(date))::SMALLINT AS cohort FROM sales GROUP BY customer_id) co USING (customer_id)""")
        for t in ["sales", "customers", "products", "channels"]:
            self.db.execute(f"DROP TABLE {t}")

    def run(self, q):
        text = SPELLED.get(q, {}).get("duckdb") or SQL[q]
        return [tuple(r) for r in self.db.execute(text).fetchall()]


class ChDBPeer:
    def __init__(self, data, threads):
        from chdb import session
        self.s = session.Session()
        self.threads = threads
        self.s.query("CREATE DATABASE IF NOT EXISTS b")
        self.s.query("USE b")
        schemas = {
            "sales": "order_id UInt32, date Date, customer_id UInt32, product_id UInt32, channel_id UInt8, quantity UInt16, price Decimal(18,2), discount Decimal(18,2), revenue Decimal(18,2), cost Decimal(18,2)",
            "customers": "customer_id UInt32, customer_name String, region String, city String, segment String, tier String, age_band String, signup_date Date",
            "products": "product_id UInt32, product_name String, category String, subcategory String, brand String, list_price Decimal(18,2)",
            "channels": "channel_id UInt8, channel String, channel_type String",
        }
        for t, schema in schemas.items():
            self.s.query(f"CREATE TABLE {t} ({schema}) ENGINE = Memory")
            self.s.query(f"INSERT INTO {t} SELECT * FROM file('{data}/{t}.csv', CSVWithNames, '{schema}') SETTINGS max_threads = {threads}")

    def flatten(self):
        self.s.query(f"""CREATE TABLE f ENGINE = Memory AS SELECT s.order_id AS order_id, s.date AS date, toYear(s.date) AS year,
            toQuarter(s.date) AS q, toYYYYMM(s.date) AS ym,
            s.customer_id AS customer_id, c.customer_name AS customer_name, toLowCardinality(c.region) AS region,
            toLowCardinality(c.city) AS city, toLowCardinality(c.segment) AS segment, toLowCardinality(c.tier) AS tier,
            toLowCardinality(c.age_band) AS age_band,
            s.product_id AS product_id, p.product_name AS product_name, toLowCardinality(p.category) AS category,
            toLowCardinality(ch.channel) AS channel, toLowCardinality(ch.channel_type) AS channel_type,
            s.quantity AS quantity, s.price AS price, s.discount AS discount, s.revenue AS revenue, s.cost AS cost, co.cohort AS cohort
            FROM sales AS s JOIN customers AS c ON s.customer_id = c.customer_id JOIN products AS p ON s.product_id = p.product_id
            JOIN channels AS ch ON s.channel_id = ch.channel_id
            JOIN (SELECT customer_id, toUInt16(min(toYear(date) * 10 + toQuarter(date))) AS cohort FROM sales GROUP BY customer_id) AS co
              ON s.customer_id = co.customer_id SETTINGS max_threads = {self.threads}""")
        for t in ["sales", "customers", "products", "channels"]:
            self.s.query(f"DROP TABLE {t}")

    def run(self, q):
        text = SPELLED.get(q, {}).get("chdb") or SQL[q]
        out = self.s.query(text.replace("SETTINGS", f"SETTINGS max_threads = {self.threads},") if "SETTINGS" in text
                           else f"{text} SETTINGS max_threads = {self.threads}", "CSV")
        # ClickHouse writes NULL as \N in CSV.
        return [tuple(None if v == "\\N" else v for v in r) for r in csv.reader(io.StringIO(out.bytes().decode()))]


class PolarsPeer:
    def __init__(self, data, threads):
        import polars as pl
        self.pl = pl
        read = lambda t, **kw: pl.read_csv(f"{data}/{t}.csv", **kw)
        self.sales = read("sales", try_parse_dates=True)
        self.customers = read("customers")
        self.products = read("products")
        self.channels = read("channels")

    def flatten(self):
        pl = self.pl
        cohorts = self.sales.group_by("customer_id").agg(
            (pl.col("date").dt.year().cast(pl.Int32) * 10 + pl.col("date").dt.quarter().cast(pl.Int32)).min().alias("cohort"))
        f = (self.sales.join(self.customers, on="customer_id").join(self.products, on="product_id")
             .join(self.channels, on="channel_id").join(cohorts, on="customer_id"))
        low = ["region", "city", "segment", "tier", "age_band", "category", "channel", "channel_type"]
        self.f = f.with_columns(
            year=pl.col("date").dt.year(),
            q=pl.col("date").dt.quarter(),
            ym=pl.col("date").dt.year() * 100 + pl.col("date").dt.month(),
            **{c: pl.col(c).cast(pl.Categorical) for c in low},
        ).select(["order_id", "date", "year", "q", "ym", "customer_id", "customer_name", "region", "city", "segment", "tier", "age_band",
                  "product_id", "product_name", "category", "channel", "channel_type", "quantity", "price", "discount", "revenue", "cost",
                  "cohort"]).rechunk()
        del self.sales, self.customers, self.products, self.channels

    def run(self, q):
        pl, f = self.pl, self.f
        rev, cost = pl.col("revenue"), pl.col("cost")
        if q == "Q1":
            r = f.select(rev.sum(), pl.col("quantity").sum(), pl.col("order_id").n_unique())
        elif q == "Q2":
            r = f.group_by("year", "q").agg(rev.sum())
        elif q == "Q3":
            r = f.filter(pl.col("year") == 2024).group_by("channel").agg(rev.sum().alias("r"), (rev.sum() - cost.sum()).alias("m"))
        elif q == "Q4":
            r = (f.filter(pl.col("channel").is_in(["Web", "Store"]) & pl.col("category").is_in(["Books", "Toys", "Home"]))
                 .group_by("region", "ym").agg(rev.sum()))
        elif q == "Q5":
            r = (f.filter(pl.col("year") == 2024).group_by("customer_id", "customer_name").agg(rev.sum().alias("r"))
                 .top_k(10, by="r").select("customer_name", "r"))
        elif q == "Q6":
            r = f.group_by("channel", "year").agg(pl.col("customer_id").n_unique())
        elif q == "Q7":
            r = (f.group_by("category", "segment", "tier").agg(rev.sum().alias("r"), (rev.sum() - cost.sum()).alias("m"))
                 .filter(pl.col("r") > 1000000))
        elif q == "Q8":
            r = f.group_by("region", "year").agg(rev.sum())
        elif q == "Q9":
            detail = f.group_by("region", "city").agg(rev.sum())
            kinds = detail.schema
            regions = detail.group_by("region").agg(rev.sum()).with_columns(city=pl.lit(None, dtype=kinds["city"]))
            total = detail.select(rev.sum()).with_columns(region=pl.lit(None, dtype=kinds["region"]), city=pl.lit(None, dtype=kinds["city"]))
            r = pl.concat([detail, regions.select("region", "city", "revenue"), total.select("region", "city", "revenue")])
        elif q == "Q10":
            r = f.filter(pl.col("tier") == "VIP").group_by("product_id", "product_name").agg(rev.sum(), pl.col("quantity").sum()).drop("product_id")
        elif q == "Q11":
            r = f.group_by("tier", "customer_id").agg(rev.sum().alias("r")).group_by("tier").agg(pl.col("r").mean())
        elif q == "Q12":
            r = (f.group_by("segment", "customer_id").agg(pl.col("order_id").n_unique().alias("n"))
                 .group_by("segment").agg(((pl.col("n") >= 2).sum() / pl.len()).alias("rate")))
        elif q == "Q13":
            r = f.group_by("region").agg((pl.when(pl.col("channel") == "Web").then(rev).otherwise(0).sum() / rev.sum()).alias("share"))
        elif q == "Q14":
            r = f.group_by("category").agg(rev.median())
        elif q == "Q15":
            r = f.group_by("tier", "customer_id").agg(rev.sum().alias("r")).group_by("tier").agg(pl.col("r").median())
        elif q == "Q16":
            r = f.group_by("cohort", "year", "q").agg(pl.col("customer_id").n_unique())
        elif q == "Q17":
            r = f.group_by("cohort", "year", "q").agg(rev.sum())
        elif q == "Q18":
            m = f.group_by("customer_id").agg(rev.sum().alias("r")).sort(["r", "customer_id"], descending=[True, False])
            cum = m["r"].cum_sum()
            n, total = m.height, cum[-1]
            rows = []
            for p in [1, 5, 10, 20, 50, 100]:
                k = -(-n * p // 100)
                rows.append((f"{p}%", k, cum[k - 1], float(cum[k - 1]) / float(total), k / n))
            k = int((cum < 0.8 * total).sum()) + 1
            rows.append(("80% point", k, cum[k - 1], float(cum[k - 1]) / float(total), k / n))
            return rows
        elif q == "Q19":
            last = f["date"].max()
            m = f.group_by("customer_id").agg((pl.lit(last) - pl.col("date").max()).dt.total_days().alias("rec"),
                                              pl.col("order_id").n_unique().alias("fr"), rev.sum().alias("mo"))
            n = m.height

            def score(c, worse_first_descending):
                rank = pl.col(c).rank(method="min", descending=worse_first_descending).cast(pl.Int64)
                return 1 + (5 * (2 * (rank - 1) + pl.len().over(c) - 1)) // (2 * n)
            g = m.with_columns(r=score("rec", True), fs=score("fr", False)).with_columns(
                segment=pl.when((pl.col("r") == 5) & (pl.col("fs") >= 4)).then(pl.lit("Champions"))
                .when((pl.col("r") >= 3) & (pl.col("fs") >= 4)).then(pl.lit("Loyal"))
                .when((pl.col("r") >= 4) & (pl.col("fs") >= 2)).then(pl.lit("Potential loyalists"))
                .when(pl.col("r") == 5).then(pl.lit("New customers")).when(pl.col("r") == 4).then(pl.lit("Promising"))
                .when((pl.col("r") == 3) & (pl.col("fs") == 3)).then(pl.lit("Need attention"))
                .when(pl.col("r") == 3).then(pl.lit("About to sleep")).when(pl.col("fs") == 5).then(pl.lit("Cannot lose them"))
                .when(pl.col("fs") >= 3).then(pl.lit("At risk")).when(pl.col("r") == 2).then(pl.lit("Hibernating"))
                .otherwise(pl.lit("Lost")))
            by = {row[0]: row[1:] for row in g.group_by("segment").agg(pl.len(), pl.col("mo").sum()).rows()}
            total = g["mo"].sum()
            rows = [(s, by.get(s, (0, 0))[0], by.get(s, (0, 0))[0] / n, by.get(s, (0, 0))[1], float(by.get(s, (0, 0))[1]) / float(total))
                    for s in SEGMENTS]
            return rows + [("Total", n, 1, total, 1)]
        elif q == "Q20":
            m = f.group_by("tier", "customer_id").agg(rev.sum().alias("rev"), pl.col("order_id").n_unique().alias("o"), (rev.sum() - cost.sum()).alias("mar"),
                                                      (pl.col("date").max() - pl.col("date").min()).dt.total_days().alias("life"))
            per = [pl.len().alias("members"), (pl.col("rev").sum() / pl.len()).alias("rpm"), (pl.col("o").sum() / pl.len()).alias("opm"),
                   (pl.col("rev").sum() / pl.col("o").sum()).alias("aov"), pl.col("life").mean(), (pl.col("mar").sum() / pl.len()).alias("mpm")]
            return m.group_by("tier").agg(per).rows() + [(None,) + m.select(per).row(0)]
        elif q in ("Q23", "Q24"):
            key = "customer_id" if q == "Q23" else "order_id"
            b = f.select(key, pl.col("category").cast(pl.String)).unique()
            n = b[key].n_unique()
            k = b.group_by("category").agg(pl.len().cast(pl.Float64).alias("k"))  # UInt32 products overflow
            p = (b.join(b, on=key, suffix="_b").filter(pl.col("category") != pl.col("category_b"))
                 .group_by("category", "category_b").agg(pl.len().alias("t"))
                 .join(k, on="category").join(k.rename({"category": "category_b", "k": "kb"}), on="category_b"))
            return p.select("category", "category_b", "t", (pl.col("t") / n).alias("support"), (pl.col("t") / pl.col("k")).alias("confidence"),
                            (pl.col("t").cast(pl.Float64) * n / (pl.col("k") * pl.col("kb"))).alias("lift")).rows()
        elif q == "Q21":
            month = (pl.col("ym") // 100) * 12 + pl.col("ym") % 100
            c = f.group_by("customer_id").agg(pl.col("ym").min().alias("cym"))
            a = (f.select("customer_id", "ym").join(c, on="customer_id")
                 .with_columns(k=month - ((pl.col("cym") // 100) * 12 + pl.col("cym") % 100))
                 .group_by("cym", "k").agg(pl.col("customer_id").n_unique().alias("n")))
            size = a.filter(pl.col("k") == 0).select("cym", pl.col("n").alias("size"))
            shares = a.join(size, on="cym").select("cym", "k", pl.col("n") / pl.col("size"))
            return shares.rows() + size.with_columns(k=pl.lit(-1)).select("cym", "k", "size").rows()
        elif q == "Q22":
            last = f["date"].max()
            from datetime import timedelta
            split, start = last - timedelta(days=365), last - timedelta(days=730)
            earlier = pl.col("date") <= split
            m = (f.filter(pl.col("date") > start).group_by("tier", "customer_id")
                 .agg(earlier.sum().alias("b"), rev.filter(earlier).sum().alias("rb"), (~earlier).sum().alias("a"))
                 .with_columns(active=pl.col("b") > 0, gone=(pl.col("b") > 0) & (pl.col("a") == 0)))
            per = [pl.col("active").sum(), pl.col("gone").sum().alias("churned"), (pl.col("gone").sum() / pl.col("active").sum()).alias("rate"),
                   pl.col("rb").filter(pl.col("gone")).sum().alias("lost")]
            return m.group_by("tier").agg(per).rows() + [(None,) + m.select(per).row(0)]
        elif q == "Q25":
            r = f.group_by("customer_id", "customer_name").agg(rev.sum().alias("r")).top_k(10, by="r").select("customer_name", "r")
        elif q == "Q26":
            r = (f.group_by("customer_name").agg(rev.sum(), pl.col("order_id").n_unique())
                 .sort(pl.col("customer_name").cast(pl.String)).head(10))
        elif q == "Q27":
            gross = pl.col("price") * pl.col("quantity")
            r = f.group_by("year").agg(gross.sum(), (gross * pl.col("discount")).sum().alias("d"), rev.sum())
        elif q == "Q28":
            r = (f.filter((pl.col("quantity") >= 3) & pl.col("discount").is_between(0.05, 0.15))
                 .group_by("channel").agg(rev.sum(), pl.len()))
        elif q == "Q29":
            r = (f.group_by("ym").agg(rev.sum().alias("r")).sort("ym")
                 .with_columns(g=pl.col("r") / pl.col("r").shift(1) - 1, y=pl.col("r") / pl.col("r").shift(12) - 1))
        elif q == "Q30":
            r = (f.group_by("age_band", "channel_type").agg(rev.sum().alias("r"))
                 .with_columns(share=pl.col("r") / pl.col("r").sum().over("age_band")).drop("r"))
        elif q == "Q31":
            bought = lambda y: f.filter(pl.col("year") == y).select("customer_id").unique()
            r = (f.join(bought(2024), on="customer_id", how="semi").join(bought(2025), on="customer_id", how="anti")
                 .group_by("tier").agg(rev.sum(), pl.col("customer_id").n_unique()))
        elif q == "Q32":
            r = f.group_by("category").agg(pl.col("customer_id").n_unique(), pl.col("order_id").n_unique())
        elif q == "Q33":
            r = (f.filter(pl.col("year") == 2025).group_by("region", "category", "channel")
                 .agg(rev.sum().alias("r"), pl.col("order_id").n_unique()).filter(pl.col("r") > 100000))
        elif q == "Q34":
            cells = f.group_by("segment", "year").agg(rev.sum())
            segment = cells.group_by("segment").agg(rev.sum()).with_columns(year=pl.lit(None, dtype=cells.schema["year"]))
            year = cells.group_by("year").agg(rev.sum()).with_columns(segment=pl.lit(None, dtype=cells.schema["segment"]))
            total = cells.select(rev.sum()).with_columns(segment=pl.lit(None, dtype=cells.schema["segment"]),
                                                         year=pl.lit(None, dtype=cells.schema["year"]))
            r = pl.concat([cells] + [t.select("segment", "year", "revenue") for t in (segment, year, total)])
        elif q == "Q35":
            r = (f.group_by("customer_id", "customer_name", "category", "channel_type").agg(rev.sum().alias("r"))
                 .top_k(5, by="r").select("customer_name", "category", "channel_type", "r"))
        return r.rows()


def serve(engine, data, threads):
    """Loads the data into one engine, then answers query ids from stdin with JSON lines."""
    if engine == "polars":
        os.environ["POLARS_MAX_THREADS"] = str(threads)
    start = time.perf_counter()
    peer = {"duckdb": DuckDBPeer, "chdb": ChDBPeer, "polars": PolarsPeer}[engine](data, threads)
    load = time.perf_counter() - start
    start = time.perf_counter()
    peer.flatten()
    join = time.perf_counter() - start
    print(json.dumps({"event": "ready", "load_seconds": load, "join_seconds": join, "rss_bytes": rss_bytes(os.getpid())}), flush=True)
    for line in sys.stdin:
        q = line.strip()
        if not q or q == "quit":
            break
        start = time.perf_counter()
        rows = peer.run(q)
        seconds = time.perf_counter() - start
        print(json.dumps({"id": q, "seconds": seconds, "rows": [[str(v) if v is not None else "" for v in r] for r in rows]}), flush=True)


# ---------------------------------------------------------------- comparing answers

def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def normalize(rows):
    """Rows as sorted tuples: numbers rounded to cents, text as is, null as ''."""
    out = []
    for r in rows:
        out.append(tuple(("n", round(number(v), 2)) if number(v) is not None and v != "" else ("s", v) for v in r))
    return sorted(out)


def labels(q, rows):
    """A peer's integer time levels written as Cubist's members (done after timing)."""
    if q == "Q2":
        return [(str(r[0]), f"{r[0]}-Q{r[1]}", r[2]) for r in rows]
    if q == "Q4":
        return [(r[0], f"{str(r[1])[:4]}-{str(r[1])[4:]}", r[2]) for r in rows]
    if q in ("Q16", "Q17"):
        return [(f"{int(r[0]) // 10}-Q{int(r[0]) % 10}", f"{r[1]}-Q{r[2]}", r[3]) for r in rows]
    if q == "Q29":
        return [(f"{str(r[0])[:4]}-{str(r[0])[4:]}", *r[1:]) for r in rows]
    if q == "Q34":  # the grouping sets' empty keys are the total row ('') and the Total column
        return [(r[0], "Total" if r[1] == "" else str(r[1]), r[2]) for r in rows]
    if q == "Q21":
        return [(f"{int(r[0]) // 100}-{int(r[0]) % 100:02d}", "size" if int(r[1]) == -1 else str(r[1]), r[2]) for r in rows]
    return rows


def cubist_rows(q, text):
    table = list(csv.reader(io.StringIO(text)))
    header, body = table[0], table[1:]
    if q in ("Q8", "Q16", "Q17", "Q21", "Q30", "Q34"):  # a crosstab or triangle: one column per member; unpivot to (row, column, value)
        # A triangle's 0 (nobody of the cohort active that month) is a group the peers never form.
        empty = ("", "0") if q == "Q21" else ("",)
        return [(r[0], header[i], r[i]) for r in body for i in range(1, len(r)) if r[i] not in empty]
    return body


def same(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if len(x) != len(y):
            return False
        for (kx, vx), (ky, vy) in zip(x, y):
            if kx != ky:
                return False
            if kx == "n" and abs(vx - vy) > max(0.011, 1e-9 * abs(vx)):
                return False
            if kx == "s" and vx != vy:
                return False
    return True


# ---------------------------------------------------------------- driver

class Server:
    def __init__(self, name, command, env=None):
        self.name = name
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"{name} failed to start")
        self.ready = json.loads(line)
        self.ready["rss_bytes"] = rss_bytes(self.process.pid)

    def ask(self, q):
        self.process.stdin.write(q + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self):
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        self.process.wait()


# ---------------------------------------------------------------- Parquet load

PARQUET_FACTS = """COPY (SELECT order_id::BIGINT AS order_id, date::DATE AS date, customer_id::INTEGER AS customer_id,
    product_id::INTEGER AS product_id, channel_id::INTEGER AS channel_id, quantity::INTEGER AS quantity,
    price::DECIMAL(9,2) AS price, discount::DECIMAL(4,2) AS discount, revenue::DECIMAL(12,2) AS revenue,
    cost::DECIMAL(12,2) AS cost FROM read_csv('{csv}')) TO '{parquet}' (FORMAT parquet, COMPRESSION zstd)"""

# One load in a fresh process: the fact file from Parquet, the dimension tables from CSV,
# into each engine's own memory. Prints seconds for the facts, for everything, and the RSS.
PARQUET_PEER = r"""
import json, os, sys, time
engine, directory, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
facts = os.path.join(directory, "sales.parquet")
dims = [os.path.join(directory, n + ".csv") for n in ("customers", "products", "channels")]
start = time.perf_counter()
if engine == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    start = time.perf_counter()
    con.execute(f"CREATE TABLE sales AS SELECT * FROM read_parquet('{facts}')")
    f = time.perf_counter() - start
    for i, d in enumerate(dims):
        con.execute(f"CREATE TABLE d{i} AS SELECT * FROM read_csv('{d}')")
    check = con.execute("SELECT sum(revenue), sum(quantity) FROM sales").fetchone()
elif engine == "polars":
    os.environ["POLARS_MAX_THREADS"] = str(threads)
    import polars as pl
    start = time.perf_counter()
    sales = pl.read_parquet(facts)
    f = time.perf_counter() - start
    tables = [pl.read_csv(d) for d in dims]
    check = (sales["revenue"].sum(), sales["quantity"].sum())
elif engine == "chdb":
    import chdb.session
    session = chdb.session.Session()
    start = time.perf_counter()
    session.query(f"CREATE TABLE sales ENGINE = Memory AS SELECT * FROM file('{facts}', Parquet) SETTINGS max_threads = {threads}")
    f = time.perf_counter() - start
    for i, d in enumerate(dims):
        session.query(f"CREATE TABLE d{i} ENGINE = Memory AS SELECT * FROM file('{d}', CSVWithNames) SETTINGS max_threads = {threads}")
    check = str(session.query("SELECT sum(revenue), sum(quantity) FROM sales", "CSV")).strip().split(",")
total = time.perf_counter() - start
with open("/proc/self/status") as status:
    rss = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmRSS:"))
print(json.dumps({"facts": f, "total": total, "rss": rss, "check": [str(v) for v in check]}))
"""


def parquet_load(args, binary, peers):
    """Times loading the 10M-row fact file from ZSTD Parquet (and the dimension tables from
    CSV) in Cubist and each peer, one fresh process per load, interleaved."""
    import shutil
    import duckdb
    csv_dir = os.path.abspath(os.path.join(args.data, f"crm-{args.rows}"))
    directory = csv_dir + "-parquet"
    os.makedirs(directory, exist_ok=True)
    if not os.path.exists(os.path.join(directory, "sales.parquet")):
        print("writing sales.parquet (ZSTD) with DuckDB...", file=sys.stderr)
        duckdb.connect().execute(PARQUET_FACTS.format(csv=os.path.join(csv_dir, "sales.csv"), parquet=os.path.join(directory, "sales.parquet")))
    for name in ("customers.csv", "products.csv", "channels.csv"):
        shutil.copy(os.path.join(csv_dir, name), directory)
    with open(os.path.join(csv_dir, "cube.json")) as f:
        model = f.read().replace('"facts": "sales.csv"', '"facts": "sales.parquet"')
    with open(os.path.join(directory, "cube.json"), "w") as f:
        f.write(model)
    names = ["cubist"] + peers
    results = {n: [] for n in names}
    checks = {}
    for run in range(args.runs + 1):
        order = names[run % len(names):] + names[:run % len(names)]
        for n in order:
            if n == "cubist":
                server = Server("cubist", [os.path.join(binary, "cubist-bench"), "serve", directory, "--threads", str(args.threads)])
                reply = server.ask("Q1")
                server.close()
                r = {"total": server.ready["load_seconds"], "rss": server.ready["rss_bytes"], "check": next(csv.reader(io.StringIO(reply["csv"].splitlines()[1])))[:2]}
            else:
                out = subprocess.check_output([sys.executable, "-c", PARQUET_PEER, n, directory, str(args.threads)], text=True)
                r = json.loads(out.strip().splitlines()[-1])
            checks[n] = [f"{float(v):.2f}" for v in r["check"]]
            if run > 0:
                results[n].append(r)
    print(f"\n{args.rows:,} rows from ZSTD Parquet (dimension tables from CSV), {args.threads} threads, median of {args.runs} fresh loads")
    print(f"{'engine':10}{'facts s':>10}{'all s':>10}{'RSS MiB':>10}")
    summary = {}
    for n in names:
        facts = statistics.median(r["facts"] for r in results[n]) if "facts" in results[n][0] else None
        total = statistics.median(r["total"] for r in results[n])
        rss = statistics.median(r["rss"] for r in results[n])
        summary[n] = {"facts_seconds": facts, "total_seconds": total, "rss_bytes": rss}
        print(f"{n:10}{(f'{facts:10.2f}' if facts is not None else '         -')}{total:10.2f}{rss / 1048576:10.0f}")
    agree = all(checks[n] == checks["cubist"] for n in names)
    print("sum(revenue), sum(quantity): " + ("all engines agree" if agree else f"DIFFER: {checks}"))
    with open(args.json.replace(".json", "-parquet.json"), "w") as f:
        json.dump({"rows": args.rows, "threads": args.threads, "runs": args.runs, "load": summary, "checks": checks}, f, indent=2)
    sys.exit(0 if agree else 1)


# ---------------------------------------------------------------- daily appends

# In a fresh process: the fact table loaded (not timed), then each day file appended to it
# in each engine's best form, timed one by one. Prints the times and the final sums.
APPEND_PEER = r"""
import json, os, sys, time
engine, directory, threads, days = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
facts = os.path.join(directory, "sales.csv")
times = []
if engine == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute(f"CREATE TABLE sales AS SELECT * FROM read_csv('{facts}')")
    for d in days:
        start = time.perf_counter()
        con.execute(f"INSERT INTO sales SELECT * FROM read_csv('{d}')")
        times.append(time.perf_counter() - start)
    check = con.execute("SELECT sum(revenue), sum(quantity), count(*) FROM sales").fetchone()
elif engine == "polars":
    os.environ["POLARS_MAX_THREADS"] = str(threads)
    import polars as pl
    sales = pl.read_csv(facts)
    for d in days:
        start = time.perf_counter()
        sales = pl.concat([sales, pl.read_csv(d, schema=sales.schema)], rechunk=False)
        times.append(time.perf_counter() - start)
    check = (sales["revenue"].sum(), sales["quantity"].sum(), sales.height)
elif engine == "chdb":
    import chdb.session
    session = chdb.session.Session()
    session.query(f"CREATE TABLE sales ENGINE = Memory AS SELECT * FROM file('{facts}', CSVWithNames) SETTINGS max_threads = {threads}")
    for d in days:
        start = time.perf_counter()
        session.query(f"INSERT INTO sales SELECT * FROM file('{d}', CSVWithNames) SETTINGS max_threads = {threads}")
        times.append(time.perf_counter() - start)
    check = str(session.query("SELECT sum(revenue), sum(quantity), count() FROM sales", "CSV")).strip().split(",")
print(json.dumps({"times": times, "check": [str(v) for v in check]}))
"""


def append_days(args, binary, peers):
    """Times appending three 30,000-row day files to the 10M-row fact table in Cubist (in
    memory, on its snapshot) and in each peer (loaded first, not timed), fresh processes."""
    data = os.path.abspath(os.path.join(args.data, f"crm-{args.rows}"))
    work = os.path.join(args.data, f"crm-{args.rows}-append")
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(data, "sales.csv")) as f:
        header = f.readline()
        lines = f.readlines()
    days = []
    for k in range(3):
        # Three different days' worth of rows (the same bytes twice would be refused).
        path = os.path.join(work, f"day{k}.csv")
        with open(path, "w") as f:
            f.write(header)
            f.writelines(lines[-30_000 * (k + 1):len(lines) - 30_000 * k])
        days.append(path)
    snapshot = os.path.join(work, "crm.cube")
    subprocess.check_call([os.path.join(binary, "cubist"), data, "-c", f"SAVE '{snapshot}'"], stderr=subprocess.DEVNULL)
    names = ["cubist"] + peers
    results = {n: [] for n in names}
    checks = {}
    for run in range(args.runs):
        for n in names:
            if n == "cubist":
                statements = [a for d in days for a in ("-c", f"APPEND '{d}'")] + ["-c", "SELECT revenue, quantity, lines"]
                done = subprocess.run([os.path.join(binary, "cubist"), snapshot, "--threads", str(args.threads)] + statements,
                                      capture_output=True, text=True, check=True)
                times = [float(t) / (1000 if unit == "ms" else 1) for t, unit in re.findall(r"^appended .* in ([0-9.]+) (m?s)$", done.stderr, re.M)]
                check = done.stdout.splitlines()[-1].split(",")
            else:
                out = subprocess.check_output([sys.executable, "-c", APPEND_PEER, n, data, str(args.threads)] + days, text=True)
                r = json.loads(out.strip().splitlines()[-1])
                times, check = r["times"], r["check"]
            checks[n] = [f"{float(v):.2f}" for v in check]
            results[n] += times
    print(f"\nappending a 30,000-row day file to {args.rows:,} rows, {args.threads} threads, median of {len(results['cubist'])} appends (ms)")
    summary = {n: statistics.median(results[n]) for n in names}
    best = min(peers, key=lambda p: summary[p]) if peers else None
    for n in names:
        print(f"{n:10}{summary[n] * 1000:10.1f}")
    if best:
        print(f"cubist / fastest peer ({best}): {summary['cubist'] / summary[best]:.2f}")
    # DuckDB reads the money columns as DOUBLE: its sums may differ in the last cent.
    agree = all(all(math.isclose(float(a), float(b), rel_tol=1e-11, abs_tol=0.005) for a, b in zip(checks[n], checks["cubist"])) for n in names)
    print("sum(revenue), sum(quantity), rows after the appends: " + ("all engines agree" if agree else f"DIFFER: {checks}"))
    with open(args.json.replace(".json", "-append.json"), "w") as f:
        json.dump({"rows": args.rows, "threads": args.threads, "runs": args.runs, "append_seconds": summary, "checks": checks}, f, indent=2)
    sys.exit(0 if agree else 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default=os.path.join(ROOT, ".build", "bench-data"))
    parser.add_argument("--engines", default=",".join(PEERS), help="peers to run, comma-separated")
    parser.add_argument("--json", default=os.path.join(ROOT, ".build", "peers-results.json"))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--parquet-load", action="store_true", help="time loading the facts from ZSTD Parquet instead of the queries")
    parser.add_argument("--append", action="store_true", help="time appending day files to the loaded facts instead of the queries")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.data, args.threads)
        return
    peers = [p for p in args.engines.split(",") if p]
    ensure_packages(peers)
    if not args.no_build:
        subprocess.check_call(["swift", "build", "-c", "release", "--product", "cubist"], cwd=ROOT)
        subprocess.check_call(["swift", "build", "-c", "release", "--product", "cubist-bench"], cwd=ROOT)
    binary = os.path.join(ROOT, ".build", "release")
    data = os.path.abspath(os.path.join(args.data, f"crm-{args.rows}"))
    if not os.path.exists(os.path.join(data, "sales.csv")):
        subprocess.check_call([os.path.join(binary, "cubist"), "generate", "--rows", str(args.rows), "--seed", "42", "--out", data])
    if args.parquet_load:
        parquet_load(args, binary, peers)
        return
    if args.append:
        append_days(args, binary, peers)
        return

    servers = {}
    print(f"loading {args.rows:,} rows into each engine ({args.threads} threads each)...", file=sys.stderr)
    servers["cubist"] = Server("cubist", [os.path.join(binary, "cubist-bench"), "serve", data, "--threads", str(args.threads)])
    for p in peers:
        servers[p] = Server(p, [sys.executable, __file__, "--serve", p, "--data", data, "--threads", str(args.threads)])
    names = list(servers)
    times = {n: {q: [] for q in QUERIES} for n in names}
    answers = {}
    mismatches = []
    for q in QUERIES:
        for n in names:  # warm-up, and the answers compared
            reply = servers[n].ask(q)
            rows = cubist_rows(q, reply["csv"]) if n == "cubist" else labels(q, reply["rows"])
            answers[n] = normalize(rows)
        for n in peers:
            if not same(answers["cubist"], answers[n]):
                mismatches.append((q, n))
                print(f"MISMATCH {q}: {n} differs from cubist\n  cubist: {answers['cubist'][:5]}\n  {n}: {answers[n][:5]}", file=sys.stderr)
        for run in range(args.runs):
            order = names[run % len(names):] + names[:run % len(names)]
            for n in order:
                times[n][q].append(servers[n].ask(q)["seconds"])
    for s in servers.values():
        s.close()

    medians = {n: {q: statistics.median(times[n][q]) for q in QUERIES} for n in names}
    print(f"\n{args.rows:,} rows, {args.threads} threads per engine, median of {args.runs} runs (ms)")
    print(f"{'query':6}" + "".join(f"{n:>10}" for n in names) + f"{'fastest peer':>14}{'cubist/peer':>13}")
    ratios = []
    for q in QUERIES:
        best = min(peers, key=lambda p: medians[p][q]) if peers else None
        ratio = medians["cubist"][q] / medians[best][q] if best else float("nan")
        ratios.append(ratio)
        print(f"{q:6}" + "".join(f"{medians[n][q] * 1000:10.1f}" for n in names) + f"{best or '-':>14}{ratio:13.2f}")
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if peers else float("nan")
    print(f"geometric mean of cubist / fastest peer: {geo:.2f}")
    print(f"\n{'engine':10}{'CSV load s':>12}{'join s':>9}{'RSS MiB':>10}")
    for n in names:
        r = servers[n].ready
        print(f"{n:10}{r['load_seconds']:12.2f}{r.get('join_seconds', 0):9.2f}{r['rss_bytes'] / 1048576:10.0f}")
    print("answers: " + ("all engines agree with cubist" if not mismatches else f"{len(mismatches)} mismatches: {mismatches}"))
    with open(args.json, "w") as f:
        json.dump({"rows": args.rows, "threads": args.threads, "runs": args.runs, "medians": medians,
                   "ratios": dict(zip(QUERIES, ratios)), "geometric_mean": geo, "mismatches": mismatches,
                   "load": {n: servers[n].ready for n in names}}, f, indent=2)
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
