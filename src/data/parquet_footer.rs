//! A structural check of a Parquet file's footer (the thrift-encoded `FileMetaData`) before polars
//! decodes it. polars 0.55.2 sizes its vectors by the element counts the footer claims before it reads
//! the elements, so an 11 KB file whose footer claims billions of schema elements made it ask for
//! 25 GB and the process abort (found by fuzzing; an allocation failure cannot be caught). Walking
//! the footer once, with every count and length checked against the bytes that are really there,
//! rejects such a file with a message instead.
//!
//! The walk follows the thrift compact protocol generically (field headers, varints, binaries, lists,
//! sets, maps, nested structs) without knowing Parquet's schema: whatever it accepts has every
//! container's elements present, so no count exceeds the footer's size.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Deeper nesting than any real footer has (Parquet's own is under 10 levels).
const MAX_DEPTH: usize = 64;

/// Why a footer is not well formed, in words for the error message.
pub type Problem = String;

/// Read the footer of `path` and walk it. Err(problem) when it is cut short, claims more than it
/// holds, or is not a thrift struct.
pub fn check(path: &Path) -> std::io::Result<Result<(), Problem>> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    if len < 12 {
        return Ok(Err(format!("{len} bytes is too short for a Parquet file")));
    }
    let mut tail = [0u8; 8];
    f.seek(SeekFrom::End(-8))?;
    f.read_exact(&mut tail)?;
    if &tail[4..] != b"PAR1" {
        return Ok(Err(
            "the file does not end with the Parquet magic bytes".into()
        ));
    }
    let meta_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if meta_len > len - 12 {
        return Ok(Err(format!(
            "its footer claims {meta_len} bytes of a {len}-byte file"
        )));
    }
    let mut meta = vec![0u8; meta_len as usize];
    f.seek(SeekFrom::End(-8 - meta_len as i64))?;
    f.read_exact(&mut meta)?;
    Ok(walk(&meta))
}

/// Walk one thrift compact-protocol struct spanning `bytes` (trailing bytes are allowed, as readers
/// ignore them).
pub fn walk(bytes: &[u8]) -> Result<(), Problem> {
    let mut r = Reader { bytes, pos: 0 };
    r.skip_struct(0)
}

/// What a page header says, as far as the checks need it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PageHeader {
    /// Length of the header itself.
    pub header_len: usize,
    pub compressed_size: i64,
    pub uncompressed_size: i64,
    /// Every count and length inside the data / dictionary page headers (values, nulls, rows,
    /// level byte lengths), which a reader sizes its buffers by.
    pub counts: Vec<i64>,
}

/// Parse the page header at the start of `bytes` (thrift compact `PageHeader`).
pub fn page_header(bytes: &[u8]) -> Result<PageHeader, Problem> {
    let mut r = Reader { bytes, pos: 0 };
    let mut h = PageHeader::default();
    r.fields(0, |r, id, t| {
        match (id, t) {
            (2, 5) => h.uncompressed_size = r.int()?,
            (3, 5) => h.compressed_size = r.int()?,
            // Data page (v1), dictionary page, data page v2: every i32 field is a count or a length.
            (5 | 7 | 8, 12) => r.fields(1, |r, _, t| {
                if t == 5 {
                    h.counts.push(r.int()?);
                    Ok(())
                } else {
                    r.skip_value(t, 2, false)
                }
            })?,
            _ => r.skip_value(t, 1, false)?,
        }
        Ok(())
    })?;
    h.header_len = r.pos;
    Ok(h)
}

/// Check the pages of one column chunk held in memory (see `check_pages_with`).
pub fn check_pages(chunk: &[u8]) -> Result<(), Problem> {
    check_pages_with(chunk.len() as u64, |pos, len| {
        Ok(chunk[pos as usize..pos as usize + len].to_vec())
    })
    .unwrap_or_else(|e| Err(e.to_string()))
}

