//! The Clusters view: clustering the sample, every chart, weights and k, the dendrogram, selections, the sweep, frame times.

use super::*;

#[test]
fn starts_on_the_sample_clusters_it_and_shows_every_chart() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "the sample to load and cluster", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    h.get_by_label_contains("users      1967");
    let run = h.state().analysis.run.clone().unwrap();
    assert_eq!(run.segmentation.k, 6);
    assert_eq!(run.matrix.n_rows, 1967);

    click(&mut h, "Clusters");
    assert_eq!(h.state().ui_state.view, View::Clusters);
    h.get_by_label_contains("Silhouette per user (all 1967 users)");
    let mean = format!("mean {:.3}", run.silhouette.mean);
    assert!(h.get_all_by_label_contains(&mean).count() >= 1);

    click(&mut h, "Scatter");
    h.get_by_label_contains("PCA: component 1 explains");

    click(&mut h, "Profiles");
    assert_eq!(h.state().ui_state.chart, Chart::Profiles);
    // The z-score table's header, by display name ("sessions" is "Visits").
    h.get_by_label("Visits");
    h.get_by_label_contains("by segment (box: quartiles");
    for p in &run.profiles {
        for s in &p.features {
            assert!(
                s.whisker_low <= s.q1
                    && s.q1 <= s.median
                    && s.median <= s.q3
                    && s.q3 <= s.whisker_high,
                "segment {} {}: {s:?}",
                p.id,
                s.feature
            );
        }
    }

    h.get_by_label("Sweep k").click();
    wait_for(&mut h, "the sweep", |a| {
        a.analysis.sweep.is_some() && idle(a)
    });
    h.get_by_label_contains("Recommended k = 6");
}

#[test]
fn hierarchical_method_draws_the_dendrogram_and_k_follows_settings() {
    let mut h = sample_clustered();
    click(&mut h, "Clusters");
    {
        let a = h.state_mut();
        a.analysis.cluster.params.method = Method::Ward;
        a.analysis.cluster.params.k = 4;
        a.ui_state.chart = Chart::Dendrogram;
        a.settings_changed();
    }
    wait_for_run(&mut h, "ward clustering", |r| {
        r.segmentation.params.method == Method::Ward
    });
    let run = h.state().analysis.run.clone().unwrap();
    assert_eq!(run.segmentation.k, 4);
    assert!(run.segmentation.dendrogram.is_some());
    assert!(h.get_all_by_label("Top clusters drawn").count() >= 1);
    h.get_by_label_contains("cut: k = 4");
    // The branches are drawn as lines, not filled bands (egui_plot turns a polyline with vertical
    // runs into a band unless told not to), in the segments' own colours.
    let shapes = drawn_shapes(&h);
    assert!(
        !shapes.iter().any(|s| matches!(s, egui::Shape::Band(_))),
        "a band was drawn"
    );
    for c in 0..4 {
        let want = crate::gui::charts::colour(c);
        assert!(
            shapes.iter().any(|s| match s {
                egui::Shape::Path(p) => p.stroke.color == egui::epaint::ColorMode::Solid(want),
                egui::Shape::LineSegment { stroke, .. } => stroke.color == want,
                _ => false,
            }),
            "no line in segment {c}'s colour"
        );
    }
    // A selection made elsewhere shows under the dendrogram's leaves.
    h.state_mut().ui_state.chart = Chart::Silhouette;
    h.run_ok();
    click(&mut h, "Select users with a negative silhouette");
    wait_for(&mut h, "the selection", idle);
    h.state_mut().ui_state.chart = Chart::Dendrogram;
    h.run_ok();
    let n = h.state().ui_state.selection.len();
    assert!(n > 0);
    h.get_by_label(&format!("selected ({n} users)"));
    // A branch picked (a right click on it sends this): the users under the root's first child,
    // found on a worker. Cut at k = 4, below the root, it holds whole segments and only them.
    let d = run.segmentation.dendrogram.clone().unwrap();
    let root = d.merges.last().unwrap();
    let size = match root.a {
        a if a < d.n => 1,
        a => d.merges[a - d.n].size,
    };
    h.state_mut().push(crate::gui::actions::Action::Select(
        crate::gui::state::Pick::Branch(root.a),
    ));
    h.run_ok();
    wait_for(&mut h, "the branch's users", idle);
    let sel = h.state().ui_state.selection.users();
    assert_eq!(sel.len(), size);
    let labels = &run.segmentation.labels;
    let inside: std::collections::BTreeSet<usize> = sel.iter().map(|&i| labels[i]).collect();
    let whole = labels.iter().filter(|l| inside.contains(l)).count();
    assert_eq!(whole, size, "segments {inside:?} are split by the branch");
    assert!(size < run.matrix.n_rows);
}

