//! An export file in batches, for the streamed load (`stream.rs`): a CSV file (plain or gzip) as runs
//! of whole records under its header line, a Parquet file as runs of rows.
//!
//! Records are cut only at a line end outside quotes: a quoted field may hold line breaks, and RFC
//! 4180 escapes a quote by doubling it, so counting quotes from a record boundary tells whether a line
//! end is inside a field.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::format::io_err;
use crate::error::LoadError;

/// A reader that counts the bytes taken from the file (the compressed ones, for a gzip file): the
/// progress of a batch read.
struct Counted<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A CSV file as chunks: each is the header line followed by whole records, about `target` bytes.
pub struct CsvChunks {
    path: PathBuf,
    reader: Box<dyn Read + Send>,
    /// Bytes taken from the file so far.
    pub read: Arc<AtomicU64>,
    header: Vec<u8>,
    /// Text read past the last cut (starts at a record boundary).
    carry: Vec<u8>,
    /// Text bytes handed out before the carry (for the offset of a binary byte).
    offset: u64,
    target: usize,
    eof: bool,
    /// CSV: cut outside quotes, under a header. Lines (NDJSON): cut at any line end, no header (a
    /// JSON string cannot hold a raw line break).
    csv: bool,
}

/// The longest record a CSV export may hold: a line without end (a binary file, a quote never
/// closed) must not be read whole into memory.
pub const MAX_RECORD: usize = 64 << 20;

/// The end (exclusive) of the last whole record in `bytes`, which starts at a record boundary: just
/// past the last line end outside quotes.
fn last_record_end(bytes: &[u8]) -> Option<usize> {
    // Most exports quote nothing: then the last line end is the cut (both searches are SIMD).
    if memchr::memchr(b'"', bytes).is_none() {
        return memchr::memrchr(b'\n', bytes).map(|i| i + 1);
    }
    let mut inside = false;
    let mut end = None;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' {
            inside = !inside;
        } else if b == b'\n' && !inside {
            end = Some(i + 1);
        }
    }
    end
}

impl CsvChunks {
    /// A JSON-lines file as chunks of whole lines (no header).
    pub fn open_lines(path: &Path, gzip: bool, target: usize) -> Result<CsvChunks, LoadError> {
        CsvChunks::new(path, gzip, target, false)
    }

    pub fn open(path: &Path, gzip: bool, target: usize) -> Result<CsvChunks, LoadError> {
        CsvChunks::new(path, gzip, target, true)
    }

    fn new(path: &Path, gzip: bool, target: usize, csv: bool) -> Result<CsvChunks, LoadError> {
        let read = Arc::new(AtomicU64::new(0));
        let file = Counted {
            inner: File::open(path).map_err(io_err(path))?,
            bytes: read.clone(),
        };
        let reader: Box<dyn Read + Send> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(
                std::io::BufReader::with_capacity(1 << 20, file),
            ))
        } else {
            Box::new(file)
        };
        let mut chunks = CsvChunks {
            path: path.to_path_buf(),
            reader,
            read,
            header: Vec::new(),
            carry: Vec::new(),
            offset: 0,
            target: target.max(1),
            eof: false,
            csv,
        };
        if !csv {
            return Ok(chunks);
        }
        // The header: the first record.
        loop {
            if let Some(end) = first_record_end(&chunks.carry) {
                chunks.header = chunks.carry[..end].to_vec();
                break;
            }
            if chunks.carry.len() >= MAX_RECORD {
                return Err(LoadError::Parse {
                    path: path.to_path_buf(),
                    format: "CSV".into(),
                    message: "the header line has no end".into(),
                });
            }
            if chunks.eof {
                chunks.carry.push(b'\n');
                chunks.header = chunks.carry.clone();
                break;
            }
            chunks.fill(1 << 16)?;
        }
        Ok(chunks)
    }

    /// Read about `more` bytes into the carry.
    fn fill(&mut self, more: usize) -> Result<(), LoadError> {
        let start = self.carry.len();
        self.carry.resize(start + more, 0);
        let mut at = start;
        while at < self.carry.len() {
            match self.reader.read(&mut self.carry[at..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => at += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(LoadError::Parse {
                        path: self.path.clone(),
                        format: "CSV".into(),
                        message: e.to_string(),
                    });
                }
            }
        }
        self.carry.truncate(at);
        // Text has no NUL byte: a file that turns binary past its sniffed start (a truncated copy
        // padded with zeros, a disk image) stops here, named with where.
        if let Some(i) = memchr::memchr(0, &self.carry[start..]) {
            // The carry is the header then the text past `offset` (or, before the header is
            // known, the file from its start): either way its byte k is the file's offset + k.
            return Err(LoadError::Binary {
                path: self.path.clone(),
                offset: (self.offset + (start + i) as u64) as usize,
            });
        }
        Ok(())
    }

    /// The next chunk (header line + whole records), or None at the end of the file. The carry
    /// already starts with the header: the chunk is handed out as it lies, and only the text past
    /// the cut is copied into the next carry.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, LoadError> {
        let hl = self.header.len();
        let mut want = hl + self.target;
        loop {
            if !self.eof && self.carry.len() < want {
                self.fill(want - self.carry.len())?;
            }
            let text = &self.carry[hl..];
            if self.eof {
                if text.iter().all(|b| b.is_ascii_whitespace()) {
                    return Ok(None);
                }
                self.offset += text.len() as u64;
                let out = std::mem::replace(&mut self.carry, self.header.clone());
                return Ok(Some(out));
            }
            let cut = if self.csv {
                last_record_end(text)
            } else {
                memchr::memrchr(b'\n', text).map(|i| i + 1)
            };
            match cut {
                Some(end) => {
                    self.offset += end as u64;
                    let mut next = Vec::with_capacity(hl + self.target + (1 << 16));
                    next.extend_from_slice(&self.header);
                    next.extend_from_slice(&self.carry[hl + end..]);
                    let mut out = std::mem::replace(&mut self.carry, next);
                    out.truncate(hl + end);
                    return Ok(Some(out));
                }
                // One record longer than the target: read on, up to the longest a record may be.
                None if text.len() >= MAX_RECORD => {
                    return Err(LoadError::Parse {
                        path: self.path.clone(),
                        format: "CSV".into(),
                        message: format!(
                            "a record starting near byte {} runs past {} without a line end \
                             outside quotes (a quote never closed?)",
                            self.offset + hl as u64,
                            super::memory::human(MAX_RECORD as u64)
                        ),
                    });
                }
                None => {
                    want = hl
                        + (want - hl)
                            .saturating_mul(2)
                            .min(MAX_RECORD.max(self.target))
                }
            }
        }
    }
}

