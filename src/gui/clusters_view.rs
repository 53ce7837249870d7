//! Clusters: method, k, seed, restarts; the silhouette plot, dendrogram with a cut line, PCA scatter,
//! elbow and silhouette-by-k sweep, and the cluster profiles heatmap. Every number comes from the core's
//! `ClusterRun`; only geometry is computed here (see `charts`).

use egui::{Color32, RichText};
use egui_plot::{Bar, BarChart, HLine, Legend, Plot, PlotPoints, Points, VLine};
use std::sync::Arc;

use persona_lab::cluster::Method;
use persona_lab::pipeline::ClusterRun;

use super::actions::{Action, Edit};
use super::charts::{self, colour};
use super::cx::Cx;
use super::help::{self, Term};
use super::state::{Chart, Pick};

pub fn show(cx: &mut Cx, ui: &mut egui::Ui) {
    let mut changed = false;
    let n_users = cx
        .analysis
        .profile
        .as_ref()
        .map(|p| p.n_users())
        .unwrap_or(2);
    ui.horizontal(|ui| {
        ui.heading("Clusters");
        let mut c = cx.analysis.cluster.clone();
        let method = super::widgets::combo(ui, "method", "Method", c.params.method.name(), |ui| {
            for m in Method::ALL {
                changed |= ui
                    .selectable_value(&mut c.params.method, m, m.name())
                    .changed();
            }
        });
        help::explain(method, Term::Linkage);
        // Up to 15, or the k a project or the CLI chose (a slider clamps what it shows: a project saved
        // with k = 20 must not silently re-cluster at 15).
        let k_max = c
            .params
            .k
            .max(15)
            .min(persona_lab::cluster::most_segments(n_users).max(2));
        let k_label = ui.label("k").id;
        changed |= ui
            .add(egui::Slider::new(&mut c.params.k, 2..=k_max))
            .labelled_by(k_label)
            .changed();
        let l = ui.label("seed");
        changed |= ui
            .add(egui::DragValue::new(&mut c.params.seed))
            .labelled_by(l.id)
            .changed();
        if c.params.method == Method::KMeans {
            let l = ui.label("n_init");
            changed |= ui
                .add(egui::DragValue::new(&mut c.params.n_init).range(1..=100))
                .labelled_by(l.id)
                .changed();
        }
        if c != cx.analysis.cluster {
            cx.edit(Edit::Cluster(c));
        }
        if ui.button("Run clustering").clicked() {
            cx.push(Action::RunClustering);
        }
        if ui.button("Sweep k").clicked() {
            cx.push(Action::RunSweep);
            cx.state.chart = Chart::Sweep;
        }
    });
    if changed {
        cx.push(Action::SettingsChanged);
    }
    ui.horizontal(|ui| {
        for c in Chart::ALL {
            if ui
                .selectable_label(cx.state.chart == c, c.label())
                .clicked()
            {
                cx.state.chart = c;
            }
        }
        ui.separator();
        if let Some(file) = super::widgets::chart_save_buttons(
            ui,
            "Save chart as PNG…",
            "Save chart data (CSV)…",
            "The numbers behind the chart on screen",
        ) {
            cx.push(Action::AskFile(file));
        }
    });
    ui.separator();
    let Some(run) = cx.analysis.run.clone() else {
        ui.label("Clustering…");
        return;
    };
    selection_panel(cx, &run, ui);
    // Where the chart goes: Save chart as PNG crops the window's pixels to this.
    cx.state.chart_rect = Some(ui.available_rect_before_wrap());
    match cx.state.chart {
        Chart::Silhouette => silhouette(cx, &run, ui),
        Chart::Dendrogram => dendrogram(cx, &run, ui),
        Chart::Scatter => scatter(cx, &run, ui),
        Chart::Sweep => sweep(cx, ui),
        Chart::Profiles => profiles(cx, &run, ui),
    }
}

