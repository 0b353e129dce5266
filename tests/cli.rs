//! The CLI as a user meets it: the built binary, its exit codes and its output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cargo-stateless-lint"));
    // The incremental cache goes under the build's temp dir, never into the repository.
    c.env(
        "CARGO_TARGET_DIR",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/lint-cache"),
    )
    .env_remove("NO_COLOR")
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run the binary")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A scratch crate under the target dir, removed and rewritten on each call.
fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }
    dir
}

const MANIFEST: &str = "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
const BLOCKING: &str = "async fn h() { std::thread::sleep(std::time::Duration::from_secs(1)); }\n";
const CLEAN: &str =
    "async fn h() { tokio::time::sleep(std::time::Duration::from_secs(1)).await; }\n";

#[test]
fn exit_codes_follow_findings_and_fail_on() {
    let bad = scratch(
        "exit-bad",
        &[("Cargo.toml", MANIFEST), ("src/lib.rs", BLOCKING)],
    );
    let good = scratch(
        "exit-good",
        &[("Cargo.toml", MANIFEST), ("src/lib.rs", CLEAN)],
    );
    let bad = bad.to_str().expect("utf-8 path");
    let good = good.to_str().expect("utf-8 path");
    assert_eq!(run(&[bad]).status.code(), Some(1));
    assert_eq!(run(&[good]).status.code(), Some(0));
    assert_eq!(run(&["--fail-on", "never", bad]).status.code(), Some(0));
    assert_eq!(
        run(&["--ignore", "blocking-in-async", bad]).status.code(),
        Some(0)
    );
    // As cargo calls it: `cargo-stateless-lint stateless-lint ARGS`.
    let o = run(&["stateless-lint", "--format", "json", bad]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json output");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["findings"][0]["rule"], "blocking-in-async");
    assert_eq!(doc["findings"][0]["line"], 1);
    assert_eq!(doc["findings"][0]["column"], 16);
    assert_eq!(doc["summary"]["files"], 1);
}

#[test]
fn usage_and_config_errors_exit_2_with_a_message() {
    let o = run(&["--select", "no-such-rule", "fixtures"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("unknown rule `no-such-rule`"),
        "{:?}",
        text(&o)
    );

    let o = run(&["/definitely/not/here"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!text(&o).1.contains("panicked"), "{:?}", text(&o));

    let o = run(&["--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));

    let dir = scratch(
        "bad-config",
        &[
            ("Cargo.toml", MANIFEST),
            ("src/lib.rs", CLEAN),
            (
                "stateless-lint.toml",
                "[rules]\nblocking-in-async = \"error\"\ncolour = 1\n",
            ),
        ],
    );
    let o = run(&[dir.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o).1;
    assert!(
        err.contains("stateless-lint.toml") && err.contains("unknown rule `colour`"),
        "{err}"
    );

    let dir = scratch(
        "bad-metadata",
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\n[package.metadata.stateless-lint]\nexlude = []\n",
            ),
            ("src/lib.rs", CLEAN),
        ],
    );
    let o = run(&[dir.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o)
            .1
            .contains("package.metadata.stateless-lint.exlude"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn config_sets_levels_and_extends_the_catalog() {
    let dir = scratch(
        "config-levels",
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "async fn h() { legacy::fetch(); my_rt::offload(|| std::thread::sleep(d)); }\n",
            ),
            (
                "stateless-lint.toml",
                "[rules]\nblocking-in-async = \"info\"\n[blocking-in-async]\nblocking = [\"legacy::fetch\"]\nescapes = [\"my_rt::offload\"]\n",
            ),
        ],
    );
    let o = run(&["--format", "json", dir.to_str().expect("utf-8")]);
    // info is below the default --fail-on warning.
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let f = doc["findings"].as_array().expect("findings");
    assert_eq!(f.len(), 1, "{doc}");
    assert_eq!(f[0]["severity"], "info");
    assert!(f[0]["message"]
        .as_str()
        .unwrap_or("")
        .contains("legacy::fetch"));
}

#[test]
fn a_syntax_error_does_not_hide_other_files() {
    let dir = scratch(
        "syntax-error",
        &[
            ("Cargo.toml", MANIFEST),
            ("src/lib.rs", "mod broken;\nmod fine;\n"),
            ("src/broken.rs", "fn oops( {\n"),
            ("src/fine.rs", BLOCKING),
        ],
    );
    let o = run(&["--format", "json", dir.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(rules, vec!["parse-error", "blocking-in-async"]);
    assert_eq!(doc["summary"]["parse_errors"], 1);
}

#[test]
fn rule_command_prints_docs_and_lists_rules() {
    let o = run(&["rule", "blocking-in-async"]);
    assert_eq!(o.status.code(), Some(0));
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules/blocking-in-async.md"),
    )
    .expect("doc page");
    assert_eq!(text(&o).0, page);
    let o = run(&["stateless-lint", "rule", "--all"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o).0.contains("blocking-in-async        error"),
        "{:?}",
        text(&o)
    );
    let o = run(&["rule", "nope"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn human_output_has_no_colour_when_not_a_terminal_and_ends_with_a_summary() {
    let dir = scratch(
        "human",
        &[("Cargo.toml", MANIFEST), ("src/lib.rs", BLOCKING)],
    );
    let o = run(&[dir.to_str().expect("utf-8")]);
    let (out, _) = text(&o);
    assert!(!out.contains('\u{1b}'), "no ANSI escapes when piped");
    assert!(out.contains("help: use `tokio::time::sleep"), "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("1 file analysed: 1 error, 0 warnings, 0 info in "),
        "{last}"
    );
    let o = bin()
        .args(["--color", "always", dir.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&o.stdout).contains('\u{1b}'));
}

#[test]
fn a_named_file_reports_only_that_file_but_sees_its_crate() {
    let dir = scratch(
        "focus",
        &[
            ("Cargo.toml", MANIFEST),
            ("src/lib.rs", "mod a;\nmod b;\n"),
            ("src/a.rs", "pub async fn h() { crate::b::load(); }\n"),
            ("src/b.rs", "pub fn load() { std::fs::read(\"x\").ok(); }\nasync fn g() { std::thread::sleep(d); }\n"),
        ],
    );
    let o = run(&[
        "--format",
        "json",
        dir.join("src/a.rs").to_str().expect("utf-8"),
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let f = doc["findings"].as_array().expect("findings");
    assert_eq!(f.len(), 1, "{doc}");
    assert!(f[0]["path"].as_str().unwrap_or("").ends_with("src/a.rs"));
    assert!(f[0]["notes"][0]["path"]
        .as_str()
        .unwrap_or("")
        .ends_with("src/b.rs"));
}

/// Test code is skipped unless asked for: without `--include-tests` the bodies of `#[test]`
/// fns and `#[cfg(test)]` modules are not even read into facts, with it they are analysed
/// like any other code (and the non-test finding is there both times).
#[test]
fn test_code_is_analysed_only_with_include_tests() {
    let dir = scratch(
        "include-tests",
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "async fn h() { std::thread::sleep(std::time::Duration::from_secs(1)); }\n\
                 #[tokio::test]\n\
                 async fn top_level_test() { std::fs::read(\"a\").ok(); }\n\
                 #[cfg(test)]\n\
                 mod tests {\n    \
                     async fn helper() { std::fs::write(\"b\", \"\").ok(); }\n    \
                     #[tokio::test]\n    \
                     async fn t() { helper().await; }\n\
                 }\n",
            ),
        ],
    );
    let dir = dir.to_str().expect("utf-8 path");
    let lines = |o: &Output| -> Vec<u64> {
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        let mut v: Vec<u64> = doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule"] == "blocking-in-async")
            .filter_map(|f| f["line"].as_u64())
            .collect();
        v.sort();
        v
    };
    let without = run(&["--format", "json", "--no-cache", dir]);
    assert_eq!(lines(&without), vec![1], "{}", text(&without).0);
    let with = run(&["--format", "json", "--no-cache", "--include-tests", dir]);
    assert_eq!(lines(&with), vec![1, 3, 6], "{}", text(&with).0);
}

/// Without `--include-tests`, test code does not shape the analysis of the rest either: an
/// async fn that production code only calls at start-up is start-up code, even when an async
/// test also calls it. With `--include-tests` the test is a caller like any other.
#[test]
fn test_callers_do_not_change_production_contexts() {
    let dir = scratch(
        "test-callers",
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/main.rs",
                "async fn load() { std::thread::sleep(std::time::Duration::from_secs(1)); }\n\
                 #[tokio::main]\n\
                 async fn main() { load().await; }\n\
                 #[cfg(test)]\n\
                 mod tests {\n    \
                     #[tokio::test]\n    \
                     async fn t() { super::load().await; }\n\
                 }\n",
            ),
        ],
    );
    let dir = dir.to_str().expect("utf-8 path");
    let blocking = |o: &Output| -> usize {
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule"] == "blocking-in-async")
            .count()
    };
    let without = run(&["--format", "json", "--no-cache", dir]);
    assert_eq!(blocking(&without), 0, "{}", text(&without).0);
    let with = run(&["--format", "json", "--no-cache", "--include-tests", dir]);
    assert_eq!(blocking(&with), 1, "{}", text(&with).0);
}
