//! Writing tables atomically (temp file in the same folder, then rename): CSV (optionally gzip),
//! Parquet, NDJSON, chosen by the file extension.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::WriteError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Csv { gzip: bool },
    Parquet,
    Ndjson { gzip: bool },
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
            _ => Err(WriteError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Remove temp files that writes of `path` left behind when their process was killed mid-write
/// (`kill -9`, power loss): `.NAME.tmp-PID` next to `path` whose process is gone. A temp file of a
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
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id()
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

/// Write through `f` into a temp file next to `path`, then rename over `path`. On any error the temp
/// file is removed and `path` is untouched.
pub fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let tmp = temp_path(path);
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let result = (|| {
        let file = File::create(&tmp).map_err(io)?;
        let mut w = BufWriter::new(file);
        f(&mut w)?;
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write bytes atomically (reports, rule sets, project files).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic(path, |w| {
        w.write_all(bytes).map_err(|source| WriteError::Io {
            path: path.to_path_buf(),
            source,
        })
    })
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

/// Write a table in the format its extension names.
pub fn write_table(df: &mut DataFrame, path: &Path) -> Result<(), WriteError> {
    let format = OutFormat::from_path(path)?;
    let enc = |e: PolarsError, f: &str| WriteError::Encode {
        path: path.to_path_buf(),
        format: f.into(),
        message: e.to_string(),
    };
    write_atomic(path, |w| match format {
        OutFormat::Csv { gzip } => maybe_gzip(path, w, gzip, |w| {
            CsvWriter::new(w).finish(df).map_err(|e| enc(e, "CSV"))
        }),
        OutFormat::Parquet => {
            let mut buf = Vec::new();
            ParquetWriter::new(&mut buf)
                .finish(df)
                .map_err(|e| enc(e, "Parquet"))?;
            w.write_all(&buf).map_err(|source| WriteError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
        OutFormat::Ndjson { gzip } => maybe_gzip(path, w, gzip, |w| {
            JsonWriter::new(w)
                .with_json_format(JsonFormat::JsonLines)
                .finish(df)
                .map_err(|e| enc(e, "NDJSON"))
        }),
    })
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
    gz.finish().map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    })?;
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
) -> Result<(), WriteError> {
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
