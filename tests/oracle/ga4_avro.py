"""GA4's BigQuery export as Avro, from the same eight events as the JSON export fixture.

BigQuery writes a table to Avro with a record per row: NULLABLE columns are unions ["null", T],
REPEATED columns arrays, RECORD columns nested records, INT64 `long`, FLOAT64 `double`. This writes
tests/fixtures/ga4/events_20240601.json (the JSON export, INT64 as strings, NULLs left out) again
as:
  events_20240601-deflate.avro   codec deflate (`bq extract --destination_format AVRO --compression DEFLATE`)
  events_20240601-snappy.avro    codec snappy
with fastavro, an implementation independent of ours; the Rust test then expects the features of
the JSON file from both.

Run from the repository root:  python3 tests/oracle/ga4_avro.py   (pip install fastavro cramjam)
"""
import json
import os

import fastavro

HERE = os.path.join("tests", "fixtures", "ga4")


def nullable(t):
    return ["null", t]


def record(name, fields):
    return {"type": "record", "name": name, "fields": [{"name": n, "type": t} for n, t in fields]}


def params(name):
    value = record(name + "_value", [
        ("string_value", nullable("string")),
        ("int_value", nullable("long")),
        ("float_value", nullable("double")),
        ("double_value", nullable("double")),
        ("set_timestamp_micros", nullable("long")),
    ])
    item = record(name, [("key", nullable("string")), ("value", nullable(value))])
    return {"type": "array", "items": item}


SCHEMA = record("Root", [
    ("event_date", nullable("string")),
    ("event_timestamp", nullable("long")),
    ("event_name", nullable("string")),
    ("event_params", params("event_params")),
    ("event_value_in_usd", nullable("double")),
    ("user_id", nullable("string")),
    ("user_pseudo_id", nullable("string")),
    ("user_properties", params("user_properties")),
    ("privacy_info", nullable(record("privacy_info", [
        ("analytics_storage", nullable("string")),
        ("ads_storage", nullable("string")),
        ("uses_transient_token", nullable("string")),
    ]))),
    ("device", nullable(record("device", [("category", nullable("string"))]))),
    ("ecommerce", nullable(record("ecommerce", [
        ("total_item_quantity", nullable("long")),
        ("purchase_revenue", nullable("double")),
        ("transaction_id", nullable("string")),
    ]))),
    ("items", {"type": "array", "items": record("items", [
        ("item_id", nullable("string")),
        ("quantity", nullable("long")),
    ])}),
])

INT64 = {"event_timestamp", "int_value", "set_timestamp_micros", "total_item_quantity", "quantity"}


def typed(v, key=None):
    """The JSON export's INT64 strings back to integers, as the table holds them."""
    if isinstance(v, dict):
        return {k: typed(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [typed(x) for x in v]
    if key in INT64 and isinstance(v, str):
        return int(v)
    return v


def main():
    with open(os.path.join(HERE, "events_20240601.json")) as f:
        rows = [typed(json.loads(line)) for line in f if line.strip()]
    for row in rows:
        # REPEATED columns are never NULL in BigQuery: an empty array.
        row.setdefault("event_params", [])
        row.setdefault("user_properties", [])
        row.setdefault("items", [])
    schema = fastavro.parse_schema(SCHEMA)
    for codec in ["deflate", "snappy"]:
        with open(os.path.join(HERE, f"events_20240601-{codec}.avro"), "wb") as f:
            fastavro.writer(f, schema, rows, codec=codec)


if __name__ == "__main__":
    main()
