//! The pre-commit hook (.pre-commit-hooks.yaml) with the real pre-commit: `pre-commit
//! try-repo` builds the linter from this repository (language: rust) and runs it on the
//! staged files of a scratch repository. It must fail on a violation and pass once fixed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

fn pre_commit_available() -> bool {
    let ok = Command::new("pre-commit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    available(ok, "pre-commit", "pip install pre-commit")
}

fn try_repo(repo: &Path, home: &Path) -> Output {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-target");
    Command::new("pre-commit")
        .args([
            "try-repo",
            env!("CARGO_MANIFEST_DIR"),
            "stateless-lint",
            "--color",
            "never",
        ])
        .current_dir(repo)
        .env("PRE_COMMIT_HOME", home)
        // Keep the release build short, and reuse it between runs.
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_TARGET_DIR", target)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env_remove("NO_COLOR")
        .output()
        .expect("run pre-commit")
}

#[test]
fn hook_fails_on_a_staged_violation_and_passes_after_the_fix() {
    if !pre_commit_available() {
        return;
    }
    let repo = scratch(
        "pre-commit-repo",
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "mod store;\n\npub async fn h() {\n    store::save();\n}\n",
            ),
            (
                "src/store.rs",
                "pub fn save() {\n    std::thread::sleep(std::time::Duration::from_millis(1));\n}\n",
            ),
            ("README.md", "not rust\n"),
        ],
    );
    let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-home");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);

    let o = try_repo(&repo, &home);
    let log = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(1), "{log}");
    assert!(
        log.contains("stateless-lint") && log.contains("Failed"),
        "{log}"
    );
    // The finding is in lib.rs; the helper in store.rs was read for context.
    assert!(log.contains("blocking-in-async"), "{log}");
    assert!(log.contains("src/lib.rs:4:5"), "{log}");

    write(
        &repo,
        "src/lib.rs",
        "mod store;\n\npub async fn h() {\n    tokio::task::spawn_blocking(store::save).await.ok();\n}\n",
    );
    git(&repo, &["add", "."]);
    let o = try_repo(&repo, &home);
    let log = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{log}");
    assert!(log.contains("Passed"), "{log}");
}
