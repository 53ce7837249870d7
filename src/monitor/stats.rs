//! The statistics of rule monitoring, with statsmodels' definitions (the oracle tests compare):
//! Wilson intervals for a rate (`proportion_confint(method="wilson")`), Newcombe's interval for a
//! difference of rates and the log interval for their ratio (`confint_proportions_2indep`), the pooled
//! two-proportion z-test (`proportions_ztest`), Holm's adjustment (`multipletests(method="holm")`)
//! and the users per arm needed to detect a difference (`NormalIndPower().solve_power` with Cohen's h).

use std::f64::consts::SQRT_2;

/// Standard normal CDF.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / SQRT_2)
}

/// Standard normal upper tail, accurate far out.
pub fn norm_sf(x: f64) -> f64 {
    0.5 * libm::erfc(x / SQRT_2)
}

/// Standard normal quantile: Acklam's approximation refined by two Halley steps (to about 1e-15).
pub fn norm_ppf(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let lo = 0.02425;
    let mut x = if p < lo {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - lo {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    for _ in 0..2 {
        let e = norm_cdf(x) - p;
        let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
        x -= u / (1.0 + x * u / 2.0);
    }
    x
}

/// Wilson score interval of `k` successes in `n` trials.
pub fn wilson(k: u64, n: u64, alpha: f64) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let z = norm_ppf(1.0 - alpha / 2.0);
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    (center - half, center + half)
}

/// Newcombe's hybrid score interval for `p1 - p2`.
pub fn newcombe_diff(k1: u64, n1: u64, k2: u64, n2: u64, alpha: f64) -> (f64, f64) {
    let (p1, p2) = (k1 as f64 / n1 as f64, k2 as f64 / n2 as f64);
    let (l1, u1) = wilson(k1, n1, alpha);
    let (l2, u2) = wilson(k2, n2, alpha);
    let d = p1 - p2;
    (
        d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
        d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
    )
}

/// Log interval for the ratio `p1 / p2` (NaN when a rate is 0).
pub fn ratio_log(k1: u64, n1: u64, k2: u64, n2: u64, alpha: f64) -> (f64, f64) {
    if k1 == 0 || k2 == 0 {
        return (f64::NAN, f64::NAN);
    }
    let z = norm_ppf(1.0 - alpha / 2.0);
    let r = (k1 as f64 / n1 as f64) / (k2 as f64 / n2 as f64);
    let se = (1.0 / k1 as f64 - 1.0 / n1 as f64 + 1.0 / k2 as f64 - 1.0 / n2 as f64).sqrt();
    ((r.ln() - z * se).exp(), (r.ln() + z * se).exp())
}

/// Pooled two-proportion z-test of `p1 = p2`: (z, two-sided p-value).
pub fn two_prop_ztest(k1: u64, n1: u64, k2: u64, n2: u64) -> (f64, f64) {
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let p = (k1 + k2) as f64 / (n1f + n2f);
    let se = (p * (1.0 - p) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se == 0.0 || !se.is_finite() {
        return (0.0, 1.0);
    }
    let z = (k1 as f64 / n1f - k2 as f64 / n2f) / se;
    (z, 2.0 * norm_sf(z.abs()))
}

/// Holm's step-down adjusted p-values, in the input order.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in idx.iter().enumerate() {
        running = running.max((p[i] * (m - rank) as f64).min(1.0));
        out[i] = running;
    }
    out
}

/// Cohen's h between two rates.
pub fn cohens_h(p1: f64, p2: f64) -> f64 {
    2.0 * p1.sqrt().asin() - 2.0 * p2.sqrt().asin()
}

/// Power of the two-sided z-test for effect size `h` with `n1` users in one arm and `ratio * n1` in
/// the other.
pub fn power(h: f64, n1: f64, ratio: f64, alpha: f64) -> f64 {
    let n = 1.0 / (1.0 / n1 + 1.0 / (n1 * ratio));
    let crit = norm_ppf(1.0 - alpha / 2.0);
    let d = h.abs() * n.sqrt();
    norm_sf(crit - d) + norm_cdf(-crit - d)
}

/// Users needed in the first arm (the other has `ratio` times as many) to detect effect `h` with the
/// given power; None when there is no effect to detect.
pub fn needed_n1(h: f64, ratio: f64, alpha: f64, target: f64) -> Option<f64> {
    if h == 0.0 || !h.is_finite() || ratio <= 0.0 {
        return None;
    }
    let (mut lo, mut hi) = (1e-3, 2.0);
    while power(h, hi, ratio, alpha) < target {
        hi *= 2.0;
        if hi > 1e15 {
            return None;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if power(h, mid, ratio, alpha) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_invert_the_cdf() {
        for p in [1e-10, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999] {
            assert!(
                (norm_cdf(norm_ppf(p)) - p).abs() < 1e-15 * p.max(1e-3) * 10.0,
                "{p}"
            );
        }
        assert!((norm_ppf(0.975) - 1.959963984540054).abs() < 1e-14);
        assert_eq!(holm(&[0.01, 0.04, 0.03]), vec![0.03, 0.06, 0.06]);
    }
}
