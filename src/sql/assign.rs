//! `persona-lab sql assign`: one query that puts every user of a profile table into a segment exactly
//! as `assign` does (fill, log1p, scaler, weight, nearest centroid with the runtime's summation order
//! and ties to the lower segment), with the persona and every model's score and band: the weekly
//! re-segmentation of a whole user base, run in the warehouse.
//!
//! One difference is documented rather than hidden: `log1p` is `LN(1 + x)` (DuckDB, BigQuery and
//! Snowflake have no `log1p`), which can differ from the C library's `log1p` in the last bits; the
//! tests measure it (to 1e-12 relative) and the segments it gives (all equal).

use persona_lab_runtime::features::FittedFeature;
use persona_lab_runtime::ruleset::RuleSet;
use persona_lab_runtime::scores::{Fitted, Node, Tree};

use super::dialect::Dialect;

/// The raw value of `f` from the table column, filled and transformed, scaled and weighted as the
/// runtime does (`FittedFeature::scaled` / `weighted`).
fn scaled(d: Dialect, f: &FittedFeature) -> String {
    let raw = format!(
        "COALESCE({}, {})",
        d.finite(&d.ident(&d.column_name(&f.id))),
        d.num(f.fill)
    );
    let t = if f.log1p {
        format!("LN({} + GREATEST({raw}, {}))", d.num(1.0), d.num(0.0))
    } else {
        raw
    };
    format!("(({t}) - {}) / {}", d.num(f.center), d.num(f.scale))
}

/// `a + b + ...` added left to right as written (SQL's `+` is left-associative); `0` when empty.
fn sum(d: Dialect, terms: &[String]) -> String {
    if terms.is_empty() {
        d.num(0.0)
    } else {
        format!("({})", terms.join(" + "))
    }
}

/// The squared distance of the vector columns `v0..` to a centroid, in the runtime's order: four lane
/// sums over the first 4·floor(n/4) values, the tail in order, `((L0 + L1) + (L2 + L3)) + T`.
fn distance(d: Dialect, centroid: &[f64]) -> String {
    let n = centroid.len();
    let sq = |j: usize| {
        let diff = format!("(v{j} - {})", d.num(centroid[j]));
        format!("{diff} * {diff}")
    };
    let full = n / 4 * 4;
    let lanes: Vec<String> = (0..4)
        .map(|lane| {
            let terms: Vec<String> = (lane..full).step_by(4).map(sq).collect();
            sum(d, &terms)
        })
        .collect();
    let tail: Vec<String> = (full..n).map(sq).collect();
    format!(
        "(({} + {}) + ({} + {})) + {}",
        lanes[0],
        lanes[1],
        lanes[2],
        lanes[3],
        sum(d, &tail)
    )
}

/// A tree as nested CASE over the model's scaled inputs `m{model}_{j}`.
fn tree(d: Dialect, t: &Tree, i: usize, model: usize, depth: usize) -> String {
    match t.nodes.get(i) {
        Some(Node::Leaf(p)) => d.num(*p),
        // Children come after their parent (checked by verify), so this ends.
        Some(&Node::Split(j, thr, l, r)) if l > i && r > i && depth < 4096 => format!(
            "CASE WHEN m{model}_{j} <= {} THEN {} ELSE {} END",
            d.num(thr),
            tree(d, t, l, model, depth + 1),
            tree(d, t, r, model, depth + 1)
        ),
        _ => format!("CAST(NULL AS {})", d.double_type()),
    }
}

/// A name inside a block comment.
fn comment(s: &str) -> String {
    s.replace("*/", "* /").replace('\n', " ")
}