#[test]
fn changing_a_weight_reclusters_and_a_persona_can_be_renamed() {
    let mut h = sample_clustered();
    let before = h.state().analysis.run.clone().unwrap();
    click(&mut h, "Features");
    // Weight 3 on searches: the matrix column changes and clustering re-runs after the debounce.
    {
        let a = h.state_mut();
        let spec = a.analysis.spec.as_mut().unwrap();
        spec.features
            .iter_mut()
            .find(|c| c.id == "searches_per_session")
            .unwrap()
            .weight = 3.0;
        a.settings_changed();
    }
    h.step();
    wait_for_run(&mut h, "re-clustering", |r| {
        !std::sync::Arc::ptr_eq(r, &before)
    });
    let after = h.state().analysis.run.clone().unwrap();
    let w = after
        .fitted
        .features
        .iter()
        .find(|f| f.id == "searches_per_session")
        .unwrap()
        .weight;
    assert_eq!(w, 3.0);

    click(&mut h, "Personas");
    let first = h.state().analysis.personas[0].name.clone();
    h.get_by_label_contains("Segment 0");
    // The name field (the overview table above the cards shows the same name as a label).
    use egui_kittest::kittest::NodeT as _;
    let field = h
        .get_all_by_value(&first)
        .find(|n| n.accesskit_node().role() == egui::accesskit::Role::TextInput)
        .unwrap();
    field.focus();
    field.type_text(" shoppers");
    h.run_ok();
    assert_eq!(
        h.state().analysis.personas[0].name,
        format!("{first} shoppers")
    );
    // Preferred content types, typed as a list, reach the rule set clean.
    let content = h
        .get_all_by_role_and_label(egui::accesskit::Role::TextInput, "Preferred content")
        .next()
        .unwrap();
    content.focus();
    content.type_text("new arrivals, video lookbooks,");
    h.run_ok();
    let rs = h.state().rule_set().unwrap();
    assert_eq!(
        rs.persona_of(h.state().analysis.personas[0].segment)
            .unwrap()
            .preferred_content,
        ["new arrivals", "video lookbooks"]
    );
}

