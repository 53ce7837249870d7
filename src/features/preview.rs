//! What the Features view previews for a transform spec, computed here (on a worker in the app):
//! histograms of each feature raw and transformed, the engagement score's distribution and the
//! correlation matrix of the clustering columns.

use super::distribution::histogram;
use super::{Profile, ProfileTransform as _, TransformSpec, transform};

/// Everything the previews draw, computed off the GUI thread.
pub struct Preview {
    pub spec: TransformSpec,
    /// (feature, raw histogram, transformed histogram): (left edge, bin width, counts).
    pub hists: Vec<(String, Hist, Hist)>,
    pub score: Hist,
    pub corr_names: Vec<String>,
    /// Pearson correlation of the clustering columns, row-major.
    pub corr: Vec<f64>,
    /// Why there is nothing to preview (e.g. no usable feature selected).
    pub error: Option<String>,
}

impl Preview {
    pub fn failed(spec: &TransformSpec, error: String) -> Preview {
        Preview {
            spec: spec.clone(),
            hists: Vec::new(),
            score: (0.0, 1.0, Vec::new()),
            corr_names: Vec::new(),
            corr: Vec::new(),
            error: Some(error),
        }
    }
}

/// A histogram: (left edge, bin width, counts).
pub type Hist = (f64, f64, Vec<usize>);

impl Preview {
    /// The previews of `spec` on `profile`: each feature's histogram raw and transformed (40 bins),
    /// the engagement score's, and the Pearson correlation of the clustering columns.
    pub fn of(profile: &Profile, spec: &TransformSpec) -> Preview {
        compute(profile, spec).unwrap_or_else(|e| Preview::failed(spec, e))
    }
}

fn compute(profile: &Profile, spec: &TransformSpec) -> Result<Preview, String> {
    let fitted = transform::fit(profile, spec).map_err(|e| e.to_string())?;
    let m = fitted.matrix(profile).map_err(|e| e.to_string())?;
    let mut hists = Vec::new();
    for (j, f) in fitted.features.iter().enumerate() {
        let raw: Vec<f64> = profile
            .column(&f.id)
            .map_err(|e| e.to_string())?
            .into_iter()
            .flatten()
            .collect();
        let t: Vec<f64> = (0..m.n_rows).map(|i| m.data[i * m.n_cols + j]).collect();
        hists.push((f.id.clone(), histogram(&raw, 40), histogram(&t, 40)));
    }
    let score = histogram(&fitted.scores(&m), 40);
    Ok(Preview {
        spec: spec.clone(),
        hists,
        score,
        corr_names: m.columns.clone(),
        corr: m.correlation(),
        error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{FeatureConfig, compute_profile};

    #[test]
    fn previews_count_every_user_and_correlate_each_column_with_itself() {
        let loaded = crate::data::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/fashion_users.csv"),
            &Default::default(),
        )
        .unwrap();
        let profile = compute_profile(&loaded, &FeatureConfig::default()).unwrap();
        let spec = TransformSpec::default_for(&profile);
        let p = Preview::of(&profile, &spec);
        assert!(p.error.is_none(), "{:?}", p.error);
        let n = profile.n_users();
        assert!(!p.hists.is_empty());
        for (f, raw, t) in &p.hists {
            let present = profile.column(f).unwrap().iter().flatten().count();
            assert_eq!(raw.2.iter().sum::<usize>(), present, "{f}");
            assert_eq!(t.2.iter().sum::<usize>(), n, "{f}");
        }
        assert_eq!(p.score.2.iter().sum::<usize>(), n);
        let d = p.corr_names.len();
        assert_eq!(p.corr.len(), d * d);
        for i in 0..d {
            assert!((p.corr[i * d + i] - 1.0).abs() < 1e-9 || p.corr[i * d + i].is_nan());
        }
        let none = TransformSpec {
            features: Vec::new(),
            ..spec
        };
        assert!(Preview::of(&profile, &none).error.is_some());
    }
}
