"""Bench data for the clustering benchmarks: overlapping Gaussian groups (not separated blobs), written as
raw little-endian float64 with a 16-byte header (n, d as uint64), plus k-means labels for silhouette.

    python3 benches/peers/cluster_data.py N D OUT.f64 [LABELS.u32]
"""
import sys
import numpy as np

n, d, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(7)
k_true = 8
centres = rng.normal(0, 1.5, size=(k_true, d))
groups = rng.integers(0, k_true, size=n)
scales = rng.uniform(0.7, 1.3, size=(k_true, d))
X = centres[groups] + rng.normal(0, 1.0, size=(n, d)) * scales[groups]
with open(out, "wb") as f:
    np.array([n, d], dtype="<u8").tofile(f)
    X.astype("<f8").tofile(f)
if len(sys.argv) > 4:
    from sklearn.cluster import KMeans
    labels = KMeans(n_clusters=8, n_init=1, random_state=0).fit(X).labels_
    labels.astype("<u4").tofile(sys.argv[4])