fn silhouette(cx: &mut Cx, run: &ClusterRun, ui: &mut egui::Ui) {
    let s = &run.silhouette;
    let seg = &run.segmentation;
    let ink = ui.visuals().strong_text_color();
    if ui
        .button("Select users with a negative silhouette")
        .on_hover_text("They sit closer, on average, to another segment than to their own")
        .clicked()
    {
        cx.push(Action::Select(Pick::NegativeSilhouette));
    }
    let caption = ui.label(format!(
        "Silhouette per user ({}), sorted within each segment; mean {:.3} (?)",
        if s.exact {
            format!("all {} users", s.sample_size)
        } else {
            format!("stratified sample of {} users", s.sample_size)
        },
        s.mean
    ));
    help::explain(caption, Term::Silhouette);
    // Laid out once per run, in the background: it sorts every scored user.
    let Some(layout) = cx.caches.silhouette(cx.analysis) else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Laying out the chart…");
        });
        return;
    };
    let (bars, order) = (&layout.bars, &layout.order);
    // Which bars hold a selected user: marked once per selection, before the frame.
    let marks = cx
        .caches
        .silhouette_marks(cx.analysis, cx.state)
        .unwrap_or_default();
    let users = &run.matrix.users;
    // Legends name the personas as the strategist named them.
    let names = cx.analysis.persona_names(seg.k);
    // The x axis runs to 1 (the best silhouette there is): the bars rarely reach past 0.7, so the
    // legend in the top right corner sits beside them, not over them.
    let lowest = layout.lowest;
    Plot::new("silhouette")
        .legend(super::charts::persona_legend())
        .default_x_bounds(lowest.min(0.0) - 0.05, 1.0)
        .x_axis_label("silhouette")
        .show_grid([true, false])
        .show(ui, |p| {
            // Top segment first: the legend lists them as they are stacked.
            for (c, name) in names.iter().enumerate().rev() {
                let cb: Vec<Bar> = bars
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.cluster == c)
                    .map(|(bar, b)| {
                        let name = if b.users == 1 {
                            format!("user {}", users[order[b.first]])
                        } else {
                            format!("{} users (mean)", b.users)
                        };
                        let any_selected = marks.get(bar).copied().unwrap_or(false);
                        Bar::new(b.position, b.value)
                            .width(b.users as f64)
                            .name(name)
                            .fill(if any_selected { ink } else { colour(c) })
                            .stroke(egui::Stroke::NONE)
                    })
                    .collect();
                p.add(
                    BarChart::new(format!("{name} (mean {:.3})", s.cluster_means[c]), cb)
                        .horizontal()
                        .color(colour(c)),
                );
            }
            p.vline(VLine::new(format!("mean {:.3}", s.mean), s.mean).color(Color32::RED));
        });
}

