"""An order log shaped like CDNOW's (most customers buy once, a few come back), and what an honest
churn model must say about it, computed with pandas and numpy.

Writes tests/fixtures/predict/order_log.csv (customer_id with leading zeros, order_date as YYYYMMDD
integers, items, amount_usd: no event column, so every row is a purchase) and
tests/fixtures/predict/order_log_expected.json:
- the class balance of a churn model with a 30-day window ending at the last order (users: customers
  with an order on or before the cutoff; churned: no order in (cutoff, cutoff + 30 days]);
- the gaps between each customer's consecutive distinct order days: median and 80th percentile
  (numpy.quantile's linear default) and their count, and the window proposed from them:
  max(7, ceil(p80)) days.

Run from the repository root: python tests/oracle/order_log.py
"""

import json
import math

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261201)
rows = []
start = pd.Timestamp("1997-01-01")
for c in range(1, 501):
    first = int(rng.integers(0, 300))
    days = [first]
    # One customer in eight comes back, on gaps of about six weeks, for a while.
    if c % 8 == 0:
        d = first
        for _ in range(int(rng.integers(3, 15))):
            d += 1 + int(rng.exponential(45.0))
            if d > 364:
                break
            days.append(d)
    for d in days:
        items = int(rng.integers(1, 5))
        rows.append(
            {
                "customer_id": f"{c:05d}",
                "order_date": (start + pd.Timedelta(days=d)).strftime("%Y%m%d"),
                "items": items,
                "amount_usd": round(float(items * rng.uniform(8.0, 20.0)), 2),
            }
        )
df = pd.DataFrame(rows).sort_values(["order_date", "customer_id"], kind="stable")
df.to_csv("tests/fixtures/predict/order_log.csv", index=False)

ts = pd.to_datetime(df["order_date"], format="%Y%m%d")
last = ts.max()
cutoff = last - pd.Timedelta(days=30)
before = set(df.loc[ts <= cutoff, "customer_id"])
in_window = set(df.loc[(ts > cutoff) & (ts <= last), "customer_id"])
churned = sum(1 for u in before if u not in in_window)
retained = len(before) - churned

gaps = []
per_user = pd.DataFrame({"u": df["customer_id"], "day": ts}).drop_duplicates()
for _, g in per_user.sort_values(["u", "day"]).groupby("u"):
    gaps.extend(g["day"].diff().dropna().dt.days.tolist())
gaps = np.array(gaps, dtype=float)
median, p80 = np.quantile(gaps, [0.5, 0.8])

expected = {
    "users": len(before),
    "churned": churned,
    "retained": retained,
    "majority_accuracy": max(churned, retained) / len(before),
    "returns": int(len(gaps)),
    "median_gap_days": float(median),
    "p80_gap_days": float(p80),
    "suggested_days": max(7, math.ceil(p80)),
}
with open("tests/fixtures/predict/order_log_expected.json", "w") as f:
    json.dump(expected, f, indent=2)
    f.write("\n")
print(json.dumps(expected, indent=2))
