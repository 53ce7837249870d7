//! The smallest deployment: read a rule set (RON or JSON), a profile and a session (JSON files), and
//! print the decision as `persona-lab decide` does. Its size and build time are the runtime's cost to
//! a service that embeds it (see docs/deploy.md).
//!
//!     cargo run --release -p persona-lab-runtime --example decide -- R.ron profile.json [session.json]

use std::process::ExitCode;

use persona_lab_runtime::{RuleSet, Session, UserProfile};

fn run(args: &[String]) -> Result<String, String> {
    let [rules, profile, rest @ ..] = args else {
        return Err("usage: decide RULES PROFILE.json [SESSION.json]".into());
    };
    let rs = RuleSet::read(rules.as_ref()).map_err(|e| e.to_string())?;
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let profile: UserProfile =
        serde_json::from_str(&read(profile)?).map_err(|e| format!("{profile}: {e}"))?;
    let session: Session = match rest.first() {
        Some(p) => serde_json::from_str(&read(p)?).map_err(|e| format!("{p}: {e}"))?,
        None => Session::default(),
    };
    match rs.decide(&profile, &session) {
        Ok(d) => serde_json::to_string_pretty(&d).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_json().to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