fn dendrogram(cx: &mut Cx, run: &ClusterRun, ui: &mut egui::Ui) {
    let Some(d) = &run.segmentation.dendrogram else {
        ui.label("The dendrogram needs a hierarchical method (ward, average, complete, single).");
        if help::explain(ui.button("Switch to Ward"), Term::Ward).clicked() {
            cx.edit(Edit::Method(Method::Ward));
            cx.push(Action::RunClustering);
        }
        return;
    };
    ui.horizontal(|ui| {
        super::widgets::labelled(ui, "Top clusters drawn", |ui| {
            ui.add(egui::Slider::new(
                &mut cx.state.dendro_leaves,
                2..=100.min(d.n),
            ))
        });
        ui.label("Drag in the chart to move the cut line (k follows); right-click a branch to select its users.");
    });
    // Laid out and cut once per run, leaves drawn and k (`Caches::dendrogram`).
    let k = cx.analysis.cluster.params.k;
    let Some(view) = cx.caches.dendrogram(cx.analysis, cx.state) else {
        return;
    };
    let (layout, cut, tied) = (&view.layout, view.cut, view.tied);
    // Only an exact tree has one leaf per user.
    // Counted once per selection, before the frame (`Caches::leaf_marks`).
    let selected_leaves = cx
        .caches
        .leaf_marks(cx.analysis, cx.state)
        .unwrap_or_default();
    let ink = ui.visuals().strong_text_color();
    // A truncated leaf stands for a subtree: the x axis gives its size under it.
    let leaf_sizes: Vec<usize> = layout.leaves.iter().map(|&(_, size)| size).collect();
    let resp = Plot::new("dendrogram")
        .allow_drag(false)
        .legend(super::charts::persona_legend().position(egui_plot::Corner::RightTop))
        .y_axis_label("height")
        .x_grid_spacer(move |input| {
            let (lo, hi) = input.bounds;
            (lo.ceil().max(0.0) as usize..=hi.floor().max(0.0) as usize)
                .map(|x| egui_plot::GridMark {
                    value: x as f64,
                    step_size: 1.0,
                })
                .collect()
        })
        // Leaves sit one unit apart: narrower label spacing than the default 60 points, so sizes
        // show under up to a few dozen leaves (a label that does not fit is skipped).
        .custom_x_axes(vec![
            egui_plot::AxisHints::new_x()
                .label("users under each leaf")
                .label_spacing(18.0..=24.0)
                .formatter(move |mark, _| {
                    let x = mark.value.round();
                    match leaf_sizes.get(x as usize) {
                        Some(&size) if x >= 0.0 && size > 1 => size.to_string(),
                        _ => String::new(),
                    }
                }),
        ])
        .show(ui, |p| {
            for (l, seg) in layout.links.iter().zip(&view.link_segment) {
                let colour = seg.map_or(Color32::GRAY, colour);
                let pts = vec![
                    [l.x_left, l.y_left],
                    [l.x_left, l.height],
                    [l.x_right, l.height],
                    [l.x_right, l.y_right],
                ];
                // Not a band: egui_plot fills a polyline with vertical runs as a band unless told.
                p.line(
                    super::charts::line("", PlotPoints::new(pts))
                        .color(colour)
                        .width(1.5)
                        .allow_band(false),
                );
            }
            let cut_name = if tied {
                format!("cut: k = {k} (merges tie at this height)")
            } else {
                format!("cut: k = {k}")
            };
            p.hline(HLine::new(cut_name, cut).color(Color32::RED));
            // The selection under each leaf: a bar below it, as deep as the share selected.
            if !selected_leaves.is_empty() {
                let depth = 0.06 * d.merges.last().map_or(1.0, |m| m.height);
                let bars: Vec<Bar> = selected_leaves
                    .iter()
                    .filter(|(_, hit, _)| *hit > 0)
                    .map(|&(x, hit, size)| {
                        Bar::new(x, -depth * hit as f64 / size.max(1) as f64)
                            .width(0.8)
                            .name(format!("{hit} of {size} selected"))
                    })
                    .collect();
                p.bar_chart(
                    BarChart::new(
                        format!("selected ({} users)", cx.state.selection.len()),
                        bars,
                    )
                    .color(ink),
                );
            }
            let r = p.response().clone();
            let pointer = p.pointer_coordinate();
            let scale = p.transform().dpos_dvalue();
            let cut_to = if r.dragged_by(egui::PointerButton::Primary) || r.clicked() {
                pointer.map(|c| c.y)
            } else {
                None
            };
            // A right click on a branch selects the users under it.
            let branch = if r.secondary_clicked() {
                pointer.and_then(|c| charts::link_at(layout, c.x, c.y, scale, 8.0))
            } else {
                None
            };
            (cut_to, branch)
        });
    let (cut_to, branch) = resp.inner;
    if let Some(node) = branch {
        if run.segmentation.fitted_on.is_none() {
            cx.push(Action::Select(Pick::Branch(node)));
        } else {
            cx.state.warn(
                "the tree was built on a sample: select users on the scatter or silhouette plot",
            );
        }
    }
    if let Some(y) = cut_to {
        let new_k = d.k_at_height(y.max(0.0)).clamp(2, 15.min(d.n));
        if new_k != cx.analysis.cluster.params.k {
            cx.edit(Edit::K(new_k));
            cx.push(Action::SettingsChanged);
        }
    }
    if run.segmentation.fitted_on.is_some() {
        ui.label("The tree was built on a sample (see notes).");
    }
}

