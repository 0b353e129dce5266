//! The editor integration with the real client: rust-analyzer, started over LSP by
//! tests/editor/rust_analyzer_client.py with the `check.overrideCommand` of
//! docs/integrations.md, publishes the linter's findings as diagnostics.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

fn rust_analyzer_available() -> bool {
    let ok = Command::new("rust-analyzer")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    // python3 runs the LSP client; `json` is in its standard library.
    available(ok, "rust-analyzer", "rustup component add rust-analyzer") && python_has("json")
}

/// The overrideCommand of the VS Code snippet in docs/integrations.md.
fn documented_command() -> Vec<String> {
    let block = code_blocks(&integrations_page(), "json")
        .into_iter()
        .find(|b| b.contains("rust-analyzer.check.overrideCommand"))
        .expect("the VS Code snippet");
    let settings: Value = serde_json::from_str(&block).expect("json");
    settings["rust-analyzer.check.overrideCommand"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

#[test]
fn rust_analyzer_shows_findings_from_the_documented_override_command() {
    if !rust_analyzer_available() {
        return;
    }
    let dir = scratch(
        "editor-rust-analyzer",
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "mod store;\n\npub async fn save(s: &str) {\n    store::pause(1);\n}\n\npub async fn nap() {\n    let _s = \"😀\"; std::thread::sleep(std::time::Duration::from_secs(1));\n}\n",
            ),
            (
                "src/store.rs",
                "pub fn pause(ms: u64) {\n    std::thread::sleep(std::time::Duration::from_millis(ms));\n}\n",
            ),
        ],
    );
    // The documented command names the binary; put the built one first on PATH.
    let bin_dir = Path::new(BINARY).parent().expect("bin dir");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/editor/rust_analyzer_client.py"))
        .arg(&dir)
        .arg("src/lib.rs")
        .arg("180")
        .args(documented_command())
        .env("PATH", path)
        .output()
        .expect("run the LSP client");
    assert!(o.status.success(), "{}", stderr(&o));
    let diagnostics: Value = serde_json::from_slice(&o.stdout).expect("json");
    let diagnostics = diagnostics.as_array().expect("array");
    assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
    let first = &diagnostics[0];
    assert_eq!(first["source"], "stateless");
    assert_eq!(first["code"], "blocking_in_async");
    assert_eq!(first["severity"], 1, "error");
    assert_eq!(
        first["range"]["start"],
        serde_json::json!({"line": 3, "character": 4})
    );
    // The note in the other file is a related location.
    let related = &first["relatedInformation"][0]["location"];
    assert!(
        related["uri"]
            .as_str()
            .unwrap_or("")
            .ends_with("/src/store.rs"),
        "{first}"
    );
    assert_eq!(related["range"]["start"]["line"], 1);
    // LSP counts UTF-16 units: the emoji is one character for the linter, two for the editor.
    let second = &diagnostics[1];
    assert_eq!(
        second["range"]["start"],
        serde_json::json!({"line": 7, "character": 19})
    );
}
