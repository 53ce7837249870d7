//! Exports larger than memory: the streamed load.
//!
//! The export is read in batches (a CSV file as runs of whole records, plain or gzip; a Parquet file
//! as runs of rows; a file read whole, such as one NDJSON or Avro shard of a folder, as one batch).
//! Each batch is canonicalised by the same code as a whole export, then split by user (a hash of the
//! canonical id) into parts written to disk as Parquet. A part holds every event of its users, in
//! the export's order, so the profile computed part by part (`features::aggregate::profile_part`,
//! with the reference time and event names of the whole export) is the in-memory profile, bit for
//! bit: each user's sums still add in row order. Memory holds one batch while reading and one part
//! while profiling; the disk holds the parts (about a third of the CSV text with LZ4).
//!
//! What a batch cannot see is handled across batches: the vendor's duplicates are marked with their
//! key's hash and dropped part by part once every batch is in (a resent event keeps its user); the
//! scroll depth scale (fraction or percent) is fixed by the first batch that has values, and a later
//! batch that contradicts it is refused.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

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
    /// The part files (Parquet, canonical columns; the event name as text).
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

impl Spill {
    /// One part as a canonical events table (the event name back as a categorical).
    pub fn read_part(&self, i: usize) -> Result<DataFrame, LoadError> {
        let path = &self.parts[i];
        let file = File::open(path).map_err(format::io_err(path))?;
        let mut df = ParquetReader::new(file)
            .finish()
            .map_err(|e| polars_at(path, e))?;
        let event = df
            .column(cols::EVENT)
            .and_then(|c| c.cast(&events::event_dtype()))
            .map_err(|e| polars_at(path, e))?;
        df.with_column(event).map_err(|e| polars_at(path, e))?;
        Ok(df)
    }

    /// Distinct users (a pass over the parts' id columns, once).
    pub fn n_users(&self) -> usize {
        *self.users.get_or_init(|| {
            self.parts
                .iter()
                .filter_map(|p| {
                    let file = File::open(p).ok()?;
                    let df = ParquetReader::new(file)
                        .with_columns(Some(vec![cols::USER.to_string()]))
                        .finish()
                        .ok()?;
                    df.column(cols::USER).ok()?.n_unique().ok()
                })
                .sum()
        })
    }
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

/// The part of a user id: the same hash everywhere in one load.
fn part_of(user: &str, parts: usize) -> usize {
    let mut h = std::hash::DefaultHasher::new();
    user.hash(&mut h);
    (h.finish() % parts as u64) as usize
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
    writers: Vec<Option<polars::io::parquet::write::BatchedWriter<File>>>,
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
}

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
        let out = events::canonicalize(&ctx, df)?;
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
        let table = self.normalise(file, out.table)?;
        self.stats(file, &table)?;
        self.split(file, table)
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
        let names = t
            .column(cols::EVENT)
            .and_then(|c| c.str().cloned())
            .map_err(|e| polars_at(file, e))?;
        let mut local: HashMap<&str, u64> = HashMap::new();
        for n in names.iter().flatten() {
            *local.entry(n).or_default() += 1;
        }
        for (n, c) in local {
            match self.names.get_mut(n) {
                Some(v) => *v += c,
                None => {
                    self.names.insert(n.to_string(), c);
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
        let schema = self.schema.clone().unwrap_or_default();
        for (p, idx) in rows.into_iter().enumerate() {
            if idx.is_empty() {
                continue;
            }
            let mut piece = t
                .take(&IdxCa::from_vec("".into(), idx))
                .map_err(|e| polars_at(file, e))?;
            let path = &self.paths[p];
            if self.writers[p].is_none() {
                let f = File::create(path).map_err(format::io_err(path))?;
                let w = ParquetWriter::new(f)
                    .with_compression(ParquetCompression::Lz4Raw)
                    .batched(&schema)
                    .map_err(|e| polars_at(path, e))?;
                self.writers[p] = Some(w);
            }
            if let Some(w) = self.writers[p].as_mut() {
                piece.rechunk_mut();
                w.write_batch(&piece).map_err(|e| polars_at(path, e))?;
            }
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
    // LZ4 Parquet of the canonical columns takes well under the text; gzip text is about 8x its
    // file. Half the text is the margin asked for.
    let gz = parts.iter().any(|p| p.sniffed.gzip);
    let want = if gz {
        total.saturating_mul(4)
    } else {
        total / 2
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
    let mut w = Writer {
        opts,
        mapping,
        pii,
        settings,
        paths: (0..settings.parts)
            .map(|i| dir.join(format!("part-{i:05}.parquet")))
            .collect(),
        writers: (0..settings.parts).map(|_| None).collect(),
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
    };
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
        if job.is_cancelled() {
            return Err(LoadError::Invalid("cancelled".into()));
        }
        let size = std::fs::metadata(&part.path).map_or(0, |m| m.len());
        read_file(
            &mut w,
            part,
            settings,
            &|f| report(done + (f * size as f64) as u64),
            job,
        )?;
        done += size;
        report(done);
    }
    let mut disk = 0u64;
    let mut paths = Vec::new();
    for (p, writer) in w.writers.into_iter().enumerate() {
        if let Some(writer) = writer {
            writer.finish().map_err(|e| polars_at(&w.paths[p], e))?;
            disk += std::fs::metadata(&w.paths[p]).map_or(0, |m| m.len());
            paths.push(w.paths[p].clone());
        }
    }
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
            let mut chunks = CsvChunks::open(&path, part.sniffed.gzip, settings.batch_bytes)?;
            let mut first_row = 0u64;
            while let Some(chunk) = chunks.next_chunk()? {
                if job.is_cancelled() {
                    return Err(LoadError::Invalid("cancelled".into()));
                }
                let df = super::read_table(
                    &path,
                    &part.sniffed,
                    Shape::Events,
                    &restricted,
                    &w.opts.keep_columns,
                    Some(&chunk),
                )?;
                drop(chunk);
                let n = df.height() as u64;
                w.batch(&path, df, first_row)?;
                first_row += n;
                progress(
                    chunks.read.load(std::sync::atomic::Ordering::Relaxed) as f64 / size as f64,
                );
            }
            Ok(())
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
                if job.is_cancelled() {
                    return Err(LoadError::Invalid("cancelled".into()));
                }
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
        // Written beside the part, then renamed over it: a failure leaves the old part whole.
        let tmp = path.with_extension("tmp");
        let f = File::create(&tmp).map_err(format::io_err(&tmp))?;
        ParquetWriter::new(f)
            .with_compression(ParquetCompression::Lz4Raw)
            .finish(&mut kept)
            .map_err(|e| polars_at(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(format::io_err(&path))?;
        dropped += gone;
    }
    spill.rows -= dropped;
    for (n, c) in spill.names.iter_mut() {
        if let Some(r) = removed_names.get(n) {
            *c -= r;
        }
    }
    spill.names.retain(|(_, c)| *c > 0);
    spill.disk_bytes = spill
        .parts
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    Ok(dropped)
}

/// Keep `Arc` in the public surface: a `Loaded` is cloned by the app, its spill shared.
pub type SharedSpill = Arc<Spill>;
