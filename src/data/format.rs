//! Reading an export file into a raw polars `DataFrame`: format and compression detection, CSV sniffing
//! (delimiter, header, duplicate names), and the checks that turn garbage input into a clear error.

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::LoadError;

/// How many bytes of the file are looked at to sniff its format and header.
const SNIFF_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileFormat {
    Csv,
    Parquet,
    Ndjson,
    /// BigQuery's Avro export: an object container file of records (nested like the Parquet one).
    Avro,
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileFormat::Csv => "CSV",
            FileFormat::Parquet => "Parquet",
            FileFormat::Ndjson => "NDJSON",
            FileFormat::Avro => "Avro",
        })
    }
}

impl FileFormat {
    /// Guess the format from the file name (`.gz` is looked through).
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit('.').next()?;
        match ext {
            "csv" | "tsv" | "txt" | "psv" => Some(FileFormat::Csv),
            "parquet" | "pq" => Some(FileFormat::Parquet),
            "ndjson" | "jsonl" | "json" => Some(FileFormat::Ndjson),
            "avro" => Some(FileFormat::Avro),
            _ => None,
        }
    }
}

/// What the sniffing of the file's first bytes found out.
#[derive(Debug, Clone)]
pub struct Sniffed {
    pub format: FileFormat,
    pub gzip: bool,
    /// CSV only: the field delimiter.
    pub delimiter: Option<u8>,
    /// CSV only: the header's column names, in order, trimmed (what roles and messages use).
    pub header: Vec<String>,
    /// CSV only: the same names as the file spells them, spaces kept (what polars' reader sees).
    pub raw_header: Vec<String>,
    /// CSV only: the first whole lines of the (decompressed) file, for a cheap preview.
    pub prefix: Vec<u8>,
}

pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The longest header line read: a wider "header" is not a table.
const MAX_HEADER_BYTES: usize = 16 << 20;

fn read_prefix(path: &Path, gzip: bool) -> Result<Vec<u8>, LoadError> {
    read_prefix_of(path, gzip, SNIFF_BYTES)
}

fn read_prefix_of(path: &Path, gzip: bool, bytes: usize) -> Result<Vec<u8>, LoadError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut buf = Vec::with_capacity(bytes.min(SNIFF_BYTES));
    if gzip {
        let mut dec = flate2::read::MultiGzDecoder::new(file).take(bytes as u64);
        dec.read_to_end(&mut buf).map_err(|e| LoadError::Parse {
            path: path.to_path_buf(),
            format: "gzip".into(),
            message: e.to_string(),
        })?;
    } else {
        file.take(bytes as u64)
            .read_to_end(&mut buf)
            .map_err(io_err(path))?;
    }
    Ok(buf)
}

