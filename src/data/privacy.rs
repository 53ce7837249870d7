//! Privacy on load: salted hashing of user ids, consent gating, and detection of columns that look like
//! personal data (emails, phone numbers, IP addresses).

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

/// Salted SHA-256 of a user id, as lowercase hex. The salt is never stored next to the hashes.
pub fn hash_id(salt: &str, id: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0x1f]); // separator: ("ab","c") and ("a","bc") must not collide
    h.update(id.as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Hash a column of ids, computing each distinct id once.
pub fn hash_ids<'a>(salt: &str, ids: impl Iterator<Item = Option<&'a str>>) -> Vec<Option<String>> {
    let mut cache: HashMap<&'a str, String> = HashMap::new();
    ids.map(|id| id.map(|id| cache.entry(id).or_insert_with(|| hash_id(salt, id)).clone()))
        .collect()
}

/// The consent values that mean "granted", lower case (compared ignoring case and outer spaces).
pub const CONSENT_GRANTED: [&str; 10] = [
    "1", "true", "yes", "y", "granted", "opt_in", "opt-in", "optin", "allowed", "accepted",
];

/// Whether a consent value means "granted". Missing or unknown values mean no consent.
pub fn consent_granted(v: &str) -> bool {
    let v = v.trim();
    CONSENT_GRANTED.iter().any(|y| v.eq_ignore_ascii_case(y))
}

/// The kind of personal data a column appears to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PiiKind {
    Email,
    Phone,
    IpAddress,
    /// Social security, tax or passport numbers.
    NationalId,
}

impl std::fmt::Display for PiiKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PiiKind::Email => "email addresses",
            PiiKind::Phone => "phone numbers",
            PiiKind::IpAddress => "IP addresses",
            PiiKind::NationalId => "national id numbers (SSN, tax or passport numbers)",
        })
    }
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$").expect("valid regex")
});
/// An email address anywhere in a text (`newsletter_signup:ann@corp.example`).
static EMAIL_INSIDE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
        .expect("valid regex")
});

/// The text with every email address in it replaced by `<email>`; None when it holds none.
pub fn redact_emails(text: &str) -> Option<String> {
    EMAIL_INSIDE
        .is_match(text)
        .then(|| EMAIL_INSIDE.replace_all(text, "<email>").into_owned())
}

static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\+?[0-9(][0-9 ().\-]{6,18}[0-9]$").expect("valid regex"));
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$")
        .expect("valid regex")
});
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}$").expect("valid regex")
});

/// A US social security number as written (123-45-6789).
static SSN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{3}-\d{2}-\d{4}$").expect("valid regex"));
/// A bare run of digits, as a phone or id number stored as a number.
static DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\+?\d{7,15}$").expect("valid regex"));

/// Column names that say what bare digits are: a phone number, or a national id.
fn named_kind(column: &str) -> Option<PiiKind> {
    let n = column.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
    if has(&[
        "ssn",
        "social_security",
        "socialsecurity",
        "national_id",
        "tax_id",
        "taxid",
        "passport",
    ]) {
        Some(PiiKind::NationalId)
    } else if has(&["phone", "mobile", "msisdn", "telephone"]) || n == "tel" {
        Some(PiiKind::Phone)
    } else {
        None
    }
}

/// [`detect_pii`] with the column's name: a column named like a phone number or a national id whose
/// values are mostly bare digits (4155550000, 123456789: numbers to a reader, so the value patterns
/// alone let them through) is that kind too.
pub fn detect_pii_named<'a>(
    column: &str,
    values: impl Iterator<Item = &'a str> + Clone,
) -> Option<PiiKind> {
    if let Some(kind) = detect_pii(values.clone()) {
        return Some(kind);
    }
    let kind = named_kind(column)?;
    let (mut n, mut digits) = (0usize, 0usize);
    for v in values.take(1000) {
        let v = v.trim().trim_end_matches(".0");
        if v.is_empty() {
            continue;
        }
        n += 1;
        digits += usize::from(DIGITS.is_match(v));
    }
    (n > 0 && digits * 2 > n).then_some(kind)
}

/// Classify a sample of text values; a kind is reported when most non-empty values match it.
pub fn detect_pii<'a>(values: impl Iterator<Item = &'a str>) -> Option<PiiKind> {
    let mut n = 0usize;
    let mut counts = [0usize; 4];
    for v in values.take(1000) {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        n += 1;
        if EMAIL.is_match(v) {
            counts[0] += 1;
        } else if SSN.is_match(v) {
            counts[3] += 1;
        } else if IPV4.is_match(v) || (v.contains(':') && IPV6.is_match(v)) {
            counts[2] += 1;
        } else if PHONE.is_match(v) && looks_like_phone(v) {
            counts[1] += 1;
        }
    }
    if n == 0 {
        return None;
    }
    let (i, &best) = counts.iter().enumerate().max_by_key(|(_, c)| **c)?;
    (best * 2 > n).then_some(
        [
            PiiKind::Email,
            PiiKind::Phone,
            PiiKind::IpAddress,
            PiiKind::NationalId,
        ][i],
    )
}

