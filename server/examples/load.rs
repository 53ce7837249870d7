//! A bounded load generator for `persona-lab serve` (benches/serve.sh runs it): C clients, each on one
//! keep-alive connection, send `POST /v1/decide` requests until the request count or the time limit
//! is reached, whichever comes first, then print throughput, latency percentiles and errors as JSON.
//!
//!     load --addr 127.0.0.1:8080 --clients 64 --requests 200000 --seconds 10 --users 5000 \
//!          [--by-id] [--seed-redis redis://127.0.0.1:6380] [--profile-template FILE]
//!
//! Users are `user-0` ... `user-<N-1>`, each with a profile from the template (its features varied
//! per user, so users land in different segments); a user's requests come in sessions of 6, so the
//! session caps and guardrails are reached. `--by-id` sends only the user id (the profile is in the
//! store: `--seed-redis` writes it there first, as `assign --to` does).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use persona_lab_runtime::UserProfile;
use persona_lab_server::store::{Store, StoredProfile};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Args {
    addr: String,
    clients: usize,
    requests: usize,
    seconds: f64,
    users: usize,
    by_id: bool,
    seed_redis: Option<String>,
    template: String,
    /// Put into every session id, so the sessions of two runs never mix.
    tag: String,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        addr: "127.0.0.1:8080".into(),
        clients: 8,
        requests: 10_000,
        seconds: 10.0,
        users: 1000,
        by_id: false,
        seed_redis: None,
        template: "conformance/cases/limits.json".into(),
        tag: "run".into(),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let val = || {
            argv.get(i + 1)
                .cloned()
                .ok_or_else(|| format!("{} needs a value", argv[i]))
        };
        let num = |v: String| v.parse::<f64>().map_err(|e| format!("{v}: {e}"));
        match argv[i].as_str() {
            "--addr" => a.addr = val()?,
            "--clients" => a.clients = num(val()?)? as usize,
            "--requests" => a.requests = num(val()?)? as usize,
            "--seconds" => a.seconds = num(val()?)?,
            "--users" => a.users = num(val()?)? as usize,
            "--seed-redis" => a.seed_redis = Some(val()?),
            "--profile-template" => a.template = val()?,
            "--tag" => a.tag = val()?,
            "--by-id" => {
                a.by_id = true;
                i += 1;
                continue;
            }
            other => return Err(format!("unknown argument {other}")),
        }
        i += 2;
    }
    if a.clients == 0 || a.users == 0 || a.requests == 0 || a.seconds.is_nan() || a.seconds <= 0.0 {
        return Err("clients, users, requests and seconds must be positive".into());
    }
    Ok(a)
}

/// The profiles: the template's features scaled per user by a fixed pattern.
fn profiles(template: &str, n: usize) -> Result<Vec<UserProfile>, String> {
    let text = std::fs::read_to_string(template).map_err(|e| format!("{template}: {e}"))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{template}: {e}"))?;
    let base: UserProfile = serde_json::from_value(doc["cases"][0]["profile"].clone())
        .map_err(|e| format!("{template}: {e}"))?;
    Ok((0..n)
        .map(|u| {
            let mut p = base.clone();
            p.user_id = format!("user-{u}");
            for (j, v) in p.features.values_mut().enumerate() {
                let f = ((u * 7 + j * 13) % 23) as f64;
                *v = Some(f * 2.5);
            }
            p
        })
        .collect())
}

/// One HTTP/1.1 exchange on a kept connection: the status.
async fn post(conn: &mut BufReader<TcpStream>, host: &str, body: &str) -> std::io::Result<u16> {
    let req = format!(
        "POST /v1/decide HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.get_mut().write_all(req.as_bytes()).await?;
    let mut line = String::new();
    conn.read_line(&mut line).await?;
    let status: u16 = line
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::other("closed"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().map_err(std::io::Error::other)?;
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).await?;
    Ok(status)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    };
    let users = match profiles(&a.template, a.users) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    };
    if let Some(url) = &a.seed_redis {
        let store = Store::redis(url, 1).expect("a redis:// address");
        let stored: Vec<StoredProfile> = users
            .iter()
            .map(|p| StoredProfile {
                profile: p.clone(),
                segment: 0,
                persona: String::new(),
                persona_name: String::new(),
                scores: vec![],
            })
            .collect();
        store
            .put_profiles(&stored, 3600)
            .await
            .expect("profiles written to redis");
    }
    // Each request is `{<user part>,"session":{"id":"..."}}`: the user part is made once per user.
    let bodies: Vec<String> = users
        .iter()
        .map(|p| {
            if a.by_id {
                format!("\"user_id\":{}", json!(p.user_id))
            } else {
                format!(
                    "\"profile\":{}",
                    serde_json::to_string(p).unwrap_or_default()
                )
            }
        })
        .collect();
    let bodies = std::sync::Arc::new(bodies);
    let deadline = Instant::now() + Duration::from_secs_f64(a.seconds);
    let per_client = a.requests.div_ceil(a.clients);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..a.clients {
        let (bodies, addr, clients, tag) =
            (bodies.clone(), a.addr.clone(), a.clients, a.tag.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
            let mut io_errors = 0usize;
            let mut conn: Option<BufReader<TcpStream>> = None;
            for i in 0..per_client {
                if Instant::now() >= deadline {
                    break;
                }
                // Client c serves users c, c + C, c + 2C, ...: six requests (one session) each.
                let user = (c + clients * (i / 6)) % bodies.len();
                let body = format!(
                    "{{{},\"session\":{{\"id\":\"{tag}-c{c}-s{}\"}}}}",
                    bodies[user],
                    i / 6
                );
                if conn.is_none() {
                    match TcpStream::connect(&addr).await {
                        Ok(s) => {
                            s.set_nodelay(true).ok();
                            conn = Some(BufReader::new(s));
                        }
                        Err(_) => {
                            io_errors += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    }
                }
                let Some(cn) = conn.as_mut() else { continue };
                let t = Instant::now();
                match post(cn, &addr, &body).await {
                    Ok(status) => {
                        lat.push(t.elapsed().as_micros() as u32);
                        *statuses.entry(status).or_default() += 1;
                    }
                    Err(_) => {
                        io_errors += 1;
                        conn = None;
                    }
                }
            }
            (lat, statuses, io_errors)
        }));
    }
    let mut lat = Vec::new();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut io_errors = 0;
    for t in tasks {
        if let Ok((l, s, e)) = t.await {
            lat.extend(l);
            for (k, v) in s {
                *statuses.entry(k).or_default() += v;
            }
            io_errors += e;
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |q: f64| {
        if lat.is_empty() {
            0.0
        } else {
            lat[((lat.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0
        }
    };
    println!(
        "{}",
        json!({
            "clients": a.clients,
            "requests": lat.len(),
            "seconds": wall,
            "per_second": lat.len() as f64 / wall,
            "p50_ms": pct(0.5),
            "p99_ms": pct(0.99),
            "max_ms": pct(1.0),
            "statuses": statuses,
            "io_errors": io_errors,
        })
    );
}