/// Look at the first bytes of the file: compression, format, and for CSV the delimiter and header.
pub fn sniff(
    path: &Path,
    format: Option<FileFormat>,
    delimiter: Option<u8>,
) -> Result<Sniffed, LoadError> {
    // The export is opened several times (sniff, estimate, read): a pipe or a device would be
    // consumed by the first look, then hang or read as empty. Say so instead.
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    if meta.is_dir() {
        return Err(LoadError::NotAFile {
            path: path.to_path_buf(),
            what: "a folder".into(),
        });
    }
    if !meta.is_file() {
        return Err(LoadError::NotAFile {
            path: path.to_path_buf(),
            what: "a pipe or device, not a regular file (pipes and stdin are not read: save the \
                   export to a file first)"
                .into(),
        });
    }
    let mut magic = [0u8; 4];
    let n = File::open(path)
        .map_err(io_err(path))?
        .read(&mut magic)
        .map_err(io_err(path))?;
    if n == 0 {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let gzip = n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    let is_parquet = n == 4 && &magic == b"PAR1";
    let is_avro = n == 4 && &magic == super::avro_header::MAGIC;
    let format = match format {
        Some(f) => f,
        None if is_parquet => FileFormat::Parquet,
        None if is_avro => FileFormat::Avro,
        None => match FileFormat::from_path(path) {
            Some(f) => f,
            None => {
                let prefix = read_prefix(path, gzip)?;
                // A byte-order mark before the first `{` (Windows tools write one).
                let first = strip_bom(&prefix).iter().find(|b| !b.is_ascii_whitespace());
                if first == Some(&b'{') {
                    FileFormat::Ndjson
                } else {
                    FileFormat::Csv
                }
            }
        },
    };
    if matches!(format, FileFormat::Parquet | FileFormat::Avro) {
        if format == FileFormat::Parquet && !is_parquet || format == FileFormat::Avro && !is_avro {
            return Err(LoadError::Parse {
                path: path.to_path_buf(),
                format: format.to_string(),
                message: format!("the file does not start with the {format} magic bytes"),
            });
        }
        return Ok(Sniffed {
            format,
            gzip: false,
            delimiter: None,
            header: vec![],
            raw_header: vec![],
            prefix: vec![],
        });
    }
    let mut prefix = read_prefix(path, gzip)?;
    if prefix.len() == SNIFF_BYTES && !prefix.contains(&b'\n') {
        // A header wider than the sniffed bytes (thousands of columns): read on to its end, or a
        // cut-off last name would look like a duplicate column.
        prefix = read_prefix_of(path, gzip, MAX_HEADER_BYTES)?;
        match prefix.iter().position(|&b| b == b'\n') {
            Some(end) => prefix.truncate(end + 1),
            None if prefix.len() == MAX_HEADER_BYTES => {
                return Err(LoadError::Parse {
                    path: path.to_path_buf(),
                    format: "CSV".into(),
                    message: format!(
                        "the first line is longer than {} MB: not a table with a header",
                        MAX_HEADER_BYTES >> 20
                    ),
                });
            }
            None => {}
        }
    }
    let text_part = strip_bom(&prefix);
    if text_part.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    // UTF-16 (Excel's "Unicode text", PowerShell's default) is full of NUL bytes: say what it is.
    let utf16 = prefix.starts_with(&[0xFF, 0xFE])
        || prefix.starts_with(&[0xFE, 0xFF])
        || (prefix.len() >= 8
            && prefix.iter().step_by(2).skip(1).take(32).any(|&b| b != 0)
            && prefix.iter().skip(1).step_by(2).take(32).all(|&b| b == 0));
    if utf16 {
        return Err(LoadError::Utf16 {
            path: path.to_path_buf(),
        });
    }
    if let Some(offset) = text_part.iter().position(|&b| b == 0) {
        return Err(LoadError::Binary {
            path: path.to_path_buf(),
            offset,
        });
    }
    check_utf8(path, text_part, prefix.len() == SNIFF_BYTES)?;
    // Old Mac line endings: the header line would run on through the whole file (and read as
    // "a header but no data rows", or a duplicate column).
    if let Some(cr) = text_part.iter().position(|&b| b == b'\r')
        && text_part.get(cr + 1) != Some(&b'\n')
        && !text_part[..cr].contains(&b'\n')
        && format == FileFormat::Csv
    {
        return Err(LoadError::LineEndings {
            path: path.to_path_buf(),
            line: 1,
        });
    }
    if format == FileFormat::Ndjson {
        return Ok(Sniffed {
            format,
            gzip,
            delimiter: None,
            header: vec![],
            raw_header: vec![],
            prefix: vec![],
        });
    }
    let text = String::from_utf8_lossy(text_part);
    // The last line of a truncated prefix may be cut in half: keep whole lines only.
    let mut lines: Vec<&str> = text.lines().collect();
    if prefix.len() == SNIFF_BYTES && lines.len() > 1 {
        lines.pop();
    }
    let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(&lines));
    let raw_header = split_csv_fields(lines[0], delimiter);
    let header: Vec<String> = raw_header.iter().map(|f| f.trim().to_string()).collect();
    check_header(path, &header)?;
    let whole_lines = match text_part.iter().rposition(|&b| b == b'\n') {
        Some(end) if prefix.len() == SNIFF_BYTES => text_part[..=end].to_vec(),
        _ => text_part.to_vec(),
    };
    Ok(Sniffed {
        format,
        gzip,
        delimiter: Some(delimiter),
        header,
        raw_header,
        prefix: whole_lines,
    })
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Reject invalid UTF-8, naming the line. A truncated prefix may end inside a multi-byte character.
fn check_utf8(path: &Path, bytes: &[u8], truncated: bool) -> Result<(), LoadError> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) if truncated && e.error_len().is_none() => Ok(()),
        Err(e) => Err(LoadError::InvalidUtf8 {
            path: path.to_path_buf(),
            line: line_at(bytes, e.valid_up_to()),
        }),
    }
}

/// The 1-based line number of a byte offset.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count()
}

