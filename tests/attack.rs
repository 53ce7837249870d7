//! Regressions of the outside attack (issue 15): each input is made here, small, at the size that
//! broke the program, and each test failed before its fix.

mod common;

use std::io::Write as _;
use std::path::Path;

use common::*;
use persona_lab::error::LoadError;

const HEAD: &str = r#"{"user_id":"u1","event":"page_view","timestamp":"2024-01-01T00:00:00Z"}"#;

/// Two records, the second with `properties` nested `depth` objects deep.
fn deep_ndjson(depth: usize) -> String {
    format!(
        "{HEAD}\n{{\"user_id\":\"u2\",\"event\":\"page_view\",\"timestamp\":\"2024-01-01T00:00:00Z\",\
         \"properties\":{}1{}}}\n",
        "{\"k\":".repeat(depth),
        "}".repeat(depth)
    )
}

/// Two records, the second with `keys` keys in `properties`.
fn wide_ndjson(keys: usize) -> String {
    let props: Vec<String> = (0..keys).map(|i| format!("\"k{i}\":{i}")).collect();
    format!(
        "{HEAD}\n{{\"user_id\":\"u2\",\"event\":\"page_view\",\"timestamp\":\"2024-01-01T00:00:00Z\",\
         \"properties\":{{{}}}}}\n",
        props.join(",")
    )
}

/// The CLI run under a memory budget (`PERSONA_LAB_MEMORY`).
fn cli_within(budget: &str, args: &[&str]) -> std::process::Output {
    bin()
        .env("PERSONA_LAB_MEMORY", budget)
        .args(args)
        .output()
        .unwrap()
}

/// The message of a run that must fail with a named error (exit 1: not a panic, not an abort).
fn refused(o: &std::process::Output) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    err
}

/// A refusal whose message says every one of `needles`.
fn refused_saying(o: &std::process::Output, needles: &[&str]) -> String {
    let err = refused(o);
    for n in needles {
        assert!(err.contains(n), "{n:?} missing from: {err}");
    }
    err
}

/// `features` on `p`, writing the profile to `out`.
fn features_to(p: &Path, out: &Path) -> std::process::Output {
    run(&["features", arg(p), "--out", arg(out)])
}

/// `segment` on `input` at k = 3 with `extra` flags, writing the rule set `rs.ron` in `dir`.
fn segmented(dir: &Path, input: &Path, extra: &[&str]) -> std::path::PathBuf {
    let rules = dir.join("rs.ron");
    let mut args = vec!["segment", arg(input), "--k", "3", "--out", arg(&rules)];
    args.extend_from_slice(extra);
    run_ok(&args);
    rules
}

fn parse_message(e: LoadError) -> String {
    match e {
        LoadError::Parse { message, .. } => message,
        other => panic!("expected a parse error, got {other:?}"),
    }
}

/// H1: 2,000 levels overflowed the stack (abort, exit 134) and 200 took over a minute.
#[test]
fn deep_ndjson_is_refused_with_its_line() {
    let d = tempfile::tempdir().unwrap();
    for depth in [200, 1000, 5000] {
        let p = write(d.path(), "deep.ndjson", deep_ndjson(depth));
        let start = std::time::Instant::now();
        let msg = parse_message(load(&p).unwrap_err());
        says(&msg, &["line 2", "nested more than 32 levels"]);
        assert!(
            start.elapsed().as_secs() < 5,
            "{depth}: {:?}",
            start.elapsed()
        );
    }
    // Braces inside strings are text, not nesting.
    let text = format!(
        "{HEAD}\n{{\"user_id\":\"u2\",\"event\":\"{}\",\"timestamp\":\"2024-01-01T00:00:00Z\"}}\n",
        "{[".repeat(500)
    );
    let p = write(d.path(), "braces.ndjson", text);
    assert_eq!(load(&p).unwrap().n_users(), 2);
}

#[test]
fn deep_ndjson_through_the_cli_exits_with_a_message() {
    let (d, p) = temp_file("deep.ndjson", deep_ndjson(3000));
    let out = d.path().join("f.csv");
    let o = features_to(&p, &out);
    refused_saying(&o, &["deep.ndjson"]);
    assert!(!out.exists());
}

#[test]
fn nesting_real_exports_use_still_loads() {
    let loaded = load_text("ok.ndjson", deep_ndjson(8)).unwrap();
    assert_eq!(loaded.n_users(), 2);
}

/// H2: 50,000 keys took 12 to 24 s, 2 million reached 22.7 GB.
#[test]
fn a_record_with_too_many_keys_is_refused() {
    let (d, p) = temp_file("wide.ndjson", wide_ndjson(50_000));
    let start = std::time::Instant::now();
    let msg = parse_message(load(&p).unwrap_err());
    says(&msg, &["line 2", "more than 10000 keys"]);
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    // Keys inside a list of objects count per object, not per record (GA4's items).
    let items: Vec<String> = (0..3000)
        .map(|i| format!("{{\"item_id\":\"i{i}\",\"price\":1,\"quantity\":2,\"item_name\":\"x\"}}"))
        .collect();
    let text = format!(
        "{HEAD}\n{{\"user_id\":\"u2\",\"event\":\"purchase\",\"timestamp\":\"2024-01-01T00:00:00Z\",\
         \"items\":[{}]}}\n",
        items.join(",")
    );
    let p = write(d.path(), "items.ndjson", text);
    assert_eq!(load(&p).unwrap().n_users(), 2);
}

#[test]
fn a_record_within_the_key_limit_loads() {
    let loaded = load_text("wide.ndjson", wide_ndjson(2_000)).unwrap();
    assert_eq!(loaded.n_users(), 2);
}

