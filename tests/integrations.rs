//! The integration formats and modes as CI, editors and pre-commit use them: SARIF (validated
//! against the official schema), GitHub workflow commands and step summary, rustc JSON
//! (parsed with cargo_metadata's message types), statistics, --output, --exit-zero,
//! baselines and diff mode.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

/// Validates a JSON document against the shipped SARIF 2.1.0 schema; Err(message) if invalid.
fn validate_sarif(doc: &str, dir: &Path) -> Result<(), String> {
    let file = dir.join("validate-me.sarif");
    std::fs::write(&file, doc).expect("write");
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-schema-2.1.0.json");
    let o = Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft7Validator.check_schema(schema)\n\
             errors = list(jsonschema.Draft7Validator(schema).iter_errors(json.load(open(sys.argv[2]))))\n\
             for e in errors: print(list(e.absolute_path), e.message)\n\
             sys.exit(1 if errors else 0)",
        ])
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("run python3");
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", stdout(&o), stderr(&o)))
    }
}

#[test]
fn sarif_is_valid_against_the_official_schema_and_lists_every_rule() {
    let dir = sample("sarif");
    let o = run(&dir, &["--format", "sarif", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    let doc: Value = serde_json::from_str(&text).expect("sarif is json");
    let run0 = &doc["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules[]");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    let mut expected: Vec<&str> = stateless_lint::rules::all()
        .iter()
        .map(|r| r.meta().id)
        .collect();
    expected.extend(
        stateless_lint::rules::ENGINE_DIAGNOSTICS
            .iter()
            .map(|d| d.0),
    );
    assert_eq!(ids, expected);
    for r in rules {
        for key in [
            "name",
            "shortDescription",
            "fullDescription",
            "help",
            "helpUri",
        ] {
            assert!(!r[key].is_null(), "rule {} has no {key}", r["id"]);
        }
        assert!(r["helpUri"].as_str().unwrap_or("").starts_with("https://"));
        assert!(!r["help"]["markdown"].as_str().unwrap_or("").is_empty());
    }
    let results = run0["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{text}");
    for r in results {
        let idx = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert!(matches!(
            r["level"].as_str(),
            Some("error" | "warning" | "note")
        ));
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(!loc["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or("/")
            .starts_with('/'));
        let fp = r["partialFingerprints"]["primaryLocationLineHash"]
            .as_str()
            .expect("fingerprint");
        assert!(fp.len() > 17 && fp.contains(':'), "{fp}");
    }
    insta::assert_snapshot!(
        "sarif_results",
        serde_json::to_string_pretty(&run0["results"]).expect("json")
    );

    if !python_has("jsonschema") {
        return;
    }
    validate_sarif(&text, &dir).unwrap_or_else(|e| panic!("invalid SARIF: {e}"));
    // The validator does reject what GitHub rejects (cargo-deny's string `message`).
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["message"] = Value::String("plain".into());
    let err = validate_sarif(&broken.to_string(), &dir).expect_err("must be rejected");
    assert!(err.contains("message"), "{err}");
    // Every fixture crate (every rule, notes in other files, engine diagnostics) and the demo.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = run(
        root,
        &["--format", "sarif", "--include-tests", "fixtures", "demo"],
    );
    let all = stdout(&o);
    let doc: Value = serde_json::from_str(&all).expect("json");
    let fired: std::collections::BTreeSet<&str> = doc["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    assert!(fired.len() >= 2, "{fired:?}");
    validate_sarif(&all, &dir).unwrap_or_else(|e| panic!("invalid SARIF on fixtures: {e}"));
    // An empty run (no findings) is valid too.
    let clean = scratch(
        "sarif-clean",
        &[("Cargo.toml", MANIFEST), ("src/lib.rs", "pub fn f() {}\n")],
    );
    let o = run(&clean, &["--format", "sarif"]);
    assert_eq!(o.status.code(), Some(0));
    validate_sarif(&stdout(&o), &dir).unwrap_or_else(|e| panic!("invalid SARIF: {e}"));
}

#[test]
fn fingerprints_survive_line_shifts_and_reindentation() {
    let dir = sample("fingerprints");
    let prints = |dir: &Path| -> Vec<String> {
        let o = run(dir, &["--format", "sarif"]);
        let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
        doc["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["partialFingerprints"]["primaryLocationLineHash"].to_string())
            .collect()
    };
    let before = prints(&dir);
    write(
        &dir,
        "src/lib.rs",
        "mod store;\n\n// a comment\n\npub async fn save(s: &str) {\n        store::pause(1);\n}\n\n\npub async fn nap() {\n  std::thread::sleep(std::time::Duration::from_secs(1));\n}\n",
    );
    assert_eq!(prints(&dir), before);
    // The same blocking line twice: two distinct fingerprints.
    write(
        &dir,
        "src/lib.rs",
        "mod store;\npub async fn save(s: &str) {\n    store::pause(1);\n}\npub async fn nap() {\n    std::thread::sleep(std::time::Duration::from_secs(1));\n    std::thread::sleep(std::time::Duration::from_secs(1));\n}\n",
    );
    let twice = prints(&dir);
    assert_eq!(twice.len(), 3);
    assert_eq!(twice[0], before[0]);
    assert_eq!(twice[1], before[1]);
    assert_ne!(twice[1], twice[2]);
}

#[test]
fn github_format_escapes_commands_and_writes_a_step_summary() {
    let dir = sample("github");
    let summary = dir.join("summary.md");
    std::fs::write(&summary, "earlier step\n").expect("write");
    let o = bin(&dir)
        .args(["--format", "github"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    insta::assert_snapshot!("github_annotations", out);
    for line in out.lines().filter(|l| l.starts_with("::")) {
        let (props, message) = line[2..].split_once("::").expect("command::message");
        assert!(!message.contains('\n') && !message.contains('\r'));
        let (_, props) = props.split_once(' ').expect("command props");
        for p in props.split(',') {
            let (_, v) = p.split_once('=').expect("key=value");
            assert!(!v.contains(':'), "unescaped ':' in {line}");
        }
    }
    let md = std::fs::read_to_string(&summary).expect("summary written");
    assert!(
        md.starts_with("earlier step\n## stateless-lint\n"),
        "appends: {md}"
    );
    assert_eq!(md.matches("| `blocking-in-async` |").count(), 3, "{md}");
    assert!(
        md.contains("| src/lib.rs:8:5 | error | `blocking-in-async` |"),
        "{md}"
    );
}

#[test]
fn rustc_json_is_what_cargo_metadata_and_rust_analyzer_parse() {
    // A BOM, CRLF line ends and multi-byte characters before the call.
    let dir = scratch(
        "rustc-json",
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "\u{feff}// é\r\npub async fn h() {\r\n    let _é = \"ü\"; std::thread::sleep(d);\r\n}\r\n",
            ),
        ],
    );
    for args in [
        &["--message-format", "json"][..],
        &["--message-format=json"],
        &["--format", "rustc-json"],
    ] {
        let o = run(&dir, args);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let out = stdout(&o);
        let file = std::fs::read(dir.join("src/lib.rs")).expect("read");
        let messages: Vec<cargo_metadata::Message> =
            cargo_metadata::Message::parse_stream(out.as_bytes())
                .collect::<Result<_, _>>()
                .expect("every line parses");
        assert_eq!(messages.len(), 2, "{out}");
        let cargo_metadata::Message::CompilerMessage(m) = &messages[0] else {
            panic!("not a compiler-message: {:?}", messages[0]);
        };
        let d = &m.message;
        assert_eq!(
            d.code.as_ref().map(|c| c.code.as_str()),
            Some("stateless::blocking_in_async")
        );
        assert_eq!(d.level, cargo_metadata::diagnostic::DiagnosticLevel::Error);
        assert!(d
            .rendered
            .as_deref()
            .unwrap_or("")
            .contains("src/lib.rs:3:"));
        let span = d.spans.iter().find(|s| s.is_primary).expect("primary span");
        assert_eq!(span.file_name, "src/lib.rs");
        assert_eq!((span.line_start, span.line_end), (3, 3));
        // Columns count characters: `std` is the 19th character of `    let _é = "ü"; std…`.
        assert_eq!((span.column_start, span.column_end), (19, 37));
        let bytes = &file[span.byte_start as usize..span.byte_end as usize];
        assert_eq!(std::str::from_utf8(bytes), Ok("std::thread::sleep"));
        assert_eq!(
            span.text[0].text,
            "    let _é = \"ü\"; std::thread::sleep(d);"
        );
        assert_eq!(span.text[0].highlight_start, 19);
        assert!(d
            .children
            .iter()
            .any(|c| c.level == cargo_metadata::diagnostic::DiagnosticLevel::Help));
        assert!(matches!(
            &messages[1],
            cargo_metadata::Message::BuildFinished(b) if !b.success
        ));
    }
    // A note in another file becomes a child with its own primary span.
    let dir = sample("rustc-json-notes");
    let o = run(&dir, &["--message-format", "json"]);
    let line = stdout(&o).lines().next().unwrap_or_default().to_string();
    let m: Value = serde_json::from_str(&line).expect("json");
    let located: Vec<&Value> = m["message"]["children"]
        .as_array()
        .expect("children")
        .iter()
        .filter(|c| !c["spans"].as_array().is_none_or(|s| s.is_empty()))
        .collect();
    assert_eq!(located.len(), 1, "{line}");
    assert_eq!(located[0]["spans"][0]["file_name"], "src/store.rs");
    assert_eq!(located[0]["spans"][0]["line_start"], 2);
    // --message-format and --format together are a usage error.
    let o = run(&dir, &["--message-format", "json", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn statistics_output_file_and_exit_zero() {
    let dir = sample("statistics");
    let o = run(&dir, &["--statistics"]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("statistics", stdout(&o));
    let o = run(&dir, &["--statistics", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));

    let report = dir.join("out/report.json");
    std::fs::create_dir_all(report.parent().expect("parent")).expect("mkdir");
    let o = run(
        &dir,
        &[
            "--format",
            "json",
            "--output",
            report.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("written")).expect("json");
    assert_eq!(doc["summary"]["findings"], 2);
    let o = run(&dir, &["-o", "/definitely/not/here/x.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot write"), "{}", stderr(&o));

    assert_eq!(run(&dir, &["--exit-zero"]).status.code(), Some(0));
    // --exit-zero does not hide a usage error.
    assert_eq!(
        run(&dir, &["--exit-zero", "--select", "nope"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn baseline_hides_known_findings_across_line_shifts_and_shows_new_ones() {
    let dir = sample("baseline");
    let o = run(&dir, &["--write-baseline", "baseline.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("wrote 2 findings"), "{}", stderr(&o));
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("baseline.json")).expect("written"))
            .expect("json");
    assert_eq!(file["version"], 1);
    assert_eq!(file["findings"][0]["path"], "src/lib.rs");
    assert_eq!(
        run(&dir, &["--baseline", "baseline.json"]).status.code(),
        Some(0)
    );

    // Code moves down and is re-indented; a new blocking call appears.
    write(
        &dir,
        "src/lib.rs",
        "mod store;\n\n\n\npub async fn save(s: &str) {\n\tstore::pause(1);\n}\n\npub async fn nap() {\n    std::thread::sleep(std::time::Duration::from_secs(1));\n    std::thread::sleep(std::time::Duration::from_millis(2));\n}\n",
    );
    let o = run(&dir, &["--baseline", "baseline.json", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    let lines: Vec<&Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| &f["line"])
        .collect();
    assert_eq!(lines, [&Value::from(11)]);

    for bad in ["{\"version\": 7, \"findings\": []}", "not json"] {
        std::fs::write(dir.join("bad.json"), bad).expect("write");
        let o = run(&dir, &["--baseline", "bad.json"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("baseline"), "{}", stderr(&o));
    }
    let o = run(&dir, &["--baseline", "missing.json"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn diff_base_reports_changed_lines_and_untracked_files_only_and_runs_no_repo_program() {
    let dir = sample("diff");
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "one"]);
    // On a branch: a new blocking call on a new line (committed), and a new untracked module.
    git(&dir, &["checkout", "-q", "-b", "feature"]);
    write(
        &dir,
        "src/lib.rs",
        "mod store;\nmod fresh;\n\npub async fn save(s: &str) {\n    store::pause(1);\n}\n\npub async fn nap() {\n    std::thread::sleep(std::time::Duration::from_secs(1));\n    std::thread::sleep(std::time::Duration::from_millis(2));\n}\n",
    );
    git(&dir, &["commit", "-q", "-am", "two"]);
    write(
        &dir,
        "src/fresh.rs",
        "pub async fn f() { std::thread::sleep(std::time::Duration::from_millis(3)); }\n",
    );
    // Hostile repository configuration: each of these would run a program if honoured.
    let marker = dir.join("PWNED");
    let cmd = format!("touch {}", marker.display());
    for (key, value) in [
        ("diff.external", cmd.as_str()),
        ("core.fsmonitor", cmd.as_str()),
        ("core.pager", cmd.as_str()),
        ("pager.diff", cmd.as_str()),
        ("diff.evil.textconv", cmd.as_str()),
    ] {
        git(&dir, &["config", key, value]);
    }
    write(&dir, ".gitattributes", "*.rs diff=evil\n");
    git(&dir, &["config", "core.hooksPath", ".githooks"]);
    for hook in [
        "post-checkout",
        "post-index-change",
        "reference-transaction",
    ] {
        write(
            &dir,
            &format!(".githooks/{hook}"),
            &format!("#!/bin/sh\n{cmd}\n"),
        );
    }

    let paths = |o: &Output| -> Vec<(String, u64)> {
        let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap_or("").to_string(),
                    f["line"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    let o = run(&dir, &["--diff-base", "main", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        paths(&o),
        [
            ("src/fresh.rs".to_string(), 1),
            ("src/lib.rs".to_string(), 10)
        ]
    );
    // From a subdirectory of the repository, the same lines.
    let o = run(
        &dir.join("src"),
        &["--diff-base", "main", "--format", "json", ".."],
    );
    assert_eq!(paths(&o).len(), 2, "{}", stdout(&o));
    // Since HEAD only the untracked file has changed.
    let o = run(&dir, &["--diff-base", "HEAD", "--format", "json"]);
    assert_eq!(paths(&o), [("src/fresh.rs".to_string(), 1)]);
    for bad in ["no-such-ref", "--output=x"] {
        let o = run(&dir, &["--diff-base", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("--diff-base"), "{}", stderr(&o));
    }
    assert!(
        !marker.exists(),
        "git ran a program from the repository's config"
    );
}

#[test]
fn every_format_renders_the_fuzz_regression_corpus() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions/pipeline");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let dir = scratch("corpus-formats", &[]);
    std::fs::create_dir_all(&dir).expect("mkdir");
    for file in &files {
        let f = file.to_str().expect("utf-8");
        for format in ["sarif", "github", "rustc-json"] {
            let o = run(&dir, &["--format", format, "--include-tests", f]);
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "{format} on {f}: {:?} {}",
                o.status,
                stderr(&o)
            );
            let out = stdout(&o);
            match format {
                "sarif" => {
                    let doc: Value = serde_json::from_str(&out).expect("sarif is json");
                    for r in doc["runs"][0]["results"].as_array().expect("results") {
                        let region = &r["locations"][0]["physicalLocation"]["region"];
                        assert!(region["startLine"].as_u64() >= Some(1), "{r}");
                        assert!(region["startColumn"].as_u64() >= Some(1), "{r}");
                    }
                }
                "rustc-json" => {
                    for m in cargo_metadata::Message::parse_stream(out.as_bytes()) {
                        let m = m.expect("parses");
                        if let cargo_metadata::Message::CompilerMessage(m) = m {
                            let s = &m.message.spans[0];
                            assert!(s.byte_start <= s.byte_end && s.line_start >= 1, "{s:?}");
                        }
                    }
                }
                _ => {
                    let commands = out.lines().filter(|l| l.starts_with("::")).count();
                    assert_eq!(
                        commands + 1,
                        out.lines().count(),
                        "one line per command: {out}"
                    );
                }
            }
        }
    }
}

#[test]
fn docs_rust_analyzer_command_produces_editor_diagnostics() {
    let page = integrations_page();
    let settings: Vec<Value> = code_blocks(&page, "json")
        .iter()
        .filter(|b| b.contains("rust-analyzer.check.overrideCommand"))
        .map(|b| serde_json::from_str(b).expect("the settings snippet is JSON"))
        .collect();
    assert_eq!(settings.len(), 1, "one VS Code snippet");
    let command: Vec<&str> = settings[0]["rust-analyzer.check.overrideCommand"]
        .as_array()
        .expect("a command array")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        command[0], "cargo-stateless-lint",
        "the binary, never `cargo …`"
    );
    // The Neovim and Helix snippets give the same arguments.
    let args = command[1..]
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        page.matches(&format!("\"cargo-stateless-lint\", {args}"))
            .count(),
        2
    );

    let dir = sample("docs-rust-analyzer");
    let o = run(&dir, &command[1..]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let messages: Vec<cargo_metadata::Message> =
        cargo_metadata::Message::parse_stream(stdout(&o).as_bytes())
            .collect::<Result<_, _>>()
            .expect("parses");
    let diagnostics = messages
        .iter()
        .filter(|m| matches!(m, cargo_metadata::Message::CompilerMessage(_)))
        .count();
    assert_eq!(diagnostics, 2);
}

#[test]
fn docs_pre_commit_snippet_names_the_shipped_hook() {
    let page = integrations_page();
    let config = code_blocks(&page, "yaml")
        .into_iter()
        .find(|b| b.contains(".pre-commit-config.yaml"))
        .expect("a .pre-commit-config.yaml snippet");
    let hooks = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .expect("hooks file");
    assert!(config.contains("- id: stateless-lint"), "{config}");
    assert!(hooks.contains("- id: stateless-lint\n"), "{hooks}");
    assert!(hooks.contains("entry: cargo-stateless-lint "), "{hooks}");
    assert!(hooks.contains("language: rust\n"), "{hooks}");
}
