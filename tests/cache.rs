//! The incremental cache never changes results: cold, warm and uncached runs print the same
//! bytes; a changed file (even one another file depends on) is re-read; a corrupt cache is
//! ignored; `--no-cache` writes nothing; an unusable cache dir is not an error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cache-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }
}

/// Runs the binary with the cache under `cache` (None: CARGO_TARGET_DIR unset).
fn run(cache: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cargo-stateless-lint"));
    c.env_remove("NO_COLOR")
        .env_remove("STATELESS_LINT_TEST_PANIC_IN")
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(dir) = cache {
        c.env("CARGO_TARGET_DIR", dir);
    }
    c.args(args).output().expect("run the binary")
}

/// stdout, stderr and exit code, for byte-for-byte comparisons.
fn result(o: &Output) -> (Vec<u8>, Vec<u8>, Option<i32>) {
    (o.stdout.clone(), o.stderr.clone(), o.status.code())
}

/// The cache files (name, contents), sorted.
fn cache_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("stateless-lint"))
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name, std::fs::read(e.path()).unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

const MANIFEST: &str = "[package]\nname = \"cached\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";

/// A crate with a cross-file finding, a syntax error, used and unused suppressions, a test
/// module and a missing module file.
fn sample(dir: &Path) {
    write(
        dir,
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "mod a;\nmod b;\nmod broken;\nmod missing;\n#[cfg(test)]\nmod tests;\n",
            ),
            (
                "src/a.rs",
                "pub async fn h() { crate::b::load(); }\n\
                 pub async fn g() {\n    // stateless-lint: allow(blocking-in-async) boot only\n    std::thread::sleep(d);\n}\n\
                 pub async fn k() { std::fs::read(\"x\").ok(); } // stateless-lint: allow(blocking-in-async)\n\
                 // stateless-lint: allow(blocking-in-async) nothing to suppress\n\
                 pub fn quiet() {}\n",
            ),
            ("src/b.rs", "pub fn load() { std::fs::read(\"x\").ok(); }\n"),
            ("src/broken.rs", "fn oops( {\n"),
            ("src/tests.rs", "async fn t() { std::thread::sleep(d); }\n"),
        ],
    );
}

