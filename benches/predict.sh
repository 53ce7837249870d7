#!/usr/bin/env bash
# Quality benchmark of the churn models on the bundled sample (planted lapsing users), side by side
# with scikit-learn in one run: the same design matrix (the scaled features `persona-lab predict
# --design` writes) and the same held-out split, for the logistic regression (C = 1) and the random
# forest (100 trees, max_depth 8, min_samples_leaf 5, max_features sqrt). Prints each model's
# held-out ROC AUC and PR AUC, ours and scikit-learn's, the difference, and the fitting time.
#
#   bash benches/predict.sh [TARGET]      (churn or convert; default churn)
#
# Needs: python3 with numpy, pandas, scikit-learn.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-churn}
cargo build --release -q
bin=target/release/persona-lab
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sample=sample_data/fashion_ga4_events.csv.gz
python3 -c 'import sklearn, numpy; print(f"peer: scikit-learn {sklearn.__version__}, numpy {numpy.__version__}; threads: '"$(nproc)"'")'
for model in logistic forest; do
  start=$(date +%s.%N)
  "$bin" predict "$sample" --target "$target" --model "$model" --report "$dir/$model.json" \
    --design "$dir/design.csv" >/dev/null
  end=$(date +%s.%N)
  echo "$model $(echo "$end - $start" | bc)" >>"$dir/times"
done
python3 - "$dir" <<'PY'
import json, sys, time
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score

d = sys.argv[1]
times = dict(l.split() for l in open(f"{d}/times"))
x = pd.read_csv(f"{d}/design.csv", dtype={"user_id": str})
f = [c for c in x.columns if c not in ("user_id", "label", "test")]
tr, te = x[x.test == 0], x[x.test == 1]
peers = {
    "logistic": LogisticRegression(C=1.0, tol=1e-10, max_iter=10000),
    "forest": RandomForestClassifier(n_estimators=100, max_depth=8, min_samples_leaf=5,
                                     max_features="sqrt", random_state=0, n_jobs=-1),
}
print(f"{len(tr)} training users, {len(te)} held out, {len(f)} features")
print(f"{'model':<10}{'ours ROC':>10}{'sklearn':>10}{'diff':>9}{'ours PR':>10}{'sklearn':>10}"
      f"{'ours s (whole CLI run)':>24}{'sklearn fit s':>15}")
for name, m in peers.items():
    ours = json.load(open(f"{d}/{name}.json"))["metrics"]
    t = time.perf_counter()
    m.fit(tr[f], tr.label)
    fit = time.perf_counter() - t
    p = m.predict_proba(te[f])[:, 1]
    auc, ap = roc_auc_score(te.label, p), average_precision_score(te.label, p)
    print(f"{name:<10}{ours['roc_auc']:>10.4f}{auc:>10.4f}{ours['roc_auc'] - auc:>+9.4f}"
          f"{ours['pr_auc']:>10.4f}{ap:>10.4f}{float(times[name]):>24.2f}{fit:>15.2f}")
PY
