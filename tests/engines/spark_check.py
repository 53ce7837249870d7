#!/usr/bin/env python3
"""Run a query persona-lab generated for Spark on Apache Spark (pyspark, local mode) and compare its
rows with what persona-lab computed: the same comparison as duckdb_check.py, on the real engine.

    spark_check.py --sql Q.sql --table-file events.csv --table-name events --expected E.csv
                   [--key user_id] [--exact segment,persona] [--ignore col,...] [--rel-tol 1e-9]

The table file is a CSV read as text (header, every column a string), or Parquet (a file or a folder
of shards, nested types kept), registered under --table-name.
Exits 1 on any difference, 3 when pyspark (or Java) is missing.
"""

import argparse
import csv
import sys

try:
    from pyspark.sql import SparkSession
except ImportError:
    print("SKIPPED: the pyspark Python package is not installed (pip install pyspark)")
    sys.exit(3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sql", required=True)
    ap.add_argument("--table-file", required=True)
    ap.add_argument("--table-name", default="profiles")
    ap.add_argument("--expected", required=True)
    ap.add_argument("--key", default="user_id")
    ap.add_argument("--exact", default="")
    ap.add_argument("--ignore", default="")
    ap.add_argument("--rel-tol", type=float, default=1e-9)
    a = ap.parse_args()
    try:
        spark = (SparkSession.builder.master("local[2]").appName("persona-lab-check")
                 .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
                 .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
    except Exception as e:  # no Java
        print(f"SKIPPED: Spark does not start here: {e}")
        sys.exit(3)
    spark.sparkContext.setLogLevel("ERROR")
    src = a.table_file
    if src.endswith(".csv") or src.endswith(".csv.gz"):
        spark.read.csv(src, header=True).createOrReplaceTempView(a.table_name)
    else:  # Parquet: a file or a folder of shards
        spark.read.parquet(src).createOrReplaceTempView(a.table_name)
    rows = spark.sql(open(a.sql).read()).collect()
    got = {}
    for r in rows:
        d = r.asDict()
        got.setdefault(str(d[a.key]), []).append(d)
    exact = {c for c in a.exact.split(",") if c}
    ignore = {c for c in a.ignore.split(",") if c}
    bad, worst, n, cols = [], 0.0, 0, 0
    with open(a.expected, newline="") as f:
        for want in csv.DictReader(f):
            n += 1
            cols = len([c for c in want if c != a.key and c not in ignore])
            rs = got.get(want[a.key], [])
            if len(rs) != 1:
                bad.append(f"{want[a.key]}: {len(rs)} rows")
                continue
            r = rs[0]
            for col, w in want.items():
                if col == a.key or col in ignore:
                    continue
                g = r.get(col)
                if col in exact:
                    if str(g) != w:
                        bad.append(f"{want[a.key]} {col}: got {g!r}, want {w!r}")
                elif w == "" or g is None:
                    if not (w == "" and g is None):
                        bad.append(f"{want[a.key]} {col}: got {g!r}, want {w!r}")
                else:
                    wv, gv = float(w), float(g)
                    rel = abs(gv - wv) / max(abs(wv), 1e-300) if wv != gv else 0.0
                    worst = max(worst, rel)
                    if not rel <= a.rel_tol:
                        bad.append(f"{want[a.key]} {col}: got {gv!r}, want {wv!r} (relative {rel:.3g})")
    extra = len(got) - n
    print(f"spark {spark.version}: {n} rows compared, {len(bad)} differ, {max(extra, 0)} extra; "
          f"{cols} columns; largest relative difference {worst:.3g}")
    for b in bad[:10]:
        print("DIFF", b)
    spark.stop()
    sys.exit(1 if bad or extra > 0 else 0)


if __name__ == "__main__":
    main()
