//! A feature's distribution over users, as the app draws it: equal-width histograms and the
//! clipped distribution with median and deciles that the rule editor shows beside a threshold.
//! Numbers only (no drawing), so they are computed and tested here, not in the GUI.

/// Equal-width histogram of the finite values over their [min, max]: (left edge, bin width,
/// counts), the last bin closed as numpy's `np.histogram`. No finite value: (0, 1, zeros).
pub fn histogram(values: &[f64], bins: usize) -> (f64, f64, Vec<usize>) {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let bins = bins.max(1);
    let mut counts = vec![0usize; bins];
    if finite.is_empty() {
        return (0.0, 1.0, counts);
    }
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    for v in finite {
        let b = (((v - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    (lo, width, counts)
}

/// The finite values of a column, sorted (missing, NaN and infinite values left out).
pub fn sorted_finite(col: &[Option<f64>]) -> Vec<f64> {
    let mut v: Vec<f64> = col
        .iter()
        .flatten()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The `p`-th percentile (0..100) of the finite values of `col` (numpy's `np.percentile`, linear).
pub fn percentile_of(col: &[Option<f64>], p: f64) -> Option<f64> {
    let v = sorted_finite(col);
    if v.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    Some(super::transform::quantile(&v, p / 100.0))
}

/// A feature's distribution over the analysed users: a 30-bin histogram of the values between the
/// 1st and 99th percentile (an outlier would squeeze every other bar into one), with the median and
/// the 10th and 90th percentiles (numpy's "nearest" method: values that occur).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureHist {
    pub lo: f64,
    pub width: f64,
    pub counts: Vec<usize>,
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
}

impl FeatureHist {
    /// The distribution of the finite values of `col`; None when there is none.
    pub fn of(col: &[Option<f64>]) -> Option<FeatureHist> {
        let v = sorted_finite(col);
        if v.is_empty() {
            return None;
        }
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        let (lo, hi) = (q(0.01), q(0.99));
        let clipped: Vec<f64> = v.iter().copied().filter(|x| *x >= lo && *x <= hi).collect();
        let (lo, width, counts) = histogram(&clipped, 30);
        Some(FeatureHist {
            lo,
            width,
            counts,
            median: q(0.5),
            p10: q(0.1),
            p90: q(0.9),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy 2: `np.histogram([0.5, 1, 2.7, 3, 3, 9.9, -1], bins=4)` gives counts [3, 3, 0, 1] over
    /// edges -1, 1.725, 4.45, 7.175, 9.9.
    #[test]
    fn histogram_matches_numpy() {
        let (lo, w, c) = histogram(&[0.5, 1.0, 2.7, 3.0, 3.0, 9.9, -1.0, f64::NAN], 4);
        assert_eq!(lo, -1.0);
        assert!((w - 2.725).abs() < 1e-12);
        assert_eq!(c, vec![3, 3, 0, 1]);
        let (lo, w, c) = histogram(&[0.0, 1.0, 2.0, 3.0, f64::NAN], 3);
        assert_eq!((lo, w), (0.0, 1.0));
        assert_eq!(c, vec![1, 1, 2]);
        assert_eq!(histogram(&[f64::NAN], 2), (0.0, 1.0, vec![0, 0]));
    }

    #[test]
    fn feature_distribution_clips_to_percentiles_and_reports_quantiles() {
        let mut col: Vec<Option<f64>> = (0..100).map(|i| Some(i as f64)).collect();
        col.push(None);
        col.push(Some(1e9)); // an outlier beyond the 99th percentile is not drawn
        let h = FeatureHist::of(&col).unwrap();
        assert_eq!(h.median, 50.0);
        assert_eq!(h.p10, 10.0);
        assert_eq!(h.p90, 90.0);
        assert!(h.lo >= 1.0 && h.lo + h.width * 30.0 <= 100.0 + 1e-9);
        assert_eq!(h.counts.iter().sum::<usize>(), 99);
        assert!(FeatureHist::of(&[None, None]).is_none());
    }

    /// Expected values from numpy 2: `np.percentile([7, 1, 3.5, 10, 2, 2, 8.25], p)`.
    #[test]
    fn percentiles_match_numpy() {
        let col = [
            Some(7.0),
            None,
            Some(1.0),
            Some(3.5),
            Some(f64::NAN),
            Some(10.0),
            Some(2.0),
            Some(2.0),
            Some(8.25),
        ];
        for (p, want) in [
            (0.0, 1.0),
            (10.0, 1.6),
            (25.0, 2.0),
            (50.0, 3.5),
            (90.0, 8.950000000000001),
            (99.0, 9.895),
            (100.0, 10.0),
        ] {
            let got = percentile_of(&col, p).unwrap();
            assert!(
                (got - want).abs() <= 1e-12 * want.abs(),
                "{p}: {got} vs {want}"
            );
        }
        assert_eq!(percentile_of(&[None, Some(f64::NAN)], 50.0), None);
        assert_eq!(percentile_of(&col, 101.0), None);
    }
}