fn scatter(cx: &mut Cx, run: &Arc<ClusterRun>, ui: &mut egui::Ui) {
    let seg = &run.segmentation;
    let n = run.matrix.n_rows;
    let names = cx.analysis.persona_names(seg.k);
    ui.horizontal(|ui| {
        ui.radio_value(&mut cx.state.use_tsne, false, "PCA");
        let tsne = ui.radio_value(&mut cx.state.use_tsne, true, "t-SNE");
        help::explain(tsne, Term::Perplexity);
        ui.label(
            "Right-drag a lasso around users to select them; hover a point to see its features.",
        );
    });
    // The drawn users by segment and the selected ones: laid out once per run, embedding and
    // selection (`Caches::scatter`), before the frame.
    let tsne = cx.analysis.tsne_of(run);
    if cx.state.use_tsne && tsne.is_none() {
        if !cx.running(super::tasks::Kind::Tsne) {
            cx.push(Action::RunTsne);
        }
        ui.label("Computing t-SNE…");
        return;
    }
    let Some(layout) = cx.caches.scatter(cx.analysis, cx.state) else {
        return;
    };
    let (rows, coords) = (&layout.rows, &layout.coords);
    let caption = match tsne.filter(|_| cx.state.use_tsne) {
        Some(t) => format!(
            "t-SNE of a seeded sample of {} users (KL {:.3})",
            t.rows.len(),
            t.kl_divergence
        ),
        None => {
            let r = &run.pca.explained_variance_ratio;
            format!(
                "PCA: component 1 explains {:.1}%, component 2 {:.1}%{}",
                100.0 * r[0],
                100.0 * r.get(1).copied().unwrap_or(0.0),
                if rows.len() < n {
                    format!(" · drawing a seeded sample of {} of {n} users", rows.len())
                } else {
                    String::new()
                }
            )
        }
    };
    ui.label(caption);
    let users = &run.matrix.users;
    // Markers drawn over the segments' colours: the text colour, visible in both themes.
    let ink = ui.visuals().strong_text_color();
    let lasso_path: Option<Vec<[f64; 2]>> = ui
        .ctx()
        .data(|d| d.get_temp(egui::Id::unique("scatter_lasso")));
    let resp = Plot::new("scatter")
        .legend(super::charts::persona_legend())
        .allow_boxed_zoom(false)
        .x_axis_label("component 1")
        .y_axis_label("component 2")
        .show(ui, |p| {
            for (c, name) in names.iter().enumerate() {
                let pts = layout.by_segment.get(c).map_or(&[][..], |v| &v[..]);
                p.points(Points::new(name.clone(), pts).color(colour(c)).radius(2.0));
            }
            // The selected users on top: a disc of the ink colour, then their own dot, so a
            // selected user keeps its segment's colour inside a rim and is not hidden by its
            // neighbours. Each user is drawn once (the layers above hold the others). Filled discs
            // are one textured quad each; hollow rings are stroked paths, and 20,000 of them took
            // 60 ms a frame.
            if !layout.selected.is_empty() {
                p.points(
                    Points::new(
                        format!("selected ({})", layout.selected.len()),
                        &layout.selected[..],
                    )
                    .radius(3.5)
                    .color(ink),
                );
                for (c, name) in names.iter().enumerate() {
                    if let Some(pts) = layout.selected_by_segment.get(c) {
                        // Named as the segment: its legend entry hides both.
                        p.points(
                            Points::new(name.clone(), &pts[..])
                                .color(colour(c))
                                .radius(2.0),
                        );
                    }
                }
            }
            if !cx.state.use_tsne {
                let cents: Vec<[f64; 2]> = (0..seg.k)
                    .map(|c| {
                        let t = run.pca.transform_row(seg.centroid(c));
                        [t[0], t.get(1).copied().unwrap_or(0.0)]
                    })
                    .collect();
                p.points(
                    Points::new("centroids", cents)
                        .shape(egui_plot::MarkerShape::Diamond)
                        .radius(7.0)
                        .color(ink),
                );
            }
            if let Some(mut path) = lasso_path.filter(|p| p.len() > 1) {
                path.push(path[0]);
                p.line(super::charts::line("lasso", path).color(ink).width(1.5));
            }
            let r = p.response().clone();
            let pointer = p.pointer_coordinate();
            // Screen distance of one plot unit, to find the hovered point within a few pixels.
            let scale = p.transform().dpos_dvalue();
            (r, pointer, scale, *p.transform())
        });
    let (r, pointer, scale, transform) = resp.inner;
    if let Some(pt) = pointer {
        let near = rows
            .iter()
            .zip(coords)
            .map(|(&i, xy)| {
                let dx = (xy[0] - pt.x) * scale[0];
                let dy = (xy[1] - pt.y) * scale[1];
                (i, dx * dx + dy * dy)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, d2)) = near
            && d2 < 36.0
            && r.hovered()
        {
            let feats: Vec<String> = run
                .matrix
                .columns
                .iter()
                .zip(run.fitted.features.iter())
                .enumerate()
                .map(|(j, (name, f))| {
                    format!(
                        "{name}: {:.3}",
                        f.raw_of(run.matrix.data[i * run.matrix.n_cols + j])
                    )
                })
                .collect();
            r.clone().on_hover_ui_at_pointer(|ui| {
                ui.strong(format!("user {}", users[i]));
                ui.label(format!(
                    "segment {}: {}",
                    seg.labels[i], names[seg.labels[i]]
                ));
                for f in feats {
                    ui.label(f);
                }
            });
        }
    }
    // Lasso selection with the secondary button: the path is kept while dragging and closed on release.
    let id = egui::Id::unique("scatter_lasso");
    if r.drag_started_by(egui::PointerButton::Secondary) {
        ui.ctx()
            .data_mut(|d| d.insert_temp(id, Vec::<[f64; 2]>::new()));
    }
    // The pointer in plot coordinates as drawn (`pointer_coordinate` compensates for panning, which a
    // secondary drag does not do).
    if r.dragged_by(egui::PointerButton::Secondary)
        && let Some(pos) = ui.input(|i| i.pointer.latest_pos())
    {
        let pt = transform.value_from_position(pos);
        ui.ctx().data_mut(|d| {
            d.get_temp_mut_or_default::<Vec<[f64; 2]>>(id)
                .push([pt.x, pt.y])
        });
    }
    if r.drag_stopped_by(egui::PointerButton::Secondary) {
        let poly: Vec<[f64; 2]> = ui.ctx().data_mut(|d| d.remove_temp(id)).unwrap_or_default();
        cx.push(Action::Select(Pick::Lasso {
            poly: poly.clone(),
            tsne: cx.state.use_tsne,
        }));
        cx.state.last_lasso = poly;
    }
}

