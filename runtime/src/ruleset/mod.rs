//! The rule set file (RON): everything a deployment needs to place a new user in a segment and decide
//! what to show, with no other input: the feature specification (definitions, fitted transform,
//! weights), the segment model (nearest centroid), personas, content rules and guardrails.
//! `docs/ruleset-format.md` documents it field by field.

pub mod checksum;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{RuleError, RuleSetError};
use crate::features::{FeatureConfig, FittedTransform};
use crate::rules::{
    self, Decision, Facts, Finding, Guardrails, Known, Rule, Session, Severity, Trace, UserProfile,
    parse_time,
};
use crate::scores::{Fitted, ScoreModel};
use crate::segments::Method;

/// The version this program writes. Version 1 (no rules, no guardrails, no pinned event names) and
/// version 2 (no predictive models) are read and upgraded.
pub const FORMAT_VERSION: u32 = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    pub format_version: u32,
    pub app_version: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub source: Source,
    pub features: FeatureSpec,
    pub segments: SegmentModel,
    pub personas: Vec<Persona>,
    /// Predictive models (churn risk, conversion score); rules test their scores by name.
    #[serde(default)]
    pub models: Vec<ScoreModel>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub guardrails: Guardrails,
    /// Integrity record written with the file (see `checksum`); None in memory until written.
    #[serde(default)]
    pub checksum: Option<checksum::Checksum>,
}

/// Where the model came from, without any raw identifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// SHA-256 of the input file's bytes.
    pub fingerprint: String,
    pub file_name: String,
    pub shape: String,
    pub users: usize,
    /// The user ids were salted hashes (the salt is never stored): whoever applies the file to a new
    /// export must hash it with the same salt, or its assignments hold raw ids. Written only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ids_hashed: bool,
}

/// How raw events or per-user values become the clustering vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Aggregation settings, with the event names and kinds of the training export pinned.
    pub config: FeatureConfig,
    /// Every feature of the training profile (rules may test any of them).
    #[serde(default)]
    pub profile_features: Vec<String>,
    /// The features that make the clustering vector, with their fitted parameters, in vector order.
    pub transform: FittedTransform,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentModel {
    pub method: Method,
    pub k: usize,
    pub seed: u64,
    /// New users go to the nearest centroid (Euclidean, in the clustering space), whatever the method.
    pub assignment: String,
    /// One row per segment, in the order of `features.transform.features`.
    pub centroids: Vec<Vec<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    pub id: String,
    pub segment: usize,
    pub name: String,
    pub description: String,
    pub traits: Vec<String>,
    /// Content types this persona responds to (free text for strategists).
    #[serde(default)]
    pub preferred_content: Vec<String>,
}

/// Rule id → the parts of its condition that failed for a user (`RuleSet::misses`).
pub type Misses = BTreeMap<String, Vec<String>>;

/// What `decide` returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decisions {
    pub segment: usize,
    pub persona: String,
    pub persona_name: String,
    pub decisions: Vec<Decision>,
    /// Every rule in evaluation order with what happened to it.
    pub trace: Vec<Trace>,
}

impl RuleSet {
    /// The segment of a user given its raw feature values (in the order of the transform's features).
    pub fn assign(&self, raw: &[Option<f64>]) -> Result<usize, RuleSetError> {
        let feats = &self.features.transform.features;
        if raw.len() != feats.len() {
            return Err(RuleSetError::Invalid(format!(
                "expected {} feature values, got {}",
                feats.len(),
                raw.len()
            )));
        }
        let x: Vec<f64> = feats.iter().zip(raw).map(|(f, v)| f.weighted(*v)).collect();
        Ok(self.nearest(&x).0)
    }

    /// Nearest centroid of a clustering vector and its squared distance (the first one on ties), with
    /// the same arithmetic as clustering, so deployed labels equal the app's.
    pub fn nearest(&self, x: &[f64]) -> (usize, f64) {
        let mut best = (0, f64::INFINITY);
        for (c, cen) in self.segments.centroids.iter().enumerate() {
            let d = sq_dist(x, cen);
            if d < best.1 {
                best = (c, d);
            }
        }
        best
    }

    /// The segment of a user profile (feature values by id).
    pub fn assign_profile(&self, p: &UserProfile) -> Result<usize, RuleError> {
        let mut raw = Vec::with_capacity(self.features.transform.features.len());
        for f in &self.features.transform.features {
            let v = p
                .features
                .get(&f.id)
                .ok_or_else(|| RuleError::MissingFeature {
                    feature: f.id.clone(),
                    needed_by: "the segment model".into(),
                })?;
            raw.push(*v);
        }
        check_finite(p)?;
        self.assign(&raw)
            .map_err(|e| RuleError::Invalid(e.to_string()))
    }

