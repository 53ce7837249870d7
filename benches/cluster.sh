#!/usr/bin/env bash
# Benchmark: the clustering engine side by side with scikit-learn, scipy and fastcluster, in one run.
#   - k-means, 1,000,000 users x 10 features, k = 8, overlapping groups, n_init 1 and 10
#     (ours vs sklearn.cluster.KMeans(algorithm="lloyd")), with the inertia of each;
#   - exact silhouette of 20,000 users (ours vs sklearn.metrics.silhouette_samples);
#   - Ward linkage of 20,000 users (ours vs fastcluster.linkage_vector and scipy linkage).
# Each tool's time excludes reading the data. Tasks run round-robin; the best of RUNS is reported.
#
#   bash benches/cluster.sh [RUNS]      (default 3)
#
# Needs: python3 with numpy, scikit-learn, scipy, fastcluster (pip install scikit-learn scipy fastcluster).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
data=benches/data
mkdir -p "$data"
[ -f $data/km_1m.f64 ] || python3 benches/peers/cluster_data.py 1000000 10 $data/km_1m.f64
[ -f $data/c_20k.f64 ] || python3 benches/peers/cluster_data.py 20000 10 $data/c_20k.f64 $data/c_20k.u32
bin=$(cargo build --release --bench cluster --message-format=json 2>/dev/null |
  python3 -c 'import sys,json
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "cluster" and m.get("executable"):
        print(m["executable"])')
python3 -c 'import sklearn, scipy, fastcluster, numpy; print(f"peers: scikit-learn {sklearn.__version__}, scipy {scipy.__version__}, fastcluster {fastcluster.__version__}, numpy {numpy.__version__}")'
echo "threads: $(nproc)"
peer=benches/peers/cluster_sklearn.py
names=(kmeans-n1 sklearn-kmeans-n1 kmeans-n10 sklearn-kmeans-n10 silhouette sklearn-silhouette ward fastcluster-ward scipy-ward)
cmds=(
  "$bin kmeans $data/km_1m.f64 8 1"
  "python3 $peer kmeans $data/km_1m.f64 8 1"
  "$bin kmeans $data/km_1m.f64 8 10"
  "python3 $peer kmeans $data/km_1m.f64 8 10"
  "$bin silhouette $data/c_20k.f64 $data/c_20k.u32"
  "python3 $peer silhouette $data/c_20k.f64 $data/c_20k.u32"
  "$bin ward $data/c_20k.f64"
  "python3 $peer ward-fastcluster $data/c_20k.f64"
  "python3 $peer ward-scipy $data/c_20k.f64"
)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for round in $(seq "$runs"); do
  for i in "${!names[@]}"; do
    # shellcheck disable=SC2086
    echo "${names[$i]} $(${cmds[$i]})" | tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import sys
best, result = {}, {}
for line in open(sys.argv[1]):
    name, t, r = line.split()
    if float(t) < best.get(name, 1e99):
        best[name], result[name] = float(t), float(r)
def row(task, ours, peer, what):
    a, b = best[ours], best[peer]
    rel = (result[ours] - result[peer]) / abs(result[peer])
    print(f"{task:<34}{a:>9.3f}{b:>9.3f}{b / a:>9.2f}x   {what} ours {result[ours]:.6g} vs {result[peer]:.6g} ({rel:+.2e})")
print()
print(f"{'task':<34}{'ours s':>9}{'peer s':>9}{'speed-up':>10}")
row("k-means 1M x 10, k=8, n_init=1", "kmeans-n1", "sklearn-kmeans-n1", "inertia")
row("k-means 1M x 10, k=8, n_init=10", "kmeans-n10", "sklearn-kmeans-n10", "inertia")
row("silhouette 20k (sklearn)", "silhouette", "sklearn-silhouette", "mean")
row("ward 20k (fastcluster vector)", "ward", "fastcluster-ward", "top height")
row("ward 20k (scipy linkage)", "ward", "scipy-ward", "top height")
PY
