#!/usr/bin/env python3
"""Run a query persona-lab generated for Spark on Apache Spark (pyspark, local mode) and compare its
rows with what persona-lab computed: the same comparison as duckdb_check.py, on the real engine.

    spark_check.py --sql Q.sql --table-file events.csv --table-name events --expected E.csv
                   [--key user_id] [--exact segment,persona] [--ignore col,...] [--rel-tol 1e-9]

The table file is a CSV read as text (header, every column a string), or Parquet (a file or a folder
of shards, nested types kept), registered under --table-name.
Exits 1 on any difference, 3 when pyspark (or Java) is missing.
"""

import sys

from compare import arguments, compare, report, skipped

try:
    from pyspark.sql import SparkSession
except ImportError:
    skipped("pyspark")


def main():
    ap = arguments(exact="", rel_tol=1e-9)
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
    rows = [r.asDict() for r in spark.sql(open(a.sql).read()).collect()]
    exact = [c for c in a.exact.split(",") if c]
    ignore = {c for c in a.ignore.split(",") if c}
    result = compare(rows, a.expected, a.key, exact, ignore, a.rel_tol)
    version = spark.version
    spark.stop()
    report(f"spark {version}", result, exact)


if __name__ == "__main__":
    main()
