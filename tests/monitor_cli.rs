//! `persona-lab report` on a planted outcomes export: the numbers equal the statistics computed
//! directly, the flags name what was planted (a worse variant, an underpowered rule, a persona whose
//! conversion fell), the HTML page stands alone, and bad input is named by row and column.

mod common;

use std::fmt::Write as _;

use common::{arg, run, run_ok, stderr, stdout, temp_file, write};
use persona_lab::monitor::stats;

/// Rows for `n` users of one arm, `k` of them converted and `c` clicked, exposed on `day`.
fn arm(
    out: &mut String,
    rule: &str,
    variant: &str,
    holdout: bool,
    (n, k, c): (u64, u64, u64),
    day: u32,
    start: u64,
) {
    for i in 0..n {
        let _ = writeln!(
            out,
            "u{},{rule},{variant},{},2026-10-{:02}T10:00:00Z,{},{},{}",
            start + i,
            u8::from(holdout),
            day,
            u8::from(i < c),
            u8::from(i < k),
            if i < k { "25.5" } else { "0" },
        );
    }
}

fn planted() -> String {
    let mut s =
        String::from("user_id,rule_id,variant,holdout,exposed_at,clicked,converted,revenue\n");
    // carousel: A as good as control, B clearly worse; 2,000 users per arm.
    arm(&mut s, "carousel", "A", false, (2000, 200, 600), 3, 0);
    arm(&mut s, "carousel", "B", false, (2000, 100, 500), 3, 10_000);
    arm(&mut s, "carousel", "", true, (2000, 210, 580), 3, 20_000);
    // banner: a small difference on 40 users per arm.
    arm(&mut s, "banner", "", false, (40, 6, 10), 3, 30_000);
    arm(&mut s, "banner", "", true, (40, 4, 9), 3, 40_000);
    s
}

