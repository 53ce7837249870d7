"""The comparison both engine checks make: the rows an engine returned against the CSV persona-lab
wrote, keyed by user. Exact columns must be equal as text; every other expected column equal to a
relative tolerance (both empty, or both numbers)."""

import argparse
import csv
import sys


def skipped(package, why="Python package is not installed"):
    """Exit 3, the code the Rust tests read as 'this engine is not here' (not a failure)."""
    print(f"SKIPPED: the {package} {why} (pip install {package})")
    sys.exit(3)


def arguments(exact, rel_tol):
    """The options every engine check takes; `exact` and `rel_tol` are its defaults."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sql", required=True)
    ap.add_argument("--table-file", required=True)
    ap.add_argument("--table-name", default="profiles")
    ap.add_argument("--expected", required=True)
    ap.add_argument("--key", default="user_id")
    ap.add_argument("--exact", default=exact)
    ap.add_argument("--ignore", default="", help="expected columns not to compare, comma-separated")
    ap.add_argument("--rel-tol", type=float, default=rel_tol)
    return ap


def compare(rows, expected, key, exact, ignore, rel_tol, name_of=lambda c: c):
    """`rows`: dicts from the engine. Returns (rows compared, differences, extra rows, columns
    compared, largest relative difference). `name_of`: the engine's name of an expected column
    (BigQuery's hold `__` where Persona Lab's hold `.`)."""
    got = {}
    for r in rows:
        got.setdefault(str(r[key]), []).append(r)
    bad, worst, n, columns = [], 0.0, 0, 0
    with open(expected, newline="") as f:
        for want in csv.DictReader(f):
            n += 1
            columns = len([c for c in want if c != key and c not in ignore])
            found = got.get(want[key], [])
            if len(found) != 1:
                bad.append(f"{want[key]}: {len(found)} rows")
                continue
            r = found[0]
            for col, w in want.items():
                if col == key or col in ignore:
                    continue
                g = r.get(name_of(col))
                if col in exact:
                    if str(g) != w:
                        bad.append(f"{want[key]} {col}: got {g!r}, want {w!r}")
                elif w == "" or g is None:
                    if not (w == "" and g is None):
                        bad.append(f"{want[key]} {col}: got {g!r}, want {w!r}")
                else:
                    wv, gv = float(w), float(g)
                    rel = abs(gv - wv) / max(abs(wv), 1e-300) if wv != gv else 0.0
                    worst = max(worst, rel)
                    if not rel <= rel_tol:
                        bad.append(f"{want[key]} {col}: got {gv!r}, want {wv!r} (relative {rel:.3g})")
    return n, bad, max(len(got) - n, 0), columns, worst


def report(engine, result, exact):
    """Print what was compared and exit: 1 on any difference or extra row."""
    n, bad, extra, columns, worst = result
    print(f"{engine}: {n} rows compared, {len(bad)} differ, {extra} extra; "
          f"{columns} columns, exact {exact}; largest relative difference {worst:.3g}")
    for b in bad[:10]:
        print("DIFF", b)
    sys.exit(1 if bad or extra else 0)