    pub fn persona_of(&self, segment: usize) -> Option<&Persona> {
        self.personas.iter().find(|p| p.segment == segment)
    }

    /// The name of a segment's persona, "segment 3" when it has none.
    pub fn segment_name(&self, segment: usize) -> String {
        self.persona_of(segment)
            .map_or_else(|| format!("segment {segment}"), |p| p.name.clone())
    }

    /// Persona id → name (ids without a persona are returned as they are).
    pub fn persona_name(&self, id: &str) -> String {
        self.personas
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// What to show this user in this session: per slot the first eligible rule by priority,
    /// honouring dates, caps, guardrails and holdouts.
    pub fn decide(&self, p: &UserProfile, session: &Session) -> Result<Decisions, RuleError> {
        self.with_facts(p, session, |segment, persona, facts| {
            let names = |id: &str| self.persona_name(id);
            let (decisions, trace) = rules::decide(&self.rules, &self.guardrails, facts, &names)?;
            Ok(Decisions {
                segment,
                persona_name: self.persona_name(persona),
                persona: persona.to_string(),
                decisions,
                trace,
            })
        })
    }

    /// Why each enabled rule whose condition does not hold for this user missed them: the parts
    /// of its condition that failed, with what the user has (`rules::missed`), by rule id. What
    /// Simulate shows beside "condition not met"; `decide` does not compute it.
    pub fn misses(&self, p: &UserProfile, session: &Session) -> Result<Misses, RuleError> {
        self.with_facts(p, session, |_, _, facts| {
            let names = |id: &str| self.persona_name(id);
            let mut out = Misses::new();
            for r in self.rules.iter().filter(|r| r.enabled) {
                let parts = rules::missed(&r.when, facts, &r.id, &names)?;
                if !parts.is_empty() {
                    out.insert(r.id.clone(), parts);
                }
            }
            Ok(out)
        })
    }

    /// The facts a decision reads for this user and session (segment, persona, times, scores from
    /// the file's models), checked, handed to `f`.
    fn with_facts<T>(
        &self,
        p: &UserProfile,
        session: &Session,
        f: impl FnOnce(usize, &str, &rules::Facts) -> Result<T, RuleError>,
    ) -> Result<T, RuleError> {
        if p.user_id.is_empty() {
            return Err(RuleError::NoUserId);
        }
        check_finite(p)?;
        // Every feature an enabled rule reads must be present (null is allowed: a missing value).
        for r in self.rules.iter().filter(|r| r.enabled) {
            let mut need = Vec::new();
            r.when.features(&mut need);
            if let Some(f) = need.into_iter().find(|f| !p.features.contains_key(f)) {
                return Err(RuleError::MissingFeature {
                    feature: f,
                    needed_by: format!("rule {:?}", r.id),
                });
            }
        }
        let segment = self.assign_profile(p)?;
        let persona = self
            .persona_of(segment)
            .map(|p| p.id.clone())
            .unwrap_or_else(|| format!("segment_{segment}"));
        let now = match &session.now {
            Some(t) => parse_time("session.now", t)?,
            None => crate::time::now_micros(),
        };
        let times = |field: &str, evs: &[rules::Event]| -> Result<Vec<i64>, RuleError> {
            evs.iter()
                .enumerate()
                .map(|(i, e)| parse_time(&format!("{field}[{i}].time"), &e.time))
                .collect()
        };
        let history_t = times("profile.events", &p.events)?;
        let shown_t: Vec<i64> = session
            .shown
            .iter()
            .enumerate()
            .map(|(i, s)| parse_time(&format!("session.shown[{i}].time"), &s.time))
            .collect::<Result<_, _>>()?;
        let returning = p.returning.or_else(|| {
            p.features
                .get("sessions")
                .copied()
                .flatten()
                .map(|s| s > 1.0)
        });
        // Scores the file's models compute take precedence over scores given with the profile.
        let mut scores = p.scores.clone();
        for m in &self.models {
            let s = m
                .score(&p.features)
                .map_err(|f| RuleError::MissingFeature {
                    feature: f,
                    needed_by: format!("the model {:?}", m.name),
                })?;
            scores.insert(m.name.clone(), s);
        }
        let facts = Facts {
            user_id: &p.user_id,
            persona: &persona,
            features: &p.features,
            scores,
            consent: p.consent == Some(true),
            returning,
            now,
            session_events: session.events.iter().map(|e| e.event.as_str()).collect(),
            history: p
                .events
                .iter()
                .zip(history_t)
                .map(|(e, t)| (e.event.as_str(), t))
                .collect(),
            shown: session
                .shown
                .iter()
                .zip(shown_t)
                .map(|(s, t)| (s.rule.as_str(), t, s.this_session))
                .collect(),
        };
        f(segment, &persona, &facts)
    }

    /// What rules may refer to.
    pub fn known(&self) -> Known<'_> {
        let mut features: Vec<&str> = self
            .features
            .profile_features
            .iter()
            .map(String::as_str)
            .collect();
        for f in &self.features.transform.features {
            if !features.contains(&f.id.as_str()) {
                features.push(&f.id);
            }
        }
        Known {
            personas: self
                .personas
                .iter()
                .map(|p| (p.id.as_str(), p.name.as_str()))
                .collect(),
            features,
            scores: self.models.iter().map(|m| m.name.as_str()).collect(),
            empty_features: vec![],
        }
    }

