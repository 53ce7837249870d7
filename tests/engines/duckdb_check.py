#!/usr/bin/env python3
"""Run a query persona-lab generated on DuckDB and compare its rows with what persona-lab computed.

    duckdb_check.py --sql Q.sql --table-file profiles.parquet|profiles.csv --expected E.csv
                    [--key user_id] [--exact segment,persona] [--rel-tol 1e-12]

The query reads a relation called `profiles`, made here from the table file (a CSV is read as text, so
ids stay text and every number goes through the query's own casts). Every expected row must come back
once, the `--exact` columns equal, every other expected column equal to `--rel-tol` relative (both
empty, or both numbers). Prints what it compared; exits 1 on any difference, 3 when duckdb is missing.
"""

import argparse
import sys

from compare import compare, report

try:
    import duckdb
except ImportError:
    print("SKIPPED: the duckdb Python package is not installed (pip install duckdb)")
    sys.exit(3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sql", required=True)
    ap.add_argument("--table-file", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--key", default="user_id")
    ap.add_argument("--exact", default="segment,persona")
    ap.add_argument("--rel-tol", type=float, default=1e-12)
    ap.add_argument("--table-name", default="profiles")
    ap.add_argument("--read-dialect", default="duckdb",
                    help="the query's dialect: spark, bigquery or snowflake are transpiled to DuckDB by sqlglot first")
    ap.add_argument("--ignore", default="", help="expected columns not to compare, comma-separated")
    a = ap.parse_args()
    con = duckdb.connect()
    src = a.table_file
    name = a.table_name
    if src.endswith(".csv") or src.endswith(".csv.gz"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_csv('{src}', all_varchar = true, header = true)")
    else:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{src}')")
    sql = open(a.sql).read()
    if a.read_dialect != "duckdb":
        try:
            import sqlglot
        except ImportError:
            print("SKIPPED: the sqlglot Python package is not installed (pip install sqlglot)")
            sys.exit(3)
        sql = sqlglot.transpile(sql, read=a.read_dialect, write="duckdb")[0]
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row)) for row in cur.fetchall()]
    exact = [c for c in a.exact.split(",") if c]
    ignore = {c for c in a.ignore.split(",") if c}
    via = "" if a.read_dialect == "duckdb" else f" ({a.read_dialect} via sqlglot {__import__('sqlglot').__version__})"
    # BigQuery's column names cannot hold a `.`: the query writes `__` there (Dialect::column_name).
    name_of = (lambda c: c.replace(".", "__")) if a.read_dialect == "bigquery" else (lambda c: c)
    report(f"duckdb {duckdb.__version__}{via}",
           compare(rows, a.expected, a.key, exact, ignore, a.rel_tol, name_of), exact)


if __name__ == "__main__":
    main()
