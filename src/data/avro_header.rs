//! A structural check of an Avro object container file (BigQuery's `--destination_format AVRO`)
//! before polars reads it: the header's schema and codec, and every data block's framing.
//!
//! polars 0.55.2 reads Avro through `avro-schema`, which trusts the block sizes it reads (a damaged
//! size becomes one huge allocation), and converts the schema with a `todo!` for maps (a panic on any
//! file that has one). Here the file is walked once, block headers only (a seek per block, no
//! decompression), so that whatever polars is then handed is framed soundly, and what it cannot read
//! is named by field.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::LoadError;

pub const MAGIC: &[u8; 4] = b"Obj\x01";

/// Deeper nesting than any export's schema has.
const MAX_DEPTH: usize = 64;
/// The header's metadata (schema, codec) is small; a larger one is not an export.
const MAX_METADATA_BYTES: u64 = 16 << 20;

/// What the header says.
#[derive(Debug, Clone)]
pub struct AvroHeader {
    pub codec: String,
    /// Top-level field names, in order.
    pub fields: Vec<String>,
    pub blocks: u64,
    pub rows: u64,
    /// The blocks' bytes once decompressed (when counted; else 0): what the memory estimate uses.
    pub decoded_bytes: u64,
}

fn damaged(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Parse {
        path: path.to_path_buf(),
        format: "Avro".into(),
        message: message.into(),
    }
}

/// Avro's `long`: a zig-zag varint.
fn read_long(r: &mut impl Read) -> std::io::Result<Option<i64>> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let mut b = [0u8; 1];
        if r.read(&mut b)? == 0 {
            return if i == 0 {
                Ok(None)
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            };
        }
        value |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            return Ok(Some(((value >> 1) as i64) ^ -((value & 1) as i64)));
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "a number longer than 10 bytes",
    ))
}

fn read_bytes(r: &mut impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let len = read_long(r)?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
    if len < 0 || len as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a length of {len} bytes"),
        ));
    }
    let mut buf = Vec::with_capacity(len as usize);
    r.take(len as u64).read_to_end(&mut buf)?;
    if buf.len() as i64 != len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(buf)
}