/// Find the first line of the whole file that is not UTF-8 (used to explain a parser failure).
pub fn find_invalid_utf8_line(bytes: &[u8]) -> Option<usize> {
    match std::str::from_utf8(bytes) {
        Ok(_) => None,
        Err(e) => Some(line_at(bytes, e.valid_up_to())),
    }
}

fn check_header(path: &Path, header: &[String]) -> Result<(), LoadError> {
    // By hash: comparing each name with all before it took 90 s on a 100,000-column header.
    let mut first: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(header.len());
    for (i, name) in header.iter().enumerate() {
        if let Some(&j) = first.get(name.as_str()) {
            return Err(LoadError::DuplicateColumn {
                path: path.to_path_buf(),
                column: name.clone(),
                first: j + 1,
                second: i + 1,
            });
        }
        first.insert(name, i);
    }
    Ok(())
}

/// Split one CSV line on `delim`, honouring double quotes; fields trimmed.
pub fn split_csv_line(line: &str, delim: u8) -> Vec<String> {
    split_csv_fields(line, delim)
        .into_iter()
        .map(|f| f.trim().to_string())
        .collect()
}

/// Split one CSV line on `delim`, honouring double quotes; fields as written.
fn split_csv_fields(line: &str, delim: u8) -> Vec<String> {
    let delim = delim as char;
    let mut out = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => in_quotes = !in_quotes,
            c if c == delim && !in_quotes => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

impl Sniffed {
    /// The names polars' CSV reader gives the columns that roles call by their trimmed names (a
    /// header written `user_id ,time` is read with its spaces). None when no name has spaces.
    fn raw_names(&self) -> Option<std::collections::HashMap<&str, &str>> {
        (self.header != self.raw_header).then(|| {
            self.header
                .iter()
                .map(String::as_str)
                .zip(self.raw_header.iter().map(String::as_str))
                .collect()
        })
    }

    /// Rename columns read by polars to the trimmed header names.
    fn trim_names(&self, df: &mut DataFrame) {
        if self.header == self.raw_header {
            return;
        }
        for (raw, trimmed) in self.raw_header.iter().zip(&self.header) {
            if raw != trimmed && df.get_column_index(raw).is_some() {
                let _ = df.rename(raw, trimmed.as_str().into());
            }
        }
    }
}

/// Pick the delimiter that splits the first lines into the same, largest number of fields.
pub fn detect_delimiter(lines: &[&str]) -> u8 {
    let candidates = [b',', b';', b'\t', b'|'];
    let sample: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty())
        .take(50)
        .collect();
    let mut best = (b',', 0usize, 0usize); // delimiter, consistent lines, fields
    for &d in &candidates {
        let counts: Vec<usize> = sample.iter().map(|l| split_csv_line(l, d).len()).collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first < 2 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == first).count();
        if consistent > best.1 || (consistent == best.1 && first > best.2) {
            best = (d, consistent, first);
        }
    }
    best.0
}

/// The bytes of the export, read into memory (and decompressed when it is gzip).
///
/// Read, not memory-mapped: polars maps a `File` it is given, and a file that is truncated while
/// it is mapped (a download restarted, a copy overwritten) ends the process with SIGBUS, which no
/// handler of ours can turn into a message; the desktop app would lose its unsaved work. The memory
/// estimate already counts the file's bytes (they were resident as mapped pages).
pub fn read_bytes(path: &Path, gzip: bool) -> Result<Vec<u8>, LoadError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    if !gzip {
        return read_stable(path, &mut file);
    }
    // Count the decompressed bytes while reading and stop at the budget: the trailer the estimate
    // used only knows the last member and wraps at 4 GiB (a 3 MB file can hold gigabytes).
    let limit = super::memory::gzip_text_limit()?;
    let cap = limit.map_or(u64::MAX, |(bytes, _)| bytes.saturating_add(1));
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(file)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| LoadError::Parse {
            path: path.to_path_buf(),
            format: "gzip".into(),
            message: e.to_string(),
        })?;
    if let Some((bytes, budget)) = limit
        && out.len() as u64 > bytes
    {
        return Err(super::memory::gzip_too_large(
            path,
            out.len() as u64,
            budget,
        ));
    }
    Ok(out)
}

