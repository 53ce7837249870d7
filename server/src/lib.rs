//! `persona-lab serve`: the rule set as an HTTP JSON decision service.
//!
//! - `POST /v1/decide`: `{"user_id": "..."}` (the profile is looked up in the store) or
//!   `{"profile": {...}}` (the JSON `persona-lab decide --profile` reads), plus `"session": {"id":
//!   "...", "now": ..., "events": [...]}`. Answers what `persona-lab decide` prints. The offers a user
//!   was shown come from the store (a request may not carry `shown`), so caps and guardrails hold across
//!   requests and across processes sharing one Redis.
//! - `POST /v1/assign`: the same user forms; answers segment, persona and scores.
//! - `GET /v1/health`, `GET /metrics` (Prometheus text).
//!
//! The rule set file is reloaded when it changes, only once it reads and verifies with no error; a bad
//! file keeps the previous one serving and the reason is logged. Every error is JSON
//! `{"error": kind, "message": text}`. The runtime crate decides; this crate only serves.

pub mod metrics;
pub mod resp;
pub mod store;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use persona_lab_runtime::time::{format_micros, now_micros, parse_time};
use persona_lab_runtime::{RuleSet, Session, UserProfile};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use metrics::Metrics;
use store::{Offer, Store};

/// Bounds on what one request may ask.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_session_events: usize,
    pub max_history_events: usize,
    pub max_features: usize,
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 256 * 1024,
            max_session_events: 1000,
            max_history_events: 10_000,
            max_features: 10_000,
            timeout: Duration::from_secs(2),
        }
    }
}

pub struct Config {
    pub rules: PathBuf,
    pub store: Store,
    /// Append one NDJSON line per decision (what `persona-lab report` reads as exposures).
    pub exposures: Option<PathBuf>,
    pub limits: Limits,
    /// How often the rule set file is checked for a change.
    pub reload_every: Duration,
    /// Serve only rule sets signed with this key (HMAC-SHA256; `segment --sign-key`).
    pub verify_key: Option<Vec<u8>>,
}

struct Serving {
    rules: Arc<RuleSet>,
    /// Modification time and length of the file when it was read.
    stamp: Option<(std::time::SystemTime, u64)>,
    loaded_at: i64,
    last_refusal: Option<String>,
}

pub struct AppState {
    path: PathBuf,
    serving: RwLock<Serving>,
    store: Store,
    metrics: Metrics,
    exposures: Option<tokio::sync::Mutex<tokio::fs::File>>,
    limits: Limits,
    reload_every: Duration,
    verify_key: Option<Vec<u8>>,
}

/// Read and verify a rule set: errors refuse it (as `persona-lab decide` does), and so does a
/// signature that is missing or not the key's when a key is given.
pub fn load_rules(path: &std::path::Path, key: Option<&[u8]>) -> Result<RuleSet, String> {
    let rs = RuleSet::read(path).map_err(|e| e.to_string())?;
    if let Some(key) = key {
        use persona_lab_runtime::ruleset::checksum::{Signature, check_signature};
        match check_signature(&rs, key) {
            Signature::Valid => {}
            Signature::Unsigned => {
                return Err(format!(
                    "{}: not signed, and this service serves only signed rule sets",
                    path.display()
                ));
            }
            Signature::Invalid => {
                return Err(format!(
                    "{}: the signature is not this key's, or the file changed since it was signed",
                    path.display()
                ));
            }
        }
    }
    let errors: Vec<String> = rs.errors().iter().map(|f| f.to_string()).collect();
    if errors.is_empty() {
        Ok(rs)
    } else {
        Err(format!(
            "{}: the rule set has errors: {}",
            path.display(),
            errors.join("; ")
        ))
    }
}