/// Every fixture crate and the demo, as arguments.
fn fixture_args() -> Vec<String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![repo.join("demo/todo-api").display().to_string()];
    for group in std::fs::read_dir(repo.join("fixtures"))
        .expect("fixtures")
        .flatten()
    {
        for case in std::fs::read_dir(group.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if case.path().join("Cargo.toml").is_file() {
                out.push(case.path().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn cold_warm_and_uncached_runs_print_the_same_bytes() {
    let root = tmp("same-bytes");
    let krate = root.join("crate");
    sample(&krate);
    let k = krate.display().to_string();
    let fixtures = fixture_args();
    let mut sets: Vec<Vec<String>> = vec![vec![k.clone()], fixtures.clone()];
    sets.push(
        std::iter::once(k.clone())
            .chain(fixtures.iter().cloned())
            .chain(["--include-tests".to_string()])
            .collect(),
    );
    for (i, paths) in sets.iter().enumerate() {
        for format in [
            &["--format", "json"][..],
            &["--format", "human", "--no-timing", "--color", "never"][..],
        ] {
            let cache = root.join(format!("cache-{i}-{}", format[1]));
            let args: Vec<&str> = paths
                .iter()
                .map(String::as_str)
                .chain(format.iter().copied())
                .collect();
            let uncached = result(&run(Some(&cache), &[&args[..], &["--no-cache"]].concat()));
            assert!(!cache.exists(), "--no-cache wrote {}", cache.display());
            let cold = result(&run(Some(&cache), &args));
            let written = cache_files(&cache);
            assert!(
                written.iter().any(|(n, _)| n.ends_with(".bin")),
                "the cold run wrote no cache file in {}",
                cache.display()
            );
            assert!(written.iter().any(|(n, _)| n == "CACHEDIR.TAG"));
            let warm = result(&run(Some(&cache), &args));
            assert_eq!(
                cache_files(&cache),
                written,
                "a warm run with nothing changed rewrote the cache (a miss)"
            );
            for (name, r) in [("cold", &cold), ("warm", &warm)] {
                assert!(
                    r == &uncached,
                    "{name} run differs from --no-cache for {args:?}:\n--- {name}\n{}\n--- uncached\n{}",
                    String::from_utf8_lossy(&r.0),
                    String::from_utf8_lossy(&uncached.0)
                );
            }
        }
    }
}

#[test]
fn a_changed_file_invalidates_what_depends_on_it() {
    let root = tmp("invalidate");
    let krate = root.join("crate");
    let cache = root.join("cache");
    write(
        &krate,
        &[
            ("Cargo.toml", MANIFEST),
            ("src/lib.rs", "mod a;\nmod b;\n"),
            ("src/a.rs", "pub async fn h() { crate::b::load(); }\n"),
            ("src/b.rs", "pub fn load() {}\n"),
        ],
    );
    let args = [krate.to_str().expect("utf-8"), "--format", "json"];
    let before = run(Some(&cache), &args);
    assert_eq!(before.status.code(), Some(0), "no finding yet");
    // The helper starts blocking: the finding is in the unchanged caller's file.
    write(
        &krate,
        &[("src/b.rs", "pub fn load() { std::fs::read(\"x\").ok(); }\n")],
    );
    let after = run(Some(&cache), &args);
    assert_eq!(after.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&after.stdout).expect("json");
    let paths: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with("a.rs")),
        "caller not flagged: {paths:?}"
    );
    assert_eq!(
        result(&after),
        result(&run(Some(&cache), &[&args[..], &["--no-cache"]].concat()))
    );
    // And back: the old content is parsed again, not served stale.
    write(&krate, &[("src/b.rs", "pub fn load() {}\n")]);
    assert_eq!(result(&run(Some(&cache), &args)), result(&before));
}

/// The crate's findings are cached too, so everything the rules read besides the `.rs`
/// files must invalidate them: the configuration, a rule selection on the command line, a
/// log4rs YAML file the code names, and a module file that appears.
#[test]
fn findings_follow_every_input_of_the_rules_not_only_the_sources() {
    let root = tmp("crate-result");
    let krate = root.join("crate");
    let cache = root.join("cache");
    let manifest = "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                    [dependencies]\naxum = \"0.8\"\nlog4rs = \"1\"\n";
    write(
        &krate,
        &[
            ("Cargo.toml", manifest),
            (
                "src/main.rs",
                "mod extra;\n\
                 async fn h() { std::thread::sleep(d); }\n\
                 fn main() { log4rs::init_file(\"log4rs.yaml\", Default::default()).unwrap(); }\n",
            ),
            (
                "log4rs.yaml",
                "appenders:\n  out:\n    kind: console\nroot:\n  appenders: [out]\n",
            ),
        ],
    );
    let dir = krate.to_str().expect("utf-8");
    let args = [dir, "--format", "json", "--fail-on", "never"];
    // Each step: a cached run (run twice: the second is served from the cache) must print
    // what an uncached run prints.
    let check = |what: &str, extra: &[&str]| -> Vec<u8> {
        let args = [&args[..], extra].concat();
        let first = run(Some(&cache), &args);
        let warm = run(Some(&cache), &args);
        let uncached = run(Some(&cache), &[&args[..], &["--no-cache"]].concat());
        let text = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
        assert_eq!(text(&first), text(&uncached), "{what}: cold run differs");
        assert_eq!(result(&warm), result(&uncached), "{what}: warm run differs");
        warm.stdout
    };
    let rules = |out: &[u8]| -> Vec<String> {
        let doc: serde_json::Value = serde_json::from_slice(out).expect("json");
        let mut v: Vec<String> = doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                format!(
                    "{}:{}",
                    f["rule"].as_str().unwrap_or(""),
                    f["severity"].as_str().unwrap_or("")
                )
            })
            .collect();
        v.sort();
        v
    };
    let base = rules(&check("start", &[]));
    assert!(
        base.contains(&"missing-module:warning".to_string()),
        "{base:?}"
    );
    assert!(
        base.contains(&"blocking-in-async:error".to_string()),
        "{base:?}"
    );
    assert!(
        !base.iter().any(|r| r.starts_with("file-logging")),
        "{base:?}"
    );

    // A rule selection on the command line.
    let selected = rules(&check("--select", &["--select", "missing-module"]));
    assert_eq!(selected, vec!["missing-module:warning".to_string()]);

    // The configuration changes a level.
    write(
        &krate,
        &[(
            "stateless-lint.toml",
            "[rules]\nblocking-in-async = \"warning\"\n",
        )],
    );
    let configured = rules(&check("config", &[]));
    assert!(
        configured.contains(&"blocking-in-async:warning".to_string()),
        "{configured:?}"
    );

    // The YAML file the code names starts logging to a file.
    write(
        &krate,
        &[(
            "log4rs.yaml",
            "appenders:\n  out:\n    kind: file\n    path: app.log\nroot:\n  appenders: [out]\n",
        )],
    );
    let yaml = rules(&check("log4rs.yaml", &[]));
    assert!(
        yaml.iter().any(|r| r.starts_with("file-logging")),
        "{yaml:?}"
    );

    // The missing module file appears (no `.rs` file that was read changed).
    write(&krate, &[("src/extra.rs", "pub fn f() {}\n")]);
    let found = rules(&check("new module file", &[]));
    assert!(
        !found.iter().any(|r| r.starts_with("missing-module")),
        "{found:?}"
    );
}

