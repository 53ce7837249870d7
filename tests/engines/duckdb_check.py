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
import csv
import math
import sys

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
    got = {}
    for row in cur.fetchall():
        r = dict(zip(names, row))
        got.setdefault(str(r[a.key]), []).append(r)
    exact = [c for c in a.exact.split(",") if c]
    ignore = {c for c in a.ignore.split(",") if c}
    bad, worst, n = [], 0.0, 0
    with open(a.expected, newline="") as f:
        for want in csv.DictReader(f):
            n += 1
            rows = got.get(want[a.key], [])
            if len(rows) != 1:
                bad.append(f"{want[a.key]}: {len(rows)} rows")
                continue
            r = rows[0]
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
    compared = len([c for c in want if c != a.key and c not in ignore]) if n else 0
    via = "" if a.read_dialect == "duckdb" else f" ({a.read_dialect} via sqlglot {__import__('sqlglot').__version__})"
    print(f"duckdb {duckdb.__version__}{via}: {n} rows compared, {len(bad)} differ, {max(extra, 0)} extra; "
          f"{compared} columns, exact {exact}; largest relative difference {worst:.3g}")
    for b in bad[:10]:
        print("DIFF", b)
    sys.exit(1 if bad or extra > 0 else 0)


if __name__ == "__main__":
    main()
