//! Where the service keeps what outlives a request: user profiles (written by `persona-lab assign
//! --to`) and the offers each user was shown (so the guardrails hold across requests and across
//! several service processes). Redis, the article's cache, or an in-process store with the same
//! behaviour.
//!
//! Offers are committed with compare-and-set on a per-user version: a request reads the user's offers
//! and their version, decides, and appends its decisions only if the version is unchanged (else it
//! reads again and decides again). Two requests of one session can therefore never both take the last
//! offer of a cap.
//!
//! Redis keys (the `{user}` hash tag keeps a user's keys on one cluster node):
//! - `pl:{<user>}:profile`: hash with `profile` (the decide profile JSON), `segment`, `persona`,
//!   `persona_name` and `score:<name>`; a TTL set by `assign --to-ttl`.
//! - `pl:{<user>}:shown`: list of offers, JSON `{"rule","t","s"}` (µs, session id), the last 1000.
//! - `pl:{<user>}:v`: the list's version.
//!
//! The last two expire 48 hours after the user's last offer (the longest window a cap counts is a
//! UTC day).

use std::collections::HashMap;

use persona_lab_runtime::UserProfile;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::resp::{Pool, Reply, StoreError, Target, cmd};

/// One offer shown to a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub rule: String,
    /// µs since the epoch.
    pub t: i64,
    /// The session it was shown in.
    pub s: String,
}

/// Offers kept per user, newest last.
pub const MAX_OFFERS: usize = 1000;
/// Seconds a user's offers are kept after the last one.
pub const OFFER_TTL_S: u64 = 48 * 3600;

/// A user's profile with the assignment `assign --to` computed (served by `/v1/assign` as it is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredProfile {
    pub profile: UserProfile,
    pub segment: usize,
    pub persona: String,
    pub persona_name: String,
    pub scores: Vec<(String, f64)>,
}

pub enum Store {
    Memory(MemoryStore),
    Redis(RedisStore),
}

#[derive(Default)]
pub struct MemoryStore {
    profiles: std::sync::RwLock<HashMap<String, UserProfile>>,
    offers: Mutex<HashMap<String, (u64, Vec<Offer>)>>,
}

pub struct RedisStore {
    pool: Pool,
}

