//! The Personas view: merging, splitting, renaming, stability on the cards.

use super::*;

#[test]
fn personas_can_be_merged_and_split_and_edited_names_follow_their_users() {
    let mut h = sample_clustered();
    click(&mut h, "Personas");
    h.state_mut().analysis.personas[0].name = "Window Shoppers".into();
    let before = h.state().analysis.run.clone().unwrap();
    h.get_by_label("Split segment 0 in two").click();
    wait_for_k(&mut h, "the split", 7);
    let after = h.state().analysis.run.clone().unwrap();
    assert_eq!(after.segmentation.sizes.iter().sum::<usize>(), 1967);
    assert!(after.segmentation.inertia < before.segmentation.inertia);
    // The edited name went with the larger half of its users.
    assert!(has_persona(h.state(), "Window Shoppers"));
    h.state_mut().merge_segments(5, 6);
    wait_for_k(&mut h, "the merge", 6);
    assert!(
        h.state()
            .analysis
            .run
            .as_ref()
            .unwrap()
            .segmentation
            .notes
            .iter()
            .any(|n| n.contains("merged"))
    );
}

/// Each persona card shows its segment's stability (the core's figure for this run: five seeded
/// resamples of 80%), and an unstable segment is flagged.
#[test]
fn persona_cards_show_each_segments_stability() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "load", |a| {
        a.analysis.run.is_some() && a.analysis.stability.is_some() && idle(a)
    });
    click(&mut h, "Personas");
    let run = h.state().analysis.run.clone().unwrap();
    let direct = persona_lab::pipeline::run_stability(
        &run,
        persona_lab::cluster::stability::DEFAULT_RESAMPLES,
        persona_lab::pipeline::STABILITY_USERS,
        &persona_lab::job::Job::silent(),
    )
    .unwrap();
    assert_eq!(
        h.state().analysis.stability.as_ref().unwrap().1.per_segment,
        direct.per_segment
    );
    assert_eq!(direct.per_segment.len(), run.segmentation.k);
    for v in &direct.per_segment {
        let text = if *v < persona_lab::cluster::stability::STABLE_ENOUGH {
            format!("stability {v:.2}: not to be trusted")
        } else {
            format!("stability {v:.2}")
        };
        assert!(h.query_all_by_label(&text).count() >= 1, "{text}");
    }
    // The six planted groups come back whole.
    assert!(direct.per_segment.iter().all(|&v| v > 0.9), "{direct:?}");
    // Above the cap a seeded sample is measured: the same groups, as stable.
    let sampled = persona_lab::pipeline::run_stability(
        &run,
        persona_lab::cluster::stability::DEFAULT_RESAMPLES,
        800,
        &persona_lab::job::Job::silent(),
    )
    .unwrap();
    assert_eq!(sampled.per_segment.len(), run.segmentation.k);
    assert!(sampled.per_segment.iter().all(|&v| v > 0.9), "{sampled:?}");
}

/// Each persona card says what its segment is worth against everyone (the core's figures: revenue,
/// buyers, order value); a merge sums the two segments' value.
#[test]
fn persona_cards_show_each_segments_value() {
    let mut h = sample_clustered();
    click(&mut h, "Personas");
    let run = h.state().analysis.run.clone().unwrap();
    let everyone = persona_lab::cluster::everyone(&run.profiles).unwrap();
    assert_eq!(everyone.users, 1967);
    for p in &run.profiles {
        let line = format!("Value: {}", p.value_line(Some(&everyone)).unwrap());
        assert!(h.query_all_by_label(&line).count() >= 1, "{line}");
    }
    // The sample's high-value group brings most of the revenue, and its card says so first.
    let top = run
        .profiles
        .iter()
        .max_by(|a, b| {
            let r = |p: &persona_lab::cluster::ClusterProfile| p.value.as_ref().unwrap().revenue;
            r(a).partial_cmp(&r(b)).unwrap()
        })
        .unwrap();
    let share = top
        .value
        .as_ref()
        .unwrap()
        .revenue_share(&everyone)
        .unwrap();
    assert!(share > 0.5, "{share}");
    let (a, b) = (0, 1);
    let merged_revenue = run.profiles[a].value.as_ref().unwrap().revenue.unwrap()
        + run.profiles[b].value.as_ref().unwrap().revenue.unwrap();
    h.state_mut().merge_segments(a, b);
    wait_for_k(&mut h, "the merge", 5);
    let after = h.state().analysis.run.clone().unwrap();
    let total = persona_lab::cluster::everyone(&after.profiles).unwrap();
    assert_eq!(total.users, 1967);
    assert!(
        (total.revenue.unwrap() - everyone.revenue.unwrap()).abs()
            < 1e-6 * everyone.revenue.unwrap()
    );
    assert!(
        after
            .profiles
            .iter()
            .any(|p| (p.value.as_ref().unwrap().revenue.unwrap() - merged_revenue).abs() < 1e-6),
        "no segment holds the merged revenue {merged_revenue}"
    );
}

/// The Personas view opens on all personas side by side: size, share of users and of the revenue,
/// revenue per user and buyers, from the core's values; its TSV is the table. With a churn model,
/// the mean score and the revenue at risk join it.
#[test]
fn all_personas_are_compared_by_value_and_risk_in_one_table() {
    use persona_lab::cluster::value::percent;
    let mut h = sample_clustered();
    click(&mut h, "Personas");
    let copy = |h: &mut Harness<'static, PersonaApp>| {
        h.get_all_by_label("Copy as TSV").next().unwrap().click();
        step_until_copied(h);
        let t = copied(h).unwrap();
        t.lines()
            .map(|l| l.split('\t').map(String::from).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    let rows = copy(&mut h);
    assert_eq!(
        rows[0],
        [
            "persona",
            "users",
            "share of users",
            "share of revenue",
            "revenue per user",
            "bought"
        ]
    );
    let run = h.state().analysis.run.clone().unwrap();
    let everyone = persona_lab::cluster::everyone(&run.profiles).unwrap();
    let names = h.state().analysis.persona_names(run.segmentation.k);
    assert_eq!(rows.len(), run.segmentation.k + 1);
    for (row, p) in rows[1..].iter().zip(&run.profiles) {
        let v = p.value.as_ref().unwrap();
        assert_eq!(row[0], names[p.id]);
        assert_eq!(row[1], p.size.to_string());
        assert_eq!(row[3], percent(v.revenue_share(&everyone).unwrap()));
        assert_eq!(row[5], percent(v.buyer_share()));
    }
    // The high-value group: most of the revenue from a small share of the users.
    let hv = rows[1..]
        .iter()
        .find(|r| r[3] == "86%")
        .expect("a persona with 86% of the revenue");
    assert_eq!(hv[2], "11%");

    click(&mut h, "Predict");
    h.get_by_label("Train model").click();
    wait_for(&mut h, "the model and its risk", |a| {
        a.analysis.prediction.is_some() && a.caches.risk(&a.analysis).is_some() && idle(a)
    });
    click(&mut h, "Personas");
    let rows = copy(&mut h);
    assert_eq!(rows[0][6..], ["mean churn_risk", "revenue at risk"]);
    let risk = h.state().caches.risk(&h.state().analysis).unwrap();
    for (row, p) in rows[1..].iter().zip(&run.profiles) {
        assert_eq!(row[6], format!("{:.2}", risk.by_segment[p.id].mean));
        assert_eq!(row[7], risk.at_risk.as_ref().unwrap()[p.id].amount());
    }
}