fn stamp(path: &std::path::Path) -> Option<(std::time::SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl AppState {
    pub async fn new(config: Config) -> Result<Arc<AppState>, String> {
        let rules = load_rules(&config.rules, config.verify_key.as_deref())?;
        let exposures = match &config.exposures {
            Some(p) => Some(tokio::sync::Mutex::new(
                tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .await
                    .map_err(|e| format!("{}: cannot open for appending: {e}", p.display()))?,
            )),
            None => None,
        };
        Ok(Arc::new(AppState {
            serving: RwLock::new(Serving {
                stamp: stamp(&config.rules),
                rules: Arc::new(rules),
                loaded_at: now_micros(),
                last_refusal: None,
            }),
            path: config.rules,
            store: config.store,
            metrics: Metrics::default(),
            exposures,
            limits: config.limits,
            reload_every: config.reload_every,
            verify_key: config.verify_key,
        }))
    }

    fn rules(&self) -> Arc<RuleSet> {
        match self.serving.read() {
            Ok(s) => s.rules.clone(),
            Err(p) => p.into_inner().rules.clone(),
        }
    }

    /// Load the file again if it changed; a file that does not read or verify is refused and the
    /// current rule set keeps serving.
    pub fn reload_if_changed(&self) {
        let now = stamp(&self.path);
        let changed = match self.serving.read() {
            Ok(s) => s.stamp != now,
            Err(_) => false,
        };
        if !changed {
            return;
        }
        let result = load_rules(&self.path, self.verify_key.as_deref());
        let Ok(mut s) = self.serving.write() else {
            return;
        };
        s.stamp = now;
        match result {
            Ok(rs) => {
                eprintln!(
                    "serve: loaded {} (created {}, {} rules)",
                    self.path.display(),
                    rs.created,
                    rs.rules.len()
                );
                s.rules = Arc::new(rs);
                s.loaded_at = now_micros();
                s.last_refusal = None;
                self.metrics
                    .reloads
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(why) => {
                eprintln!(
                    "serve: refused the changed rule set, still serving the one created {}: {why}",
                    s.rules.created
                );
                s.last_refusal = Some(why);
                self.metrics
                    .reload_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

/// An error answer: `{"error": kind, "message": text, ...}` with its status.
struct Failure(StatusCode, Value);

impl Failure {
    fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Failure {
        Failure(status, json!({"error": kind, "message": message.into()}))
    }
}

fn answer(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The request body of both endpoints.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    profile: Option<UserProfile>,
    #[serde(default)]
    session: Option<RequestSession>,
    /// Decide: add `why_not`, the parts of each missed rule's condition that failed, with this
    /// user's values (`RuleSet::misses`, as `persona-lab decide --why-not`). For debugging a rule
    /// set: it costs a second pass over the rules.
    #[serde(default)]
    why_not: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestSession {
    id: String,
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    events: Vec<persona_lab_runtime::rules::Event>,
    /// Refused when present: the service keeps the offers itself.
    #[serde(default)]
    shown: Option<Value>,
}

fn parse(
    body: &Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Request, Failure> {
    let bytes = match body {
        Ok(b) => b,
        Err(e) => {
            return Err(Failure::new(
                e.status(),
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "bad_request"
                },
                e.body_text(),
            ));
        }
    };
    serde_json::from_slice(bytes).map_err(|e| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("request body: {e}"),
        )
    })
}

async fn profile_of(st: &AppState, req: &Request) -> Result<UserProfile, Failure> {
    let p = match (&req.user_id, &req.profile) {
        (Some(_), Some(_)) => {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "give user_id (the profile is looked up) or profile, not both",
            ));
        }
        (None, None) => {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "give user_id (the profile is looked up in the store) or profile",
            ));
        }
        (Some(id), None) => match st.store.profile(id).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err(unknown_user(st, id)),
            Err(e) => return Err(store_failure(st, e)),
        },
        (None, Some(p)) => p.clone(),
    };
    check_profile(st, &p)?;
    Ok(p)
}

fn unknown_user(st: &AppState, id: &str) -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        "unknown_user",
        format!("no profile for user {id:?} in the {}", st.store.describe()),
    )
}

fn check_profile(st: &AppState, p: &UserProfile) -> Result<(), Failure> {
    let l = &st.limits;
    if p.events.len() > l.max_history_events || p.features.len() > l.max_features {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "too_large",
            format!(
                "profile: at most {} events and {} features per request",
                l.max_history_events, l.max_features
            ),
        ));
    }
    Ok(())
}

fn store_failure(st: &AppState, e: resp::StoreError) -> Failure {
    st.metrics
        .store_errors
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Failure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        format!("{e}; no decision was made (caps could not be checked)"),
    )
}

fn rule_failure(e: &persona_lab_runtime::RuleError) -> Failure {
    Failure(StatusCode::UNPROCESSABLE_ENTITY, e.to_json())
}

