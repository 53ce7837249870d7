"""Expected values for the clustering oracle tests, computed with scikit-learn and scipy.

Run from the repository root: python3 tests/oracle/cluster_oracle.py
Writes tests/fixtures/cluster/{users.csv, expected.json}. The data are overlapping Gaussian groups
(not trivially separated), 4 features, so k-means has local optima and linkages differ.
"""
import json
import numpy as np
import scipy
import sklearn
from scipy.cluster.hierarchy import linkage
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_samples

rng = np.random.default_rng(20261125)
n, d = 400, 4
centres = rng.normal(0, 2.0, size=(5, d))
groups = rng.integers(0, 5, size=n)
X = centres[groups] + rng.normal(0, 1.3, size=(n, d)) * rng.uniform(0.6, 1.4, size=d)
# Some users far out, as real behaviour has.
X[:8] *= 3.0

ids = [f"{10_000_000_000 + 7 * i}.{i % 10}" for i in range(n)]  # decimal-looking ids stay text
with open("tests/fixtures/cluster/users.csv", "w") as f:
    f.write("user_id," + ",".join(f"f{j}" for j in range(d)) + "\n")
    for uid, row in zip(ids, X):
        f.write(uid + "," + ",".join(repr(float(v)) for v in row) + "\n")

# Re-read exactly what the file holds.
X = np.loadtxt("tests/fixtures/cluster/users.csv", delimiter=",", skiprows=1, usecols=range(1, d + 1))

out = {"versions": {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__}}
km = {}
for k in (3, 5):
    best = KMeans(n_clusters=k, n_init=10, random_state=0, algorithm="lloyd").fit(X)
    labels = best.labels_
    km[str(k)] = {
        "inertia": float(best.inertia_),
        "labels": labels.tolist(),
        "silhouette": silhouette_samples(X, labels).tolist(),
    }
out["kmeans"] = km
from sklearn.metrics import adjusted_rand_score
out["ari_k3_k5"] = float(adjusted_rand_score(km["3"]["labels"], km["5"]["labels"]))

link = {}
for method in ("ward", "average", "complete", "single"):
    Z = linkage(X, method=method, metric="euclidean")
    link[method] = Z.tolist()
out["linkage"] = link

pca = PCA().fit(X)
out["pca"] = {
    "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
    "explained_variance": pca.explained_variance_.tolist(),
    "components": pca.components_[:2].tolist(),
    "first_rows": pca.transform(X)[:5, :2].tolist(),
}

from sklearn.manifold import TSNE, trustworthiness
emb = TSNE(n_components=2, random_state=0).fit_transform(X)
out["tsne"] = {"trustworthiness_5": float(trustworthiness(X, emb, n_neighbors=5))}

with open("tests/fixtures/cluster/expected.json", "w") as f:
    json.dump(out, f, indent=1)
print("wrote tests/fixtures/cluster/expected.json", out["versions"])
