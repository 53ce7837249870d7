/// The CLI's `println!`, `print!` and `eprintln!`: every line through `terminal::clean`, since what
/// is printed holds names from the data (an escape sequence in a header or an event name must not
/// drive the terminal that shows it). Defined before the modules so that all of `cli` sees them.
macro_rules! say {
    () => { println!() };
    ($($t:tt)*) => { println!("{}", persona_lab::terminal::clean(&format!($($t)*))) };
}
macro_rules! say_part {
    ($($t:tt)*) => { print!("{}", persona_lab::terminal::clean(&format!($($t)*))) };
}
macro_rules! say_err {
    ($($t:tt)*) => { eprintln!("{}", persona_lab::terminal::clean(&format!($($t)*))) };
}

mod cli;
mod gui;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command};
use persona_lab::output::AllOrNone;

fn main() -> ExitCode {
    // A closed stdout (`| head`) ends the process like any Unix tool, instead of a panic (exit 101).
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A panic inside a guarded file reader becomes a named error ("... the file is damaged (...)"):
    // print nothing for it, rather than a backtrace that reads like a crash.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !persona_lab::data::format::reading_guarded() {
            default_hook(info);
        }
    }));
    let cli = Cli::parse();
    // Before any work: an output that is an input, or two outputs on one path, would lose a file.
    if let Some(command) = &cli.command {
        let (inputs, outputs) = command.paths();
        if let Err(e) = persona_lab::output::check_run_paths(&inputs, &outputs) {
            say_err!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    // The GUI writes one file per action; a command's several outputs land together or not at all.
    if cli.command.is_none() {
        return match gui::run(cli.file.clone()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(msg) => {
                say_err!("error: {msg}");
                ExitCode::FAILURE
            }
        };
    }
    let result = persona_lab::output::all_or_none(|| match &cli.command {
        Some(Command::Features(c)) => cli::features::run(c),
        Some(Command::Inspect(c)) => cli::inspect::run(c),
        Some(Command::Sweep(c)) => cli::segment::run_sweep(c),
        Some(Command::Segment(c)) => cli::segment::run_segment(c),
        Some(Command::Sample(c)) => cli::sample::run(c),
        Some(Command::Assign(c)) => cli::rules::run_assign(c),
        Some(Command::Decide(c)) => cli::rules::run_decide(c),
        Some(Command::Verify(c)) => cli::rules::run_verify(c),
        Some(Command::Serve(c)) => cli::serve::run(c),
        Some(Command::Sql(c)) => cli::sql::run(c),
        Some(Command::Predict(c)) => cli::predict::run(c),
        Some(Command::Report(c)) => cli::monitor::run_report(c),
        Some(Command::Drift(c)) => cli::monitor::run_drift(c),
        Some(Command::Catalogue) => {
            cli::inspect::print_catalogue();
            Ok(())
        }
        None => Ok(()),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(AllOrNone::Run { error, discarded }) => {
            say_err!("error: {error}");
            if !discarded.is_empty() {
                let names: Vec<String> =
                    discarded.iter().map(|p| p.display().to_string()).collect();
                say_err!(
                    "nothing was written: the outputs of this run land together or not at all \
                     ({} left as they were)",
                    names.join(", ")
                );
            }
            ExitCode::FAILURE
        }
        Err(AllOrNone::Commit { error, landed }) => {
            say_err!("error: {error}");
            if !landed.is_empty() {
                let names: Vec<String> = landed.iter().map(|p| p.display().to_string()).collect();
                say_err!(
                    "only these outputs were put in place before it: {}",
                    names.join(", ")
                );
            }
            ExitCode::FAILURE
        }
    }
}
