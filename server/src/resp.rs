//! A small Redis client: RESP2 over TCP, pipelined commands, a pool of connections, timeouts on
//! every step. Written here rather than taken from the `redis` crate: the service needs five commands
//! (EVAL, HSET, HGET, EXPIRE, PING) and one behaviour on failure (drop the connection, report the
//! store as unavailable, connect again on the next request), and the crate brings URL and IDNA
//! parsing with it (about 40 crates) for none of that.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Why the store could not answer.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// A reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Nil,
    Int(i64),
    Bulk(Vec<u8>),
    Status(String),
    Error(String),
    Array(Vec<Reply>),
}

impl Reply {
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Reply::Status(s) => Some(s.clone()),
            Reply::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }
}

/// Where the server is: `redis://[:password@]host[:port][/db]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub addr: String,
    pub password: Option<String>,
    pub db: Option<u32>,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| format!("{url:?}: a Redis address starts with redis://"))?;
        let (auth, hostpart) = match rest.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, rest),
        };
        let password = auth.map(|a| a.split_once(':').map(|(_, p)| p).unwrap_or(a).to_string());
        let (hostport, db) = match hostpart.split_once('/') {
            Some((h, "")) => (h, None),
            Some((h, d)) => (
                h,
                Some(
                    d.parse::<u32>()
                        .map_err(|_| format!("{url:?}: the database {d:?} is not a number"))?,
                ),
            ),
            None => (hostpart, None),
        };
        if hostport.is_empty() {
            return Err(format!("{url:?}: no host"));
        }
        let addr = if hostport
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            hostport.to_string()
        } else {
            format!("{hostport}:6379")
        };
        Ok(Target {
            addr,
            password: password.filter(|p| !p.is_empty()),
            db,
        })
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
/// Replies larger than this are refused (a shown list is a few kB; nothing we ask for is larger).
const MAX_BULK: usize = 64 << 20;

struct Conn {
    stream: BufReader<TcpStream>,
}

/// Connections to one Redis server, reused; a connection that failed is dropped, never reused.
pub struct Pool {
    target: Target,
    idle: Mutex<Vec<Conn>>,
    max_idle: usize,
}

impl Pool {
    pub fn new(target: Target, max_idle: usize) -> Pool {
        Pool {
            target,
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    async fn connect(&self) -> Result<Conn, StoreError> {
        let unavailable = |e: String| StoreError(format!("redis at {}: {e}", self.target.addr));
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.target.addr))
            .await
            .map_err(|_| unavailable("connect timed out".into()))?
            .map_err(|e| unavailable(e.to_string()))?;
        stream.set_nodelay(true).ok();
        let mut conn = Conn {
            stream: BufReader::new(stream),
        };
        let mut setup = Vec::new();
        if let Some(p) = &self.target.password {
            setup.push(cmd(&["AUTH", p]));
        }
        if let Some(db) = self.target.db {
            setup.push(cmd(&["SELECT", &db.to_string()]));
        }
        if !setup.is_empty() {
            for r in conn.run(&setup).await? {
                if let Reply::Error(e) = r {
                    return Err(unavailable(e));
                }
            }
        }
        Ok(conn)
    }

    /// Send the commands in one write and read one reply per command.
    ///
    /// A kept connection that fails (the server restarted, or closed it) empties the pool, since the
    /// others are likely dead too, and the commands are sent once more on a new connection. Sending
    /// twice is safe for what the service sends: profile writes are idempotent, and an offer commit
    /// that did apply the first time fails its version check the second time.
    pub async fn query(&self, cmds: &[Vec<Vec<u8>>]) -> Result<Vec<Reply>, StoreError> {
        let kept = self.idle.lock().await.pop();
        let reused = kept.is_some();
        let mut conn = match kept {
            Some(c) => c,
            None => self.connect().await?,
        };
        let mut out = conn.run(cmds).await;
        if out.is_err() && reused {
            self.idle.lock().await.clear();
            conn = self.connect().await?;
            out = conn.run(cmds).await;
        }
        if out.is_ok() {
            let mut idle = self.idle.lock().await;
            if idle.len() < self.max_idle {
                idle.push(conn);
            }
        }
        out.map_err(|e| StoreError(format!("redis at {}: {}", self.target.addr, e.0)))
    }
}

/// A command from its parts.
pub fn cmd<S: AsRef<[u8]>>(parts: &[S]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_ref().to_vec()).collect()
}

impl Conn {
    async fn run(&mut self, cmds: &[Vec<Vec<u8>>]) -> Result<Vec<Reply>, StoreError> {
        let mut buf = Vec::new();
        for c in cmds {
            buf.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
            for part in c {
                buf.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
                buf.extend_from_slice(part);
                buf.extend_from_slice(b"\r\n");
            }
        }
        let io = |e: std::io::Error| StoreError(e.to_string());
        tokio::time::timeout(REPLY_TIMEOUT, async {
            self.stream.get_mut().write_all(&buf).await.map_err(io)?;
            let mut replies = Vec::with_capacity(cmds.len());
            for _ in cmds {
                replies.push(self.reply(0).await?);
            }
            Ok(replies)
        })
        .await
        .map_err(|_| StoreError("no reply in time".into()))?
    }

    async fn line(&mut self) -> Result<String, StoreError> {
        let mut line = Vec::new();
        let n = self
            .stream
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| StoreError(e.to_string()))?;
        if n == 0 || !line.ends_with(b"\r\n") {
            return Err(StoreError("the connection closed".into()));
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).map_err(|_| StoreError("a reply line is not text".into()))
    }

    fn reply(
        &mut self,
        depth: usize,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Reply, StoreError>> + Send + '_>> {
        Box::pin(async move {
            if depth > 8 {
                return Err(StoreError("reply nested too deep".into()));
            }
            let line = self.line().await?;
            let (kind, rest) = line.split_at(line.len().min(1));
            let int = |s: &str| {
                s.parse::<i64>()
                    .map_err(|_| StoreError(format!("bad reply length {s:?}")))
            };
            match kind {
                "+" => Ok(Reply::Status(rest.into())),
                "-" => Ok(Reply::Error(rest.into())),
                ":" => Ok(Reply::Int(int(rest)?)),
                "$" => {
                    let n = int(rest)?;
                    if n < 0 {
                        return Ok(Reply::Nil);
                    }
                    let n = n as usize;
                    if n > MAX_BULK {
                        return Err(StoreError(format!("a reply of {n} bytes is too large")));
                    }
                    let mut data = vec![0; n + 2];
                    self.stream
                        .read_exact(&mut data)
                        .await
                        .map_err(|e| StoreError(e.to_string()))?;
                    data.truncate(n);
                    Ok(Reply::Bulk(data))
                }
                "*" => {
                    let n = int(rest)?;
                    if n < 0 {
                        return Ok(Reply::Nil);
                    }
                    let mut items = Vec::with_capacity((n as usize).min(1024));
                    for _ in 0..n {
                        items.push(self.reply(depth + 1).await?);
                    }
                    Ok(Reply::Array(items))
                }
                _ => Err(StoreError(format!("unexpected reply {line:?}"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let t = Target::parse("redis://127.0.0.1:7000").unwrap();
        assert_eq!(
            (t.addr.as_str(), t.password, t.db),
            ("127.0.0.1:7000", None, None)
        );
        let t = Target::parse("redis://:s3cret@cache/2").unwrap();
        assert_eq!(
            (t.addr.as_str(), t.password.as_deref(), t.db),
            ("cache:6379", Some("s3cret"), Some(2))
        );
        assert!(Target::parse("http://x").is_err());
        assert!(Target::parse("redis://h/x").is_err());
    }
}