/// Frame times with 100,000 users (run in release: `cargo test --release --bin persona-lab -- --ignored
/// frame_times --nocapture`). Each chart is drawn for 30 frames; the time of the egui pass plus
/// tessellation is reported (mean and worst), and the UI keeps drawing frames while clustering runs.
#[test]
#[ignore]
fn frame_times_with_100k_users() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users_100k.csv");
    let mut text = String::from("user_id,sessions,clicks,scroll,time_spent,purchases,revenue\n");
    for i in 0..100_000u64 {
        let g = (i % 5) as f64;
        let s = |k: u64| ((i * 2654435761 + k * 97) % 10007) as f64 / 10007.0;
        let _ = writeln!(
            text,
            "u{i},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
            g * 3.0 + 4.0 * s(1),
            g * 10.0 + 20.0 * s(2),
            50.0 + g * 8.0 + 30.0 * s(3),
            g * 60.0 + 200.0 * s(4),
            (g - 2.0).max(0.0) * s(5) * 3.0,
            (g - 2.0).max(0.0) * 40.0 * s(6)
        );
    }
    std::fs::write(&csv, text).unwrap();
    let mut h = harness(PersonaApp::new(Some(csv)));
    // Frames keep coming while loading and clustering run on their threads.
    let mut busy_frames = Vec::new();
    let start = Instant::now();
    while !(h.state().analysis.run.is_some() && idle(h.state())) {
        assert!(start.elapsed() < Duration::from_secs(300));
        let t = Instant::now();
        h.step();
        busy_frames.push(t.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(5));
    }
    let worst_busy = busy_frames.iter().copied().fold(0.0, f64::max);
    println!(
        "while loading + clustering 100k users ({:.1} s): {} frames, worst {worst_busy:.1} ms",
        start.elapsed().as_secs_f64(),
        busy_frames.len()
    );
    click(&mut h, "Clusters");
    let a = h.state_mut();
    a.analysis.cluster.params.method = Method::Ward;
    a.settings_changed();
    wait_for_run(&mut h, "ward", |r| r.segmentation.dendrogram.is_some());
    // Each chart without a selection, then with half the users selected (marked on every chart).
    // Last, the scatter again with the pointer resting on the plot (a tooltip for the nearest user).
    for (chart, selected, hovered) in Chart::ALL
        .into_iter()
        .map(|c| (c, false, false))
        .chain(Chart::ALL.into_iter().map(|c| (c, true, false)))
        .chain([(Chart::Scatter, true, true)])
    {
        if chart == Chart::Sweep {
            continue;
        }
        if hovered {
            // In the middle of the plot, which fills the window below the caption: the view then
            // looks for the nearest drawn user every frame, and the plot draws its hover lines.
            h.event(egui::Event::PointerMoved(egui::Pos2::new(640.0, 400.0)));
        }
        if selected && h.state().ui_state.selection.is_empty() {
            let every_other = (0..100_000).step_by(2).collect();
            h.state_mut().ui_state.selection.set(every_other);
        }
        h.state_mut().ui_state.chart = chart;
        // Measure the chart as drawn, not its placeholder: a layout made once per run (the
        // silhouette's) is computed in the background first.
        h.step();
        wait_for(&mut h, "the chart's layout", idle);
        let times = frame_times(&mut h, 30);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "{:<26} {:<14} mean {mean:6.2} ms  median {:6.2} ms  worst {:6.2} ms",
            chart.label(),
            match (selected, hovered) {
                (_, true) => "50k, hovered",
                (true, _) => "50k selected",
                _ => "no selection",
            },
            times[15],
            times[29]
        );
    }
}

#[test]
fn negative_silhouettes_are_selected_across_charts_and_tsne_draws() {
    let mut h = sample_clustered();
    click(&mut h, "Clusters");
    click(&mut h, "Select users with a negative silhouette");
    wait_for(&mut h, "the selection", idle);
    let run = h.state().analysis.run.clone().unwrap();
    let negative = run
        .silhouette
        .values
        .iter()
        .filter(|v| v.is_some_and(|v| v < 0.0))
        .count();
    assert!(negative > 0);
    assert_eq!(h.state().ui_state.selection.len(), negative);
    h.get_by_label_contains(&format!("{negative} users selected"));
    // The same users are marked on the scatter plot.
    click(&mut h, "Scatter");
    h.get_by_label_contains(&format!("selected ({negative})"));
    h.get_by_label("t-SNE").click();
    wait_for(&mut h, "t-SNE", |a| a.analysis.tsne.is_some() && idle(a));
    h.get_by_label_contains("t-SNE of a seeded sample of 1967 users");
    click(&mut h, "Clear selection");
    assert!(h.state().ui_state.selection.is_empty());
}

