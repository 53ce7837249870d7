"""Oracle for the feature and transform tests: an independent pandas + scikit-learn implementation
(the pandas part is the benchmark's pandas peer, benches/peers/features_pandas.py).

Reads tests/fixtures/ga4_small.csv.gz (made by `persona-lab sample --users 300 --seed 5`) and writes
  tests/fixtures/ga4_small_features.csv        every catalogue feature per user (pandas)
  tests/fixtures/ga4_small_scaled_<s>.csv      the default set, missing-filled, log1p'd and scaled with
                                                scikit-learn's StandardScaler / RobustScaler / MinMaxScaler

Run from the repository root:  python3 tests/oracle/features_oracle.py
"""
import sys

import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

sys.path.insert(0, "benches/peers")
from features_pandas import compute_features  # noqa: E402  (one pandas implementation for both)

FIX = "tests/fixtures/"

out = compute_features(FIX + "ga4_small.csv.gz")
out.to_csv(FIX + "ga4_small_features.csv", float_format="%.17g")

default = ["sessions", "recency_days", "events_per_session", "page_views_per_session",
           "product_views_per_session", "cart_adds_per_session", "searches_per_session",
           "video_plays_per_session", "time_per_session", "scroll_mean", "purchases", "revenue"]
log = {"sessions", "time_per_session", "purchases", "revenue"}
per_session = {"events_per_session", "page_views_per_session", "product_views_per_session",
               "cart_adds_per_session", "searches_per_session", "video_plays_per_session"}
x = out[default].copy()
for c in default:
    fill = 0.0 if c in log or c in per_session else x[c].median()
    x[c] = x[c].fillna(fill)
    if c in log:
        x[c] = np.log1p(x[c])
for name, scaler in [("standard", StandardScaler()), ("robust", RobustScaler()), ("minmax", MinMaxScaler())]:
    z = pd.DataFrame(scaler.fit_transform(x.values), index=x.index, columns=default)
    # Days since the last visit count against engagement.
    z["engagement_score"] = z[default].sum(axis=1) - 2 * z["recency_days"]
    z.to_csv(FIX + f"ga4_small_scaled_{name}.csv", float_format="%.17g")
print("users", len(out), "features", out.shape[1])
