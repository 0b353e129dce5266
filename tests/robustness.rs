//! Hostile inputs: the linter never crashes, never hangs, never loses the findings of the
//! other files, and never executes anything from the analysed repository.

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
    .env_remove("STATELESS_LINT_TEST_PANIC_IN")
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn json_of(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn run_json(dir: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let o = bin()
        .args(["--format", "json"])
        .args(extra)
        .arg(dir)
        .output()
        .expect("run the binary");
    (o.status.code(), json_of(&o))
}

/// (rule, file name, line) of every finding.
fn summary(doc: &serde_json::Value) -> Vec<(String, String, u64)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap_or_default();
            let name = Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                name,
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// The first finding that satisfies `pred`.
fn finding(
    doc: &serde_json::Value,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> &serde_json::Value {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| pred(f))
        .unwrap_or_else(|| panic!("no such finding in {doc}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("robustness")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"hostile\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("manifest");
    dir
}

fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, content).expect("write");
}

const BLOCKING: &str = "pub async fn h() {\n    std::thread::sleep(d);\n}\n";

#[test]
fn non_utf8_and_bom_files() {
    let dir = scratch("encoding");
    write(&dir, "src/lib.rs", "mod latin1;\nmod bom;\nmod ok;\n");
    write(&dir, "src/latin1.rs", b"// caf\xe9\nfn f() {}\n");
    write(
        &dir,
        "src/bom.rs",
        "\u{feff}pub async fn b() { std::thread::sleep(d); }\n",
    );
    write(&dir, "src/ok.rs", BLOCKING);
    let (code, doc) = run_json(&dir, &[]);
    assert_eq!(code, Some(1));
    let got = summary(&doc);
    assert!(
        got.contains(&("parse-error".into(), "latin1.rs".into(), 1)),
        "{got:?}"
    );
    assert!(
        got.contains(&("blocking-in-async".into(), "ok.rs".into(), 2)),
        "{got:?}"
    );
    // The BOM is not a column: `std::thread::sleep` starts at column 20.
    let bom = finding(&doc, |f| {
        f["path"].as_str().unwrap_or("").ends_with("bom.rs")
    });
    assert_eq!(
        (bom["line"].as_u64(), bom["column"].as_u64()),
        (Some(1), Some(20))
    );
    let msg = finding(&doc, |f| f["rule"] == "parse-error")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.contains("not valid UTF-8 (first invalid byte at line 1, column 7)"),
        "{msg}"
    );
}

#[test]
fn crlf_line_endings_keep_columns_right() {
    let dir = scratch("crlf");
    write(
        &dir,
        "src/lib.rs",
        "// é comment\r\npub async fn h() {\r\n    let x = 1; std::thread::sleep(d);\r\n}\r\n",
    );
    let (_, doc) = run_json(&dir, &[]);
    let f = &doc["findings"][0];
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(3), Some(16))
    );
    assert_eq!(f["end_column"].as_u64(), Some(34));
}

#[test]
fn deeply_nested_expressions_do_not_overflow_the_stack() {
    let dir = scratch("nesting");
    let depth = 10_000;
    let mut deep = String::from("pub async fn deep() -> i64 {\n    ");
    deep.push_str(&"(".repeat(depth));
    deep.push('1');
    deep.push_str(&")".repeat(depth));
    deep.push_str("\n}\n");
    let mut chain = String::from("pub fn chain() { let v = x");
    for _ in 0..depth {
        chain.push_str(".m()");
    }
    chain.push_str("; }\n");
    let mut sum = String::from("pub fn sum() -> i64 { 0");
    for i in 0..depth {
        sum.push_str(&format!(" + {i}"));
    }
    sum.push_str(" }\n");
    write(
        &dir,
        "src/lib.rs",
        "mod deep;\nmod chain;\nmod sum;\nmod ok;\n",
    );
    write(&dir, "src/deep.rs", deep);
    write(&dir, "src/chain.rs", chain);
    write(&dir, "src/sum.rs", sum);
    write(&dir, "src/ok.rs", BLOCKING);
    let (code, doc) = run_json(&dir, &[]);
    assert_eq!(code, Some(1), "{doc}");
    let got = summary(&doc);
    assert_eq!(got, vec![("blocking-in-async".into(), "ok.rs".into(), 2)]);
}

