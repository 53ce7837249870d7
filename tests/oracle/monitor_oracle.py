"""Oracle fixture for the monitoring statistics (tests/monitor_oracle.rs), from statsmodels.

For a set of (successes, trials) pairs of a variant and its control: the Wilson interval of each rate,
Newcombe's interval for the difference and the log interval for the ratio
(confint_proportions_2indep), the pooled two-proportion z-test (proportions_ztest), Holm-adjusted
p-values over all cases (multipletests), and the users per arm a test needs to detect the observed
difference with 80% power at alpha 0.05 (NormalIndPower.solve_power with Cohen's h).

Run from the repository root: python3 tests/oracle/monitor_oracle.py (statsmodels 0.15, numpy).
"""

import json

import statsmodels
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

cases = [(30, 200, 18, 190), (5, 40, 9, 41), (120, 1000, 100, 1000), (1, 17, 3, 20), (250, 2500, 300, 2400),
         (0, 50, 4, 60), (50, 50, 45, 50)]
out = {"statsmodels": statsmodels.__version__, "cases": []}
pvals = []
for k1, n1, k2, n2 in cases:
    c = {"k1": k1, "n1": n1, "k2": k2, "n2": n2}
    c["wilson1"] = list(proportion_confint(k1, n1, alpha=0.05, method="wilson"))
    c["wilson2"] = list(proportion_confint(k2, n2, alpha=0.05, method="wilson"))
    c["diff"] = list(confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=0.05))
    if k1 > 0 and k2 > 0:
        c["ratio"] = list(confint_proportions_2indep(k1, n1, k2, n2, method="log", compare="ratio", alpha=0.05))
    z, p = proportions_ztest([k1, k2], [n1, n2])
    c["z"], c["p"] = float(z), float(p)
    pvals.append(float(p))
    h = proportion_effectsize(k1 / n1, k2 / n2)
    c["h"] = float(h)
    if h != 0:
        c["needed_n1"] = float(NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=n2 / n1))
    out["cases"].append(c)
out["holm"] = multipletests(pvals, method="holm")[1].tolist()
with open("tests/fixtures/monitor/stats.json", "w") as f:
    json.dump(out, f, indent=1)