/// Read a whole file, refusing it when its length changed during the read (still being written):
/// a half-copied export would otherwise load as a smaller one without a word.
pub fn read_stable(path: &Path, file: &mut File) -> Result<Vec<u8>, LoadError> {
    let before = file.metadata().map_err(io_err(path))?.len();
    let mut out = Vec::with_capacity(usize::try_from(before).unwrap_or(0));
    file.read_to_end(&mut out).map_err(io_err(path))?;
    let after = file.metadata().map_err(io_err(path))?.len();
    if out.len() as u64 != before || after != before {
        return Err(LoadError::Changed {
            path: path.to_path_buf(),
            before,
            // The length at the end, or what could be read when it was cut and grew back.
            after: if after != before {
                after
            } else {
                out.len() as u64
            },
        });
    }
    Ok(out)
}

/// CSV read settings: which columns, and the dtype for each column whose role fixes it.
#[derive(Debug, Clone, Default)]
pub struct CsvPlan {
    /// Columns to read (None: all).
    pub columns: Option<Vec<String>>,
    /// Columns forced to a dtype (roles: ids and text as String, measures as Float64).
    pub dtypes: Vec<(String, DataType)>,
    /// Infer the other columns' types over the whole file (users tables) rather than a prefix.
    pub infer_all_rows: bool,
    /// Read at most this many rows (a preview).
    pub n_rows: Option<usize>,
    /// Read every column as text.
    pub all_text: bool,
}

fn polars_err(path: &Path, format: FileFormat, e: PolarsError) -> LoadError {
    LoadError::Parse {
        path: path.to_path_buf(),
        format: format.to_string(),
        message: without_python_advice(&e.to_string()),
    }
}

/// A polars message without the advice its Python front end gives ("Consider setting
/// 'truncate_ragged_lines=true'", "You might want to try: ..."): options our users cannot set.
pub fn without_python_advice(message: &str) -> String {
    let cut = [
        "\n\nConsider setting",
        "\n\nYou might want to try",
        "\n\nHint:",
    ]
    .iter()
    .filter_map(|m| message.find(m))
    .min()
    .unwrap_or(message.len());
    message[..cut].trim_end().to_string()
}

pub fn read_csv(path: &Path, sniffed: &Sniffed, plan: &CsvPlan) -> Result<DataFrame, LoadError> {
    guard(path, FileFormat::Csv, || {
        read_csv_unguarded(path, sniffed, plan, None)
    })
}

/// A CSV file's header line and a run of its records (a batch of a streamed export), read like the
/// whole file. `path` names the file in messages.
pub fn read_csv_chunk(
    path: &Path,
    sniffed: &Sniffed,
    plan: &CsvPlan,
    chunk: &[u8],
) -> Result<DataFrame, LoadError> {
    guard(path, FileFormat::Csv, || {
        read_csv_unguarded(path, sniffed, plan, Some(chunk))
    })
}

fn read_csv_unguarded(
    path: &Path,
    sniffed: &Sniffed,
    plan: &CsvPlan,
    chunk: Option<&[u8]>,
) -> Result<DataFrame, LoadError> {
    let delimiter = sniffed.delimiter.unwrap_or(b',');
    let raw_names = sniffed.raw_names();
    let raw = |name: &str| -> PlSmallStr {
        raw_names
            .as_ref()
            .and_then(|m| m.get(name).copied())
            .unwrap_or(name)
            .into()
    };
    let mut overwrite = Schema::default();
    for (name, dt) in &plan.dtypes {
        overwrite.with_column(raw(name), dt.clone());
    }
    let infer = if plan.all_text {
        Some(0)
    } else if plan.infer_all_rows {
        None
    } else {
        Some(10_000)
    };
    let options = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(infer)
        .with_schema_overwrite(Some(Arc::new(overwrite)))
        .with_columns(
            plan.columns
                .as_ref()
                .map(|c| c.iter().map(|s| raw(s)).collect::<Vec<_>>().into()),
        )
        .with_n_rows(plan.n_rows)
        // Chunks are fine for everything downstream; a final rechunk would copy the whole table.
        .with_rechunk(false)
        .with_raise_if_empty(false)
        .map_parse_options(|p| csv_parse_options(p, delimiter));
    if let Some(chunk) = chunk {
        let mut df = options
            .into_reader_with_file_handle(Cursor::new(chunk))
            .finish()
            .map_err(|e| polars_err(path, FileFormat::Csv, e))?;
        sniffed.trim_names(&mut df);
        return Ok(df);
    }
    let bytes = read_bytes(path, sniffed.gzip)?;
    let result = options
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish();
    let mut df = result.map_err(|e| explain_csv_failure(path, sniffed, e))?;
    sniffed.trim_names(&mut df);
    Ok(df)
}