#[test]
fn a_large_generated_file_is_analysed_and_an_oversized_one_skipped() {
    let dir = scratch("large");
    let mut big = String::with_capacity(21 << 20);
    let mut i = 0;
    while big.len() < 20 << 20 {
        big.push_str(&format!(
            "pub fn generated_{i}(x: u64) -> u64 {{ x.wrapping_mul({i}).rotate_left(3) }}\n"
        ));
        i += 1;
    }
    big.push_str(BLOCKING);
    write(&dir, "src/lib.rs", big);
    let (code, doc) = run_json(&dir, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(summary(&doc).len(), 1, "{}", doc["summary"]);
    assert_eq!(doc["findings"][0]["rule"], "blocking-in-async");

    // A size limit from the config skips the file with a diagnostic instead.
    write(&dir, "stateless-lint.toml", "max-file-size = 1000000\n");
    let (code, doc) = run_json(&dir, &[]);
    assert_eq!(code, Some(1));
    let f = &doc["findings"][0];
    assert_eq!(f["rule"], "io-error");
    assert!(
        f["message"]
            .as_str()
            .unwrap_or_default()
            .contains("over the limit of 1000000 bytes"),
        "{f}"
    );
}

#[test]
fn symlink_loops_missing_modules_and_odd_files() {
    let dir = scratch("layout");
    write(
        &dir,
        "src/lib.rs",
        "mod missing;\nmod is_a_dir;\nmod ok;\n#[path = \"../../../../../../../nowhere.rs\"]\nmod far;\n",
    );
    std::fs::create_dir_all(dir.join("src/is_a_dir.rs")).expect("dir named like a file");
    write(&dir, "src/ok.rs", BLOCKING);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&dir, dir.join("src/loop")).expect("symlink loop");
        std::os::unix::fs::symlink(dir.join("src/lib.rs"), dir.join("src/self_link.rs"))
            .expect("symlink");
    }
    let (code, doc) = run_json(&dir, &[]);
    assert_eq!(code, Some(1), "{doc}");
    let rules: Vec<String> = summary(&doc).into_iter().map(|s| s.0).collect();
    assert_eq!(
        rules,
        vec![
            "missing-module",
            "missing-module",
            "missing-module",
            "blocking-in-async"
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>(),
        "{doc}"
    );

    // A directory of crates holding a symlink loop: discovery terminates. (Outside this
    // package: a directory inside a package is analysed as part of that package.)
    let outer = std::env::temp_dir().join(format!("stateless-lint-loop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&outer);
    std::fs::create_dir_all(&outer).expect("mkdir");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outer, outer.join("again")).expect("symlink");
    write(&outer, "loose.rs", BLOCKING);
    let (code, doc) = run_json(&outer, &[]);
    assert_eq!(code, Some(1), "{doc}");
    assert_eq!(
        summary(&doc),
        vec![("blocking-in-async".into(), "loose.rs".into(), 2)]
    );
    let _ = std::fs::remove_dir_all(&outer);
}

#[test]
fn unreadable_files_are_reported() {
    let dir = scratch("unreadable");
    write(&dir, "src/lib.rs", "mod secret;\nmod ok;\n");
    write(&dir, "src/secret.rs", "fn f() {}\n");
    write(&dir, "src/ok.rs", BLOCKING);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let secret = dir.join("src/secret.rs");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        if std::fs::read(&secret).is_ok() {
            // Running as root: permissions are not enforced, nothing to test here.
            return;
        }
        let (code, doc) = run_json(&dir, &[]);
        assert_eq!(code, Some(1));
        let got = summary(&doc);
        assert!(
            got.contains(&("io-error".into(), "secret.rs".into(), 1)),
            "{got:?}"
        );
        assert!(
            got.contains(&("blocking-in-async".into(), "ok.rs".into(), 2)),
            "{got:?}"
        );
    }
}

