//! Fingerprints of findings that survive line shifts: the rule, the file's reported path and
//! a hash of the finding's first source line with its whitespace normalized, plus an
//! occurrence index among findings that share all three. The baseline file and SARIF's
//! `partialFingerprints.primaryLocationLineHash` use the same fingerprint.

use std::collections::HashMap;
use std::path::Path;

use crate::engine::Outcome;
use crate::finding::Finding;
use crate::report::{display_path, line_text};

/// 64-bit FNV-1a: stable across platforms, Rust versions and runs (unlike `DefaultHasher`).
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0u8)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// A source line with leading and trailing whitespace removed and inner runs of whitespace
/// collapsed to one space, so re-indenting code does not change its fingerprint.
pub fn normalize_line(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of a finding's first line, or "" when the file's text is not available.
fn first_line<'a>(outcome: &'a Outcome, f: &Finding) -> &'a str {
    outcome
        .sources
        .get(&f.path)
        .map_or("", |s| line_text(s, f.range.start.line))
}

/// One fingerprint per finding of `outcome`, in the same order: `<16 hex digits>:<n>`,
/// where `n` (from 1) counts earlier findings with the same rule, path and line hash.
pub fn fingerprints(outcome: &Outcome, cwd: &Path) -> Vec<String> {
    let mut seen: HashMap<(String, u64), u32> = HashMap::new();
    outcome
        .findings
        .iter()
        .map(|f| {
            let path = display_path(&f.path, cwd);
            let line = normalize_line(first_line(outcome, f));
            let hash = fnv1a(&[f.rule, &path, &line]);
            let n = seen.entry((path, hash)).or_insert(0);
            *n += 1;
            format!("{hash:016x}:{n}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_ignores_indentation_but_not_content() {
        assert_eq!(normalize_line("\t  let x =  f(1);\r"), "let x = f(1);");
        assert_ne!(
            fnv1a(&["r", "p", &normalize_line("f(1)")]),
            fnv1a(&["r", "p", &normalize_line("f(2)")])
        );
        // Parts are separated, so ("ab", "c") and ("a", "bc") differ.
        assert_ne!(fnv1a(&["ab", "c"]), fnv1a(&["a", "bc"]));
        // Pinned: a change of the hash function would invalidate every user's baseline.
        assert_eq!(fnv1a(&[""]), 0xaf63_bd4c_8601_b7df);
    }
}
