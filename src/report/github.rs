//! The GitHub format: one workflow command per finding (`::error file=..,line=..::message`),
//! which the Actions runner turns into annotations on the pull request, then the summary line.
//! GitHub shows at most 10 annotations of each type per step, so the CLI also writes
//! [`step_summary`] (every finding, as markdown) to `$GITHUB_STEP_SUMMARY` when it is set.

use std::collections::BTreeMap;
use std::path::Path;

use crate::engine::Outcome;
use crate::finding::{Finding, Level};
use crate::report::{display_path, summary_line};

/// Escaping of a command's message (actions/toolkit `escapeData`).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a command's property values (actions/toolkit `escapeProperty`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "notice",
    }
}

fn annotation(f: &Finding, cwd: &Path) -> String {
    let line = f.range.start.line.max(1);
    let col = f.range.start.column.max(1);
    let (end_line, end_col) = if (f.range.end.line, f.range.end.column) < (line, col) {
        (line, col)
    } else {
        (f.range.end.line, f.range.end.column.max(1))
    };
    let mut props = vec![
        format!("file={}", escape_property(&display_path(&f.path, cwd))),
        format!("line={line}"),
        format!("endLine={end_line}"),
    ];
    // GitHub ignores columns on annotations that span several lines.
    if end_line == line {
        props.push(format!("col={col}"));
        props.push(format!("endColumn={end_col}"));
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("stateless-lint: {}", f.rule))
    ));
    let mut message = f.message.clone();
    if let Some(h) = &f.help {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    format!(
        "::{} {}::{}\n",
        command(f.level),
        props.join(","),
        escape_data(&message)
    )
}

/// The workflow commands, then the human summary line.
pub fn render(outcome: &Outcome, cwd: &Path) -> String {
    let mut out = String::new();
    for f in &outcome.findings {
        out.push_str(&annotation(f, cwd));
    }
    out.push_str(&summary_line(outcome, None));
    out.push('\n');
    out
}

/// Text in a markdown table cell: no line breaks, pipes and markup escaped.
fn cell(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(one_line.len());
    for c in one_line.chars() {
        if matches!(c, '|' | '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// GitHub caps a step summary at 1 MiB; past this many rows the table says how many more.
const MAX_SUMMARY_ROWS: usize = 1000;

/// A markdown page with counts per rule and a table of every finding.
pub fn step_summary(outcome: &Outcome, cwd: &Path) -> String {
    let mut out = String::from("## stateless-lint\n\n");
    out.push_str(&summary_line(outcome, None));
    out.push_str("\n\n");
    if outcome.findings.is_empty() {
        return out;
    }
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &outcome.findings {
        *per_rule.entry(f.rule).or_default() += 1;
    }
    out.push_str("| rule | findings |\n| --- | ---: |\n");
    for (rule, n) in &per_rule {
        out.push_str(&format!("| `{rule}` | {n} |\n"));
    }
    out.push_str("\n| location | level | rule | message |\n| --- | --- | --- | --- |\n");
    for f in outcome.findings.iter().take(MAX_SUMMARY_ROWS) {
        out.push_str(&format!(
            "| {}:{}:{} | {} | `{}` | {} |\n",
            cell(&display_path(&f.path, cwd)),
            f.range.start.line,
            f.range.start.column,
            f.level,
            f.rule,
            cell(&f.message)
        ));
    }
    if outcome.findings.len() > MAX_SUMMARY_ROWS {
        out.push_str(&format!(
            "\n…and {} more findings (run `cargo-stateless-lint` locally to see them all).\n",
            outcome.findings.len() - MAX_SUMMARY_ROWS
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_actions_toolkit() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("src/a:b,c%.rs"), "src/a%3Ab%2Cc%25.rs");
    }

    #[test]
    fn table_cells_stay_on_one_line() {
        assert_eq!(cell("a | b\n`c`"), "a \\| b \\`c\\`");
    }
}
