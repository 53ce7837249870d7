//! Help where the analyst needs it: the terms of the trade explained in plain words on hover (with
//! the README section that says more), and a short first-run guide over the sample, shown once.

use std::path::PathBuf;

use egui::{Response, RichText, Ui};

/// A term the app uses that an analyst may not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    Silhouette,
    Inertia,
    Stability,
    Ward,
    Linkage,
    Perplexity,
    RocAuc,
    PrAuc,
    Holdout,
    Lift,
}

impl Term {
    /// The explanation, in plain words, and the README section with the details.
    pub fn explain(self) -> (&'static str, &'static str) {
        match self {
            Term::Silhouette => (
                "How well a user sits in their segment: near 1, much closer to their own segment \
                 than to the next; near 0, on the border; below 0, closer to another segment. The \
                 mean over users judges a whole segmentation: above 0.5 is clear structure, 0.25 to \
                 0.5 reasonable, below 0.25 weak.",
                "Clustering and validation",
            ),
            Term::Inertia => (
                "The sum of squared distances from each user to their segment's centre. It always \
                 falls as k grows; the elbow, where it stops falling fast, hints at a natural k.",
                "Clustering and validation",
            ),
            Term::Stability => (
                "Whether the segments come back when the users are clustered again on seeded 80% \
                 samples: 1 = the same segments every time; under 0.6 a segment may be an accident \
                 of this sample.",
                "Clustering and validation",
            ),
            Term::Ward => (
                "Ward linkage merges, step by step, the two groups whose merge adds the least \
                 spread: it makes compact, similar-sized segments, like k-means.",
                "Clustering and validation",
            ),
            Term::Linkage => (
                "How hierarchical clustering measures the distance between two groups: Ward (least \
                 added spread, compact groups), average (mean distance between their users), \
                 complete (their farthest users: tight groups), single (their closest users: long \
                 chains, finds odd shapes and outliers).",
                "Clustering and validation",
            ),
            Term::Perplexity => (
                "t-SNE's sense of neighbourhood size: roughly how many neighbours each user keeps \
                 close in the picture (30 by default). Distances between far-apart groups in a \
                 t-SNE picture mean little.",
                "Clustering and validation",
            ),
            Term::RocAuc => (
                "The chance that the model scores a random positive user (who churned or converted) \
                 above a random negative one: 0.5 is guessing, 1 is perfect. It does not depend on \
                 the threshold or on how rare positives are.",
                "predict",
            ),
            Term::PrAuc => (
                "Average precision: how precise the model's top-ranked users are, averaged over \
                 every recall level. Guessing scores the share of positives, so judge it against \
                 that, especially when positives are rare.",
                "predict",
            ),
            Term::Holdout => (
                "A share of the users a rule matches who are kept on the default content on \
                 purpose, so that comparing them with the treated users measures what the rule \
                 really changes.",
                "The desktop app",
            ),
            Term::Lift => (
                "How much better the treated users convert than the holdout: (treated rate - \
                 holdout rate) / holdout rate, with a confidence interval; an interval that spans 0 \
                 means no proven effect yet.",
                "report and drift",
            ),
        }
    }
}

/// Attach the term's explanation to a widget's hover.
pub fn explain(r: Response, term: Term) -> Response {
    let (text, section) = term.explain();
    r.on_hover_ui(|ui| {
        ui.set_max_width(360.0);
        ui.label(text);
        ui.label(RichText::new(format!("More: README, \"{section}\"")).weak());
    })
}

/// A label with a term's explanation on hover, marked so the reader knows to hover.
pub fn term_label(ui: &mut Ui, text: &str, term: Term) -> Response {
    explain(ui.label(format!("{text} (?)")), term)
}

/// The first-run guide: its steps, and whether it was seen.
pub const GUIDE: &[(&str, &str)] = &[
    (
        "1 · Data",
        "The bundled sample is open: 90 days of a fashion shop's GA4 export. Open your own export \
         (CSV, Parquet, NDJSON, Avro, zip, or a folder of daily files) with Open…, or drop it on \
         the window.",
    ),
    (
        "2 · Features",
        "Each user becomes a profile: visits, days since the last visit, pages, products and time \
         per visit, orders, revenue. Tick the features that matter and weight them.",
    ),
    (
        "3 · Clusters",
        "Users with similar profiles form segments. The \"Elbow / silhouette by k\" tab recommends a k and \
         says why; click another k to try it. The silhouette plot shows how clearly each user \
         belongs.",
    ),
    (
        "4 · Personas and rules",
        "Each segment gets a persona drafted in plain words: rename it, then write rules for what \
         each persona sees, and export the rule set for engineering.",
    ),
];

/// Where the guide remembers it was seen.
pub struct Guide {
    pub step: usize,
    pub marker: PathBuf,
}

impl Guide {
    /// The guide, unless `marker` says it was seen.
    pub fn unless_seen(marker: PathBuf) -> Option<Guide> {
        (!marker.exists()).then_some(Guide { step: 0, marker })
    }

    /// Never show it again.
    fn done(&self) {
        if let Some(dir) = self.marker.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = persona_lab::output::write_bytes(&self.marker, b"the first-run guide was seen\n");
    }
}

/// Draw the guide; returns false once it is closed (and then never shown again).
pub fn show_guide(g: &mut Guide, ctx: &egui::Context) -> bool {
    let mut open = true;
    let (title, text) = GUIDE[g.step.min(GUIDE.len() - 1)];
    egui::Window::new("Welcome to Persona Lab")
        .id(egui::Id::unique("first_run_guide"))
        .collapsible(false)
        .resizable(false)
        .default_width(420.0)
        .anchor(egui::Align2::RIGHT_BOTTOM, [-16.0, -16.0])
        .show(ctx, |ui| {
            ui.strong(title);
            ui.add(egui::Label::new(text).wrap());
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(g.step > 0, egui::Button::new("Back"))
                    .clicked()
                {
                    g.step -= 1;
                }
                if g.step + 1 < GUIDE.len() {
                    if ui.button("Next").clicked() {
                        g.step += 1;
                    }
                } else if ui.button("Done").clicked() {
                    open = false;
                }
                if ui.button("Skip the guide").clicked() {
                    open = false;
                }
                ui.label(RichText::new(format!("{} of {}", g.step + 1, GUIDE.len())).weak());
            });
        });
    if !open {
        g.done();
    }
    open
}
