"""A hand-written py-polars query of the same features as `persona-lab features` (GA4-style CSV, or
GA4's nested JSON export with its event_params pivoted by list expressions).
Usage: python3 features_polars.py INPUT.csv OUT.parquet [ENGINE]

ENGINE is polars' collect engine: "auto" (the default; py-polars 2 runs this query on its streaming
engine, whose float sums come in a varying order, so results differ in the last bits between runs) or
"in-memory" (deterministic, like persona-lab).
"""
import math
import sys

import polars as pl

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


def param(key, dtype, value_fields):
    """One event_params key of GA4's nested export: the value field that is set, typed.
    `value_fields`: the fields of `value` the file has (a field never set is not in the schema)."""
    v = (pl.col("event_params")
         .list.eval(pl.element().filter(pl.element().struct.field("key") == key))
         .list.first().struct.field("value"))
    fields = [v.struct.field(f).cast(pl.String)
              for f in ("string_value", "int_value", "float_value", "double_value")
              if f in value_fields]
    return pl.coalesce(fields).cast(dtype).alias(key)


def scan(path):
    if not path.endswith((".ndjson", ".json", ".jsonl")):
        return pl.scan_csv(
            path,
            schema_overrides={"user_pseudo_id": pl.String, "ga_session_id": pl.String,
                              "value": pl.Float64, "percent_scrolled": pl.Float64,
                              "engagement_time_msec": pl.Float64},
        )
    # GA4's nested JSON export: INT64 as strings, parameters in key/value lists.
    lf = pl.scan_ndjson(path, infer_schema_length=None)
    record = lf.collect_schema()["event_params"].inner
    value = next(f.dtype for f in record.fields if f.name == "value")
    vf = {f.name for f in value.fields}
    return lf.select(
        pl.col("event_timestamp").cast(pl.Int64),
        "event_name",
        pl.col("user_pseudo_id").cast(pl.String),
        param("ga_session_id", pl.String, vf),
        param("engagement_time_msec", pl.Float64, vf),
        param("percent_scrolled", pl.Float64, vf),
        pl.coalesce(pl.col("ecommerce").struct.field("purchase_revenue"),
                    param("value", pl.Float64, vf)).alias("value"),
        pl.col("privacy_info").struct.field("analytics_storage")
        .alias("privacy_info.analytics_storage"),
    )


def main(path, out, engine="auto"):
    lf = scan(path).filter(pl.col("privacy_info.analytics_storage") == "Yes")
    df = lf.select("event_timestamp", "event_name", "user_pseudo_id", "ga_session_id",
                   "engagement_time_msec", "percent_scrolled", "value").collect(engine=engine)
    ref = df["event_timestamp"].max()
    names = df.group_by("event_name").len().sort(["len", "event_name"], descending=[True, False])
    top = names["event_name"].head(TOP).to_list()
    ts = pl.col("event_timestamp").cast(pl.Float64)
    aggs = [
        pl.len().cast(pl.Float64).alias("events"),
        pl.col("ga_session_id").drop_nulls().n_unique().cast(pl.Float64).alias("sessions_raw"),
        (ts / DAY).floor().n_unique().cast(pl.Float64).alias("active_days"),
        (pl.col("engagement_time_msec") / 1000.0).sum().alias("time_total"),
        pl.col("percent_scrolled").mean().alias("scroll_mean"),
        pl.col("percent_scrolled").max().alias("scroll_max"),
        pl.col("event_timestamp").max().alias("last"),
        pl.col("event_timestamp").min().alias("first"),
        ((ref - ts) / DAY * (-math.log(2) / HALF_LIFE)).exp().sum().alias("decayed_events"),
        pl.col("value").filter(pl.col("event_name") == "purchase").sum().alias("revenue"),
    ]
    aggs += [(pl.col("event_name") == n).sum().cast(pl.Float64).alias(f) for f, n in KINDS.items()]
    aggs += [(pl.col("event_name") == n).sum().cast(pl.Float64).alias("count:" + n) for n in top]
    res = (
        df.lazy().group_by("user_pseudo_id").agg(aggs)
        .with_columns(pl.max_horizontal(pl.col("sessions_raw"), pl.lit(1.0)).alias("sessions"))
        .with_columns(
            (pl.col("events") / pl.col("sessions")).alias("events_per_session"),
            (pl.col("time_total") / pl.col("sessions")).alias("time_per_session"),
            ((ref - pl.col("last")) / DAY).alias("recency_days"),
            ((ref - pl.col("first")) / DAY).alias("tenure_days"),
            *[(pl.col(f) / pl.col("sessions")).alias(f + "_per_session")
              for f in ["page_views", "product_views", "cart_adds", "searches", "video_plays"]],
            pl.when(pl.col("product_views") > 0).then(pl.col("cart_adds") / pl.col("product_views")).alias("add_to_cart_rate"),
            pl.when(pl.col("purchases") > 0).then(pl.col("revenue") / pl.col("purchases")).alias("avg_order_value"),
            (pl.col("purchases") / pl.col("sessions")).alias("conversion_rate"),
        )
        .with_columns((pl.col("sessions") / pl.max_horizontal(pl.col("tenure_days") / 7.0, pl.lit(1.0))).alias("frequency"))
        .drop("sessions_raw", "first", "last")
        .sort("user_pseudo_id")
        .collect(engine=engine)
    )
    res.write_parquet(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *sys.argv[3:4])
