//! Will this export fit in memory? Loading reads the whole export into memory (polars' in-memory
//! engine, the faster one here), so a file larger than the machine can hold would push it into swap or
//! get the process killed. Before reading, the memory the analysis needs is estimated from the file
//! and compared with what the machine can give; when it does not fit, an events export is streamed
//! (`stream.rs`, with the budget setting the batch and part sizes) and anything else stops with a
//! message.
//!
//! The estimate is the file's in-memory size times what the load and feature steps keep alive at their
//! peak: 2.5x the CSV text, from the 10-million-event benchmark (847 MB CSV, 2,023 MB peak; 1,887 MB
//! since event names are read as a categorical, the factor kept as a margin).
//! Gzip files count their uncompressed size (from the gzip trailer) plus the decompressed copy;
//! Parquet counts 5x its (compressed) size; Avro 6x its decoded blocks (deflate hides an 8x ratio).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::format::{FileFormat, Sniffed};
use crate::error::LoadError;

/// Environment variable overriding the memory budget: a size (`512M`, `8G`, bytes) or `unlimited`.
pub const BUDGET_VAR: &str = "PERSONA_LAB_MEMORY";

/// Peak memory of load + features per byte of CSV text (benchmarks/features.sh: 2,023 MB / 847 MB).
/// NDJSON uses it too: GA4's nested JSON export measured 1.78x (866 MB for 487 MB, the same bench),
/// so the estimate keeps a margin there as well.
pub const TEXT_FACTOR: f64 = 2.5;
/// Parquet is compressed and typed; its columns expand several times when read.
const PARQUET_FACTOR: f64 = 5.0;
/// Peak memory of an Avro load per decoded (decompressed) byte of its blocks: 979 MB for 192 MB
/// decoded (945,572 GA4 events, a 23 MB deflate file: `sample --style ga4-bigquery --users 10000`),
/// rounded up for a margin.
const AVRO_FACTOR: f64 = 6.0;
/// Gzip without a usable trailer (multi-member or over 4 GiB): assume this ratio.
const GZIP_RATIO: f64 = 8.0;

/// How much memory the analysis may use, and where that figure came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub bytes: u64,
    pub source: &'static str,
}

/// The memory budget: `PERSONA_LAB_MEMORY` when set, else the smallest of the memory available
/// (Linux `MemAvailable`), the cgroup's limit left and the address-space limit. None: unknown or
/// unlimited (no check).
pub fn budget() -> Result<Option<Budget>, String> {
    if let Ok(v) = std::env::var(BUDGET_VAR) {
        return match v.trim() {
            "unlimited" | "none" => Ok(None),
            s => parse_size(s)
                .map(|bytes| {
                    Some(Budget {
                        bytes,
                        source: BUDGET_VAR,
                    })
                })
                .ok_or_else(|| {
                    format!("{BUDGET_VAR}={s:?} is not a size (e.g. 512M, 8G) or \"unlimited\"")
                }),
        };
    }
    let mut best: Option<Budget> = None;
    let mut take = |bytes: Option<u64>, source: &'static str| {
        if let Some(bytes) = bytes
            && best.is_none_or(|b| bytes < b.bytes)
        {
            best = Some(Budget { bytes, source });
        }
    };
    take(mem_available(), "memory available");
    take(cgroup_left(), "the cgroup's memory limit");
    take(address_space_limit(), "the address-space limit (ulimit -v)");
    Ok(best)
}

/// `512M`, `8G`, `1.5G`, `2048` (bytes); K, M, G, T in powers of 1024; an optional trailing `B`/`iB`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s
        .strip_suffix("iB")
        .or_else(|| s.strip_suffix('B'))
        .unwrap_or(s);
    let (num, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_uppercase()),
        _ => (s, ' '),
    };
    let scale: f64 = match unit {
        ' ' => 1.0,
        'K' => 1024.0,
        'M' => 1024.0 * 1024.0,
        'G' => 1024.0 * 1024.0 * 1024.0,
        'T' => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let n: f64 = num.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some((n * scale) as u64)
}

fn meminfo_field(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_field(&text, "MemAvailable:")
}

