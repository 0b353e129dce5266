//! Diff mode: the lines changed since a git ref, read from `git diff --unified=0`.
//!
//! git runs with hooks, fsmonitor, external diff drivers and textconv filters off, so the
//! analysed repository's configuration cannot make it run a program of its choosing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::source::Range;

/// Inclusive ranges of changed lines (new side) per file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// A new or untracked file: every line counts as changed.
    #[default]
    Whole,
    Lines(Vec<(u32, u32)>),
}

#[derive(Debug, Default)]
pub struct ChangedLines {
    files: HashMap<PathBuf, FileChange>,
}

impl ChangedLines {
    /// Whether a finding at `range` in `path` (absolute, canonical) touches a changed line.
    /// A finding about a whole file (line 0) counts when the file changed at all.
    pub fn touches(&self, path: &Path, range: Range) -> bool {
        let Some(change) = self.files.get(path) else {
            return false;
        };
        let start = range.start.line;
        // A range ending at column 1 of a later line does not include that line.
        let end = if range.end.line > start && range.end.column <= 1 {
            range.end.line - 1
        } else {
            range.end.line.max(start)
        };
        match change {
            FileChange::Whole => true,
            FileChange::Lines(_) if start == 0 => true,
            FileChange::Lines(hunks) => hunks.iter().any(|&(a, b)| a <= end && start <= b),
        }
    }

    pub fn file_count(&self) -> usize {
        self.files.len()
    }
}

