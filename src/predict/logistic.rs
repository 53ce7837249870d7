//! Binary logistic regression through linfa-logistic, with the class we mean pinned.
//!
//! linfa-logistic 0.8.1 calls the more frequent label its "positive" class, whatever the caller means:
//! with few churners, its coefficients describe *not* churning. We fit, look at which class linfa
//! took as positive, and flip the signs when it is not ours, so `coef` always points towards the
//! target (a positive coefficient raises the churn risk). The penalty is scikit-learn's: L2 on the
//! coefficients only, `alpha = 1 / C`.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

use super::{Labelled, PredictError};
use crate::job::Job;

pub use persona_lab_runtime::scores::Logistic;

/// Logistic regression's one setting: scikit-learn's inverse regularisation strength `C`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogisticParams {
    pub c: f64,
}

impl LogisticParams {
    /// Fit on labelled rows (true = the target), in the shape every model here is fitted in.
    pub fn fit(&self, data: &Labelled, job: &Job) -> Result<Logistic, PredictError> {
        job.check()?;
        fit(data.x, data.d, data.y, self.c)
    }
}

fn fit(x: &[f64], d: usize, y: &[bool], c: f64) -> Result<Logistic, PredictError> {
    if !(c.is_finite() && c > 0.0) {
        return Err(PredictError::Invalid(format!(
            "the regularisation C must be a positive number, got {c}"
        )));
    }
    let n = y.len();
    let records = Array2::from_shape_vec((n, d), x.to_vec())
        .map_err(|e| PredictError::Invalid(e.to_string()))?;
    let targets: Array1<bool> = y.iter().copied().collect();
    let data = Dataset::new(records, targets);
    let fit = LogisticRegression::default()
        .alpha(1.0 / c)
        .max_iterations(1000)
        .gradient_tolerance(1e-8)
        .fit(&data)
        .map_err(|e| PredictError::Model(format!("logistic regression: {e}")))?;
    // Pin the class: linfa's positive class is the larger one.
    let sign = if fit.labels().pos.class { 1.0 } else { -1.0 };
    Ok(Logistic {
        coef: fit.params().iter().map(|w| sign * w).collect(),
        intercept: sign * fit.intercept(),
        c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coefficient_points_at_the_target_even_when_it_is_the_rare_class() {
        // 1 feature; the target (true) is rare and sits at high x.
        let x: Vec<f64> = (0..100).map(|i| i as f64 / 10.0).collect();
        let y: Vec<bool> = (0..100).map(|i| i >= 85).collect();
        let m = fit(&x, 1, &y, 1.0).unwrap();
        assert!(m.coef[0] > 0.0, "{m:?}");
        assert!(m.prob(&[9.5]) > 0.5 && m.prob(&[1.0]) < 0.05);
        // The same data with the labels swapped gives the opposite signs.
        let flipped: Vec<bool> = y.iter().map(|v| !v).collect();
        let m2 = fit(&x, 1, &flipped, 1.0).unwrap();
        assert!((m2.coef[0] + m.coef[0]).abs() < 1e-4 * m.coef[0].abs());
        assert!(fit(&x, 1, &y, 0.0).is_err());
    }
}
