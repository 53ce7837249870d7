"""The pandas equivalent of `persona-lab features` on a GA4-style export (read_csv + groupby), or on
GA4's nested JSON export (read_json(lines=True) + json_normalize, then the same groupby).

Also the oracle of the feature tests (tests/oracle/features_oracle.py imports compute_features).
Usage: python3 features_pandas.py INPUT.csv OUT.parquet [ENGINE]

ENGINE is read_csv's parser: "pyarrow" (default here, multi-threaded) or "c" (pandas' own default, what a
notebook gets with a plain read_csv).
"""
import sys

import numpy as np
import pandas as pd

DAY = 86_400e6
HALF_LIFE = 14.0
TOP = 10
KINDS = {
    "page_views": "page_view",
    "product_views": "view_item",
    "cart_adds": "add_to_cart",
    "searches": "view_search_results",
    "video_plays": "video_start",
    "purchases": "purchase",
}


def read_ga4_ndjson(path):
    """GA4's nested JSON export as an analyst reads it in pandas: read_json(lines=True), then the
    event_params key/value lists pivoted with json_normalize (INT64 values arrive as strings)."""
    ev = pd.read_json(path, lines=True, dtype=False)

    def pivot(params):
        out = {}
        for p in params:
            v = p.get("value") or {}
            for field in ("string_value", "int_value", "float_value", "double_value"):
                if v.get(field) is not None:
                    out[p["key"]] = v[field]
                    break
        return out

    params = pd.json_normalize(ev["event_params"].map(pivot).tolist())
    nested = pd.json_normalize(ev[["privacy_info", "ecommerce"]].to_dict("records"))
    flat = pd.DataFrame({
        "event_timestamp": ev["event_timestamp"].astype("int64"),
        "event_name": ev["event_name"],
        "user_pseudo_id": ev["user_pseudo_id"].astype(str),
        "ga_session_id": params["ga_session_id"].astype(str).where(params["ga_session_id"].notna()),
        "engagement_time_msec": pd.to_numeric(params["engagement_time_msec"]),
        "percent_scrolled": pd.to_numeric(params["percent_scrolled"]),
        # GA4's revenue: the purchase's, else the value parameter.
        "value": pd.to_numeric(nested["ecommerce.purchase_revenue"]).fillna(
            pd.to_numeric(params["value"])),
        "privacy_info.analytics_storage": nested["privacy_info.analytics_storage"],
    })
    return flat


def compute_features(path, engine=None):
    if path.endswith((".ndjson", ".json", ".jsonl")):
        df = read_ga4_ndjson(path)
    else:
        kw = {"engine": engine} if engine else {}
        df = pd.read_csv(
            path,
            usecols=["event_timestamp", "event_name", "user_pseudo_id", "ga_session_id",
                     "engagement_time_msec", "percent_scrolled", "value",
                     "privacy_info.analytics_storage"],
            dtype={"user_pseudo_id": str, "ga_session_id": str, "value": "float64",
                   "percent_scrolled": "float64", "engagement_time_msec": "float64"},
            **kw,
        )
    df = df[df["privacy_info.analytics_storage"] == "Yes"]
    ts = df["event_timestamp"].astype("int64")
    ref = ts.max()
    df = df.assign(
        ts=ts,
        day=np.floor(ts.astype(float) / DAY),
        dur=df["engagement_time_msec"] / 1000.0,
        decay=np.exp(((ref - ts.astype(float)) / DAY) * (-np.log(2) / HALF_LIFE)),
    )
    for feat, name in KINDS.items():
        df[feat] = (df["event_name"] == name).astype(float)
    df["purchase_value"] = df["value"].where(df["event_name"] == "purchase", 0.0)
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
    sums = g[list(KINDS) + ["purchase_value", "decay"]].sum()
    for feat in KINDS:
        out[feat] = sums[feat]
    for feat in ["page_views", "product_views", "cart_adds", "searches", "video_plays"]:
        out[feat + "_per_session"] = out[feat] / out["sessions"]
    out["add_to_cart_rate"] = (out["cart_adds"] / out["product_views"]).where(out["product_views"] > 0)
    out["revenue"] = sums["purchase_value"].fillna(0.0)
    out["avg_order_value"] = (out["revenue"] / out["purchases"]).where(out["purchases"] > 0)
    out["conversion_rate"] = out["purchases"] / out["sessions"]
    out["decayed_events"] = sums["decay"]
    counts = df["event_name"].value_counts()
    top = [n for n, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]]
    per_name = pd.crosstab(df["user_pseudo_id"], df["event_name"]).reindex(out.index, fill_value=0)
    for name in top:
        out["count:" + name] = per_name[name].astype(float)
    if len(counts) > TOP:  # only when some names are not in the top list
        out["count:other"] = out["events"] - sum(out["count:" + n] for n in top)
    out.index.name = "user_id"
    return out.sort_index()


if __name__ == "__main__":
    engine = sys.argv[3] if len(sys.argv) > 3 else "pyarrow"
    compute_features(sys.argv[1], engine=engine).to_parquet(sys.argv[2])