/// Undoes git's C-style quoting of a path (`"a\tb\303\251"`).
fn unquote(path: &str) -> String {
    let Some(inner) = path.strip_prefix('"').and_then(|p| p.strip_suffix('"')) else {
        return path.to_string();
    };
    let mut bytes = Vec::new();
    let mut it = inner.bytes().peekable();
    while let Some(b) = it.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match it.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(d @ b'0'..=b'7') => {
                let mut v = u32::from(d - b'0');
                for _ in 0..2 {
                    if let Some(&n @ b'0'..=b'7') = it.peek() {
                        v = v * 8 + u32::from(n - b'0');
                        it.next();
                    }
                }
                bytes.push(v as u8);
            }
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `+c,d` of a hunk header `@@ -a,b +c,d @@`: the changed lines of the new side, if any.
fn new_side(header: &str) -> Option<Option<(u32, u32)>> {
    let plus = header.split_whitespace().nth(2)?.strip_prefix('+')?;
    let (start, count) = match plus.split_once(',') {
        Some((s, c)) => (s.parse::<u32>().ok()?, c.parse::<u32>().ok()?),
        None => (plus.parse::<u32>().ok()?, 1),
    };
    Some((count > 0).then(|| (start, start + count - 1)))
}

/// Changed lines per path (relative to the repository root) from `git diff --unified=0`
/// output with the `b/` prefix. Deleted files are left out.
pub fn parse_unified_diff(diff: &str) -> HashMap<String, Vec<(u32, u32)>> {
    let mut out: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in diff.lines() {
        if line.starts_with("diff --git ") {
            current = None;
        } else if let Some(p) = line.strip_prefix("+++ ") {
            let p = unquote(p.trim_end_matches('\t'));
            current = p.strip_prefix("b/").map(str::to_string);
            if let Some(c) = &current {
                out.entry(c.clone()).or_default();
            }
        } else if line.starts_with("@@ ") {
            if let (Some(c), Some(Some(r))) = (&current, new_side(line)) {
                out.entry(c.clone()).or_default().push(r);
            }
        }
    }
    out
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .current_dir(dir)
        .env_remove("GIT_EXTERNAL_DIFF")
        .env("GIT_PAGER", "cat")
        .args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.quotePath=false",
            "-c",
            "diff.noprefix=false",
            "--no-pager",
        ])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("`git {}` failed: {}", args.join(" "), err.trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The lines changed in the working tree of the repository containing `dir` since the merge
/// base of `base` and `HEAD` (or `base` itself when there is none, as in a shallow clone),
/// plus every untracked, non-ignored file.
pub fn changed_since(base: &str, dir: &Path) -> Result<ChangedLines, String> {
    if base.is_empty() || base.starts_with('-') {
        return Err(format!("`{base}` is not a git revision"));
    }
    let toplevel = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?.trim());
    let spec = format!("{base}^{{commit}}");
    let base_sha = git(
        &toplevel,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ],
    )
    .map_err(|_| format!("`{base}` is not a commit in this git repository"))?;
    let base_sha = base_sha.trim().to_string();
    let from = git(&toplevel, &["merge-base", &base_sha, "HEAD"])
        .map(|s| s.trim().to_string())
        .unwrap_or(base_sha);
    let diff = git(
        &toplevel,
        &[
            "diff",
            "--no-ext-diff",
            "--no-textconv",
            "--no-color",
            "--find-renames",
            "--unified=0",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            &from,
            "--",
        ],
    )?;
    let resolve = |rel: &str| {
        let p = toplevel.join(rel);
        std::fs::canonicalize(&p).unwrap_or(p)
    };
    let mut files = HashMap::new();
    for (rel, hunks) in parse_unified_diff(&diff) {
        files.insert(resolve(&rel), FileChange::Lines(hunks));
    }
    let untracked = git(
        &toplevel,
        &["ls-files", "--others", "--exclude-standard", "-z"],
    )?;
    for rel in untracked.split('\0').filter(|p| !p.is_empty()) {
        files.insert(resolve(rel), FileChange::Whole);
    }
    Ok(ChangedLines { files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Position;

    const DIFF: &str = "diff --git a/src/a.rs b/src/a.rs
index 1..2 100644
--- a/src/a.rs
+++ b/src/a.rs
@@ -3 +3 @@ fn a() {
-old
+new
@@ -10,0 +11,2 @@
+x
+y
@@ -20,3 +21,0 @@
diff --git a/gone.rs b/gone.rs
--- a/gone.rs
+++ /dev/null
@@ -1,2 +0,0 @@
diff --git \"a/sp ace\\303\\251.rs\" \"b/sp ace\\303\\251.rs\"
--- \"a/sp ace\\303\\251.rs\"
+++ \"b/sp ace\\303\\251.rs\"
@@ -1 +1 @@
";

    #[test]
    fn hunks_give_the_new_sides_lines() {
        let got = parse_unified_diff(DIFF);
        assert_eq!(got["src/a.rs"], vec![(3, 3), (11, 12)]);
        assert!(!got.contains_key("gone.rs"));
        assert_eq!(got["sp aceé.rs"], vec![(1, 1)]);
        assert_eq!(got.len(), 2);
    }

    fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Range {
        Range {
            start: Position {
                line: l1,
                column: c1,
            },
            end: Position {
                line: l2,
                column: c2,
            },
        }
    }

    #[test]
    fn findings_touch_changed_lines_only() {
        let p = PathBuf::from("/r/src/a.rs");
        let mut files = HashMap::new();
        files.insert(p.clone(), FileChange::Lines(vec![(3, 3), (11, 12)]));
        files.insert(PathBuf::from("/r/new.rs"), FileChange::Whole);
        let c = ChangedLines { files };
        assert!(c.touches(&p, range(3, 5, 3, 9)));
        assert!(c.touches(&p, range(1, 1, 4, 2)));
        assert!(!c.touches(&p, range(4, 1, 10, 3)));
        assert!(
            !c.touches(&p, range(2, 1, 3, 1)),
            "ends before line 3 starts"
        );
        assert!(c.touches(&p, range(12, 1, 12, 2)));
        assert!(c.touches(Path::new("/r/new.rs"), range(40, 1, 40, 2)));
        assert!(!c.touches(Path::new("/r/other.rs"), range(3, 1, 3, 2)));
    }
}