    /// Add a model, replacing one with the same score name.
    pub fn set_model(&mut self, model: ScoreModel) {
        self.models.retain(|m| m.name != model.name);
        self.models.push(model);
    }

    /// The findings that make the file unusable (`validate`'s errors): a deployment refuses the file
    /// while there is one.
    pub fn errors(&self) -> Vec<Finding> {
        self.validate()
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .collect()
    }

    /// Every problem of the file: the model's consistency, then the rules.
    pub fn validate(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut err = |message: String| {
            out.push(Finding {
                severity: Severity::Error,
                rule: None,
                message,
            })
        };
        let d = self.features.transform.features.len();
        if d == 0 {
            err("features.transform.features is empty".into());
        }
        // When the file was made is part of its record (the monitor compares deployments by it).
        if !crate::time::is_rfc3339(&self.created) {
            err(format!(
                "created: {:?} is not an RFC 3339 time (e.g. 2026-11-25T10:00:00Z)",
                self.created
            ));
        }
        if self.segments.centroids.len() != self.segments.k {
            err(format!(
                "segments.k is {} but there are {} centroids",
                self.segments.k,
                self.segments.centroids.len()
            ));
        }
        // Per-segment checks count the centroids really there, never the stated k.
        let k = self.segments.centroids.len();
        for (c, cen) in self.segments.centroids.iter().enumerate() {
            if cen.len() != d {
                err(format!(
                    "segments.centroids[{c}] has {} values; the feature vector has {d}",
                    cen.len()
                ));
            }
            if cen.iter().any(|v| !v.is_finite()) {
                err(format!(
                    "segments.centroids[{c}] has a value that is not finite"
                ));
            }
        }
        for f in &self.features.transform.features {
            // A subnormal scale (1e-320) turns every value into infinity once divided.
            if !(f.scale.is_finite()
                && f.scale.abs() >= f64::MIN_POSITIVE
                && f.center.is_finite()
                && f.weight.is_finite()
                && f.fill.is_finite())
            {
                err(format!(
                    "features.transform: feature {:?} has a zero, subnormal or non-finite scale, or a \
                     non-finite center, weight or fill",
                    f.id
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.personas {
            if !seen.insert(p.id.as_str()) {
                err(format!("persona id {:?} is used twice", p.id));
            }
            if p.segment >= k {
                err(format!(
                    "persona {:?} points at segment {} but there are {k} segments",
                    p.id, p.segment
                ));
            }
        }
        for s in 0..k {
            if self.persona_of(s).is_none() {
                err(format!("segment {s} has no persona"));
            }
        }
        for m in &self.models {
            if let Some(f) = m
                .transform
                .features
                .iter()
                .find(|f| !(f.scale.is_finite() && f.scale != 0.0 && f.center.is_finite()))
            {
                err(format!(
                    "model {:?}: feature {:?} has a zero or non-finite scale or center",
                    m.name, f.id
                ));
            }
            let d = m.transform.features.len();
            let ok = match &m.model {
                Fitted::Logistic(l) => {
                    l.coef.len() == d && l.coef.iter().chain([&l.intercept]).all(|v| v.is_finite())
                }
                Fitted::Forest(f) => !f.trees.is_empty() && f.trees.iter().all(|t| t.is_valid(d)),
            };
            if !ok {
                err(format!(
                    "model {:?}: its parameters do not fit its {d} features (or are not finite)",
                    m.name
                ));
            }
        }
        match self.guardrails.max_offers_per_session {
            Some(0) => out.push(Finding {
                severity: Severity::Warning,
                rule: None,
                message: "guardrails.max_offers_per_session is 0: no rule can fire".into(),
            }),
            None if !self.rules.is_empty() => out.push(Finding {
                severity: Severity::Warning,
                rule: None,
                message: "guardrails.max_offers_per_session is None: no limit on offers per \
                          session (left out, it would be 3)"
                    .into(),
            }),
            _ => {}
        }
        out.extend(rules::validate(&self.rules, &self.known()));
        out
    }

    /// The file's text: pretty RON with struct names, fields in declaration order, and the checksum
    /// of the content.
    pub fn to_ron(&self) -> Result<String, RuleSetError> {
        self.sealed().encode(Encoding::Ron)
    }

    /// The text of this rule set exactly as it is (its checksum and signature as they are, not
    /// re-sealed): for writing a copy that [`RuleSet::signed`] made.
    pub fn encode(&self, encoding: Encoding) -> Result<String, RuleSetError> {
        match encoding {
            Encoding::Ron => {
                ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::new().struct_names(true))
                    .map_err(|e| {
                        let m = e.to_string();
                        RuleSetError::Invalid(if m.contains("recursion limit") {
                            TOO_DEEP.to_string()
                        } else {
                            m
                        })
                    })
            }
            Encoding::Json => {
                serde_json::to_string_pretty(self).map_err(|e| RuleSetError::Invalid(e.to_string()))
            }
        }
    }

    /// A copy with the checksum of its current content.
    pub fn sealed(&self) -> RuleSet {
        let mut rs = self.clone();
        rs.checksum = None;
        rs.checksum = Some(checksum::compute(&rs));
        rs
    }

    /// A copy sealed and signed with `key` (HMAC-SHA256 of the content hash): the deployment, which
    /// holds the key, can tell a file made by whoever holds it from any other.
    pub fn signed(&self, key: &[u8]) -> RuleSet {
        let mut rs = self.sealed();
        if let Some(c) = rs.checksum.as_mut() {
            c.signature = Some(checksum::hmac_sha256(key, c.content.as_bytes()));
        }
        rs
    }

    /// The same rule set as JSON (pretty, sealed), for stacks with no RON reader: the checksum is
    /// over the content, not the encoding, so it is the same as the RON file's.
    pub fn to_json(&self) -> Result<String, RuleSetError> {
        self.sealed().encode(Encoding::Json)
    }

    /// The file's text in the encoding its name asks for: JSON for `.json`, else RON.
    pub fn to_text(&self, path: &Path) -> Result<String, RuleSetError> {
        match Encoding::of(path) {
            Encoding::Json => self.to_json(),
            Encoding::Ron => self.to_ron(),
        }
    }

    /// Parse a rule set written in RON.
    pub fn from_ron(text: &str) -> Result<RuleSet, RuleSetError> {
        Self::parse(text, Path::new("rule set"), Encoding::Ron)
    }

    /// Parse a rule set written in JSON (`segment --out R.json`, or by hand from the JSON Schema).
    pub fn from_json(text: &str) -> Result<RuleSet, RuleSetError> {
        Self::parse(text, Path::new("rule set"), Encoding::Json)
    }

    /// Read a rule set file: JSON when its name ends in `.json`, else RON.
    pub fn read(path: &Path) -> Result<RuleSet, RuleSetError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuleSetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, Encoding::of(path))
    }

    fn parse(text: &str, origin: &Path, encoding: Encoding) -> Result<RuleSet, RuleSetError> {
        let path: PathBuf = origin.to_path_buf();
        // Read the version first so a newer file gets a clear message rather than a field error.
        let opts = ron::Options::default();
        let version = match encoding {
            Encoding::Ron => opts
                .from_str::<VersionOnly>(text)
                .ok()
                .map(|v| v.format_version),
            Encoding::Json => serde_json::from_str::<VersionOnly>(text)
                .ok()
                .map(|v| v.format_version),
        };
        if let Some(v) = version
            && v > FORMAT_VERSION
        {
            return Err(RuleSetError::NewerVersion {
                path,
                found: v,
                supported: FORMAT_VERSION,
            });
        }
        let parsed = match encoding {
            Encoding::Ron => opts.from_str(text).map_err(|e| parse_message(&e)),
            Encoding::Json => serde_json::from_str(text).map_err(|e| json_message(&e)),
        };
        let mut rs: RuleSet = parsed.map_err(|message| RuleSetError::Parse {
            path: path.clone(),
            message,
        })?;
        if rs.format_version == 0 {
            return Err(RuleSetError::Parse {
                path,
                message: "format_version 0 does not exist".into(),
            });
        }
        // An older version cannot hold what came later: a version edited down (3 to 2) would
        // otherwise read as that version, upgraded, with its newer parts silently kept.
        let newer = match rs.format_version {
            1 if !rs.rules.is_empty() => Some(("rules", 2)),
            1 | 2 if !rs.models.is_empty() => Some(("models", 3)),
            _ => None,
        };
        if let Some((what, since)) = newer {
            return Err(RuleSetError::Parse {
                path,
                message: format!(
                    "format_version {} has no {what} (they came in version {since}), and this file \
                     has some: was the version edited down? Write the version the file is",
                    rs.format_version
                ),
            });
        }
        // Checked once, before anything loops over the segments: a hand-edited `k` (2^64 - 1) would
        // otherwise size per-segment tables and messages by it.
        if rs.segments.k != rs.segments.centroids.len() {
            return Err(RuleSetError::Parse {
                path,
                message: format!(
                    "segments.k is {} but there are {} centroids; k must equal the number of centroids",
                    rs.segments.k,
                    rs.segments.centroids.len()
                ),
            });
        }
        // Version 1 had no rules, guardrails or pinned event names: the defaults are exactly its
        // behaviour (top N event names of the new export), so it is upgraded in place.
        rs.format_version = FORMAT_VERSION;
        Ok(rs)
    }
}

/// How a rule set file is written: RON (the primary format) or JSON (the same fields, serde's JSON
/// mapping, documented in docs/ruleset-format.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Ron,
    Json,
}