/// The selection table: who is selected, their segment, silhouette and features; export as CSV.
fn selection_panel(cx: &mut Cx, run: &Arc<ClusterRun>, ui: &mut egui::Ui) {
    if cx.state.selection.is_empty() {
        return;
    }
    egui::Panel::bottom("selection")
        .resizable(true)
        .default_size(180.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong(format!("{} users selected", cx.state.selection.len()));
                if ui.button("Clear selection").clicked() {
                    cx.state.selection.clear();
                }
                if ui.button("Export selection…").clicked() {
                    cx.push(Action::AskFile(super::files::FilePurpose::ExportSelection));
                }
                if ui
                    .button("Copy as TSV")
                    .on_hover_text("The table, for pasting into a spreadsheet")
                    .clicked()
                {
                    cx.push(Action::CopySelection);
                }
            });
            let m = &run.matrix;
            let sel = cx.state.selection.users();
            let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
            egui::ScrollArea::both()
                .auto_shrink([false, false])
                .show_rows(ui, row_h, sel.len(), |ui, range| {
                    egui::Grid::new("selection_grid")
                        .striped(true)
                        .show(ui, |ui| {
                            ui.strong("user");
                            ui.strong("segment");
                            ui.strong("silhouette");
                            for c in &m.columns {
                                ui.strong(c);
                            }
                            ui.end_row();
                            for &i in &sel[range] {
                                ui.label(&m.users[i]);
                                ui.label(run.segmentation.labels[i].to_string());
                                ui.label(
                                    run.silhouette.values[i]
                                        .map(|v| format!("{v:.3}"))
                                        .unwrap_or_else(|| "-".into()),
                                );
                                for (j, f) in run.fitted.features.iter().enumerate() {
                                    ui.label(format!("{:.3}", f.raw_of(m.data[i * m.n_cols + j])));
                                }
                                ui.end_row();
                            }
                        });
                });
        });
}