/// Gzip members, each a complete gzip stream, concatenated into one file.
fn gzip_members(members: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in members {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(m).unwrap();
        out.extend(gz.finish().unwrap());
    }
    out
}

/// H3: the check trusted the trailer of the last member (3 rows) while the first held the bulk.
#[test]
fn a_second_gzip_member_cannot_hide_the_size() {
    let d = tempfile::tempdir().unwrap();
    let mut bulk = String::from("user_id,timestamp,event\n");
    bulk.push_str(&"u1,2024-01-01T00:00:00Z,page_view\n".repeat(300_000));
    let tail = b"u1,2024-01-02T00:00:00Z,page_view\nu2,2024-01-02T00:00:00Z,page_view\n";
    let bytes = gzip_members(&[bulk.as_bytes(), tail]);
    let p = write(d.path(), "two.csv.gz", &bytes);
    // The bulk is 10 MB of text; the trailer says 70 bytes, the file is about 30 KB.
    assert!(bytes.len() < 100_000, "{}", bytes.len());
    let o = cli_within("4M", &["inspect", arg(&p)]);
    refused_saying(&o, &["two.csv.gz", "too large", "PERSONA_LAB_MEMORY"]);
    // The same file under a budget that holds it loads, both members read.
    let o = cli_within("200M", &["inspect", arg(&p)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("300002"), "{}", stdout(&o));
}

/// The complete example rule set of docs/ruleset-format.md, as text.
fn example_ron() -> String {
    let doc = std::fs::read_to_string(repo("docs/ruleset-format.md")).unwrap();
    let start = doc.find("```ron\n").unwrap() + 7;
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].to_string()
}

/// H4: `k: 18446744073709551615` built one error per segment until the kernel killed it at 24 GB.
#[test]
fn an_absurd_k_is_refused_once() {
    let d = tempfile::tempdir().unwrap();
    let text = example_ron();
    assert!(text.contains("k: 2,"));
    for k in ["18446744073709551615", "10000000"] {
        let p = write(
            d.path(),
            "r.ron",
            text.replace("k: 2,", &format!("k: {k},")),
        );
        let o = run(&["verify", arg(&p)]);
        let err = refused_saying(
            &o,
            &[&format!("segments.k is {k} but there are 2 centroids")],
        );
        assert!(err.lines().count() < 5, "{err}");
        assert!(stdout(&o).lines().count() < 5, "{}", stdout(&o));
    }
}

fn small_export(dir: &Path) -> std::path::PathBuf {
    let mut text = String::from("user_id,timestamp,event,value\n");
    for i in 0..60 {
        text.push_str(&format!(
            "u{},2024-01-{:02}T10:00:00Z,{},{}\n",
            i % 12,
            1 + i % 20,
            if i % 3 == 0 { "purchase" } else { "page_view" },
            i % 7
        ));
    }
    write(dir, "v.csv", text)
}

/// H5: an output naming the input destroyed the export (exit 0).
#[test]
fn an_output_on_the_input_is_refused_before_any_work() {
    let d = tempfile::tempdir().unwrap();
    let v = small_export(d.path());
    let before = std::fs::read(&v).unwrap();
    let vs = arg(&v);
    let link = d.path().join("link.csv");
    std::os::unix::fs::symlink(&v, &link).unwrap();
    let dotted = d.path().join(".").join("v.csv");
    for args in [
        vec!["features", vs, "--out", vs],
        vec!["features", vs, "--out", arg(&link)],
        vec!["features", vs, "--out", arg(&dotted)],
        vec!["segment", vs, "--k", "2", "--assignments", vs],
        vec!["segment", vs, "--k", "2", "--out", vs],
    ] {
        let o = run(&args);
        let err = refused(&o);
        assert!(
            err.contains("is the same file as the input export"),
            "{args:?}: {err}"
        );
        assert_eq!(std::fs::read(&v).unwrap(), before, "{args:?}");
    }
    // Two outputs of one run on one path: only the last would survive.
    let r = d.path().join("r.ron");
    let o = run(&[
        "segment",
        vs,
        "--k",
        "2",
        "--report",
        arg(&r),
        "--out",
        arg(&r),
    ]);
    refused_saying(&o, &["--report and --out are the same file"]);
    assert!(!r.exists());
    // L5: a table output with an unknown extension is refused before the computation.
    let o = run(&["features", vs, "--out", arg(&d.path().join("f.xlsx"))]);
    assert!(
        stderr(&o).contains("unknown output format"),
        "{}",
        stderr(&o)
    );
    let o = run(&["features", vs, "--out", arg(&d.path().join("no/f.csv"))]);
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
}

