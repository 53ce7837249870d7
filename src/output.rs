//! Writing tables atomically (temp file in the same folder, then rename): CSV (optionally gzip),
//! Parquet, NDJSON, Avro, chosen by the file extension.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::WriteError;
use crate::spreadsheet::Defused;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Csv {
        gzip: bool,
    },
    Parquet,
    Ndjson {
        gzip: bool,
    },
    /// An Avro object container, deflate-compressed (as `bq extract --compression DEFLATE`).
    Avro,
}

impl OutFormat {
    pub fn from_path(path: &Path) -> Result<OutFormat, WriteError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let gzip = name.ends_with(".gz");
        let base = name.strip_suffix(".gz").unwrap_or(&name);
        match base.rsplit('.').next() {
            Some("csv") => Ok(OutFormat::Csv { gzip }),
            Some("parquet") if !gzip => Ok(OutFormat::Parquet),
            Some("ndjson") | Some("jsonl") => Ok(OutFormat::Ndjson { gzip }),
            Some("avro") if !gzip => Ok(OutFormat::Avro),
            _ => Err(WriteError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// The temp file's name for the `attempt`-th try: `.NAME.tmp-PID-ATTEMPT`, next to `path`.
fn temp_path(path: &Path, attempt: u32) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp-{}-{attempt}", std::process::id()))
}

/// Remove temp files that writes of `path` left behind when their process was killed mid-write
/// (`kill -9`, power loss): `.NAME.tmp-PID[-N]` next to `path` whose process is gone. A temp file of a
/// process still running is left alone (it may be writing now). Returns how many were removed.
pub fn remove_stale_temps(path: &Path) -> usize {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return 0;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().to_string();
        let Some(pid) = file
            .strip_prefix(&prefix)
            .and_then(|p| p.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // Only regular files: a planted symlink or folder with a temp-like name is not ours.
        let regular = e.file_type().is_ok_and(|t| t.is_file());
        if regular
            && pid != std::process::id()
            && !process_alive(pid)
            && std::fs::remove_file(e.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Whether a process with this id runs (Linux: /proc; elsewhere assume it does, so nothing is removed).
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        proc.join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Where a write of `path` really lands: a symlink is followed (to its final target, even when that
/// does not exist yet), so the link stays a link and the file it points at is replaced.
fn resolve_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // A bounded walk: a symlink loop ends in an error, not a hang.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// Write through `f` into a temp file next to `path`, then rename over `path`. On any error the temp
/// file is removed and `path` is untouched.
///
/// - A symlink at `path` is followed: its target is replaced and the link kept.
/// - A target that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO) is written
///   through, not replaced: renaming over it would swap the system's node for a plain file, and a
///   full device would never report its error.
/// - The temp file is created new (`O_EXCL`): a file or symlink planted at its name is never
///   followed or overwritten; the next name is tried instead.
pub fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let io = io_at(path);
    let target = resolve_target(path).map_err(io)?;
    match std::fs::metadata(&target) {
        Ok(m) if m.is_dir() => {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "this is a folder; give a file name",
            )));
        }
        Ok(m) if !m.is_file() => return write_through(path, &target, f),
        _ => {}
    }
    let (tmp, file) = create_temp(&target).map_err(io)?;
    let result = (|| {
        let mut w = BufWriter::new(file);
        f(&mut w)?;
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        // Keep the mode of the file being replaced (a shared report stays group-readable).
        if let Ok(m) = std::fs::metadata(&target) {
            let _ = file.set_permissions(m.permissions());
        }
        file.sync_all().map_err(io)?;
        if stage(&tmp, &target, path) {
            return Ok(());
        }
        std::fs::rename(&tmp, &target).map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A written temp file waiting for its rename: (temp, target, the path as the user named it).
type Pending = (PathBuf, PathBuf, PathBuf);

thread_local! {
    /// While `all_or_none` runs on this thread: the outputs written so far, not yet in place.
    static STAGED: std::cell::RefCell<Option<Vec<Pending>>> = const { std::cell::RefCell::new(None) };
}

/// Keep a written temp file for `all_or_none` to put in place; false when no run is staging.
fn stage(tmp: &Path, target: &Path, path: &Path) -> bool {
    STAGED.with(|s| match s.borrow_mut().as_mut() {
        Some(list) => {
            list.push((tmp.to_path_buf(), target.to_path_buf(), path.to_path_buf()));
            true
        }
        None => false,
    })
}

/// How a run of `all_or_none` failed.
#[derive(Debug)]
pub enum AllOrNone<E> {
    /// The run itself failed: its outputs written so far were deleted (`discarded`), none replaced
    /// a file.
    Run { error: E, discarded: Vec<PathBuf> },
    /// Putting the outputs in place failed: `landed` are in place, the rest were deleted.
    Commit {
        error: WriteError,
        landed: Vec<PathBuf>,
    },
}

/// Run `f`, a command that writes several outputs (assignments, a report, a rule set, a project),
/// so that they land together or not at all: each atomic write inside keeps its finished temp file
/// and only when `f` succeeds are they all renamed into place, in the order written. A run that
/// fails halfway (a full disk at the third file, a bad row found late) leaves every earlier output
/// as it was, instead of a new assignments table beside an old rule set. Writes through devices
/// (`/dev/stdout`) are not staged. Nested calls join the outer run.
pub fn all_or_none<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<T, AllOrNone<E>> {
    let outer = STAGED.with(|s| {
        let mut s = s.borrow_mut();
        let outer = s.is_some();
        if !outer {
            *s = Some(Vec::new());
        }
        outer
    });
    if outer {
        return f().map_err(|error| AllOrNone::Run {
            error,
            discarded: Vec::new(),
        });
    }
    let result = f();
    let staged = STAGED.with(|s| s.borrow_mut().take()).unwrap_or_default();
    match result {
        Err(error) => {
            for (tmp, _, _) in &staged {
                let _ = std::fs::remove_file(tmp);
            }
            Err(AllOrNone::Run {
                error,
                discarded: staged.into_iter().map(|(_, _, p)| p).collect(),
            })
        }
        Ok(value) => {
            let mut landed = Vec::new();
            let mut rest = staged.into_iter();
            while let Some((tmp, target, path)) = rest.next() {
                if let Err(source) = std::fs::rename(&tmp, &target) {
                    let _ = std::fs::remove_file(&tmp);
                    for (tmp, _, _) in rest {
                        let _ = std::fs::remove_file(&tmp);
                    }
                    return Err(AllOrNone::Commit {
                        error: WriteError::Io { path, source },
                        landed,
                    });
                }
                landed.push(path);
            }
            Ok(value)
        }
    }
}

/// A new temp file next to `target`, never one that exists (a planted file or symlink is skipped).
fn create_temp(target: &Path) -> std::io::Result<(PathBuf, File)> {
    let mut last = None;
    for attempt in 0..100 {
        let tmp = temp_path(target, attempt);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temp file name")))
}

/// An I/O error's maker for one path, so every failure names the file.
fn io_at(path: &Path) -> impl Fn(std::io::Error) -> WriteError + Copy + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write straight into a node that is not a regular file (a device, a FIFO): nothing to replace
/// atomically, and every write error (a full device) is reported.
fn write_through(
    path: &Path,
    target: &Path,
    f: impl FnOnce(&mut dyn Write) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let io = io_at(path);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(target)
        .map_err(io)?;
    let mut w = BufWriter::new(file);
    f(&mut w)?;
    w.flush().map_err(io)?;
    Ok(())
}

/// What a command writes to a path: a table (its extension names the format) or any other file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    Table,
    File,
    /// A folder of files the command makes (the sample's daily tables): created if missing.
    Folder,
}

/// One path a command reads or writes, with the option that named it (`--out`, "the export").
#[derive(Debug, Clone, Copy)]
pub struct NamedPath<'a> {
    pub name: &'a str,
    pub path: &'a Path,
}

/// What identifies a file: its device and inode when it exists (so a symlink, a hard link or
/// `./x` and `x` are the same file), else its absolute path with the folder's symlinks resolved.
#[derive(Debug, PartialEq, Eq)]
enum FileId {
    #[cfg_attr(not(unix), allow(dead_code))]
    Node(u64, u64),
    Path(PathBuf),
}

fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    if let Ok(m) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        return Some(FileId::Node(m.dev(), m.ino()));
    }
    let target = resolve_target(path).ok()?;
    let name = target.file_name()?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some(FileId::Path(std::fs::canonicalize(dir).ok()?.join(name)))
}

/// Before any work: refuse a run whose output would overwrite one of its inputs (the export is gone
/// when the run ends) or whose two outputs share a path (only the last one would survive), and check
/// what can be checked of each output at once (the table format from its extension, the folder), so
/// a long computation does not end in "unknown format". `-` (stdin / stdout) is no file.
pub fn check_run_paths(
    inputs: &[NamedPath],
    outputs: &[(NamedPath, OutputKind)],
) -> Result<(), WriteError> {
    let real = |p: &Path| p.as_os_str() != "-";
    // An export given as a folder: an output written inside it would join the export next time.
    let folders: Vec<(&NamedPath, PathBuf)> = inputs
        .iter()
        .filter(|i| real(i.path) && i.path.is_dir())
        .filter_map(|i| std::fs::canonicalize(i.path).ok().map(|c| (i, c)))
        .collect();
    for (out, _) in outputs.iter().filter(|(o, _)| real(o.path)) {
        let parent = match out.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if let Ok(parent) = std::fs::canonicalize(parent)
            && let Some((input, _)) = folders.iter().find(|(_, f)| parent.starts_with(f))
        {
            return Err(WriteError::SamePath {
                path: out.path.to_path_buf(),
                message: format!(
                    "{} is inside {} (a folder read as one export): the file would become \
                     part of the export next time; write it elsewhere",
                    out.name, input.name
                ),
            });
        }
    }
    let inputs: Vec<(&NamedPath, FileId)> = inputs
        .iter()
        .filter(|i| real(i.path))
        .filter_map(|i| file_id(i.path).map(|id| (i, id)))
        .collect();
    let mut seen: Vec<(&NamedPath, FileId)> = Vec::new();
    for (out, kind) in outputs.iter().filter(|(o, _)| real(o.path)) {
        if *kind == OutputKind::Folder {
            // Its files are new names inside it; the folder itself is made when missing.
            continue;
        }
        if *kind == OutputKind::Table {
            OutFormat::from_path(out.path)?;
        }
        let dir = match out.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(io_at(out.path)(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("the folder {} does not exist", dir.display()),
            )));
        }
        if std::fs::metadata(out.path).is_ok_and(|m| m.is_dir()) {
            return Err(io_at(out.path)(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "this is a folder; give a file name",
            )));
        }
        let Some(id) = file_id(out.path) else {
            continue;
        };
        // A device (`/dev/null`) may take several outputs and may even be an input: nothing is lost.
        let regular_or_new = std::fs::metadata(out.path).map_or(true, |m| m.is_file());
        if !regular_or_new {
            continue;
        }
        if let Some((input, _)) = inputs.iter().find(|(_, i)| *i == id) {
            return Err(WriteError::SamePath {
                path: out.path.to_path_buf(),
                message: format!(
                    "{} is the same file as {}: writing it would destroy that input; choose \
                     another file name",
                    out.name, input.name
                ),
            });
        }
        if let Some((other, _)) = seen.iter().find(|(_, s)| *s == id) {
            return Err(WriteError::SamePath {
                path: out.path.to_path_buf(),
                message: format!(
                    "{} and {} are the same file: only one of them would survive; give each its \
                     own file name",
                    other.name, out.name
                ),
            });
        }
        seen.push((out, id));
    }
    Ok(())
}

