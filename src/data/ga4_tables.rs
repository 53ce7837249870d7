//! GA4's BigQuery dataset as files: which of its tables to read. A dataset exported whole (`bq
//! extract` per table, or a folder of `events_*` shards) can hold the same day twice:
//!
//! - `events_YYYYMMDD`: the daily table, complete (updated for late events up to three days);
//! - `events_fresh_YYYYMMDD` (GA4 360): the same day, delivered early;
//! - `events_intraday_YYYYMMDD` (streaming export): the day so far. GA4 deletes it once the day's
//!   daily table is complete, so an export taken meanwhile holds both, and reading both counts the
//!   day's events twice (what `events_*` in BigQuery does too);
//! - `users_YYYYMMDD`, `pseudonymous_users_YYYYMMDD`: the user-data export, one row per user, not
//!   events: unioned with the events by column name they would become events of no kind.
//!
//! So, once an export holds events tables: of each day the daily table is read, else the fresh one,
//! else the intraday one, and the user-data tables are left out; each file left out is said with why.
//! Files whose names say no table (another vendor's, or the user's own) are never touched.

/// A GA4 table kind, by its name's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Table {
    /// Lower is preferred for the same day.
    Daily,
    Fresh,
    Intraday,
    Users,
}

/// Prefixes, longest first where one ends another (`pseudonymous_users_` before `users_`).
const PREFIXES: [(&str, Table); 5] = [
    ("events_intraday_", Table::Intraday),
    ("events_fresh_", Table::Fresh),
    ("events_", Table::Daily),
    ("pseudonymous_users_", Table::Users),
    ("users_", Table::Users),
];

/// The table and day a file belongs to, from the innermost path component that names one:
/// `events_20240601.json.gz`, `events_intraday_20240602-000000000001.parquet` (a sharded extract),
/// `events_20240601/part-0.avro` (a folder per table).
fn table_of(name: &str) -> Option<(Table, &str)> {
    name.rsplit(['/', '\\']).find_map(|part| {
        PREFIXES.iter().find_map(|&(prefix, table)| {
            let rest = part.strip_prefix(prefix)?;
            let day = rest.get(..8)?;
            // The day ends the name, or a shard number, a folder or an extension follows it.
            let ends = rest[8..]
                .chars()
                .next()
                .is_none_or(|c| matches!(c, '.' | '-' | '_'));
            (day.bytes().all(|b| b.is_ascii_digit()) && ends).then_some((table, day))
        })
    })
}

/// The files (by index into `names`) to leave out, each with the reason in words.
pub fn superseded(names: &[String]) -> Vec<(usize, String)> {
    let tables: Vec<Option<(Table, &str)>> = names.iter().map(|n| table_of(n)).collect();
    if !tables.iter().flatten().any(|(t, _)| *t != Table::Users) {
        return Vec::new();
    }
    // The preferred table of each day.
    let mut best: std::collections::BTreeMap<&str, Table> = Default::default();
    for &(t, day) in tables.iter().flatten() {
        if t != Table::Users {
            let b = best.entry(day).or_insert(t);
            *b = (*b).min(t);
        }
    }
    let table_name = |t: Table, day: &str| match t {
        Table::Daily => format!("events_{day}"),
        Table::Fresh => format!("events_fresh_{day}"),
        Table::Intraday => format!("events_intraday_{day}"),
        Table::Users => format!("users_{day}"),
    };
    tables
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let (t, day) = (*t)?;
            let why = match t {
                Table::Users => "GA4's user-data export (one row per user, not events)".to_string(),
                _ if best[day] == t => return None,
                Table::Intraday => format!(
                    "{} holds the same day complete (GA4 deletes the intraday table once it is)",
                    table_name(best[day], day)
                ),
                _ => format!(
                    "{} holds the same day (the daily table is the complete one)",
                    table_name(best[day], day)
                ),
            };
            Some((i, format!("{}: {why}", names[i])))
        })
        .collect()
}

/// The warning for the files left out: how many, and the first few with why.
pub fn describe(left_out: &[String]) -> String {
    const SHOW: usize = 3;
    let mut s = format!(
        "{} GA4 table file{} not read: {}",
        left_out.len(),
        if left_out.len() == 1 { "" } else { "s" },
        left_out
            .iter()
            .take(SHOW)
            .map(|w| crate::terminal::clean_line(w))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if left_out.len() > SHOW {
        s.push_str(&format!("; and {} more", left_out.len() - SHOW));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left_out(names: &[&str]) -> Vec<String> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        superseded(&names)
            .into_iter()
            .map(|(i, _)| names[i].clone())
            .collect()
    }

    #[test]
    fn a_day_is_read_once_from_its_most_complete_table() {
        assert_eq!(
            left_out(&[
                "events_20240601.json",
                "events_intraday_20240601.json",
                "events_intraday_20240602.json",
                "events_fresh_20240601.json",
                "events_fresh_20240603.json",
                "events_intraday_20240603.json",
            ]),
            [
                "events_intraday_20240601.json",
                "events_fresh_20240601.json",
                "events_intraday_20240603.json"
            ]
        );
        let names = vec![
            "events_20240601.json".to_string(),
            "events_intraday_20240601.json".to_string(),
        ];
        assert_eq!(
            superseded(&names),
            [(
                1,
                "events_intraday_20240601.json: events_20240601 holds the same day complete \
                 (GA4 deletes the intraday table once it is)"
                    .to_string()
            )]
        );
    }

    #[test]
    fn sharded_extracts_and_table_folders_are_recognised() {
        assert_eq!(
            left_out(&[
                "events_20240601-000000000000.json.gz",
                "events_20240601-000000000001.json.gz",
                "events_intraday_20240601-000000000000.json.gz",
                "events_intraday_20240601/part-0.parquet",
                "analytics_123/events_20240602/part-0.parquet",
                "analytics_123/events_intraday_20240602/part-0.parquet",
            ]),
            [
                "events_intraday_20240601-000000000000.json.gz",
                "events_intraday_20240601/part-0.parquet",
                "analytics_123/events_intraday_20240602/part-0.parquet"
            ]
        );
    }

    #[test]
    fn user_tables_beside_events_are_left_out_but_alone_are_read() {
        assert_eq!(
            left_out(&[
                "events_20240601.json",
                "pseudonymous_users_20240601.json",
                "users_20240601.json",
            ]),
            ["pseudonymous_users_20240601.json", "users_20240601.json"]
        );
        assert!(left_out(&["pseudonymous_users_20240601.json", "users_20240602.json"]).is_empty());
    }

    #[test]
    fn names_that_only_look_alike_are_left_alone() {
        assert!(
            left_out(&[
                "events_2024060.json",
                "events_202406011.json",
                "my_events_20240601.csv",
                "events_intraday_20240601x.json",
                "1719792000000.55a1c7.gz",
            ])
            .is_empty()
        );
        // Other names beside a GA4 table are read as they are.
        assert!(left_out(&["events_20240601.json", "orders.csv"]).is_empty());
    }
}