/// H6: the temp-and-rename replaced symlinks and devices with regular files, and followed a
/// symlink planted at the temp file's predictable name.
#[test]
fn writes_keep_symlinks_and_devices_and_never_follow_a_planted_temp() {
    use persona_lab::output::write_bytes;
    let d = tempfile::tempdir().unwrap();
    // A symlinked output stays a symlink; the file it points at gets the content.
    let real = write(d.path(), "real.txt", "old");
    let link = d.path().join("link.txt");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    write_bytes(&link, b"new").unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    // A dangling symlink: its target is created, the link kept.
    let target = d.path().join("later.txt");
    let dangling = d.path().join("dangling.txt");
    std::os::unix::fs::symlink(&target, &dangling).unwrap();
    write_bytes(&dangling, b"made").unwrap();
    assert!(
        std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "made");
    // A device is written through, not replaced; a full device reports its error.
    write_bytes(Path::new("/dev/null"), b"x").unwrap();
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(!meta.is_file());
    if Path::new("/dev/full").exists() {
        let e = write_bytes(Path::new("/dev/full"), &vec![b'x'; 1 << 16]).unwrap_err();
        assert!(e.to_string().contains("/dev/full"), "{e}");
        assert!(!std::fs::metadata("/dev/full").unwrap().is_file());
    }
    // A symlink planted at every temp name this process could use first points at a victim file.
    let victim = write(d.path(), "victim.txt", "precious");
    let out = d.path().join("out.txt");
    for attempt in 0..3 {
        let planted = d
            .path()
            .join(format!(".out.txt.tmp-{}-{attempt}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
    }
    write_bytes(&out, b"result").unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "result");
    // A folder is no file.
    let e = write_bytes(d.path(), b"x").unwrap_err();
    assert!(e.to_string().contains("folder"), "{e}");
}

/// M2: a column given two roles made polars panic ("duplicate name when building schema").
#[test]
fn one_column_two_roles() {
    let d = tempfile::tempdir().unwrap();
    let v = small_export(d.path());
    let vs = arg(&v);
    // Explicit role over a detected one: the explicit choice wins, the detected role is dropped.
    let o = run(&["inspect", vs, "--value-col", "timestamp"]);
    assert_ne!(o.status.code(), Some(101), "{}", stderr(&o));
    run_ok(&["inspect", vs, "--user-col", "event"]);
    // Two explicit roles on one column: a message naming both.
    let o = run(&["inspect", vs, "--user-col", "event", "--event-col", "event"]);
    refused_saying(&o, &["\"event\"", "already the user id"]);
}

/// M4: header names with spaces around them made the file unloadable.
#[test]
fn header_names_with_spaces() {
    let (_d, p) = temp_file(
        "s.csv",
        "user_id , timestamp,event \nu1,2024-01-01T00:00:00Z,page_view\nu2,2024-01-02T00:00:00Z,purchase\n",
    );
    let loaded = load(&p).unwrap();
    assert_eq!(loaded.n_users(), 2);
    assert_eq!(loaded.mapping.user_id.as_deref(), Some("user_id"));
    assert_eq!(loaded.mapping.event.as_deref(), Some("event"));
    run_ok(&["inspect", arg(&p), "--user-col", "user_id"]);
}

/// M5: a FIFO hung forever (the sniff consumed the writer).
#[test]
fn a_pipe_is_refused_not_waited_on() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("pipe.csv");
    let c = std::ffi::CString::new(arg(&fifo)).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let e = load(&fifo).unwrap_err();
    assert!(matches!(e, LoadError::NotAFile { .. }), "{e:?}");
    assert!(e.to_string().contains("pipe"), "{e}");
    // A folder is an export of many files (issue 19); a pipe in it is not one of them.
    let e = load(d.path()).unwrap_err();
    assert!(
        e.to_string().contains("no export files") && e.to_string().contains("pipe.csv"),
        "{e}"
    );
}

/// M3: weights summed in u32 wrapped: 4294967246 + 150 "summed to 100".
#[test]
fn variant_weights_cannot_wrap() {
    use persona_lab::ruleset::RuleSet;
    let text = example_ron();
    let rs = RuleSet::from_ron(&text).unwrap();
    let mut rs2 = rs.clone();
    let rule = rs2
        .rules
        .iter_mut()
        .find(|r| r.action.variants.len() >= 2)
        .expect("the example has a rule with variants");
    let n = rule.action.variants.len();
    for v in rule.action.variants.iter_mut() {
        v.weight = 0;
    }
    rule.action.variants[0].weight = 4_294_967_246;
    rule.action.variants[n - 1].weight = 150;
    let findings: Vec<String> = rs2.validate().iter().map(|f| f.to_string()).collect();
    assert!(
        findings.iter().any(|f| f.contains("weight 4294967246")),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|f| f.contains("sum to 4294967396")),
        "{findings:?}"
    );
}

/// M8: values near 1e308 overflowed to inf revenue and NaN scores, written out with exit 0.
#[test]
fn overflowing_values_are_named() {
    let (d, p) = temp_file(
        "big.csv",
        "user_id,timestamp,event,value\n\
         u1,2024-01-01T00:00:00Z,purchase,1e308\n\
         u1,2024-01-02T00:00:00Z,purchase,1e308\n\
         u2,2024-01-02T00:00:00Z,purchase,5\n\
         u3,2024-01-03T00:00:00Z,page_view,\n",
    );
    let out = d.path().join("f.csv");
    let o = features_to(&p, &out);
    refused_saying(&o, &["\"u1\"", "overflows"]);
    assert!(!out.exists());
    // Finite but too large to scale (the variance overflows).
    let p = write(
        d.path(),
        "wide.csv",
        "user_id,score\nu1,1e200\nu2,-1e200\nu3,3e200\nu4,0\n",
    );
    let o = features_to(&p, &out);
    refused_saying(&o, &["score", "too large to scale"]);
}

/// M7: emails inside event names reached the features' column names and the rule set, even hashed.
#[test]
fn emails_inside_event_names_never_become_names() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::from("user_id,timestamp,event\n");
    for i in 0..40 {
        let event = if i % 2 == 0 {
            format!("newsletter_signup:person{i}@corp.example")
        } else {
            "page_view".to_string()
        };
        text.push_str(&format!(
            "u{},2024-01-{:02}T10:00:00Z,{event}\n",
            i % 8,
            1 + i % 20
        ));
    }
    let p = write(d.path(), "e.csv", text);
    let out = d.path().join("f.csv");
    let o = bin()
        .env("PERSONA_LAB_SALT", "s")
        .args(["features", arg(&p), "--hash-ids", "--out", arg(&out)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        !written.contains('@'),
        "{}",
        written.lines().next().unwrap()
    );
    assert!(
        written.contains("newsletter_signup:<email>"),
        "{}",
        written.lines().next().unwrap()
    );
    assert!(
        format!("{}{}", stdout(&o), stderr(&o)).contains("contain an email address"),
        "{}",
        stderr(&o)
    );
}

