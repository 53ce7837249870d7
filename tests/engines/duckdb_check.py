#!/usr/bin/env python3
"""Run a query persona-lab generated on DuckDB and compare its rows with what persona-lab computed.

    duckdb_check.py --sql Q.sql --table-file profiles.parquet|profiles.csv --expected E.csv
                    [--key user_id] [--exact segment,persona] [--rel-tol 1e-12]

The query reads a relation called `profiles`, made here from the table file (a CSV is read as text, so
ids stay text and every number goes through the query's own casts). Every expected row must come back
once, the `--exact` columns equal, every other expected column equal to `--rel-tol` relative (both
empty, or both numbers). Prints what it compared; exits 1 on any difference, 3 when duckdb is missing.
"""


from compare import arguments, compare, report, skipped

try:
    import duckdb
except ImportError:
    skipped("duckdb")


def main():
    ap = arguments(exact="segment,persona", rel_tol=1e-12)
    ap.add_argument("--read-dialect", default="duckdb",
                    help="the query's dialect: spark, bigquery or snowflake are transpiled to DuckDB by sqlglot first")
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
            skipped("sqlglot")
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
