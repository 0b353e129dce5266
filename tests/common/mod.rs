//! Helpers shared by the integration test binaries (each uses a subset).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const MANIFEST: &str =
    "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";

pub const BINARY: &str = env!("CARGO_BIN_EXE_cargo-stateless-lint");

/// The built linter, run in `dir`, with no colour or step-summary settings inherited.
pub fn bin(dir: &Path) -> Command {
    let mut c = Command::new(BINARY);
    c.env_remove("NO_COLOR")
        .env_remove("GITHUB_STEP_SUMMARY")
        .current_dir(dir);
    c
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    bin(dir).args(args).output().expect("run the binary")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch directory under the target dir, removed and rewritten on each call.
pub fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("integrations")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    for (path, content) in files {
        write(&dir, path, content);
    }
    dir
}

pub fn write(dir: &Path, rel: &str, content: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, content).expect("write");
}

/// A fixed two-file crate for snapshots: a blocking call, and a call of a sync helper whose
/// finding has a note pointing into the other file.
pub fn sample(name: &str) -> PathBuf {
    scratch(
        name,
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "mod store;\n\npub async fn save(s: &str) {\n    store::pause(1);\n}\n\npub async fn nap() {\n    std::thread::sleep(std::time::Duration::from_secs(1));\n}\n",
            ),
            (
                "src/store.rs",
                "pub fn pause(ms: u64) {\n    std::thread::sleep(std::time::Duration::from_millis(ms));\n}\n",
            ),
        ],
    )
}

/// Whether a tool is usable. Missing in CI (`CI` set) is a test failure, so a green CI never
/// hides a missing install step; elsewhere the caller skips with the printed reason.
pub fn available(ok: bool, what: &str, install: &str) -> bool {
    // .ci/run names the tools it could not install on this machine (rust-analyzer comes from
    // the toolchain server, which not every machine reaches).
    let excused = std::env::var("STATELESS_LINT_UNAVAILABLE")
        .is_ok_and(|v| v.split(',').any(|t| t.trim() == what));
    if !ok && excused {
        eprintln!("SKIPPED: {what} could not be installed on this machine (see .ci/run)");
        return false;
    }
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{what} is required in CI (.ci/run installs it: {install})"
        );
        eprintln!("SKIPPED: {what} is not installed ({install})");
    }
    ok
}

/// Whether python3 can import a module (see [`available`]).
pub fn python_has(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    available(
        ok,
        &format!("python3 module `{module}`"),
        &format!("pip install {module}"),
    )
}

/// Runs git with a throwaway identity; panics if it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git");
    assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
}

/// The fenced code blocks of a markdown file with this info string (` ```yaml `).
pub fn code_blocks(markdown: &str, lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut current, fence) {
            (None, Some(info)) if info.trim() == lang => current = Some(String::new()),
            (Some(_), Some("")) => blocks.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// docs/integrations.md, the page whose snippets the tests run.
pub fn integrations_page() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/integrations.md"))
        .expect("docs/integrations.md")
}
