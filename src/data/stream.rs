//! Exports larger than memory: the streamed load.
//!
//! The export is read in batches (a CSV file as runs of whole records, plain or gzip; a Parquet file
//! as runs of rows; a file read whole, such as one NDJSON or Avro shard of a folder, as one batch).
//! Each batch is canonicalised by the same code as a whole export, then split by user (a hash of the
//! canonical id) into parts written to disk as Arrow IPC (LZ4). A part holds every event of its users, in
//! the export's order, so the profile computed part by part (`features::aggregate::profile_part`,
//! with the reference time and event names of the whole export) is the in-memory profile, bit for
//! bit: each user's sums still add in row order. Memory holds one batch while reading and one part
//! while profiling; the disk holds the parts (about 1.2x the CSV text: uncompressed Arrow, since
//! LZ4 framing and Parquet's encodings cost more time than the smaller writes saved).
//!
//! What a batch cannot see is handled across batches: the vendor's duplicates are marked with their
//! key's hash and dropped part by part once every batch is in (a resent event keeps its user); the
//! scroll depth scale (fraction or percent) is fixed by the first batch that has values, and a later
//! batch that contradicts it is refused.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use polars::prelude::*;

use super::chunks::CsvChunks;
use super::format::{self, FileFormat};
use super::memory;
use super::{
    Context, DurationUnit, LoadOptions, Part, PiiKind, RoleMapping, Shape, TimeEncoding, Warning,
    cols, events,
};
use crate::error::LoadError;
use crate::job::Job;

/// How a streamed load is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streaming {
    /// Bytes of text (or of file, for Parquet) per batch.
    pub batch_bytes: usize,
    /// Parts the events are split into by user.
    pub parts: usize,
}

impl Streaming {
    /// The cut for an export whose in-memory load needs `need` bytes under a budget of `budget`:
    /// a part's events, profiled in memory, stay within a third of the budget, and a batch (its
    /// text, its table and its canonical copy) within a quarter.
    pub fn for_budget(need: u64, budget: u64) -> Streaming {
        let budget = budget.max(64 << 20);
        let parts = (need as f64 / (budget as f64 / 3.0)).ceil() as usize;
        Streaming {
            batch_bytes: (budget / 4 / (memory::TEXT_FACTOR as u64 + 1)).clamp(1 << 20, 256 << 20)
                as usize,
            parts: parts.clamp(2, 4096),
        }
    }
}

/// A streamed export's canonical events on disk, split by user; removed when dropped.
pub struct Spill {
    dir: PathBuf,
    /// The part folders (Arrow IPC pieces, canonical columns; the event name as text).
    pub parts: Vec<PathBuf>,
    /// Canonical rows kept (after every drop, duplicates included).
    pub rows: usize,
    /// First and last event time.
    pub span: Option<(i64, i64)>,
    /// Every event name with its count.
    pub names: Vec<(String, u64)>,
    /// The first rows of the canonical table (what the app's preview shows).
    pub preview: DataFrame,
    pub settings: Streaming,
    /// Bytes the parts take on disk.
    pub disk_bytes: u64,
    users: OnceLock<usize>,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill")
            .field("dir", &self.dir)
            .field("parts", &self.parts.len())
            .field("rows", &self.rows)
            .finish()
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn polars_at(path: &Path, e: PolarsError) -> LoadError {
    LoadError::Parse {
        path: path.to_path_buf(),
        format: "spilled part".into(),
        message: e.to_string(),
    }
}

/// The pieces of a part (one file per batch that had its users), in the order written.
fn pieces(part: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(part)
        .map_err(format::io_err(part))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "arrow"))
        .collect();
    // Zero-padded numbers: name order is write order.
    files.sort();
    Ok(files)
}

