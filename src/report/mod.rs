//! Reports: one module per output format, each a pure function from the outcome of a run
//! to text.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::Outcome;
use crate::finding::Level;
use crate::source::{Position, SourceText};

pub mod github;
pub mod human;
pub mod json;
pub mod rustc_json;
pub mod sarif;
pub mod statistics;

/// Where a rule's documentation page is published: `docs/rules/<id>.md` of this repository
/// on GitHub. SARIF's `helpUri` and the editor links point there.
pub const RULE_DOCS_BASE_URL: &str =
    "https://github.com/stateless-lint/stateless-lint/blob/main/docs/rules/";

/// The tool's own documentation (engine diagnostics have no rule page).
pub const TOOL_DOCS_URL: &str =
    "https://github.com/stateless-lint/stateless-lint/blob/main/docs/robustness.md";

/// `path` relative to `cwd` when it lies under it, with `/` separators.
pub fn display_path(path: &Path, cwd: &Path) -> String {
    let p: PathBuf = match path.strip_prefix(cwd) {
        Ok(rel) => rel.to_path_buf(),
        Err(_) => path.to_path_buf(),
    };
    let s = p.to_string_lossy().into_owned();
    if std::path::MAIN_SEPARATOR == '\\' {
        s.replace('\\', "/")
    } else {
        s
    }
}

/// The text of a 1-based line without its line terminator ("" past the end or for line 0).
pub fn line_text(src: &SourceText, line: u32) -> &str {
    if line == 0 {
        return "";
    }
    let start = src.offset(Position { line, column: 1 }).min(src.text.len());
    let rest = &src.text[start..];
    let end = rest.find('\n').unwrap_or(rest.len());
    rest[..end].trim_end_matches('\r')
}

/// Counts per level.
pub fn counts(outcome: &Outcome) -> [usize; 3] {
    let mut c = [0; 3];
    for f in &outcome.findings {
        match f.level {
            Level::Error => c[0] += 1,
            Level::Warning => c[1] += 1,
            Level::Info => c[2] += 1,
        }
    }
    c
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The one summary line of the human format.
pub fn summary_line(outcome: &Outcome, elapsed: Option<Duration>) -> String {
    let [e, w, i] = counts(outcome);
    let mut s = format!(
        "{} analysed: {}, {}, {}",
        plural(outcome.files, "file", "files"),
        plural(e, "error", "errors"),
        plural(w, "warning", "warnings"),
        i.to_string() + " info"
    );
    if outcome.parse_errors > 0 {
        s.push_str(&format!(
            " ({} could not be parsed)",
            plural(outcome.parse_errors, "file", "files")
        ));
    }
    if let Some(d) = elapsed {
        s.push_str(&format!(" in {:.2}s", d.as_secs_f64()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_text_drops_terminators_and_is_empty_out_of_range() {
        let src = SourceText::new("a.rs".into(), "fn a() {}\r\n  let é = 1;\nlast".into());
        assert_eq!(line_text(&src, 1), "fn a() {}");
        assert_eq!(line_text(&src, 2), "  let é = 1;");
        assert_eq!(line_text(&src, 3), "last");
        assert_eq!(line_text(&src, 4), "");
        assert_eq!(line_text(&src, 0), "");
    }
}
