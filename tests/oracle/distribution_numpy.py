"""The numpy values the core's distribution and percentile unit tests compare with
(src/features/distribution.rs). Run: python3 tests/oracle/distribution_numpy.py"""

import numpy as np

counts, edges = np.histogram([0.5, 1, 2.7, 3, 3, 9.9, -1], bins=4)
print("histogram counts", list(map(int, counts)), "edges", list(map(float, edges)))
v = np.array([7.0, 1.0, 3.5, 10.0, 2.0, 2.0, 8.25])
print("percentiles", {p: float(np.percentile(v, p)) for p in (0, 10, 25, 50, 90, 99, 100)})
