"""The peer side of benches/cluster.sh: the same tasks with scikit-learn, scipy and fastcluster.
Prints `seconds result` (time excludes reading the data).

    python3 benches/peers/cluster_sklearn.py kmeans DATA.f64 K N_INIT
    python3 benches/peers/cluster_sklearn.py silhouette DATA.f64 LABELS.u32
    python3 benches/peers/cluster_sklearn.py ward-fastcluster DATA.f64
    python3 benches/peers/cluster_sklearn.py ward-scipy DATA.f64
"""
import sys
import time
import numpy as np


def load(path):
    with open(path, "rb") as f:
        n, d = np.fromfile(f, dtype="<u8", count=2)
        return np.fromfile(f, dtype="<f8").reshape(int(n), int(d))


task, data = sys.argv[1], load(sys.argv[2])
if task == "kmeans":
    from sklearn.cluster import KMeans
    k, n_init = int(sys.argv[3]), int(sys.argv[4])
    t = time.perf_counter()
    km = KMeans(n_clusters=k, n_init=n_init, algorithm="lloyd", random_state=0).fit(data)
    print(time.perf_counter() - t, km.inertia_)
elif task == "silhouette":
    from sklearn.metrics import silhouette_samples
    labels = np.fromfile(sys.argv[3], dtype="<u4")
    t = time.perf_counter()
    s = silhouette_samples(data, labels)
    print(time.perf_counter() - t, s.mean())
elif task == "ward-fastcluster":
    import fastcluster
    t = time.perf_counter()
    Z = fastcluster.linkage_vector(data, method="ward")
    print(time.perf_counter() - t, Z[-1, 2])
elif task == "ward-scipy":
    from scipy.cluster.hierarchy import linkage
    t = time.perf_counter()
    Z = linkage(data, method="ward")
    print(time.perf_counter() - t, Z[-1, 2])
elif task == "tsne":
    from sklearn.manifold import TSNE
    t = time.perf_counter()
    Y = TSNE(n_components=2, random_state=0).fit_transform(data[:5000])
    print(time.perf_counter() - t, float(np.abs(Y).mean()))
else:
    sys.exit(f"unknown task {task}")
