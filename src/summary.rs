//! Human-readable summaries of a load, a profile and a fitted transform: what `inspect` and
//! `features` print and the app's Data view shows (one text for both front ends).

use std::fmt::Write;

use crate::data::source::SourceKind;
use crate::data::{Loaded, Role, Shape};
use crate::features::{FeatureConfig, FittedTransform, Profile, SessionSource};

fn fmt_time(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| us.to_string())
}

/// Distinct users of a load. Counting them is a pass over every id (a third of a second at 10 million
/// events), so when the profile covers every event its row count is used instead.
pub fn users_of(l: &Loaded, p: &Profile, cfg: &FeatureConfig) -> usize {
    if l.shape == Shape::Events && cfg.as_of.is_none() {
        p.n_users()
    } else {
        l.n_users()
    }
}

/// `users`: the distinct users of the load (see `users_of`).
pub fn load_summary(l: &Loaded, users: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "input      {}", l.path.display());
    if l.source != SourceKind::File {
        // The first and the last file say what the folder holds; all of them would be a page.
        let names = match l.files.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [a, b] => format!("{a}, {b}"),
            [first, .., last] => format!("{first} … {last}"),
        };
        let _ = writeln!(s, "files      {} ({}): {names}", l.files.len(), l.source);
        if !l.skipped_files.is_empty() {
            let _ = writeln!(
                s,
                "not read   {} (not CSV, Parquet, NDJSON or Avro by name)",
                crate::data::column_list(&l.skipped_files)
            );
        }
    }
    let _ = writeln!(
        s,
        "format     {}{}{}   preset: {}",
        l.format,
        if l.gzip { " (gzip)" } else { "" },
        l.delimiter
            .map(|d| format!(", delimiter {:?}", d as char))
            .unwrap_or_default(),
        l.preset
    );
    if let Some(sp) = &l.spill {
        let _ = writeln!(
            s,
            "streamed   read in batches of {} into {} parts by user on disk ({}; removed when \
             done): the export does not fit in the memory budget",
            crate::data::memory::human(sp.settings.batch_bytes as u64),
            sp.parts.len(),
            crate::data::memory::human(sp.disk_bytes)
        );
    }
    let _ = writeln!(s, "shape      {}", l.shape);
    let _ = writeln!(s, "roles");
    for role in Role::ALL {
        let col = l.mapping.get(role);
        let extra = match role {
            Role::UserId => l
                .mapping
                .user_id_fallback
                .as_ref()
                .map(|f| format!(" (else {f})"))
                .unwrap_or_default(),
            Role::Event => l
                .mapping
                .event_fallback
                .as_ref()
                .map(|f| format!(" (else {f})"))
                .unwrap_or_default(),
            Role::Value if !l.mapping.value_fallback.is_empty() => {
                format!(" (else {})", l.mapping.value_fallback.join(", else "))
            }
            Role::Timestamp => l
                .time_encoding
                .as_ref()
                .map(|e| match &l.time_zone {
                    Some(z) => format!(" [{e}, in {}]", crate::terminal::clean_line(z)),
                    None => format!(" [{e}]"),
                })
                .unwrap_or_default(),
            Role::Duration => l
                .duration_unit
                .map(|u| format!(" [{u:?}]").to_lowercase())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let col = match (col, role) {
            (None, Role::Event) => l
                .mapping
                .every_row
                .as_ref()
                .map(|e| format!("- (every row: {e})")),
            _ => col.map(str::to_string),
        };
        let _ = writeln!(
            s,
            "  {:<28}{}{}",
            role.label(),
            col.as_deref().unwrap_or("-"),
            extra
        );
        for r in l.reasons.iter().filter(|r| r.role == Some(role)) {
            let _ = writeln!(s, "  {:<28}  why: {}", "", r.text);
        }
    }
    if !l.mapping.attributes.is_empty() {
        let _ = writeln!(
            s,
            "  {:<28}{} (per user: the most frequent value)",
            "attributes",
            l.mapping.attributes.join(", ")
        );
    }
    if !l.mapping.measures.is_empty() {
        let _ = writeln!(
            s,
            "  {:<28}{} (optional features sum:, mean:, max: per user)",
            "other measures",
            crate::data::column_list(&l.mapping.measures)
        );
    }
    if !l.mapping.dedup_key.is_empty() {
        let _ = writeln!(
            s,
            "  {:<28}{}",
            "duplicates by",
            l.mapping.dedup_key.join(" + ")
        );
    }
    for r in l.reasons.iter().filter(|r| r.role.is_none()) {
        let _ = writeln!(s, "shape why  {}", r.text);
    }
    let _ = writeln!(
        s,
        "{}     {} read, {} kept{}",
        if l.shape == Shape::Events {
            "events"
        } else {
            "rows  "
        },
        l.rows_read,
        l.rows_kept(),
        if l.rows_dropped.is_empty() {
            String::new()
        } else {
            format!(
                " (dropped: {})",
                l.rows_dropped
                    .iter()
                    .map(|(r, c)| format!("{c} {r}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    let _ = writeln!(
        s,
        "users      {}{}",
        users,
        if l.hashed_ids {
            " (ids hashed with the salt)"
        } else {
            ""
        }
    );
    if l.shape == Shape::Events
        && let Some((a, b)) = l.time_span()
    {
        let _ = writeln!(
            s,
            "span       {} .. {} ({:.1} days)",
            fmt_time(a),
            fmt_time(b),
            (b - a) as f64 / 86_400e6
        );
    }
    if !l.left_out.is_empty() {
        let _ = writeln!(s, "columns left out");
        for lo in &l.left_out {
            let _ = writeln!(s, "  {:<27} {}", lo.column, lo.reason);
        }
    }
    if !l.warnings.is_empty() {
        let _ = writeln!(s, "warnings");
        for w in &l.warnings {
            let _ = writeln!(s, "  - {w}");
        }
    }
    s
}

pub fn profile_summary(p: &Profile, t: &FittedTransform) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "profile    {} users x {} features{}",
        p.n_users(),
        p.features.len(),
        match p.sessions {
            SessionSource::Column => ", sessions from the session column",
            SessionSource::InactivityGap => ", sessions split by inactivity gap",
            SessionSource::None => "",
        }
    );
    if let Some(r) = p.reference_time {
        let _ = writeln!(s, "reference  {} (recency and decay)", fmt_time(r));
    }
    for (k, names) in &p.kinds_found {
        let _ = writeln!(s, "  {:<28}{}", k.label(), names.join(", "));
    }
    if !p.unavailable.is_empty() {
        let _ = writeln!(s, "features not available");
        for (f, why) in &p.unavailable {
            let _ = writeln!(s, "  {f:<28}{why}");
        }
    }
    let _ = writeln!(
        s,
        "engagement score = sum of weight * scaled value, days since the last visit subtracted ({:?} scaler):",
        t.scaler
    );
    let _ = writeln!(
        s,
        "  {:<28}{:>7} {:>6} {:>8} {:>12} {:>12}",
        "feature", "weight", "log1p", "missing", "center", "scale"
    );
    for f in &t.features {
        let _ = writeln!(
            s,
            "  {:<28}{:>7} {:>6} {:>8} {:>12.5} {:>12.5}",
            f.id,
            f.weight,
            if f.log1p { "yes" } else { "no" },
            format!("{:?}", f.missing).to_lowercase(),
            f.center,
            f.scale
        );
    }
    for (f, n, policy, fill) in &t.filled {
        let _ = writeln!(
            s,
            "  note: {f}: {n} missing value(s) filled with {fill} ({policy:?})"
        );
    }
    for (f, why) in &t.excluded {
        let _ = writeln!(s, "  left out of the score: {f}: {why}");
    }
    for n in &t.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    s
}