#[test]
fn malformed_manifests_and_empty_member_globs() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("robustness/workspace");
    let _ = std::fs::remove_dir_all(&root);
    write(
        &root,
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\", \"plugins/*\"]\n",
    );
    write(
        &root,
        "crates/good/Cargo.toml",
        "[package]\nname = \"good\"\nversion = \"0.1.0\"\n",
    );
    write(&root, "crates/good/src/lib.rs", BLOCKING);
    write(&root, "crates/bad/Cargo.toml", "[package\nname = \"bad\"\n");
    write(&root, "crates/bad/src/lib.rs", BLOCKING);
    let o = bin()
        .args(["--format", "json"])
        .arg(&root)
        .output()
        .expect("run");
    // A manifest that does not parse is a configuration error: exit 2, with every other
    // package's findings still printed.
    assert_eq!(o.status.code(), Some(2));
    let doc = json_of(&o);
    let got = summary(&doc);
    assert!(
        got.contains(&("blocking-in-async".into(), "lib.rs".into(), 2)),
        "{got:?}"
    );
    let bad = finding(&doc, |f| {
        f["rule"] == "manifest-error" && f["severity"] == "error"
    });
    assert!(bad["path"]
        .as_str()
        .unwrap_or_default()
        .ends_with("crates/bad/Cargo.toml"));
    assert_eq!(bad["line"].as_u64(), Some(1));
    // `plugins/*` matches nothing: a warning, not a failure of the run.
    let glob = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| {
            f["message"]
                .as_str()
                .unwrap_or_default()
                .contains("plugins/*")
        })
        .expect("glob warning");
    assert_eq!(glob["severity"], "warning");

    std::fs::remove_dir_all(root.join("crates/bad")).expect("rm");
    let o = bin()
        .args(["--format", "json"])
        .arg(&root)
        .output()
        .expect("run");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn a_panic_in_one_file_is_an_internal_error_and_the_rest_is_reported() {
    let dir = scratch("panic");
    write(&dir, "src/lib.rs", "mod boom;\nmod ok;\n");
    write(&dir, "src/boom.rs", "fn f() {}\n");
    write(&dir, "src/ok.rs", BLOCKING);
    let o = bin()
        .env("STATELESS_LINT_TEST_PANIC_IN", "boom.rs")
        .args(["--format", "json"])
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked at"), "no panic trace: {stderr}");
    let doc = json_of(&o);
    let got = summary(&doc);
    assert!(
        got.contains(&("internal-error".into(), "boom.rs".into(), 1)),
        "{got:?}"
    );
    assert!(
        got.contains(&("blocking-in-async".into(), "ok.rs".into(), 2)),
        "{got:?}"
    );
    let msg = finding(&doc, |f| f["rule"] == "internal-error")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("fault injected"), "{msg}");
}

