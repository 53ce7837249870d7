//! Events → one row of behavioral features per user: per-user totals in one pass
//! (`accumulate`), then the derived features as polars expressions over the totals.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::accumulate::{DAY_US, Inputs, Plan, Sessions, accumulate};
use super::catalogue::{CATALOGUE, COUNT_PREFIX, EventKind, Needs};
use crate::data::{Loaded, Shape, cols};
use crate::error::FeatureError;

pub use persona_lab_runtime::features::FeatureConfig;

/// Prefix of the one-hot attribute features: `is:device.category=mobile`.
pub use persona_lab_runtime::features::ONE_HOT_PREFIX;
/// At most this many values of one attribute become features (the most common by users); the rest
/// are 0 in all of them, like a user with no value.
pub const ONE_HOT_MAX_VALUES: usize = 10;

/// How sessions were counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionSource {
    Column,
    InactivityGap,
    /// Per-user input: no sessions.
    None,
}

/// The per-user profile table: `user_id` and one Float64 column per available feature.
#[derive(Debug, Clone)]
pub struct Profile {
    pub table: DataFrame,
    /// Feature ids, in column order.
    pub features: Vec<String>,
    /// Catalogue features that could not be computed from this export, and why.
    pub unavailable: Vec<(String, String)>,
    /// Reference time used for recency (events shape).
    pub reference_time: Option<i64>,
    pub sessions: SessionSource,
    /// Event names per recognised kind (events shape).
    pub kinds_found: Vec<(EventKind, Vec<String>)>,
    /// Categorical attributes (platform, device category, country, ...): per user (in table order)
    /// the value of most of their events.
    pub attributes: Vec<Attribute>,
}

/// One categorical attribute of every user of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The export's column (`device.category`).
    pub name: String,
    /// Per user, in the profile's row order: the most frequent value of the user's events (ties:
    /// the first in alphabetical order), none when no event has one.
    pub values: Vec<Option<String>>,
}

impl Attribute {
    /// The attribute of the users where `keep` holds.
    pub fn subset(&self, keep: &[bool]) -> Attribute {
        Attribute {
            name: self.name.clone(),
            values: self
                .values
                .iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| v.clone())
                .collect(),
        }
    }
}

/// A feature's id and its value per user.
type FeatureValues = (String, Vec<Option<f64>>);

/// The optional features of each measure column of the events table (GA4's other numeric event
/// parameters): per user of `users` (in that order) the sum, mean and max over the events up to
/// `as_of` that have a value (sum 0, mean and max missing when none has). Sums add in event order,
/// one thread: the same on every run.
fn measure_features(
    t: &DataFrame,
    users: &StringChunked,
    as_of: Option<i64>,
) -> Result<Vec<FeatureValues>, FeatureError> {
    let index: std::collections::HashMap<&str, usize> = users
        .iter()
        .enumerate()
        .filter_map(|(i, u)| u.map(|u| (u, i)))
        .collect();
    let ev_users = t.column(cols::USER).map_err(perr)?.str().map_err(perr)?;
    let ts = t.column(cols::TS).map_err(perr)?.i64().map_err(perr)?;
    let mut out = Vec::new();
    for c in t.columns() {
        let Some(name) = c.name().strip_prefix(cols::NUM_PREFIX) else {
            continue;
        };
        let v = c.f64().map_err(perr)?;
        let n = users.len();
        let (mut sum, mut count, mut max) = (vec![0.0; n], vec![0u64; n], vec![f64::MIN; n]);
        for ((u, x), t) in ev_users.iter().zip(v.iter()).zip(ts.iter()) {
            let (Some(u), Some(x)) = (u, x) else { continue };
            if as_of.is_some_and(|a| t.is_some_and(|t| t > a)) {
                continue;
            }
            let Some(&i) = index.get(u) else { continue };
            sum[i] += x;
            count[i] += 1;
            max[i] = max[i].max(x);
        }
        if count.iter().all(|&c| c == 0) {
            continue;
        }
        let seen = |i: usize| count[i] > 0;
        out.push((
            format!("sum:{name}"),
            (0..n).map(|i| Some(sum[i])).collect(),
        ));
        out.push((
            format!("mean:{name}"),
            (0..n)
                .map(|i| seen(i).then(|| sum[i] / count[i] as f64))
                .collect(),
        ));
        out.push((
            format!("max:{name}"),
            (0..n).map(|i| seen(i).then_some(max[i])).collect(),
        ));
    }
    Ok(out)
}

