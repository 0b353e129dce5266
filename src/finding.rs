//! Findings: what a rule reports, with positions (never spans).

use std::cmp::Ordering;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::source::Range;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "info" => Some(Level::Info),
            "warning" | "warn" => Some(Level::Warning),
            "error" => Some(Level::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary location, possibly in another file ("the blocking call is here").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub message: String,
    pub location: Option<(PathBuf, Range)>,
}

/// One diagnostic produced by a rule (or by the engine: `parse-error`, `unused-suppression`).
/// `Serialize` is for the incremental cache (`cache::StoredFinding` reads it back).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub level: Level,
    pub message: String,
    pub path: PathBuf,
    pub range: Range,
    /// Text of the primary label under the span.
    pub label: String,
    pub help: Option<String>,
    pub notes: Vec<Note>,
}

impl Finding {
    /// The total order used for every output: (path, line, column, rule), then the rest so
    /// that the order never depends on thread scheduling.
    pub fn sort_key_cmp(&self, other: &Finding) -> Ordering {
        self.path
            .cmp(&other.path)
            .then(self.range.start.cmp(&other.range.start))
            .then(self.rule.cmp(other.rule))
            .then(self.range.end.cmp(&other.range.end))
            .then(self.message.cmp(&other.message))
    }
}

/// Sorts findings deterministically and removes exact duplicates (a file can belong to
/// two targets of one package).
pub fn sort_and_dedup(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key_cmp(b));
    findings.dedup_by(|a, b| a.sort_key_cmp(b) == Ordering::Equal);
}
