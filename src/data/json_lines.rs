//! NDJSON text made safe and flat before polars reads it: in one pass, nesting depth and width are
//! bounded and nested objects (outside lists) are rewritten as dotted top-level keys.
//!
//! Why: polars 0.55.2 reads a nested object as a struct column, building one value per record per
//! field of the whole file's schema (and cloning the field list per record). 1,000 records each with
//! its own property key took 100 s; 20,000 took 24 GB before the kernel killed it; 2,000 levels of
//! nesting overflowed the stack (an abort). Top-level keys are read by a hash lookup each, so the
//! flattened text costs time in proportion to the table it makes. The result is the table
//! `flatten::flatten_structs` made from the struct columns: `parent.child` columns, lists left as
//! lists (and left out later).

use std::collections::HashMap;

/// Objects and lists nested deeper than this are refused. Real exports nest a few levels (GA4's
/// `event_params[].value.int_value` is four).
pub const MAX_DEPTH: usize = 32;
/// Keys allowed in one record outside lists, and in any one object (each becomes a column).
pub const MAX_KEYS: usize = 10_000;
/// Distinct columns allowed in one file (CSV's header takes 100,000 as well).
pub const MAX_COLUMNS: usize = 100_000;

/// What is wrong with a line: its 1-based number and the problem.
pub type Problem = (usize, String);

fn too_deep() -> String {
    format!(
        "objects or lists are nested more than {MAX_DEPTH} levels deep; exports nest a few \
         levels, so this is not an event record"
    )
}

fn too_wide() -> String {
    format!(
        "a record has more than {MAX_KEYS} keys (each would become a column); keep the properties \
         the analysis needs"
    )
}

/// The flattened text, with the table it makes.
pub struct Flat {
    pub text: Vec<u8>,
    /// Records (non-blank lines).
    pub records: usize,
    /// The columns in the order first seen, each with the kinds of value it holds (`KIND_*` bits).
    pub columns: Vec<(String, u8)>,
    /// Keys whose value is a list in some record: left out of the text (a list is not a value).
    pub lists: Vec<String>,
    /// The first line that is not a well-formed JSON object (copied unchanged).
    pub first_bad: Option<usize>,
}

pub const KIND_NULL: u8 = 1;
pub const KIND_BOOL: u8 = 2;
pub const KIND_INT: u8 = 4;
pub const KIND_FLOAT: u8 = 8;
pub const KIND_TEXT: u8 = 16;

/// The kind of a scalar JSON value, from its raw text.
fn kind_of(raw: &[u8]) -> u8 {
    match raw.first() {
        Some(b'"') => KIND_TEXT,
        Some(b't' | b'f') => KIND_BOOL,
        Some(b'n') => KIND_NULL,
        // An integer beyond i64 is read as a float, as its value still is one.
        _ if raw.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) || raw.len() > 18 => KIND_FLOAT,
        _ => KIND_INT,
    }
}

impl Flat {
    /// The polars type of each column: polars' own inference (Int64 and Float64 make Float64,
    /// anything with text is text, all-null is Null), without its cost: it unions every record's
    /// field list with the whole file's, quadratic when records bring their own keys.
    pub fn dtype(kinds: u8) -> polars::prelude::DataType {
        use polars::prelude::DataType;
        let k = kinds & !KIND_NULL;
        if k == 0 {
            DataType::Null
        } else if k & KIND_TEXT != 0 || (k & KIND_BOOL != 0 && k != KIND_BOOL) {
            DataType::String
        } else if k == KIND_BOOL {
            DataType::Boolean
        } else if k & KIND_FLOAT != 0 {
            DataType::Float64
        } else {
            DataType::Int64
        }
    }
}