/// The one-hot features of an attribute: one per value held by the most users (at most
/// `ONE_HOT_MAX_VALUES`; ties by name), or the `pinned` ones of this attribute; 1 where the user's
/// value is that one, else 0.
fn one_hot(attr: &Attribute, pinned: Option<&[String]>) -> Vec<FeatureValues> {
    let values: Vec<&str> = match pinned {
        Some(ids) => {
            let prefix = format!("{ONE_HOT_PREFIX}{}=", attr.name);
            ids.iter()
                .filter_map(|id| id.strip_prefix(&prefix))
                .collect()
        }
        None => {
            let mut users_per_value: std::collections::BTreeMap<&str, usize> = Default::default();
            for v in attr.values.iter().flatten() {
                *users_per_value.entry(v).or_default() += 1;
            }
            let mut values: Vec<(&str, usize)> = users_per_value.into_iter().collect();
            // Most users first; the BTreeMap gave name order, which the stable sort keeps on ties.
            values.sort_by_key(|v| std::cmp::Reverse(v.1));
            values
                .into_iter()
                .take(ONE_HOT_MAX_VALUES)
                .map(|(v, _)| v)
                .collect()
        }
    };
    values
        .into_iter()
        .map(|value| {
            (
                format!("{ONE_HOT_PREFIX}{}={value}", attr.name),
                attr.values
                    .iter()
                    .map(|v| {
                        Some(if v.as_deref() == Some(value) {
                            1.0
                        } else {
                            0.0
                        })
                    })
                    .collect(),
            )
        })
        .collect()
}

/// Per user of `users` (in that order), the most frequent value of each attribute column of the
/// events table, over the events up to `as_of`.
fn user_attributes(
    t: &DataFrame,
    users: &StringChunked,
    as_of: Option<i64>,
) -> Result<Vec<Attribute>, FeatureError> {
    let mut out = Vec::new();
    for c in t.columns() {
        let Some(name) = c.name().strip_prefix(cols::ATTR_PREFIX) else {
            continue;
        };
        let (counts, n) = count_by(t, &[cols::USER, c.name().as_str()], as_of, true)?;
        let u = counts
            .column(cols::USER)
            .map_err(perr)?
            .str()
            .map_err(perr)?;
        let v = counts.column(c.name()).map_err(perr)?.str().map_err(perr)?;
        // The mode per user: most events, then the first name (a fixed answer on ties).
        let mut best: std::collections::HashMap<&str, (u64, &str)> =
            std::collections::HashMap::new();
        for ((u, v), n) in u.iter().zip(v.iter()).zip(n.iter()) {
            let (Some(u), Some(v), Some(n)) = (u, v, n) else {
                continue;
            };
            let e = best.entry(u).or_insert((n, v));
            if n > e.0 || (n == e.0 && v < e.1) {
                *e = (n, v);
            }
        }
        out.push(Attribute {
            name: name.to_string(),
            values: users
                .iter()
                .map(|u| u.and_then(|u| best.get(u)).map(|(_, v)| v.to_string()))
                .collect(),
        });
    }
    Ok(out)
}

impl Profile {
    pub fn n_users(&self) -> usize {
        self.table.height()
    }

    pub fn column(&self, id: &str) -> Result<Vec<Option<f64>>, FeatureError> {
        let c = self
            .table
            .column(id)
            .map_err(|_| FeatureError::UnknownFeature(id.into()))?;
        let ca = c.f64().map_err(|e| FeatureError::Polars(e.to_string()))?;
        Ok(ca.iter().collect())
    }

