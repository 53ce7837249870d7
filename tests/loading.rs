//! Loading real-looking exports of every supported format and preset.

mod common;

use std::collections::HashSet;

use common::*;
use persona_lab::data::{FileFormat, LoadOptions, Preset, Shape, TimeEncoding, cols};
use persona_lab::features::{self, FeatureConfig};
use persona_lab::sample::{self, SampleOptions, SampleStyle};

fn ga4_sample(dir: &std::path::Path, name: &str, users: usize) -> std::path::PathBuf {
    let p = dir.join(name);
    let opts = SampleOptions {
        users,
        seed: 11,
        days: 90,
        style: SampleStyle::Ga4,
    };
    sample::write_sample(&opts, &p, Some(&dir.join(format!("{name}.truth.csv")))).unwrap();
    p
}

#[test]
fn ga4_ids_stay_text_and_never_merge() {
    let d = tempfile::tempdir().unwrap();
    let p = ga4_sample(d.path(), "ga4.csv", 600);
    let l = load(&p).unwrap();
    assert_eq!(l.preset, Preset::Ga4);
    assert_eq!(l.time_encoding, Some(TimeEncoding::EpochMicros));
    let truth = std::fs::read_to_string(d.path().join("ga4.csv.truth.csv")).unwrap();
    let consenting: HashSet<&str> = truth
        .lines()
        .skip(1)
        .filter(|l| l.ends_with(",true"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(l.n_users(), consenting.len());
    // The sample plants ids that collide as floats: parsing them as numbers would lose users.
    let as_float: HashSet<u64> = consenting
        .iter()
        .map(|s| s.parse::<f64>().unwrap().to_bits())
        .collect();
    assert!(as_float.len() < consenting.len());
}

#[test]
fn consent_gates_rows_before_features() {
    let (_d, p) = temp_file(
        "c.csv",
        "user_id,timestamp,event,consent\n\
         a,2024-01-01T10:00:00Z,page_view,yes\n\
         a,2024-01-01T10:05:00Z,page_view,no\n\
         b,2024-01-01T10:00:00Z,page_view,no\n\
         c,2024-01-01T10:00:00Z,page_view,\n\
         d,2024-01-01T10:00:00Z,page_view,granted\n",
    );
    let l = load(&p).unwrap();
    assert_eq!(l.mapping.consent.as_deref(), Some("consent"));
    assert_eq!(l.rows_dropped, vec![("no consent".to_string(), 3)]);
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    assert_eq!(prof.user_ids(), vec!["a", "d"]);
    assert_eq!(by_user(&prof.table, "events")["a"], Some(1.0));
}

#[test]
fn sparse_value_column_stays_numeric() {
    // GA4: `value` is empty on every row but purchases; the first purchase comes late.
    let d = tempfile::tempdir().unwrap();
    let mut s = String::from("user_pseudo_id,event_timestamp,event_name,value\n");
    for i in 0..30_000u64 {
        s.push_str(&format!(
            "{}.17000,{},page_view,\n",
            i % 50,
            1_725_148_800_000_000 + i
        ));
    }
    s.push_str("7.17000,1725148900000000,purchase,49.90\n");
    s.push_str("8.17000,1725148900000001,purchase,10.10\n");
    let p = write(d.path(), "sparse.csv", s);
    let l = load(&p).unwrap();
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    let rev = by_user(&prof.table, "revenue");
    assert_eq!(rev["7.17000"], Some(49.90));
    assert_eq!(rev["8.17000"], Some(10.10));
    assert_eq!(rev["9.17000"], Some(0.0));
    // "7.17000" and "7.17" would be the same float; they are different ids.
    assert!(rev.contains_key("7.17000"));
}

#[test]
fn csv_gzip_parquet_ndjson_give_the_same_profile() {
    let d = tempfile::tempdir().unwrap();
    let paths: Vec<_> = ["s.csv", "s.csv.gz", "s.parquet", "s.ndjson"]
        .iter()
        .map(|n| ga4_sample(d.path(), n, 120))
        .collect();
    let profiles: Vec<_> = paths
        .iter()
        .map(|p| {
            let l = load(p).unwrap();
            features::compute_profile(&l, &FeatureConfig::default()).unwrap()
        })
        .collect();
    let l = load(&paths[2]).unwrap();
    assert_eq!(l.format, FileFormat::Parquet);
    assert!(load(&paths[1]).unwrap().gzip);
    for p in &profiles[1..] {
        assert_eq!(p.features, profiles[0].features);
        assert!(
            p.table.equals_missing(&profiles[0].table),
            "{:?}\n{:?}",
            p.table.head(Some(3)),
            profiles[0].table.head(Some(3))
        );
    }
}

#[test]
fn segment_ndjson_is_flattened_and_mapped() {
    let l = load(&repo("sample_data/fashion_segment.ndjson")).unwrap();
    assert_eq!(l.preset, Preset::Segment);
    assert_eq!(l.format, FileFormat::Ndjson);
    assert_eq!(l.mapping.user_id.as_deref(), Some("userId"));
    assert_eq!(l.mapping.user_id_fallback.as_deref(), Some("anonymousId"));
    assert_eq!(l.mapping.value.as_deref(), Some("properties.revenue"));
    assert_eq!(l.mapping.session.as_deref(), Some("properties.session_id"));
    assert_eq!(l.time_encoding, Some(TimeEncoding::Iso8601Zoned));
    // Anonymous visitors are kept under their anonymousId.
    let users = l.table.column(cols::USER).unwrap().str().unwrap().clone();
    assert!(users.iter().flatten().any(|u| u.starts_with("anon-")));
    assert!(users.iter().flatten().any(|u| !u.starts_with("anon-")));
    // IP addresses are personal data: left out, with the reason.
    let ip = l
        .left_out
        .iter()
        .find(|c| c.column == "context.ip")
        .unwrap();
    assert!(ip.reason.contains("IP addresses"), "{}", ip.reason);
    // Page calls carry no event name: `type` fills it, and they count as page views.
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    assert!(prof.features.iter().any(|f| f == "page_views_per_session"));
}

#[test]
fn mixpanel_ndjson_with_epoch_seconds() {
    let l = load_text("mp.jsonl",
        "{\"event\":\"Viewed Product\",\"properties\":{\"distinct_id\":\"u1\",\"time\":1725148800,\"$os\":\"iOS\"}}\n\
         {\"event\":\"Order Completed\",\"properties\":{\"distinct_id\":\"u1\",\"time\":1725152400,\"revenue\":20.5}}\n\
         {\"event\":\"Viewed Product\",\"properties\":{\"distinct_id\":\"u2\",\"time\":1725238800}}\n").unwrap();
    assert_eq!(l.preset, Preset::Mixpanel);
    assert_eq!(l.time_encoding, Some(TimeEncoding::EpochSeconds));
    assert_eq!(
        l.time_span(),
        Some((1_725_148_800_000_000, 1_725_238_800_000_000))
    );
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    assert_eq!(by_user(&prof.table, "revenue")["u1"], Some(20.5));
    assert_eq!(by_user(&prof.table, "product_views")["u1"], Some(1.0));
}

#[test]
fn amplitude_csv_with_naive_times_and_tabs() {
    let l = load_text(
        "amp.tsv",
        "user_id\tevent_type\tevent_time\tsession_id\n\
         42\tsearch\t2024-09-01 10:00:00.250\t1\n\
         42\tsearch\t2024-09-01 10:01:00.000\t1\n\
         42\tpage_view\t2024-09-03 09:00:00.000\t2\n\
         007\tpage_view\t2024-09-03 09:00:00.000\t9\n",
    )
    .unwrap();
    assert_eq!(l.preset, Preset::Amplitude);
    assert_eq!(l.delimiter, Some(b'\t'));
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    // "007" stays "007": ids are text.
    assert_eq!(prof.user_ids(), vec!["007", "42"]);
    let s = by_user(&prof.table, "sessions");
    assert_eq!(s["42"], Some(2.0));
    assert_eq!(
        by_user(&prof.table, "searches_per_session")["42"],
        Some(1.0)
    );
    assert_eq!(by_user(&prof.table, "active_days")["42"], Some(2.0));
}

#[test]
fn quoted_fields_and_semicolons() {
    let l = load_text(
        "q.csv",
        "\"user\";\"ts\";\"event\";\"note\"\n\
         \"a\";\"2024-09-01T10:00:00+02:00\";\"page_view\";\"hello; world\"\n\
         \"b\";\"2024-09-01T10:00:00Z\";\"Order Completed\";\"say \"\"hi\"\"\"\n",
    )
    .unwrap();
    assert_eq!(l.delimiter, Some(b';'));
    assert_eq!(
        l.time_span(),
        Some((1_725_177_600_000_000, 1_725_184_800_000_000))
    );
    assert_eq!(l.n_users(), 2);
}

#[test]
fn sessions_split_by_inactivity_gap() {
    let d = tempfile::tempdir().unwrap();
    // Gaps: 10 min, 29 min, 31 min, 2 h → 3 sessions at 30 minutes; 2 at 60 minutes.
    let p = write(
        d.path(),
        "g.csv",
        "user_id,timestamp,event\n\
         u,2024-09-01 10:00:00,a\n\
         u,2024-09-01 10:10:00,a\n\
         u,2024-09-01 10:39:00,a\n\
         u,2024-09-01 11:10:00,a\n\
         u,2024-09-01 13:10:00,a\n\
         v,2024-09-01 13:10:00,a\n",
    );
    let l = load(&p).unwrap();
    let p30 = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    assert_eq!(by_user(&p30.table, "sessions")["u"], Some(3.0));
    assert_eq!(by_user(&p30.table, "sessions")["v"], Some(1.0));
    let cfg = FeatureConfig {
        session_gap_minutes: 60.0,
        ..Default::default()
    };
    let p60 = features::compute_profile(&l, &cfg).unwrap();
    assert_eq!(by_user(&p60.table, "sessions")["u"], Some(2.0));
}

#[test]
fn hashed_ids_never_leave_in_clear() {
    let d = tempfile::tempdir().unwrap();
    let input = ga4_sample(d.path(), "h.csv", 80);
    let out = d.path().join("profile.csv");
    let o = bin()
        .args(["features", arg(&input), "--hash-ids", "--out", arg(&out)])
        .env("PERSONA_LAB_SALT", "pepper-secret")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::read(&out).unwrap();
    let text = String::from_utf8_lossy(&written);
    let truth = std::fs::read_to_string(d.path().join("h.csv.truth.csv")).unwrap();
    for id in truth.lines().skip(1).map(|l| l.split(',').next().unwrap()) {
        assert!(!text.contains(id), "raw id {id} in output");
        assert!(!stdout(&o).contains(id), "raw id {id} on stdout");
    }
    assert!(!text.contains("pepper-secret") && !stdout(&o).contains("pepper-secret"));
    // Hashes are 64 hex characters, the same for the same id and salt.
    let first = text.lines().nth(1).unwrap().split(',').next().unwrap();
    assert_eq!(first.len(), 64);
    assert!(first.chars().all(|c| c.is_ascii_hexdigit()));
    let ids: Vec<String> = truth
        .lines()
        .skip(1)
        .map(|l| persona_lab::data::privacy::hash_id("pepper-secret", l.split(',').next().unwrap()))
        .collect();
    assert!(ids.iter().any(|h| h == first));
}

#[test]
fn users_table_features_and_pii() {
    let l = load(&repo("sample_data/fashion_users.csv")).unwrap();
    assert_eq!(l.shape, Shape::Users);
    assert_eq!(l.n_users(), 500);
    let email = l.left_out.iter().find(|c| c.column == "email").unwrap();
    assert!(email.reason.contains("email"));
    // A text column is not a feature but an attribute each persona describes ("country DE for 40%").
    assert!(!l.left_out.iter().any(|c| c.column == "country"));
    assert!(l.table.get_column_index("attr:country").is_some());
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    assert!(prof.features.iter().all(|f| !f.contains("country")));
    assert!(
        prof.attributes.iter().any(|a| a.name == "country"),
        "{:?}",
        prof.attributes
    );
    // Kept on request.
    let opts = LoadOptions {
        keep_columns: vec!["email".into()],
        ..Default::default()
    };
    let l = persona_lab::data::load(&repo("sample_data/fashion_users.csv"), &opts).unwrap();
    assert!(l.table.get_column_index("email").is_some());
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    assert!(!prof.features.contains(&"email".to_string()));
    assert!(prof.features.contains(&"total_spend".to_string()));
}

#[test]
fn explicit_roles_and_time_format() {
    let (d, p) = temp_file(
        "x.csv",
        "who,when,what,secs\nA,01/09/2024 10:00,view,30\nA,02/09/2024 11:00,view,40\n",
    );
    let o = run(&[
        "features",
        arg(&p),
        "--user-col",
        "who",
        "--time-col",
        "when",
        "--event-col",
        "what",
        "--duration-col",
        "secs",
        "--time-format",
        "%d/%m/%Y %H:%M",
        "--features",
        "events,time_total",
        "--out",
        arg(&d.path().join("o.csv")),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("2024-09-01 10:00 UTC .. 2024-09-02 11:00 UTC"),
        "{out}"
    );
    let csv = std::fs::read_to_string(d.path().join("o.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let time_total = header.iter().position(|h| *h == "time_total").unwrap();
    assert_eq!(row[time_total], "70.0");
}

#[test]
fn parquet_native_datetimes_and_float_ids() {
    use polars::prelude::*;
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("n.parquet");
    let ts = Series::new(
        "event_time".into(),
        [1_725_148_800_000_000_000i64, 1_725_152_400_000_000_000],
    )
    .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
    .unwrap();
    let mut df = DataFrame::new(
        2,
        vec![
            Column::new("user_id".into(), [1234567890.17f64, 1234567890.18]),
            ts.into_column(),
            Column::new("event".into(), ["page_view", "purchase"]),
        ],
    )
    .unwrap();
    persona_lab::output::write_table(&mut df, &p).unwrap();
    let l = load(&p).unwrap();
    assert_eq!(
        l.time_span(),
        Some((1_725_148_800_000_000, 1_725_152_400_000_000))
    );
    assert!(
        l.warnings
            .iter()
            .any(|w| w.message.contains("floating-point")),
        "{:?}",
        l.warnings
    );
}

#[test]
fn a_missing_event_name_counts_as_unknown() {
    // Event names are read straight into a categorical; a missing one must still be reported and
    // counted, not dropped or merged with another name.
    let l = load_text(
        "n.csv",
        "user_id,timestamp,event\n\
         u,2024-09-01 10:00:00,a\n\
         u,2024-09-01 10:10:00,\n\
         v,2024-09-01 13:10:00,page_view\n",
    )
    .unwrap();
    assert!(
        l.warnings
            .iter()
            .any(|w| w.to_string().contains("1 row(s) have no event name")),
        "{:?}",
        l.warnings
    );
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    assert_eq!(by_user(&prof.table, "count:(unknown)")["u"], Some(1.0));
    assert_eq!(by_user(&prof.table, "count:a")["u"], Some(1.0));
    assert_eq!(by_user(&prof.table, "page_views")["v"], Some(1.0));
    assert_eq!(by_user(&prof.table, "events")["u"], Some(2.0));
}

/// An order log as shops export it (CDNOW's layout): no event column, dates as YYYYMMDD integers,
/// money in `amount_usd`, one row per order. Read with no flags as purchases.
#[test]
fn an_order_log_is_read_as_purchases_with_no_flags() {
    let (d, p) = temp_file(
        "orders.csv",
        "customer_id,order_date,items,amount_usd\n\
         00001,19970101,1,11.77\n\
         00002,19970112,1,12.00\n\
         00002,19970112,5,77.00\n\
         00003,19970102,2,20.76\n\
         00003,19970330,2,20.76\n\
         00003,19970402,2,19.54\n\
         00004,19970101,2,29.33\n",
    );
    let l = load(&p).unwrap();
    assert_eq!(l.shape, Shape::Events);
    assert_eq!(l.mapping.timestamp.as_deref(), Some("order_date"));
    assert_eq!(l.time_encoding, Some(TimeEncoding::YyyyMmDd));
    assert_eq!(l.mapping.value.as_deref(), Some("amount_usd"));
    assert_eq!(l.mapping.every_row.as_deref(), Some("purchase"));
    assert_eq!(l.table.height(), 7, "no order dropped");
    assert!(
        l.rows_dropped.iter().all(|(_, n)| *n == 0),
        "{:?}",
        l.rows_dropped
    );
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    let t = &prof.table;
    assert_eq!(by_user(t, "purchases")["00003"], Some(3.0));
    assert_eq!(by_user(t, "purchases")["00002"], Some(2.0));
    assert!((by_user(t, "revenue")["00003"].unwrap() - 61.06).abs() < 1e-9);
    assert!((by_user(t, "avg_order_value")["00002"].unwrap() - 44.5).abs() < 1e-9);
    // Customer ids with leading zeros stay text.
    assert!(by_user(t, "purchases").contains_key("00001"));
    // inspect says why.
    let o = run(&["inspect", arg(&p)]);
    let s = stdout(&o);
    says(
        &s,
        &[
            "why: its integers are dates (YYYYMMDD)",
            "every row: purchase",
            "user ids repeat",
        ],
    );
    // A per-user table with a date column stays a per-user table.
    let p = write(
        d.path(),
        "crm.csv",
        "customer_id,signup_date,orders,lifetime_value\nA,20240101,3,120.5\nB,20240305,1,20\nC,20240310,7,400\n",
    );
    let l = load(&p).unwrap();
    assert_eq!(l.shape, Shape::Users);
    assert_eq!(l.table.height(), 3);
}

/// Categorical attributes: per user the value of most events (ties: alphabetical first), none
/// when no event has one; the column is not left out.
#[test]
fn attributes_are_each_users_most_frequent_value() {
    let (_d, p) = temp_file(
        "ev.csv",
        "user_id,timestamp,event,platform,country\n\
         a,2024-01-01T10:00:00Z,page_view,web,DE\n\
         a,2024-01-01T10:01:00Z,page_view,web,DE\n\
         a,2024-01-02T10:00:00Z,page_view,app,FR\n\
         b,2024-01-01T10:00:00Z,page_view,app,\n\
         b,2024-01-01T11:00:00Z,page_view,app,\n\
         b,2024-01-03T10:00:00Z,page_view,web,\n\
         c,2024-01-01T10:00:00Z,page_view,web,US\n\
         c,2024-01-01T12:00:00Z,page_view,app,US\n\
         d,2024-01-01T10:00:00Z,page_view,,\n",
    );
    let l = load(&p).unwrap();
    assert_eq!(l.mapping.attributes, ["platform", "country"]);
    assert!(!l.left_out.iter().any(|c| c.column == "platform"));
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    let users = prof.user_ids();
    let of = |name: &str| -> Vec<(String, Option<String>)> {
        let a = prof.attributes.iter().find(|a| a.name == name).unwrap();
        users
            .iter()
            .cloned()
            .zip(a.values.iter().cloned())
            .collect()
    };
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        of("platform"),
        [
            ("a".into(), s("web")),
            ("b".into(), s("app")),
            ("c".into(), s("app")),
            ("d".into(), None)
        ]
    );
    assert_eq!(of("country")[0], ("a".into(), s("DE")));
    assert_eq!(of("country")[1], ("b".into(), None));
}

/// A per-user table from the warehouse (`sql features` with attributes) keeps each user's attribute
/// values: the personas show their shares as for an events export, and the text is no feature.
#[test]
fn a_per_user_table_keeps_its_attribute_columns() {
    let l = load_text(
        "profile.csv",
        "user_id,sessions,revenue,device.category,platform,note\n\
         u1,3,10.5,mobile,WEB,a\n\
         u2,1,0,desktop,,b\n\
         u3,7,99,NULL,IOS,c\n",
    )
    .unwrap();
    assert_eq!(l.shape, Shape::Users);
    let left: Vec<&str> = l.left_out.iter().map(|c| c.column.as_str()).collect();
    assert_eq!(
        left,
        ["note"],
        "only the column that is no attribute is left out"
    );
    let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
    assert_eq!(prof.features, ["sessions", "revenue"]);
    let attrs: Vec<(&str, Vec<Option<&str>>)> = prof
        .attributes
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.values.iter().map(|v| v.as_deref()).collect(),
            )
        })
        .collect();
    assert_eq!(
        attrs,
        [
            (
                "device.category",
                vec![Some("mobile"), Some("desktop"), None]
            ),
            ("platform", vec![Some("WEB"), None, Some("IOS")]),
        ]
    );
}
