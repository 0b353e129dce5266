//! `--statistics`: the number of findings per rule, most frequent first, then the summary line.

use std::collections::BTreeMap;

use crate::engine::Outcome;
use crate::finding::Level;
use crate::report::summary_line;

pub fn render(outcome: &Outcome) -> String {
    let mut per_rule: BTreeMap<&str, (usize, Level)> = BTreeMap::new();
    for f in &outcome.findings {
        let e = per_rule.entry(f.rule).or_insert((0, f.level));
        e.0 += 1;
        e.1 = e.1.max(f.level);
    }
    let mut rows: Vec<(&str, usize, Level)> =
        per_rule.into_iter().map(|(r, (n, l))| (r, n, l)).collect();
    // Most frequent first; ties by rule id, so the order never varies.
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let width = rows
        .iter()
        .map(|r| r.1.to_string().len())
        .max()
        .unwrap_or(1);
    let rule_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let mut out = String::new();
    // The last column is the highest level among the rule's findings.
    for (rule, n, level) in rows {
        out.push_str(&format!("{n:>width$}  {rule:<rule_width$}  {level}\n"));
    }
    out.push_str(&summary_line(outcome, None));
    out.push('\n');
    out
}
