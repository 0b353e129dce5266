//! The SARIF 2.1.0 format, in the shape GitHub code scanning accepts: every rule of the
//! registry and every engine diagnostic in `tool.driver.rules[]`, a `level` on every result,
//! relative URIs with `uriBaseId`, character columns (`columnKind`), and a stable
//! `partialFingerprints.primaryLocationLineHash`.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::engine::Outcome;
use crate::finding::{Finding, Level};
use crate::report::{display_path, RULE_DOCS_BASE_URL, TOOL_DOCS_URL};
use crate::rules;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// GitHub rejects descriptions over 1,024 characters.
const MAX_DESCRIPTION: usize = 1024;

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max - 1).collect();
    s.push('…');
    s
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

/// The "What it does" section of a rule's docs, as one paragraph of plain text.
fn what_it_does(docs: &str) -> Option<String> {
    let mut lines = docs.lines().map(|l| l.strip_prefix(' ').unwrap_or(l));
    lines.find(|l| l.trim() == "## What it does")?;
    let body: Vec<&str> = lines
        .take_while(|l| !l.starts_with("## "))
        .map(str::trim)
        .collect();
    let text = body
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!text.is_empty()).then_some(text)
}

/// `tool.driver.rules[]`: rules of the registry first (sorted by id), then engine diagnostics.
fn rule_descriptors() -> Vec<Value> {
    let mut out = Vec::new();
    for rule in rules::all() {
        let m = rule.meta();
        let page = rules::doc_page(m);
        let full = what_it_does(m.docs).unwrap_or_else(|| m.summary.to_string());
        out.push(json!({
            "id": m.id,
            "name": m.id,
            "shortDescription": { "text": truncate(m.summary, MAX_DESCRIPTION) },
            "fullDescription": { "text": truncate(&full, MAX_DESCRIPTION) },
            "help": { "text": page, "markdown": page },
            "helpUri": format!("{RULE_DOCS_BASE_URL}{}.md", m.id),
            "defaultConfiguration": { "level": sarif_level(m.default_level) },
            "properties": { "tags": ["stateless-lint"], "precision": "high" },
        }));
    }
    for (id, level, summary) in rules::ENGINE_DIAGNOSTICS {
        let help = format!(
            "{summary}.\n\nThis is a diagnostic of the linter itself, not a rule; see {TOOL_DOCS_URL}."
        );
        out.push(json!({
            "id": id,
            "name": id,
            "shortDescription": { "text": truncate(summary, MAX_DESCRIPTION) },
            "fullDescription": { "text": truncate(summary, MAX_DESCRIPTION) },
            "help": { "text": help, "markdown": help },
            "helpUri": TOOL_DOCS_URL,
            "defaultConfiguration": { "level": sarif_level(*level) },
            "properties": { "tags": ["stateless-lint"] },
        }));
    }
    out
}

/// Percent-encodes what may not appear in a URI path (keeps `/` and unreserved characters).
fn encode_uri_path(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                s.push(b as char)
            }
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

/// An `artifactLocation`: relative to `%SRCROOT%` (the directory the linter ran in, which
/// should be the repository root) when the file is under it, else an absolute `file` URI.
fn artifact_location(path: &Path, cwd: &Path) -> Value {
    let shown = display_path(path, cwd);
    if Path::new(&shown).is_absolute() {
        let p = if shown.starts_with('/') {
            shown
        } else {
            format!("/{shown}")
        };
        json!({ "uri": format!("file://{}", encode_uri_path(&p)) })
    } else {
        json!({ "uri": encode_uri_path(&shown), "uriBaseId": "%SRCROOT%" })
    }
}

/// A SARIF region; positions of 0 (a finding about a whole file) become line 1, column 1,
/// and an end before the start becomes the start.
fn region(range: crate::source::Range) -> Value {
    let start_line = range.start.line.max(1);
    let start_col = range.start.column.max(1);
    let (end_line, end_col) = if (range.end.line, range.end.column) < (start_line, start_col) {
        (start_line, start_col)
    } else {
        (range.end.line, range.end.column.max(1))
    };
    json!({
        "startLine": start_line,
        "startColumn": start_col,
        "endLine": end_line,
        "endColumn": end_col,
    })
}

fn non_empty(text: &str, fallback: &str) -> String {
    if text.trim().is_empty() {
        fallback.to_string()
    } else {
        text.to_string()
    }
}

fn result(f: &Finding, fingerprint: &str, rule_index: Option<usize>, cwd: &Path) -> Value {
    let mut message = non_empty(&f.message, f.rule);
    if let Some(h) = f.help.as_deref().filter(|h| !h.trim().is_empty()) {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    let mut r = Map::new();
    r.insert("ruleId".into(), json!(f.rule));
    if let Some(i) = rule_index {
        r.insert("ruleIndex".into(), json!(i));
    }
    r.insert("level".into(), json!(sarif_level(f.level)));
    r.insert("message".into(), json!({ "text": message }));
    r.insert(
        "locations".into(),
        json!([{
            "physicalLocation": {
                "artifactLocation": artifact_location(&f.path, cwd),
                "region": region(f.range),
            }
        }]),
    );
    let related: Vec<Value> = f
        .notes
        .iter()
        .filter_map(|n| n.location.as_ref().map(|loc| (n, loc)))
        .enumerate()
        .map(|(i, (n, (path, range)))| {
            json!({
                "id": i,
                "message": { "text": non_empty(&n.message, "related location") },
                "physicalLocation": {
                    "artifactLocation": artifact_location(path, cwd),
                    "region": region(*range),
                }
            })
        })
        .collect();
    if !related.is_empty() {
        r.insert("relatedLocations".into(), Value::Array(related));
    }
    r.insert(
        "partialFingerprints".into(),
        json!({ "primaryLocationLineHash": fingerprint }),
    );
    Value::Object(r)
}

/// Renders the outcome as one SARIF log. `fingerprints[i]` belongs to `outcome.findings[i]`.
pub fn render(outcome: &Outcome, cwd: &Path, fingerprints: &[String]) -> String {
    let descriptors = rule_descriptors();
    let index_of = |id: &str| descriptors.iter().position(|d| d["id"] == id);
    let results: Vec<Value> = outcome
        .findings
        .iter()
        .zip(fingerprints)
        .map(|(f, fp)| result(f, fp, index_of(f.rule), cwd))
        .collect();
    let doc = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "stateless-lint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": TOOL_DOCS_URL,
                    "rules": descriptors,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths_are_percent_encoded() {
        assert_eq!(encode_uri_path("src/a b/é.rs"), "src/a%20b/%C3%A9.rs");
        assert_eq!(encode_uri_path("src/x#1.rs"), "src/x%231.rs");
    }

    #[test]
    fn whole_file_positions_become_line_one() {
        let r = region(crate::source::Range::default());
        assert_eq!(
            (&r["startLine"], &r["endLine"], &r["endColumn"]),
            (&json!(1), &json!(1), &json!(1))
        );
    }

    #[test]
    fn long_descriptions_are_cut_to_githubs_limit() {
        let long = "x".repeat(2000);
        assert_eq!(truncate(&long, MAX_DESCRIPTION).chars().count(), 1024);
        assert_eq!(truncate("short", MAX_DESCRIPTION), "short");
    }
}