#[test]
fn a_corrupt_cache_is_ignored_and_rewritten() {
    let root = tmp("corrupt");
    let krate = root.join("crate");
    let cache = root.join("cache");
    sample(&krate);
    let args = [krate.to_str().expect("utf-8"), "--format", "json"];
    let expected = result(&run(
        Some(&cache),
        &["--no-cache", args[0], "--format", "json"],
    ));
    let _ = result(&run(Some(&cache), &args));
    let files = cache_files(&cache);
    let bins: Vec<&String> = files
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.ends_with(".bin"))
        .collect();
    assert!(!bins.is_empty());
    let dir = cache.join("stateless-lint");
    for (i, name) in bins.iter().enumerate() {
        let path = dir.join(name);
        let mut bytes = std::fs::read(&path).expect("read");
        match i % 3 {
            // One flipped byte in the payload: the checksum catches it.
            0 => {
                let last = bytes.len() - 1;
                bytes[last] ^= 0x55;
            }
            // Truncated.
            1 => bytes.truncate(bytes.len() / 2),
            // Not a cache file at all.
            _ => bytes = b"garbage".to_vec(),
        }
        std::fs::write(&path, bytes).expect("corrupt");
    }
    assert_eq!(result(&run(Some(&cache), &args)), expected);
    // The damaged files were replaced by good ones: the next run reads them back.
    let repaired = cache_files(&cache);
    assert_eq!(result(&run(Some(&cache), &args)), expected);
    assert_eq!(cache_files(&cache), repaired);
}

#[test]
fn where_the_cache_goes_and_when_nothing_is_written() {
    let root = tmp("location");
    // A package without CARGO_TARGET_DIR: its own target/stateless-lint, tagged.
    let krate = root.join("crate");
    sample(&krate);
    let k = krate.to_str().expect("utf-8");
    let _ = run(None, &[k, "--format", "json"]);
    assert!(krate.join("target/stateless-lint/CACHEDIR.TAG").is_file());
    // --no-cache writes nothing.
    let fresh = root.join("fresh");
    sample(&fresh);
    let f = fresh.to_str().expect("utf-8");
    let uncached = result(&run(None, &[f, "--format", "json", "--no-cache"]));
    assert!(!fresh.join("target").exists(), "--no-cache created target/");
    // A folder of loose files (no Cargo.toml at the root): no cache, nowhere.
    let loose = root.join("loose");
    write(
        &loose,
        &[("x.rs", "async fn h() { std::thread::sleep(d); }\n")],
    );
    let _ = run(None, &[loose.to_str().expect("utf-8"), "--format", "json"]);
    assert!(!loose.join("target").exists(), "wrote into a plain folder");
    // An unusable cache dir (under a regular file): the run is uncached, not an error.
    let file = root.join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let blocked = result(&run(Some(&file.join("t")), &[f, "--format", "json"]));
    assert_eq!(blocked, uncached);
}