    /// The `p`-th percentile (0..100) of a feature over the users who have a finite value, with
    /// numpy's default interpolation (`np.percentile`); None for an unknown or empty feature. Rule
    /// templates use it for thresholds ("the top 10% by revenue").
    pub fn percentile(&self, id: &str, p: f64) -> Option<f64> {
        super::distribution::percentile_of(&self.column(id).ok()?, p)
    }

    pub fn user_ids(&self) -> Vec<String> {
        self.table
            .column(cols::USER)
            .ok()
            .and_then(|c| {
                c.str()
                    .ok()
                    .map(|ca| ca.iter().map(|v| v.unwrap_or("").to_string()).collect())
            })
            .unwrap_or_default()
    }
}

fn perr(e: PolarsError) -> FeatureError {
    FeatureError::Polars(e.to_string())
}

/// Compute the profile of every user in a loaded export.
pub fn compute_profile(loaded: &Loaded, cfg: &FeatureConfig) -> Result<Profile, FeatureError> {
    compute_profile_with(loaded, cfg, &crate::job::Job::silent())
}

/// [`compute_profile`], reporting progress to `job` (a streamed export is profiled part by part).
pub fn compute_profile_with(
    loaded: &Loaded,
    cfg: &FeatureConfig,
    job: &crate::job::Job,
) -> Result<Profile, FeatureError> {
    let profile = match (loaded.shape, &loaded.spill) {
        (Shape::Users, _) => users_profile(loaded),
        (Shape::Events, None) => events_profile(loaded, cfg),
        (Shape::Events, Some(spill)) => streamed_profile(spill, cfg, job),
    }?;
    check_overflow(&profile)?;
    Ok(profile)
}

/// A feature that came out infinite or NaN: the export's values (near 1e308) overflowed a sum or a
/// product. Named with its users, rather than written out as `inf` or turned into NaN scores later.
fn check_overflow(profile: &Profile) -> Result<(), FeatureError> {
    for c in profile.table.columns() {
        let Ok(values) = c.f64() else {
            continue;
        };
        // Walked in place: a copy of every column would double the profile on the hot path.
        let mut bad = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_some_and(|x| !x.is_finite()));
        let Some((first, value)) = bad.next() else {
            continue;
        };
        let more = match bad.count() {
            0 => String::new(),
            n => format!(" and {n} more users"),
        };
        let user = profile
            .table
            .column(cols::USER)
            .ok()
            .and_then(|u| u.str().ok().and_then(|u| u.get(first)))
            .unwrap_or("")
            .to_string();
        return Err(FeatureError::Invalid {
            feature: c.name().to_string(),
            message: format!(
                "user {user:?}{more}: the value overflows a 64-bit number ({}); the export holds \
                 values too large to be measurements (near 1e308) in the column this feature is \
                 computed from",
                value.unwrap_or(f64::NAN)
            ),
        });
    }
    Ok(())
}

fn users_profile(loaded: &Loaded) -> Result<Profile, FeatureError> {
    let t = &loaded.table;
    let features: Vec<String> = t
        .columns()
        .iter()
        .filter(|c| c.name() != cols::USER && c.dtype() == &DataType::Float64)
        .map(|c| c.name().to_string())
        .collect();
    let mut select = vec![col(cols::USER)];
    select.extend(features.iter().map(|f| col(f.as_str())));
    // Input order is kept: rows of an assignments file line up with the table the analyst gave us.
    let table = t.clone().lazy().select(select).collect().map_err(perr)?;
    // Each user's own value of each attribute column (a warehouse profile carries them).
    let mut attributes = Vec::new();
    for c in t.columns() {
        if let Some(name) = c.name().strip_prefix(cols::ATTR_PREFIX) {
            let values = c.str().map_err(perr)?;
            attributes.push(Attribute {
                name: name.to_string(),
                values: values.iter().map(|v| v.map(str::to_string)).collect(),
            });
        }
    }
    Ok(Profile {
        table,
        features,
        unavailable: vec![],
        reference_time: None,
        sessions: SessionSource::None,
        kinds_found: vec![],
        attributes,
    })
}