/// Secondary-button drag events on the scatter draw a lasso; the users inside it (by their PCA
/// coordinates, all users) become the selection.
#[test]
fn a_lasso_on_the_scatter_selects_the_users_inside_it() {
    use egui::{Event, Modifiers, PointerButton, Pos2};
    let mut h = sample_clustered();
    click(&mut h, "Clusters");
    click(&mut h, "Scatter");
    let caption = h.get_by_label_contains("PCA: component 1 explains").rect();
    // A triangle in the middle of the plot, which fills the window below the caption.
    let (x, y) = (640.0, caption.bottom() + 300.0);
    let path = [
        Pos2::new(x - 200.0, y + 150.0),
        Pos2::new(x, y - 150.0),
        Pos2::new(x + 200.0, y + 150.0),
        Pos2::new(x - 200.0, y + 150.0),
    ];
    h.event(Event::PointerMoved(path[0]));
    h.step();
    h.event(Event::PointerButton {
        pos: path[0],
        button: PointerButton::Secondary,
        pressed: true,
        modifiers: Modifiers::NONE,
    });
    h.step();
    for w in path.windows(2) {
        for t in 1..=10 {
            let f = t as f32 / 10.0;
            h.event(Event::PointerMoved(w[0] + (w[1] - w[0]) * f));
            h.step();
        }
    }
    h.event(Event::PointerButton {
        pos: path[3],
        button: PointerButton::Secondary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    h.step();
    wait_for(&mut h, "the selection", idle);
    let app = h.state();
    let run = app.analysis.run.clone().unwrap();
    let poly = app.ui_state.last_lasso.clone();
    assert!(poly.len() > 20, "the lasso path was recorded: {poly:?}");
    let dims = run.pca.n_components;
    let inside: Vec<usize> = (0..run.matrix.n_rows)
        .filter(|&i| {
            crate::gui::charts::inside_polygon(
                &poly,
                [run.coords[i * dims], run.coords[i * dims + 1]],
            )
        })
        .collect();
    assert!(!inside.is_empty() && inside.len() < run.matrix.n_rows);
    assert_eq!(app.ui_state.selection, inside);
    h.get_by_label_contains(&format!("{} users selected", inside.len()));
}

/// The sweep recommends k from silhouette, share and stability, says why, marks the current k, and a
/// click on a k uses it.
#[test]
fn the_sweep_recommends_k_with_stability_and_a_click_uses_it() {
    let mut h = sample_clustered();
    click(&mut h, "Clusters");
    h.state_mut().ui_state.chart = Chart::Sweep;
    h.state_mut().run_sweep();
    wait_for(&mut h, "the sweep", |a| {
        a.analysis.sweep.is_some() && idle(a)
    });
    let s = h.state().analysis.sweep.clone().unwrap();
    assert_eq!(s.resamples, 5);
    assert!(s.points.iter().all(|p| p.stability.is_some()));
    // Six groups are planted in the sample: the recommendation finds them.
    assert_eq!(s.recommended_k, 6, "{:?}", s.reasons);
    h.get_by_label("Recommended k = 6");
    h.get_by_label_contains("stable over resamples");
    h.get_by_label("current k = 6");
    h.get_by_label_contains("the current k = 6 is the white line");
    // A click on k = 4 reclusters with 4.
    h.get_by_label("4").click();
    wait_for_k(&mut h, "k = 4", 4);
    assert_eq!(h.state().analysis.cluster.params.k, 4);
    h.get_by_label("Use k = 6").click();
    wait_for_k(&mut h, "back to k = 6", 6);
}

#[test]
fn a_selection_is_exported_on_a_worker_with_its_users_in_order() {
    let mut h = harness(PersonaApp::new(Some(sample_path())));
    wait_for(&mut h, "the sample to cluster", |a| {
        a.analysis.run.is_some() && idle(a)
    });
    let run = h.state().analysis.run.clone().unwrap();
    h.state_mut().ui_state.selection.set(vec![5, 0, 1966]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("selection.csv");
    crate::gui::file_work::export_selection_to(h.state_mut(), out.clone());
    wait_for(&mut h, "the selection export", idle);
    h.get_by_label_contains("(3 users)");
    let text = std::fs::read_to_string(&out).unwrap();
    let ids: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let want: Vec<&str> = [5, 0, 1966]
        .iter()
        .map(|&i| run.matrix.users[i].as_str())
        .collect();
    assert_eq!(ids, want);
}
