//! User configuration: `stateless-lint.toml` at the workspace root, or
//! `[workspace.metadata.stateless-lint]` / `[package.metadata.stateless-lint]` in Cargo.toml.
//! Unknown keys and unknown rule ids are errors that name the key and the file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::finding::Level;

pub const CONFIG_FILE: &str = "stateless-lint.toml";
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A rule's configured level; `Off` disables it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleSetting {
    Off,
    Level(Level),
}

/// An extra blocking API from the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraBlocking {
    pub path: String,
    pub what: Option<String>,
    pub fix: Option<String>,
    pub level: Option<Level>,
}

#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Where the config was read from, if anywhere.
    pub source: Option<PathBuf>,
    pub rules: BTreeMap<String, RuleSetting>,
    pub exclude: Vec<String>,
    pub include_tests: Option<bool>,
    pub max_file_size: Option<u64>,
    pub extra_blocking: Vec<ExtraBlocking>,
    pub extra_escapes: Vec<String>,
    /// Per rule: its list options (`[rule-id] key = ["..", ..]`), keys as declared by the rule.
    pub rule_options: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

#[derive(Debug)]
pub struct ConfigError {
    pub file: PathBuf,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_size.unwrap_or(DEFAULT_MAX_FILE_BYTES)
    }
}

/// Finds and reads the configuration for a run rooted at `root`. `explicit` is `--config`.
pub fn load(
    root: &Path,
    workspace_manifest: Option<&Path>,
    explicit: Option<&Path>,
    known_rules: &[&str],
) -> Result<Config, ConfigError> {
    if let Some(file) = explicit {
        let table = read_table(file)?;
        return from_table(&table, file, "", known_rules);
    }
    let file = root.join(CONFIG_FILE);
    if file.is_file() {
        let table = read_table(&file)?;
        return from_table(&table, &file, "", known_rules);
    }
    let mut manifests: Vec<PathBuf> = Vec::new();
    if let Some(w) = workspace_manifest {
        manifests.push(w.to_path_buf());
    }
    let own = root.join("Cargo.toml");
    if !manifests.contains(&own) && own.is_file() {
        manifests.push(own);
    }
    for manifest in manifests {
        let Ok(table) = read_table(&manifest) else {
            // Manifest problems are reported by discovery.
            continue;
        };
        for section in ["workspace", "package"] {
            let meta = table
                .get(section)
                .and_then(|s| s.get("metadata"))
                .and_then(|m| m.get("stateless-lint"));
            if let Some(toml::Value::Table(t)) = meta {
                let prefix = format!("{section}.metadata.stateless-lint.");
                return from_table(t, &manifest, &prefix, known_rules);
            }
        }
    }
    Ok(Config::default())
}

fn read_table(file: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
        file: file.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    text.parse::<toml::Table>().map_err(|e| ConfigError {
        file: file.to_path_buf(),
        message: format!("invalid TOML: {}", e.message()),
    })
}

/// Parses a config table; `prefix` is prepended to key names in error messages.
pub fn from_table(
    table: &toml::Table,
    file: &Path,
    prefix: &str,
    known_rules: &[&str],
) -> Result<Config, ConfigError> {
    let err = |message: String| ConfigError {
        file: file.to_path_buf(),
        message,
    };
    let mut cfg = Config {
        source: Some(file.to_path_buf()),
        ..Config::default()
    };
    for (key, value) in table {
        match key.as_str() {
            "exclude" => cfg.exclude = string_list(value).ok_or_else(|| {
                err(format!("`{prefix}exclude` must be a list of glob strings"))
            })?,
            "include-tests" => {
                cfg.include_tests = Some(value.as_bool().ok_or_else(|| {
                    err(format!("`{prefix}include-tests` must be true or false"))
                })?)
            }
            "max-file-size" => {
                let n = value.as_integer().filter(|n| *n > 0).ok_or_else(|| {
                    err(format!("`{prefix}max-file-size` must be a positive number of bytes"))
                })?;
                cfg.max_file_size = Some(n as u64);
            }
            "rules" => {
                let t = value
                    .as_table()
                    .ok_or_else(|| err(format!("`{prefix}rules` must be a table of rule = level")))?;
                for (rule, level) in t {
                    if !known_rules.contains(&rule.as_str()) {
                        return Err(err(format!(
                            "unknown rule `{rule}` in `{prefix}rules` (known rules: {})",
                            known_rules.join(", ")
                        )));
                    }
                    let setting = match level.as_str() {
                        Some("off") => RuleSetting::Off,
                        Some(s) => RuleSetting::Level(Level::parse(s).ok_or_else(|| {
                            err(format!(
                                "`{prefix}rules.{rule}` must be one of \"off\", \"info\", \"warning\", \"error\" (got \"{s}\")"
                            ))
                        })?),
                        None => {
                            return Err(err(format!(
                                "`{prefix}rules.{rule}` must be a string: \"off\", \"info\", \"warning\" or \"error\""
                            )))
                        }
                    };
                    cfg.rules.insert(rule.clone(), setting);
                }
            }
            "blocking-in-async" => {
                let t = value.as_table().ok_or_else(|| {
                    err(format!("`{prefix}blocking-in-async` must be a table"))
                })?;
                for (k, v) in t {
                    match k.as_str() {
                        "blocking" => {
                            let list = v.as_array().ok_or_else(|| {
                                err(format!("`{prefix}blocking-in-async.blocking` must be a list"))
                            })?;
                            for item in list {
                                cfg.extra_blocking.push(extra_blocking(item).map_err(|m| {
                                    err(format!("`{prefix}blocking-in-async.blocking`: {m}"))
                                })?);
                            }
                        }
                        "escapes" => {
                            cfg.extra_escapes = string_list(v).ok_or_else(|| {
                                err(format!(
                                    "`{prefix}blocking-in-async.escapes` must be a list of paths"
                                ))
                            })?
                        }
                        other => {
                            return Err(err(format!(
                                "unknown key `{prefix}blocking-in-async.{other}` (expected `blocking` or `escapes`)"
                            )))
                        }
                    }
                }
            }
            other if crate::rules::option_keys(other).is_some() => {
                let keys = crate::rules::option_keys(other).unwrap_or(&[]);
                let t = value
                    .as_table()
                    .ok_or_else(|| err(format!("`{prefix}{other}` must be a table")))?;
                let opts = cfg.rule_options.entry(other.to_string()).or_default();
                for (k, v) in t {
                    if !keys.contains(&k.as_str()) {
                        return Err(err(format!(
                            "unknown key `{prefix}{other}.{k}` (expected {})",
                            keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                        )));
                    }
                    let list = string_list(v).ok_or_else(|| {
                        err(format!("`{prefix}{other}.{k}` must be a list of strings"))
                    })?;
                    opts.insert(k.clone(), list);
                }
            }
            other => {
                return Err(err(format!(
                    "unknown key `{prefix}{other}` (expected `rules`, `exclude`, `include-tests`, `max-file-size` or a rule's table such as `blocking-in-async`)"
                )))
            }
        }
    }
    Ok(cfg)
}