/// Check the file and return what its header says; errors name the field or the block. With
/// `count_decoded`, deflate blocks are inflated (into nothing) to count their decoded bytes.
pub fn check(path: &Path, count_decoded: bool) -> Result<AvroHeader, LoadError> {
    let file = File::open(path).map_err(super::format::io_err(path))?;
    let len = file.metadata().map_err(super::format::io_err(path))?.len();
    let mut r = BufReader::new(file);
    let io = |e: std::io::Error| damaged(path, format!("the header is damaged ({e})"));
    let mut magic = [0u8; 4];
    r.read_exact(&mut magic).map_err(io)?;
    if &magic != MAGIC {
        return Err(damaged(
            path,
            "the file does not start with the Avro magic bytes",
        ));
    }
    // The metadata: a map of blocks of (key string, value bytes) ending with a count of 0.
    let mut schema = None;
    let mut codec = "null".to_string();
    loop {
        let count = read_long(&mut r)
            .map_err(io)?
            .ok_or_else(|| damaged(path, "the header ends early"))?;
        if count == 0 {
            break;
        }
        if count < 0 {
            // A negative count is followed by the block's size in bytes.
            read_long(&mut r).map_err(io)?;
        }
        for _ in 0..count.unsigned_abs().min(1 << 16) {
            let key = read_bytes(&mut r, MAX_METADATA_BYTES).map_err(io)?;
            let value = read_bytes(&mut r, MAX_METADATA_BYTES).map_err(io)?;
            match key.as_slice() {
                b"avro.schema" => schema = Some(value),
                b"avro.codec" => codec = String::from_utf8_lossy(&value).into_owned(),
                _ => {}
            }
        }
    }
    let mut sync = [0u8; 16];
    r.read_exact(&mut sync).map_err(io)?;
    if !matches!(codec.as_str(), "null" | "deflate" | "snappy") {
        return Err(damaged(
            path,
            format!(
                "the codec {codec:?} is not read (null, deflate and snappy are: BigQuery writes \
                 those)"
            ),
        ));
    }
    let schema = schema.ok_or_else(|| damaged(path, "the header has no schema"))?;
    let schema: serde_json::Value = serde_json::from_slice(&schema)
        .map_err(|e| damaged(path, format!("the header's schema is not JSON ({e})")))?;
    let fields = top_fields(&schema).ok_or_else(|| {
        damaged(
            path,
            "the schema is not a record: not a table of rows (an export's rows are records)",
        )
    })?;
    let mut names = Vec::with_capacity(fields.len());
    for f in fields {
        let name = f.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        let ty = f.get("type").unwrap_or(&serde_json::Value::Null);
        check_type(ty, name, 0).map_err(|m| damaged(path, m))?;
        names.push(name.to_string());
    }
    // The data: blocks of (row count, byte size, bytes, sync marker).
    let (mut blocks, mut rows, mut decoded_bytes) = (0u64, 0u64, 0u64);
    loop {
        let at = r.stream_position().map_err(io)?;
        let Some(count) = read_long(&mut r).map_err(io)? else {
            break;
        };
        let block = |m: String| damaged(path, format!("block {} (byte {at}): {m}", blocks + 1));
        let size = read_long(&mut r)
            .map_err(|e| block(e.to_string()))?
            .ok_or_else(|| block("ends early".into()))?;
        let here = r.stream_position().map_err(io)?;
        if count < 0 || size < 0 || here.saturating_add(size as u64).saturating_add(16) > len {
            return Err(block(format!(
                "{count} rows in {size} bytes do not fit in the file (the file is damaged or cut \
                 short)"
            )));
        }
        if count_decoded {
            let n = decoded_size(&mut r, &codec, size as u64)
                .map_err(|e| block(format!("cannot be decompressed ({e})")))?;
            decoded_bytes = decoded_bytes.saturating_add(n);
            r.seek(SeekFrom::Start(here + size as u64)).map_err(io)?;
        } else {
            r.seek_relative(size).map_err(io)?;
        }
        let mut marker = [0u8; 16];
        r.read_exact(&mut marker).map_err(io)?;
        if marker != sync {
            return Err(block(
                "its end marker does not match the header's (the file is damaged)".into(),
            ));
        }
        blocks += 1;
        rows = rows.saturating_add(count as u64);
    }
    Ok(AvroHeader {
        codec,
        fields: names,
        blocks,
        rows,
        decoded_bytes,
    })
}

/// The decompressed size of the block of `size` bytes at the reader's position.
fn decoded_size(r: &mut impl Read, codec: &str, size: u64) -> std::io::Result<u64> {
    match codec {
        // Avro's snappy block: raw snappy (its length comes first, as a varint) then a CRC.
        "snappy" => {
            let mut len: u64 = 0;
            for i in 0..10 {
                let mut b = [0u8; 1];
                r.read_exact(&mut b)?;
                len |= u64::from(b[0] & 0x7f) << (7 * i);
                if b[0] & 0x80 == 0 {
                    return Ok(len);
                }
            }
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a length longer than 10 bytes",
            ))
        }
        "deflate" => std::io::copy(
            &mut flate2::read::DeflateDecoder::new(r.take(size)),
            &mut std::io::sink(),
        ),
        _ => Ok(size),
    }
}

fn top_fields(schema: &serde_json::Value) -> Option<&Vec<serde_json::Value>> {
    (schema.get("type")?.as_str()? == "record")
        .then(|| schema.get("fields")?.as_array())
        .flatten()
}