/// M6: `app_version` and `created` were covered by no section; a content-only change listed nothing.
#[test]
fn the_checksum_covers_the_header_and_names_every_change() {
    use persona_lab::ruleset::RuleSet;
    use persona_lab::ruleset::checksum::{self, Integrity};
    let rs = RuleSet::from_ron(&example_ron()).unwrap().sealed();
    assert_eq!(checksum::check(&rs), Integrity::Intact);
    let mut edited = rs.clone();
    edited.created = "2001-01-01T00:00:00Z".into();
    match checksum::check(&edited) {
        Integrity::Edited { changed, .. } => assert_eq!(changed, vec!["header".to_string()]),
        other => panic!("{other:?}"),
    }
    let mut edited = rs.clone();
    if let Some(c) = edited.checksum.as_mut() {
        c.content = "0".repeat(64);
    }
    match checksum::check(&edited) {
        Integrity::Edited { changed, .. } => {
            assert_eq!(changed, vec!["checksum.content".to_string()])
        }
        other => panic!("{other:?}"),
    }
    // A file sealed before the header had a section still reads as intact.
    let mut old = rs.clone();
    if let Some(c) = old.checksum.as_mut() {
        c.sections.remove("header");
        let all: String = c
            .sections
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        c.content = sha256_hex(all.as_bytes());
    }
    assert_eq!(checksum::check(&old), Integrity::Intact);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// L2: UTF-16 was reported as "binary bytes"; say what it is and how to convert it.
#[test]
fn utf16_is_named() {
    let d = tempfile::tempdir().unwrap();
    let text = "user_id,timestamp,event\nu1,2024-01-01T00:00:00Z,page_view\n";
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let p = write(d.path(), "u16.csv", &le);
    let e = load(&p).unwrap_err();
    assert!(matches!(e, LoadError::Utf16 { .. }), "{e:?}");
    // Without a byte-order mark too.
    let bare: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let p = write(d.path(), "bare.csv", &bare);
    assert!(matches!(load(&p).unwrap_err(), LoadError::Utf16 { .. }));
}

/// The flattened NDJSON read (json_lines) gives the table polars' own struct read gave, column for
/// column and value for value, on a Segment-style export with nested `properties` and `context`,
/// lists and sparse keys: polars' inference and struct flattening are the oracle.
#[test]
fn flat_ndjson_read_equals_polars_struct_read() {
    use polars::prelude::*;
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("seg.ndjson");
    run_ok(&[
        "sample",
        "--users",
        "40",
        "--days",
        "10",
        "--seed",
        "9",
        "--style",
        "segment",
        "--out",
        arg(&p),
    ]);
    // Sparse and odd records: a key only some records have, a list, an empty object, escapes.
    let mut text = std::fs::read_to_string(&p).unwrap();
    text.push_str(
        r#"{"userId":"u\"q","event":"x","timestamp":"2024-01-01T00:00:00Z","properties":{"only_here":2.5,"tags":["a"],"e":{}},"context":{"page":{"path":"/a\\b"}}}"#,
    );
    text.push('\n');
    std::fs::write(&p, &text).unwrap();
    let sniffed = persona_lab::data::format::sniff(&p, None, None).unwrap();
    let (ours, lists) = persona_lab::data::format::read_ndjson(&p, &sniffed).unwrap();
    let theirs = JsonReader::new(std::io::Cursor::new(text.as_bytes()))
        .with_json_format(JsonFormat::JsonLines)
        .infer_schema_len(None)
        .finish()
        .unwrap();
    let (theirs, their_lists) = persona_lab::data::flatten::flatten_structs(theirs).unwrap();
    assert_eq!(ours.height(), theirs.height());
    let mut a: Vec<String> = ours
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut b: Vec<String> = theirs
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(lists, their_lists);
    for name in &a {
        let x = ours.column(name).unwrap();
        let y = theirs.column(name).unwrap();
        assert_eq!(x.dtype(), y.dtype(), "{name}");
        assert!(x.equals_missing(y), "{name}");
    }
}

/// L7 / L12: what an error echoes from a file is capped and sanitised: a header holding a terminal
/// escape sequence reaches the terminal escaped, never raw.
#[test]
fn a_header_with_terminal_escapes_is_echoed_escaped() {
    let (_dir, p) = temp_file("esc.csv", "x\u{1b}[2J\u{1b}[31mred\n1\n2\n");
    let err = refused(&run(&["inspect", arg(&p)]));
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(err.contains("x\\u{1b}[2J\\u{1b}[31mred"), "{err}");
}

/// L9: an error in the session file is reported under the session file's name, not the profile's.
#[test]
fn a_session_error_names_the_session_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = segmented(
        dir.path(),
        &repo("sample_data/fashion_ga4_events.csv.gz"),
        &[],
    );
    let rs = persona_lab::ruleset::RuleSet::read(&rules).unwrap();
    let features: serde_json::Map<String, serde_json::Value> = rs
        .features
        .profile_features
        .iter()
        .map(|f| (f.clone(), serde_json::json!(1.0)))
        .collect();
    let profile = write(
        dir.path(),
        "profile.json",
        serde_json::json!({"user_id": "u1", "features": features}).to_string(),
    );
    let session = write(
        dir.path(),
        "session.json",
        r#"{"now": "not a time", "events": []}"#,
    );
    let err = refused(&run(&[
        "decide",
        "--rules",
        arg(&rules),
        "--profile",
        arg(&profile),
        "--session",
        arg(&session),
    ]));
    assert!(
        err.starts_with(&format!("error: {}: session.now", session.display())),
        "{err}"
    );
}