/// Read spilled pieces (Arrow IPC, LZ4) as one table, `columns` only when given.
fn read_pieces(part: &Path, columns: Option<Vec<String>>) -> Result<DataFrame, LoadError> {
    let mut out: Option<DataFrame> = None;
    for f in pieces(part)? {
        let file = File::open(&f).map_err(format::io_err(&f))?;
        let df = IpcReader::new(file)
            .with_columns(columns.clone())
            .finish()
            .map_err(|e| polars_at(&f, e))?;
        match &mut out {
            None => out = Some(df),
            Some(o) => {
                o.vstack_mut_owned(df).map_err(|e| polars_at(&f, e))?;
            }
        }
    }
    let mut out = out.unwrap_or_default();
    out.rechunk_mut_par();
    Ok(out)
}

/// Write a table as one spilled piece: uncompressed Arrow IPC, written and read back at memory speed
/// (measured on the 11M-event bench export: Parquet's dictionaries and statistics, or IPC's LZ4
/// frames with their checksums, made the streamed read 10-30% slower than these larger writes).
fn write_piece(path: &Path, df: &mut DataFrame) -> Result<(), LoadError> {
    let f = File::create(path).map_err(format::io_err(path))?;
    IpcWriter::new(std::io::BufWriter::with_capacity(1 << 20, f))
        .with_compression(None)
        // Text as offsets and bytes (8 bytes a value less than views: a quarter of the bytes).
        .with_compat_level(CompatLevel::oldest())
        .finish(df)
        .map_err(|e| polars_at(path, e))
}

impl Spill {
    /// One part as a canonical events table (the event name back as a categorical).
    pub fn read_part(&self, i: usize) -> Result<DataFrame, LoadError> {
        let path = &self.parts[i];
        let mut df = read_pieces(path, None)?;
        let event = df
            .column(cols::EVENT)
            .and_then(|c| c.cast(&events::event_dtype()))
            .map_err(|e| polars_at(path, e))?;
        df.with_column(event).map_err(|e| polars_at(path, e))?;
        Ok(df)
    }

    /// Some columns of one part, as written (the event name as text).
    pub fn read_part_columns(&self, i: usize, columns: &[&str]) -> Result<DataFrame, LoadError> {
        read_pieces(
            &self.parts[i],
            Some(columns.iter().map(|c| c.to_string()).collect()),
        )
    }

    /// Distinct users (a pass over the parts' id columns, once).
    pub fn n_users(&self) -> usize {
        *self.users.get_or_init(|| {
            self.parts
                .iter()
                .filter_map(|p| {
                    let df = read_pieces(p, Some(vec![cols::USER.to_string()])).ok()?;
                    df.column(cols::USER).ok()?.n_unique().ok()
                })
                .sum()
        })
    }
}

fn disk_bytes(parts: &[PathBuf]) -> u64 {
    parts
        .iter()
        .filter_map(|p| pieces(p).ok())
        .flatten()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum()
}

/// What the streamed read hands back to `load`.
pub(super) struct Streamed {
    pub spill: Spill,
    pub rows_read: usize,
    pub rows_dropped: Vec<(String, usize)>,
    pub warnings: Vec<Warning>,
    pub time_encoding: Option<TimeEncoding>,
    pub duration_unit: Option<DurationUnit>,
}

/// The part of a user id: the same on every run and machine (a multiply-rotate hash of its bytes,
/// eight at a time: SipHash took a tenth of the streamed read).
fn part_of(user: &str, parts: usize) -> usize {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = user.len() as u64;
    let bytes = user.as_bytes();
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = (h.rotate_left(5) ^ x).wrapping_mul(K);
    }
    for &b in words.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    // Mix the high bits down before the modulo.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h % parts as u64) as usize
}

/// Warnings of many batches as few: the same message with other numbers (rows, counts) is said
/// once, with how many batches repeated it.
struct WarningLog {
    kept: Vec<(String, Warning, usize)>,
}

impl WarningLog {
    fn add(&mut self, w: Warning) {
        let shape: String = format!(
            "{:?}{}",
            w.column,
            w.message
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .collect::<String>()
        );
        match self.kept.iter_mut().find(|(s, _, _)| *s == shape) {
            Some((_, _, n)) => *n += 1,
            None => self.kept.push((shape, w, 0)),
        }
    }