fn string_list(v: &toml::Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_str().map(String::from))
        .collect()
}

fn extra_blocking(item: &toml::Value) -> Result<ExtraBlocking, String> {
    match item {
        toml::Value::String(s) => Ok(ExtraBlocking {
            path: s.clone(),
            what: None,
            fix: None,
            level: None,
        }),
        toml::Value::Table(t) => {
            let mut e = ExtraBlocking {
                path: String::new(),
                what: None,
                fix: None,
                level: None,
            };
            for (k, v) in t {
                let s = v
                    .as_str()
                    .ok_or_else(|| format!("`{k}` must be a string"))?
                    .to_string();
                match k.as_str() {
                    "path" => e.path = s,
                    "what" => e.what = Some(s),
                    "fix" => e.fix = Some(s),
                    "level" => {
                        e.level = Some(Level::parse(&s).ok_or_else(|| {
                            format!(
                                "`level` must be \"info\", \"warning\" or \"error\" (got \"{s}\")"
                            )
                        })?)
                    }
                    other => {
                        return Err(format!(
                            "unknown key `{other}` (expected `path`, `what`, `fix` or `level`)"
                        ))
                    }
                }
            }
            if e.path.is_empty() {
                return Err("an entry needs a `path`".into());
            }
            Ok(e)
        }
        _ => Err("entries must be paths or tables with a `path`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let t: toml::Table = text.parse().expect("toml");
        from_table(
            &t,
            Path::new("stateless-lint.toml"),
            "",
            &["blocking-in-async", "unused-suppression"],
        )
    }

    #[test]
    fn reads_levels_excludes_and_extensions() {
        let c = parse(
            r#"
            exclude = ["gen/**"]
            [rules]
            blocking-in-async = "warning"
            unused-suppression = "off"
            [blocking-in-async]
            blocking = ["my::sync_call", { path = "legacy::Db::query", fix = "use the async db" }]
            escapes = ["my::offload"]
            "#,
        )
        .expect("valid config");
        assert_eq!(
            c.rules["blocking-in-async"],
            RuleSetting::Level(Level::Warning)
        );
        assert_eq!(c.rules["unused-suppression"], RuleSetting::Off);
        assert_eq!(c.extra_blocking.len(), 2);
        assert_eq!(c.extra_blocking[1].fix.as_deref(), Some("use the async db"));
        assert_eq!(c.extra_escapes, vec!["my::offload"]);
    }

    #[test]
    fn unknown_keys_and_rules_are_errors_naming_them() {
        let e = parse("colour = true").unwrap_err();
        assert!(e.to_string().contains("unknown key `colour`"), "{e}");
        let e = parse("[rules]\nno-such-rule = \"error\"").unwrap_err();
        assert!(e.to_string().contains("unknown rule `no-such-rule`"), "{e}");
        let e = parse("[rules]\nblocking-in-async = \"loud\"").unwrap_err();
        assert!(e.to_string().contains("got \"loud\""), "{e}");
        let e = parse("[blocking-in-async]\nblock = []").unwrap_err();
        assert!(e.to_string().contains("blocking-in-async.block"), "{e}");
    }
}