/// Rewrite every record so nested objects outside lists become dotted top-level keys:
/// `{"a":1,"p":{"x":2,"q":{"y":3}},"l":[{"z":4}]}` → `{"a":1,"p.x":2,"p.q.y":3,"l":[{"z":4}]}`.
/// Values are copied as written; lists and empty objects are left out (lists named in `lists`).
/// Refused, naming the line: nesting deeper than `MAX_DEPTH` (which also bounds this reader's own
/// recursion: nothing recursive reads deeper), more than `MAX_KEYS` keys in a record outside lists
/// or in one object, more than `MAX_COLUMNS` distinct keys. A line that is not a well-formed object
/// is noted in `first_bad`.
pub fn flatten(bytes: &[u8]) -> Result<Flat, Problem> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut columns: Vec<(String, u8)> = Vec::new();
    let mut lists: Vec<String> = Vec::new();
    let mut pivoted: Vec<String> = Vec::new();
    let mut records = 0usize;
    let mut first_bad = None;
    let mut path: Vec<u8> = Vec::new();
    let mut keys: Vec<u8> = Vec::new();
    let mut leaves: Vec<Leaf> = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let trimmed = trim(line);
        if trimmed.is_empty() {
            continue;
        }
        records += 1;
        let start = out.len();
        path.clear();
        keys.clear();
        leaves.clear();
        out.push(b'{');
        let mut p = Parser {
            s: trimmed,
            pos: 0,
            out: &mut out,
            path: &mut path,
            first: true,
            keys: &mut keys,
            leaves: &mut leaves,
            record_keys: 0,
            problem: None,
        };
        let ok = p.object(0).is_some() && p.rest_is_blank();
        if let Some(problem) = p.problem {
            return Err((i + 1, problem));
        }
        if !ok {
            // Not a well-formed object: kept as written, the first such line named by the caller.
            out.truncate(start);
            out.extend_from_slice(line);
            out.push(b'\n');
            first_bad.get_or_insert(i + 1);
            continue;
        }
        out.push(b'}');
        out.push(b'\n');
        for leaf in leaves.iter() {
            let key = &keys[leaf.key.clone()];
            if leaf.kind == KIND_LIST || leaf.kind == KIND_PIVOT {
                let name = unescape(key);
                let names = if leaf.kind == KIND_LIST {
                    &mut lists
                } else {
                    &mut pivoted
                };
                if !names.contains(&name) {
                    names.push(name);
                }
                continue;
            }
            match index.get(key) {
                Some(&c) => columns[c].1 |= leaf.kind,
                None => {
                    if columns.len() >= MAX_COLUMNS {
                        return Err((
                            i + 1,
                            format!(
                                "the records have more than {MAX_COLUMNS} distinct keys (each \
                                 would become a column); keep the properties the analysis needs"
                            ),
                        ));
                    }
                    index.insert(key.to_vec(), columns.len());
                    columns.push((unescape(key), leaf.kind));
                }
            }
        }
    }
    lists.retain(|l| !pivoted.contains(l));
    Ok(Flat {
        text: out,
        records,
        columns,
        lists,
        first_bad,
    })
}

/// A key's name as polars reads it (JSON escapes resolved).
fn unescape(raw: &[u8]) -> String {
    let quoted = [b"\"".as_slice(), raw, b"\""].concat();
    serde_json::from_slice::<String>(&quoted)
        .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned())
}

const KIND_LIST: u8 = 128;
/// A key whose value was a key/value list turned into columns (not a list left out).
const KIND_PIVOT: u8 = 64;

/// A value of a key/value list, as a span of the record.
enum Scalar {
    /// Copied as written.
    Raw(usize, usize),
    /// An INT64 written as a JSON string: the digits are copied without the quotes.
    QuotedInt(usize, usize),
}

/// `"-123"`: an integer in quotes that fits i64 (BigQuery's JSON export writes INT64 this way).
fn is_quoted_integer(raw: &[u8]) -> bool {
    let [b'"', inner @ .., b'"'] = raw else {
        return false;
    };
    let digits = inner.strip_prefix(b"-").unwrap_or(inner);
    !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(inner).is_ok_and(|t| t.parse::<i64>().is_ok())
}

/// A key written to the flat record (or a list left out): its bytes in the record's key buffer,
/// and its value's kind.
struct Leaf {
    key: std::ops::Range<usize>,
    kind: u8,
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s
        && first.is_ascii_whitespace()
    {
        s = rest;
    }
    while let [rest @ .., last] = s
        && last.is_ascii_whitespace()
    {
        s = rest;
    }
    s
}

