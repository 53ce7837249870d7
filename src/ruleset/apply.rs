//! Applying a rule set to a new export (the weekly re-segmentation job) and to many users at once
//! (coverage): the same feature computation, transform and nearest-centroid rule as the app.

use crate::features::ProfileTransform as _;
use std::collections::BTreeMap;

use serde::Serialize;

use super::RuleSet;
use crate::data::Loaded;
use crate::error::RuleSetError;
use crate::features::{Matrix, Profile, compute_profile};
use crate::rules::{Population, Session, UserProfile};

/// A scored export.
#[derive(Debug, Clone)]
pub struct Applied {
    pub profile: Profile,
    /// The clustering vectors, columns in the rule set's feature order.
    pub matrix: Matrix,
    pub labels: Vec<usize>,
    /// Euclidean distance of each user to its segment's centroid.
    pub distances: Vec<f64>,
}

/// Compute the profile of a loaded export with the rule set's feature settings, transform it, and put
/// every user into the nearest segment.
pub fn apply(rs: &RuleSet, loaded: &Loaded) -> Result<Applied, RuleSetError> {
    let profile = compute_profile(loaded, &rs.features.config)?;
    for f in &rs.features.transform.features {
        if !profile.features.contains(&f.id) {
            let reason = profile
                .unavailable
                .iter()
                .find(|(id, _)| *id == f.id)
                .map(|(_, why)| why.clone())
                .unwrap_or_else(|| match loaded.shape {
                    crate::data::Shape::Users => {
                        "the per-user table has no such numeric column".into()
                    }
                    crate::data::Shape::Events => "not computed from this export".into(),
                });
            return Err(RuleSetError::FeatureUnavailable {
                feature: f.id.clone(),
                reason,
            });
        }
    }
    let matrix = rs.features.transform.matrix(&profile)?;
    let (labels, distances) = (0..matrix.n_rows)
        .map(|i| {
            let (c, d2) = rs.nearest(matrix.row(i));
            (c, d2.sqrt())
        })
        .unzip();
    Ok(Applied {
        profile,
        matrix,
        labels,
        distances,
    })
}

/// One `UserProfile` per row of a profile table (every feature, no events), for simulation.
pub fn user_profiles(
    profile: &Profile,
    consent: Option<bool>,
) -> Result<Vec<UserProfile>, RuleSetError> {
    let ids = profile.user_ids();
    let columns: Vec<Vec<Option<f64>>> = profile
        .features
        .iter()
        .map(|f| profile.column(f))
        .collect::<Result<_, _>>()?;
    Ok(ids
        .into_iter()
        .enumerate()
        .map(|(i, user_id)| UserProfile {
            user_id,
            features: profile
                .features
                .iter()
                .zip(&columns)
                .map(|(f, c)| (f.clone(), c[i]))
                .collect(),
            consent,
            ..Default::default()
        })
        .collect())
}

/// How many users each rule reaches.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Coverage {
    pub users: usize,
    /// rule id → (users shown the rule's content, users in its holdout).
    pub per_rule: BTreeMap<String, (usize, usize)>,
    /// Users no rule decided anything for.
    pub reached_by_none: usize,
    /// The first error, with how many users hit an error.
    pub errors: Option<(String, usize)>,
}

/// Decide for every user and count.
pub fn coverage(rs: &RuleSet, users: &[UserProfile], session: &Session) -> Coverage {
    let mut cov = Coverage {
        users: users.len(),
        per_rule: rs.rules.iter().map(|r| (r.id.clone(), (0, 0))).collect(),
        ..Default::default()
    };
    for u in users {
        match rs.decide(u, session) {
            Ok(d) => {
                if d.decisions.is_empty() {
                    cov.reached_by_none += 1;
                }
                for x in d.decisions {
                    let e = cov.per_rule.entry(x.rule).or_default();
                    if x.holdout {
                        e.1 += 1;
                    } else {
                        e.0 += 1;
                    }
                }
            }
            Err(e) => match &mut cov.errors {
                Some((_, n)) => *n += 1,
                None => cov.errors = Some((e.to_string(), 1)),
            },
        }
    }
    cov
}

/// The analysed users as columns for `rules::population` (match counts in the rule editor).
pub fn population(
    profile: &Profile,
    segments: &[usize],
    persona_ids: Vec<String>,
    consent: bool,
) -> Result<Population, RuleSetError> {
    let features = profile
        .features
        .iter()
        .map(|f| Ok((f.clone(), profile.column(f)?)))
        .collect::<Result<_, RuleSetError>>()?;
    Ok(Population::new(
        profile.user_ids(),
        features,
        segments.to_vec(),
        persona_ids,
        consent,
    ))
}