/// M9: BigQuery's NUMERIC arrives in Parquet as DECIMAL: read as numbers (top level and inside a
/// record, and in Avro), not "the file is damaged" or a panic. Files by tests/oracle/decimal_exports.py.
#[test]
fn decimal_columns_are_read_as_numbers() {
    use persona_lab::features::{self, FeatureConfig};
    for f in ["flat.parquet", "nested.parquet", "flat.avro"] {
        let p = repo(&format!("tests/fixtures/decimal/{f}"));
        let l = load(&p).unwrap_or_else(|e| panic!("{f}: {e}"));
        let prof = features::compute_profile(&l, &FeatureConfig::default()).unwrap();
        let revenue = by_user(&prof.table, "revenue");
        assert!(
            (revenue["u1"].unwrap() - 19.99).abs() < 1e-9,
            "{f}: {revenue:?}"
        );
        assert!(
            (revenue["u2"].unwrap() - 5.5).abs() < 1e-9,
            "{f}: {revenue:?}"
        );
        assert_eq!(by_user(&prof.table, "purchases")["u2"], Some(1.0), "{f}");
        let o = run(&["inspect", arg(&p)]);
        assert!(o.status.success(), "{f}: {}", stderr(&o));
    }
}

/// L8: the rule set and the project record that ids were hashed (never the salt); `assign` without
/// hashing is refused rather than writing raw ids beside segments learnt on hashed ones.
#[test]
fn hashed_ids_are_recorded_and_assign_without_the_salt_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (plab, out) = (dir.path().join("p.plab"), dir.path().join("a.csv"));
    let input = repo("tests/fixtures/ga4_small.csv.gz");
    let rules = segmented(
        dir.path(),
        &input,
        &["--hash-ids", "--salt", "pepper-8", "--project", arg(&plab)],
    );
    for f in [&rules, &plab] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(text.contains("ids_hashed: true"), "{}", f.display());
        assert!(
            !text.contains("pepper-8"),
            "the salt was written to {}",
            f.display()
        );
    }
    let err = refused(&run(&[
        "assign",
        arg(&input),
        "--rules",
        arg(&rules),
        "--out",
        arg(&out),
    ]));
    assert!(
        err.contains("the rule set was made from hashed user ids"),
        "{err}"
    );
    assert!(!out.exists());
    run_ok(&[
        "assign",
        arg(&input),
        "--rules",
        arg(&rules),
        "--hash-ids",
        "--salt",
        "pepper-8",
        "--out",
        arg(&out),
    ]);
    // A rule set from raw ids says nothing about hashing: existing files stay as they were.
    let raw_dir = dir.path().join("raw");
    std::fs::create_dir(&raw_dir).unwrap();
    let raw = segmented(&raw_dir, &input, &[]);
    assert!(
        !std::fs::read_to_string(&raw)
            .unwrap()
            .contains("ids_hashed")
    );
}

/// L10 (part): a malformed `created` is an error of `verify`, not a pass.
#[test]
fn a_malformed_created_time_fails_verify() {
    let dir = tempfile::tempdir().unwrap();
    let rules = segmented(dir.path(), &repo("tests/fixtures/ga4_small.csv.gz"), &[]);
    let text = std::fs::read_to_string(&rules).unwrap();
    let at = text.find("created: \"").unwrap() + "created: \"".len();
    let end = at + text[at..].find('"').unwrap();
    let bad = format!("{}yesterday{}", &text[..at], &text[end..]);
    std::fs::write(&rules, bad).unwrap();
    let o = run(&["verify", arg(&rules)]);
    assert_eq!(o.status.code(), Some(1));
    let out = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        out.contains("created: \"yesterday\" is not an RFC 3339 time"),
        "{out}"
    );
}

/// L4: single linkage asked to cluster every user exactly needs an n² matrix; above the memory budget
/// it is refused before the allocation (1M users asked for 2 TB and aborted), naming what to change.
#[test]
fn a_distance_matrix_larger_than_memory_is_refused_before_it_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("users.csv");
    let mut text = String::from("user_id,a,b\n");
    for i in 0..12_000 {
        text.push_str(&format!("u{i},{},{}\n", i % 97, (i * 7) % 89));
    }
    std::fs::write(&input, text).unwrap();
    let single = ["segment", arg(&input), "--k", "3", "--method", "single"];
    // 12,000 users: a 288 MB f32 matrix against a 64 MB budget.
    let o = cli_within(
        "64M",
        &[&single[..], &["--exact-limit", "1000000"]].concat(),
    );
    refused_saying(
        &o,
        &[
            "single linkage on 12000 users needs a 288 MB distance matrix",
            "PERSONA_LAB_MEMORY",
            "exact limit",
        ],
    );
    // Within the budget the same run works (the default exact limit samples 20,000 users: all).
    let o = cli_within("2G", &single);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// M7: phone numbers and social security numbers stored as bare digits look like numbers to a reader:
/// they became features written out raw. Named like what they are, they are now left out as personal
/// data (an order id of the same shape is not).
#[test]
fn bare_digit_phones_and_national_ids_are_left_out_as_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("users.csv");
    let mut text = String::from("user_id,visits,phone,customer_ssn,order_id\n");
    for i in 0..50 {
        text.push_str(&format!(
            "u{i},{},{},{},{}\n",
            i % 7 + 1,
            4_155_550_000u64 + i,
            123_450_000u64 + i * 37,
            900_000_000u64 + i
        ));
    }
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("profile.csv");
    let o = run_ok(&["features", arg(&input), "--out", arg(&out)]);
    let said = stdout(&o);
    says(&said, &["phone", "looks like phone numbers"]);
    assert!(said.contains("looks like national id numbers"), "{said}");
    let header = std::fs::read_to_string(&out).unwrap();
    let header = header.lines().next().unwrap().to_string();
    assert!(
        !header.contains("phone") && !header.contains("ssn"),
        "{header}"
    );
    assert!(
        header.contains("order_id"),
        "an id-shaped number without such a name stays: {header}"
    );
}

/// L10: conditions nested past what ron reads get our message, not ron's advice to programmers
/// (serde_stacker); a thousand rules with the same mistake are one line of `verify`, not a thousand.
#[test]
fn deep_conditions_and_repeated_mistakes_are_said_plainly() {
    use persona_lab::rules::{Condition, Rule};
    let dir = tempfile::tempdir().unwrap();
    let base =
        persona_lab::ruleset::RuleSet::read(&repo("conformance/rulesets/limits.json")).unwrap();
    // 300 levels of Not around Always, in RON and in JSON (written by hand: the writers refuse it).
    let ron_text = std::fs::read_to_string(repo("conformance/rulesets/limits.ron")).unwrap();
    let deep_ron = format!("{}Always{}", "Not(".repeat(300), ")".repeat(300));
    let text = ron_text.replacen("when: Always", &format!("when: {deep_ron}"), 1);
    let path = dir.path().join("deep.ron");
    std::fs::write(&path, text).unwrap();
    let json_text = std::fs::read_to_string(repo("conformance/rulesets/limits.json")).unwrap();
    let deep_json = format!("{}\"Always\"{}", "{\"Not\": ".repeat(300), "}".repeat(300));
    let json = json_text.replacen("\"when\": \"Always\"", &format!("\"when\": {deep_json}"), 1);
    assert_ne!(json, json_text);
    let json_path = dir.path().join("deep.json");
    std::fs::write(&json_path, json).unwrap();
    let o = run(&["verify", arg(&json_path)]);
    let err = stderr(&o);
    assert!(err.contains("nests deeper than a rule set may"), "{err}");
    let mut deep = base.clone();
    let mut c = Condition::Always;
    for _ in 0..300 {
        c = Condition::Not(Box::new(c));
    }
    let mut r = Rule::new("deep", 100);
    r.when = c;
    deep.rules.push(r);
    let e = deep.to_ron().unwrap_err().to_string();
    assert!(e.contains("nests deeper than a rule set may"), "{e}");
    let o = run(&["verify", arg(&path)]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("nests deeper than a rule set may") && !err.contains("serde_stacker"),
        "{err}"
    );
    // A thousand rules naming a persona that does not exist.
    let mut many = base;
    for i in 0..1000 {
        let mut r = Rule::new(format!("r{i}"), 200 + i);
        r.when = Condition::PersonaIn(vec!["ghost".into()]);
        r.action.slot = format!("slot{i}");
        many.rules.push(r);
    }
    let path = dir.path().join("many.ron");
    persona_lab::ruleset::write(&many, &path).unwrap();
    let o = run(&["verify", arg(&path)]);
    assert!(!o.status.success());
    let out = stdout(&o);
    let ghost: Vec<&str> = out.lines().filter(|l| l.contains("ghost")).collect();
    assert_eq!(ghost.len(), 1, "{out:.2000}");
    assert!(
        ghost[0].contains("1000 rules (\"r0\", \"r1\", \"r2\", \"r3\", \"r4\" and 995 more)"),
        "{}",
        ghost[0]
    );
}

/// L10: a version edited down (3 to 2) read as that version, upgraded, with its models kept; a version
/// cannot hold what came after it.
#[test]
fn a_format_version_edited_down_is_refused() {
    use persona_lab::ruleset::RuleSet;
    let text = std::fs::read_to_string(repo("conformance/rulesets/limits.ron")).unwrap();
    assert!(text.contains("format_version: 3,"));
    let e = RuleSet::from_ron(&text.replacen("format_version: 3,", "format_version: 2,", 1))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("format_version 2 has no models (they came in version 3)"),
        "{e}"
    );
    let e = RuleSet::from_ron(&text.replacen("format_version: 3,", "format_version: 1,", 1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("format_version 1 has no rules"), "{e}");
    // Files that are what they say still read and upgrade (tests/fixtures/rules/v1.ron is version 1).
    let v1 = RuleSet::read(&repo("tests/fixtures/rules/v1.ron")).unwrap();
    assert_eq!(v1.format_version, 3);
}