/// Dates written with separators (2023-01-01, 01/02/2023, 2023.01.01): digits and separators like a
/// phone number, but dates.
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$")
        .expect("valid regex")
});

/// Phone numbers have separators or a leading +; a bare run of digits is more likely an id or a number,
/// and a date is a date.
fn looks_like_phone(v: &str) -> bool {
    (v.starts_with('+') || v.contains([' ', '-', '(', ')'])) && !DATE.is_match(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_salted_sha256() {
        // sha256("s" + 0x1f + "u1"), computed independently with Python's hashlib.
        assert_eq!(
            hash_id("s", "u1"),
            "312d51c371a8f330f0dd9465bc982ea04af87cd38bf3ef483f7796cfc02d123a"
        );
        assert_ne!(hash_id("s", "u1"), hash_id("t", "u1"));
        assert_eq!(hash_id("s", "u1").len(), 64);
    }

    #[test]
    fn dates_are_not_phone_numbers() {
        for dates in [
            ["2023-01-01", "2023-02-03"],
            ["01/02/2023", "12/31/2024"],
            ["2023.01.01", "2024.11.30"],
        ] {
            assert_eq!(detect_pii(dates.into_iter()), None, "{dates:?}");
        }
        assert_eq!(
            detect_pii(["555-123-4567", "+1 415 555 0000"].into_iter()),
            Some(PiiKind::Phone)
        );
    }

    #[test]
    fn pii_columns_are_detected() {
        assert_eq!(
            detect_pii(["ann@example.com", "bob@shop.co.uk", ""].into_iter()),
            Some(PiiKind::Email)
        );
        assert_eq!(
            detect_pii(["+44 20 7946 0958", "(555) 123-4567"].into_iter()),
            Some(PiiKind::Phone)
        );
        assert_eq!(
            detect_pii(["192.168.0.1", "2001:db8::1"].into_iter()),
            Some(PiiKind::IpAddress)
        );
        assert_eq!(
            detect_pii(["1234567890.1700000000", "42"].into_iter()),
            None
        );
        assert_eq!(detect_pii(["page_view", "purchase"].into_iter()), None);
    }

    #[test]
    fn emails_inside_text_are_redacted() {
        assert_eq!(
            redact_emails("newsletter_signup:person27@corp.example").as_deref(),
            Some("newsletter_signup:<email>")
        );
        assert_eq!(
            redact_emails("a.b+c@x.co.uk|d@e.io").as_deref(),
            Some("<email>|<email>")
        );
        assert_eq!(redact_emails("add_to_cart"), None);
        assert_eq!(redact_emails("page_view@home"), None);
    }

    #[test]
    fn bare_digit_phones_and_ids_are_found_by_their_column_name() {
        let phones = ["4155550000", "4155550001", "2125550199"];
        assert_eq!(
            detect_pii(phones.iter().copied()),
            None,
            "digits alone are numbers"
        );
        assert_eq!(
            detect_pii_named("phone", phones.iter().copied()),
            Some(PiiKind::Phone)
        );
        assert_eq!(
            detect_pii_named("mobile_number", ["4155550000.0"].iter().copied()),
            Some(PiiKind::Phone)
        );
        let ids = ["123456789", "987654321"];
        assert_eq!(
            detect_pii_named("customer_ssn", ids.iter().copied()),
            Some(PiiKind::NationalId)
        );
        assert_eq!(
            detect_pii(["123-45-6789", "987-65-4321"].iter().copied()),
            Some(PiiKind::NationalId)
        );
        // Other digit columns stay what they are: order ids, sessions, prices.
        assert_eq!(detect_pii_named("order_id", ids.iter().copied()), None);
        assert_eq!(
            detect_pii_named("ga_session_id", ["1725179516"].iter().copied()),
            None
        );
        assert_eq!(
            detect_pii_named("phone_views", ["3", "12"].iter().copied()),
            None
        );
    }

    #[test]
    fn consent_values() {
        assert!(consent_granted("Yes"));
        assert!(consent_granted("granted"));
        assert!(!consent_granted("No"));
        assert!(!consent_granted("denied"));
        assert!(!consent_granted(""));
    }
}
