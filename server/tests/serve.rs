//! The decision service, started in this process on a free loopback port: it answers what the
//! runtime decides, keeps caps and guardrails across requests (also under concurrent requests of one
//! session, and across two service instances sharing one Redis), reloads a changed rule set only
//! when it verifies, answers every error as JSON, and recovers when Redis comes back.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use persona_lab_server::store::{Store, StoredProfile};
use persona_lab_server::{AppState, Config, Limits};
use serde_json::{Value, json};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start(rules: &Path, store: Store, exposures: Option<PathBuf>, limits: Limits) -> Server {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (atx, arx) = std::sync::mpsc::channel();
    let rules = rules.to_path_buf();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let state = AppState::new(Config {
                rules,
                store,
                exposures,
                limits,
                reload_every: Duration::from_millis(50),
                verify_key: None,
            })
            .await
            .unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            atx.send(listener.local_addr().unwrap()).unwrap();
            persona_lab_server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
    });
    let addr = arx.recv_timeout(Duration::from_secs(10)).unwrap();
    Server {
        addr,
        stop: Some(tx),
        thread: Some(thread),
    }
}

/// One HTTP/1.1 request on its own connection: (status, body as JSON or text).
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status: u16 = out[9..12].parse().unwrap();
    let text = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    let v = serde_json::from_str(text).unwrap_or(Value::String(text.into()));
    (status, v)
}

fn conformance(set: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(repo(&format!("conformance/cases/{set}.json"))).unwrap(),
    )
    .unwrap();
    doc["cases"].as_array().unwrap().clone()
}

fn limits_rules() -> PathBuf {
    repo("conformance/rulesets/limits.json")
}

const NOW: &str = "2026-11-25T10:00:00Z";

#[test]
fn decides_as_the_runtime_and_keeps_caps_across_requests() {
    let server = start(
        &limits_rules(),
        Store::memory(vec![]),
        None,
        Limits::default(),
    );
    let cases = conformance("limits");
    let fresh = cases.iter().find(|c| c["name"] == "fresh session").unwrap();
    let body =
        json!({"profile": fresh["profile"], "session": {"id": "s1", "now": NOW}}).to_string();
    let (status, got) = http(server.addr, "POST", "/v1/decide", &body);
    assert_eq!(status, 200, "{got}");
    // No offer yet: exactly the conformance case's output.
    assert_eq!(got, fresh["expect"]["output"]);
    assert_eq!(got["decisions"].as_array().unwrap().len(), 3);
    // The same session again: the three offers count, hero_a is capped, the guardrail holds.
    let (_, again) = http(server.addr, "POST", "/v1/decide", &body);
    assert!(again["decisions"].as_array().unwrap().is_empty(), "{again}");
    let outcome = |d: &Value, rule: &str| {
        d["trace"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["rule"] == rule)
            .unwrap()["outcome"]
            .clone()
    };
    assert_eq!(outcome(&again, "hero_a"), "rule_cap");
    assert_eq!(outcome(&again, "side"), "guardrail");
    // A new session of the same user: the session cap starts again, the day counts go on
    // (side: 1 of 2 per day used; the day guardrail: 3 of 5).
    let next =
        json!({"profile": fresh["profile"], "session": {"id": "s2", "now": NOW}}).to_string();
    let (_, third) = http(server.addr, "POST", "/v1/decide", &next);
    let rules: Vec<&str> = third["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["hero_a", "side"], "{third}");
    assert_eq!(outcome(&third, "dated"), "guardrail");
}

#[test]
fn concurrent_requests_of_one_session_never_exceed_the_cap() {
    let exposures = tempfile::NamedTempFile::new().unwrap();
    let server = start(
        &limits_rules(),
        Store::memory(vec![]),
        Some(exposures.path().to_path_buf()),
        Limits::default(),
    );
    let fresh = conformance("limits")[0].clone();
    let body =
        json!({"profile": fresh["profile"], "session": {"id": "race", "now": NOW}}).to_string();
    let threads: Vec<_> = (0..24)
        .map(|_| {
            let (addr, body) = (server.addr, body.clone());
            std::thread::spawn(move || http(addr, "POST", "/v1/decide", &body))
        })
        .collect();
    let mut offers = 0;
    for t in threads {
        let (status, d) = t.join().unwrap();
        assert_eq!(status, 200, "{d}");
        offers += d["decisions"].as_array().unwrap().len();
    }
    assert_eq!(offers, 3, "the session cap is 3");
    let log = std::fs::read_to_string(exposures.path()).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
    for line in log.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            (e["user_id"].as_str(), e["session"].as_str()),
            (Some("a"), Some("race"))
        );
    }
}