/// The export-wide choices of an events profile: the reference time, the event names by frequency,
/// the kinds found and the top names counted. Made once per export, so a profile computed part by
/// part (a streamed export) counts the same names against the same reference as one made whole.
pub struct EventPlan {
    reference: i64,
    /// Every event name up to the reference date with its count, most frequent first.
    name_counts: Vec<(String, u64)>,
    kinds_found: Vec<(EventKind, Vec<String>)>,
    top: Vec<String>,
}

fn check_config(cfg: &FeatureConfig) -> Result<(), FeatureError> {
    if cfg.half_life_days.is_nan() || cfg.half_life_days <= 0.0 {
        return Err(FeatureError::Invalid {
            feature: "decayed_events".into(),
            message: format!("half-life must be positive, got {}", cfg.half_life_days),
        });
    }
    if cfg.session_gap_minutes.is_nan() || cfg.session_gap_minutes <= 0.0 {
        return Err(FeatureError::Invalid {
            feature: "sessions".into(),
            message: format!(
                "session gap must be positive, got {}",
                cfg.session_gap_minutes
            ),
        });
    }
    Ok(())
}

/// Event names with their counts.
pub type NameCounts = Vec<(String, u64)>;

/// The rows of `t` up to `as_of`, counted per distinct value of the `by` columns (rows where the last
/// of them is null left out when `skip_null`): the counts table and its `n` column as u64.
fn count_by(
    t: &DataFrame,
    by: &[&str],
    as_of: Option<i64>,
    skip_null: bool,
) -> Result<(DataFrame, UInt64Chunked), FeatureError> {
    let keys: Vec<Expr> = by.iter().map(|b| col(*b)).collect();
    let selected: Vec<Expr> = std::iter::once(col(cols::TS))
        .chain(keys.iter().cloned())
        .collect();
    let mut lf = t.clone().lazy().select(selected);
    if let Some(as_of) = as_of {
        lf = lf.filter(col(cols::TS).lt_eq(lit(as_of)));
    }
    if skip_null && let Some(last) = by.last() {
        lf = lf.filter(col(*last).is_not_null());
    }
    let counts = lf
        .group_by(keys)
        .agg([len().alias("n")])
        .collect()
        .map_err(perr)?;
    let n = counts
        .column("n")
        .map_err(perr)?
        .cast(&DataType::UInt64)
        .map_err(perr)?
        .u64()
        .map_err(perr)?
        .clone();
    Ok((counts, n))
}

/// The event names of an events table (up to `as_of`) with their counts, and its last event time.
pub fn event_names(
    t: &DataFrame,
    as_of: Option<i64>,
) -> Result<(NameCounts, Option<i64>), FeatureError> {
    let ts = t.column(cols::TS).map_err(perr)?.i64().map_err(perr)?;
    let last = ts.max();
    let (names, c) = count_by(t, &[cols::EVENT], as_of, false)?;
    let n = names
        .column(cols::EVENT)
        .map_err(perr)?
        .cast(&DataType::String)
        .map_err(perr)?;
    let n = n.str().map_err(perr)?;
    let counts = n
        .iter()
        .zip(c.iter())
        .map(|(a, b)| (a.unwrap_or("").to_string(), b.unwrap_or(0)))
        .collect();
    Ok((counts, last))
}

