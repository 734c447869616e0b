"""Writes the Parquet files the Parquet tests read, with pyarrow, Polars and DuckDB, and the
answers DuckDB gives on them.

Usage: make_parquet.py DIRECTORY. One table of 3,000 rows (every type Cubist reads, nulls
in the optional columns) is written with each codec, both data page versions, with and
without dictionaries, byte-stream-split floats, a dictionary that overflows into plain
pages, by Polars and by DuckDB; a cube directory has Parquet facts and a Parquet dimension
table. expected.json holds DuckDB's answers to the questions the tests ask.
"""
import datetime
import decimal
import json
import os
import sys

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

out = sys.argv[1]
N = 3000
regions = ["서울", "부산", "Incheon", "대구", None]


def table():
    day0 = datetime.date(2023, 1, 1)
    ts0 = datetime.datetime(1969, 12, 31, 22, 0)
    return pa.table({
        "region": pa.array([regions[i % 5] for i in range(N)], pa.string()),
        "store_id": pa.array([i % 40 + 1 for i in range(N)], pa.int32()),
        "day": pa.array([day0 + datetime.timedelta(days=(i * 7) % 700) for i in range(N)], pa.date32()),
        "ts": pa.array([ts0 + datetime.timedelta(minutes=i * 47) for i in range(N)], pa.timestamp("us")),
        "amount": pa.array([None if i % 11 == 0 else decimal.Decimal(((i * 137) % 100000) - 20000) / 100 for i in range(N)], pa.decimal128(9, 2)),
        "big": pa.array([decimal.Decimal(i * 1234567) / 10000 for i in range(N)], pa.decimal128(20, 4)),
        "unit_price": pa.array([None if i % 13 == 0 else (i % 40 + 1) * 0.25 for i in range(N)], pa.float64()),
        "qty": pa.array([(i * 31) % 17 - 3 for i in range(N)], pa.int64()),
        "weight": pa.array([(i % 8) * 0.5 for i in range(N)], pa.float32()),
        "member": pa.array([i % 3 == 0 for i in range(N)], pa.bool_()),
    })


t = table()
small = {"row_group_size": 700, "data_page_size": 2048}
for codec in ["none", "snappy", "gzip", "zstd"]:
    pq.write_table(t, os.path.join(out, f"pa_{codec}.parquet"), compression=codec, **small)
pq.write_table(t, os.path.join(out, "pa_v2.parquet"), compression="zstd", data_page_version="2.0", **small)
pq.write_table(t, os.path.join(out, "pa_plain.parquet"), compression="snappy", use_dictionary=False, **small)
pq.write_table(t, os.path.join(out, "pa_split.parquet"), compression="zstd", use_dictionary=["region"],
               use_byte_stream_split=["unit_price", "weight"], **small)
pq.write_table(t, os.path.join(out, "pa_fallback.parquet"), compression="snappy", dictionary_pagesize_limit=64, row_group_size=3000,
               data_page_size=512)
pl.from_arrow(t).write_parquet(os.path.join(out, "polars.parquet"), row_group_size=1000)
con = duckdb.connect()
con.register("t", t)
con.execute(f"COPY t TO '{os.path.join(out, 'duckdb.parquet')}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1024)")

# The DELTA encodings, from pyarrow and from DuckDB's format version 2.
pq.write_table(t, os.path.join(out, "pa_delta.parquet"), use_dictionary=False, compression="zstd", data_page_version="2.0",
               column_encoding={"store_id": "DELTA_BINARY_PACKED", "day": "DELTA_BINARY_PACKED", "ts": "DELTA_BINARY_PACKED",
                                "qty": "DELTA_BINARY_PACKED", "region": "DELTA_BYTE_ARRAY"}, **small)
pq.write_table(t, os.path.join(out, "pa_delta_length.parquet"), use_dictionary=False, compression="snappy",
               column_encoding={"region": "DELTA_LENGTH_BYTE_ARRAY", "qty": "DELTA_BINARY_PACKED"}, **small)
con.execute(f"COPY t TO '{os.path.join(out, 'duckdb_v2.parquet')}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1024, PARQUET_VERSION V2)")

# Columns that are null in every row (pages of definition levels only).
pq.write_table(pa.table({"region": ["a", "b", "a"], "note": pa.array([None, None, None], pa.string()),
                         "amount": pa.array([None, None, None], pa.decimal128(9, 2)), "qty": pa.array([1, 2, 3], pa.int64())}),
               os.path.join(out, "allnull.parquet"))

