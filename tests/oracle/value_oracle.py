"""Oracle for the value per segment (src/cluster/value.rs): pandas groups the pandas features of
tests/fixtures/ga4_small.csv.gz (tests/fixtures/ga4_small_features.csv, made by features_oracle.py) by
the sample's planted groups (tests/fixtures/ga4_small_truth.csv; groups numbered in name order) and
sums, per group, the users, the buyers (purchases > 0), the revenue and the orders (missing as 0).

Writes tests/fixtures/cluster/value_by_group.json.
Run from the repository root:  python3 tests/oracle/value_oracle.py
"""
import json

import pandas as pd

FIX = "tests/fixtures/"

features = pd.read_csv(FIX + "ga4_small_features.csv", dtype={"user_id": str})
truth = pd.read_csv(FIX + "ga4_small_truth.csv", dtype={"user_id": str})
df = features.merge(truth[["user_id", "group"]], on="user_id", how="inner")
assert len(df) == len(features), "every profiled user has a planted group"
groups = sorted(df["group"].unique())
df["label"] = df["group"].map({g: i for i, g in enumerate(groups)})
df["revenue"] = df["revenue"].fillna(0.0)
df["purchases"] = df["purchases"].fillna(0.0)
out = []
for i, g in enumerate(groups):
    part = df[df["label"] == i]
    out.append({
        "group": g,
        "users": int(len(part)),
        "buyers": int((part["purchases"] > 0).sum()),
        "revenue": float(part["revenue"].sum()),
        "orders": float(part["purchases"].sum()),
    })
everyone = {
    "users": int(len(df)),
    "buyers": int((df["purchases"] > 0).sum()),
    "revenue": float(df["revenue"].sum()),
    "orders": float(df["purchases"].sum()),
}
with open(FIX + "cluster/value_by_group.json", "w") as f:
    json.dump({"groups": out, "everyone": everyone}, f, indent=1)
    f.write("\n")