impl EventPlan {
    /// The plan of an export from its event names (with counts, in any order; a name may repeat, as
    /// the parts of a streamed export each count theirs) and its last event time.
    pub fn new(
        names: Vec<(String, u64)>,
        last: Option<i64>,
        cfg: &FeatureConfig,
    ) -> Result<EventPlan, FeatureError> {
        check_config(cfg)?;
        let last = last.ok_or_else(|| FeatureError::NoFeatures("no events".into()))?;
        let reference = cfg.as_of.unwrap_or(last);
        let mut merged: std::collections::HashMap<String, u64> = Default::default();
        for (n, c) in names {
            *merged.entry(n).or_default() += c;
        }
        let mut name_counts: Vec<(String, u64)> =
            merged.into_iter().filter(|(_, c)| *c > 0).collect();
        if name_counts.is_empty() {
            return Err(FeatureError::NoFeatures(
                "no events on or before the reference date".into(),
            ));
        }
        name_counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut kinds_found: Vec<(EventKind, Vec<String>)> = Vec::new();
        for kind in EventKind::ALL {
            let list: Vec<String> = name_counts
                .iter()
                .filter(|(n, _)| EventKind::classify(n) == Some(kind))
                .map(|(n, _)| n.clone())
                .collect();
            let pinned = cfg.event_kinds.as_ref().is_some_and(|k| k.contains(&kind));
            if !list.is_empty() || pinned {
                kinds_found.push((kind, list));
            }
        }
        let top: Vec<String> = match &cfg.event_names {
            Some(names) => names.clone(),
            None => name_counts
                .iter()
                .take(cfg.top_events)
                .map(|(n, _)| n.clone())
                .collect(),
        };
        Ok(EventPlan {
            reference,
            name_counts,
            kinds_found,
            top,
        })
    }
}

fn events_profile(loaded: &Loaded, cfg: &FeatureConfig) -> Result<Profile, FeatureError> {
    check_config(cfg)?;
    let t = &loaded.table;
    let mut timer = crate::timing::Timer::start();
    let (names, last) = event_names(t, cfg.as_of)?;
    let plan = EventPlan::new(names, last, cfg)?;
    timer.lap("  event names");
    let mut profile = profile_part(t, cfg, &plan)?;
    add_one_hot(&mut profile, cfg)?;
    Ok(profile)
}

fn load_err(e: crate::error::LoadError) -> FeatureError {
    FeatureError::Polars(e.to_string())
}

/// The profile of a streamed export: the plan from the whole export's names and times, then each
/// part (every event of its users) profiled as a table of its own, and the parts' users put back in
/// id order, as the in-memory pass orders them.
fn streamed_profile(
    spill: &crate::data::stream::Spill,
    cfg: &FeatureConfig,
    job: &crate::job::Job,
) -> Result<Profile, FeatureError> {
    check_config(cfg)?;
    let n = spill.parts.len();
    let names = match cfg.as_of {
        None => spill.names.clone(),
        Some(as_of) => {
            let mut all = Vec::new();
            for i in 0..n {
                job.progress("event names (streamed)", i as f32 / n as f32);
                // The two columns the names need, not the whole part.
                let t = spill
                    .read_part_columns(i, &[cols::TS, cols::EVENT])
                    .map_err(load_err)?;
                all.extend(event_names(&t, Some(as_of))?.0);
            }
            all
        }
    };
    let plan = EventPlan::new(names, spill.span.map(|s| s.1), cfg)?;
    let mut pieces = Vec::with_capacity(n);
    for i in 0..n {
        job.check()?;
        job.progress("features (streamed)", i as f32 / n as f32);
        let t = spill.read_part(i).map_err(load_err)?;
        let p = profile_part(&t, cfg, &plan)?;
        drop(t);
        if p.table.height() > 0 {
            pieces.push(p);
        }
    }
    let measures: Vec<String> = spill
        .preview
        .get_column_names()
        .iter()
        .filter_map(|c| c.strip_prefix(cols::NUM_PREFIX).map(str::to_string))
        .collect();
    let mut profile = merge_parts(pieces, &measures)?;
    add_one_hot(&mut profile, cfg)?;
    Ok(profile)
}

