//! `persona-lab serve`: the decision service over a rule set (the server crate does the work).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use persona_lab::rules::UserProfile;
use persona_lab_server::store::Store;
use persona_lab_server::{AppState, Config, Limits};

#[derive(Debug, Args)]
pub struct ServeCmd {
    /// The rule set (RON or JSON); reloaded when it changes, once it verifies with no error
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// Port to listen on (0: any free port, printed at start)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on; the default accepts local connections only
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Keep profiles and offer counts in Redis (redis://[:password@]HOST[:PORT][/DB]); without it, in
    /// this process
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Profiles to serve by user_id without Redis: NDJSON, one decide profile per line (as written by
    /// `assign --to FILE.ndjson`)
    #[arg(long, value_name = "FILE", conflicts_with = "redis")]
    pub profiles: Option<PathBuf>,
    /// Append one NDJSON line per decision (user, rule, variant, holdout, time): the exposures that
    /// `persona-lab report` reads
    #[arg(long, value_name = "FILE")]
    pub exposures: Option<PathBuf>,
    /// Largest request body, in bytes
    #[arg(long, default_value_t = 256 * 1024, value_name = "BYTES")]
    pub max_body: usize,
    /// Answer with an error when a request takes longer than this, in milliseconds
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub timeout_ms: u64,
    /// Check the rule set file for a change this often, in milliseconds
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub reload_ms: u64,
    /// Redis connections kept open
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub connections: usize,
    /// Serve only rule sets signed with this key file (HMAC-SHA256, `segment --sign-key`); an
    /// unsigned or wrongly signed file is refused at start and on reload
    #[arg(long, value_name = "FILE")]
    pub verify_key: Option<PathBuf>,
    /// Threads answering requests (default: one per core). Fewer leave cores to a Redis or a load
    /// balancer on the same machine
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
}

/// Profiles from an NDJSON file, each line named in an error.
pub fn read_profiles(path: &std::path::Path) -> Result<Vec<UserProfile>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{}: line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

pub fn run(cmd: &ServeCmd) -> Result<(), String> {
    let store = match (&cmd.redis, &cmd.profiles) {
        (Some(url), _) => Store::redis(url, cmd.connections.max(1))?,
        (None, Some(p)) => Store::memory(read_profiles(p)?),
        (None, None) => Store::memory(vec![]),
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cmd.workers {
        builder.worker_threads(n.max(1));
    }
    let runtime = builder.enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let state = AppState::new(Config {
            rules: cmd.rules.clone(),
            store,
            exposures: cmd.exposures.clone(),
            limits: Limits {
                max_body_bytes: cmd.max_body,
                timeout: Duration::from_millis(cmd.timeout_ms),
                ..Limits::default()
            },
            reload_every: Duration::from_millis(cmd.reload_ms.max(50)),
            verify_key: cmd
                .verify_key
                .as_deref()
                .map(persona_lab::ruleset::read_key)
                .transpose()?,
        })
        .await?;
        let listener = tokio::net::TcpListener::bind((cmd.host.as_str(), cmd.port))
            .await
            .map_err(|e| format!("{}:{}: cannot listen: {e}", cmd.host, cmd.port))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        say!(
            "serving    {} on http://{addr} (store: {}); Ctrl+C stops",
            cmd.rules.display(),
            match &cmd.redis {
                Some(u) => u.clone(),
                None => "in-process".into(),
            }
        );
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        persona_lab_server::serve(listener, state, shutdown)
            .await
            .map_err(|e| e.to_string())
    })
}