/// Analysing a repository never runs its build script, its proc-macros, cargo (which a
/// `.cargo/config.toml` alias could hijack) or any other program.
#[test]
fn analysing_a_crate_never_executes_anything_from_it() {
    let dir = scratch("untrusted");
    let marker = dir.join("PWNED");
    write(
        &dir,
        "Cargo.toml",
        "[package]\nname = \"untrusted\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\
         [dependencies]\nevil-macros = { path = \"evil-macros\" }\n",
    );
    write(
        &dir,
        "build.rs",
        format!(
            "fn main() {{ std::fs::write({:?}, \"build.rs ran\").unwrap(); }}\n",
            marker.display().to_string()
        ),
    );
    write(
        &dir,
        "evil-macros/Cargo.toml",
        "[package]\nname = \"evil-macros\"\nversion = \"0.1.0\"\n[lib]\nproc-macro = true\n",
    );
    write(
        &dir,
        "evil-macros/src/lib.rs",
        format!(
            "#[proc_macro_attribute]\npub fn evil(_a: proc_macro::TokenStream, i: proc_macro::TokenStream) -> proc_macro::TokenStream {{ std::fs::write({:?}, \"macro ran\").unwrap(); i }}\n",
            marker.display().to_string()
        ),
    );
    write(
        &dir,
        "src/lib.rs",
        "#[evil_macros::evil]\npub async fn h() {\n    std::thread::sleep(d);\n}\n",
    );
    write(
        &dir,
        ".cargo/config.toml",
        format!(
            "[alias]\nstateless-lint = \"run --manifest-path {}/Cargo.toml\"\n",
            dir.display()
        ),
    );
    // Every program the linter might be tricked into running records that it ran.
    let fake_bin = dir.join("fake-bin");
    std::fs::create_dir_all(&fake_bin).expect("mkdir");
    for prog in ["cargo", "rustc", "git", "sh", "bash", "cc", "rustup"] {
        let p = fake_bin.join(prog);
        std::fs::write(
            &p,
            format!("#!/bin/sh\necho {prog} >> {}\n", marker.display()),
        )
        .expect("fake program");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    let o = bin()
        .current_dir(&dir)
        .env("PATH", &fake_bin)
        .args(["--format", "json"])
        .output()
        .expect("run");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        summary(&json_of(&o)),
        vec![("blocking-in-async".into(), "lib.rs".into(), 3)]
    );
    assert!(
        !marker.exists(),
        "something was executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}

#[test]
fn output_is_byte_identical_across_thread_counts_and_runs() {
    let root = env!("CARGO_MANIFEST_DIR");
    let run = |jobs: &str| {
        let o = bin()
            .args(["--format", "json", "-j", jobs, "fixtures", "demo"])
            .current_dir(root)
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(1));
        o.stdout
    };
    let one = run("1");
    assert!(one.len() > 1000);
    for jobs in ["2", "8", "1"] {
        assert!(run(jobs) == one, "output differs at -j {jobs}");
    }
}

/// Every input that once crashed the fuzzers (and a few nasty seeds) stays fixed.
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let known = stateless_lint::rules::known_ids();
    let mut seen = 0;
    for (sub, is_config) in [("pipeline", false), ("config", true)] {
        let Ok(rd) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("regression inputs are UTF-8");
            seen += 1;
            if is_config {
                if let Ok(table) = text.parse::<toml::Table>() {
                    let _ = stateless_lint::config::from_table(&table, &file, "", &known);
                }
                continue;
            }
            let findings = stateless_lint::engine::analyse_source(&text);
            assert!(
                findings.iter().all(|f| f.rule != "internal-error"),
                "{}: {:?}",
                file.display(),
                findings.iter().find(|f| f.rule == "internal-error")
            );
            assert_eq!(
                findings,
                stateless_lint::engine::analyse_source(&text),
                "{}",
                file.display()
            );
        }
    }
    assert!(
        seen > 0,
        "tests/fuzz-regressions holds the fuzzers' regression inputs"
    );
}

/// miette panics on a line of thousands of tabs; that finding falls back to a plain line and
/// the report is still complete (found by the pipeline fuzzer).
#[test]
fn a_finding_miette_cannot_render_is_printed_plainly() {
    let dir = scratch("long-tabs");
    let seed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions/pipeline/long-tab-line-render.rs");
    std::fs::copy(&seed, dir.join("src/lib.rs")).expect("copy seed");
    let o = bin().args(["--no-timing"]).arg(&dir).output().expect("run");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    // Lines too long for a snippet are reported with their position instead.
    assert!(out.contains("lib.rs:1:17015"), "{out}");
    assert!(out.contains("blocking call in async code"), "{out}");
    assert!(
        out.ends_with("1 file analysed: 1 error, 0 warnings, 0 info\n"),
        "{out}"
    );
}