/// The profiles of parts with disjoint users as one, users in id order. A measure a part's users
/// never have is missing from that part: its sum is 0 there, its mean and max missing, as the
/// in-memory pass makes them.
fn merge_parts(pieces: Vec<Profile>, measures: &[String]) -> Result<Profile, FeatureError> {
    let Some(first) = pieces.first() else {
        return Err(FeatureError::NoFeatures(
            "no events on or before the reference date".into(),
        ));
    };
    let is_measure = |f: &str| {
        ["sum:", "mean:", "max:"].iter().any(|p| {
            f.strip_prefix(p)
                .is_some_and(|m| measures.iter().any(|x| x == m))
        })
    };
    let mut features: Vec<String> = first
        .features
        .iter()
        .filter(|f| !is_measure(f))
        .cloned()
        .collect();
    for m in measures {
        for kind in ["sum", "mean", "max"] {
            let id = format!("{kind}:{m}");
            if pieces.iter().any(|p| p.features.contains(&id)) {
                features.push(id);
            }
        }
    }
    let mut tables = Vec::with_capacity(pieces.len());
    let mut attributes: Vec<Attribute> = first
        .attributes
        .iter()
        .map(|a| Attribute {
            name: a.name.clone(),
            values: Vec::new(),
        })
        .collect();
    let (unavailable, reference_time, sessions, kinds_found) = (
        first.unavailable.clone(),
        first.reference_time,
        first.sessions,
        first.kinds_found.clone(),
    );
    for p in pieces {
        let h = p.table.height();
        let mut cols_ = vec![p.table.column(cols::USER).map_err(perr)?.clone()];
        for f in &features {
            cols_.push(match p.table.column(f) {
                Ok(c) => c.clone(),
                Err(_) if f.starts_with("sum:") => Column::new(f.as_str().into(), vec![0.0; h]),
                Err(_) => Column::full_null(f.as_str().into(), h, &DataType::Float64),
            });
        }
        tables.push(DataFrame::new(h, cols_).map_err(perr)?);
        for (into, from) in attributes.iter_mut().zip(p.attributes) {
            into.values.extend(from.values);
        }
    }
    let mut table = tables.remove(0);
    for t in &tables {
        table.vstack_mut(t).map_err(perr)?;
    }
    drop(tables);
    // Users in id order (bytes), as the in-memory pass numbers them.
    let order: Vec<usize> = {
        let ids = table
            .column(cols::USER)
            .map_err(perr)?
            .str()
            .map_err(perr)?;
        let ids: Vec<&str> = ids.iter().map(|u| u.unwrap_or("")).collect();
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_unstable_by(|&a, &b| ids[a].cmp(ids[b]));
        order
    };
    let idx = IdxCa::from_vec("".into(), order.iter().map(|&i| i as IdxSize).collect());
    let mut table = table.take(&idx).map_err(perr)?;
    table.rechunk_mut_par();
    for a in attributes.iter_mut() {
        let values = std::mem::take(&mut a.values);
        a.values = order.iter().map(|&i| values[i].clone()).collect();
    }
    Ok(Profile {
        table,
        features,
        unavailable,
        reference_time,
        sessions,
        kinds_found,
        attributes,
    })
}

/// The one-hot features of the profile's attributes (after every part is in: the values kept are the
/// most common over all users).
pub fn add_one_hot(profile: &mut Profile, cfg: &FeatureConfig) -> Result<(), FeatureError> {
    if cfg.one_hot_attributes {
        let pinned = cfg.one_hot_values.as_deref();
        for (id, values) in profile.attributes.iter().flat_map(|a| one_hot(a, pinned)) {
            profile
                .table
                .with_column(Column::new(id.as_str().into(), values))
                .map_err(perr)?;
            profile.features.push(id);
        }
    }
    Ok(())
}

