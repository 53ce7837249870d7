//! Predictive models a rule set carries (churn risk, conversion score): the fitted parameters and the
//! arithmetic that scores a user, exactly as at training.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::features::FittedTransform;

/// What is predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Churn,
    Convert,
}

impl Target {
    /// The score name rules test (`Score("churn_risk", ...)`).
    /// The classes in words: (positive, negative).
    pub fn class_names(self) -> (&'static str, &'static str) {
        match self {
            Target::Churn => ("churned", "retained"),
            Target::Convert => ("converted", "not converted"),
        }
    }

    pub fn score_name(self) -> &'static str {
        match self {
            Target::Churn => "churn_risk",
            Target::Convert => "conversion_score",
        }
    }

    pub fn parse(s: &str) -> Result<Target, String> {
        match s {
            "churn" => Ok(Target::Churn),
            "convert" | "conversion" => Ok(Target::Convert),
            _ => Err(format!("unknown target {s:?}; use churn or convert")),
        }
    }
}

/// A logistic regression: `1 / (1 + exp(-(intercept + coef · x)))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logistic {
    /// One per model feature, towards the target class.
    pub coef: Vec<f64>,
    pub intercept: f64,
    /// Inverse regularisation strength (scikit-learn's `C`).
    pub c: f64,
}

impl Logistic {
    /// Probability of the target class for one row.
    pub fn prob(&self, row: &[f64]) -> f64 {
        let z: f64 = self.intercept + self.coef.iter().zip(row).map(|(w, x)| w * x).sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }
}

/// A node of a tree, in a flat list (the root first).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Node {
    /// Probability of the target class.
    Leaf(f64),
    /// (feature index, threshold, left child, right child): go left when `x[feature] <= threshold`.
    Split(usize, f64, usize, usize),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Children always come after their parent, so a walk ends within `nodes.len()` steps; a tree
    /// that breaks this (a hand-edited file) gives NaN rather than a loop or a panic.
    pub fn prob(&self, row: &[f64]) -> f64 {
        let mut i = 0;
        for _ in 0..=self.nodes.len() {
            match self.nodes.get(i) {
                Some(Node::Leaf(p)) => return *p,
                Some(&Node::Split(f, t, l, r)) if l > i && r > i => {
                    let Some(&x) = row.get(f) else {
                        return f64::NAN;
                    };
                    i = if x <= t { l } else { r };
                }
                _ => return f64::NAN,
            }
        }
        f64::NAN
    }

    /// Whether every split points forward to existing nodes and every leaf is a probability.
    pub fn is_valid(&self, n_features: usize) -> bool {
        !self.nodes.is_empty()
            && self.nodes.iter().enumerate().all(|(i, n)| match *n {
                Node::Leaf(p) => (0.0..=1.0).contains(&p),
                Node::Split(f, t, l, r) => {
                    f < n_features
                        && t.is_finite()
                        && l > i
                        && r > i
                        && l < self.nodes.len()
                        && r < self.nodes.len()
                }
            })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forest {
    pub trees: Vec<Tree>,
    /// Mean decrease in impurity per feature (sums to 1), not needed to score.
    #[serde(default)]
    pub importance: Vec<f64>,
}

impl Forest {
    pub fn prob(&self, row: &[f64]) -> f64 {
        self.trees.iter().map(|t| t.prob(row)).sum::<f64>() / self.trees.len().max(1) as f64
    }
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fitted {
    Logistic(Logistic),
    Forest(Forest),
}

impl Fitted {
    pub fn prob(&self, row: &[f64]) -> f64 {
        match self {
            Fitted::Logistic(m) => m.prob(row),
            Fitted::Forest(m) => m.prob(row),
        }
    }
}

/// Everything needed to score a user from raw profile features: the model's own fitted transform
/// (weights 1) and the model. Stored in the rule set under `models`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreModel {
    /// The score's name in rules: `churn_risk` or `conversion_score`.
    pub name: String,
    pub target: Target,
    pub transform: FittedTransform,
    pub model: Fitted,
    /// Risk bands: below the first value "low", from the second on "high", between "medium".
    pub bands: (f64, f64),
}

impl ScoreModel {
    /// The score of a row already in the model's feature space.
    pub fn score_row(&self, row: &[f64]) -> f64 {
        self.model.prob(row)
    }

    /// The score of a user from raw profile features (missing values are filled as at training).
    pub fn score(&self, features: &BTreeMap<String, Option<f64>>) -> Result<f64, String> {
        let mut row = Vec::with_capacity(self.transform.features.len());
        for f in &self.transform.features {
            let v = features.get(&f.id).ok_or_else(|| f.id.clone())?;
            row.push(f.scaled(*v));
        }
        Ok(self.score_row(&row))
    }

    pub fn band(&self, score: f64) -> &'static str {
        band(score, self.bands)
    }
}

pub fn band(score: f64, bands: (f64, f64)) -> &'static str {
    if score >= bands.1 {
        "high"
    } else if score >= bands.0 {
        "medium"
    } else {
        "low"
    }
}
