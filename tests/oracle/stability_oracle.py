"""Expected stability figures, computed with scikit-learn and numpy from the definitions alone.

Run from the repository root: python3 tests/oracle/stability_oracle.py
Writes tests/fixtures/cluster/stability.json: overlapping Gaussian groups, a reference k-means
labelling (k = 4), and five resamples (80% of the users, drawn without replacement, sorted) each
re-clustered by k-means; per resample the adjusted Rand index on the shared users
(sklearn.metrics.adjusted_rand_score) and, per reference segment, the best Jaccard overlap with a
resampled cluster (|A & B| / |A | B| over the shared users, Hennig's clusterboot measure); then the
means over resamples. The Rust side must give the same numbers from the same labellings.
"""
import json

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

rng = np.random.default_rng(20261201)
n, d, k = 300, 3, 4
centres = rng.normal(0, 2.5, size=(k, d))
X = centres[rng.integers(0, k, size=n)] + rng.normal(0, 1.2, size=(n, d))
reference = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(X)

resamples = []
for r in range(5):
    rows = np.sort(rng.choice(n, size=int(round(0.8 * n)), replace=False))
    # A different k for one resample: the comparison must not assume the same number of clusters.
    k_r = k if r != 3 else k + 1
    labels = KMeans(n_clusters=k_r, n_init=3, random_state=r + 1).fit_predict(X[rows])
    shared = reference[rows]
    ari = adjusted_rand_score(shared, labels)
    jaccard = []
    for a in range(k):
        A = set(np.flatnonzero(shared == a))
        best = 0.0
        for b in range(labels.max() + 1):
            B = set(np.flatnonzero(labels == b))
            union = len(A | B)
            if union:
                best = max(best, len(A & B) / union)
        jaccard.append(best)
    resamples.append({
        "rows": rows.tolist(),
        "labels": labels.tolist(),
        "ari": ari,
        "jaccard": jaccard,
    })

out = {
    "k": k,
    "reference": reference.tolist(),
    "resamples": resamples,
    "mean_ari": float(np.mean([r["ari"] for r in resamples])),
    "per_segment": np.mean([r["jaccard"] for r in resamples], axis=0).tolist(),
}
with open("tests/fixtures/cluster/stability.json", "w") as f:
    json.dump(out, f)
print("mean ARI", out["mean_ari"], "per segment", out["per_segment"])
