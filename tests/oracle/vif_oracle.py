"""Oracle fixture for the collinearity note of a logistic model (tests/predict_oracle.rs):
statsmodels' variance_inflation_factor of every feature of the design matrix our CLI writes for the
bundled sample (tests/fixtures/predict/churn_design.csv.gz, see predict_oracle.py), all users, with
a constant column added as statsmodels' documentation asks (without it the factors are not the usual
1 / (1 - R^2) of a regression with an intercept).

Run from the repository root: python3 tests/oracle/vif_oracle.py (statsmodels 0.15, pandas, numpy).
Writes tests/fixtures/predict/vif.json.
"""

import json

import numpy as np
import pandas as pd
import statsmodels
from statsmodels.stats.outliers_influence import variance_inflation_factor
from statsmodels.tools.tools import add_constant

d = pd.read_csv("tests/fixtures/predict/churn_design.csv.gz", dtype={"user_id": str})
features = [c for c in d.columns if c not in ("user_id", "label", "test")]
x = add_constant(d[features].to_numpy(dtype=float))
vif = [variance_inflation_factor(x, j + 1) for j in range(len(features))]
with open("tests/fixtures/predict/vif.json", "w") as f:
    json.dump(
        {"statsmodels": statsmodels.__version__, "features": features, "vif": vif},
        f,
        indent=1,
    )
    f.write("\n")
print({k: round(v, 2) for k, v in zip(features, vif)})