/// The end of the first record (just past its line end outside quotes).
fn first_record_end(bytes: &[u8]) -> Option<usize> {
    let mut inside = false;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' {
            inside = !inside;
        } else if b == b'\n' && !inside {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks_of(text: &str, target: usize, gzip: bool) -> Vec<String> {
        let dir = std::env::temp_dir().join(format!(
            "plab-chunks-{}-{target}-{gzip}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.csv");
        if gzip {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(text.as_bytes()).unwrap();
            std::fs::write(&path, e.finish().unwrap()).unwrap();
        } else {
            std::fs::write(&path, text).unwrap();
        }
        let mut c = CsvChunks::open(&path, gzip, target).unwrap();
        c.target = target;
        let mut out = Vec::new();
        while let Some(ch) = c.next_chunk().unwrap() {
            out.push(String::from_utf8(ch).unwrap());
        }
        std::fs::remove_dir_all(&dir).unwrap();
        out
    }

    #[test]
    fn binary_bytes_and_endless_records_stop_the_read() {
        let dir = std::env::temp_dir().join(format!("plab-chunks-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.csv");
        let mut bytes = b"a,b\n1,2\n".to_vec();
        bytes.extend(vec![0u8; 5000]);
        std::fs::write(&path, &bytes).unwrap();
        let first_error = |target: usize| -> LoadError {
            let mut c = match CsvChunks::open(&path, false, target) {
                Ok(c) => c,
                Err(e) => return e,
            };
            loop {
                match c.next_chunk() {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("read to the end"),
                    Err(e) => return e,
                }
            }
        };
        let e = first_error(100);
        assert!(matches!(e, LoadError::Binary { offset: 8, .. }), "{e}");
        // A quote never closed: the record would be the whole file.
        let mut text = b"a,b\n1,\"2\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_RECORD + 10));
        std::fs::write(&path, &text).unwrap();
        let e = first_error(1 << 20).to_string();
        assert!(e.contains("without a line end"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn json_lines_are_cut_at_any_line_end() {
        let dir = std::env::temp_dir().join(format!("plab-chunks-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.ndjson");
        let text = "{\"a\":\"say \\\"hi\"}\n{\"a\":\"x\"}\n{\"a\":\"\\\"\"}\n{\"a\":1}";
        std::fs::write(&path, text).unwrap();
        for target in [1, 5, 30, 1000] {
            let mut c = CsvChunks::open_lines(&path, false, target).unwrap();
            let mut all = String::new();
            while let Some(ch) = c.next_chunk().unwrap() {
                let ch = String::from_utf8(ch).unwrap();
                assert!(ch.ends_with('\n') || !text.ends_with(ch.as_str()) || ch.ends_with('}'));
                assert!(ch.starts_with('{'), "{ch:?}");
                all.push_str(&ch);
            }
            assert_eq!(all, text);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn chunks_hold_whole_records_under_the_header() {
        let text = "a,b\n1,\"x\ny\"\n2,\"he said \"\"hi\n\"\"\"\n3,z\n4,w";
        for gzip in [false, true] {
            for target in [1, 3, 7, 100] {
                let chunks = chunks_of(text, target, gzip);
                let mut body = String::new();
                for ch in &chunks {
                    let rest = ch.strip_prefix("a,b\n").expect("header first");
                    // Every chunk but the last ends at a record boundary: an even number of quotes.
                    assert_eq!(rest.matches('"').count() % 2, 0, "{ch:?}");
                    body.push_str(rest);
                }
                assert_eq!(body, &text[4..], "target {target}, gzip {gzip}");
            }
        }
    }
}