/// A small recursive-descent reader over one record. `None`: not well-formed.
struct Parser<'a, 'o> {
    s: &'a [u8],
    pos: usize,
    out: &'o mut Vec<u8>,
    /// The dotted prefix of the object being read, as raw key text (escapes kept).
    path: &'o mut Vec<u8>,
    /// Whether no member has been written yet to the flat record.
    first: bool,
    /// The dotted keys of this record, one after the other (no allocation per key).
    keys: &'o mut Vec<u8>,
    /// The keys written, and the lists left out.
    leaves: &'o mut Vec<Leaf>,
    /// Keys of this record outside lists.
    record_keys: usize,
    /// Why the record was refused (too deep, too wide), as opposed to merely malformed.
    problem: Option<String>,
}

impl Parser<'_, '_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn rest_is_blank(&mut self) -> bool {
        self.ws();
        self.pos == self.s.len()
    }

    /// The raw text of a string at `pos` (between the quotes, escapes kept); moves past it.
    fn string(&mut self) -> Option<(usize, usize)> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.pos + 1;
        let mut i = start;
        while i < self.s.len() {
            match self.s[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return Some((start, i));
                }
                _ => i += 1,
            }
        }
        None
    }

    /// Skip any value (scalar, list or object) and return its raw span.
    fn skip_value(&mut self, depth: usize) -> Option<(usize, usize)> {
        self.ws();
        let start = self.pos;
        match self.peek()? {
            b'"' => {
                self.string()?;
            }
            open @ (b'[' | b'{') => {
                if depth >= MAX_DEPTH {
                    return self.refuse(too_deep());
                }
                let close = if open == b'[' { b']' } else { b'}' };
                self.pos += 1;
                self.ws();
                if self.peek()? == close {
                    self.pos += 1;
                } else {
                    let mut members = 0usize;
                    loop {
                        if open == b'{' {
                            members += 1;
                            if members > MAX_KEYS {
                                return self.refuse(too_wide());
                            }
                            self.ws();
                            self.string()?;
                            self.ws();
                            if self.peek()? != b':' {
                                return None;
                            }
                            self.pos += 1;
                        }
                        self.skip_value(depth + 1)?;
                        if self.next_or_end(close)? {
                            break;
                        }
                    }
                }
            }
            _ => {
                // A number or a literal: up to the next delimiter.
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace() {
                        break;
                    }
                    self.pos += 1;
                }
                if self.pos == start {
                    return None;
                }
            }
        }
        Some((start, self.pos))
    }

    /// Read the object at `pos`, writing its leaves (and its nested objects' leaves, dotted) to
    /// `out`.
    fn object(&mut self, depth: usize) -> Option<()> {
        if depth >= MAX_DEPTH {
            return self.refuse(too_deep());
        }
        self.ws();
        if self.peek()? != b'{' {
            return None;
        }
        self.members(|p, (ks, ke)| {
            // Every key outside lists counts for the record (and, in `members`, for its object).
            p.record_keys += 1;
            if p.record_keys > MAX_KEYS {
                return p.refuse(too_wide());
            }
            let s = p.s;
            let prefix_len = p.path.len();
            p.path.extend_from_slice(&s[ks..ke]);
            match p.peek()? {
                b'{' if !p.is_empty_object() => {
                    p.path.push(b'.');
                    p.object(depth + 1)?;
                }
                b'[' if p.key_value_list(depth + 1)? => {}
                b'{' | b'[' => {
                    // A list (or an empty object) is no value: left out, its name kept.
                    p.skip_value(depth + 1)?;
                    if s[p.pos - 1] == b']' {
                        p.leaf(KIND_LIST);
                    }
                }
                _ => {
                    let (vs, ve) = p.skip_value(depth + 1)?;
                    p.write_leaf(&s[vs..ve]);
                }
            }
            p.path.truncate(prefix_len);
            Some(())
        })
    }

    /// Write `"path":value` to the flat record (`raw`: the value's JSON text), and note the key
    /// with its value's kind.
    fn write_leaf(&mut self, raw: &[u8]) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(self.path);
        self.out.extend_from_slice(b"\":");
        self.out.extend_from_slice(raw);
        self.leaf(kind_of(raw));
    }

    /// Read the list at `pos` as a key/value list, GA4's `event_params` and `user_properties`:
    /// `[{"key":"k","value":{"string_value":..,"int_value":..,"float_value":..,"double_value":..}}]`
    /// (or `"value": <scalar>`). Each key becomes a column `list.key` holding the value field that
    /// is set; INT64 written as a JSON string (`"int_value":"1720154226"`, as BigQuery's JSON export
    /// does) becomes the number. `Some(false)`: not such a list, nothing read (`pos` unchanged); an
    /// empty list is one, with no keys. A key repeated in one list keeps its first value.
    fn key_value_list(&mut self, depth: usize) -> Option<bool> {
        if depth >= MAX_DEPTH {
            return self.refuse(too_deep());
        }
        let start = self.pos;
        let mut entries: Vec<((usize, usize), Option<Scalar>)> = Vec::new();
        let ok = self.key_value_entries(depth, &mut entries);
        if self.problem.is_some() {
            return None;
        }
        if ok.is_none() || entries.is_empty() {
            // An empty list is left out as lists are, unless the key holds key/value lists
            // elsewhere in the file (see `KIND_PIVOT`).
            self.pos = start;
            return Some(false);
        }
        self.leaf(KIND_PIVOT);
        let prefix_len = self.path.len();
        let mut seen: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
        let s = self.s;
        for ((ks, ke), value) in entries.iter() {
            let key = &s[*ks..*ke];
            if !seen.insert(key) {
                continue;
            }
            self.record_keys += 1;
            if self.record_keys > MAX_KEYS {
                return self.refuse(too_wide());
            }
            self.path.push(b'.');
            self.path.extend_from_slice(key);
            self.write_leaf(match value {
                None => b"null",
                Some(Scalar::Raw(a, b)) => &s[*a..*b],
                // The digits inside the quotes.
                Some(Scalar::QuotedInt(a, b)) => &s[*a + 1..*b - 1],
            });
            self.path.truncate(prefix_len);
        }
        Some(true)
    }

    /// The entries of a key/value list; `None` when the list has another shape.
    fn key_value_entries(
        &mut self,
        depth: usize,
        entries: &mut Vec<((usize, usize), Option<Scalar>)>,
    ) -> Option<()> {
        self.pos += 1; // '['
        self.ws();
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.ws();
            if self.peek()? != b'{' || depth + 1 >= MAX_DEPTH {
                return None;
            }
            let mut key = None;
            let mut value = None;
            self.members(|p, (ks, ke)| {
                let s = p.s;
                match &s[ks..ke] {
                    b"key" => {
                        let (a, b) = p.string()?;
                        if a == b {
                            return None;
                        }
                        key = Some((a, b));
                    }
                    b"value" if p.peek()? == b'{' => value = p.typed_value(depth + 2)?,
                    b"value" => {
                        let (a, b) = p.skip_value(depth + 2)?;
                        if s[a] == b'[' {
                            return None;
                        }
                        value = Some(Scalar::Raw(a, b));
                    }
                    _ => {
                        p.skip_value(depth + 2)?;
                    }
                }
                Some(())
            })?;
            entries.push((key?, value));
            if entries.len() > MAX_KEYS {
                return self.refuse(too_wide());
            }
            if self.next_or_end(b']')? {
                return Some(());
            }
        }
    }

    /// GA4's value record: the first of its `*_value` fields that is set. `Some(None)`: none is.
    fn typed_value(&mut self, depth: usize) -> Option<Option<Scalar>> {
        if depth >= MAX_DEPTH {
            return self.refuse(too_deep());
        }
        let mut found = None;
        self.members(|p, (ks, ke)| {
            let s = p.s;
            let field = &s[ks..ke];
            let (a, b) = p.skip_value(depth + 1)?;
            // `set_timestamp_micros` (user_properties) and the like are not the value.
            if !field.ends_with(b"_value") {
                return Some(());
            }
            let raw = &s[a..b];
            if matches!(raw[0], b'[' | b'{') {
                return None;
            }
            if found.is_none() && raw != b"null" {
                found = Some(if field == b"int_value" && is_quoted_integer(raw) {
                    Scalar::QuotedInt(a, b)
                } else {
                    Scalar::Raw(a, b)
                });
            }
            Some(())
        })?;
        Some(found)
    }

    /// Read the object at `pos` (its `{` not yet read) member by member: `each` gets the key's span
    /// with `pos` at the value, and reads the value. Ends past the `}`; more than `MAX_KEYS` members
    /// refuse the record.
    fn members(
        &mut self,
        mut each: impl FnMut(&mut Self, (usize, usize)) -> Option<()>,
    ) -> Option<()> {
        self.pos += 1; // '{'
        let mut n = 0usize;
        loop {
            self.ws();
            if n == 0 && self.peek()? == b'}' {
                self.pos += 1;
                return Some(());
            }
            n += 1;
            if n > MAX_KEYS {
                return self.refuse(too_wide());
            }
            let key = self.string()?;
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.pos += 1;
            self.ws();
            each(self, key)?;
            if self.next_or_end(b'}')? {
                return Some(());
            }
        }
    }

    /// After an element or a member: past a comma, `Some(false)` (another follows); past `close`,
    /// `Some(true)`; anything else, `None`.
    fn next_or_end(&mut self, close: u8) -> Option<bool> {
        self.ws();
        let c = self.peek()?;
        if c != b',' && c != close {
            return None;
        }
        self.pos += 1;
        Some(c == close)
    }

    /// Note why the record is refused; stops the reading (`None`).
    fn refuse<T>(&mut self, problem: String) -> Option<T> {
        self.problem = Some(problem);
        None
    }

    /// Record a key of this record (the current path) with its value's kind.
    fn leaf(&mut self, kind: u8) {
        let start = self.keys.len();
        self.keys.extend_from_slice(self.path);
        self.leaves.push(Leaf {
            key: start..self.keys.len(),
            kind,
        });
    }

    /// Whether the object at `pos` is `{}` (left out, as polars' struct flattening left it).
    fn is_empty_object(&self) -> bool {
        let mut i = self.pos + 1;
        while i < self.s.len() && self.s[i].is_ascii_whitespace() {
            i += 1;
        }
        self.s.get(i) == Some(&b'}')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(text: &str) -> String {
        String::from_utf8(flatten(text.as_bytes()).unwrap().text).unwrap()
    }

    #[test]
    fn nested_objects_become_dotted_keys() {
        assert_eq!(
            flat(r#"{"a":1,"p":{"x":"s,}","q":{"y":null}},"l":[{"z":4}],"e":{}}"#),
            "{\"a\":1,\"p.x\":\"s,}\",\"p.q.y\":null}\n"
        );
        assert_eq!(
            flat("  {\"k\\\"q\" : { \"a\" : true } }\n\n{\"b\":-1.5e3}"),
            "{\"k\\\"q.a\":true}\n{\"b\":-1.5e3}\n"
        );
        let f = flatten(b"{\"a\":1,\"p\":{\"x\":2.5},\"l\":[]}\n{\"p\":{\"x\":3,\"y\":\"t\"}}\n")
            .unwrap();
        assert_eq!(f.records, 2);
        assert_eq!(
            f.columns,
            vec![
                ("a".to_string(), KIND_INT),
                ("p.x".to_string(), KIND_FLOAT | KIND_INT),
                ("p.y".to_string(), KIND_TEXT)
            ]
        );
        assert_eq!(f.lists, vec!["l".to_string()]);
        use polars::prelude::DataType;
        assert_eq!(
            Flat::dtype(KIND_FLOAT | KIND_INT | KIND_NULL),
            DataType::Float64
        );
        assert_eq!(Flat::dtype(KIND_INT | KIND_TEXT), DataType::String);
        assert_eq!(Flat::dtype(KIND_NULL), DataType::Null);
        assert_eq!(Flat::dtype(KIND_BOOL | KIND_NULL), DataType::Boolean);
    }

    #[test]
    fn key_value_lists_become_columns() {
        // GA4's event_params as BigQuery's JSON export writes them: INT64 as strings, NULL fields
        // left out, one field set per value.
        let line = r#"{"event_name":"page_view","event_params":[{"key":"ga_session_id","value":{"int_value":"1720154226"}},{"key":"page_location","value":{"string_value":"https://x.test/a,b"}},{"key":"engagement_time_msec","value":{"int_value":"-12","float_value":null}},{"key":"ratio","value":{"double_value":0.5}},{"key":"empty","value":{}},{"key":"ga_session_id","value":{"int_value":"7"}}],"user_properties":[{"key":"tier","value":{"string_value":"gold","set_timestamp_micros":"1720154226000000"}}],"items":[{"item_id":"A"}],"plain":[{"key":"k","value":3}]}"#;
        let f = flatten(line.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(f.text).unwrap(),
            "{\"event_name\":\"page_view\",\"event_params.ga_session_id\":1720154226,\
             \"event_params.page_location\":\"https://x.test/a,b\",\
             \"event_params.engagement_time_msec\":-12,\"event_params.ratio\":0.5,\
             \"event_params.empty\":null,\"user_properties.tier\":\"gold\",\"plain.k\":3}\n"
        );
        assert_eq!(f.lists, vec!["items".to_string()]);
        let kinds: Vec<u8> = f.columns.iter().map(|c| c.1).collect();
        assert_eq!(
            kinds,
            [
                KIND_TEXT, KIND_INT, KIND_TEXT, KIND_INT, KIND_FLOAT, KIND_NULL, KIND_TEXT,
                KIND_INT
            ]
        );
        // A quoted value that is not an INT64 stays text; an empty list makes no column; a list
        // whose elements lack a key is an ordinary list.
        assert_eq!(
            flat(
                r#"{"p":[{"key":"a","value":{"int_value":"99999999999999999999"}},{"key":"b","value":{"int_value":"1e3"}}],"e":[],"n":[{"value":1}]}"#
            ),
            "{\"p.a\":\"99999999999999999999\",\"p.b\":\"1e3\"}\n"
        );
        let f = flatten(b"{\"p\":[]}\n{\"p\":[{\"key\":\"a\",\"value\":1}],\"q\":[]}").unwrap();
        assert_eq!(f.lists, vec!["q".to_string()]);
        // Malformed inside a key/value list: the line is noted, not misread.
        assert_eq!(
            flatten(br#"{"p":[{"key":"a","value":{"int_value":"1"}"#)
                .unwrap()
                .first_bad,
            Some(1)
        );
        // Every key of the list counts against the record's width.
        let many: Vec<String> = (0..MAX_KEYS + 1)
            .map(|i| format!("{{\"key\":\"k{i}\",\"value\":{{\"int_value\":\"1\"}}}}"))
            .collect();
        let wide = format!("{{\"p\":[{}]}}", many.join(","));
        assert!(flatten(wide.as_bytes()).err().unwrap().1.contains("keys"));
    }

    #[test]
    fn broken_lines_are_kept_and_noted() {
        assert_eq!(flat("{\"a\":1"), "{\"a\":1\n");
        assert_eq!(flat("[1,2]"), "[1,2]\n");
        assert_eq!(flat("{\"a\":1} x"), "{\"a\":1} x\n");
    }

    #[test]
    fn depth_and_width_are_bounded() {
        let deep = format!("{}1{}", "{\"k\":".repeat(40), "}".repeat(40));
        let e = flatten(deep.as_bytes()).err().unwrap();
        assert!(e.1.contains("nested"), "{e:?}");
        // Lists count as levels too, and are bounded the same way.
        let deep_list = format!("{{\"l\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        assert!(
            flatten(deep_list.as_bytes())
                .err()
                .unwrap()
                .1
                .contains("nested")
        );
        let wide: Vec<String> = (0..MAX_KEYS + 1).map(|i| format!("\"k{i}\":1")).collect();
        let wide = format!("{{}}\n{{\"p\":{{{}}}}}", wide.join(","));
        assert_eq!(flatten(wide.as_bytes()).err().unwrap().0, 2);
        // In a list, each object counts on its own.
        let items: Vec<String> = (0..MAX_KEYS).map(|i| format!("{{\"k{i}\":1}}")).collect();
        let listed = format!("{{\"l\":[{}]}}", items.join(","));
        assert!(flatten(listed.as_bytes()).is_ok());
    }
}