fn sweep(cx: &mut Cx, ui: &mut egui::Ui) {
    let Some(s) = cx.analysis.sweep.clone() else {
        ui.label("Run a sweep to see inertia, mean silhouette and stability for each k.");
        if ui.button("Sweep k now").clicked() {
            cx.push(Action::RunSweep);
        }
        return;
    };
    let current = cx.analysis.cluster.params.k;
    let mut pick: Option<usize> = None;
    if s.weak_structure {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            persona_lab::cluster::sweep::WEAK_STRUCTURE_NOTE,
        );
    }
    ui.horizontal(|ui| {
        ui.strong(format!("Recommended k = {}", s.recommended_k));
        if current != s.recommended_k && ui.button(format!("Use k = {}", s.recommended_k)).clicked()
        {
            pick = Some(s.recommended_k);
        }
        ui.label(format!(
            "(red line; the current k = {current} is the white line)"
        ));
    });
    for r in &s.reasons {
        ui.label(format!("• {r}"));
    }
    ui.horizontal(|ui| {
        ui.label("What the charts show:");
        help::term_label(ui, "inertia", Term::Inertia);
        help::term_label(ui, "mean silhouette", Term::Silhouette);
        help::term_label(ui, "stability", Term::Stability);
        help::term_label(ui, "Ward and the other linkages", Term::Linkage);
    });
    // One chip per k: the current one highlighted, a click uses it (so does a click on a chart).
    ui.horizontal(|ui| {
        ui.label("Use k:");
        for pt in &s.points {
            let text = pt.k.to_string();
            let hover = format!(
                "k = {}: mean silhouette {:.3}, smallest segment {:.1}%{}",
                pt.k,
                pt.silhouette,
                pt.min_share * 100.0,
                pt.stability
                    .map(|st| format!(", stability {st:.2}"))
                    .unwrap_or_default()
            );
            if ui
                .selectable_label(pt.k == current, text)
                .on_hover_text(hover)
                .clicked()
            {
                pick = Some(pt.k);
            }
        }
    });
    let h = ui.available_height() / 2.0 - 10.0;
    let inertia: Vec<[f64; 2]> = s.points.iter().map(|p| [p.k as f64, p.inertia]).collect();
    let sil: Vec<[f64; 2]> = s
        .points
        .iter()
        .map(|p| [p.k as f64, p.silhouette])
        .collect();
    let stability: Vec<[f64; 2]> = s
        .points
        .iter()
        .filter_map(|p| p.stability.map(|st| [p.k as f64, st]))
        .collect();
    let ink = ui.visuals().strong_text_color();
    let clicked_k = |p: &egui_plot::PlotUi| -> Option<usize> {
        if !p.response().clicked() {
            return None;
        }
        let x = p.pointer_coordinate()?.x.round();
        s.points.iter().find(|pt| pt.k as f64 == x).map(|pt| pt.k)
    };
    let r = Plot::new("elbow")
        .height(h)
        .x_axis_label("k")
        .y_axis_label("inertia")
        .legend(Legend::default().position(egui_plot::Corner::RightTop))
        .show(ui, |p| {
            p.line(super::charts::line(
                "inertia",
                PlotPoints::new(inertia.clone()),
            ));
            p.points(Points::new("", inertia).radius(4.0));
            if let Some(k) = s.elbow_k {
                p.vline(VLine::new(format!("elbow k = {k}"), k as f64));
            }
            p.vline(VLine::new(format!("current k = {current}"), current as f64).color(ink));
            clicked_k(p)
        });
    pick = pick.or(r.inner);
    let r = Plot::new("silhouette_by_k")
        .height(h)
        .x_axis_label("k (click to use)")
        .y_axis_label("mean silhouette / stability")
        // 0..1 shown whole: both measures live there, and the legend gets the empty band under them.
        .include_y(0.0)
        .include_y(1.0)
        .legend(Legend::default().position(egui_plot::Corner::RightBottom))
        .show(ui, |p| {
            p.line(super::charts::line(
                "mean silhouette",
                PlotPoints::new(sil.clone()),
            ));
            p.points(Points::new("", sil).radius(4.0));
            if !stability.is_empty() {
                p.line(
                    super::charts::line(
                        format!("stability (adjusted Rand index, {} resamples)", s.resamples),
                        PlotPoints::new(stability.clone()),
                    )
                    .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
            // Named in the line above the charts, not in the legend (it would cover the curves).
            p.vline(VLine::new("", s.recommended_k as f64).color(Color32::RED));
            p.vline(VLine::new("", current as f64).color(ink));
            clicked_k(p)
        });
    pick = pick.or(r.inner);
    if let Some(k) = pick.filter(|&k| k != current) {
        cx.edit(Edit::K(k));
        cx.push(Action::SettingsChanged);
    }
}

fn profiles(cx: &mut Cx, run: &ClusterRun, ui: &mut egui::Ui) {
    let names: Vec<String> = run.fitted.features.iter().map(|f| f.id.clone()).collect();
    if names.is_empty() {
        return;
    }
    let j = cx.state.box_feature.min(names.len() - 1);
    let mut chosen = j;
    ui.horizontal(|ui| {
        // The label first: a ComboBox's own label sits after it ("sessions Box plot of").
        let l = ui.label("Box plot of");
        egui::ComboBox::from_id_salt("box feature")
            .selected_text(&names[j])
            .show_ui(ui, |ui| {
                for (i, n) in names.iter().enumerate() {
                    ui.selectable_value(&mut chosen, i, n);
                }
            })
            .response
            .labelled_by(l.id);
        ui.label("by segment (box: quartiles; whiskers: 1.5 IQR; raw units)");
    });
    cx.state.box_feature = chosen;
    let seg_names = cx.analysis.persona_names(run.segmentation.k);
    let boxes: Vec<egui_plot::BoxElem> = run
        .profiles
        .iter()
        .map(|p| {
            let s = &p.features[chosen];
            egui_plot::BoxElem::new(
                p.id as f64,
                egui_plot::BoxSpread::new(s.whisker_low, s.q1, s.median, s.q3, s.whisker_high),
            )
            .name(format!("segment {}: {}", p.id, seg_names[p.id]))
            .fill(colour(p.id).gamma_multiply(0.5))
            .stroke(egui::Stroke::new(1.5, colour(p.id)))
        })
        .collect();
    Plot::new("boxplot")
        .height(ui.available_height() * 0.45)
        .x_axis_label("segment")
        .y_axis_label(names[chosen].clone())
        .show(ui, |p| {
            p.add(egui_plot::BoxPlot::new(names[chosen].clone(), boxes));
        });
    ui.label("Mean of each feature per segment as a z-score against all users (blue below, orange above).");
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("profiles").striped(false).show(ui, |ui| {
            ui.strong("persona");
            ui.strong("users");
            // Display names, wrapped to a narrow column so the table fits without scrolling.
            for f in &run.fitted.features {
                ui.scope(|ui| {
                    ui.set_max_width(92.0);
                    ui.add(
                        egui::Label::new(
                            RichText::new(persona_lab::features::display::name(&f.id)).strong(),
                        )
                        .wrap(),
                    )
                    .on_hover_text(format!("feature {}", f.id));
                });
            }
            ui.end_row();
            let names = cx.analysis.persona_names(run.segmentation.k);
            for p in &run.profiles {
                ui.label(
                    RichText::new(format!("{} {}", p.id, names[p.id]))
                        .color(colour(p.id))
                        .strong(),
                );
                ui.label(format!("{} ({:.0}%)", p.size, 100.0 * p.share));
                for s in &p.features {
                    let z = s.z.clamp(-2.0, 2.0) / 2.0;
                    let bg = if z >= 0.0 {
                        Color32::from_rgba_unmultiplied(230, 159, 0, (z * 140.0) as u8)
                    } else {
                        Color32::from_rgba_unmultiplied(0, 114, 178, (-z * 140.0) as u8)
                    };
                    egui::Frame::new().fill(bg).show(ui, |ui| {
                        ui.label(format!("{:+.2}", s.z))
                            .on_hover_text(format!("mean {:.3}, median {:.3}", s.mean, s.median));
                    });
                }
                ui.end_row();
            }
        });
    });
}
