"""An export with a half-precision float column, as pyarrow writes numpy's float16 (a Parquet
FLOAT16 logical type): polars 0.55.2 is built here without Float16 and panicked on its schema
(found by fuzzing, issue 15). Persona Lab must refuse it naming the column.

Writes tests/fixtures/arrow_types/float16.parquet. Run from the repository root.
"""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

pq.write_table(
    pa.table(
        {
            "user_pseudo_id": ["u1", "u1", "u2"],
            "event_timestamp": [1717200000000000, 1717200060000000, 1717200120000000],
            "event_name": ["page_view", "scroll", "page_view"],
            "percent_scrolled": pa.array(np.array([None, 90, None], dtype=np.float16), type=pa.float16()),
        }
    ),
    "tests/fixtures/arrow_types/float16.parquet",
)