    fn finish(self) -> Vec<Warning> {
        self.kept
            .into_iter()
            .map(|(_, mut w, more)| {
                if more > 0 {
                    w.message
                        .push_str(&format!(" (in the first batch; {more} later batches too)"));
                }
                w
            })
            .collect()
    }
}

/// The state of the pass over the batches.
struct Writer<'a> {
    opts: &'a LoadOptions,
    mapping: &'a RoleMapping,
    pii: &'a [(String, PiiKind)],
    settings: Streaming,
    /// Pieces written per part so far.
    written: Vec<usize>,
    /// Pieces to write, to the writer thread (the next batch is parsed meanwhile).
    to_disk: Option<std::sync::mpsc::SyncSender<(PathBuf, DataFrame)>>,
    paths: Vec<PathBuf>,
    /// The parts' schema, from the first batch.
    schema: Option<Schema>,
    rows: usize,
    rows_read: usize,
    dropped: Vec<(String, usize)>,
    warnings: WarningLog,
    names: HashMap<String, u64>,
    span: Option<(i64, i64)>,
    preview: Option<DataFrame>,
    time_encoding: Option<TimeEncoding>,
    duration_unit: Option<DurationUnit>,
    scroll_fraction: Option<bool>,
    /// Seconds spent per step (PERSONA_LAB_TIMING=1 prints them): parse, canonicalise, stats,
    /// normalise, split + write, waiting for the reader.
    steps: [f64; 6],
}

const STEPS: [&str; 6] = [
    "parse",
    "canonicalise",
    "stats",
    "normalise",
    "split + write",
    "wait for text",
];