/// Whether polars can read a field of this type: records, arrays, nullable unions, primitives.
fn check_type(ty: &serde_json::Value, field: &str, depth: usize) -> Result<(), String> {
    use serde_json::Value;
    if depth > MAX_DEPTH {
        return Err(format!(
            "field {field:?} is nested more than {MAX_DEPTH} levels deep"
        ));
    }
    let unsupported = |what: &str| {
        Err(format!(
            "field {field:?} is {what}, which is not read (records, arrays, nullable values and \
             plain types are: what BigQuery writes)"
        ))
    };
    match ty {
        Value::String(name) => match name.as_str() {
            "null" | "boolean" | "int" | "long" | "float" | "double" | "bytes" | "string" => Ok(()),
            // A name refers to a record defined earlier (or enum/fixed): those were checked there.
            _ => Ok(()),
        },
        Value::Array(branches) => {
            let non_null: Vec<&Value> = branches.iter().filter(|b| *b != "null").collect();
            match non_null.as_slice() {
                [] => Ok(()),
                [one] => check_type(one, field, depth + 1),
                _ => unsupported("a union of several types"),
            }
        }
        Value::Object(o) => match o.get("type").and_then(|t| t.as_str()) {
            Some("record") => {
                for f in o
                    .get("fields")
                    .and_then(|f| f.as_array())
                    .into_iter()
                    .flatten()
                {
                    let name = f.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                    let inner = f.get("type").unwrap_or(&Value::Null);
                    check_type(inner, &format!("{field}.{name}"), depth + 1)?;
                }
                Ok(())
            }
            Some("array") => check_type(o.get("items").unwrap_or(&Value::Null), field, depth + 1),
            Some("map") => unsupported("an Avro map"),
            Some("fixed") => unsupported("an Avro fixed"),
            Some(_) => Ok(()),
            None => check_type(o.get("type").unwrap_or(&Value::Null), field, depth + 1),
        },
        _ => unsupported("of no type"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(v: i64) -> Vec<u8> {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        let mut out = vec![];
        loop {
            let b = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    fn bytes(b: &[u8]) -> Vec<u8> {
        let mut out = long(b.len() as i64);
        out.extend_from_slice(b);
        out
    }

    /// A file with one block of `rows` rows holding `data`, declared `size` bytes long.
    fn file(schema: &str, rows: i64, data: &[u8], size: i64) -> Vec<u8> {
        let mut f = MAGIC.to_vec();
        f.extend(long(1));
        f.extend(bytes(b"avro.schema"));
        f.extend(bytes(schema.as_bytes()));
        f.extend(long(0));
        f.extend([7u8; 16]);
        f.extend(long(rows));
        f.extend(long(size));
        f.extend_from_slice(data);
        f.extend([7u8; 16]);
        f
    }

    const ONE_LONG: &str = r#"{"type":"record","name":"r","fields":[{"name":"n","type":"long"}]}"#;

    fn check_bytes(b: &[u8]) -> Result<AvroHeader, String> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.avro");
        std::fs::write(&p, b).unwrap();
        check(&p, true).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_the_header_and_counts_blocks() {
        let data = [long(3), long(-1)].concat();
        let h = check_bytes(&file(ONE_LONG, 2, &data, data.len() as i64)).unwrap();
        assert_eq!(h.codec, "null");
        assert_eq!(h.fields, ["n"]);
        assert_eq!((h.blocks, h.rows), (1, 2));
        assert_eq!(h.decoded_bytes, data.len() as u64);
        assert_eq!(read_long(&mut &long(-64)[..]).unwrap(), Some(-64));
        assert_eq!(read_long(&mut &long(i64::MAX)[..]).unwrap(), Some(i64::MAX));
    }

    #[test]
    fn a_block_larger_than_the_file_is_named() {
        let e = check_bytes(&file(ONE_LONG, 2, &[6, 1], 1 << 40)).unwrap_err();
        assert!(
            e.contains("t.avro") && e.contains("block 1") && e.contains("do not fit"),
            "{e}"
        );
        let mut bad_sync = file(ONE_LONG, 2, &[6, 1], 2);
        *bad_sync.last_mut().unwrap() = 0;
        let e = check_bytes(&bad_sync).unwrap_err();
        assert!(e.contains("end marker"), "{e}");
    }

    #[test]
    fn maps_and_wide_unions_are_named_by_field() {
        let map = r#"{"type":"record","name":"r","fields":[{"name":"ctx","type":["null",{"type":"record","name":"c","fields":[{"name":"tags","type":{"type":"map","values":"string"}}]}]}]}"#;
        let e = check_bytes(&file(map, 0, &[], 0)).unwrap_err();
        assert!(e.contains(r#""ctx.tags" is an Avro map"#), "{e}");
        let union = r#"{"type":"record","name":"r","fields":[{"name":"v","type":["null","long","string"]}]}"#;
        let e = check_bytes(&file(union, 0, &[], 0)).unwrap_err();
        assert!(e.contains(r#""v" is a union of several types"#), "{e}");
        let e = check_bytes(&file(r#"{"type":"array","items":"long"}"#, 0, &[], 0)).unwrap_err();
        assert!(e.contains("not a record"), "{e}");
        let e = check_bytes(b"Obj\x01\x80").unwrap_err();
        assert!(e.contains("header is damaged"), "{e}");
    }
}
