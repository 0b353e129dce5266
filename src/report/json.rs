//! The JSON format: one document, findings sorted, paths relative to the current directory.

use std::path::Path;

use serde_json::{json, Value};

use crate::engine::Outcome;
use crate::report::display_path;

pub fn render(outcome: &Outcome, cwd: &Path) -> String {
    let findings: Vec<Value> = outcome
        .findings
        .iter()
        .map(|f| {
            let notes: Vec<Value> = f
                .notes
                .iter()
                .map(|n| match &n.location {
                    Some((p, r)) => json!({
                        "message": n.message,
                        "path": display_path(p, cwd),
                        "line": r.start.line,
                        "column": r.start.column,
                    }),
                    None => {
                        json!({ "message": n.message, "path": null, "line": null, "column": null })
                    }
                })
                .collect();
            json!({
                "rule": f.rule,
                "severity": f.level.as_str(),
                "message": f.message,
                "path": display_path(&f.path, cwd),
                "line": f.range.start.line,
                "column": f.range.start.column,
                "end_line": f.range.end.line,
                "end_column": f.range.end.column,
                "help": f.help,
                "notes": notes,
            })
        })
        .collect();
    let doc = json!({
        "version": 1,
        "findings": findings,
        "summary": {
            "files": outcome.files,
            "findings": outcome.findings.len(),
            "parse_errors": outcome.parse_errors,
        }
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