/// The profile of the users of an events table (every event of each of its users) under an
/// export-wide plan, without the one-hot features.
pub fn profile_part(
    t: &DataFrame,
    cfg: &FeatureConfig,
    p: &EventPlan,
) -> Result<Profile, FeatureError> {
    let mut timer = crate::timing::Timer::start();
    let has = |c: &str| t.get_column_index(c).is_some();
    let reference = p.reference;
    let kinds_found = &p.kinds_found;
    let has_kind = |k: EventKind| kinds_found.iter().any(|(kk, _)| *kk == k);
    let top = &p.top;
    // Counted groups of event names: one per kind found, then one per top name.
    let mut groups: Vec<Vec<String>> = kinds_found.iter().map(|(_, l)| l.clone()).collect();
    groups.extend(top.iter().map(|n| vec![n.to_string()]));
    let plan = Plan {
        as_of: cfg.as_of,
        reference,
        half_life_days: cfg.half_life_days,
        sessions: if has(cols::SESSION) {
            Sessions::Column
        } else {
            Sessions::Gap((cfg.session_gap_minutes * 60.0 * 1e6).round() as i64)
        },
        groups: &groups,
        revenue_group: kinds_found
            .iter()
            .position(|(k, _)| *k == EventKind::Purchase),
    };
    let opt = |c: &str| t.column(c).ok();
    let totals = accumulate(
        &Inputs {
            user: t.column(cols::USER).map_err(perr)?,
            ts: t.column(cols::TS).map_err(perr)?,
            event: t.column(cols::EVENT).map_err(perr)?,
            session: opt(cols::SESSION),
            value: opt(cols::VALUE),
            duration: opt(cols::DURATION),
            scroll: opt(cols::SCROLL),
        },
        &plan,
    )?;
    timer.lap("  accumulate");
    let count_name = super::catalogue::count_feature;
    let n = totals.users.len();
    let f = |name: &str, v: Vec<f64>| Column::new(name.into(), v);
    let mut columns = vec![
        Column::new(cols::USER.into(), totals.users),
        f("events", totals.events),
        f("__sessions_raw", totals.sessions),
        f("active_days", totals.active_days),
        // Days since the last and the first event, and the weeks of tenure that divide the
        // sessions, computed here rather than as polars expressions: polars divides a column by a
        // scalar as a multiplication by its reciprocal, but a one-row column as a true division, so
        // a table of one user (a part of a streamed export) would differ in the last bit. The
        // reciprocal is kept, so every other table's values are as before.
        f(
            "recency_days",
            totals
                .last
                .iter()
                .map(|&t| (reference as f64 - t as f64) * (1.0 / DAY_US as f64))
                .collect(),
        ),
        f(
            "tenure_days",
            totals
                .first
                .iter()
                .map(|&t| (reference as f64 - t as f64) * (1.0 / DAY_US as f64))
                .collect(),
        ),
        f(
            "__weeks",
            totals
                .first
                .iter()
                .map(|&t| {
                    let tenure = (reference as f64 - t as f64) * (1.0 / DAY_US as f64);
                    (tenure * (1.0 / 7.0)).max(1.0)
                })
                .collect(),
        ),
        f("decayed_events", totals.decayed_events),
    ];
    if let Some(v) = totals.time_total {
        columns.push(f("time_total", v));
    }
    if let (Some(mean), Some(max)) = (totals.scroll_mean, totals.scroll_max) {
        columns.push(Column::new("scroll_mean".into(), mean));
        columns.push(Column::new("scroll_max".into(), max));
    }
    let mut counts = totals.groups.into_iter();
    for ((k, _), v) in kinds_found.iter().zip(counts.by_ref()) {
        columns.push(f(count_name(*k), v));
    }
    if let Some(v) = totals.revenue {
        columns.push(f("revenue", v));
    }
    for (name, v) in top.iter().zip(counts) {
        columns.push(f(&format!("{COUNT_PREFIX}{name}"), v));
    }
    let totals = DataFrame::new(n, columns).map_err(perr)?;

    let per_session = |num: &str| (col(num) / col("sessions")).alias(format!("{num}_per_session"));
    let mut derived: Vec<Expr> = vec![per_session("events")];
    if has(cols::DURATION) {
        derived.push((col("time_total") / col("sessions")).alias("time_per_session"));
    }
    for (k, _) in kinds_found {
        if *k != EventKind::Purchase {
            derived.push(per_session(count_name(*k)));
        }
    }
    if has_kind(EventKind::AddToCart) && has_kind(EventKind::ProductView) {
        derived.push(
            when(col("product_views").gt(lit(0.0)))
                .then(col("cart_adds") / col("product_views"))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("add_to_cart_rate"),
        );
    }
    if has_kind(EventKind::Purchase) {
        derived.push((col("purchases") / col("sessions")).alias("conversion_rate"));
        if has(cols::VALUE) {
            derived.push(
                when(col("purchases").gt(lit(0.0)))
                    .then(col("revenue") / col("purchases"))
                    .otherwise(lit(NULL).cast(DataType::Float64))
                    .alias("avg_order_value"),
            );
        }
    }
    if !top.is_empty() {
        let top_sum = top
            .iter()
            .map(|n| col(format!("{COUNT_PREFIX}{n}").as_str()))
            .reduce(|a, b| a + b)
            .unwrap_or(lit(0.0));
        derived.push((col("events") - top_sum).alias(format!("{COUNT_PREFIX}other")));
    }

    // Users come out of the pass in id order already.
    let grouped = totals
        .lazy()
        // A user whose events all lack a session id still had one session.
        .with_column(
            when(col("__sessions_raw").lt(lit(1.0)))
                .then(lit(1.0))
                .otherwise(col("__sessions_raw"))
                .alias("sessions"),
        )
        .with_columns(derived.clone())
        .with_column((col("sessions") / col("__weeks")).alias("frequency"))
        .collect()
        .map_err(perr)?;

    timer.lap("  derived");
    // Column order: the catalogue, then per-name counts.
    let mut features = Vec::new();
    let mut unavailable = Vec::new();
    for def in CATALOGUE {
        if grouped.get_column_index(def.id).is_some() {
            features.push(def.id.to_string());
        } else {
            unavailable.push((def.id.to_string(), why_unavailable(def.needs)));
        }
    }
    let other = format!("{COUNT_PREFIX}other");
    for name in top {
        features.push(format!("{COUNT_PREFIX}{name}"));
    }
    let more = match &cfg.event_names {
        Some(_) => true,
        None => p.name_counts.len() > cfg.top_events,
    };
    if more && grouped.get_column_index(&other).is_some() {
        features.push(other);
    }
    let mut select = vec![col(cols::USER)];
    select.extend(
        features
            .iter()
            .map(|f| col(f.as_str()).cast(DataType::Float64)),
    );
    let mut table = grouped.lazy().select(select).collect().map_err(perr)?;
    // The user column in table order (a cheap shared copy: the table grows below).
    let users = table
        .column(cols::USER)
        .map_err(perr)?
        .str()
        .map_err(perr)?
        .clone();
    for (id, values) in measure_features(t, &users, cfg.as_of)? {
        table
            .with_column(Column::new(id.as_str().into(), values))
            .map_err(perr)?;
        features.push(id);
    }
    let attributes = user_attributes(t, &users, cfg.as_of)?;
    timer.lap("  measures and attributes");
    Ok(Profile {
        attributes,
        table,
        features,
        unavailable,
        reference_time: Some(reference),
        sessions: if has(cols::SESSION) {
            SessionSource::Column
        } else {
            SessionSource::InactivityGap
        },
        kinds_found: kinds_found.clone(),
    })
}

fn role_hint(role: crate::data::Role) -> String {
    crate::hints::how(crate::hints::Setting::Role(role))
}

fn why_unavailable(needs: Needs) -> String {
    use crate::data::Role;
    match needs {
        Needs::Nothing => "not computable from this export".into(),
        Needs::Duration => format!("no duration column mapped ({})", role_hint(Role::Duration)),
        Needs::Scroll => format!(
            "no scroll depth column mapped ({})",
            role_hint(Role::Scroll)
        ),
        Needs::Value => format!(
            "no value / revenue column mapped ({})",
            role_hint(Role::Value)
        ),
        Needs::Kind(k) => format!(
            "no event recognised as {} (names tried: {})",
            k.label(),
            k.synonyms().join(", ")
        ),
        Needs::Kinds(a, b) => format!("needs events recognised as {} and {}", a.label(), b.label()),
    }
}