/// Write bytes atomically (reports, rule sets, project files).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic(path, |w| w.write_all(bytes).map_err(io_at(path)))
}

/// Write a value as pretty RON (struct names kept, for human reviewers), atomically.
pub fn write_ron<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), WriteError> {
    let text = ron::ser::to_string_pretty(value, ron::ser::PrettyConfig::new().struct_names(true))
        .map_err(|e| WriteError::Encode {
            path: path.to_path_buf(),
            format: "RON".into(),
            message: e.to_string(),
        })?;
    write_bytes(path, text.as_bytes())
}

/// Write a table in the format its extension names. In CSV, text cells that a spreadsheet would
/// run as a formula are written with a leading `'` (`spreadsheet`); what was changed is returned,
/// for the front end to say (`Defused::note`). The caller's frame is left as it was.
pub fn write_table(df: &mut DataFrame, path: &Path) -> Result<Defused, WriteError> {
    let format = OutFormat::from_path(path)?;
    let enc = |e: PolarsError, f: &str| WriteError::Encode {
        path: path.to_path_buf(),
        format: f.into(),
        message: e.to_string(),
    };
    let mut defused = Defused::default();
    write_atomic(path, |w| match format {
        OutFormat::Csv { gzip } => maybe_gzip(path, w, gzip, |w| {
            // A clone shares the columns; only the text columns that change are rebuilt.
            let mut safe = df.clone();
            defused = crate::spreadsheet::defuse(&mut safe).map_err(|e| enc(e, "CSV"))?;
            CsvWriter::new(w)
                .finish(&mut safe)
                .map_err(|e| enc(e, "CSV"))
        }),
        OutFormat::Parquet => {
            let mut buf = Vec::new();
            ParquetWriter::new(&mut buf)
                .finish(df)
                .map_err(|e| enc(e, "Parquet"))?;
            w.write_all(&buf).map_err(io_at(path))
        }
        OutFormat::Ndjson { gzip } => maybe_gzip(path, w, gzip, |w| {
            JsonWriter::new(w)
                .with_json_format(JsonFormat::JsonLines)
                .finish(df)
                .map_err(|e| enc(e, "NDJSON"))
        }),
        OutFormat::Avro => {
            use polars::io::avro::{AvroCompression, AvroWriter};
            AvroWriter::new(w)
                .with_compression(Some(AvroCompression::Deflate))
                .finish(df)
                .map_err(|e| enc(e, "Avro"))
        }
    })?;
    Ok(defused)
}