/// Bounded retries of the compare-and-set: each is a full decision on fresh offers.
const MAX_ATTEMPTS: usize = 16;

async fn decide_inner(st: &AppState, req: Request) -> Result<String, Failure> {
    let Some(sess) = req.session.as_ref() else {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "session is required, with an id (offers are counted per session)",
        ));
    };
    if sess.shown.is_some() {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "session.shown is kept by the service; leave it out",
        ));
    }
    if sess.id.is_empty() || sess.events.len() > st.limits.max_session_events {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!(
                "session: id must not be empty and at most {} events",
                st.limits.max_session_events
            ),
        ));
    }
    let now = match &sess.now {
        Some(t) => parse_time("session.now", t).map_err(|e| rule_failure(&e))?,
        None => now_micros(),
    };
    // By id, the profile and the offers come in one round trip to the store.
    let (profile, mut first) = match (&req.user_id, &req.profile) {
        (Some(id), None) => {
            let (p, v, o) = st
                .store
                .profile_and_offers(id)
                .await
                .map_err(|e| store_failure(st, e))?;
            let p = p.ok_or_else(|| unknown_user(st, id))?;
            check_profile(st, &p)?;
            (p, Some((v, o)))
        }
        _ => (profile_of(st, &req).await?, None),
    };
    let rules = st.rules();
    for attempt in 0..MAX_ATTEMPTS {
        let (version, offers) = match first.take() {
            Some(x) => x,
            None => st
                .store
                .offers(&profile.user_id)
                .await
                .map_err(|e| store_failure(st, e))?,
        };
        let session = Session {
            now: Some(format_micros(now)),
            events: sess.events.clone(),
            shown: offers
                .iter()
                .map(|o| persona_lab_runtime::rules::Shown {
                    rule: o.rule.clone(),
                    time: format_micros(o.t),
                    this_session: o.s == sess.id,
                })
                .collect(),
        };
        let d = rules
            .decide(&profile, &session)
            .map_err(|e| rule_failure(&e))?;
        let new: Vec<Offer> = d
            .decisions
            .iter()
            .map(|x| Offer {
                rule: x.rule.clone(),
                t: now,
                s: sess.id.clone(),
            })
            .collect();
        let committed = new.is_empty()
            || st
                .store
                .commit(&profile.user_id, version, &new)
                .await
                .map_err(|e| store_failure(st, e))?;
        if committed {
            log_exposures(st, &profile.user_id, &sess.id, now, &d).await;
            let internal = |e: serde_json::Error| {
                Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            };
            if req.why_not {
                // Read from the same facts and offers the decision was made on.
                let misses = rules
                    .misses(&profile, &session)
                    .map_err(|e| rule_failure(&e))?;
                let mut out = serde_json::to_value(&d).map_err(internal)?;
                out["why_not"] = serde_json::to_value(misses).map_err(internal)?;
                return Ok(out.to_string());
            }
            // Written straight to text: no intermediate JSON value on the hot path.
            return serde_json::to_string(&d).map_err(internal);
        }
        st.metrics
            .conflicts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Requests of one user raced: back off a little, more each time.
        tokio::time::sleep(Duration::from_micros(50 << attempt.min(8))).await;
    }
    Err(Failure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "too many simultaneous requests for this user; try again",
    ))
}

async fn log_exposures(
    st: &AppState,
    user: &str,
    session: &str,
    now: i64,
    d: &persona_lab_runtime::Decisions,
) {
    use std::sync::atomic::Ordering::Relaxed;
    st.metrics
        .decisions
        .fetch_add(d.decisions.len() as u64, Relaxed);
    st.metrics.holdouts.fetch_add(
        d.decisions.iter().filter(|x| x.holdout).count() as u64,
        Relaxed,
    );
    let Some(file) = &st.exposures else {
        return;
    };
    let mut lines = String::new();
    for x in &d.decisions {
        lines.push_str(
            &json!({
                "user_id": user,
                "rule": x.rule,
                "variant": x.variant.clone().unwrap_or_default(),
                "holdout": x.holdout,
                "exposed_at": format_micros(now),
                "session": session,
                "slot": x.slot,
                "module": x.module,
                "persona": d.persona,
            })
            .to_string(),
        );
        lines.push('\n');
    }
    if lines.is_empty() {
        return;
    }
    // One write per request, so lines of concurrent requests never interleave.
    let mut f = file.lock().await;
    if let Err(e) = f.write_all(lines.as_bytes()).await {
        eprintln!("serve: cannot log exposures: {e}");
    }
}

