//! The session catalog (`rules/sessions.toml`): session stores that keep sessions in process
//! memory or local files, and functions that generate a cookie key per process.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::catalog::{CatalogError, PathPattern, PatternList};
use crate::finding::Level;

const SESSIONS_TOML: &str = include_str!("../../rules/sessions.toml");

/// Where a store keeps sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Memory,
    File,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreEntry {
    #[serde(rename = "type")]
    pub ty: String,
    pub kind: StoreKind,
    pub fix: String,
    /// Constructor names that count; the catalog's default list when empty.
    #[serde(default)]
    pub constructors: Vec<String>,
    /// Only when the first argument is `None` (no database behind the store).
    #[serde(default)]
    pub null_first_arg_only: bool,
    /// A cache that is a warning when it fronts this type (`CachingSessionStore::new(c, r)`).
    #[serde(default)]
    pub cache_of: Option<String>,
    /// Overrides the message's description of the store.
    #[serde(default)]
    pub what: Option<String>,
    #[serde(default)]
    pub level: Option<Level>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    pub path: String,
    pub fix: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkEntry {
    path: String,
    arg: usize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionsFile {
    random_crates: Vec<String>,
    constructors: Vec<String>,
    store: Vec<StoreEntry>,
    key: Vec<KeyEntry>,
    secret_sink: Vec<SinkEntry>,
}

#[derive(Debug, Default)]
pub struct SessionCatalog {
    stores: Vec<(PathPattern, StoreEntry)>,
    keys: PatternList<KeyEntry>,
    sinks: PatternList<usize>,
    random_crates: Vec<String>,
    constructors: Vec<String>,
}

impl SessionCatalog {
    pub fn from_toml(text: &str) -> Result<SessionCatalog, CatalogError> {
        let file: SessionsFile =
            toml::from_str(text).map_err(|e| CatalogError(format!("rules/sessions.toml: {e}")))?;
        Ok(SessionCatalog {
            stores: file
                .store
                .into_iter()
                .map(|e| (PathPattern::parse(&e.ty), e))
                .collect(),
            keys: file
                .key
                .into_iter()
                .fold(PatternList::default(), |mut l, e| {
                    l.push(PathPattern::parse(&e.path), e);
                    l
                }),
            sinks: file
                .secret_sink
                .into_iter()
                .fold(PatternList::default(), |mut l, e| {
                    l.push(PathPattern::parse(&e.path), e.arg);
                    l
                }),
            random_crates: file.random_crates,
            constructors: file.constructors,
        })
    }

    /// The built-in catalog, parsed once (empty if it failed to parse, which the unit test
    /// below rules out).
    pub fn builtin() -> &'static SessionCatalog {
        static CATALOG: OnceLock<SessionCatalog> = OnceLock::new();
        CATALOG.get_or_init(|| SessionCatalog::from_toml(SESSIONS_TOML).unwrap_or_default())
    }

    /// The store entries whose type has an associated fn at the resolved `path`
    /// (`tower_sessions::MemoryStore::default`), in catalog order.
    pub fn stores_for_call<'c>(
        &'c self,
        path: &'c [crate::facts::Name],
    ) -> impl Iterator<Item = &'c StoreEntry> + 'c {
        let split = path.split_last();
        self.stores.iter().filter_map(move |(pat, e)| {
            let (ctor, ty) = split?;
            let ctor_ok = if e.constructors.is_empty() {
                self.constructors.iter().any(|c| c == ctor)
            } else {
                e.constructors.iter().any(|c| c == ctor)
            };
            (ctor_ok && pat.matches(ty)).then_some(e)
        })
    }

    /// The key entry for a call of the function at the resolved `path`.
    pub fn key_generator(&self, path: &[crate::facts::Name]) -> Option<&KeyEntry> {
        self.keys.find(path)
    }

    /// The index of the argument that is a session secret, for a call of `path`.
    pub fn secret_arg(&self, path: &[crate::facts::Name]) -> Option<usize> {
        self.sinks.find(path).copied()
    }

    /// A function of a crate that produces random bytes.
    pub fn is_random(&self, path: &[crate::facts::Name]) -> bool {
        path.first()
            .is_some_and(|c| self.random_crates.iter().any(|r| r == c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<crate::facts::Name> {
        s.split("::").map(crate::facts::Name::from).collect()
    }

    #[test]
    fn builtin_session_catalog_parses() {
        let cat = SessionCatalog::from_toml(SESSIONS_TOML).expect("rules/sessions.toml parses");
        let path = p("tower_sessions::memory_store::MemoryStore::default");
        assert_eq!(cat.stores_for_call(&path).count(), 1);
        assert_eq!(
            cat.stores_for_call(&p("tower_sessions::MemoryStore::from_ref"))
                .count(),
            0
        );
        assert_eq!(
            cat.stores_for_call(&p("tower_sessions_redis_store::RedisStore::new"))
                .count(),
            0
        );
        assert!(cat
            .key_generator(&p("axum_extra::extract::cookie::Key::generate"))
            .is_some());
        assert!(cat
            .key_generator(&p("axum_extra::extract::cookie::Key::from"))
            .is_none());
    }
}
