//! Export what you see: the chart on screen as a PNG (a crop of the window's own pixels, so it is
//! exactly what the analyst looked at) and the numbers behind it as CSV (the run's results as they
//! are, nothing recomputed); tables copy as TSV.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::mpsc::Sender;

use persona_lab::pipeline::ClusterRun;

use super::state::Chart;

/// Where finished PNG writes report ("wrote …" or why not), and where the app reads them.
pub type Outcomes = (
    Sender<Result<String, String>>,
    std::sync::mpsc::Receiver<Result<String, String>>,
);

/// One CSV field: quoted when it holds a comma, a quote or a line break (ids are text), and with a
/// leading `'` when a spreadsheet would run it as a formula (a persona named "=HYPERLINK(...)"), as
/// every CSV the app writes (`persona_lab::spreadsheet`).
pub fn field(s: &str) -> String {
    let s = persona_lab::spreadsheet::cell(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Rows as CSV text, header first.
fn csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push('\n');
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| field(c)).collect();
        let _ = writeln!(out, "{}", cells.join(","));
    }
    out
}

/// Rows as TSV (what a spreadsheet pastes into columns): tabs and line breaks inside a cell become
/// spaces.
pub fn tsv(header: &[&str], rows: &[Vec<String>]) -> String {
    let clean = |s: &str| persona_lab::spreadsheet::cell(s).replace(['\t', '\n', '\r'], " ");
    let mut out = header.join("\t");
    out.push('\n');
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| clean(c)).collect();
        let _ = writeln!(out, "{}", cells.join("\t"));
    }
    out
}