async fn assign_inner(st: &AppState, req: Request) -> Result<Value, Failure> {
    if req.why_not {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "why_not is for /v1/decide: an assignment has no rules to miss",
        ));
    }
    let profile = profile_of(st, &req).await?;
    let rules = st.rules();
    let segment = rules
        .assign_profile(&profile)
        .map_err(|e| rule_failure(&e))?;
    let mut scores = serde_json::Map::new();
    let mut bands = serde_json::Map::new();
    for m in &rules.models {
        let s = m.score(&profile.features).map_err(|f| {
            rule_failure(&persona_lab_runtime::RuleError::MissingFeature {
                feature: f,
                needed_by: format!("the model {:?}", m.name),
            })
        })?;
        scores.insert(m.name.clone(), json!(s));
        bands.insert(m.name.clone(), json!(m.band(s)));
    }
    let persona = rules
        .persona_of(segment)
        .map(|p| p.id.clone())
        .unwrap_or_else(|| format!("segment_{segment}"));
    Ok(json!({
        "user_id": profile.user_id,
        "segment": segment,
        "persona_name": rules.persona_name(&persona),
        "persona": persona,
        "scores": scores,
        "bands": bands,
    }))
}

async fn timed<F>(st: &AppState, endpoint: usize, work: F) -> Response
where
    F: Future<Output = Result<String, Failure>>,
{
    let t0 = Instant::now();
    let out = match tokio::time::timeout(st.limits.timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("no answer within {:?}", st.limits.timeout),
        )),
    };
    let (status, body) = match out {
        Ok(text) => (StatusCode::OK, text),
        Err(Failure(s, v)) => (s, v.to_string()),
    };
    st.metrics
        .observe(endpoint, status.as_u16(), t0.elapsed().as_micros() as u64);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn decide(
    State(st): State<Arc<AppState>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let req = parse(&body);
    timed(&st, 0, async {
        let req = req?;
        decide_inner(&st, req).await
    })
    .await
}

async fn assign(
    State(st): State<Arc<AppState>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let req = parse(&body);
    timed(&st, 1, async {
        let req = req?;
        assign_inner(&st, req).await.map(|v| v.to_string())
    })
    .await
}

async fn health(State(st): State<Arc<AppState>>) -> Response {
    let store = st.store.ping().await;
    let (rules, loaded_at, refusal) = match st.serving.read() {
        Ok(s) => (s.rules.clone(), s.loaded_at, s.last_refusal.clone()),
        Err(_) => (st.rules(), 0, None),
    };
    let ok = store.is_ok();
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "rules": {
            "path": st.path.display().to_string(),
            "created": rules.created,
            "content": rules.sealed().checksum.map(|c| c.content),
            "rules": rules.rules.len(),
            "loaded_at": format_micros(loaded_at),
            "last_refused_change": refusal,
        },
        "store": {
            "kind": st.store.describe(),
            "ok": ok,
            "error": store.err().map(|e| e.to_string()),
        },
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    st.metrics.observe(2, status.as_u16(), 0);
    answer(status, &body)
}

async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    let loaded_at = st.serving.read().map(|s| s.loaded_at).unwrap_or(0);
    st.metrics.observe(3, 200, 0);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(loaded_at),
    )
        .into_response()
}

async fn not_found() -> Response {
    answer(
        StatusCode::NOT_FOUND,
        &json!({"error": "not_found", "message": "endpoints: POST /v1/decide, POST /v1/assign, GET /v1/health, GET /metrics"}),
    )
}

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.limits.max_body_bytes;
    Router::new()
        .route("/v1/decide", post(decide))
        .route("/v1/assign", post(assign))
        .route("/v1/health", get(health))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Serve on `listener` until `shutdown` completes, checking the rule set file for changes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let watcher = {
        let st = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(st.reload_every);
            loop {
                tick.tick().await;
                let st = st.clone();
                // Reading and verifying a large file is blocking work: off the request threads.
                let _ = tokio::task::spawn_blocking(move || st.reload_if_changed()).await;
            }
        })
    };
    let out = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    watcher.abort();
    out
}
