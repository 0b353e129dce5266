//! Suppression comments: `// stateless-lint: allow(rule) reason` on a line or alone on the
//! line above, and `// stateless-lint: allow-file(rule)` in a file's leading comments.
//! Attributes can't be used: `#[allow(unknown_tool::x)]` is a compile error.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

use crate::finding::{Finding, Level};
use crate::source::{Position, Range};

pub const UNUSED_SUPPRESSION: &str = "unused-suppression";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Line(u32),
    File,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Suppression {
    /// Where the comment is.
    pub range: Range,
    pub target: Target,
    pub rules: Vec<String>,
    pub reason: Option<String>,
}

const MARKER: &str = "stateless-lint:";

/// Finds the suppression comments of a file.
pub fn scan(text: &str) -> Vec<Suppression> {
    if !text.contains(MARKER) {
        return Vec::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut in_leading_comments = true;
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let is_comment_line = trimmed.starts_with("//") || trimmed.starts_with("#!");
        if !(is_comment_line || trimmed.is_empty()) {
            in_leading_comments = false;
        }
        let Some((col, body)) = find_marker(line) else {
            continue;
        };
        let rest = body.trim_start();
        let (kind, rest) = if let Some(r) = rest.strip_prefix("allow-file(") {
            (Kind::File, r)
        } else if let Some(r) = rest.strip_prefix("allow(") {
            (Kind::Line, r)
        } else {
            continue;
        };
        let Some(close) = rest.find(')') else {
            continue;
        };
        let rules: Vec<String> = rest[..close]
            .split(',')
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        let reason = Some(rest[close + 1..].trim().to_string()).filter(|r| !r.is_empty());
        let line_no = i as u32 + 1;
        let range = Range {
            start: Position {
                line: line_no,
                column: col as u32 + 1,
            },
            end: Position {
                line: line_no,
                column: line.chars().count() as u32 + 1,
            },
        };
        let target = match kind {
            Kind::File if in_leading_comments => Target::File,
            Kind::File => continue,
            Kind::Line if trimmed.starts_with("//") => {
                // Alone on its line: applies to the next line that is not blank or a comment.
                let next = lines
                    .iter()
                    .enumerate()
                    .skip(i + 1)
                    .find(|(_, l)| {
                        let t = l.trim_start();
                        !(t.is_empty() || t.starts_with("//"))
                    })
                    .map(|(j, _)| j as u32 + 1)
                    .unwrap_or(line_no + 1);
                Target::Line(next)
            }
            Kind::Line => Target::Line(line_no),
        };
        out.push(Suppression {
            range,
            target,
            rules,
            reason,
        });
    }
    out
}

enum Kind {
    Line,
    File,
}

/// The column (in characters) of the `//` that starts a suppression comment, and the text
/// after the marker.
fn find_marker(line: &str) -> Option<(usize, &str)> {
    let mut search = 0;
    while let Some(pos) = line[search..].find("//") {
        let at = search + pos;
        let after = line[at + 2..].trim_start_matches(['/', '!', ' ', '\t']);
        if let Some(body) = after.strip_prefix(MARKER) {
            let col = line[..at].chars().count();
            return Some((col, body));
        }
        search = at + 2;
    }
    None
}

/// Drops suppressed findings and reports suppressions that suppressed nothing.
/// `ran` is the set of rules that ran on this file: a suppression for a rule that did not
/// run (disabled, or not selected) is not reported as unused.
pub fn apply(
    findings: Vec<Finding>,
    suppressions: &[Suppression],
    path: &Path,
    ran: &BTreeSet<&str>,
    known: &BTreeSet<&str>,
    unused_level: Option<Level>,
) -> Vec<Finding> {
    let mut used = vec![vec![false; 0]; suppressions.len()];
    for (u, s) in used.iter_mut().zip(suppressions) {
        *u = vec![false; s.rules.len()];
    }
    let mut kept = Vec::with_capacity(findings.len());
    'findings: for f in findings {
        for (si, s) in suppressions.iter().enumerate() {
            let applies = match s.target {
                Target::File => true,
                Target::Line(l) => l == f.range.start.line,
            };
            if !applies {
                continue;
            }
            for (ri, r) in s.rules.iter().enumerate() {
                if r == f.rule || r == "all" {
                    used[si][ri] = true;
                    continue 'findings;
                }
            }
        }
        kept.push(f);
    }
    let Some(level) = unused_level else {
        return kept;
    };
    for (si, s) in suppressions.iter().enumerate() {
        for (ri, r) in s.rules.iter().enumerate() {
            if used[si][ri] {
                continue;
            }
            let message = if !known.contains(r.as_str()) && r != "all" {
                format!("suppression names an unknown rule `{r}`")
            } else if ran.contains(r.as_str()) || r == "all" {
                format!("this suppression of `{r}` suppresses nothing")
            } else {
                continue;
            };
            kept.push(Finding {
                rule: UNUSED_SUPPRESSION,
                level,
                message,
                path: path.to_path_buf(),
                range: s.range,
                label: "unused suppression".into(),
                help: Some("remove the comment, or fix the rule id it names".into()),
                notes: Vec::new(),
            });
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_trailing_standalone_and_file_suppressions() {
        let text = "// stateless-lint: allow-file(print-in-handler)\n\
                    use std::fs;\n\
                    fn a() {\n\
                    \x20   fs::read(\"x\"); // stateless-lint: allow(blocking-in-async) boot only\n\
                    \x20   // stateless-lint: allow(blocking-in-async, x)\n\
                    \x20   // a plain comment\n\
                    \x20   fs::read(\"y\");\n\
                    }\n\
                    // stateless-lint: allow-file(late) ignored: not leading\n";
        let s = scan(text);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].target, Target::File);
        assert_eq!(s[0].rules, vec!["print-in-handler"]);
        assert_eq!(s[1].target, Target::Line(4));
        assert_eq!(s[1].reason.as_deref(), Some("boot only"));
        assert_eq!(s[2].target, Target::Line(7));
        assert_eq!(s[2].rules, vec!["blocking-in-async", "x"]);
        assert_eq!(s[2].range.start.column, 5);
    }
}
