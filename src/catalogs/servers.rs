//! The server catalog (`rules/servers.toml`): shutdown signals, graceful-shutdown APIs and
//! fixes per framework, read by `missing-graceful-shutdown` and `missing-compression`.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::routes::Framework;

pub(crate) const SERVERS_TOML: &str = include_str!("../../rules/servers.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PathEntry {
    pub(crate) path: crate::catalog::PathPattern,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GracefulEntry {
    pub(crate) framework: String,
    pub(crate) method: String,
    pub(crate) future_arg: usize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FixEntry {
    pub(crate) framework: String,
    pub(crate) text: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServersCatalog {
    #[serde(default)]
    pub(crate) sigterm_consts: Vec<String>,
    #[serde(default)]
    pub(crate) web_frameworks: Vec<String>,
    #[serde(default)]
    pub(crate) wiring: Vec<String>,
    #[serde(default)]
    pub(crate) sigterm: Vec<PathEntry>,
    #[serde(default)]
    pub(crate) ctrl_c: Vec<PathEntry>,
    #[serde(default)]
    pub(crate) graceful: Vec<GracefulEntry>,
    #[serde(default)]
    pub(crate) fix: Vec<FixEntry>,
    #[serde(default)]
    pub(crate) compression_fix: Vec<FixEntry>,
}

impl ServersCatalog {
    pub(crate) fn from_toml(text: &str) -> Result<ServersCatalog, String> {
        toml::from_str(text).map_err(|e| format!("rules/servers.toml: {e}"))
    }

    /// The built-in catalog (checked by a unit test, so it always parses).
    pub(crate) fn builtin() -> &'static ServersCatalog {
        static CATALOG: OnceLock<ServersCatalog> = OnceLock::new();
        CATALOG.get_or_init(|| ServersCatalog::from_toml(SERVERS_TOML).unwrap_or_default())
    }

    pub(crate) fn fix(&self, framework: Framework) -> String {
        self.fix
            .iter()
            .find(|f| f.framework == framework.name())
            .map(|f| f.text.clone())
            .unwrap_or_else(|| {
                "await `SignalKind::terminate()` in the server's shutdown future".into()
            })
    }

    /// How to compress responses with this framework (`missing-compression`).
    pub(crate) fn compression_fix(&self, framework: Framework) -> Option<&str> {
        self.compression_fix
            .iter()
            .find(|f| f.framework == framework.name())
            .map(|f| f.text.as_str())
    }

    pub(crate) fn graceful(&self, framework: Framework, method: &str) -> Option<&GracefulEntry> {
        self.graceful
            .iter()
            .find(|g| g.framework == framework.name() && g.method == method)
    }
}
