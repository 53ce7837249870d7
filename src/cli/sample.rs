//! `persona-lab sample`: write the synthetic fashion-retailer export.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use persona_lab::sample::{self, SampleOptions, SampleStyle};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StyleArg {
    /// GA4 BigQuery export, flattened
    Ga4,
    /// GA4 BigQuery export as BigQuery writes it: nested event_params (.ndjson with INT64 as strings, .parquet or .avro)
    Ga4Bigquery,
    /// Segment track / page calls (NDJSON)
    Segment,
    /// One row per user (CRM-style table)
    Users,
}

#[derive(Debug, Args)]
pub struct SampleCmd {
    /// Number of users
    #[arg(long, default_value_t = 2000)]
    pub users: usize,
    /// Random seed (the same seed gives the same file)
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Days covered by the export
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Layout of the export
    #[arg(long, value_enum, default_value = "ga4")]
    pub style: StyleArg,
    /// Output file: .csv, .csv.gz, .parquet, .ndjson (format by extension); with --style
    /// ga4-bigquery also a folder (a path ending in /): one Parquet file per day, as BigQuery keeps
    /// its daily tables
    #[arg(long, short)]
    pub out: PathBuf,
    /// Also write the planted group of every user to this file
    #[arg(long)]
    pub truth: Option<PathBuf>,
}

pub fn run(cmd: &SampleCmd) -> Result<(), String> {
    if cmd.users == 0 {
        return Err("--users must be at least 1".into());
    }
    if cmd.days == 0 {
        return Err("--days must be at least 1".into());
    }
    let style = match cmd.style {
        StyleArg::Ga4 => SampleStyle::Ga4,
        StyleArg::Ga4Bigquery => SampleStyle::Ga4BigQuery,
        StyleArg::Segment => SampleStyle::Segment,
        StyleArg::Users => SampleStyle::Users,
    };
    let opts = SampleOptions {
        users: cmd.users,
        seed: cmd.seed,
        days: cmd.days,
        style,
    };
    let s =
        sample::write_sample(&opts, &cmd.out, cmd.truth.as_deref()).map_err(|e| e.to_string())?;
    say!(
        "wrote {} ({} users, {} events, seed {})",
        cmd.out.display(),
        cmd.users,
        s.n_events(),
        cmd.seed
    );
    Ok(())
}