/// Append the offers if the version is still `ARGV[1]`; trim, bump the version, refresh the TTLs.
const COMMIT: &str = r#"
local v = tonumber(redis.call('GET', KEYS[2]) or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
for i = 4, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"#;

/// The offers and their version are read with a plain pipeline, the version first: a commit that
/// lands between the two reads leaves a stale version beside newer offers, so the decision is made on
/// more offers than there were (never fewer) and its own commit then fails the version check and is
/// decided again. No script is needed for the read.
fn read_cmds(shown: &str, version: &str) -> [Vec<Vec<u8>>; 2] {
    [cmd(&["GET", version]), cmd(&["LRANGE", shown, "0", "-1"])]
}

fn keys(user: &str) -> (String, String, String) {
    (
        format!("pl:{{{user}}}:profile"),
        format!("pl:{{{user}}}:shown"),
        format!("pl:{{{user}}}:v"),
    )
}

impl Store {
    pub fn memory(profiles: Vec<UserProfile>) -> Store {
        let m = MemoryStore::default();
        if let Ok(mut map) = m.profiles.write() {
            map.extend(profiles.into_iter().map(|p| (p.user_id.clone(), p)));
        }
        Store::Memory(m)
    }

    pub fn redis(url: &str, connections: usize) -> Result<Store, String> {
        Ok(Store::Redis(RedisStore {
            pool: Pool::new(Target::parse(url)?, connections),
        }))
    }

    pub fn describe(&self) -> String {
        match self {
            Store::Memory(_) => "in-process store".into(),
            Store::Redis(r) => format!("redis at {}", r.pool.target().addr),
        }
    }

    /// Whether the store answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Memory(_) => Ok(()),
            Store::Redis(r) => match r.pool.query(&[cmd(&["PING"])]).await?.as_slice() {
                [Reply::Status(s)] if s == "PONG" => Ok(()),
                other => Err(StoreError(format!("PING answered {other:?}"))),
            },
        }
    }

    /// A user's profile, if the store has one.
    pub async fn profile(&self, user: &str) -> Result<Option<UserProfile>, StoreError> {
        match self {
            Store::Memory(m) => Ok(m
                .profiles
                .read()
                .map_err(|_| StoreError("the profile table is poisoned".into()))?
                .get(user)
                .cloned()),
            Store::Redis(r) => {
                let (profile, ..) = keys(user);
                let reply = r
                    .pool
                    .query(&[cmd(&["HGET", profile.as_str(), "profile"])])
                    .await?;
                match reply.as_slice() {
                    [p] => stored_profile(user, p),
                    other => Err(StoreError(format!("HGET answered {other:?}"))),
                }
            }
        }
    }

    /// A user's stored profile and offers in one round trip (the decide path by user id).
    pub async fn profile_and_offers(
        &self,
        user: &str,
    ) -> Result<(Option<UserProfile>, u64, Vec<Offer>), StoreError> {
        match self {
            Store::Memory(_) => {
                let p = self.profile(user).await?;
                let (v, o) = self.offers(user).await?;
                Ok((p, v, o))
            }
            Store::Redis(r) => {
                let (profile, shown, version) = keys(user);
                let [v, l] = read_cmds(&shown, &version);
                let reply = r
                    .pool
                    .query(&[cmd(&["HGET", profile.as_str(), "profile"]), v, l])
                    .await?;
                let [p, v, l] = reply.as_slice() else {
                    return Err(StoreError(format!("a pipeline answered {reply:?}")));
                };
                let p = stored_profile(user, p)?;
                let (v, o) = read_offers(v, l)?;
                Ok((p, v, o))
            }
        }
    }

    /// The user's offers and their version.
    pub async fn offers(&self, user: &str) -> Result<(u64, Vec<Offer>), StoreError> {
        match self {
            Store::Memory(m) => Ok(m.offers.lock().await.get(user).cloned().unwrap_or_default()),
            Store::Redis(r) => {
                let (_, shown, version) = keys(user);
                let reply = r.pool.query(&read_cmds(&shown, &version)).await?;
                match reply.as_slice() {
                    [v, l] => read_offers(v, l),
                    other => Err(StoreError(format!("a pipeline answered {other:?}"))),
                }
            }
        }
    }

    /// Append offers if the version is still `version`; false when another request came first.
    pub async fn commit(
        &self,
        user: &str,
        version: u64,
        new: &[Offer],
    ) -> Result<bool, StoreError> {
        match self {
            Store::Memory(m) => {
                let mut all = m.offers.lock().await;
                let entry = all.entry(user.to_string()).or_default();
                if entry.0 != version {
                    return Ok(false);
                }
                entry.1.extend_from_slice(new);
                let over = entry.1.len().saturating_sub(MAX_OFFERS);
                entry.1.drain(..over);
                entry.0 += 1;
                Ok(true)
            }
            Store::Redis(r) => {
                let (_, shown, v) = keys(user);
                let mut c = cmd(&[
                    "EVAL",
                    COMMIT,
                    "2",
                    shown.as_str(),
                    v.as_str(),
                    &version.to_string(),
                    &OFFER_TTL_S.to_string(),
                    &MAX_OFFERS.to_string(),
                ]);
                for o in new {
                    c.push(serde_json::to_vec(o).map_err(|e| StoreError(e.to_string()))?);
                }
                match r.pool.query(&[c]).await?.as_slice() {
                    [Reply::Int(1)] => Ok(true),
                    [Reply::Int(0)] => Ok(false),
                    other => Err(StoreError(format!("EVAL answered {other:?}"))),
                }
            }
        }
    }

    /// Write profiles with their assignment, in pipelined batches, each key expiring after
    /// `ttl_s` seconds (0: never).
    pub async fn put_profiles(
        &self,
        profiles: &[StoredProfile],
        ttl_s: u64,
    ) -> Result<(), StoreError> {
        match self {
            Store::Memory(m) => {
                let mut map = m
                    .profiles
                    .write()
                    .map_err(|_| StoreError("the profile table is poisoned".into()))?;
                for p in profiles {
                    map.insert(p.profile.user_id.clone(), p.profile.clone());
                }
                Ok(())
            }
            Store::Redis(r) => {
                for batch in profiles.chunks(500) {
                    let mut cmds = Vec::with_capacity(batch.len() * 3);
                    for p in batch {
                        let (key, ..) = keys(&p.profile.user_id);
                        let json = serde_json::to_vec(&p.profile)
                            .map_err(|e| StoreError(e.to_string()))?;
                        // A profile is replaced whole: a score or field of an older run must not stay.
                        cmds.push(cmd(&["DEL", key.as_str()]));
                        let mut c = cmd(&[
                            "HSET",
                            key.as_str(),
                            "segment",
                            &p.segment.to_string(),
                            "persona",
                            &p.persona,
                            "persona_name",
                            &p.persona_name,
                        ]);
                        c.push(b"profile".to_vec());
                        c.push(json);
                        for (name, s) in &p.scores {
                            c.push(format!("score:{name}").into_bytes());
                            c.push(s.to_string().into_bytes());
                        }
                        cmds.push(c);
                        if ttl_s > 0 {
                            cmds.push(cmd(&["EXPIRE", key.as_str(), &ttl_s.to_string()]));
                        }
                    }
                    for reply in r.pool.query(&cmds).await? {
                        if let Reply::Error(e) = reply {
                            return Err(StoreError(format!("redis refused a write: {e}")));
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

fn stored_profile(user: &str, reply: &Reply) -> Result<Option<UserProfile>, StoreError> {
    match reply {
        Reply::Nil => Ok(None),
        Reply::Bulk(b) => serde_json::from_slice(b)
            .map(Some)
            .map_err(|e| StoreError(format!("the stored profile of {user:?} is not valid: {e}"))),
        other => Err(StoreError(format!("HGET answered {other:?}"))),
    }
}

fn read_offers(version: &Reply, list: &Reply) -> Result<(u64, Vec<Offer>), StoreError> {
    let v = match version {
        Reply::Nil => 0,
        v => v
            .text()
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(|| StoreError(format!("a version {v:?} is not a number")))?,
    };
    let Reply::Array(items) = list else {
        return Err(StoreError(format!("LRANGE answered {list:?}")));
    };
    let offers = items
        .iter()
        .filter_map(|i| match i {
            Reply::Bulk(b) => serde_json::from_slice(b).ok(),
            _ => None,
        })
        .collect();
    Ok((v, offers))
}
