"""Oracle for the feature and transform tests: an independent pandas + scikit-learn implementation.

Reads tests/fixtures/ga4_small.csv.gz (made by `persona-lab sample --users 300 --seed 5`) and writes
  tests/fixtures/ga4_small_features.csv        every catalogue feature per user (pandas)
  tests/fixtures/ga4_small_scaled_<s>.csv      the default set, missing-filled, log1p'd and scaled with
                                                scikit-learn's StandardScaler / RobustScaler / MinMaxScaler

Run from the repository root:  python3 tests/oracle/features_oracle.py
"""
import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

FIX = "tests/fixtures/"
DAY = 86_400e6
HALF_LIFE = 14.0
TOP = 10

df = pd.read_csv(FIX + "ga4_small.csv.gz", dtype={"user_pseudo_id": str, "ga_session_id": str})
df = df[df["privacy_info.analytics_storage"] == "Yes"]
ts = df["event_timestamp"].astype("int64")
ref = ts.max()
df = df.assign(
    ts=ts,
    day=np.floor(ts.astype(float) / DAY),
    dur=df["engagement_time_msec"] / 1000.0,
    decay=np.exp(((ref - ts.astype(float)) / DAY) * (-np.log(2) / HALF_LIFE)),
)
g = df.groupby("user_pseudo_id")
out = pd.DataFrame(index=g.size().index)
out["events"] = g.size().astype(float)
out["sessions"] = g["ga_session_id"].nunique().clip(lower=1).astype(float)
out["active_days"] = g["day"].nunique().astype(float)
out["events_per_session"] = out["events"] / out["sessions"]
out["time_total"] = g["dur"].sum()
out["time_per_session"] = out["time_total"] / out["sessions"]
out["scroll_mean"] = g["percent_scrolled"].mean()
out["scroll_max"] = g["percent_scrolled"].max()
out["recency_days"] = (ref - g["ts"].max()).astype(float) / DAY
out["tenure_days"] = (ref - g["ts"].min()).astype(float) / DAY
out["frequency"] = out["sessions"] / np.maximum(out["tenure_days"] / 7.0, 1.0)
kinds = {
    "page_views": "page_view",
    "product_views": "view_item",
    "cart_adds": "add_to_cart",
    "searches": "view_search_results",
    "video_plays": "video_start",
    "purchases": "purchase",
}
for feat, name in kinds.items():
    out[feat] = df[df["event_name"] == name].groupby("user_pseudo_id").size().reindex(out.index, fill_value=0).astype(float)
for feat in ["page_views", "product_views", "cart_adds", "searches", "video_plays"]:
    out[feat + "_per_session"] = out[feat] / out["sessions"]
out["add_to_cart_rate"] = (out["cart_adds"] / out["product_views"]).where(out["product_views"] > 0)
out["revenue"] = df[df["event_name"] == "purchase"].groupby("user_pseudo_id")["value"].sum().reindex(out.index, fill_value=0.0)
out["avg_order_value"] = (out["revenue"] / out["purchases"]).where(out["purchases"] > 0)
out["conversion_rate"] = out["purchases"] / out["sessions"]
out["decayed_events"] = g["decay"].sum()
counts = df["event_name"].value_counts()
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
for name, _ in top:
    out["count:" + name] = df[df["event_name"] == name].groupby("user_pseudo_id").size().reindex(out.index, fill_value=0).astype(float)
if len(counts) > TOP:  # only when some names are not in the top list
    out["count:other"] = out["events"] - sum(out["count:" + n] for n, _ in top)
out.index.name = "user_id"
out = out.sort_index()
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
    z["engagement_score"] = z[default].sum(axis=1)
    z.to_csv(FIX + f"ga4_small_scaled_{name}.csv", float_format="%.17g")
print("users", len(out), "features", out.shape[1], "top events", [n for n, _ in top])
