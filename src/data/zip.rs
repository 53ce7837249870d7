//! Reading zip archives (Amplitude's Export API returns one: a folder of hourly `.json.gz` files):
//! the central directory (zip64 included), stored and deflated entries, CRC-checked. Written here
//! rather than taken from a crate: the `zip` crate brings a dozen dependencies (bzip2, zstd, aes,
//! time) for methods exports never use, and this is the small part of the format they do use.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::LoadError;

/// One file in the archive.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its name in the archive (`2024-07-01/123_2024-07-01_0#0.json.gz`).
    pub name: String,
    method: u16,
    flags: u16,
    crc: u32,
    compressed: u64,
    pub size: u64,
    local_header: u64,
}

impl Entry {
    /// Folders, macOS resource forks and hidden files are not exports.
    pub fn is_data(&self) -> bool {
        let base = self.name.rsplit('/').next().unwrap_or_default();
        !self.name.ends_with('/')
            && !self.name.starts_with("__MACOSX/")
            && !base.starts_with('.')
            && !base.is_empty()
    }
}

fn damaged(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Parse {
        path: path.to_path_buf(),
        format: "zip".into(),
        message: message.into(),
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

/// Whether the file starts like a zip archive.
pub fn is_zip(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06")
}

/// The entries of the archive, from its central directory.
pub fn entries(path: &Path) -> Result<Vec<Entry>, LoadError> {
    let io = |e| LoadError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    // The end record is in the last 22 + 65,535 (comment) bytes.
    let tail_len = len.min(22 + 65_535);
    let mut tail = vec![0u8; tail_len as usize];
    f.seek(SeekFrom::Start(len - tail_len)).map_err(io)?;
    f.read_exact(&mut tail).map_err(io)?;
    let Some(eocd) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == *b"PK\x05\x06")
    else {
        return Err(damaged(
            path,
            "no end of central directory: the archive is cut short or not a zip",
        ));
    };
    let mut count = u16_at(&tail, eocd + 10) as u64;
    let mut cd_size = u32_at(&tail, eocd + 12) as u64;
    let mut cd_offset = u32_at(&tail, eocd + 16) as u64;
    if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        // Zip64: a locator just before the end record points at the zip64 end record.
        let at = eocd
            .checked_sub(20)
            .filter(|&i| tail[i..i + 4] == *b"PK\x06\x07")
            .ok_or_else(|| damaged(path, "a zip64 archive without its zip64 locator"))?;
        let rec = u64_at(&tail, at + 8);
        let mut r = [0u8; 56];
        f.seek(SeekFrom::Start(rec)).map_err(io)?;
        f.read_exact(&mut r).map_err(io)?;
        if r[..4] != *b"PK\x06\x06" {
            return Err(damaged(
                path,
                "the zip64 end record is not where the locator says",
            ));
        }
        count = u64_at(&r, 32);
        cd_size = u64_at(&r, 40);
        cd_offset = u64_at(&r, 48);
    }
    if cd_offset.checked_add(cd_size).is_none_or(|end| end > len) || count > cd_size / 46 {
        return Err(damaged(path, "the central directory lies outside the file"));
    }
    let mut cd = vec![0u8; cd_size as usize];
    f.seek(SeekFrom::Start(cd_offset)).map_err(io)?;
    f.read_exact(&mut cd).map_err(io)?;
    let mut out = Vec::with_capacity(count as usize);
    let mut i = 0usize;
    for _ in 0..count {
        if i + 46 > cd.len() || cd[i..i + 4] != *b"PK\x01\x02" {
            return Err(damaged(path, "a central directory record is damaged"));
        }
        let flags = u16_at(&cd, i + 8);
        let method = u16_at(&cd, i + 10);
        let crc = u32_at(&cd, i + 16);
        let mut compressed = u32_at(&cd, i + 20) as u64;
        let mut size = u32_at(&cd, i + 24) as u64;
        let name_len = u16_at(&cd, i + 28) as usize;
        let extra_len = u16_at(&cd, i + 30) as usize;
        let comment_len = u16_at(&cd, i + 32) as usize;
        let mut local_header = u32_at(&cd, i + 42) as u64;
        let end = i + 46 + name_len + extra_len + comment_len;
        if end > cd.len() {
            return Err(damaged(path, "a central directory record is damaged"));
        }
        let name = String::from_utf8_lossy(&cd[i + 46..i + 46 + name_len]).into_owned();
        // Zip64 sizes and offset, in this order, for the fields that are 0xFFFFFFFF.
        let mut extra = &cd[i + 46 + name_len..i + 46 + name_len + extra_len];
        while extra.len() >= 4 {
            let id = u16_at(extra, 0);
            let n = (u16_at(extra, 2) as usize).min(extra.len() - 4);
            if id == 1 {
                let mut field = &extra[4..4 + n];
                for slot in [&mut size, &mut compressed, &mut local_header] {
                    if *slot == 0xFFFF_FFFF && field.len() >= 8 {
                        *slot = u64_at(field, 0);
                        field = &field[8..];
                    }
                }
            }
            extra = &extra[4 + n..];
        }
        out.push(Entry {
            name,
            method,
            flags,
            crc,
            compressed,
            size,
            local_header,
        });
        i = end;
    }
    Ok(out)
}

