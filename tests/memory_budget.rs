//! An export larger than the machine can analyse in memory is streamed (events) or stops before it is
//! read (a per-user table, a single file read whole), with a message naming the file, what it needs
//! and what limits it, and leaves no output file.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::says;

const BIN: &str = env!("CARGO_BIN_EXE_persona-lab");

fn features(input: &Path, out: &Path, env: &[(&str, &str)], address_space: Option<u64>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("features").arg(input).arg("--out").arg(out);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(limit) = address_space {
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let r = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    cmd.output().unwrap()
}

/// A 1.5 GB export (sparse: a real header and rows, then zeros the disk does not store) on a process
/// limited to 3 GB of address space: it would need about 3.8 GB in memory, so it is streamed, and
/// the zeros past its rows are named as binary where they start, with no output written.
#[test]
fn an_export_larger_than_the_memory_limit_is_streamed_and_a_binary_tail_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("huge.csv");
    let mut text = String::from("user_pseudo_id,event_timestamp,event_name\n");
    for i in 0..4000 {
        text += &format!("u{},{},page_view\n", i % 50, 1_725_148_800_000_000i64 + i);
    }
    std::fs::write(&input, &text).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&input)
        .unwrap()
        .set_len(1_500_000_000)
        .unwrap();
    let out = dir.path().join("profile.csv");
    let start = Instant::now();
    let o = features(&input, &out, &[], Some(3 << 30));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    says(
        &stderr,
        &[
            "huge.csv",
            &format!("binary bytes near offset {}", text.len()),
        ],
    );
    assert!(start.elapsed() < Duration::from_secs(60), "too slow");
    assert!(!out.exists());
}

#[test]
fn the_memory_budget_can_be_set_and_lifted() {
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/fashion_ga4_events.csv.gz");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("profile.csv");
    let whole = dir.path().join("whole.csv");

    let o = features(
        &sample,
        &whole,
        &[("PERSONA_LAB_MEMORY", "unlimited")],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The gzip trailer gives the uncompressed size: about 57 MB are needed, more than 16 MB: the
    // export is streamed, and the profile is the same, byte for byte.
    let o = features(&sample, &out, &[("PERSONA_LAB_MEMORY", "16M")], None);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("streamed   read in batches"), "{stdout}");
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&whole).unwrap());
    std::fs::remove_file(&out).unwrap();

    let o = features(&sample, &out, &[("PERSONA_LAB_MEMORY", "a lot")], None);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not a size"), "{stderr}");

    // A per-user table is read whole: one larger than the budget is refused before reading.
    let users = dir.path().join("users.csv");
    let mut text = String::from("user_id,orders,revenue\n");
    for i in 0..60_000 {
        text += &format!("u{i},{},{}.5\n", i % 9, i % 400);
    }
    std::fs::write(&users, &text).unwrap();
    let o = features(&users, &out, &[("PERSONA_LAB_MEMORY", "2M")], None);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    says(
        &stderr,
        &[
            "users.csv",
            "too large to analyse in memory",
            "PERSONA_LAB_MEMORY is",
        ],
    );
    assert!(!out.exists());

    for budget in ["unlimited", "1G"] {
        let o = features(&sample, &out, &[("PERSONA_LAB_MEMORY", budget)], None);
        assert!(
            o.status.success(),
            "{budget}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.exists());
        std::fs::remove_file(&out).unwrap();
    }
}

/// Peak memory (max RSS, bytes) of one run of the binary, from the kernel's accounting of that child.
fn peak_rss(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> (i32, u64) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    #[allow(clippy::zombie_processes)] // reaped by wait4 below, which also reports its memory
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 fills it for this child only.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    // Reaped by wait4 above (std's own wait would find no child now).
    std::mem::forget(child);
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64 * 1024)
}

/// Avro's deflate hides an 8x ratio: the estimate counts the decoded blocks, so it holds the real
/// peak, and a budget the file's size alone would pass refuses the export.
#[test]
fn the_avro_estimate_holds_the_real_peak() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.avro");
    let out = dir.path().join("profile.csv");
    let s = |p: &Path| p.as_os_str().to_owned();
    let made = Command::new(BIN)
        .args([
            "sample",
            "--style",
            "ga4-bigquery",
            "--users",
            "1000",
            "--out",
        ])
        .arg(&input)
        .output()
        .unwrap();
    assert!(made.status.success());
    let size = std::fs::metadata(&input).unwrap().len();
    // Five times the file would be enough by its size; it is not.
    let budget = format!("{}", size * 5);
    let o = features(&input, &out, &[("PERSONA_LAB_MEMORY", &budget)], None);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("too large to analyse in memory"),
        "{stderr}"
    );
    let needed_mb: f64 = stderr
        .split("needs about ")
        .nth(1)
        .and_then(|t| t.split(" MB").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    let (code, peak) = peak_rss(
        &["features".as_ref(), &s(&input), "--out".as_ref(), &s(&out)],
        &[("PERSONA_LAB_MEMORY", "unlimited")],
    );
    assert_eq!(code, 0);
    // What the process takes with no data to speak of (code, thread stacks, allocator arenas): the
    // estimate is of the data's share.
    let tiny = dir.path().join("tiny.csv");
    std::fs::write(
        &tiny,
        "user_pseudo_id,event_timestamp,event_name\nu1,1725148800000000,page_view\n",
    )
    .unwrap();
    let (code, base) = peak_rss(
        &["features".as_ref(), &s(&tiny), "--out".as_ref(), &s(&out)],
        &[],
    );
    assert_eq!(code, 0);
    assert!(
        needed_mb * 1e6 >= (peak - base) as f64,
        "estimated {needed_mb} MB, peak {} MB over a base of {} MB",
        peak / 1_000_000,
        base / 1_000_000
    );
}
