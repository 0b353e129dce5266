//! The composite GitHub Action (action.yml), run step by step by tests/action/harness.py the
//! way the Actions runner runs it, with the built binary as the `binary` input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

struct ActionRun {
    status: i64,
    outputs: Value,
    log: String,
    summary: String,
}

fn run_action(work: &Path, inputs: &[(&str, &str)], path_prefix: Option<&Path>) -> ActionRun {
    let result = work.join("harness-result.json");
    let summary = work.join("step-summary.md");
    let _ = std::fs::remove_file(&summary);
    let mut c = Command::new("python3");
    c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/action/harness.py"))
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg(&result)
        .args(inputs.iter().map(|(k, v)| format!("{k}={v}")))
        .current_dir(work)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env_remove("NO_COLOR");
    if let Some(prefix) = path_prefix {
        let path = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{path}", prefix.display()));
    }
    let o: Output = c.output().expect("run the harness");
    let log = format!("{}{}", stdout(&o), stderr(&o));
    assert!(o.status.success(), "harness failed: {log}");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&result).expect("result")).expect("json");
    ActionRun {
        status: doc["status"].as_i64().expect("status"),
        outputs: doc["outputs"].clone(),
        log,
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
    }
}

fn harness_available() -> bool {
    python_has("yaml")
}

#[test]
fn action_annotates_fails_and_writes_sarif_and_a_summary() {
    if !harness_available() {
        return;
    }
    let dir = sample("action-findings");
    let sarif = dir.join("out.sarif");
    let sarif_s = sarif.to_str().expect("utf-8");
    let r = run_action(
        &dir,
        &[
            ("binary", BINARY),
            ("paths", "src/lib.rs\nsrc/store.rs"),
            ("sarif-file", sarif_s),
        ],
        None,
    );
    assert_eq!(r.status, 1, "{}", r.log);
    assert_eq!(r.outputs["exit-code"], "1");
    assert_eq!(r.outputs["sarif-file"], sarif_s);
    assert_eq!(
        r.log.matches("::error file=src/lib.rs,").count(),
        2,
        "{}",
        r.log
    );
    assert!(
        r.summary.contains("| `blocking-in-async` | 2 |"),
        "{}",
        r.summary
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).expect("sarif written"))
        .expect("json");
    assert_eq!(doc["runs"][0]["results"].as_array().map(Vec::len), Some(2));

    let r = run_action(&dir, &[("binary", BINARY), ("fail-on", "never")], None);
    assert_eq!(
        (r.status, &r.outputs["exit-code"]),
        (0, &Value::from("0")),
        "{}",
        r.log
    );
    assert_eq!(r.outputs["sarif-file"], "");

    let r = run_action(&dir, &[("binary", BINARY), ("fail-on", "bogus")], None);
    assert_eq!(r.status, 2, "{}", r.log);
}

#[test]
fn action_passes_on_a_clean_crate_and_diff_base_limits_findings() {
    if !harness_available() {
        return;
    }
    let clean = scratch(
        "action-clean",
        &[("Cargo.toml", MANIFEST), ("src/lib.rs", "pub fn f() {}\n")],
    );
    let r = run_action(&clean, &[("binary", BINARY)], None);
    assert_eq!(r.status, 0, "{}", r.log);
    assert!(!r.log.contains("::error"), "{}", r.log);
    assert!(r.summary.contains("0 errors"), "{}", r.summary);

    let dir = sample("action-diff");
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "one"]);
    write(
        &dir,
        "src/store.rs",
        "pub fn pause(ms: u64) {\n    std::thread::sleep(std::time::Duration::from_millis(ms));\n}\npub async fn more() {\n    std::thread::sleep(std::time::Duration::from_millis(2));\n}\n",
    );
    let r = run_action(&dir, &[("binary", BINARY), ("diff-base", "main")], None);
    assert_eq!(r.status, 1, "{}", r.log);
    assert_eq!(r.log.matches("::error ").count(), 1, "{}", r.log);
    assert!(
        r.log.contains("::error file=src/store.rs,line=5,"),
        "{}",
        r.log
    );
}