/// Turn a parser error into the most specific message we can give (bad UTF-8 line, ragged row).
fn explain_csv_failure(path: &Path, sniffed: &Sniffed, e: PolarsError) -> LoadError {
    let delimiter = sniffed.delimiter.unwrap_or(b',');
    first_csv_defect(path, sniffed.gzip, delimiter, sniffed.raw_header.len())
        .unwrap_or_else(|| polars_err(path, FileFormat::Csv, e))
}

/// Stream through the file (decompressing if needed, one line in memory at a time) to the first
/// defect a parser error can come from, in file order: a line that is not UTF-8, a carriage return
/// inside a line outside quotes (old Mac or mixed line endings), or a record with more fields than
/// the header (counted with quotes honoured across lines).
fn first_csv_defect(path: &Path, gzip: bool, delimiter: u8, header: usize) -> Option<LoadError> {
    use std::io::BufRead;
    let file = File::open(path).ok()?;
    let reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, reader);
    let mut line = Vec::new();
    let mut number = 0;
    // The record being counted: its first line, its fields so far, whether a quote is open.
    let (mut start, mut fields, mut quoted) = (1, 1, false);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {
                number += 1;
                if std::str::from_utf8(&line).is_err() {
                    return Some(LoadError::InvalidUtf8 {
                        path: path.to_path_buf(),
                        line: number,
                    });
                }
                let body = line.strip_suffix(b"\n").unwrap_or(&line);
                let body = body.strip_suffix(b"\r").unwrap_or(body);
                for &b in body {
                    match b {
                        b'"' => quoted = !quoted,
                        b'\r' if !quoted => {
                            return Some(LoadError::LineEndings {
                                path: path.to_path_buf(),
                                line: number,
                            });
                        }
                        _ if b == delimiter && !quoted => fields += 1,
                        _ => {}
                    }
                }
                if quoted {
                    continue;
                }
                if header > 0 && fields > header {
                    return Some(LoadError::Ragged {
                        path: path.to_path_buf(),
                        line: start,
                        fields,
                        header,
                    });
                }
                (start, fields) = (number + 1, 1);
            }
        }
    }
}

/// How every CSV read parses fields. No `null_values`: polars 0.55.2 reads out of bounds when that
/// option meets a field made of a lone quote (found by the random-input test); null tokens are handled
/// after reading, in `columns::null_tokens_to_null`.
fn csv_parse_options(p: CsvParseOptions, delimiter: u8) -> CsvParseOptions {
    p.with_separator(delimiter)
        .with_quote_char(Some(b'"'))
        .with_missing_is_null(true)
}

/// The sniffed first lines of a CSV as a table of text columns (a preview; never the whole file).
pub fn read_csv_prefix(sniffed: &Sniffed) -> Option<DataFrame> {
    let delimiter = sniffed.delimiter.unwrap_or(b',');
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_raise_if_empty(false)
        .map_parse_options(|p| csv_parse_options(p, delimiter).with_truncate_ragged_lines(true))
        .into_reader_with_file_handle(Cursor::new(sniffed.prefix.clone()))
        .finish()
        .ok()
        .map(|mut df| {
            sniffed.trim_names(&mut df);
            df
        })
}

pub fn read_parquet(path: &Path, columns: Option<Vec<String>>) -> Result<DataFrame, LoadError> {
    check_parquet_layout(path)?;
    // Read, not mapped (see `read_bytes`).
    let bytes = read_bytes(path, false)?;
    guard(path, FileFormat::Parquet, || {
        ParquetReader::new(Cursor::new(bytes))
            .with_columns(columns)
            .finish()
            .and_then(decimals_as_f64)
            .map_err(|e| polars_err(path, FileFormat::Parquet, e))
    })
}

/// Decimal columns (BigQuery's NUMERIC and BIGNUMERIC, as Parquet and Avro carry them) as Float64:
/// every role and feature reads numbers as f64, and a revenue of 19.990000000 is 19.99.
pub fn decimals_as_f64(mut df: DataFrame) -> PolarsResult<DataFrame> {
    let decimal: Vec<PlSmallStr> = df
        .columns()
        .iter()
        .filter(|c| matches!(c.dtype(), DataType::Decimal(..)))
        .map(|c| c.name().clone())
        .collect();
    for name in decimal {
        let c = df.column(&name)?.cast(&DataType::Float64)?;
        df.with_column(c)?;
    }
    Ok(df)
}

