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
    /// HMAC-SHA256 of `content` (its hex text) with a key the deployment holds, lowercase hex: tamper
    /// evidence, where the checksum alone is edit detection. Written only when the file was signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// HMAC-SHA256 (RFC 2104) of `message` with `key`, lowercase hex.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a signature check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signature {
    /// Signed with this key, over content that is as written.
    Valid,
    /// No signature (or no checksum) in the file.
    Unsigned,
    /// A signature that this key did not make, or content changed since it was signed.
    Invalid,
}

/// Check the signature with `key`. Valid only when the content is intact and the signature is this
/// key's HMAC of it: an edit re-sealed without the key fails, and so does a signature copied from
/// another file.
pub fn check_signature(rs: &RuleSet, key: &[u8]) -> Signature {
    let Some(stored) = &rs.checksum else {
        return Signature::Unsigned;
    };
    let Some(sig) = &stored.signature else {
        return Signature::Unsigned;
    };
    if check(rs) != Integrity::Intact {
        return Signature::Invalid;
    }
    // Compared in constant time: a timing difference must not reveal how much of it is right.
    let want = hmac_sha256(key, stored.content.as_bytes());
    let same = want.len() == sig.len()
        && want
            .bytes()
            .zip(sig.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Signature::Valid
    } else {
        Signature::Invalid
    }
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
        signature: None,
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

#[cfg(test)]
mod tests {
    use super::hmac_sha256;

    /// RFC 4231's test cases 1, 2 and 6 (a key longer than the block).
    #[test]
    fn hmac_is_rfc_4231() {
        assert_eq!(
            hmac_sha256(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
