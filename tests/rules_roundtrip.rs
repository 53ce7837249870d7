//! The round-trip guarantee of the rule set: the exported file alone reproduces the app's feature values
//! (within 1e-9) and labels (100% for k-means; the documented nearest-centroid labels for hierarchical
//! results), in the library and through `persona-lab assign`; new exports with other event names or
//! without an event kind still score; missing inputs are named.

mod common;

use common::{arg, load, repo, run, run_ok, says, stderr, stdout, temp_file, write};
use persona_lab::cluster::{Method, Points, SegmentParams, SilhouetteOptions, points};
use persona_lab::features::{self, FeatureConfig, TransformSpec};
use persona_lab::job::Job;
use persona_lab::pipeline::{self, RunSettings};
use persona_lab::ruleset::{self, RuleSet};

fn deployed(method: Method, k: usize) -> (persona_lab::pipeline::ClusterRun, RuleSet) {
    let input = repo("sample_data/fashion_ga4_events.csv.gz");
    let loaded = load(&input).unwrap();
    let cfg = FeatureConfig::default();
    let profile = features::compute_profile(&loaded, &cfg).unwrap();
    let spec = TransformSpec::default_for(&profile);
    let settings = RunSettings {
        params: SegmentParams {
            seed: 5,
            ..SegmentParams::new(method, k)
        },
        silhouette: SilhouetteOptions::default(),
    };
    let run = pipeline::cluster_profile(&profile, &spec, &settings, &Job::silent()).unwrap();
    let rs = persona_lab::ruleset::build(
        persona_lab::ruleset::describe_source(&input, loaded.shape, profile.n_users(), false)
            .unwrap(),
        &cfg,
        &profile,
        &run.fitted,
        &run.segmentation,
        &run.profiles,
    );
    // What production gets: the text of the file.
    let rs = RuleSet::from_ron(&rs.to_ron().unwrap()).unwrap();
    (run, rs)
}

#[test]
fn kmeans_labels_and_feature_values_are_reproduced_from_the_file_alone() {
    let (run, rs) = deployed(Method::KMeans, 6);
    let loaded = load(&repo("sample_data/fashion_ga4_events.csv.gz")).unwrap();
    let applied = ruleset::apply(&rs, &loaded).unwrap();
    let (a, b) = (&applied.matrix, &run.matrix);
    assert_eq!(a.users, b.users);
    assert_eq!(a.columns, b.columns);
    let worst = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-9, "clustering values differ by {worst}");
    // Raw profile values too, every feature.
    for f in &rs.features.profile_features {
        let (x, y) = (applied.profile.column(f).unwrap(), run_profile_column(f));
        for (i, (p, q)) in x.iter().zip(&y).enumerate() {
            match (p, q) {
                (Some(p), Some(q)) => assert!((p - q).abs() <= 1e-9, "{f} row {i}: {p} vs {q}"),
                (None, None) => {}
                _ => panic!("{f} row {i}: {p:?} vs {q:?}"),
            }
        }
    }
    let same = applied
        .labels
        .iter()
        .zip(&run.segmentation.labels)
        .filter(|(x, y)| x == y)
        .count();
    assert_eq!(same, a.n_rows, "every user keeps the app's segment");
}

fn run_profile_column(f: &str) -> Vec<Option<f64>> {
    let loaded = load(&repo("sample_data/fashion_ga4_events.csv.gz")).unwrap();
    features::compute_profile(&loaded, &FeatureConfig::default())
        .unwrap()
        .column(f)
        .unwrap()
}