/// An Avro file (BigQuery's Avro export), whole or the named top-level fields, after the check of its
/// framing and schema.
pub fn read_avro(path: &Path, columns: Option<Vec<String>>) -> Result<DataFrame, LoadError> {
    let header = super::avro_header::check(path, false)?;
    if let Some(missing) = columns
        .iter()
        .flatten()
        .find(|c| !header.fields.contains(c))
    {
        return Err(LoadError::Parse {
            path: path.to_path_buf(),
            format: "Avro".into(),
            message: format!("the schema has no field {missing:?}"),
        });
    }
    let file = File::open(path).map_err(io_err(path))?;
    guard(path, FileFormat::Avro, || {
        polars::io::avro::AvroReader::new(file)
            .with_columns(columns)
            .finish()
            .and_then(decimals_as_f64)
            .map_err(|e| polars_err(path, FileFormat::Avro, e))
    })
}

/// The schema of an Avro file, from its header (after the check of its framing).
pub fn avro_schema(path: &Path) -> Result<Schema, LoadError> {
    super::avro_header::check(path, false)?;
    let file = File::open(path).map_err(io_err(path))?;
    guard(path, FileFormat::Avro, || {
        polars::io::avro::AvroReader::new(file)
            .schema()
            .map_err(|e| polars_err(path, FileFormat::Avro, e))
    })
}

/// The first `n` rows of a Parquet file (to look at values before reading the whole).
/// Rows `offset..offset + len` of a Parquet file, the named columns (a batch of a streamed export).
pub fn read_parquet_slice(
    path: &Path,
    columns: Option<Vec<String>>,
    offset: usize,
    len: usize,
) -> Result<DataFrame, LoadError> {
    let file = File::open(path).map_err(io_err(path))?;
    guard(path, FileFormat::Parquet, || {
        ParquetReader::new(file)
            .with_columns(columns)
            .with_slice(Some((offset, len)))
            .finish()
            .and_then(decimals_as_f64)
            .map_err(|e| polars_err(path, FileFormat::Parquet, e))
    })
}

/// The number of rows of a Parquet file, from its footer (after the check of its layout).
pub fn parquet_rows(path: &Path) -> Result<usize, LoadError> {
    check_parquet_layout(path)?;
    let file = File::open(path).map_err(io_err(path))?;
    guard(path, FileFormat::Parquet, || {
        ParquetReader::new(file)
            .num_rows()
            .map_err(|e| polars_err(path, FileFormat::Parquet, e))
    })
}

pub fn read_parquet_head(path: &Path, n: usize) -> Result<DataFrame, LoadError> {
    check_parquet_layout(path)?;
    let file = File::open(path).map_err(io_err(path))?;
    guard(path, FileFormat::Parquet, || {
        ParquetReader::new(file)
            .with_slice(Some((0, n)))
            .finish()
            .and_then(decimals_as_f64)
            .map_err(|e| polars_err(path, FileFormat::Parquet, e))
    })
}

/// How many guarded reads run now (any thread): while one does, a panic hook can stay quiet, since the
/// guard turns the panic into a named error (polars may panic on one of its pool threads, so a
/// thread-local flag would miss it).
static GUARDED_READS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether a guarded read is under way (for panic hooks: see `guard`).
pub fn reading_guarded() -> bool {
    GUARDED_READS.load(std::sync::atomic::Ordering::SeqCst) > 0
}

/// Run a polars reader, turning a panic inside it into a parse error naming the file: a damaged file
/// must not take the process down (polars 0.55.2 trusts some offsets, lengths and field types it reads;
/// fuzzing found two such panics).
fn guard<T>(
    path: &Path,
    format: FileFormat,
    read: impl FnOnce() -> Result<T, LoadError>,
) -> Result<T, LoadError> {
    use std::sync::atomic::Ordering;
    GUARDED_READS.fetch_add(1, Ordering::SeqCst);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    GUARDED_READS.fetch_sub(1, Ordering::SeqCst);
    result.unwrap_or_else(|p| {
        let msg = crate::task::panic_message(p.as_ref());
        Err(LoadError::Parse {
            path: path.to_path_buf(),
            format: format.to_string(),
            message: format!(
                "the file is damaged ({})",
                msg.chars().take(200).collect::<String>()
            ),
        })
    })
}

