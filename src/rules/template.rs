//! Rule templates: starting rules kept as RON files, so a team adds its own without rebuilding. The
//! ones shipped live in `assets/templates/` (built into the binary); the app also reads every `.ron`
//! in the user's template folder. A template's thresholds can come from the data (a feature's value
//! at a percentile of the analysed users, shown with the rule) and it can use a trained score in
//! place of a feature when the analysis has that model.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::{Cmp, Condition, Rule};

/// The templates shipped with the app, as their files read (name, text).
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "carousel.ron",
        include_str!("../../assets/templates/carousel.ron"),
    ),
    (
        "reengagement.ron",
        include_str!("../../assets/templates/reengagement.ron"),
    ),
    (
        "cart_reminder.ron",
        include_str!("../../assets/templates/cart_reminder.ron"),
    ),
];

/// One template file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTemplate {
    /// What the "Add from template" menu shows.
    pub title: String,
    /// The rule as it starts (its id and priority are replaced when it is added).
    pub rule: Rule,
    /// Thresholds from the data: (feature, percentile 0..100). Every comparison on the feature in
    /// `rule.when` takes the feature's value at that percentile of the analysed users.
    #[serde(default)]
    pub percentiles: Vec<(String, f64)>,
    /// Put the first persona (the largest segment) in front of the condition: `All([PersonaIn([..]),
    /// when])`.
    #[serde(default)]
    pub first_persona: bool,
    /// When the analysis has a trained model with this score, the comparison on `replaces` becomes
    /// "score at least the model's high band".
    #[serde(default)]
    pub score: Option<ScoreSwap>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreSwap {
    pub score: String,
    pub replaces: String,
}

/// What a template needs from the analysis to become a rule.
pub struct TemplateContext<'a> {
    /// (id, name) of every persona, largest segment first.
    pub personas: &'a [(String, String)],
    /// A feature's value at a percentile (0..100) of the analysed users; None: no such feature.
    pub percentile: &'a dyn Fn(&str, f64) -> Option<f64>,
    /// Trained scores and where their high band starts.
    pub scores: &'a [(String, f64)],
}

/// Why a template file is not usable.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: percentile {value} of {feature:?} must be between 0 and 100")]
    Percentile {
        file: String,
        feature: String,
        value: f64,
    },
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
}

impl RuleTemplate {
    /// Parse one template file's text; `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<RuleTemplate, TemplateError> {
        let t: RuleTemplate =
            ron::Options::default()
                .from_str(text)
                .map_err(|e| TemplateError::Parse {
                    file: file.into(),
                    message: e.to_string(),
                })?;
        for (feature, p) in &t.percentiles {
            if !(p.is_finite() && (0.0..=100.0).contains(p)) {
                return Err(TemplateError::Percentile {
                    file: file.into(),
                    feature: feature.clone(),
                    value: *p,
                });
            }
        }
        Ok(t)
    }

    /// The rule for this analysis, and what was taken from the data, in words.
    pub fn instantiate(
        &self,
        id: String,
        priority: u32,
        ctx: &TemplateContext,
    ) -> (Rule, Vec<String>) {
        let mut rule = self.rule.clone();
        rule.id = id;
        rule.priority = priority;
        let mut notes = Vec::new();
        let swap = self.score.as_ref().and_then(|s| {
            ctx.scores
                .iter()
                .find(|(name, _)| *name == s.score)
                .map(|(name, high)| (s.replaces.as_str(), name.clone(), *high))
        });
        if let Some((feature, score, high)) = &swap {
            replace_feature(&mut rule.when, feature, &|_| {
                Condition::Score(score.clone(), Cmp::Ge(*high))
            });
            notes.push(format!(
                "{score} >= {high} (the trained model's high band) in place of {feature}"
            ));
        }
        for (feature, p) in &self.percentiles {
            if swap.as_ref().is_some_and(|(f, _, _)| f == feature) {
                continue;
            }
            match (ctx.percentile)(feature, *p) {
                Some(v) => {
                    let v = round2(v);
                    replace_feature(&mut rule.when, feature, &|c| match c {
                        Condition::Feature(f, cmp) => Condition::Feature(f.clone(), with(*cmp, v)),
                        other => other.clone(),
                    });
                    notes.push(format!(
                        "{feature} threshold {v}: the {p:.0}th percentile of the analysed users"
                    ));
                }
                None => notes.push(format!(
                    "{feature} is not in this analysis: its threshold stays as the template has it"
                )),
            }
        }
        if self.first_persona
            && let Some((pid, pname)) = ctx.personas.first()
        {
            let when = std::mem::replace(&mut rule.when, Condition::Always);
            rule.when = Condition::All(vec![Condition::PersonaIn(vec![pid.clone()]), when]);
            notes.push(format!("for {pname}, the largest segment"));
        }
        (rule, notes)
    }
}