/// cgroup v2: `memory.max` minus `memory.current` of this process's cgroup.
fn cgroup_left() -> Option<u64> {
    let cg = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = cg.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/'));
    let max: u64 = std::fs::read_to_string(dir.join("memory.max"))
        .ok()?
        .trim()
        .parse()
        .ok()?; // "max" (no limit) does not parse
    let current: u64 = std::fs::read_to_string(dir.join("memory.current"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(max.saturating_sub(current))
}

fn address_space_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } == 0;
        // rlim_t is u64 on Linux but not on every Unix.
        #[allow(clippy::unnecessary_cast)]
        (ok && r.rlim_cur != libc::RLIM_INFINITY).then_some(r.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The uncompressed size a gzip file records in its trailer (mod 4 GiB; for one member).
fn gzip_isize(path: &Path) -> Option<u64> {
    let mut f = File::open(path).ok()?;
    f.seek(SeekFrom::End(-4)).ok()?;
    let mut b = [0u8; 4];
    f.read_exact(&mut b).ok()?;
    Some(u64::from(u32::from_le_bytes(b)))
}

/// Estimated peak memory of loading and profiling this export.
pub fn estimate(path: &Path, sniffed: &Sniffed) -> Result<u64, LoadError> {
    let size = std::fs::metadata(path)
        .map_err(super::format::io_err(path))?
        .len();
    if sniffed.format == FileFormat::Avro {
        // Deflate shrinks an export's repetitive records 8x or more, so the file's size says little:
        // count the decoded bytes (a pass over the blocks, nothing kept).
        let header = super::avro_header::check(path, true)?;
        return Ok(size + (header.decoded_bytes as f64 * AVRO_FACTOR) as u64);
    }
    let text = if sniffed.gzip {
        // The trailer is exact below 4 GiB; when it is smaller than the file itself it wrapped (or the
        // file has several members), so assume a typical ratio instead.
        let isize = gzip_isize(path).unwrap_or(0);
        let text = if isize >= size {
            isize
        } else {
            (size as f64 * GZIP_RATIO) as u64
        };
        // The decompressed copy is held while it is parsed.
        return Ok((text as f64 * (TEXT_FACTOR + 1.0)) as u64);
    } else {
        size
    };
    let factor = match sniffed.format {
        FileFormat::Parquet | FileFormat::Avro => PARQUET_FACTOR,
        FileFormat::Csv | FileFormat::Ndjson => TEXT_FACTOR,
    };
    Ok((text as f64 * factor) as u64)
}

/// How many decompressed bytes of a gzip export may be read under the budget (the text plus what
/// the load keeps alive for it), with the budget itself. None: no budget.
///
/// The estimate before reading trusts the gzip trailer, which only knows the last member and wraps
/// at 4 GiB; this limit is what reading enforces, whatever the trailer says.
pub fn gzip_text_limit() -> Result<Option<(u64, Budget)>, LoadError> {
    let budget = budget().map_err(|message| LoadError::MemoryBudget { message })?;
    Ok(budget.map(|b| ((b.bytes as f64 / (TEXT_FACTOR + 1.0)) as u64, b)))
}

/// The error of a gzip export whose decompressed text passed `gzip_text_limit`.
pub fn gzip_too_large(path: &Path, text_read: u64, budget: Budget) -> LoadError {
    LoadError::TooLarge {
        path: path.to_path_buf(),
        need: format!(
            "{} or more (its decompressed text passed {} while reading)",
            human((text_read as f64 * (TEXT_FACTOR + 1.0)) as u64),
            human(text_read)
        ),
        have: human(budget.bytes),
        source_of_limit: budget.source,
    }
}

/// Bytes a cell of a table read from JSON lines takes at least (an 8-byte value or a 16-byte text
/// view, plus validity): a sparse file whose records each bring their own keys makes a table of
/// records x distinct keys, mostly nulls, far larger than its text.
const CELL_BYTES: u64 = 16;

/// Stop before building a records x columns table that would not fit (NDJSON, after flattening).
pub fn check_table_cells(path: &Path, records: usize, columns: usize) -> Result<(), LoadError> {
    let budget = budget().map_err(|message| LoadError::MemoryBudget { message })?;
    let Some(budget) = budget else {
        return Ok(());
    };
    let need = (records as u64)
        .saturating_mul(columns as u64)
        .saturating_mul(CELL_BYTES);
    if need > budget.bytes {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            need: format!(
                "{} (its {records} records have {columns} distinct keys between them, a table of \
                 {records} x {columns} cells)",
                human(need)
            ),
            have: human(budget.bytes),
            source_of_limit: budget.source,
        });
    }
    Ok(())
}

/// Stop before reading an export that would not fit in memory.
pub fn check(path: &Path, sniffed: &Sniffed) -> Result<(), LoadError> {
    check_need(path, estimate(path, sniffed)?)
}

/// Refuse an export (`path`: the file, folder, glob or archive) that needs `need` bytes (the sum of
/// its files' [`estimate`]s) when the budget is smaller.
pub fn check_need(path: &Path, need: u64) -> Result<(), LoadError> {
    let budget = budget().map_err(|message| LoadError::MemoryBudget { message })?;
    let Some(budget) = budget else {
        return Ok(());
    };
    if need > budget.bytes {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            need: human(need),
            have: human(budget.bytes),
            source_of_limit: budget.source,
        });
    }
    Ok(())
}

/// "1.9 GB", "512 MB".
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.0} MB", b / 1e6)
    } else {
        format!("{:.0} KB", (b / 1e3).max(1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("2048"), Some(2048));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_size("4 kB"), Some(4096));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1G"), None);
    }

    #[test]
    fn meminfo_is_read_in_bytes() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(
            meminfo_field(text, "MemAvailable:"),
            Some(20_000_000 * 1024)
        );
        assert_eq!(meminfo_field(text, "Swap:"), None);
    }

    #[test]
    fn gzip_counts_its_uncompressed_size() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.csv.gz");
        let text = "user_id,event\n".to_string() + &"u1,page_view\n".repeat(100_000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        assert_eq!(gzip_isize(&path), Some(text.len() as u64));
        let sniffed = super::super::format::sniff(&path, None, None).unwrap();
        let need = estimate(&path, &sniffed).unwrap();
        assert_eq!(need, (text.len() as f64 * (TEXT_FACTOR + 1.0)) as u64);
    }
}