/// M1: an export cut short while it is read (a download restarted, a copy overwritten). The CSV
/// reader used to memory-map the file, and touching a page past the new end killed the process
/// with SIGBUS (exit 135; the app would die the same way). Now it either loads what was there when
/// it was read or names the file as changed: never a signal.
#[test]
fn an_export_truncated_while_it_is_read_is_an_error_not_a_signal() {
    use std::os::unix::process::ExitStatusExt as _;
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("growing.csv");
    let mut text = String::from("user_id,event_timestamp,event_name,value\n");
    for i in 0..600_000 {
        text.push_str(&format!(
            "u{},2024-01-{:02}T10:00:00Z,page_view_{},{}\n",
            i % 5000,
            1 + i % 28,
            i % 7,
            i % 13
        ));
    }
    let mut signalled = Vec::new();
    for delay_ms in [0u64, 5, 15, 30, 60, 100, 150, 250] {
        std::fs::write(&path, &text).unwrap();
        let child = bin()
            .args(["features", arg(&path), "--out"])
            .arg(d.path().join("f.csv"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(text.len() as u64 / 4)
            .unwrap();
        let o = child.wait_with_output().unwrap();
        if let Some(sig) = o.status.signal() {
            signalled.push((delay_ms, sig));
        } else if !o.status.success() {
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{err}");
            assert!(err.contains("growing.csv"), "{err}");
        }
    }
    assert!(
        signalled.is_empty(),
        "killed by signal (delay ms, signal): {signalled:?}"
    );
}

/// L7: text from the data that a terminal would obey (an escape sequence in a header, a rule id of
/// an outcomes file) is shown as an escape by every CLI command that prints it.
#[test]
fn terminal_escapes_in_data_are_shown_not_obeyed() {
    let (d, p) = temp_file(
        "esc.csv",
        "user_id,event_timestamp,ev\u{1b}]0;pwned\u{7}name,value\n\
         u1,2024-01-01T00:00:00Z,purchase,1\nu2,2024-01-02T00:00:00Z,page_view,2\n",
    );
    let o = run_ok(&["inspect", arg(&p)]);
    let out = stdout(&o);
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("ev\\u{1b}]0;pwned\\u{7}name"), "{out}");

    let mut outcomes =
        String::from("user_id,rule_id,variant,holdout,exposed_at,clicked,converted,revenue\n");
    for i in 0..40 {
        outcomes.push_str(&format!(
            "u{i},ban\u{1b}[2Jner,A,{},2026-10-03T10:00:00Z,{},{},0\n",
            i % 2,
            u8::from(i % 3 == 0),
            u8::from(i % 5 == 0)
        ));
    }
    let f = write(d.path(), "outcomes.csv", outcomes);
    let o = run_ok(&["report", arg(&f)]);
    let out = stdout(&o);
    assert!(!out.contains('\u{1b}'), "{out:?}");
    assert!(out.contains("ban\\u{1b}[2Jner"), "{out}");
}

/// L7: a text cell a spreadsheet would run as a formula (`=HYPERLINK(...)`, `@SUM`, `+cmd|...`) is
/// written to CSV with a leading `'`, with a warning naming where; Parquet keeps the value exactly.
#[test]
fn csv_outputs_do_not_carry_live_spreadsheet_formulas() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::from("user_id,event_timestamp,event_name,value\n");
    let ids = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "@SUM(A1)",
        "-5",
        "u4",
        "+cmd",
    ];
    for (i, id) in ids.iter().enumerate() {
        for day in 1..=3 {
            text.push_str(&format!(
                "\"{}\",2024-01-0{day}T10:00:00Z,page_view,{}\n",
                id.replace('"', "\"\""),
                i + day
            ));
        }
    }
    let p = write(d.path(), "ids.csv", text);
    let csv = d.path().join("f.csv");
    let o = run_ok(&["features", arg(&p), "--out", arg(&csv)]);
    let err = stderr(&o);
    says(&err, &["3 text cell(s)", "f.csv"]);
    let written = std::fs::read_to_string(&csv).unwrap();
    let firsts: Vec<&str> = written
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    for line in &firsts {
        assert!(
            !line.starts_with(['=', '@', '+']),
            "live formula in {written}"
        );
    }
    assert!(
        firsts.contains(&"'@SUM(A1)") && firsts.contains(&"'+cmd"),
        "{firsts:?}"
    );
    // A plain negative number is a number, not a formula: kept.
    assert!(firsts.contains(&"-5"), "{firsts:?}");
    // Parquet is not opened by spreadsheets: the ids stay exactly as they were.
    let pq = d.path().join("f.parquet");
    let o = run(&["features", arg(&p), "--out", arg(&pq)]);
    assert!(
        o.status.success() && !stderr(&o).contains("formula"),
        "{}",
        stderr(&o)
    );
    let back = persona_lab::data::format::read_parquet(&pq, None).unwrap();
    let ids_back: Vec<String> = back
        .column("user_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap().to_string())
        .collect();
    assert!(ids_back.contains(&"=HYPERLINK(\"http://evil.example\",\"x\")".to_string()));
}

/// L1: a run with several outputs that fails at a later one (here the report, on a full device)
/// leaves the earlier ones as they were: the assignments and the rule set are not replaced, and no
/// temp file is left beside them.
#[test]
fn a_run_that_fails_at_one_output_writes_none_of_them() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("ga4.csv");
    run_ok(&[
        "sample",
        "--users",
        "60",
        "--seed",
        "3",
        "--out",
        arg(&input),
    ]);
    let assignments = write(d.path(), "a.csv", "old assignments\n");
    let rules = write(d.path(), "r.ron", "old rule set\n");
    let segment = |report: &str| {
        run(&[
            "segment",
            arg(&input),
            "--k",
            "3",
            "--assignments",
            arg(&assignments),
            "--report",
            report,
            "--out",
            arg(&rules),
        ])
    };
    let o = segment("/dev/full");
    refused_saying(&o, &["/dev/full", "nothing was written", "a.csv"]);
    assert_eq!(
        std::fs::read_to_string(&assignments).unwrap(),
        "old assignments\n"
    );
    assert_eq!(std::fs::read_to_string(&rules).unwrap(), "old rule set\n");
    let left: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // The same run with a writable report puts all three in place.
    let report = d.path().join("report.json");
    let o = segment(arg(&report));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::read_to_string(&assignments)
            .unwrap()
            .starts_with("user_id,")
    );
    assert!(std::fs::read_to_string(&rules).unwrap().contains("RuleSet"));
    assert!(report.exists());
}