/// Write one entry's bytes to `to`, checking its size and CRC. Never writes more than the size the
/// directory declares (a zip bomb whose headers lie stops there).
pub fn extract(path: &Path, entry: &Entry, to: &Path) -> Result<(), LoadError> {
    let io = |e| LoadError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let bad = |m: &str| damaged(path, format!("{}: {m}", entry.name));
    if entry.flags & 1 != 0 {
        return Err(bad(
            "encrypted entries cannot be read; unzip it with its password first",
        ));
    }
    let mut f = File::open(path).map_err(io)?;
    let mut local = [0u8; 30];
    f.seek(SeekFrom::Start(entry.local_header)).map_err(io)?;
    f.read_exact(&mut local).map_err(io)?;
    if local[..4] != *b"PK\x03\x04" {
        return Err(bad("its local header is not where the directory says"));
    }
    let skip = u16_at(&local, 26) as u64 + u16_at(&local, 28) as u64;
    f.seek(SeekFrom::Current(skip as i64)).map_err(io)?;
    let raw = (&mut f).take(entry.compressed);
    let mut reader: Box<dyn Read> = match entry.method {
        0 => Box::new(raw),
        8 => Box::new(flate2::read::DeflateDecoder::new(raw)),
        m => {
            return Err(bad(&format!(
                "compression method {m} is not read (stored and deflate are); re-zip it or unzip it first"
            )));
        }
    };
    let out_io = |e| LoadError::Io {
        path: to.to_path_buf(),
        source: e,
    };
    let mut out = std::io::BufWriter::new(File::create(to).map_err(out_io)?);
    let mut crc = flate2::Crc::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut written = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|e| bad(&e.to_string()))?;
        if n == 0 {
            break;
        }
        written += n as u64;
        if written > entry.size {
            return Err(bad(
                "it holds more bytes than the archive's directory declares",
            ));
        }
        crc.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(out_io)?;
    }
    out.flush().map_err(out_io)?;
    if written != entry.size || crc.sum() != entry.crc {
        return Err(bad(
            "its bytes do not match the archive's checksum (damaged or cut short)",
        ));
    }
    Ok(())
}

/// A folder that is removed with everything in it when dropped (extracted archives).
pub struct TempFolder(pub PathBuf);

impl TempFolder {
    pub fn new() -> std::io::Result<TempFolder> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("persona-lab-archive-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir)?;
        Ok(TempFolder(dir))
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored and a deflated entry, written by hand as a zip writer would.
    fn archive(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data, deflate) in entries {
            let mut crc = flate2::Crc::new();
            crc.update(data);
            let body = if *deflate {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            } else {
                data.to_vec()
            };
            let offset = out.len() as u32;
            let method: u16 = if *deflate { 8 } else { 0 };
            // The fields the local header and the central directory entry share: flags, method,
            // time and date, CRC, both sizes and the name's length.
            let shared = |v: &mut Vec<u8>| {
                v.extend_from_slice(&0u16.to_le_bytes());
                v.extend_from_slice(&method.to_le_bytes());
                v.extend_from_slice(&[0; 4]);
                v.extend_from_slice(&crc.sum().to_le_bytes());
                v.extend_from_slice(&(body.len() as u32).to_le_bytes());
                v.extend_from_slice(&(data.len() as u32).to_le_bytes());
                v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            };
            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&20u16.to_le_bytes());
            shared(&mut out);
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&body);
            central.extend_from_slice(b"PK\x01\x02");
            central.extend_from_slice(&20u16.to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes());
            shared(&mut central);
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06");
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn stored_and_deflated_entries_are_read_and_checked() {
        let d = tempfile::tempdir().unwrap();
        let text = b"user,ts\na,2024-01-01\n".repeat(50);
        let zip = archive(&[
            ("export/", b"", false),
            ("export/a.csv", &text, true),
            ("export/b.csv", b"x", false),
        ]);
        let p = d.path().join("e.zip");
        std::fs::write(&p, &zip).unwrap();
        assert!(is_zip(&p));
        let e = entries(&p).unwrap();
        assert_eq!(e.len(), 3);
        assert!(!e[0].is_data() && e[1].is_data());
        let out = d.path().join("a.csv");
        extract(&p, &e[1], &out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), text);
        // A byte changed in the stored entry: the checksum says so.
        let mut bad = zip.clone();
        // The local header's name comes first; the stored byte follows it.
        let data = bad.windows(5).position(|w| w == b"b.csv").unwrap() + 5;
        assert_eq!(bad[data], b'x');
        bad[data] = b'y';
        std::fs::write(&p, &bad).unwrap();
        let e = entries(&p).unwrap();
        let err = extract(&p, &e[2], &out).unwrap_err().to_string();
        assert!(
            err.contains("export/b.csv") && err.contains("checksum"),
            "{err}"
        );
        // Cut short: no end record.
        std::fs::write(&p, &zip[..zip.len() - 10]).unwrap();
        assert!(entries(&p).unwrap_err().to_string().contains("cut short"));
    }
}