#[test]
fn errors_are_json_with_a_reason() {
    let limits = Limits {
        max_body_bytes: 4096,
        ..Limits::default()
    };
    let server = start(&limits_rules(), Store::memory(vec![]), None, limits);
    let fresh = conformance("limits")[0].clone();
    let cases: Vec<(String, u16, &str)> = vec![
        ("{not json".into(), 400, "bad_request"),
        (
            json!({"user_id": "ghost", "session": {"id": "s"}}).to_string(),
            404,
            "unknown_user",
        ),
        (
            json!({"profile": fresh["profile"]}).to_string(),
            400,
            "bad_request",
        ),
        (
            json!({"profile": fresh["profile"], "session": {"id": "s", "shown": []}}).to_string(),
            400,
            "bad_request",
        ),
        (
            json!({"profile": fresh["profile"], "session": {"id": "s", "now": "soon"}}).to_string(),
            422,
            "bad_time",
        ),
        (
            json!({"profile": {"user_id": "", "features": {}}, "session": {"id": "s"}}).to_string(),
            422,
            "no_user_id",
        ),
        (
            json!({"profile": fresh["profile"], "session": {"id": "s"}, "extra": 1}).to_string(),
            400,
            "bad_request",
        ),
        (
            format!("{{\"user_id\": \"{}\"}}", "x".repeat(5000)),
            413,
            "too_large",
        ),
    ];
    for (body, status, kind) in cases {
        let (got, v) = http(server.addr, "POST", "/v1/decide", &body);
        assert_eq!(
            (got, v["error"].as_str()),
            (status, Some(kind)),
            "{body:.80}: {v}"
        );
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    let (s, v) = http(server.addr, "GET", "/nowhere", "");
    assert_eq!((s, v["error"].as_str()), (404, Some("not_found")));
    let (s, v) = http(
        server.addr,
        "POST",
        "/v1/assign",
        &json!({"profile": fresh["profile"]}).to_string(),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["segment"].as_u64(), v["persona"].as_str()),
        (Some(0), Some("segment_0"))
    );
    assert!(v["scores"]["churn_risk"].as_f64().is_some() && v["bands"]["churn_risk"].is_string());
    let (s, m) = http(server.addr, "GET", "/metrics", "");
    let m = m.as_str().unwrap().to_string();
    assert_eq!(s, 200);
    assert!(
        m.contains("persona_lab_requests_total{endpoint=\"decide\",status=\"4xx\"} 8"),
        "{m}"
    );
}

