//! Where an export comes from: one file, a folder of files (BigQuery's daily shards, Segment's hourly
//! S3 objects), a glob (`'events_*.parquet'`, `'2024-*/*.json.gz'`) or a zip archive (Amplitude's
//! Export API), listed as the files to read, in name order. The loader reads each and unions them
//! by column name.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::zip::{self, TempFolder};
use crate::error::LoadError;

/// What kind of source the user gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceKind {
    File,
    Folder,
    Glob,
    Archive,
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SourceKind::File => "file",
            SourceKind::Folder => "folder",
            SourceKind::Glob => "glob",
            SourceKind::Archive => "zip archive",
        })
    }
}

/// Folders are searched this deep (Segment writes `segment-logs/SOURCE/DAY/FILE`).
const MAX_DEPTH: usize = 8;
/// More files than this is not an export folder but the wrong folder.
pub const MAX_FILES: usize = 100_000;

/// The files of a source, ready to read.
pub struct Source {
    pub kind: SourceKind,
    /// The files to read, in order.
    pub files: Vec<PathBuf>,
    /// Each file's name as the user knows it (relative to the folder, or its name in the archive).
    pub names: Vec<String>,
    /// Files of the folder or archive that are not exports (by their name), left alone.
    pub skipped: Vec<String>,
    /// GA4 table files not read because another table holds the same day (or user data beside
    /// events), each with why (see [`super::ga4_tables`]).
    pub superseded: Vec<String>,
    /// An archive's files, extracted: removed when the source is dropped.
    _extracted: Option<TempFolder>,
}

/// Whether a file name is an export's: CSV, TSV, Parquet, NDJSON, Avro, or anything gzipped (Segment's S3
/// objects are `1719792000000.3f9a1c.gz`; the content tells the format).
fn is_export_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with(".gz")
        || [
            ".csv", ".tsv", ".txt", ".parquet", ".json", ".ndjson", ".jsonl", ".avro",
        ]
        .iter()
        .any(|e| n.ends_with(e))
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether the path is a pattern to expand rather than a file name.
fn is_glob(path: &Path) -> bool {
    !path.exists() && path.to_string_lossy().contains(['*', '?', '['])
}

/// The export files of a folder, or of a glob, in name order (not extracting archives).
fn list(path: &Path) -> Result<(SourceKind, Vec<PathBuf>, Vec<String>), LoadError> {
    if is_glob(path) {
        let pattern = path.to_string_lossy();
        let paths = glob::glob(&pattern).map_err(|e| LoadError::NoFiles {
            path: path.to_path_buf(),
            message: format!("not a valid pattern: {e}"),
        })?;
        let mut files = Vec::new();
        for p in paths {
            let p = p.map_err(|e| LoadError::Io {
                path: e.path().to_path_buf(),
                source: e.into(),
            })?;
            if p.is_file() {
                files.push(p);
            }
            if files.len() > MAX_FILES {
                return Err(too_many(path));
            }
        }
        files.sort();
        return Ok((SourceKind::Glob, files, vec![]));
    }
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if !meta.is_dir() {
        // Only a regular file is opened to look at: a pipe would block here (the reader refuses it).
        let kind = if meta.is_file() && zip::is_zip(path) {
            SourceKind::Archive
        } else {
            SourceKind::File
        };
        return Ok((kind, vec![path.to_path_buf()], vec![]));
    }
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    walk(path, path, 0, &mut files, &mut skipped)?;
    files.sort();
    skipped.sort();
    Ok((SourceKind::Folder, files, skipped))
}

fn too_many(path: &Path) -> LoadError {
    LoadError::NoFiles {
        path: path.to_path_buf(),
        message: format!("more than {MAX_FILES} files: is this the export's folder?"),
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    files: &mut Vec<PathBuf>,
    skipped: &mut Vec<String>,
) -> Result<(), LoadError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let p = entry.path();
        // Hidden files, `_SUCCESS` markers and `_temporary` folders are the writer's, not data.
        if is_hidden(&name) {
            continue;
        }
        // Follows symbolic links (a folder of links to shards is a folder of shards).
        let meta = std::fs::metadata(&p).map_err(io(&p))?;
        let rel = p
            .strip_prefix(root)
            .unwrap_or(&p)
            .to_string_lossy()
            .into_owned();
        if meta.is_dir() {
            if depth + 1 < MAX_DEPTH {
                walk(root, &p, depth + 1, files, skipped)?;
            } else {
                skipped.push(format!("{rel}/ (deeper than {MAX_DEPTH} folders)"));
            }
        } else if meta.is_file() && is_export_name(&name) {
            files.push(p);
        } else {
            skipped.push(rel);
        }
        if files.len() > MAX_FILES {
            return Err(too_many(root));
        }
    }
    Ok(())
}

