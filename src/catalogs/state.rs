//! The state catalog (`rules/state.toml`): which types hold data that a process can change
//! in place, and which method calls change it.

use foldhash::HashSet;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::catalog::{CatalogError, PathPattern};

const STATE_TOML: &str = include_str!("../../rules/state.toml");

/// What a type is, as far as mutability goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TypeKind {
    Lock,
    Collection,
    Concurrent,
    Atomic,
    Flag,
    Benign,
    Broadcast,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeEntry {
    path: String,
    kind: TypeKind,
    #[serde(default)]
    buffer: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Writes {
    methods: Vec<String>,
    atomic_methods: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathEntry {
    path: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Salvo {
    obtain_methods: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PerWorker {
    servers: Vec<String>,
    wrappers: Vec<String>,
    registrations: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    #[serde(rename = "type")]
    types: Vec<TypeEntry>,
    writes: Writes,
    memo_attr: Vec<PathEntry>,
    extractor: Vec<PathEntry>,
    salvo: Salvo,
    realtime: Vec<PathEntry>,
    per_worker: PerWorker,
}

/// A catalogued type: its kind and whether it doubles as scratch space (`Vec`, `String`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeInfo {
    pub kind: TypeKind,
    pub buffer: bool,
}

#[derive(Debug, Default)]
pub struct StateCatalog {
    types: Vec<(PathPattern, TypeInfo)>,
    writes: HashSet<String>,
    atomic_writes: HashSet<String>,
    memo_attrs: Vec<PathPattern>,
    extractors: Vec<PathPattern>,
    obtain_methods: Vec<String>,
    realtime: Vec<PathPattern>,
    servers: Vec<PathPattern>,
    state_wrappers: Vec<PathPattern>,
    registrations: Vec<String>,
}

impl StateCatalog {
    pub fn from_toml(text: &str) -> Result<StateCatalog, CatalogError> {
        let file: StateFile =
            toml::from_str(text).map_err(|e| CatalogError(format!("rules/state.toml: {e}")))?;
        Ok(StateCatalog {
            types: file
                .types
                .into_iter()
                .map(|t| {
                    let info = TypeInfo {
                        kind: t.kind,
                        buffer: t.buffer,
                    };
                    (PathPattern::parse(&t.path), info)
                })
                .collect(),
            writes: file.writes.methods.into_iter().collect(),
            atomic_writes: file.writes.atomic_methods.into_iter().collect(),
            memo_attrs: patterns(&file.memo_attr),
            extractors: patterns(&file.extractor),
            obtain_methods: file.salvo.obtain_methods,
            realtime: patterns(&file.realtime),
            servers: file
                .per_worker
                .servers
                .iter()
                .map(|p| PathPattern::parse(p))
                .collect(),
            state_wrappers: file
                .per_worker
                .wrappers
                .iter()
                .map(|p| PathPattern::parse(p))
                .collect(),
            registrations: file.per_worker.registrations,
        })
    }

    /// The built-in catalog, parsed once (an empty catalog if it failed to parse, which the
    /// unit test below rules out).
    pub fn builtin() -> &'static StateCatalog {
        static CATALOG: OnceLock<StateCatalog> = OnceLock::new();
        CATALOG.get_or_init(|| StateCatalog::from_toml(STATE_TOML).unwrap_or_default())
    }

    /// The kind of the external type at a resolved path.
    pub fn type_info(&self, path: &[crate::facts::Name]) -> Option<TypeInfo> {
        self.types
            .iter()
            .find(|(p, _)| p.matches(path))
            .map(|(_, i)| *i)
    }

    /// A method that writes to a collection, cache, cell or guard.
    pub fn is_write(&self, method: &str) -> bool {
        self.writes.contains(method)
    }

    /// An atomic read-modify-write or store.
    pub fn is_atomic_write(&self, method: &str) -> bool {
        self.atomic_writes.contains(method)
    }

    /// A memoising attribute (`#[cached]`).
    pub fn is_memo_attr(&self, path: &[crate::facts::Name]) -> bool {
        self.memo_attrs.iter().any(|p| p.matches(path))
    }
}

impl StateCatalog {
    /// A framework extractor whose first type argument is application state.
    pub fn is_extractor(&self, path: &[crate::facts::Name]) -> bool {
        self.extractors.iter().any(|p| p.matches(path))
    }

    /// A method that takes injected state out of salvo's `Depot`.
    pub fn is_obtain(&self, method: &str) -> bool {
        self.obtain_methods.iter().any(|m| m == method)
    }

    /// A WebSocket or server-sent events type.
    pub fn is_realtime(&self, path: &[crate::facts::Name]) -> bool {
        self.realtime.iter().any(|p| p.matches(path))
    }

    /// A server constructor whose closure runs once per worker (`HttpServer::new`).
    pub fn is_per_worker_server(&self, path: &[crate::facts::Name]) -> bool {
        self.servers.iter().any(|p| p.matches(path))
    }

    /// A constructor of shared state (`web::Data::new`).
    pub fn is_state_wrapper(&self, path: &[crate::facts::Name]) -> bool {
        self.state_wrappers.iter().any(|p| p.matches(path))
    }

    /// A method that registers state on an app (`app_data`).
    pub fn is_registration(&self, method: &str) -> bool {
        self.registrations.iter().any(|m| m == method)
    }
}

fn patterns(entries: &[PathEntry]) -> Vec<PathPattern> {
    entries
        .iter()
        .map(|p| PathPattern::parse(&p.path))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<crate::facts::Name> {
        s.split("::").map(crate::facts::Name::from).collect()
    }

    #[test]
    fn builtin_state_catalog_parses() {
        let cat = StateCatalog::from_toml(STATE_TOML).expect("rules/state.toml parses");
        let kind = |s: &str| cat.type_info(&p(s)).map(|i| i.kind);
        assert_eq!(kind("std::sync::Mutex"), Some(TypeKind::Lock));
        assert_eq!(kind("tokio::sync::Mutex"), Some(TypeKind::Lock));
        assert_eq!(
            kind("std::collections::HashMap"),
            Some(TypeKind::Collection)
        );
        assert_eq!(kind("dashmap::DashMap"), Some(TypeKind::Concurrent));
        assert_eq!(kind("std::sync::atomic::AtomicBool"), Some(TypeKind::Flag));
        assert_eq!(kind("my_crate::Mutex"), None);
        assert!(cat.is_write("insert") && !cat.is_write("get"));
        assert!(cat.is_memo_attr(&p("cached::proc_macro::cached")));
        assert!(cat.is_extractor(&p("axum::extract::State")));
        assert!(cat.is_extractor(&p("actix_web::web::Data")));
        assert!(cat.is_per_worker_server(&p("actix_web::HttpServer::new")));
    }
}