/// `"why_not": true` adds, for each rule that missed, the parts that failed with the user's values:
/// what the runtime's `RuleSet::misses` says for the same profile and session, the decisions being
/// those of the conformance case, unchanged. Assign refuses it.
#[test]
fn why_not_says_what_the_runtime_says_beside_the_same_decisions() {
    use persona_lab_runtime::RuleSet;
    use persona_lab_runtime::rules::{Session, UserProfile};
    let rules_path = repo("conformance/rulesets/conditions.json");
    let rs = RuleSet::read(&rules_path).unwrap();
    let server = start(&rules_path, Store::memory(vec![]), None, Limits::default());
    let mut explained = 0;
    let cases = conformance("conditions");
    let with_output = cases
        .iter()
        .filter(|c| c["expect"]["output"].is_object() && c["session"]["shown"] == json!([]));
    for (i, case) in with_output.take(60).enumerate() {
        let body = json!({
            "profile": case["profile"],
            "session": {"id": format!("s{i}"), "now": case["session"]["now"], "events": case["session"]["events"]},
            "why_not": true,
        });
        let (status, mut got) = http(server.addr, "POST", "/v1/decide", &body.to_string());
        assert_eq!(status, 200, "{}: {got}", case["name"]);
        let why = got.as_object_mut().unwrap().remove("why_not").unwrap();
        assert_eq!(got, case["expect"]["output"], "{}", case["name"]);
        let profile: UserProfile = serde_json::from_value(case["profile"].clone()).unwrap();
        let session: Session = serde_json::from_value(case["session"].clone()).unwrap();
        let misses = serde_json::to_value(rs.misses(&profile, &session).unwrap()).unwrap();
        assert_eq!(why, misses, "{}", case["name"]);
        explained += usize::from(why.as_object().is_some_and(|m| !m.is_empty()));
    }
    assert!(explained > 10, "only {explained} cases missed a rule");
    let (s, v) = http(
        server.addr,
        "POST",
        "/v1/assign",
        &json!({"profile": cases[0]["profile"], "why_not": true}).to_string(),
    );
    assert_eq!((s, v["error"].as_str()), (400, Some("bad_request")), "{v}");
}

/// Replace a file the way a deployment does (write beside it, then rename): a plain write truncates
/// first, and the server's watcher could read the empty file as one more refused change.
fn replace(path: &Path, text: impl AsRef<[u8]>) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn a_changed_rule_set_is_served_only_when_it_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.json");
    let original = std::fs::read_to_string(limits_rules()).unwrap();
    replace(&path, &original);
    let server = start(&path, Store::memory(vec![]), None, Limits::default());
    let created = |addr| http(addr, "GET", "/v1/health", "").1["rules"]["created"].clone();
    assert_eq!(created(server.addr), "2026-11-30T12:00:00Z");
    let wait_for = |what: &dyn Fn() -> bool| {
        let t0 = Instant::now();
        while !what() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "no reload within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // A broken file: refused, the old one keeps serving, the reason is reported.
    replace(&path, "{\"format_version\": 3, ");
    wait_for(&|| {
        !http(server.addr, "GET", "/v1/health", "").1["rules"]["last_refused_change"].is_null()
    });
    assert_eq!(created(server.addr), "2026-11-30T12:00:00Z");
    let fresh = conformance("limits")[0].clone();
    let body = json!({"profile": fresh["profile"], "session": {"id": "s", "now": NOW}}).to_string();
    assert_eq!(http(server.addr, "POST", "/v1/decide", &body).0, 200);
    // A file that reads but has errors: refused too.
    let mut v: Value = serde_json::from_str(&original).unwrap();
    v["rules"][0]["priority"] = json!(0);
    replace(&path, v.to_string());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(created(server.addr), "2026-11-30T12:00:00Z");
    // A good new file: served.
    let mut v: Value = serde_json::from_str(&original).unwrap();
    v["created"] = json!("2026-12-01T08:00:00Z");
    v["checksum"] = Value::Null;
    replace(&path, v.to_string());
    wait_for(&|| created(server.addr) == "2026-12-01T08:00:00Z");
    let (_, m) = http(server.addr, "GET", "/metrics", "");
    let m = m.as_str().unwrap().to_string();
    assert!(
        m.contains("persona_lab_rule_reload_failures_total 2"),
        "{m}"
    );
    assert!(m.contains("persona_lab_rule_reloads_total 1"), "{m}");
}

