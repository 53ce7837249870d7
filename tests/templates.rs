//! Every rule template shipped in `assets/templates/` parses, and the rule it makes on the bundled
//! sample validates with no error (every feature it reads exists there, its explanation shows no
//! internals), with and without a trained churn model; a template folder of the team's own is read
//! beside them, and a broken file there is named, not fatal.

mod common;

use common::{load, repo, write};
use persona_lab::features::{self, FeatureConfig, transform::quantile};
use persona_lab::rules::template::{self, BUILT_IN, RuleTemplate};
use persona_lab::rules::{Known, TemplateContext, validate};

#[test]
fn every_shipped_template_makes_a_valid_rule_on_the_sample() {
    let loaded = load(&repo("sample_data/fashion_ga4_events.csv.gz")).unwrap();
    let profile = features::compute_profile(&loaded, &FeatureConfig::default()).unwrap();
    let personas = vec![
        ("segment_0".to_string(), "Light browsers".to_string()),
        ("segment_1".to_string(), "Frequent visitors".to_string()),
    ];
    let percentile = |f: &str, p: f64| {
        let mut v: Vec<f64> = profile.column(f).ok()?.into_iter().flatten().collect();
        v.sort_by(f64::total_cmp);
        Some(quantile(&v, p / 100.0))
    };
    assert_eq!(BUILT_IN.len(), 3);
    for (name, text) in BUILT_IN {
        let t = RuleTemplate::parse(text, name).unwrap();
        for scores in [vec![], vec![("churn_risk".to_string(), 0.7)]] {
            let ctx = TemplateContext {
                personas: &personas,
                percentile: &percentile,
                scores: &scores,
            };
            let (rule, notes) = t.instantiate("r".into(), 1, &ctx);
            assert!(
                notes.iter().all(|n| !n.contains("not in this analysis")),
                "{name}: {notes:?}"
            );
            let known = Known {
                personas: personas
                    .iter()
                    .map(|(i, n)| (i.as_str(), n.as_str()))
                    .collect(),
                features: profile.features.iter().map(String::as_str).collect(),
                scores: scores.iter().map(|(s, _)| s.as_str()).collect(),
                empty_features: vec![],
            };
            let findings = validate(std::slice::from_ref(&rule), &known);
            assert!(findings.is_empty(), "{name}: {findings:?}");
        }
    }
}

#[test]
fn a_teams_own_templates_are_read_and_a_broken_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mine = BUILT_IN[0].1.replace(
        "Recommendation carousel after 3+ product views",
        "Our own carousel",
    );
    write(dir.path(), "ours.ron", mine);
    write(dir.path(), "broken.ron", "RuleTemplate(title: \"x\",");
    write(dir.path(), "notes.txt", "not a template");
    let (templates, errors) = template::load(&[dir.path().to_path_buf()]);
    let titles: Vec<&str> = templates.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles.len(), BUILT_IN.len() + 1);
    assert_eq!(titles.last(), Some(&"Our own carousel"));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().contains("broken.ron: "),
        "{}",
        errors[0]
    );
}