impl Writer<'_> {
    /// Canonicalise one batch of `file` (its data rows from `first_row`) and add it to the parts.
    fn batch(&mut self, file: &Path, mut df: DataFrame, first_row: u64) -> Result<(), LoadError> {
        let n = df.height();
        if n == 0 {
            return Ok(());
        }
        self.rows_read += n;
        // A column of the export this file lacks is null here, as in the in-memory union.
        let mut wanted = self.mapping.columns();
        wanted.extend(self.opts.keep_columns.iter().cloned());
        for c in wanted {
            if df.get_column_index(&c).is_none() {
                df.with_column(Column::full_null(c.as_str().into(), n, &DataType::String))
                    .map_err(|e| polars_at(file, e))?;
            }
        }
        let ctx = Context {
            path: file,
            opts: self.opts,
            mapping: self.mapping,
            pii: self.pii,
            first_row,
            streamed: true,
            scroll_fraction: self.scroll_fraction,
        };
        let t0 = std::time::Instant::now();
        let out = events::canonicalize(&ctx, df)?;
        self.steps[1] += t0.elapsed().as_secs_f64();
        if self.scroll_fraction.is_none() {
            self.scroll_fraction = out.scroll_fraction;
        }
        match (&self.time_encoding, out.time_encoding) {
            (None, e) => self.time_encoding = e,
            (Some(a), Some(b)) if *a != b => {
                return Err(LoadError::BadColumn {
                    path: file.to_path_buf(),
                    role: super::Role::Timestamp.label().into(),
                    column: self.mapping.timestamp.clone().unwrap_or_default(),
                    message: format!(
                        "the rows from {} on read as {b}, the export's first rows as {a}; the \
                         export mixes timestamp formats (give one with the time format setting)",
                        first_row + 1
                    ),
                });
            }
            _ => {}
        }
        self.duration_unit = self.duration_unit.or(out.duration_unit);
        for (reason, count) in out.rows_dropped {
            add_dropped(&mut self.dropped, &reason, count);
        }
        for w in out.warnings {
            self.warnings.add(w);
        }
        let t0 = std::time::Instant::now();
        self.stats(file, &out.table)?;
        let t1 = std::time::Instant::now();
        let table = self.normalise(file, out.table)?;
        let t2 = std::time::Instant::now();
        self.split(file, table)?;
        self.steps[2] += (t1 - t0).as_secs_f64();
        self.steps[3] += (t2 - t1).as_secs_f64();
        self.steps[4] += t2.elapsed().as_secs_f64();
        Ok(())
    }

    /// The batch in the parts' schema: every column, in one order and type (the event name as
    /// text: each batch's categories differ).
    fn normalise(&mut self, file: &Path, table: DataFrame) -> Result<DataFrame, LoadError> {
        let schema = match &self.schema {
            Some(s) => s.clone(),
            None => {
                let mut s = Schema::default();
                for c in table.columns() {
                    let name = c.name().as_str();
                    let keep = self.opts.keep_columns.iter().any(|k| k == name)
                        && ![cols::USER, cols::TS, cols::EVENT].contains(&name);
                    let dtype = if name == cols::EVENT || keep || c.dtype() == &DataType::Null {
                        DataType::String
                    } else {
                        c.dtype().clone()
                    };
                    s.with_column(c.name().clone(), dtype);
                }
                self.schema = Some(s.clone());
                s
            }
        };
        let h = table.height();
        let columns = schema
            .iter()
            .map(|(name, dtype)| match table.column(name) {
                Ok(c) if c.dtype() == dtype => Ok(c.clone()),
                Ok(c) => c.cast(dtype),
                Err(_) => Ok(Column::full_null(name.clone(), h, dtype)),
            })
            .collect::<PolarsResult<Vec<_>>>()
            .map_err(|e| polars_at(file, e))?;
        DataFrame::new(h, columns).map_err(|e| polars_at(file, e))
    }

    fn stats(&mut self, file: &Path, t: &DataFrame) -> Result<(), LoadError> {
        if self.preview.is_none() {
            let mut p = t.head(Some(1000));
            for k in [cols::KEY_A, cols::KEY_B] {
                let _ = p.drop_in_place(k);
            }
            self.preview = Some(p);
        }
        let ts = t
            .column(cols::TS)
            .and_then(|c| c.i64().cloned())
            .map_err(|e| polars_at(file, e))?;
        if let (Some(lo), Some(hi)) = (ts.min(), ts.max()) {
            self.span = Some(match self.span {
                None => (lo, hi),
                Some((a, b)) => (a.min(lo), b.max(hi)),
            });
        }
        // Counted on the categorical's codes (the batch's names, before they become text).
        let counts = t
            .clone()
            .lazy()
            .group_by([col(cols::EVENT)])
            .agg([len().alias("n")])
            .collect()
            .map_err(|e| polars_at(file, e))?;
        let names = counts
            .column(cols::EVENT)
            .and_then(|c| c.cast(&DataType::String))
            .map_err(|e| polars_at(file, e))?;
        let n = counts
            .column("n")
            .and_then(|c| c.cast(&DataType::UInt64))
            .map_err(|e| polars_at(file, e))?;
        let (names, n) = (
            names.str().map_err(|e| polars_at(file, e))?,
            n.u64().map_err(|e| polars_at(file, e))?,
        );
        for (name, c) in names.iter().zip(n.iter()) {
            let (Some(name), Some(c)) = (name, c) else {
                continue;
            };
            match self.names.get_mut(name) {
                Some(v) => *v += c,
                None => {
                    self.names.insert(name.to_string(), c);
                }
            }
        }
        self.rows += t.height();
        Ok(())
    }

    /// Rows of the batch to their parts, appended in row order.
    fn split(&mut self, file: &Path, t: DataFrame) -> Result<(), LoadError> {
        let users = t
            .column(cols::USER)
            .and_then(|c| c.str().cloned())
            .map_err(|e| polars_at(file, e))?;
        let mut rows: Vec<Vec<IdxSize>> = vec![Vec::new(); self.settings.parts];
        for (i, u) in users.iter().enumerate() {
            rows[part_of(u.unwrap_or(""), self.settings.parts)].push(i as IdxSize);
        }
        for (p, idx) in rows.into_iter().enumerate() {
            if idx.is_empty() {
                continue;
            }
            let mut piece = t
                .take(&IdxCa::from_vec("".into(), idx))
                .map_err(|e| polars_at(file, e))?;
            let dir = &self.paths[p];
            if self.written[p] == 0 {
                std::fs::create_dir_all(dir).map_err(format::io_err(dir))?;
            }
            let path = dir.join(format!("{:08}.arrow", self.written[p]));
            piece.rechunk_mut();
            let sent = self
                .to_disk
                .as_ref()
                .is_some_and(|tx| tx.send((path, piece)).is_ok());
            if !sent {
                // The writer stopped on an error: it is reported when the writer is joined.
                break;
            }
            self.written[p] += 1;
        }
        Ok(())
    }
}

