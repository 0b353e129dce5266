//! Walks every fixture crate, runs the analyzer on it, and checks the findings against the
//! marks in the sources (`// expect: RULE`, `// expect-not: RULE`,
//! `// expect-next-line: RULE`). Missing and noisy findings are listed by name. The rendered
//! human and JSON outputs are pinned with insta snapshots.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use stateless_lint::engine::{self, Options, Outcome};
use stateless_lint::report;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fixture cases: `fixtures/<group>/<case>/` and `demo/<name>/`. Marks sit in `.rs` files
/// and, as `# expect: RULE`, in `Cargo.toml` and YAML files.
fn cases() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for top in ["fixtures", "demo"] {
        let dir = repo().join(top);
        let Ok(groups) = std::fs::read_dir(&dir) else {
            continue;
        };
        for g in groups.flatten() {
            let gp = g.path();
            if !gp.is_dir() {
                continue;
            }
            if top == "demo" {
                out.push(gp);
                continue;
            }
            for c in std::fs::read_dir(&gp).into_iter().flatten().flatten() {
                if c.path().join("Cargo.toml").is_file() {
                    out.push(c.path());
                }
            }
        }
    }
    out.sort();
    out
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Mark {
    path: PathBuf,
    line: u32,
    rule: String,
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x == "rs" || x == "yaml" || x == "yml")
            || p.ends_with("Cargo.toml")
        {
            out.push(p);
        }
    }
}

/// (expected, forbidden) marks of a fixture.
fn marks(case: &Path) -> (BTreeSet<Mark>, BTreeSet<Mark>) {
    let mut files = Vec::new();
    rs_files(case, &mut files);
    let mut expect = BTreeSet::new();
    let mut forbid = BTreeSet::new();
    for file in files {
        let path = std::fs::canonicalize(&file).expect("fixture path");
        let mut text = std::fs::read_to_string(&file).unwrap_or_default();
        // Manifests and YAML files carry marks as comments: `# expect: RULE`.
        if file.extension().is_none_or(|x| x != "rs") {
            text = text.replace("# expect", "// expect");
        }
        for (i, line) in text.lines().enumerate() {
            let line_no = i as u32 + 1;
            for (tag, delta, forbidden) in [
                ("// expect-next-line:", 1, false),
                ("// expect-not:", 0, true),
                ("// expect:", 0, false),
            ] {
                // `// expect: a, b (why)` marks rules a and b; a line may hold several tags.
                let mut rest = line;
                while let Some(pos) = rest.find(tag) {
                    let after = &rest[pos + tag.len()..];
                    for word in after.split_whitespace() {
                        let rule = word.trim_end_matches(',').to_string();
                        let mark = Mark {
                            path: path.clone(),
                            line: line_no + delta,
                            rule,
                        };
                        if forbidden {
                            forbid.insert(mark);
                        } else {
                            expect.insert(mark);
                        }
                        if !word.ends_with(',') {
                            break;
                        }
                    }
                    rest = after;
                }
            }
        }
    }
    (expect, forbid)
}

fn analyse(case: &Path, jobs: usize) -> Outcome {
    engine::analyse(&Options {
        paths: vec![case.to_path_buf()],
        jobs: Some(jobs),
        ..Options::default()
    })
    .unwrap_or_else(|e| panic!("{}: {e}", case.display()))
}

fn snapshot_name(case: &Path) -> String {
    case.strip_prefix(repo())
        .unwrap_or(case)
        .to_string_lossy()
        .replace(['/', '\\'], "__")
}

#[test]
fn fixtures_match_their_marks() {
    let cases = cases();
    assert!(cases.len() >= 5, "expected fixture crates, found {cases:?}");
    let mut problems = Vec::new();
    for case in &cases {
        let (expect, forbid) = marks(case);
        if expect.is_empty() && forbid.is_empty() {
            problems.push(format!("{}: no expect/expect-not marks", case.display()));
            continue;
        }
        let outcome = analyse(case, 2);
        let found: BTreeSet<Mark> = outcome
            .findings
            .iter()
            .map(|f| Mark {
                path: f.path.clone(),
                line: f.range.start.line,
                rule: f.rule.to_string(),
            })
            .collect();
        for m in expect.difference(&found) {
            problems.push(format!(
                "MISSING {}:{} {}",
                m.path.display(),
                m.line,
                m.rule
            ));
        }
        for m in found.difference(&expect) {
            let kind = if forbid.contains(m) {
                "NOISY (look-alike)"
            } else {
                "NOISY"
            };
            problems.push(format!("{kind} {}:{} {}", m.path.display(), m.line, m.rule));
        }
    }
    assert!(
        problems.is_empty(),
        "fixture marks disagree with findings:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_rule_has_firing_and_silent_fixtures() {
    let mut fire = BTreeSet::new();
    let mut silent = BTreeSet::new();
    for case in cases() {
        let (e, f) = marks(&case);
        fire.extend(e.into_iter().map(|m| m.rule));
        silent.extend(f.into_iter().map(|m| m.rule));
    }
    for r in stateless_lint::rules::all() {
        let id = r.meta().id.to_string();
        assert!(
            fire.contains(&id),
            "rule {id} has no fixture that must fire"
        );
        assert!(
            silent.contains(&id),
            "rule {id} has no look-alike that must stay silent"
        );
    }
}

#[test]
fn rendered_output_snapshots() {
    let root = repo();
    for case in cases() {
        let outcome = analyse(&case, 2);
        let human = report::human::render(
            &outcome,
            &root,
            &report::human::HumanOptions {
                color: false,
                show_elapsed: None,
                width: 100,
            },
        );
        let json = report::json::render(&outcome, &root);
        let name = snapshot_name(&case);
        insta::assert_snapshot!(format!("{name}__human"), human);
        insta::assert_snapshot!(format!("{name}__json"), json);
    }
}

#[test]
fn output_is_identical_at_any_thread_count() {
    let root = repo();
    for case in cases() {
        let one = report::json::render(&analyse(&case, 1), &root);
        let two = report::json::render(&analyse(&case, 2), &root);
        let eight = report::json::render(&analyse(&case, 8), &root);
        assert_eq!(one, two, "{}", case.display());
        assert_eq!(one, eight, "{}", case.display());
    }
}
