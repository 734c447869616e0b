"""Writes the CSV files the data-in tests read, the way other tools write them.

Usage: make_files.py DIRECTORY. Python's csv module writes the dialects; iconv (run by
the test) makes the CP949 copy; Python's codecs write Excel's "Unicode text" (UTF-16 with
a byte-order mark, tab-separated, CRLF line ends). The values are fixed, so the expected
answers in DataInTests.swift (cross-checked with DuckDB) stay true.
"""
import csv
import os
import sys

out = sys.argv[1]
regions = ["서울", "부산", "Incheon", "대구"]


def rows():
    for i in range(60):
        month = i % 12 + 1
        day = (i * 7) % 28 + 1
        amount = f"{(i * 137) % 5000},{i % 100:02d}"
        price = f"{i % 40 + 1},5"
        temp = f"{i % 30 - 5},{i % 10}"
        yield [regions[i % 4], i % 7 + 1, f"{month}/{day}/2024", amount, price, temp]


# A European export: semicolons, decimal commas, M/D/YYYY dates.
with open(os.path.join(out, "semicolon.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, delimiter=";")
    w.writerow(["region", "store_id", "day", "amount", "unit_price", "temp"])
    w.writerows(rows())

# Excel's "Unicode text": UTF-16 (little-endian, with a byte-order mark), tabs, CRLF.
with open(os.path.join(out, "unicode.txt"), "w", newline="", encoding="utf-16") as f:
    w = csv.writer(f, delimiter="\t", lineterminator="\r\n")
    w.writerow(["region", "store_id", "day", "amount", "unit_price", "temp"])
    w.writerows(rows())

# Backslash escapes, every field quoted, pipes, ISO timestamps.
with open(os.path.join(out, "pipes.psv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, delimiter="|", quoting=csv.QUOTE_ALL, doublequote=False, escapechar="\\")
    w.writerow(["at", "product", "qty"])
    for i in range(30):
        w.writerow([f"2024-0{i % 9 + 1}-{i % 28 + 1:02d} {i % 24:02d}:{i % 60:02d}:00", f'{i % 3}" screen', i + 1])

# Dates as people write them, one form per column; single quotes around text.
with open(os.path.join(out, "dates.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, quotechar="'", quoting=csv.QUOTE_NONNUMERIC)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    w.writerow(["german", "slashed", "named", "dotted", "note", "units"])
    for i in range(24):
        m, d = i % 12 + 1, (i * 5) % 28 + 1
        w.writerow([f"{d:02d}.{m:02d}.2023", f"2023/{m:02d}/{d:02d}", f"{months[m - 1]} {d} 2023", f"2023.{m}.{d}", f"it's {i}", i])

# No header: the first record is data.
with open(os.path.join(out, "noheader.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    for i in range(20):
        w.writerow([f"2022-{i % 12 + 1:02d}-01", i % 3, i * 10])
