"""Exports with DECIMAL columns, as BigQuery's NUMERIC arrives (issue 15 M9): a flat Parquet file with the
revenue as decimal(38, 9), and a nested one with the revenue inside a record (GA4's ecommerce).

Writes tests/fixtures/decimal/flat.parquet and nested.parquet with pyarrow, and flat.avro with fastavro.
Expected revenue per user: u1 19.99, u2 5.5, u3 none. Run from the repository root.
"""

from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

users = ["u1", "u1", "u2", "u3"]
ts = [1717200000000000, 1717200060000000, 1717200120000000, 1717200180000000]
events = ["page_view", "purchase", "purchase", "page_view"]
revenue = [None, Decimal("19.990000000"), Decimal("5.500000000"), None]

pq.write_table(
    pa.table(
        {
            "user_pseudo_id": users,
            "event_timestamp": ts,
            "event_name": events,
            "value": pa.array(revenue, type=pa.decimal128(38, 9)),
        }
    ),
    "tests/fixtures/decimal/flat.parquet",
)
pq.write_table(
    pa.table(
        {
            "user_pseudo_id": users,
            "event_timestamp": ts,
            "event_name": events,
            "ecommerce": pa.array(
                [None if r is None else {"purchase_revenue": r} for r in revenue],
                type=pa.struct([("purchase_revenue", pa.decimal128(38, 9))]),
            ),
        }
    ),
    "tests/fixtures/decimal/nested.parquet",
)

# Avro, as BigQuery exports NUMERIC: bytes with logicalType decimal(38, 9) (fastavro).
import fastavro  # noqa: E402

schema = {
    "type": "record",
    "name": "Root",
    "fields": [
        {"name": "user_pseudo_id", "type": ["null", "string"]},
        {"name": "event_timestamp", "type": ["null", "long"]},
        {"name": "event_name", "type": ["null", "string"]},
        {
            "name": "value",
            "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 9}],
        },
    ],
}
with open("tests/fixtures/decimal/flat.avro", "wb") as f:
    fastavro.writer(
        f,
        fastavro.parse_schema(schema),
        [
            {"user_pseudo_id": u, "event_timestamp": t, "event_name": e, "value": r}
            for u, t, e, r in zip(users, ts, events, revenue)
        ],
        codec="deflate",
    )
