//! Classification metrics with scikit-learn's definitions (the oracle tests compare to 1e-9): ROC curve
//! and AUC (`roc_curve` + trapezoid), average precision (`average_precision_score`, the PR AUC), the
//! precision-recall curve, accuracy / precision / recall and the confusion matrix at a threshold
//! (predicted positive when `p >= threshold`), and the reliability table of `calibration_curve`
//! (uniform bins).

use serde::{Deserialize, Serialize};

/// Every metric of a set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub n: usize,
    pub positives: usize,
    /// The accuracy of always answering the larger class: what `accuracy` must beat.
    #[serde(default)]
    pub baseline_accuracy: f64,
    pub roc_auc: f64,
    /// Average precision (scikit-learn's PR AUC).
    pub pr_auc: f64,
    pub threshold: f64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    /// [[true negatives, false positives], [false negatives, true positives]], as scikit-learn.
    pub confusion: [[usize; 2]; 2],
    pub calibration: Vec<CalibrationBin>,
    /// (false positive rate, true positive rate) points of the ROC curve.
    pub roc: Vec<(f64, f64)>,
    /// (recall, precision) points of the PR curve, by decreasing threshold.
    pub pr: Vec<(f64, f64)>,
}

/// One bin of the reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    /// Mean predicted probability in the bin.
    pub mean_predicted: f64,
    /// Share of positives in the bin.
    pub observed: f64,
}

pub fn metrics(y: &[bool], p: &[f64], threshold: f64, bins: usize) -> Metrics {
    let confusion = confusion(y, p, threshold);
    let [[tn, fp], [fn_, tp]] = confusion;
    let div = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let positives = y.iter().filter(|&&v| v).count();
    Metrics {
        n: y.len(),
        positives,
        baseline_accuracy: super::honesty::majority_accuracy(positives, y.len()),
        roc_auc: roc_auc(y, p),
        pr_auc: average_precision(y, p),
        threshold,
        accuracy: div(tp + tn, y.len()),
        precision: div(tp, tp + fp),
        recall: div(tp, tp + fn_),
        confusion,
        calibration: calibration(y, p, bins),
        roc: roc_curve(y, p),
        pr: pr_curve(y, p),
    }
}

/// Cumulative (false positives, true positives) at each distinct score, highest score first.
fn cumulative(y: &[bool], p: &[f64]) -> Vec<(f64, f64)> {
    let mut idx: Vec<usize> = (0..y.len()).collect();
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut out = Vec::new();
    let (mut fp, mut tp) = (0.0, 0.0);
    for (k, &i) in idx.iter().enumerate() {
        if y[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        // A threshold sits after the last of a run of equal scores.
        if idx.get(k + 1).is_none_or(|&j| p[j] != p[i]) {
            out.push((fp, tp));
        }
    }
    out
}

/// The ROC curve from (0, 0), as scikit-learn's `roc_curve(drop_intermediate=False)`.
pub fn roc_curve(y: &[bool], p: &[f64]) -> Vec<(f64, f64)> {
    let pos = y.iter().filter(|&&v| v).count() as f64;
    let neg = y.len() as f64 - pos;
    let mut pts = vec![(0.0, 0.0)];
    for (fp, tp) in cumulative(y, p) {
        pts.push((
            if neg > 0.0 { fp / neg } else { f64::NAN },
            if pos > 0.0 { tp / pos } else { f64::NAN },
        ));
    }
    pts
}

/// Area under the ROC curve (trapezoid rule); NaN when one class is absent.
pub fn roc_auc(y: &[bool], p: &[f64]) -> f64 {
    let pts = roc_curve(y, p);
    pts.windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
        .sum()
}

/// Precision-recall points by decreasing threshold: (recall, precision).
pub fn pr_curve(y: &[bool], p: &[f64]) -> Vec<(f64, f64)> {
    let pos = y.iter().filter(|&&v| v).count() as f64;
    cumulative(y, p)
        .into_iter()
        .map(|(fp, tp)| {
            let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 1.0 };
            (if pos > 0.0 { tp / pos } else { f64::NAN }, precision)
        })
        .collect()
}

/// Average precision: the sum over thresholds of (R_n - R_{n-1}) P_n.
pub fn average_precision(y: &[bool], p: &[f64]) -> f64 {
    let mut prev_recall = 0.0;
    let mut ap = 0.0;
    for (r, pr) in pr_curve(y, p) {
        ap += (r - prev_recall) * pr;
        prev_recall = r;
    }
    ap
}

pub fn confusion(y: &[bool], p: &[f64], threshold: f64) -> [[usize; 2]; 2] {
    let mut m = [[0usize; 2]; 2];
    for (&t, &s) in y.iter().zip(p) {
        m[usize::from(t)][usize::from(s >= threshold)] += 1;
    }
    m
}

/// Uniform bins over [0, 1]; empty bins are left out, as `calibration_curve` does.
pub fn calibration(y: &[bool], p: &[f64], bins: usize) -> Vec<CalibrationBin> {
    let bins = bins.max(1);
    let mut count = vec![0usize; bins];
    let mut sum_p = vec![0.0; bins];
    let mut sum_y = vec![0.0; bins];
    let step = 1.0 / bins as f64;
    for (&t, &s) in y.iter().zip(p) {
        // As calibration_curve: edges = np.linspace(0, 1, bins + 1) (edge k is k * step, so 0.3 is
        // 0.30000000000000004), bin = np.searchsorted(edges[1:-1], p) (side "left": a value on an
        // inner edge goes to the bin below).
        let b = (1..bins).filter(|&k| s > k as f64 * step).count();
        count[b] += 1;
        sum_p[b] += s;
        sum_y[b] += f64::from(u8::from(t));
    }
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| CalibrationBin {
            lo: b as f64 * step,
            hi: if b + 1 == bins {
                1.0
            } else {
                (b + 1) as f64 * step
            },
            count: count[b],
            mean_predicted: sum_p[b] / count[b] as f64,
            observed: sum_y[b] / count[b] as f64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_random_and_tied_scores() {
        let y = [false, false, true, true];
        assert_eq!(roc_auc(&y, &[0.1, 0.2, 0.8, 0.9]), 1.0);
        assert_eq!(roc_auc(&y, &[0.9, 0.8, 0.2, 0.1]), 0.0);
        // All tied: the diagonal.
        assert_eq!(roc_auc(&y, &[0.5; 4]), 0.5);
        assert_eq!(average_precision(&y, &[0.5; 4]), 0.5);
        assert_eq!(confusion(&y, &[0.1, 0.6, 0.4, 0.9], 0.5), [[1, 1], [1, 1]]);
        assert!(roc_auc(&[true, true], &[0.1, 0.2]).is_nan());
    }
}
