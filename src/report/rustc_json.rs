//! The rustc-json format (`--message-format json`): one cargo `compiler-message` object per
//! line, as `cargo check --message-format=json` prints them, then `build-finished`. This is
//! what rust-analyzer's `check.overrideCommand` reads: it needs a primary span with byte and
//! line/column ranges (columns in characters, 1-based, end exclusive; byte offsets into the
//! file as stored, a byte order mark included, as rustc reports them) and the text of the
//! spanned lines, and it shows `code` `stateless::<rule_name>` with the source `stateless`.

use std::path::Path;

use serde_json::{json, Value};

use crate::engine::Outcome;
use crate::finding::{Finding, Level};
use crate::report::{display_path, line_text};
use crate::source::{Range, SourceText};

/// Every message names one synthetic package: findings are per file, not per package, and
/// rust-analyzer only uses the id to group the diagnostics of one run.
const PACKAGE_ID: &str = "stateless-lint";

/// Spans longer than this many lines carry only their first lines' text.
const MAX_SPAN_TEXT_LINES: u32 = 50;

fn level(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

/// `stateless::blocking_in_async` for `blocking-in-async`.
pub fn code(rule: &str) -> String {
    format!("stateless::{}", rule.replace('-', "_"))
}

/// A range with no position (a finding about a whole file) points at line 1, column 1; an
/// end before the start becomes the start.
fn clamp(range: Range) -> Range {
    let mut r = range;
    r.start.line = r.start.line.max(1);
    r.start.column = r.start.column.max(1);
    if (r.end.line, r.end.column) < (r.start.line, r.start.column) {
        r.end = r.start;
    }
    r
}

/// Bytes of a byte order mark that the parser removed from `src.text` (it is not a column),
/// read from the file's first three bytes: rustc's byte offsets count it.
fn stripped_bom_len(src: &SourceText) -> usize {
    use std::io::Read;
    if src.text.starts_with('\u{feff}') {
        return 0;
    }
    let mut head = [0u8; 3];
    match std::fs::File::open(&src.path).and_then(|mut f| f.read_exact(&mut head)) {
        Ok(()) if head == [0xEF, 0xBB, 0xBF] => head.len(),
        _ => 0,
    }
}

fn span(
    path: &Path,
    range: Range,
    source: Option<&SourceText>,
    label: Option<&str>,
    cwd: &Path,
) -> Value {
    let r = clamp(range);
    let (byte_start, byte_end, text) = match source {
        Some(s) => {
            let bom = stripped_bom_len(s);
            let start = s.offset(r.start) + bom;
            let end = (s.offset(r.end) + bom).max(start);
            let last = r.end.line.min(r.start.line + MAX_SPAN_TEXT_LINES - 1);
            let text: Vec<Value> = (r.start.line..=last)
                .map(|line| {
                    let t = line_text(s, line);
                    let len = t.chars().count() as u32 + 1;
                    let hs = if line == r.start.line {
                        r.start.column
                    } else {
                        1
                    };
                    let he = if line == r.end.line {
                        r.end.column
                    } else {
                        len
                    };
                    json!({ "text": t, "highlight_start": hs, "highlight_end": he })
                })
                .collect();
            (start, end, text)
        }
        None => (0, 0, Vec::new()),
    };
    json!({
        "file_name": display_path(path, cwd),
        "byte_start": u32::try_from(byte_start).unwrap_or(u32::MAX),
        "byte_end": u32::try_from(byte_end).unwrap_or(u32::MAX),
        "line_start": r.start.line,
        "line_end": r.end.line,
        "column_start": r.start.column,
        "column_end": r.end.column,
        "is_primary": true,
        "text": text,
        "label": label,
        "suggested_replacement": null,
        "suggestion_applicability": null,
        "expansion": null,
    })
}

fn child(lvl: &str, message: &str, spans: Vec<Value>) -> Value {
    json!({
        "message": message,
        "code": null,
        "level": lvl,
        "spans": spans,
        "children": [],
        "rendered": null,
    })
}

/// The plain-text rendering rustc would print (editors show it on hover).
fn rendered(f: &Finding, cwd: &Path) -> String {
    let r = clamp(f.range);
    let mut s = format!(
        "{}[{}]: {}\n  --> {}:{}:{}\n",
        level(f.level),
        code(f.rule),
        f.message,
        display_path(&f.path, cwd),
        r.start.line,
        r.start.column
    );
    if let Some(h) = &f.help {
        s.push_str(&format!("  = help: {h}\n"));
    }
    for n in &f.notes {
        s.push_str(&format!("  = note: {}\n", n.message));
    }
    s
}

fn diagnostic(outcome: &Outcome, f: &Finding, cwd: &Path) -> Value {
    let source = outcome.sources.get(&f.path).map(|s| &**s);
    let label = Some(f.label.as_str()).filter(|l| !l.is_empty());
    let mut children = Vec::new();
    if let Some(h) = &f.help {
        children.push(child("help", h, Vec::new()));
    }
    for n in &f.notes {
        let spans = match &n.location {
            Some((p, r)) => {
                let src = outcome.sources.get(p).map(|s| &**s);
                vec![span(p, *r, src, None, cwd)]
            }
            None => Vec::new(),
        };
        children.push(child("note", &n.message, spans));
    }
    json!({
        "$message_type": "diagnostic",
        "message": f.message,
        "code": { "code": code(f.rule), "explanation": null },
        "level": level(f.level),
        "spans": [span(&f.path, f.range, source, label, cwd)],
        "children": children,
        "rendered": rendered(f, cwd),
    })
}

/// One `compiler-message` line per finding, then `build-finished`.
pub fn render(outcome: &Outcome, cwd: &Path) -> String {
    let mut out = String::new();
    for f in &outcome.findings {
        let line = json!({
            "reason": "compiler-message",
            "package_id": PACKAGE_ID,
            "target": {
                "kind": ["lib"],
                "crate_types": ["lib"],
                "name": PACKAGE_ID,
                "src_path": f.path.to_string_lossy(),
                "edition": "2021",
                "doctest": false,
                "test": false,
                "doc": false,
            },
            "message": diagnostic(outcome, f, cwd),
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    let done = json!({
        "reason": "build-finished",
        "success": outcome.findings.is_empty() && outcome.engine_errors == 0,
    });
    out.push_str(&done.to_string());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_scoped_snake_case() {
        assert_eq!(code("blocking-in-async"), "stateless::blocking_in_async");
    }
}
