//! The rule docs under docs/rules/ are generated from the rule files; this test fails when
//! they drift (run with `UPDATE_DOCS=1` to regenerate).

use std::path::PathBuf;

use stateless_lint::rules;

#[test]
fn rule_pages_are_generated_from_the_rules() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/rules");
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for r in rules::all() {
        let meta = r.meta();
        let page = rules::doc_page(meta) + "\n";
        let file = dir.join(format!("{}.md", meta.id));
        if update {
            std::fs::create_dir_all(&dir).expect("docs dir");
            std::fs::write(&file, &page).expect("write doc page");
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(text) if text == page => {}
            _ => stale.push(file.display().to_string()),
        }
    }
    assert!(
        stale.is_empty(),
        "rule docs are out of date: {stale:?}; run `UPDATE_DOCS=1 cargo test --test docs`"
    );
}

#[test]
fn rule_docs_follow_the_house_layout() {
    for r in rules::all() {
        let m = r.meta();
        for heading in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "Use instead:",
        ] {
            assert!(m.docs.contains(heading), "{}: missing `{heading}`", m.id);
        }
        // Ids name the pattern, not the cure (ruff's naming rule).
        for bad in ["avoid-", "prefer-", "use-", "do-not-"] {
            assert!(
                !m.id.starts_with(bad),
                "{}: rule ids name the pattern",
                m.id
            );
        }
        assert!(
            !m.summary.ends_with('.'),
            "{}: summaries have no final period",
            m.id
        );
    }
    let mut ids: Vec<&str> = rules::all().iter().map(|r| r.meta().id).collect();
    let sorted = {
        let mut s = ids.clone();
        s.sort_unstable();
        s
    };
    assert_eq!(ids, sorted, "the registry is sorted by id");
    ids.dedup();
    assert_eq!(ids.len(), rules::all().len(), "rule ids are unique");
}