/// List the source's files, extracting an archive to a temporary folder.
pub fn open(path: &Path) -> Result<Source, LoadError> {
    let (kind, files, mut skipped) = list(path)?;
    let (files, names, extracted) = match kind {
        SourceKind::Archive => {
            let (files, names, folder) = extract_archive(path, &mut skipped)?;
            (files, names, Some(folder))
        }
        SourceKind::File => {
            let names = vec![path.to_string_lossy().into_owned()];
            (files, names, None)
        }
        SourceKind::Folder => {
            let names = files
                .iter()
                .map(|f| {
                    f.strip_prefix(path)
                        .unwrap_or(f)
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            (files, names, None)
        }
        SourceKind::Glob => {
            let names = files
                .iter()
                .map(|f| f.to_string_lossy().into_owned())
                .collect();
            (files, names, None)
        }
    };
    // A GA4 dataset exported whole reads each day from one table.
    let mut superseded = Vec::new();
    let (mut files, mut names) = (files, names);
    if kind != SourceKind::File {
        let out = super::ga4_tables::superseded(&names);
        for &(i, _) in out.iter().rev() {
            files.remove(i);
            names.remove(i);
        }
        superseded = out.into_iter().map(|(_, why)| why).collect();
    }
    if files.is_empty() {
        let message = match (kind, skipped.is_empty()) {
            (SourceKind::Glob, _) => "no file matches this pattern".to_string(),
            (_, true) => "no export files in it".to_string(),
            (_, false) => format!(
                "no export files in it (CSV, TSV, Parquet, NDJSON, Avro, optionally .gz); found {}",
                super::column_list(&skipped)
            ),
        };
        return Err(LoadError::NoFiles {
            path: path.to_path_buf(),
            message,
        });
    }
    Ok(Source {
        kind,
        files,
        names,
        skipped,
        superseded,
        _extracted: extracted,
    })
}

/// Extract an archive's export files, each under the archive's name and its own path in it (so
/// messages name both), refusing names that climb out of the folder.
fn extract_archive(
    path: &Path,
    skipped: &mut Vec<String>,
) -> Result<(Vec<PathBuf>, Vec<String>, TempFolder), LoadError> {
    let entries = zip::entries(path)?;
    let folder = TempFolder::new().map_err(io(&std::env::temp_dir()))?;
    let archive_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "archive.zip".into());
    let root = folder.0.join(&archive_name);
    let mut files = Vec::new();
    let mut names = Vec::new();
    let mut wanted: Vec<&zip::Entry> = Vec::new();
    for e in &entries {
        if !e.is_data() {
            continue;
        }
        if is_export_name(&e.name) {
            wanted.push(e);
        } else {
            skipped.push(e.name.clone());
        }
    }
    if wanted.len() > MAX_FILES {
        return Err(too_many(path));
    }
    // The archive is extracted to disk: refuse before writing what the disk cannot hold.
    let total: u64 = wanted.iter().map(|e| e.size).sum();
    if let Some(free) = free_bytes(&folder.0)
        && total > free
    {
        return Err(LoadError::NoFiles {
            path: path.to_path_buf(),
            message: format!(
                "its files take {} unpacked and the temporary folder ({}) has {} free; set TMPDIR \
                 to a larger disk or unzip it yourself",
                super::memory::human(total),
                folder.0.display(),
                super::memory::human(free)
            ),
        });
    }
    wanted.sort_by(|a, b| a.name.cmp(&b.name));
    for e in wanted {
        // Only plain components: `../` or `/etc/x` in a name must not write outside the folder.
        let rel: PathBuf = Path::new(&e.name)
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(n) => Some(n),
                _ => None,
            })
            .collect();
        let to = root.join(&rel);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        zip::extract(path, e, &to)?;
        files.push(to);
        names.push(format!("{archive_name}: {}", e.name));
    }
    Ok((files, names, folder))
}

/// Free bytes on the file system holding `dir`, when it can be found.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a struct of the right type to fill.
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (r == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// SHA-256 that identifies the source's content: a file's (or archive's) bytes; for a folder or a
/// glob, every file's name (relative to the folder) and bytes, in order, so a shard added, removed,
/// renamed or changed changes it.
pub fn fingerprint(path: &Path) -> std::io::Result<String> {
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let (kind, files, _) = list(path).map_err(|e| std::io::Error::other(e.to_string()))?;
    match kind {
        SourceKind::File | SourceKind::Archive => Ok(hex(&file_digest(path)?)),
        SourceKind::Folder | SourceKind::Glob => {
            let mut h = Sha256::new();
            for f in &files {
                let name = match kind {
                    SourceKind::Folder => f.strip_prefix(path).unwrap_or(f),
                    _ => f.as_path(),
                };
                h.update(name.to_string_lossy().as_bytes());
                h.update([0]);
                h.update(file_digest(f)?);
            }
            Ok(hex(&h.finalize()))
        }
    }
}

fn file_digest(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().to_vec())
}