#[test]
fn hierarchical_results_deploy_as_the_documented_nearest_centroid_rule() {
    let (run, rs) = deployed(Method::Ward, 5);
    let loaded = load(&repo("sample_data/fashion_ga4_events.csv.gz")).unwrap();
    let applied = ruleset::apply(&rs, &loaded).unwrap();
    // The file's rule: nearest of its centroids, computed here independently of `apply`.
    let m = &run.matrix;
    let p = Points::of(m);
    let flat: Vec<f64> = rs.segments.centroids.concat();
    for i in 0..m.n_rows {
        let (c, _) = points::nearest(p.row(i), &flat, m.n_cols);
        assert_eq!(applied.labels[i], c, "user {}", m.users[i]);
    }
    // And those centroids are the segment means of the tree's labels.
    let (means, _) = points::centroids_of(&p, &run.segmentation.labels, 5);
    let worst = means
        .iter()
        .zip(&flat)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-9, "{worst}");
    let agree = applied
        .labels
        .iter()
        .zip(&run.segmentation.labels)
        .filter(|(a, b)| a == b)
        .count() as f64
        / m.n_rows as f64;
    assert!(
        agree > 0.8,
        "nearest-centroid labels agree with the tree for {agree}"
    );
}

fn read_csv(path: &std::path::Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

#[test]
fn assign_cli_reproduces_segment_assignments() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, r) = (
        dir.path().join("a.csv"),
        dir.path().join("b.csv"),
        dir.path().join("r.ron"),
    );
    let input = repo("sample_data/fashion_ga4_events.csv.gz");
    let input = arg(&input);
    run_ok(&[
        "segment",
        input,
        "--k",
        "4",
        "--seed",
        "9",
        "--assignments",
        arg(&a),
        "--out",
        arg(&r),
    ]);
    let o = run_ok(&["assign", "--rules", arg(&r), input, "--out", arg(&b)]);
    assert!(
        stdout(&o).contains("assigned   1967 users"),
        "{}",
        stdout(&o)
    );
    let (ra, rb) = (read_csv(&a), read_csv(&b));
    assert_eq!(ra[0], rb[0], "same columns");
    assert_eq!(
        ra[0],
        ["user_id", "segment", "persona", "silhouette", "distance"]
    );
    assert_eq!(ra.len(), rb.len());
    for (x, y) in ra.iter().zip(&rb).skip(1) {
        assert_eq!(x[..3], y[..3], "user, segment, persona");
        let (dx, dy): (f64, f64) = (x[4].parse().unwrap(), y[4].parse().unwrap());
        assert!((dx - dy).abs() < 1e-9);
    }
    // The profiles for the decision service (`serve --profiles`): one decide profile per user, with
    // the features the rule set reads; `decide` on one puts the user where `assign` did.
    let profiles = dir.path().join("profiles.ndjson");
    let o = run_ok(&["assign", "--rules", arg(&r), input, "--to", arg(&profiles)]);
    assert!(
        stdout(&o).contains("wrote      1967 profiles"),
        "{}",
        stdout(&o)
    );
    let text = std::fs::read_to_string(&profiles).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1967);
    let rs = RuleSet::read(&r).unwrap();
    for (line, row) in lines.iter().zip(ra.iter().skip(1)).step_by(97) {
        let p: persona_lab::rules::UserProfile = serde_json::from_str(line).unwrap();
        assert_eq!(p.user_id, row[0]);
        for f in &rs.features.transform.features {
            assert!(p.features.contains_key(&f.id), "{}", f.id);
        }
        let one = dir.path().join("one.json");
        std::fs::write(&one, line).unwrap();
        let o = run_ok(&["decide", "--rules", arg(&r), "--profile", arg(&one)]);
        let d: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(d["segment"].as_u64().unwrap().to_string(), row[1]);
    }
}

const TRAIN: &str = "user_id,ts,event,duration_ms\n\
    u1,2026-11-01 10:00:00,page_view,1000\nu1,2026-11-01 10:01:00,view_item,5000\nu1,2026-11-01 10:02:00,purchase,2000\n\
    u2,2026-11-01 11:00:00,page_view,3000\nu2,2026-11-02 11:00:00,page_view,3000\nu2,2026-11-03 11:00:00,view_item,8000\n\
    u3,2026-11-02 09:00:00,page_view,500\nu4,2026-11-03 09:00:00,view_item,700\nu4,2026-11-03 09:05:00,view_item,900\n\
    u5,2026-11-04 09:00:00,page_view,100\nu5,2026-11-04 09:01:00,purchase,4000\nu6,2026-11-04 12:00:00,page_view,600\n";