/// Check the pages of a column chunk of `size` bytes: every header parses, no count or size is
/// negative (a reader sizes buffers by them: a negative count became a 2^61-byte request and an
/// abort, found by fuzzing), and every page fits in the chunk. `fetch(pos, len)` gives `len` bytes of
/// the chunk from `pos`: only the headers are read, never the page data, so a large file is not read
/// twice.
pub fn check_pages_with(
    size: u64,
    mut fetch: impl FnMut(u64, usize) -> std::io::Result<Vec<u8>>,
) -> std::io::Result<Result<(), Problem>> {
    const WINDOW: u64 = 64 * 1024;
    let mut pos = 0u64;
    while pos < size {
        let left = size - pos;
        let mut window = WINDOW.min(left);
        let h = loop {
            let bytes = fetch(pos, window as usize)?;
            match page_header(&bytes) {
                Ok(h) => break h,
                // A header larger than the window (big statistics): read more of it.
                Err(e) if e.contains("ends early") && window < left => {
                    window = (window * 16).min(left);
                }
                Err(e) => {
                    return Ok(Err(format!(
                        "a page header at byte {pos} of a column chunk: {e}"
                    )));
                }
            }
        };
        if h.compressed_size < 0 || h.uncompressed_size < 0 || h.counts.iter().any(|&c| c < 0) {
            return Ok(Err(format!(
                "a page header at byte {pos} of a column chunk has a negative size or count"
            )));
        }
        let end = pos + h.header_len as u64 + h.compressed_size as u64;
        if end > size {
            return Ok(Err(format!(
                "a page at byte {pos} of a column chunk runs past the chunk's end"
            )));
        }
        pos = end;
    }
    Ok(Ok(()))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, Problem> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| format!("its footer ends early (at byte {})", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, Problem> {
        let mut v: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                break;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!(
            "its footer has a malformed number at byte {}",
            self.pos
        ))
    }

    fn skip(&mut self, n: u64) -> Result<(), Problem> {
        if n > self.remaining() as u64 {
            return Err(format!(
                "its footer claims {n} bytes at byte {} with {} left",
                self.pos,
                self.remaining()
            ));
        }
        self.pos += n as usize;
        Ok(())
    }

    /// A container of `count` elements needs at least `count * min` bytes.
    fn room_for(&self, count: u64, min: u64) -> Result<(), Problem> {
        if count.saturating_mul(min) > self.remaining() as u64 {
            return Err(format!(
                "its footer claims {count} elements at byte {} with {} bytes left",
                self.pos,
                self.remaining()
            ));
        }
        Ok(())
    }

    /// Fewest bytes an element of a compact type takes inside a container.
    fn min_size(t: u8) -> Result<u64, Problem> {
        match t {
            1 | 2 | 3 | 4 | 5 | 6 | 8 | 9 | 10 | 11 | 12 => Ok(1),
            7 => Ok(8),
            _ => Err(format!("its footer has an unknown thrift type {t}")),
        }
    }

    fn skip_value(&mut self, t: u8, depth: usize, in_container: bool) -> Result<(), Problem> {
        if depth > MAX_DEPTH {
            return Err("its footer nests too deep".into());
        }
        match t {
            // Booleans: in a struct the value is in the field header; in a container, one byte.
            1 | 2 => {
                if in_container {
                    self.byte()?;
                }
                Ok(())
            }
            3 => self.byte().map(|_| ()),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let n = self.varint()?;
                self.skip(n)
            }
            9 | 10 => {
                let h = self.byte()?;
                let elem = h & 0x0f;
                let count = match h >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                self.room_for(count, Self::min_size(elem)?)?;
                for _ in 0..count {
                    self.skip_value(elem, depth + 1, true)?;
                }
                Ok(())
            }
            11 => {
                let count = self.varint()?;
                if count == 0 {
                    return Ok(());
                }
                let kv = self.byte()?;
                let (k, v) = (kv >> 4, kv & 0x0f);
                self.room_for(count, Self::min_size(k)? + Self::min_size(v)?)?;
                for _ in 0..count {
                    self.skip_value(k, depth + 1, true)?;
                    self.skip_value(v, depth + 1, true)?;
                }
                Ok(())
            }
            12 => self.skip_struct(depth + 1),
            _ => Err(format!("its footer has an unknown thrift type {t}")),
        }
    }

    /// A zigzag-encoded integer (i16, i32, i64 in the compact protocol).
    fn int(&mut self) -> Result<i64, Problem> {
        let n = self.varint()?;
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    /// Walk a struct's fields, handing each (field id, type) to `f`, which must consume its value.
    fn fields(
        &mut self,
        depth: usize,
        mut f: impl FnMut(&mut Self, i64, u8) -> Result<(), Problem>,
    ) -> Result<(), Problem> {
        if depth > MAX_DEPTH {
            return Err("its footer nests too deep".into());
        }
        let mut id: i64 = 0;
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Ok(());
            }
            let t = h & 0x0f;
            id = match h >> 4 {
                0 => self.int()?,
                d => id + i64::from(d),
            };
            f(self, id, t)?;
        }
    }

    fn skip_struct(&mut self, depth: usize) -> Result<(), Problem> {
        if depth > MAX_DEPTH {
            return Err("its footer nests too deep".into());
        }
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Ok(());
            }
            let t = h & 0x0f;
            if h >> 4 == 0 {
                self.varint()?; // the field id, when it is not a small delta
            }
            self.skip_value(t, depth, false)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_footer_walks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut df = polars::prelude::df!("user" => ["a", "b"], "x" => [1.0, 2.0]).unwrap();
        let f = File::create(&path).unwrap();
        polars::prelude::ParquetWriter::new(f)
            .finish(&mut df)
            .unwrap();
        assert_eq!(check(&path).unwrap(), Ok(()));
    }

    #[test]
    fn counts_beyond_the_bytes_are_refused() {
        // A struct whose field 1 is a list of structs claiming 2^32 elements in 6 bytes.
        let bytes = [0x19, 0xfc, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00];
        let e = walk(&bytes).unwrap_err();
        assert!(e.contains("claims 4294967296 elements"), "{e}");
        // A binary claiming more than is left; a cut-off struct; too deep.
        assert!(
            walk(&[0x18, 0x7f, 0x00])
                .unwrap_err()
                .contains("claims 127 bytes")
        );
        assert!(walk(&[0x15, 0x02]).unwrap_err().contains("ends early"));
        let deep: Vec<u8> = std::iter::repeat_n(0x1c, 100).collect();
        assert!(walk(&deep).is_err());
        // A page header: uncompressed 10, compressed 4, data page with num_values 3 (zigzag 6);
        // then the 4 bytes of the page. With num_values -80 (zigzag 159 = 0x9f 0x01) it is refused.
        let page = [
            0x25, 0x14, 0x15, 0x08, 0x2c, 0x15, 0x06, 0x00, 0x00, 1, 2, 3, 4,
        ];
        assert_eq!(
            page_header(&page).unwrap(),
            PageHeader {
                header_len: 9,
                compressed_size: 4,
                uncompressed_size: 10,
                counts: vec![3]
            }
        );
        assert_eq!(check_pages(&page), Ok(()));
        let negative = [
            0x25, 0x14, 0x15, 0x08, 0x2c, 0x15, 0x9f, 0x01, 0x00, 0x00, 1, 2, 3, 4,
        ];
        assert!(check_pages(&negative).unwrap_err().contains("negative"));
        assert!(check_pages(&page[..11]).unwrap_err().contains("runs past"));
        // Well formed: i32 field, binary field, a list of two i32, stop.
        assert_eq!(
            walk(&[
                0x15, 0x04, 0x18, 0x02, b'h', b'i', 0x19, 0x25, 0x02, 0x04, 0x00
            ]),
            Ok(())
        );
    }
}
