//! Baseline files: the findings a project has accepted, keyed by rule, path and fingerprint
//! (see [`crate::fingerprint`]), so that later runs report only new findings and moving code
//! up or down does not bring old ones back.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// The baseline format's version; a file with another version is refused.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    pub rule: String,
    pub path: String,
    pub fingerprint: String,
    /// Where the finding was when the baseline was written; informative only.
    #[serde(default)]
    pub line: u32,
    #[serde(default)]
    pub message: String,
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    findings: Vec<Entry>,
}

/// The accepted findings, for lookup.
#[derive(Debug, Default)]
pub struct Baseline {
    keys: HashSet<(String, String, String)>,
}

impl Baseline {
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let file: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if file.version != VERSION {
            return Err(format!(
                "baseline version {} is not supported (expected {VERSION})",
                file.version
            ));
        }
        Ok(Baseline {
            keys: file
                .findings
                .into_iter()
                .map(|e| (e.rule, e.path, e.fingerprint))
                .collect(),
        })
    }

    pub fn contains(&self, rule: &str, path: &str, fingerprint: &str) -> bool {
        self.keys
            .contains(&(rule.to_string(), path.to_string(), fingerprint.to_string()))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The baseline file for these entries (given in the report's order), as pretty JSON.
pub fn render(entries: Vec<Entry>) -> String {
    let file = File {
        version: VERSION,
        findings: entries,
    };
    let mut s = serde_json::to_string_pretty(&file).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_versions() {
        let e = Entry {
            rule: "r".into(),
            path: "src/a.rs".into(),
            fingerprint: "00ff:1".into(),
            line: 3,
            message: "m".into(),
        };
        let b = Baseline::parse(&render(vec![e])).expect("parse");
        assert!(b.contains("r", "src/a.rs", "00ff:1"));
        assert!(!b.contains("r", "src/a.rs", "00ff:2"));
        assert_eq!(b.len(), 1);
        let err = Baseline::parse(r#"{"version":2,"findings":[]}"#).expect_err("v2");
        assert!(err.contains("version 2"), "{err}");
        assert!(Baseline::parse("[]").is_err());
    }
}