/// Every row group's row count must be held by its columns, and every column chunk a Parquet footer
/// points to must lie inside the file, with sound page headers: polars 0.55.2 trusts these numbers
/// and panics or aborts on a damaged file (found by fuzzing).
fn check_parquet_layout(path: &Path) -> Result<(), LoadError> {
    check_parquet_footer(path)?;
    let len = std::fs::metadata(path).map_err(io_err(path))?.len() as i128;
    // Two handles: polars reads the footer through one, the page check seeks through the other.
    let mut file = File::open(path).map_err(io_err(path))?;
    let mut reader = ParquetReader::new(File::open(path).map_err(io_err(path))?);
    let meta = guard(path, FileFormat::Parquet, || {
        reader
            .get_metadata()
            .cloned()
            .map_err(|e| polars_err(path, FileFormat::Parquet, e))
    })?;
    let damaged = |message: String| LoadError::Parse {
        path: path.to_path_buf(),
        format: FileFormat::Parquet.to_string(),
        message,
    };
    let mut rows: u128 = 0;
    for (g, group) in meta.row_groups.iter().enumerate() {
        // polars sizes the table by the row group's count, so a count no column holds (a fuzzed file
        // claimed 3 * 10^18 rows over 653 values) would make every later per-row allocation abort.
        let n = group.num_rows() as u128;
        rows += n;
        if let Some(c) = group
            .parquet_columns()
            .iter()
            .find(|c| (c.num_values().max(0) as u128) < n)
        {
            return Err(damaged(format!(
                "the file is damaged: row group {g} claims {n} rows, but column {:?} holds {} values",
                c.descriptor().path_in_schema.join("."),
                c.num_values()
            )));
        }
        for c in group.parquet_columns() {
            let start = i128::from(c.dictionary_page_offset().unwrap_or(c.data_page_offset()));
            let size = i128::from(c.compressed_size());
            if start < 0 || size < 0 || start + size > len {
                return Err(damaged(format!(
                    "the file is damaged or cut short: row group {g} points to bytes \
                     {start}..{} of a {len}-byte file",
                    start + size
                )));
            }
            // The page headers inside the chunk, which polars also trusts (headers only, not the data).
            let pages = super::parquet_footer::check_pages_with(size as u64, |pos, n| {
                let mut buf = vec![0u8; n];
                file.seek(SeekFrom::Start(start as u64 + pos))?;
                file.read_exact(&mut buf)?;
                Ok(buf)
            })
            .map_err(io_err(path))?;
            if let Err(problem) = pages {
                return Err(damaged(format!(
                    "the file is damaged: row group {g}: {problem}"
                )));
            }
        }
    }
    if rows != meta.num_rows as u128 {
        return Err(damaged(format!(
            "the file is damaged: its row groups hold {rows} rows, its footer says {}",
            meta.num_rows
        )));
    }
    Ok(())
}

/// An NDJSON export as a flat table (nested objects as dotted columns), with the keys that held
/// lists (left out: a list is not a value).
pub fn read_ndjson(path: &Path, sniffed: &Sniffed) -> Result<(DataFrame, Vec<String>), LoadError> {
    guard(path, FileFormat::Ndjson, || {
        read_ndjson_unguarded(path, sniffed)
    })
}

fn read_ndjson_unguarded(
    path: &Path,
    sniffed: &Sniffed,
) -> Result<(DataFrame, Vec<String>), LoadError> {
    let bytes = read_bytes(path, sniffed.gzip)?;
    ndjson_table(path, bytes, 0)
}

/// A run of whole lines of a JSON-lines file (a batch of a streamed export; `lines_before`: the
/// file's lines before it, for the line numbers of messages), read like the whole file.
pub fn read_ndjson_chunk(
    path: &Path,
    bytes: Vec<u8>,
    lines_before: usize,
) -> Result<(DataFrame, Vec<String>), LoadError> {
    guard(path, FileFormat::Ndjson, || {
        ndjson_table(path, bytes, lines_before)
    })
}