fn add_dropped(list: &mut Vec<(String, usize)>, reason: &str, count: usize) {
    if count == 0 {
        return;
    }
    match list.iter_mut().find(|(r, _)| r == reason) {
        Some((_, c)) => *c += count,
        None => list.push((reason.to_string(), count)),
    }
}

/// The folder the parts go to: `PERSONA_LAB_SPILL_DIR`, else the system's temporary folder.
fn spill_root() -> PathBuf {
    std::env::var_os("PERSONA_LAB_SPILL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// Free bytes on the file system of `dir` (None where it cannot be asked).
/// Room the spill leaves free on its disk: `PERSONA_LAB_SPILL_RESERVE` (`2G`, `500M`), else 500 MB.
fn spill_reserve() -> u64 {
    std::env::var("PERSONA_LAB_SPILL_RESERVE")
        .ok()
        .and_then(|v| memory::parse_size(&v))
        .unwrap_or(500_000_000)
}

fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is a valid NUL-terminated path and `s` a writable statvfs.
        if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
            return None;
        }
        Some((s.f_bavail as u64).saturating_mul(s.f_frsize as u64))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Read an export's files in batches into parts on disk. `parts` are the opened files (a file read
/// whole to find its columns comes with its table); `text_bytes` is the export's size as text, for
/// the disk check.
#[allow(clippy::too_many_arguments)]
pub(super) fn spill(
    export: &Path,
    parts: Vec<Part>,
    shape: Shape,
    mapping: &RoleMapping,
    opts: &LoadOptions,
    pii: &[(String, PiiKind)],
    settings: Streaming,
    job: &Job,
) -> Result<Streamed, LoadError> {
    if shape != Shape::Events {
        return Err(LoadError::Invalid(format!(
            "{}: a per-user table is read whole, and this one does not fit in memory; split it \
             into files by rows and load them one at a time, or raise PERSONA_LAB_MEMORY",
            export.display()
        )));
    }
    let root = spill_root();
    let total: u64 = parts
        .iter()
        .map(|p| std::fs::metadata(&p.path).map_or(0, |m| m.len()))
        .sum();
    // Uncompressed Arrow of the canonical columns takes about 1.2x the text. A gzip file's text is
    // not known before it is read (4x to 10x the file): refused here is what cannot fit even at 4x,
    // and the writer checks the room left before every piece it writes.
    let gz = parts.iter().any(|p| p.sniffed.gzip);
    let want = if gz {
        total.saturating_mul(5)
    } else {
        total.saturating_mul(3) / 2
    };
    if let Some(free) = free_bytes(&root)
        && free < want
    {
        return Err(LoadError::Invalid(format!(
            "{}: streaming this export writes about {} to {} and only {} is free there; set \
             PERSONA_LAB_SPILL_DIR to a folder with room",
            export.display(),
            memory::human(want),
            root.display(),
            memory::human(free)
        )));
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = root.join(format!("persona-lab-spill-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(format::io_err(&dir))?;
    // From here on the folder goes away on any error: the Spill owns it once made.
    let guard = DirGuard(Some(dir.clone()));
    // Pieces are written on a thread of their own; at most one batch's worth waits.
    let (to_disk, pending) =
        std::sync::mpsc::sync_channel::<(PathBuf, DataFrame)>(settings.parts.max(2));
    let watched = dir.clone();
    let reserve = spill_reserve();
    let disk_writer = std::thread::spawn(move || -> Result<u64, LoadError> {
        let mut written = 0u64;
        for (path, mut df) in pending {
            // Stop before the disk is full (other programs need it too), naming what was written.
            let piece = df.estimated_size() as u64;
            if let Some(free) = free_bytes(&watched)
                && free < piece.saturating_add(reserve)
            {
                return Err(LoadError::SpillFull { written, free });
            }
            write_piece(&path, &mut df)?;
            written += piece;
        }
        Ok(written)
    });
    let mut w = Writer {
        opts,
        mapping,
        pii,
        settings,
        paths: (0..settings.parts)
            .map(|i| dir.join(format!("part-{i:05}")))
            .collect(),
        written: vec![0; settings.parts],
        to_disk: Some(to_disk),
        schema: None,
        rows: 0,
        rows_read: 0,
        dropped: Vec::new(),
        warnings: WarningLog { kept: Vec::new() },
        names: HashMap::new(),
        span: None,
        preview: None,
        time_encoding: None,
        duration_unit: None,
        scroll_fraction: None,
        steps: [0.0; 6],
    };
    let read = read_all(&mut w, parts, total, settings, job);
    // The writer finishes what it was sent (or stopped at its first error) before anything is read.
    w.to_disk = None;
    let written = disk_writer
        .join()
        .unwrap_or_else(|_| Err(LoadError::Invalid("the spill writer panicked".into())));
    read?;
    match written {
        Err(LoadError::SpillFull { written, free }) => {
            return Err(LoadError::Invalid(format!(
                "{}: streaming this export had written {} to {} when {} was left free there, and \
                 it leaves {} free for other programs (PERSONA_LAB_SPILL_RESERVE); set \
                 PERSONA_LAB_SPILL_DIR to a folder with room",
                export.display(),
                memory::human(written),
                root.display(),
                memory::human(free),
                memory::human(reserve)
            )));
        }
        other => other?,
    };

    if crate::timing::enabled() {
        for (name, secs) in STEPS.iter().zip(w.steps) {
            eprintln!("[timing]   streamed {name}: {secs:.3} s");
        }
    }
    let paths: Vec<PathBuf> = (0..settings.parts)
        .filter(|&p| w.written[p] > 0)
        .map(|p| w.paths[p].clone())
        .collect();
    let disk = disk_bytes(&paths);
    if w.rows == 0 {
        return Err(LoadError::NothingLeft {
            path: export.to_path_buf(),
            step: w
                .dropped
                .iter()
                .map(|(r, c)| format!("dropping {c} row(s): {r}"))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    let mut spill = Spill {
        dir: guard.keep(),
        parts: paths,
        rows: w.rows,
        span: w.span,
        names: w.names.into_iter().collect(),
        preview: w.preview.unwrap_or_default(),
        settings,
        disk_bytes: disk,
        users: OnceLock::new(),
    };
    if !mapping.dedup_key.is_empty() {
        let dropped = drop_duplicates(&mut spill)?;
        add_dropped(
            &mut w.dropped,
            &format!("duplicate event (same {})", mapping.dedup_key.join(" + ")),
            dropped,
        );
    }
    Ok(Streamed {
        spill,
        rows_read: w.rows_read,
        rows_dropped: w.dropped,
        warnings: w.warnings.finish(),
        time_encoding: w.time_encoding,
        duration_unit: w.duration_unit,
    })
}

/// Every file of the export into the writer, with progress by bytes of the files.
fn read_all(
    w: &mut Writer,
    parts: Vec<Part>,
    total: u64,
    settings: Streaming,
    job: &Job,
) -> Result<(), LoadError> {
    let mut done: u64 = 0;
    let report = |done: u64| {
        job.progress(
            "reading (streamed)",
            if total == 0 {
                1.0
            } else {
                done as f32 / total as f32
            },
        )
    };
    for part in parts {
        job.check()?;
        let size = std::fs::metadata(&part.path).map_or(0, |m| m.len());
        read_file(
            w,
            part,
            settings,
            &|f| report(done + (f * size as f64) as u64),
            job,
        )?;
        done += size;
        report(done);
    }
    Ok(())
}

/// Removes a folder when dropped, unless kept.
struct DirGuard(Option<PathBuf>);

impl DirGuard {
    fn keep(mut self) -> PathBuf {
        self.0.take().unwrap_or_default()
    }
}

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(d) = &self.0 {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The batches of one file, into the writer.
fn read_file(
    w: &mut Writer,
    part: Part,
    settings: Streaming,
    progress: &dyn Fn(f64),
    job: &Job,
) -> Result<(), LoadError> {
    let path = part.path.clone();
    let restricted = w.mapping.restricted_to(&part.columns);
    if part.chunked {
        return read_json_lines(w, &path, part.sniffed.gzip, settings, progress, job);
    }
    if let Some(df) = part.full {
        return w.batch(&path, df, 0);
    }
    if part.deferred {
        let mut left = Vec::new();
        let opened = super::open_part(&path, part.sniffed, &mut left)?;
        progress(1.0);
        return match opened.full {
            Some(df) => w.batch(&path, df, 0),
            None => Ok(()),
        };
    }
    match part.sniffed.format {
        FileFormat::Csv => {
            let size = std::fs::metadata(&path).map_or(1, |m| m.len().max(1));
            let chunks = CsvChunks::open(&path, part.sniffed.gzip, settings.batch_bytes)?;
            let read = chunks.read.clone();
            // The next chunk is read (and decompressed) on a thread of its own while this one is
            // parsed and spilled: reading and inflating are single-threaded, the rest is not.
            std::thread::scope(|scope| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<u8>, LoadError>>(1);
                scope.spawn(move || {
                    let mut chunks = chunks;
                    loop {
                        let next = chunks.next_chunk().transpose();
                        let end = !matches!(next, Some(Ok(_)));
                        // The receiver gone (an error, a cancel) ends the reading too.
                        if next.is_none_or(|n| tx.send(n).is_err()) || end {
                            break;
                        }
                    }
                });
                let mut first_row = 0u64;
                let mut waited = std::time::Instant::now();
                for chunk in rx {
                    w.steps[5] += waited.elapsed().as_secs_f64();
                    let chunk = chunk?;
                    job.check()?;
                    let t0 = std::time::Instant::now();
                    let df = super::read_table(
                        &path,
                        &part.sniffed,
                        Shape::Events,
                        &restricted,
                        &w.opts.keep_columns,
                        Some(&chunk),
                    )?;
                    drop(chunk);
                    w.steps[0] += t0.elapsed().as_secs_f64();
                    let n = df.height() as u64;
                    w.batch(&path, df, first_row)?;
                    first_row += n;
                    progress(read.load(std::sync::atomic::Ordering::Relaxed) as f64 / size as f64);
                    waited = std::time::Instant::now();
                }
                Ok(())
            })
        }
        FileFormat::Parquet => {
            let rows = format::parquet_rows(&path)?;
            let size = std::fs::metadata(&path).map_or(1, |m| m.len().max(1));
            // Rows per batch from the file's bytes per row (Parquet is about a third of its table
            // in memory).
            let per = ((settings.batch_bytes as f64 / 3.0) / (size as f64 / rows.max(1) as f64))
                .max(1.0) as usize;
            let mut columns = restricted.columns();
            for k in &w.opts.keep_columns {
                if part.columns.contains(k) && !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
            let mut at = 0;
            while at < rows {
                job.check()?;
                let len = per.min(rows - at);
                let df = format::read_parquet_slice(&path, Some(columns.clone()), at, len)?;
                w.batch(&path, df, at as u64)?;
                at += len;
                progress(at as f64 / rows as f64);
            }
            Ok(())
        }
        FileFormat::Ndjson | FileFormat::Avro => {
            // Opened whole before mapping (the first file) or deferred (the others).
            Err(LoadError::Invalid(format!(
                "{}: a file read whole was neither opened nor deferred",
                path.display()
            )))
        }
    }
}

/// A JSON-lines file too large to read whole, chunk by chunk of whole lines (each flattened as a
/// file of its own: a key first met in a later chunk is a column there, null elsewhere).
fn read_json_lines(
    w: &mut Writer,
    path: &Path,
    gzip: bool,
    settings: Streaming,
    progress: &dyn Fn(f64),
    job: &Job,
) -> Result<(), LoadError> {
    let size = std::fs::metadata(path).map_or(1, |m| m.len().max(1));
    let mut chunks = CsvChunks::open_lines(path, gzip, settings.batch_bytes)?;
    let (mut lines, mut first_row) = (0usize, 0u64);
    while let Some(chunk) = chunks.next_chunk()? {
        job.check()?;
        let n_lines = memchr::memchr_iter(b'\n', &chunk).count();
        let (df, _) = super::ndjson_chunk(path, chunk, lines)?;
        lines += n_lines;
        let n = df.height() as u64;
        w.batch(path, df, first_row)?;
        first_row += n;
        progress(chunks.read.load(std::sync::atomic::Ordering::Relaxed) as f64 / size as f64);
    }
    Ok(())
}

/// Drop the vendor's duplicates part by part (a part holds every event of its users, so the first
/// copy of an event is in the same part), then the key columns. Returns how many rows went.
fn drop_duplicates(spill: &mut Spill) -> Result<usize, LoadError> {
    let mut dropped = 0;
    let mut removed_names: HashMap<String, u64> = HashMap::new();
    for i in 0..spill.parts.len() {
        let path = spill.parts[i].clone();
        let df = spill.read_part(i)?;
        let (a, b) = (
            df.column(cols::KEY_A)
                .and_then(|c| c.u64().cloned())
                .map_err(|e| polars_at(&path, e))?,
            df.column(cols::KEY_B)
                .and_then(|c| c.u64().cloned())
                .map_err(|e| polars_at(&path, e))?,
        );
        let mut seen: std::collections::HashSet<(u64, u64)> =
            std::collections::HashSet::with_capacity(df.height());
        let keep: Vec<bool> = a
            .iter()
            .zip(b.iter())
            .map(|k| match k {
                (Some(a), Some(b)) => seen.insert((a, b)),
                _ => true,
            })
            .collect();
        let gone = keep.iter().filter(|k| !**k).count();
        let mask = BooleanChunked::from_slice("keep".into(), &keep);
        if gone > 0 {
            let removed = df.filter(&!&mask).map_err(|e| polars_at(&path, e))?;
            let names = removed
                .column(cols::EVENT)
                .and_then(|c| c.cast(&DataType::String))
                .map_err(|e| polars_at(&path, e))?;
            for n in names
                .str()
                .map_err(|e| polars_at(&path, e))?
                .iter()
                .flatten()
            {
                *removed_names.entry(n.to_string()).or_default() += 1;
            }
        }
        let mut kept = if gone > 0 {
            df.filter(&mask).map_err(|e| polars_at(&path, e))?
        } else {
            df
        };
        let _ = kept.drop_in_place(cols::KEY_A);
        let _ = kept.drop_in_place(cols::KEY_B);
        let event = kept
            .column(cols::EVENT)
            .and_then(|c| c.cast(&DataType::String))
            .map_err(|e| polars_at(&path, e))?;
        kept.with_column(event).map_err(|e| polars_at(&path, e))?;
        // The part rewritten as one piece: written beside the old pieces, which then go.
        let old = pieces(&path)?;
        write_piece(&path.join("dedup.arrow.tmp"), &mut kept)?;
        for f in old {
            std::fs::remove_file(&f).map_err(format::io_err(&f))?;
        }
        let one = path.join(format!("{:08}.arrow", 0));
        std::fs::rename(path.join("dedup.arrow.tmp"), &one).map_err(format::io_err(&one))?;
        dropped += gone;
    }
    spill.rows -= dropped;
    for (n, c) in spill.names.iter_mut() {
        if let Some(r) = removed_names.get(n) {
            *c -= r;
        }
    }
    spill.names.retain(|(_, c)| *c > 0);
    spill.disk_bytes = disk_bytes(&spill.parts);
    Ok(dropped)
}