impl Encoding {
    /// JSON when the name ends in `.json` (any case), else RON.
    pub fn of(path: &Path) -> Encoding {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Encoding::Json,
            _ => Encoding::Ron,
        }
    }
}

/// "line L column C: what", as serde_json reports it, plus the same hint as for RON.
fn json_message(e: &serde_json::Error) -> String {
    let m = e.to_string();
    if m.contains("recursion limit") {
        return format!("line {} column {}: {TOO_DEEP}", e.line(), e.column());
    }
    if m.contains("missing field") || m.contains("unknown field") {
        format!("{m} (docs/ruleset-format.md lists every field)")
    } else {
        m
    }
}

/// "line:column: what", as ron reports it, plus a hint for the commonest mistake.
/// What too deep a nesting is, in the file's terms (ron's and serde_json's own advice, a recursion
/// limit and serde_stacker, is for programmers).
const TOO_DEEP: &str = "the rule set nests deeper than a rule set may (conditions inside conditions, \
                        about 120 levels); write long chains as one All([...]) or Any([...]) list";

fn parse_message(e: &ron::error::SpannedError) -> String {
    let m = e.to_string();
    if m.contains("recursion limit") {
        return format!("{}: {TOO_DEEP}", e.span);
    }
    if m.contains("Unexpected missing field")
        || m.contains("unknown field")
        || m.contains("Unexpected field")
    {
        format!("{m} (docs/ruleset-format.md lists every field)")
    } else {
        m
    }
}

fn check_finite(p: &UserProfile) -> Result<(), RuleError> {
    for (k, v) in &p.features {
        if let Some(x) = v
            && !x.is_finite()
        {
            return Err(RuleError::NotFinite {
                feature: k.clone(),
                value: *x,
            });
        }
    }
    for (k, v) in &p.scores {
        if !v.is_finite() {
            return Err(RuleError::NotFinite {
                feature: format!("scores.{k}"),
                value: *v,
            });
        }
    }
    Ok(())
}

/// Only the version field; every other field is ignored.
#[derive(Deserialize)]
#[serde(rename = "RuleSet")]
struct VersionOnly {
    format_version: u32,
}

/// Squared Euclidean distance, summed in four lanes then `(l0 + l1) + (l2 + l3) + tail`: the order
/// the clustering code adds in, so a deployed assignment equals the app's to the last bit. Four
/// independent accumulators: with one, every add waits for the previous one, and for the short rows of
/// a feature matrix that dependency chain is the whole cost. `#[inline]` lets the clustering loops in
/// another crate inline it.
#[inline]
pub fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            let t = x[l] - y[l];
            acc[l] += t * t;
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += (x - y) * (x - y);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}