/// A redis-server on a free loopback port, stopped on drop.
struct Redis {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Redis {
    fn start(port: Option<u16>) -> Option<Redis> {
        let port = port.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let dir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if t0.elapsed() > Duration::from_secs(10) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Redis { child, port, dir })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

#[test]
fn redis_holds_profiles_and_caps_across_two_services_and_recovers() {
    let Some(redis) = Redis::start(None) else {
        eprintln!("SKIPPED: redis-server is not installed (.ci/run installs it)");
        return;
    };
    let url = redis.url();
    let fresh = conformance("limits")[0].clone();
    let profile: persona_lab_runtime::UserProfile =
        serde_json::from_value(fresh["profile"].clone()).unwrap();
    // What `assign --to` writes.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let writer = Store::redis(&url, 1).unwrap();
    rt.block_on(writer.put_profiles(
        &[StoredProfile {
            profile: profile.clone(),
            segment: 0,
            persona: "segment_0".into(),
            persona_name: "High-Value Engagers".into(),
            scores: vec![("churn_risk".into(), 0.5)],
        }],
        60,
    ))
    .unwrap();
    let a = start(
        &limits_rules(),
        Store::redis(&url, 4).unwrap(),
        None,
        Limits::default(),
    );
    let b = start(
        &limits_rules(),
        Store::redis(&url, 4).unwrap(),
        None,
        Limits::default(),
    );
    // Looked up by id, in either service, the same answer as with the profile given.
    let by_id = json!({"user_id": "a", "session": {"id": "warm", "now": NOW}}).to_string();
    let (s, d) = http(a.addr, "POST", "/v1/decide", &by_id);
    assert_eq!(s, 200, "{d}");
    assert_eq!(d, fresh["expect"]["output"]);
    // 30 requests of one new session spread over both services at once: 3 offers in all.
    let body = json!({"user_id": "a", "session": {"id": "shared", "now": NOW}}).to_string();
    let threads: Vec<_> = (0..30)
        .map(|i| {
            let addr = if i % 2 == 0 { a.addr } else { b.addr };
            let body = body.clone();
            std::thread::spawn(move || http(addr, "POST", "/v1/decide", &body))
        })
        .collect();
    let offers: usize = threads
        .into_iter()
        .map(|t| {
            let (s, d) = t.join().unwrap();
            assert_eq!(s, 200, "{d}");
            d["decisions"].as_array().unwrap().len()
        })
        .sum();
    // The day guardrail is 5: 3 offers in "warm", so at most 2 more today whatever the session.
    assert_eq!(offers, 2);
    // Redis stops: a clear 503, nothing panics; health says degraded.
    let port = redis.port;
    drop(redis);
    let (s, v) = http(a.addr, "POST", "/v1/decide", &by_id);
    assert_eq!(
        (s, v["error"].as_str()),
        (503, Some("store_unavailable")),
        "{v}"
    );
    assert_eq!(http(a.addr, "GET", "/v1/health", "").0, 503);
    // Redis is back (empty, as after a restart without persistence): the service recovers.
    let _again = Redis::start(Some(port)).expect("redis restarts on its port");
    let (s, v) = http(a.addr, "POST", "/v1/decide", &by_id);
    assert_eq!((s, v["error"].as_str()), (404, Some("unknown_user")), "{v}");
    let with_profile =
        json!({"profile": fresh["profile"], "session": {"id": "after", "now": NOW}}).to_string();
    let (s, d) = http(b.addr, "POST", "/v1/decide", &with_profile);
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["decisions"].as_array().unwrap().len(), 3);
}

#[test]
fn with_a_verify_key_only_signed_rule_sets_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.json");
    let rs = persona_lab_runtime::RuleSet::read(&limits_rules()).unwrap();
    std::fs::write(&path, rs.to_json().unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = |key: &[u8]| Config {
        rules: path.clone(),
        store: Store::memory(vec![]),
        exposures: None,
        limits: Limits::default(),
        reload_every: Duration::from_millis(50),
        verify_key: Some(key.to_vec()),
    };
    let err = rt.block_on(AppState::new(config(b"k1"))).err().unwrap();
    assert!(err.contains("not signed"), "{err}");
    std::fs::write(
        &path,
        rs.signed(b"k1")
            .encode(persona_lab_runtime::ruleset::Encoding::Json)
            .unwrap(),
    )
    .unwrap();
    assert!(rt.block_on(AppState::new(config(b"k1"))).is_ok());
    let err = rt.block_on(AppState::new(config(b"k2"))).err().unwrap();
    assert!(err.contains("not this key's"), "{err}");
}