/// The query. `table` is used as written (a table, a view, or `read_parquet('...')` in DuckDB);
/// `id_col` is the user id column.
pub fn query(rs: &RuleSet, d: Dialect, table: &str, id_col: &str) -> String {
    let feats = &rs.features.transform.features;
    let k = rs.segments.centroids.len();
    let mut inputs = vec![format!(
        "CAST({} AS {}) AS user_id",
        d.ident(id_col),
        d.text_type()
    )];
    for (j, f) in feats.iter().enumerate() {
        inputs.push(format!(
            "{} * ({}) AS v{j} /* {} */",
            d.num(f.weight),
            scaled(d, f),
            comment(&f.id)
        ));
    }
    for (m, model) in rs.models.iter().enumerate() {
        for (j, f) in model.transform.features.iter().enumerate() {
            inputs.push(format!(
                "{} AS m{m}_{j} /* {}: {} */",
                scaled(d, f),
                comment(&model.name),
                comment(&f.id)
            ));
        }
    }
    let mut dists = vec!["*".to_string()];
    for (s, c) in rs.segments.centroids.iter().enumerate() {
        dists.push(format!("{} AS d{s}", distance(d, c)));
    }
    for (m, model) in rs.models.iter().enumerate() {
        let n = model.transform.features.len();
        let score = match &model.model {
            Fitted::Logistic(l) => {
                let terms: Vec<String> = l
                    .coef
                    .iter()
                    .take(n)
                    .enumerate()
                    .map(|(j, w)| format!("{} * m{m}_{j}", d.num(*w)))
                    .collect();
                format!(
                    "{} / ({} + EXP(-({} + {})))",
                    d.num(1.0),
                    d.num(1.0),
                    d.num(l.intercept),
                    sum(d, &terms)
                )
            }
            Fitted::Forest(f) => {
                let trees: Vec<String> = f.trees.iter().map(|t| tree(d, t, 0, m, 0)).collect();
                format!(
                    "{} / {}",
                    sum(d, &trees),
                    d.num(f.trees.len().max(1) as f64)
                )
            }
        };
        dists.push(format!("{score} AS {}", d.ident(&model.name)));
    }
    // The lowest segment among the nearest: segment s when it is strictly nearer than every lower
    // one (those branches came first) and no farther than every higher one.
    let mut segment = String::from("CASE");
    for s in 0..k.saturating_sub(1) {
        let conds: Vec<String> = (s + 1..k).map(|t| format!("d{s} <= d{t}")).collect();
        segment.push_str(&format!(" WHEN {} THEN {s}", conds.join(" AND ")));
    }
    segment.push_str(&format!(" ELSE {} END", k.saturating_sub(1)));
    let persona_case = |f: &dyn Fn(usize) -> String| {
        let mut c = String::from("CASE segment");
        for s in 0..k {
            c.push_str(&format!(" WHEN {s} THEN {}", d.text(&f(s))));
        }
        c.push_str(" END");
        c
    };
    let persona_id = |s: usize| {
        rs.persona_of(s)
            .map(|p| p.id.clone())
            .unwrap_or_else(|| format!("segment_{s}"))
    };
    let mut out_cols = vec![
        "user_id".to_string(),
        "segment".to_string(),
        format!("{} AS persona", persona_case(&persona_id)),
        format!(
            "{} AS persona_name",
            persona_case(&|s| rs.persona_name(&persona_id(s)))
        ),
    ];
    for model in &rs.models {
        let id = d.ident(&model.name);
        out_cols.push(id.clone());
        out_cols.push(format!(
            "CASE WHEN {id} >= {} THEN 'high' WHEN {id} >= {} THEN 'medium' ELSE 'low' END AS {}",
            d.num(model.bands.1),
            d.num(model.bands.0),
            d.ident(&format!("{}_band", model.name))
        ));
    }
    let out_cols: Vec<String> = out_cols
        .iter()
        .map(|c| super::features::named(d, c))
        .collect();
    let checksum = rs.sealed().checksum.map(|c| c.content).unwrap_or_default();
    format!(
        "-- persona-lab sql assign ({d}): the rule set created {}, content {checksum}.\n\
         -- {k} segments by nearest centroid over {} features; {} model(s). LN(1 + x) stands for log1p.\n\
         WITH x AS (\n  SELECT\n    {}\n  FROM {table}\n),\n\
         d AS (\n  SELECT\n    {}\n  FROM x\n),\n\
         s AS (\n  SELECT *, {segment} AS segment\n  FROM d\n)\n\
         SELECT\n  {}\nFROM s\n",
        rs.created,
        feats.len(),
        rs.models.len(),
        inputs.join(",\n    "),
        dists.join(",\n    "),
        out_cols.join(",\n  ")
    )
}