#[test]
fn action_inputs_are_never_evaluated_as_shell() {
    if !harness_available() {
        return;
    }
    let dir = sample("action-injection");
    let marker = dir.join("PWNED");
    let evil = format!(
        "\"; touch {m}; echo \" $(touch {m}) `touch {m}`",
        m = marker.display()
    );
    for input in [
        "paths",
        "diff-base",
        "args",
        "fail-on",
        "sarif-file",
        "format",
    ] {
        let r = run_action(&dir, &[("binary", BINARY), (input, evil.as_str())], None);
        assert_ne!(r.status, 0, "{input}: {}", r.log);
        assert!(
            !marker.exists(),
            "input `{input}` was run as shell: {}",
            r.log
        );
    }
}

#[test]
fn action_installs_from_its_own_directory_with_locked_cargo_install() {
    if !harness_available() {
        return;
    }
    // A stand-in `cargo` that records how it is called and installs the built binary.
    let fake = scratch("action-fake-cargo", &[]);
    let log = fake.join("cargo.log");
    write(
        &fake,
        "bin/cargo",
        &format!(
            "#!/bin/sh\necho \"cwd=$PWD args=$*\" >> '{log}'\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\nmkdir -p \"$root/bin\" && cp '{bin}' \"$root/bin/cargo-stateless-lint\"\n",
            log = log.display(),
            bin = BINARY
        ),
    );
    make_executable(&fake.join("bin/cargo"));
    // The checked-out repository has a hostile cargo alias; it must not matter.
    let dir = sample("action-install");
    write(
        &dir,
        ".cargo/config.toml",
        "[alias]\nstateless-lint = \"run --bin evil\"\n",
    );
    let r = run_action(&dir, &[], Some(&fake.join("bin")));
    assert_eq!(r.status, 1, "{}", r.log);
    let calls = std::fs::read_to_string(&log).expect("cargo was called");
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(calls.lines().count(), 1, "{calls}");
    assert!(
        calls.starts_with(&format!("cwd={} ", manifest_dir.display())),
        "{calls}"
    );
    assert!(
        calls.contains("args=install --locked --path . --root "),
        "{calls}"
    );
    assert_eq!(r.log.matches("::error file=").count(), 2, "{}", r.log);
}

fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// YAML to JSON with PyYAML (the harness's parser).
fn yaml_to_json(text: &str) -> Value {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "not YAML: {text}");
    serde_json::from_slice(&o.stdout).expect("json")
}

#[test]
fn docs_workflows_use_only_the_actions_inputs() {
    if !harness_available() {
        return;
    }
    let action = yaml_to_json(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"))
            .expect("action.yml"),
    );
    let inputs = action["inputs"].as_object().expect("inputs");
    let workflows: Vec<Value> = code_blocks(&integrations_page(), "yaml")
        .iter()
        .filter(|b| b.contains(".github/workflows/"))
        .map(|b| yaml_to_json(b))
        .collect();
    assert_eq!(workflows.len(), 2);
    let mut used = std::collections::BTreeSet::new();
    for wf in &workflows {
        for job in wf["jobs"].as_object().expect("jobs").values() {
            let steps = job["steps"].as_array().expect("steps");
            let ours: Vec<&Value> = steps
                .iter()
                .filter(|s| {
                    s["uses"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("stateless-lint/stateless-lint@"))
                })
                .collect();
            assert_eq!(ours.len(), 1, "{job}");
            for (key, value) in ours[0]["with"].as_object().expect("with") {
                assert!(inputs.contains_key(key), "unknown input `{key}`");
                used.insert(key.clone());
                if key == "sarif-file" {
                    let upload = steps
                        .iter()
                        .find(|s| {
                            s["uses"].as_str().is_some_and(|u| {
                                u.starts_with("github/codeql-action/upload-sarif@")
                            })
                        })
                        .expect("an upload-sarif step");
                    assert_eq!(&upload["with"]["sarif_file"], value);
                    assert_eq!(job["permissions"]["security-events"], "write");
                }
            }
        }
    }
    assert!(
        used.contains("diff-base") && used.contains("sarif-file"),
        "{used:?}"
    );
}