fn ndjson_table(
    path: &Path,
    bytes: Vec<u8>,
    lines_before: usize,
) -> Result<(DataFrame, Vec<String>), LoadError> {
    if let Some(line) = find_invalid_utf8_line(&bytes) {
        return Err(LoadError::InvalidUtf8 {
            path: path.to_path_buf(),
            line: lines_before + line,
        });
    }
    let shape_err = |(line, problem): super::json_lines::Problem| LoadError::Parse {
        path: path.to_path_buf(),
        format: "NDJSON".into(),
        message: format!("line {}: {problem}", lines_before + line),
    };
    // Depth and width bounded, nested objects as dotted top-level keys, in one pass: polars then
    // reads flat columns in time proportional to the table (see json_lines).
    let flat = super::json_lines::flatten(strip_bom(&bytes)).map_err(shape_err)?;
    drop(bytes);
    super::memory::check_table_cells(path, flat.records, flat.columns.len())?;
    let bytes = flat.text;
    // The types come from every record (sparse keys, a revenue seen on purchases only, must not
    // become text), found while flattening: polars' own inference is quadratic in distinct keys.
    let schema: Schema = flat
        .columns
        .iter()
        .map(|(name, kinds)| {
            Field::new(name.as_str().into(), super::json_lines::Flat::dtype(*kinds))
        })
        .collect();
    let lists = flat.lists;
    if let Some(line) = flat.first_bad {
        return Err(LoadError::Parse {
            path: path.to_path_buf(),
            format: "NDJSON".into(),
            message: format!("line {} is not a JSON object", lines_before + line),
        });
    }
    if flat.records == 0 {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let df = JsonReader::new(Cursor::new(bytes.as_slice()))
        .with_json_format(JsonFormat::JsonLines)
        .with_schema(Arc::new(schema))
        .finish()
        .map_err(|e| {
            let msg = e.to_string();
            let line = first_bad_json_line(&bytes);
            LoadError::Parse {
                path: path.to_path_buf(),
                format: "NDJSON".into(),
                message: match line {
                    Some(l) => format!("line {} is not a JSON object ({msg})", lines_before + l),
                    None => msg,
                },
            }
        })?;
    Ok((df, lists))
}

/// A cheap structural check to name the first line that is not a `{...}` object.
fn first_bad_json_line(bytes: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(bytes);
    text.lines().enumerate().find_map(|(i, l)| {
        let t = l.trim();
        let object = t.starts_with('{') && t.ends_with('}');
        (!t.is_empty() && !object).then_some(i + 1)
    })
}

/// The footer's structure checked before polars decodes it (see `parquet_footer`).
fn check_parquet_footer(path: &Path) -> Result<(), LoadError> {
    match super::parquet_footer::check(path).map_err(io_err(path))? {
        Ok(()) => Ok(()),
        Err(problem) => Err(LoadError::Parse {
            path: path.to_path_buf(),
            format: FileFormat::Parquet.to_string(),
            message: format!("the file is damaged: {problem}"),
        }),
    }
}

/// Column names of a Parquet file without reading its data.
pub fn parquet_schema(path: &Path) -> Result<Schema, LoadError> {
    check_parquet_footer(path)?;
    let file = File::open(path).map_err(io_err(path))?;
    let schema = guard(path, FileFormat::Parquet, || {
        ParquetReader::new(file)
            .schema()
            .map_err(|e| polars_err(path, FileFormat::Parquet, e))
    })?;
    // polars panics on an Arrow type it was built without (Float16, found by fuzzing, which pyarrow
    // writes for numpy's float16): name the column instead of "damaged".
    let mut out = Schema::with_capacity(schema.len());
    for field in schema.iter_values() {
        let dtype = guard(path, FileFormat::Parquet, || {
            Ok(DataType::from_arrow_field(field))
        })
        .map_err(|_| LoadError::Parse {
            path: path.to_path_buf(),
            format: FileFormat::Parquet.to_string(),
            message: format!(
                "column \"{}\" has the type {}, which Persona Lab cannot read; write it as a \
                 64-bit float or integer (CAST in the export query, or astype in pandas)",
                crate::terminal::clean_line(&field.name),
                format!("{:?}", field.dtype)
                    .chars()
                    .take(120)
                    .collect::<String>()
            ),
        })?;
        out.insert(field.name.clone(), dtype);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that panics (a polars bug on a damaged file) gives a parse error naming the file.
    #[test]
    fn a_panicking_reader_becomes_a_parse_error() {
        let path = Path::new("exports/damaged.parquet");
        let r: Result<(), LoadError> = guard(path, FileFormat::Parquet, || {
            panic!("range end index 4100 out of range for slice of length 3991")
        });
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("exports/damaged.parquet")
                && e.contains("Parquet")
                && e.contains("the file is damaged (range end index 4100"),
            "{e}"
        );
        let ok: Result<u8, LoadError> = guard(path, FileFormat::Csv, || Ok(7));
        assert_eq!(ok.unwrap(), 7);
    }
}