/// Run `write` on `w`, through a gzip encoder when asked.
pub fn maybe_gzip(
    path: &Path,
    w: &mut dyn Write,
    gzip: bool,
    write: impl FnOnce(&mut dyn Write) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    if !gzip {
        return write(w);
    }
    let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::default());
    write(&mut gz)?;
    gz.finish().map_err(io_at(path))?;
    Ok(())
}

/// The assignments table `segment` and `assign` both write: user_id, segment, persona, silhouette,
/// distance.
pub fn write_assignments(
    path: &Path,
    users: &[String],
    labels: &[usize],
    personas: &[String],
    silhouette: &[Option<f64>],
    distances: &[f64],
) -> Result<Defused, WriteError> {
    let mut df = DataFrame::new(
        users.len(),
        vec![
            Column::new(crate::data::cols::USER.into(), users),
            Column::new(
                "segment".into(),
                labels.iter().map(|&l| l as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "persona".into(),
                labels
                    .iter()
                    .map(|&l| personas[l].as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new("silhouette".into(), silhouette),
            Column::new("distance".into(), distances),
        ],
    )
    .map_err(|e| WriteError::Encode {
        path: path.to_path_buf(),
        format: "table".into(),
        message: e.to_string(),
    })?;
    write_table(&mut df, path)
}
