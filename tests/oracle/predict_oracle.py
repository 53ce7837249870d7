"""Oracle fixtures for the prediction tests (tests/predict_oracle.rs), from scikit-learn.

1. metrics.json: seeded labels and scores (with ties), and what scikit-learn's metrics say of them:
   roc_auc_score, average_precision_score, roc_curve (drop_intermediate=False), accuracy / precision /
   recall and confusion_matrix at threshold 0.5 (predicted positive when p >= 0.5), calibration_curve
   (10 uniform bins).
2. churn_models.json: on the design matrix our CLI writes for the bundled sample
   (`persona-lab predict sample_data/fashion_ga4_events.csv.gz --design
   tests/fixtures/predict/churn_design.csv.gz`: scaled features, label, held-out flag), scikit-learn's
   LogisticRegression (C=1) and RandomForestClassifier (100 trees, max_depth 8, min_samples_leaf 5,
   max_features sqrt) fitted on the training rows: coefficients and held-out ROC AUC.

Run from the repository root: python3 tests/oracle/predict_oracle.py (scikit-learn 1.9, numpy, pandas).
"""

import json

import numpy as np
import pandas as pd
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

OUT = "tests/fixtures/predict"

rng = np.random.default_rng(7)
n = 400
y = rng.random(n) < 0.3
# Informative but noisy scores, rounded so that many are tied; some exactly on bin edges.
p = np.clip(0.35 * y + rng.random(n) * 0.65, 0, 1).round(2)
p[:5] = [0.0, 0.1, 0.5, 0.9, 1.0]
pred = p >= 0.5
fpr, tpr, _ = roc_curve(y, p, drop_intermediate=False)
prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
metrics = {
    "sklearn": sklearn.__version__,
    "y": [bool(v) for v in y],
    "p": [float(v) for v in p],
    "roc_auc": roc_auc_score(y, p),
    "pr_auc": average_precision_score(y, p),
    "accuracy": accuracy_score(y, pred),
    "precision": precision_score(y, pred),
    "recall": recall_score(y, pred),
    "confusion": confusion_matrix(y, pred).tolist(),
    "roc_fpr": fpr.tolist(),
    "roc_tpr": tpr.tolist(),
    "calibration_observed": prob_true.tolist(),
    "calibration_predicted": prob_pred.tolist(),
}
with open(f"{OUT}/metrics.json", "w") as f:
    json.dump(metrics, f, indent=1)

d = pd.read_csv(f"{OUT}/churn_design.csv.gz", dtype={"user_id": str})
features = [c for c in d.columns if c not in ("user_id", "label", "test")]
train, test = d[d.test == 0], d[d.test == 1]
lr = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(train[features], train.label)
rf = RandomForestClassifier(
    n_estimators=100, max_depth=8, min_samples_leaf=5, max_features="sqrt", random_state=0, n_jobs=-1
).fit(train[features], train.label)
models = {
    "sklearn": sklearn.__version__,
    "features": features,
    "logistic_coef": lr.coef_[0].tolist(),
    "logistic_intercept": float(lr.intercept_[0]),
    "logistic_auc": roc_auc_score(test.label, lr.predict_proba(test[features])[:, 1]),
    "forest_auc": roc_auc_score(test.label, rf.predict_proba(test[features])[:, 1]),
    "forest_importance": rf.feature_importances_.tolist(),
}
with open(f"{OUT}/churn_models.json", "w") as f:
    json.dump(models, f, indent=1)
print(json.dumps({k: v for k, v in models.items() if "auc" in k}))