/// Two significant decimals for a threshold read by people (45.3, 0.12), whole above 100.
fn round2(v: f64) -> f64 {
    if v.abs() >= 100.0 {
        v.round()
    } else {
        (v * 100.0).round() / 100.0
    }
}

fn with(c: Cmp, v: f64) -> Cmp {
    match c {
        Cmp::Gt(_) => Cmp::Gt(v),
        Cmp::Ge(_) => Cmp::Ge(v),
        Cmp::Lt(_) => Cmp::Lt(v),
        Cmp::Le(_) => Cmp::Le(v),
        Cmp::Eq(_) => Cmp::Eq(v),
        // A range keeps its width, starting at the percentile.
        Cmp::Between(a, b) => Cmp::Between(v, v + (b - a)),
    }
}

/// Replace every comparison on `feature` by what `by` makes of it.
fn replace_feature(c: &mut Condition, feature: &str, by: &dyn Fn(&Condition) -> Condition) {
    match c {
        Condition::Feature(f, _) if f == feature => *c = by(c),
        Condition::All(cs) | Condition::Any(cs) => {
            cs.iter_mut().for_each(|c| replace_feature(c, feature, by))
        }
        Condition::Not(inner) => replace_feature(inner, feature, by),
        _ => {}
    }
}

/// The shipped templates, then every `.ron` in `dirs` (in name order); a file that does not parse is
/// reported, not fatal.
pub fn load(dirs: &[PathBuf]) -> (Vec<RuleTemplate>, Vec<TemplateError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in BUILT_IN {
        match RuleTemplate::parse(text, &format!("assets/templates/{name}")) {
            Ok(t) => out.push(t),
            Err(e) => errors.push(e),
        }
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "ron"))
            .collect();
        files.sort();
        for f in files {
            match read(&f) {
                Ok(t) => out.push(t),
                Err(e) => errors.push(e),
            }
        }
    }
    (out, errors)
}

fn read(path: &Path) -> Result<RuleTemplate, TemplateError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
        file: file.clone(),
        source,
    })?;
    RuleTemplate::parse(&text, &file)
}

/// Where the app looks for a team's own templates: `$PERSONA_LAB_TEMPLATES`, and
/// `$XDG_DATA_HOME/persona-lab/templates` (default `~/.local/share/persona-lab/templates`).
pub fn user_dirs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(d) = std::env::var_os("PERSONA_LAB_TEMPLATES") {
        out.push(PathBuf::from(d));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    if let Some(d) = data {
        out.push(d.join("persona-lab").join("templates"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx_with<'a>(
        personas: &'a [(String, String)],
        scores: &'a [(String, f64)],
        percentile: &'a dyn Fn(&str, f64) -> Option<f64>,
    ) -> TemplateContext<'a> {
        TemplateContext {
            personas,
            percentile,
            scores,
        }
    }

    #[test]
    fn thresholds_come_from_the_data_and_a_trained_score_replaces_its_feature() {
        let (_, errors) = load(&[]);
        assert!(errors.is_empty(), "{errors:?}");
        let t = RuleTemplate::parse(
            include_str!("../../assets/templates/reengagement.ron"),
            "reengagement.ron",
        )
        .unwrap();
        let personas = [("segment_0".to_string(), "Light browsers".to_string())];
        let p80 = |f: &str, p: f64| (f == "recency_days" && p == 80.0).then_some(45.678);
        let (r, notes) = t.instantiate("r1".into(), 3, &ctx_with(&personas, &[], &p80));
        assert_eq!((r.id.as_str(), r.priority), ("r1", 3));
        assert_eq!(
            r.when,
            Condition::Feature("recency_days".into(), Cmp::Gt(45.68))
        );
        assert_eq!(
            notes,
            ["recency_days threshold 45.68: the 80th percentile of the analysed users"]
        );
        // With a churn model: its score in the high band instead.
        let scores = [("churn_risk".to_string(), 0.7)];
        let (r, notes) = t.instantiate("r1".into(), 3, &ctx_with(&personas, &scores, &p80));
        assert_eq!(r.when, Condition::Score("churn_risk".into(), Cmp::Ge(0.7)));
        assert_eq!(
            notes,
            ["churn_risk >= 0.7 (the trained model's high band) in place of recency_days"]
        );
        // Bad files are named.
        let bad = RuleTemplate::parse("(title: \"x\")", "mine.ron").unwrap_err();
        assert!(bad.to_string().starts_with("mine.ron: "), "{bad}");
        let text = include_str!("../../assets/templates/reengagement.ron")
            .replace("(\"recency_days\", 80.0)", "(\"recency_days\", 180.0)");
        let bad = RuleTemplate::parse(&text, "mine.ron").unwrap_err();
        assert!(bad.to_string().contains("between 0 and 100"), "{bad}");
    }
}