#[test]
fn a_new_export_with_other_event_names_still_scores_and_missing_columns_are_named() {
    let (dir, train) = temp_file("train.csv", TRAIN);
    let r = dir.path().join("r.ron");
    run_ok(&[
        "segment",
        arg(&train),
        "--k",
        "2",
        "--features",
        "sessions,purchases,product_views,time_total",
        "--top-events",
        "2",
        "--out",
        arg(&r),
    ]);
    let rs = RuleSet::read(&r).unwrap();
    assert_eq!(
        rs.features.config.event_names.as_deref(),
        Some(&["page_view".to_string(), "view_item".to_string()][..])
    );
    // Next week: no purchase at all, a new event name, a user never seen.
    let week = write(
        dir.path(),
        "week.csv",
        "user_id,ts,event,duration_ms\n\
         u1,2026-11-08 10:00:00,page_view,1000\nu9,2026-11-08 10:00:00,newsletter_click,200\n\
         u9,2026-11-08 10:03:00,view_item,900\nu2,2026-11-09 10:00:00,page_view,100\n",
    );
    let out = dir.path().join("w.csv");
    run_ok(&["assign", "--rules", arg(&r), arg(&week), "--out", arg(&out)]);
    let loaded = load(&week).unwrap();
    let applied = ruleset::apply(&rs, &loaded).unwrap();
    assert_eq!(
        applied
            .profile
            .features
            .iter()
            .filter(|f| f.starts_with("count:"))
            .collect::<Vec<_>>(),
        ["count:page_view", "count:view_item", "count:other"],
        "the training's event names, whatever this week's top names are"
    );
    let purchases = applied.profile.column("purchases").unwrap();
    assert!(purchases.iter().all(|p| *p == Some(0.0)), "{purchases:?}");
    // Without the duration column, time_total cannot be computed: named, with the reason.
    let no_dur = write(
        dir.path(),
        "nodur.csv",
        "user_id,ts,event\nu1,2026-11-08 10:00:00,page_view\nu2,2026-11-08 10:00:00,view_item\n",
    );
    let o = run(&[
        "assign",
        "--rules",
        arg(&r),
        arg(&no_dur),
        "--out",
        arg(&out),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    says(
        &e,
        &[
            "needs the feature \"time_total\"",
            "no duration column mapped",
        ],
    );
}

#[test]
fn decide_and_verify_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let doc = std::fs::read_to_string(repo("docs/ruleset-format.md")).unwrap();
    let ron = doc
        .split("```ron\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let r = write(dir.path(), "r.ron", ron);
    let profile = write(
        dir.path(),
        "p.json",
        r#"{"user_id": "u7", "consent": true, "features": {"sessions": 1, "product_views_per_session": 0, "recency_days": 40}}"#,
    );
    let session = write(dir.path(), "s.json", r#"{"now": "2026-11-25T10:00:00Z"}"#);
    let decide = [
        "decide",
        "--rules",
        arg(&r),
        "--profile",
        arg(&profile),
        "--session",
        arg(&session),
    ];
    let o = run_ok(&decide);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["persona_name"], "Casual Visitors");
    let rules: Vec<&str> = v["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["reengage", "welcome"]);
    assert_eq!(
        v["decisions"][0]["explanation"],
        "A welcome-back offer, because you haven't visited us for a while."
    );
    assert_eq!(v["decisions"][0]["condition"], "recency_days > 21");
    // --why-not adds, for the rule that missed, each part that failed with this user's values.
    let o = run_ok(&[&decide[..], &["--why-not"]].concat());
    let w: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(w["decisions"], v["decisions"]);
    assert_eq!(
        w["why_not"],
        serde_json::json!({"carousel": [
            "you belong to High-Value Engagers: this user is Casual Visitors",
            "product views in this session > 2: 0",
        ]})
    );
    // A file with errors is refused by decide and reported by verify, exit 1.
    let bad = write(
        dir.path(),
        "bad.ron",
        ron.replace(
            "PersonaIn([\"segment_1\"])",
            "PersonaIn([\"High-Value Engagers\"])",
        ),
    );
    let o = run(&["verify", arg(&bad)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o)
            .contains("unknown persona \"High-Value Engagers\" (did you mean the id \"segment_1\""),
        "{}",
        stdout(&o)
    );
    let o = run(&["decide", "--rules", arg(&bad), "--profile", arg(&profile)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the rule set has errors"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn editor_match_counts_equal_what_decide_does_for_each_user() {
    use persona_lab::rules::{Cmp, Condition, Rule, Session, population};
    let (run, mut rs) = deployed(Method::KMeans, 6);
    let loaded = load(&repo("sample_data/fashion_ga4_events.csv.gz")).unwrap();
    let profile = features::compute_profile(&loaded, &FeatureConfig::default()).unwrap();
    let cond = Condition::All(vec![
        Condition::PersonaIn(vec!["segment_0".into(), "segment_2".into()]),
        Condition::Any(vec![
            Condition::Feature("sessions".into(), Cmp::Ge(3.0)),
            Condition::Not(Box::new(Condition::Feature(
                "avg_order_value".into(),
                Cmp::Lt(60.0),
            ))),
        ]),
        Condition::Returning(true),
        Condition::Consent(true),
    ]);
    let ids: Vec<String> = rs.personas.iter().map(|p| p.id.clone()).collect();
    let pop = ruleset::population(&profile, &run.segmentation.labels, ids, true).unwrap();
    let mask = population::matches(&cond, &pop);
    let mut r = Rule::new("r", 1);
    r.when = cond;
    rs.rules = vec![r];
    rs.guardrails.max_offers_per_session = None;
    let users = ruleset::user_profiles(&profile, Some(true)).unwrap();
    let session = Session {
        now: Some("2026-11-25".into()),
        ..Default::default()
    };
    let mut n = 0;
    for (u, m) in users.iter().zip(&mask) {
        let fired = !rs.decide(u, &session).unwrap().decisions.is_empty();
        assert_eq!(fired, *m, "user {}", u.user_id);
        n += usize::from(fired);
    }
    assert!(
        n > 50 && n < users.len() - 50,
        "a discriminating condition: {n}"
    );
    let cov = ruleset::coverage(&rs, &users, &session);
    assert_eq!(cov.per_rule["r"].0, n);
    assert_eq!(cov.reached_by_none, users.len() - n);
    // The strategists' summary names every persona and the rule aimed at two of them.
    let md = ruleset::summary::markdown(&rs, &run.profiles);
    for p in &rs.personas {
        assert!(md.contains(&format!("## {}", p.name)), "{md}");
    }
    assert_eq!(md.matches("**Rules for this persona:**").count(), 2, "{md}");
    // And what each persona is worth against everyone (revenue, buyers), in both forms.
    let everyone = persona_lab::cluster::everyone(&run.profiles).unwrap();
    let html = ruleset::summary::html(&rs, &run.profiles);
    for p in &run.profiles {
        let v = p.value_line(Some(&everyone)).unwrap();
        assert!(md.contains(&format!("**Value:** {v}")), "{md}");
        assert!(html.contains(&format!("<b>Value:</b> {v}")), "{v}");
        // The share table at the top: users and revenue side by side.
        let share = persona_lab::cluster::value::percent(
            p.value.as_ref().unwrap().revenue_share(&everyone).unwrap(),
        );
        let name = &rs.persona_of(p.id).unwrap().name;
        assert!(
            md.contains(&format!(
                "| {name} | {} | {:.1}% | {share} |",
                p.size,
                100.0 * p.share
            )),
            "{md}"
        );
        assert!(
            html.contains(&format!("; {share} of the revenue</text>")),
            "{share}"
        );
    }
}

/// The file carries a checksum per section: `verify` passes an untouched file and names exactly what
/// a human edited (a rule's threshold, an added rule, the guardrails), with exit code 1.
#[test]
fn verify_names_what_was_edited_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.ron");
    run_ok(&[
        "segment",
        repo("sample_data/fashion_ga4_events.csv.gz")
            .to_str()
            .unwrap(),
        "--k",
        "3",
        "--out",
        arg(&rules),
    ]);
    // Add two rules through the library, as the app does, and write.
    let mut rs = RuleSet::read(&rules).unwrap();
    for (id, t) in [("a", 10.0), ("b", 20.0)] {
        let mut r = persona_lab::rules::Rule::new(id, rs.rules.len() as u32 + 1);
        r.when = persona_lab::rules::Condition::Feature(
            "recency_days".into(),
            persona_lab::rules::Cmp::Gt(t),
        );
        r.action.slot = format!("slot_{id}");
        rs.rules.push(r);
    }
    persona_lab::ruleset::write(&rs, &rules).unwrap();
    let r = arg(&rules);
    let o = run(&["verify", r]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("checksum ok"), "{}", stdout(&o));
    let text = std::fs::read_to_string(&rules).unwrap();
    let edited = text.replacen("Gt(20.0)", "Gt(25.0)", 1).replacen(
        "max_offers_per_session: Some(3)",
        "max_offers_per_session: Some(5)",
        1,
    );
    assert_ne!(edited, text);
    std::fs::write(&rules, &edited).unwrap();
    let o = run(&["verify", r]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("edited after it was written (changed: guardrails, rule b)"),
        "{out}"
    );
    // A file without the checksum (hand-written) is checked for rules only.
    let bare: String = edited
        .lines()
        .take_while(|l| !l.trim_start().starts_with("checksum:"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n)\n";
    std::fs::write(&rules, bare).unwrap();
    let o = run(&["verify", r]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("no checksum"), "{}", stdout(&o));
}

#[test]
fn a_signed_rule_set_verifies_only_with_its_key_and_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("key"), "3f9a0c...a-secret-the-deployment-holds\n").unwrap();
    std::fs::write(p("other"), "another key").unwrap();
    let input = repo("sample_data/fashion_ga4_events.csv.gz");
    let r = p("r.ron");
    run_ok(&[
        "segment",
        arg(&input),
        "--k",
        "4",
        "--out",
        arg(&r),
        "--sign-key",
        arg(&p("key")),
    ]);
    let verify = |key: &str| run(&["verify", arg(&r), "--key", arg(&p(key))]);
    let o = verify("key");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("signature ok"), "{}", stdout(&o));
    let o = verify("other");
    assert!(!o.status.success());
    assert!(stdout(&o).contains("signature INVALID"), "{}", stdout(&o));
    // A forgery: the file changed and re-sealed by the documented algorithm (anyone can), with the
    // old signature kept. The checksum is intact again; the signature is not.
    let mut rs = RuleSet::read(&r).unwrap();
    let sig = rs.checksum.as_ref().unwrap().signature.clone().unwrap();
    rs.personas[0].name = "<script>".into();
    let mut forged = rs.sealed();
    forged.checksum.as_mut().unwrap().signature = Some(sig);
    std::fs::write(
        &r,
        forged
            .encode(persona_lab::runtime::ruleset::Encoding::Ron)
            .unwrap(),
    )
    .unwrap();
    let o = run(&["verify", arg(&r)]);
    assert!(
        o.status.success(),
        "without a key only edits are detected: {}",
        stdout(&o)
    );
    let o = verify("key");
    assert!(!o.status.success());
    assert!(stdout(&o).contains("signature INVALID"), "{}", stdout(&o));
    // Unsigned: refused when a key is asked for.
    persona_lab::ruleset::write(&rs, &r).unwrap();
    let o = verify("key");
    assert!(!o.status.success());
    assert!(stdout(&o).contains("not signed"), "{}", stdout(&o));
    // An empty key is refused, not taken as a key.
    std::fs::write(p("empty"), "\n").unwrap();
    let o = verify("empty");
    assert!(
        !o.status.success() && stderr(&o).contains("the key file is empty"),
        "{}",
        stderr(&o)
    );
}
