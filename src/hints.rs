//! How a message tells the user to change a setting: the command line names its flag
//! (`pass --time-format`), the app names its control ("type it in “timestamp format” in Data"). Core
//! messages are built with [`how`], so the same error reads right in both, and the app never tells
//! its user to pass a flag. The front end is chosen once at start-up.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::data::Role;

/// Which front end the messages are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frontend {
    Cli = 0,
    App = 1,
}

static FRONTEND: AtomicU8 = AtomicU8::new(Frontend::Cli as u8);

/// Set the front end (the app does this when its window is created).
pub fn set_frontend(f: Frontend) {
    FRONTEND.store(f as u8, Ordering::SeqCst);
}

pub fn frontend() -> Frontend {
    if FRONTEND.load(Ordering::SeqCst) == Frontend::App as u8 {
        Frontend::App
    } else {
        Frontend::Cli
    }
}

/// A setting a message may point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The column of a role.
    Role(Role),
    TimeFormat,
    /// The time zone of times that do not say theirs.
    TimeZone,
    Delimiter,
    /// Keep a column detected as personal data.
    KeepColumn,
    HashIds,
    /// Read the export as one row per user.
    ShapeUsers,
}

/// The instruction that changes `setting`, as a phrase that completes "…; " in a message.
pub fn how(setting: Setting) -> String {
    match (frontend(), setting) {
        (Frontend::Cli, Setting::Role(r)) => format!("name it with {}", r.flag()),
        (Frontend::App, Setting::Role(r)) => {
            format!("pick it in the “{}” drop-down of the Data view", r.label())
        }
        (Frontend::Cli, Setting::TimeFormat) => "pass --time-format".into(),
        (Frontend::App, Setting::TimeFormat) => {
            "type the format in “timestamp format” in the Data view (e.g. %d/%m/%Y %H:%M)".into()
        }
        (Frontend::Cli, Setting::TimeZone) => {
            "pass --time-zone with the zone the times are written in".into()
        }
        (Frontend::App, Setting::TimeZone) => {
            "type the zone the times are written in under “time zone” in the Data view".into()
        }
        (Frontend::Cli, Setting::Delimiter) => "pass --delimiter".into(),
        (Frontend::App, Setting::Delimiter) => {
            "save the file with commas, semicolons or tabs between the columns".into()
        }
        (Frontend::Cli, Setting::KeepColumn) => "keep it with --keep-col".into(),
        (Frontend::App, Setting::KeepColumn) => {
            "keep it by giving it a role in the Data view".into()
        }
        (Frontend::Cli, Setting::HashIds) => "consider --hash-ids".into(),
        (Frontend::App, Setting::HashIds) => "consider “hash user ids” in the Data view".into(),
        (Frontend::Cli, Setting::ShapeUsers) => "load a per-user table with --shape users".into(),
        (Frontend::App, Setting::ShapeUsers) => {
            "choose “one row per user” as the shape in the Data view".into()
        }
    }
}