#[test]
fn a_planted_outcomes_export_is_reported_and_flagged() {
    let (dir, f) = temp_file("outcomes.csv", planted());
    let html = dir.path().join("report.html");
    let o = run_ok(&["report", arg(&f), "--out", arg(&html)]);
    let out = stdout(&o);
    assert!(out.contains("rule carousel"), "{out}");
    let o = run_ok(&["report", arg(&f), "--json"]);
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rules = r["rules"].as_array().unwrap();
    let carousel = rules.iter().find(|x| x["rule"] == "carousel").unwrap();
    // Arms: control first, then the variants.
    let arms = carousel["arms"].as_array().unwrap();
    let find = |name: &str| arms.iter().find(|a| a["arm"] == name).unwrap();
    let b = find("variant B");
    assert_eq!(b["users"], 2000);
    assert_eq!(b["conversions"], 100);
    let (lo, hi) = stats::wilson(100, 2000, 0.05);
    assert!((b["conversion_ci"][0].as_f64().unwrap() - lo).abs() < 1e-12);
    assert!((b["conversion_ci"][1].as_f64().unwrap() - hi).abs() < 1e-12);
    assert!((b["revenue_per_user"].as_f64().unwrap() - 100.0 * 25.5 / 2000.0).abs() < 1e-9);
    let cmp = carousel["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["variant"] == "variant B" && c["metric"] == "conversion")
        .unwrap();
    let (z, p) = stats::two_prop_ztest(100, 2000, 210, 2000);
    assert!((cmp["z"].as_f64().unwrap() - z).abs() < 1e-12);
    assert!((cmp["p"].as_f64().unwrap() - p).abs() <= 1e-12 * p);
    let d = stats::newcombe_diff(100, 2000, 210, 2000, 0.05);
    assert!((cmp["abs_ci"][0].as_f64().unwrap() - d.0).abs() < 1e-12);
    assert_eq!(cmp["significant"], true);
    // Six comparisons in all (2 variants x 2 metrics + 1 x 2): Holm adjusts over them.
    let all: Vec<f64> = rules
        .iter()
        .flat_map(|x| x["comparisons"].as_array().unwrap().iter())
        .map(|c| c["p"].as_f64().unwrap())
        .collect();
    assert_eq!(all.len(), 6);
    let adjusted = stats::holm(&all);
    // (serde_json's float parsing can be one ulp off, hence the relative tolerance.)
    let ours = cmp["p_adjusted"].as_f64().unwrap();
    assert!(
        adjusted
            .iter()
            .any(|a| (a - ours).abs() <= 1e-12 * a.max(1e-300)),
        "{adjusted:?} {ours}"
    );
    let flags: Vec<String> = r["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert!(
        flags[0].starts_with(
            "rule \"carousel\" variant B: conversion is significantly worse than control"
        ),
        "{flags:?}"
    );
    assert!(
        flags.iter().any(|f| f.starts_with(
            "rule \"banner\" treated: too few users to judge conversion (40 treated, 40 control)"
        )),
        "{flags:?}"
    );
    assert!(
        !flags
            .iter()
            .any(|f| f.contains("variant A: conversion is significantly"))
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!doctype html>") && page.contains("<svg") && page.contains("banner")
    );
}

#[test]
fn a_persona_whose_conversion_fell_is_flagged() {
    let mut s = String::from("user,rule,variant,exposed_at,converted,persona\n");
    for i in 0..600u32 {
        let late = i >= 300;
        // Early users convert 30% of the time, late ones 10%.
        let conv = if late { i % 10 == 0 } else { i % 10 < 3 };
        let _ = writeln!(
            s,
            "u{i},promo,{},2026-10-{:02},{},Deal Seekers",
            if i % 2 == 0 { "A" } else { "holdout" },
            if late { 25 } else { 2 },
            u8::from(conv)
        );
    }
    let (_dir, f) = temp_file("o.csv", s);
    let o = run_ok(&["report", arg(&f), "--json"]);
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let p = &r["personas"][0];
    assert_eq!(p["persona"], "Deal Seekers");
    assert_eq!(p["first_half"], serde_json::json!([90, 300]));
    assert_eq!(p["second_half"], serde_json::json!([30, 300]));
    // Week of first exposure: day 2 is week 0, day 25 is week 3.
    assert_eq!(p["weekly"], serde_json::json!([[0, 300, 90], [3, 300, 30]]));
    assert!(
        r["flags"].as_array().unwrap().iter().any(|f| f
            .as_str()
            .unwrap()
            .starts_with("persona \"Deal Seekers\": conversion fell from 30.0% to 10.0%")),
        "{}",
        r["flags"]
    );
}

#[test]
fn bad_outcomes_are_named_by_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let fail = |name: &str, text: &str, extra: &[&str], want: &str| {
        let f = write(dir.path(), name, text);
        let mut args = vec!["report", arg(&f)];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{name}: {}", stderr(&o));
    };
    fail(
        "norule.csv",
        "user_id,variant,converted\nu1,A,1\n",
        &[],
        "no rule column",
    );
    fail(
        "noarm.csv",
        "user_id,rule,converted\nu1,r,1\n",
        &[],
        "neither a variant nor a holdout column",
    );
    fail(
        "bad.csv",
        "user_id,rule,variant,converted\nu1,r,A,1\nu2,r,holdout,maybe\n",
        &[],
        "row 2, column \"converted\": expected true/false or 1/0, got \"maybe\"",
    );
    fail(
        "ok.csv",
        "user_id,rule,variant,converted\nu1,r,A,1\nu2,r,holdout,0\n",
        &["--out", "report.txt"],
        "write the report as .html or .json",
    );
    fail(
        "ok2.csv",
        "user_id,rule,variant,converted\nu1,r,A,1\n",
        &["--rule-col", "rules"],
        "column \"rules\" given for rule does not exist",
    );
    fail("empty.csv", "", &[], "empty");
}