# Files Cubist must refuse, each with a clear error.
pq.write_table(t.select(["region", "qty"]), os.path.join(out, "lz4.parquet"), compression="lz4")
pq.write_table(pa.table({"region": ["a", "b"], "tags": pa.array([[1, 2], [3]])}), os.path.join(out, "nested.parquet"))
pq.write_table(pa.table({"region": ["a", "b"], "day": pa.array([datetime.date(2024, 1, 1), None])}), os.path.join(out, "nulldate.parquet"))
with open(os.path.join(out, "pa_zstd.parquet"), "rb") as f:
    whole = f.read()
with open(os.path.join(out, "truncated.parquet"), "wb") as f:
    f.write(whole[: len(whole) - 100])
# A page body overwritten: the first data page of the third column's first chunk.
meta = pq.ParquetFile(os.path.join(out, "pa_zstd.parquet")).metadata.row_group(0).column(3)
start = meta.data_page_offset
corrupt = bytearray(whole)
for k in range(start + 30, start + 60):
    corrupt[k] ^= 0x5A
with open(os.path.join(out, "corrupt.parquet"), "wb") as f:
    f.write(bytes(corrupt))

# A cube directory: Parquet facts (DuckDB) joined to a Parquet dimension table (pyarrow).
cube = os.path.join(out, "cube")
os.makedirs(cube, exist_ok=True)
stores = pa.table({
    "store_id": pa.array(range(1, 41), pa.int64()),
    "store": [f"Store {i:02d}" for i in range(1, 41)],
    "city": [["Seoul", "Busan", "Daegu", "Incheon"][i % 4] for i in range(1, 41)],
})
pq.write_table(stores, os.path.join(cube, "stores.parquet"))
con.execute(f"COPY (SELECT store_id, day, amount, qty FROM t) TO '{os.path.join(cube, 'sales.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 500)")
with open(os.path.join(cube, "cube.json"), "w") as f:
    json.dump({
        "name": "parquet_sales",
        "facts": "sales.parquet",
        "dimensions": [
            {"name": "store", "table": "stores.parquet", "key": "store_id",
             "levels": [{"name": "city", "column": "city"}, {"name": "store", "column": "store"}]},
            {"name": "time", "type": "time", "column": "day"},
        ],
        "measures": [
            {"name": "amount", "aggregate": "sum", "column": "amount"},
            {"name": "qty", "aggregate": "sum", "column": "qty"},
        ],
    }, f, indent=2)

# The same cube with one fact key that has no store: the error names the row.
bad = os.path.join(out, "badkey")
os.makedirs(bad, exist_ok=True)
pq.write_table(stores, os.path.join(bad, "stores.parquet"))
con.execute(f"COPY (SELECT CASE WHEN row_number() OVER () = 1235 THEN 99 ELSE store_id END AS store_id, day, amount, qty FROM t) "
            f"TO '{os.path.join(bad, 'sales.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 500)")
with open(os.path.join(cube, "cube.json")) as f:
    model = f.read()
with open(os.path.join(bad, "cube.json"), "w") as f:
    f.write(model)


def answers(sql):
    return [[None if v is None else str(v) for v in row] for row in con.execute(sql).fetchall()]


con.execute(f"CREATE VIEW s AS SELECT * FROM read_parquet('{os.path.join(out, 'pa_zstd.parquet')}')")
con.execute(f"CREATE VIEW st AS SELECT * FROM read_parquet('{os.path.join(cube, 'stores.parquet')}')")
expected = {
    "by_region": answers("SELECT coalesce(region, ''), sum(amount), sum(qty), count(*), sum(big), sum(weight) FROM s GROUP BY 1 ORDER BY 1"),
    "price_by_region": answers("SELECT coalesce(region, ''), avg(unit_price), min(unit_price), max(unit_price) FROM s GROUP BY 1 ORDER BY 1"),
    "by_year": answers("SELECT year(day), sum(amount), count(*) FROM s GROUP BY 1 ORDER BY 1"),
    "by_ts_year": answers("SELECT year(ts), count(*) FROM s GROUP BY 1 ORDER BY 1"),
    "by_member": answers("SELECT member, count(*) FROM s GROUP BY 1 ORDER BY 1"),
    "by_city": answers("SELECT st.city, sum(amount), sum(qty) FROM s JOIN st USING (store_id) GROUP BY 1 ORDER BY 1"),
}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, ensure_ascii=False, indent=1)
