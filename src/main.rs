mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Features(c)) => cli::features::run(c),
        Some(Command::Inspect(c)) => cli::inspect::run(c),
        Some(Command::Sweep(c)) => cli::segment::run_sweep(c),
        Some(Command::Segment(c)) => cli::segment::run_segment(c),
        Some(Command::Sample(c)) => cli::sample::run(c),
        Some(Command::Catalogue) => {
            cli::inspect::print_catalogue();
            Ok(())
        }
        None => match &cli.file {
            Some(file) => open_file(file),
            None => {
                let _ = Cli::command().print_help();
                Ok(())
            }
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// Until the desktop app lands, opening a file shows what the app would load and the profile it computes.
fn open_file(file: &std::path::Path) -> Result<(), String> {
    use persona_lab::features::{self, FeatureConfig, TransformSpec, transform};
    let loaded = persona_lab::data::load(file, &Default::default()).map_err(|e| e.to_string())?;
    print!("{}", cli::summary::load_summary(&loaded));
    let profile =
        features::compute_profile(&loaded, &FeatureConfig::default()).map_err(|e| e.to_string())?;
    let fitted = transform::fit(&profile, &TransformSpec::default_for(&profile))
        .map_err(|e| e.to_string())?;
    print!("{}", cli::summary::profile_summary(&profile, &fitted));
    println!(
        "(the desktop app is not built yet; `persona-lab features FILE --out profile.csv` writes this profile)"
    );
    Ok(())
}
