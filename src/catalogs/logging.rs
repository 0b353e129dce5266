//! The logging catalog (`rules/logging.toml`): print macros and local-file log sinks, read
//! by `print-in-handler` and `file-logging`.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::catalog::PathPattern;

const LOGGING_TOML: &str = include_str!("../../rules/logging.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintMacro {
    pub name: String,
    /// Short text under the macro.
    pub label: String,
    pub what: String,
    pub fix: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSink {
    pub path: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub unless_chain: Vec<crate::facts::Name>,
    pub what: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWriter {
    pub path: String,
    #[serde(default)]
    pub method: Option<String>,
    pub arg: usize,
    pub what: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOpen {
    pub path: PathPattern,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingCatalog {
    #[serde(default)]
    pub print: Vec<PrintMacro>,
    #[serde(default)]
    pub file_sink: Vec<FileSink>,
    #[serde(default)]
    pub file_writer: Vec<FileWriter>,
    #[serde(default)]
    pub file_open: Vec<FileOpen>,
}

impl LoggingCatalog {
    pub fn from_toml(text: &str) -> Result<LoggingCatalog, String> {
        toml::from_str(text).map_err(|e| format!("rules/logging.toml: {e}"))
    }

    /// The built-in catalog (checked by a unit test, so it always parses).
    pub fn builtin() -> &'static LoggingCatalog {
        static CATALOG: OnceLock<LoggingCatalog> = OnceLock::new();
        CATALOG.get_or_init(|| LoggingCatalog::from_toml(LOGGING_TOML).unwrap_or_default())
    }

    pub fn print_macro(&self, name: &str) -> Option<&PrintMacro> {
        self.print.iter().find(|p| p.name == name)
    }

    pub fn opens_file(&self, paths: &[Vec<crate::facts::Name>]) -> bool {
        self.file_open
            .iter()
            .any(|o| paths.iter().any(|p| o.path.matches(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_parses() {
        let c = LoggingCatalog::from_toml(LOGGING_TOML).unwrap();
        assert!(c.print_macro("println").is_some());
        assert!(c.print_macro("info").is_none());
        assert!(!c.file_sink.is_empty() && !c.file_writer.is_empty());
        assert!(c.opens_file(&[vec![
            "std".into(),
            "fs".into(),
            "File".into(),
            "create".into()
        ]]));
    }
}
