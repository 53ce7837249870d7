//! The rule set's integrity record: a SHA-256 per section and over all of them, written with the file,
//! so `persona-lab verify` can tell an untouched file from a hand-edited one and say exactly which
//! sections (which rules) changed.
//!
//! A section's hash is the SHA-256 (hex) of its compact JSON serialisation (field order as declared,
//! numbers in their shortest round-trip form). Sections: `source`, `features`, `segments`, `personas`,
//! `models`, `guardrails`, and `rule <id>` for every rule. `content` is the SHA-256 of the lines
//! `name=hash\n` of every section, sorted by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::RuleSet;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checksum {
    pub content: String,
    pub sections: BTreeMap<String, String>,
}

fn hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn section<T: Serialize>(v: &T) -> String {
    hash(&serde_json::to_vec(v).unwrap_or_default())
}

/// The checksum of a rule set's content (its own `checksum` field is not part of it).
pub fn compute(rs: &RuleSet) -> Checksum {
    let mut sections = BTreeMap::new();
    sections.insert(HEADER.to_string(), section(&(&rs.app_version, &rs.created)));
    sections.insert("source".to_string(), section(&rs.source));
    sections.insert("features".to_string(), section(&rs.features));
    sections.insert("segments".to_string(), section(&rs.segments));
    sections.insert("personas".to_string(), section(&rs.personas));
    sections.insert("models".to_string(), section(&rs.models));
    sections.insert("guardrails".to_string(), section(&rs.guardrails));
    for r in &rs.rules {
        sections.insert(format!("rule {}", r.id), section(r));
    }
    let all: String = sections.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    Checksum {
        content: hash(all.as_bytes()),
        sections,
    }
}

/// What the integrity check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Integrity {
    /// The content is exactly what was written.
    Intact,
    /// No checksum in the file (written by hand or by an older version).
    Unchecked,
    /// Edited after it was written: the sections that differ, were added or were removed.
    Edited {
        changed: Vec<String>,
        added: Vec<String>,
        removed: Vec<String>,
    },
}

/// The section of `app_version` and `created` (files sealed before it existed lack it).
const HEADER: &str = "header";

pub fn check(rs: &RuleSet) -> Integrity {
    let Some(stored) = &rs.checksum else {
        return Integrity::Unchecked;
    };
    let mut now = compute(rs);
    if !stored.sections.contains_key(HEADER) {
        // Sealed before the header had a section: compare what that version covered.
        now.sections.remove(HEADER);
        let all: String = now
            .sections
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        now.content = hash(all.as_bytes());
    }
    if now.content == stored.content && now.sections == stored.sections {
        return Integrity::Intact;
    }
    let changed = now
        .sections
        .iter()
        .filter(|(k, v)| stored.sections.get(*k).is_some_and(|s| s != *v))
        .map(|(k, _)| k.clone())
        .collect();
    let added: Vec<String> = now
        .sections
        .keys()
        .filter(|k| !stored.sections.contains_key(*k))
        .cloned()
        .collect();
    let removed: Vec<String> = stored
        .sections
        .keys()
        .filter(|k| !now.sections.contains_key(*k))
        .cloned()
        .collect();
    let mut changed: Vec<String> = changed;
    if changed.is_empty() && added.is_empty() && removed.is_empty() {
        // Every section matches but the overall hash does not: the record itself was edited.
        changed.push("checksum.content".into());
    }
    Integrity::Edited {
        changed,
        added,
        removed,
    }
}