/// The selection table as TSV: what the panel shows, for every selected user.
pub fn selection_tsv(sel: &[usize], run: &ClusterRun) -> String {
    let m = &run.matrix;
    let mut header = vec!["user", "segment", "silhouette"];
    header.extend(m.columns.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = sel
        .iter()
        .filter(|&&i| i < m.n_rows)
        .map(|&i| {
            let mut r = vec![
                m.users[i].clone(),
                run.segmentation.labels[i].to_string(),
                run.silhouette.values[i]
                    .map(|v| format!("{v:.3}"))
                    .unwrap_or_else(|| "-".into()),
            ];
            r.extend(
                run.fitted
                    .features
                    .iter()
                    .enumerate()
                    .map(|(j, f)| format!("{:.3}", f.raw_of(m.data[i * m.n_cols + j]))),
            );
            r
        })
        .collect();
    tsv(&header, &rows)
}

/// The numbers behind a clusters chart, as CSV, and a file name for them. `names`: persona names by
/// segment; `sweep`: the last sweep, when the chart is the sweep.
pub fn chart_csv(
    chart: Chart,
    run: &ClusterRun,
    names: &[String],
    sweep: Option<&persona_lab::cluster::Sweep>,
) -> Option<(&'static str, String)> {
    let seg = &run.segmentation;
    let users = &run.matrix.users;
    let name = |s: usize| names.get(s).cloned().unwrap_or_default();
    let num = |x: f64| format!("{x}");
    Some(match chart {
        Chart::Silhouette => (
            "silhouette.csv",
            csv(
                &["user_id", "segment", "persona", "silhouette"],
                users.iter().enumerate().map(|(i, u)| {
                    vec![
                        u.clone(),
                        seg.labels[i].to_string(),
                        name(seg.labels[i]),
                        run.silhouette.values[i].map(num).unwrap_or_default(),
                    ]
                }),
            ),
        ),
        Chart::Dendrogram => (
            "linkage.csv",
            csv(
                &["cluster_a", "cluster_b", "height", "size"],
                seg.dendrogram.as_ref()?.merges.iter().map(|m| {
                    vec![
                        m.a.to_string(),
                        m.b.to_string(),
                        num(m.height),
                        m.size.to_string(),
                    ]
                }),
            ),
        ),
        Chart::Scatter => {
            let dims = run.pca.n_components;
            (
                "pca.csv",
                csv(
                    &["user_id", "segment", "persona", "pc1", "pc2"],
                    users.iter().enumerate().map(|(i, u)| {
                        vec![
                            u.clone(),
                            seg.labels[i].to_string(),
                            name(seg.labels[i]),
                            num(run.coords[i * dims]),
                            if dims > 1 {
                                num(run.coords[i * dims + 1])
                            } else {
                                String::new()
                            },
                        ]
                    }),
                ),
            )
        }
        Chart::Sweep => (
            "sweep.csv",
            csv(
                &[
                    "k",
                    "inertia",
                    "mean_silhouette",
                    "smallest_share",
                    "stability",
                ],
                sweep?.points.iter().map(|p| {
                    vec![
                        p.k.to_string(),
                        num(p.inertia),
                        num(p.silhouette),
                        num(p.min_share),
                        p.stability.map(num).unwrap_or_default(),
                    ]
                }),
            ),
        ),
        Chart::Profiles => (
            "profiles.csv",
            csv(
                &[
                    "segment", "persona", "feature", "mean", "median", "q1", "q3", "z",
                ],
                run.profiles.iter().flat_map(|p| {
                    p.features.iter().map(move |f| {
                        vec![
                            p.id.to_string(),
                            name(p.id),
                            f.feature.clone(),
                            num(f.mean),
                            num(f.median),
                            num(f.q1),
                            num(f.q3),
                            num(f.z),
                        ]
                    })
                }),
            ),
        ),
    })
}

/// The Predict view's curves as CSV: one row per point, `curve` naming it (roc: false / true
/// positive rate; pr: recall / precision; calibration: mean predicted / observed share).
pub fn predict_curves_csv(p: &persona_lab::predict::Prediction) -> String {
    let m = &p.metrics;
    let num = |x: f64| format!("{x}");
    let rows = m
        .roc
        .iter()
        .map(|&(x, y)| vec!["roc".to_string(), num(x), num(y)])
        .chain(
            m.pr.iter()
                .map(|&(x, y)| vec!["pr".to_string(), num(x), num(y)]),
        )
        .chain(m.calibration.iter().map(|b| {
            vec![
                "calibration".to_string(),
                num(b.mean_predicted),
                num(b.observed),
            ]
        }));
    csv(&["curve", "x", "y"], rows)
}

/// Encode a region of a screenshot (points, scaled by `pixels_per_point`) as PNG bytes.
pub fn png_of(
    shot: &egui::ColorImage,
    region: egui::Rect,
    pixels_per_point: f32,
) -> Result<Vec<u8>, String> {
    let full = egui::Rect::from_min_size(
        egui::Pos2::ZERO,
        egui::vec2(
            shot.size[0] as f32 / pixels_per_point,
            shot.size[1] as f32 / pixels_per_point,
        ),
    );
    let region = region.intersect(full);
    if region.width() < 1.0 || region.height() < 1.0 {
        return Err("the chart is not on screen".into());
    }
    let part = shot.region(&region, Some(pixels_per_point));
    let [w, h] = part.size;
    let rgba: Vec<u8> = part.pixels.iter().flat_map(|c| c.to_array()).collect();
    let img = image::RgbaImage::from_raw(w as u32, h as u32, rgba)
        .ok_or("the screenshot has the wrong size")?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// Ask the window for its next frame's pixels, crop the chart from them and write it to `path` on
/// a worker; the outcome ("wrote …" or why not) arrives on `done`.
pub fn save_png(
    ctx: &egui::Context,
    region: egui::Rect,
    path: PathBuf,
    done: Sender<Result<String, String>>,
) {
    let ppp = ctx.pixels_per_point();
    let repaint = ctx.clone();
    ctx.request_screenshot(move |shot| {
        // Encoding takes a few tens of milliseconds: not on the window's thread.
        std::thread::spawn(move || {
            let r = png_of(&shot, region, ppp).and_then(|bytes| {
                persona_lab::output::write_bytes(&path, &bytes)
                    .map(|()| format!("wrote {}", path.display()))
                    .map_err(|e| e.to_string())
            });
            let _ = done.send(r);
            repaint.request_repaint();
        });
    });
    ctx.request_repaint();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed_and_tsv_cells_stay_in_place() {
        assert_eq!(field("u-1"), "u-1");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            tsv(&["a", "b"], &[vec!["x\ty".into(), "1".into()]]),
            "a\tb\nx y\t1\n"
        );
    }

    /// Persona names are the analyst's text: one that starts like a formula reaches a spreadsheet as
    /// text, through the chart's CSV and through Copy as TSV; negative numbers stay numbers.
    #[test]
    fn formula_like_cells_are_defused_in_csv_and_tsv() {
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("-0.125"), "-0.125");
        assert_eq!(
            tsv(&["persona", "share"], &[vec!["+cmd".into(), "-1.5".into()]]),
            "persona\tshare\n'+cmd\t-1.5\n"
        );
    }

    #[test]
    fn a_chart_region_becomes_a_png_of_its_pixels() {
        // 4 x 2 points at 2 pixels per point: 8 x 4 pixels, the right half red.
        let mut shot = egui::ColorImage::filled([8, 4], egui::Color32::BLACK);
        for y in 0..4 {
            for x in 4..8 {
                shot.pixels[y * 8 + x] = egui::Color32::RED;
            }
        }
        let region = egui::Rect::from_min_max(egui::pos2(2.0, 0.0), egui::pos2(4.0, 2.0));
        let bytes = png_of(&shot, region, 2.0).unwrap();
        let back = image::load_from_memory(&bytes).unwrap().to_rgba8();
        assert_eq!(back.dimensions(), (4, 4));
        assert!(back.pixels().all(|p| p.0 == [255, 0, 0, 255]));
        // Off screen: said, not a panic.
        let off = egui::Rect::from_min_max(egui::pos2(50.0, 50.0), egui::pos2(60.0, 60.0));
        assert!(png_of(&shot, off, 2.0).is_err());
    }
}