/// L2: messages that pointed the wrong way. Old Mac line endings were "a header but no data rows" (or
/// a duplicate column); mixed ones and a ragged row gave polars' advice for its Python options; a
/// gzip NDJSON export with a byte-order mark and no extension was read as CSV.
#[test]
fn line_endings_ragged_rows_and_a_marked_json_export_are_said_plainly() {
    let (d, cr) = temp_file(
        "mac.csv",
        "user_id,event_timestamp,event_name\ru1,2024-01-01T00:00:00Z,a\ru2,2024-01-02T00:00:00Z,b\r",
    );
    let e = load(&cr).unwrap_err();
    assert!(matches!(e, LoadError::LineEndings { line: 1, .. }), "{e:?}");
    assert!(e.to_string().contains("mac.csv") && e.to_string().contains("carriage return"));

    let mixed = write(
        d.path(),
        "mixed.csv",
        "user_id,event_timestamp,event_name\r\nu1,2024-01-01T00:00:00Z,a\n\
         u2,2024-01-02T00:00:00Z,b\ru3,2024-01-02T00:00:00Z,b\r\n",
    );
    let o = run(&["inspect", arg(&mixed)]);
    let err = refused_saying(&o, &["mixed.csv: line 3", "carriage return"]);
    assert!(!err.contains("truncate_ragged_lines"), "{err}");

    // A quoted line break is one record; the ragged one is named by the line it starts on.
    let ragged = write(
        d.path(),
        "outcomes.csv",
        "user_id,rule_id,variant,holdout,exposed_at,converted\n\
         u1,r,\"A\nB\",0,2026-10-01T00:00:00Z,1\nu2,r,A,1,2026-10-01T00:00:00Z,1,5\n",
    );
    let o = run(&["report", arg(&ragged)]);
    let err = refused_saying(
        &o,
        &["outcomes.csv: the record starting on line 4 has 7 fields where the header has 6"],
    );
    assert!(!err.contains("truncate_ragged_lines"), "{err}");

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(
        "\u{feff}{\"user_id\":\"u1\",\"event\":\"a\",\"timestamp\":\"2024-01-01T00:00:00Z\"}\n\
         {\"user_id\":\"u2\",\"event\":\"b\",\"timestamp\":\"2024-01-02T00:00:00Z\"}\n"
            .as_bytes(),
    )
    .unwrap();
    let p = write(d.path(), "export", gz.finish().unwrap());
    let l = load(&p).unwrap();
    assert_eq!(l.format, persona_lab::data::format::FileFormat::Ndjson);
    assert_eq!(l.n_users(), 2);
}

/// L3: a time column mixing formats dropped 80% of the rows with exit 0; now refused with counts,
/// rows and examples. Mixed epoch units put a minority in the year 56,000; now each value is read
/// in the unit its size implies, with a warning.
#[test]
fn mixed_time_formats_are_refused_and_mixed_units_read_per_value() {
    use polars::prelude::{ChunkAgg, DataType};
    let d = tempfile::tempdir().unwrap();
    let mut fmt = String::from("user_id,event_timestamp,event_name\n");
    let mut units = fmt.clone();
    for i in 0..100i64 {
        let (u, day) = (i % 10, i % 28 + 1);
        if i % 5 == 0 {
            fmt += &format!("u{u},2024-01-{day:02}T10:00:00Z,page_view\n");
        } else {
            fmt += &format!("u{u},{day:02}/01/2024 10:00,page_view\n");
        }
        let secs = 1_704_067_200 + i * 3600;
        if i % 2 == 0 {
            units += &format!("u{u},{secs},page_view\n");
        } else {
            units += &format!("u{u},{},page_view\n", secs * 1_000_000);
        }
    }
    let p = write(d.path(), "mixfmt.csv", fmt);
    let out = d.path().join("f.csv");
    let err = refused(&run(&["features", arg(&p), "--out", arg(&out)]));
    says(
        &err,
        &[
            "80 of 100 timestamps",
            "rows 2, 3, 4, 5",
            "\"02/01/2024 10:00\"",
            "--time-format",
        ],
    );
    assert!(!out.exists());

    let p = write(d.path(), "mixunit.csv", units);
    let l = load(&p).unwrap();
    let ts = l
        .table
        .column(persona_lab::data::cols::TS)
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap();
    let ts = ts.i64().unwrap();
    let (lo, hi) = (ts.min().unwrap(), ts.max().unwrap());
    assert_eq!(lo, 1_704_067_200 * 1_000_000);
    assert_eq!(hi, (1_704_067_200 + 99 * 3600) * 1_000_000);
    assert!(
        l.warnings.iter().any(|w| w.message.contains("mix units")
            && w.message.contains("50 in seconds, 50 in microseconds")),
        "{:?}",
        l.warnings
    );
}

/// Found by the fuzzer (load_parquet, 2026-12-01): a Float16 column panicked while polars built the
/// schema, outside the reader guard (exit 101; the app would have died). pyarrow writes one for
/// numpy's float16. Now refused naming the column and the type. File by tests/oracle/float16_export.py.
#[test]
fn a_float16_column_is_named_not_a_panic() {
    let p = repo("tests/fixtures/arrow_types/float16.parquet");
    let msg = parse_message(load(&p).unwrap_err());
    says(
        &msg,
        &[
            "column \"percent_scrolled\" has the type Float16",
            "64-bit float",
        ],
    );
    let err = refused(&run(&["inspect", arg(&p)]));
    assert!(err.contains("percent_scrolled"), "{err}");
}
