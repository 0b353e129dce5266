//! The route catalog (`rules/routes.toml`): which middleware authenticates, catches panics
//! or compresses, which extractors reject anonymous requests, what a sensitive route is.

use serde::Deserialize;

const ROUTES_TOML: &str = include_str!("../../rules/routes.toml");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerClass {
    Auth,
    PanicCatcher,
    Compression,
    Other,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerEntry {
    pub path: String,
    pub kind: LayerClass,
    pub what: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacroEntry {
    pub name: String,
    pub what: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MiddlewareFnEntry {
    pub path: String,
    #[serde(default)]
    pub arg: Option<usize>,
    #[serde(default)]
    pub generic: Option<usize>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractorEntry {
    pub path: String,
    pub what: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    pub strong: Vec<crate::facts::Name>,
    pub weak: Vec<crate::facts::Name>,
    pub not: Vec<crate::facts::Name>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractorTraits {
    pub names: Vec<crate::facts::Name>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensitive {
    pub prefixes: Vec<crate::facts::Name>,
    pub public: Vec<crate::facts::Name>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalsEntry {
    pub path: String,
    pub what: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteCatalog {
    #[serde(default)]
    pub layer: Vec<LayerEntry>,
    #[serde(default, rename = "macro")]
    pub macros: Vec<MacroEntry>,
    #[serde(default)]
    pub middleware_fn: Vec<MiddlewareFnEntry>,
    #[serde(default)]
    pub extractor: Vec<ExtractorEntry>,
    #[serde(default)]
    pub names: Names,
    #[serde(default)]
    pub extractor_traits: ExtractorTraits,
    #[serde(default)]
    pub sensitive: Sensitive,
    #[serde(default)]
    pub internals: Vec<InternalsEntry>,
}

/// A path through a crate's prelude (`salvo::prelude::CatchPanic::new`, what
/// `use salvo::prelude::*` gives): the catalog entry of that crate with the same type name.
fn through_prelude<'e>(
    path: &[crate::facts::Name],
    entries: impl Iterator<Item = &'e str>,
) -> Option<String> {
    let at = path.iter().position(|s| s == "prelude")?;
    let krate = path.first()?;
    let ty = path.get(at + 1)?;
    entries
        .filter(|e| {
            e.split("::").next() == Some(krate.as_str())
                && e.rsplit("::").next() == Some(ty.as_str())
        })
        .map(String::from)
        .next()
}

/// Whether `path` is `entry` or an item inside it (`CatchPanicLayer::new`).
pub fn path_matches(entry: &str, path: &[crate::facts::Name]) -> bool {
    let mut segs = entry.split("::");
    let mut n = 0;
    for p in path {
        match segs.next() {
            Some(s) if s == p => n += 1,
            Some(_) => return false,
            None => return n > 0,
        }
    }
    segs.next().is_none() && n > 0
}

impl RouteCatalog {
    pub fn builtin() -> &'static RouteCatalog {
        static CATALOG: std::sync::OnceLock<RouteCatalog> = std::sync::OnceLock::new();
        CATALOG.get_or_init(|| toml::from_str(ROUTES_TOML).unwrap_or_default())
    }

    pub fn layer(&self, path: &[crate::facts::Name]) -> Option<&LayerEntry> {
        // The longest matching entry wins (a specific `other` over a generic prefix).
        let direct = self
            .layer
            .iter()
            .filter(|e| path_matches(&e.path, path))
            .max_by_key(|e| e.path.len());
        direct.or_else(|| {
            let canonical = through_prelude(path, self.layer.iter().map(|e| e.path.as_str()))?;
            self.layer.iter().find(|e| e.path == canonical)
        })
    }

    pub fn middleware_fn(&self, path: &[crate::facts::Name]) -> Option<&MiddlewareFnEntry> {
        self.middleware_fn
            .iter()
            .find(|e| path_matches(&e.path, path))
    }

    pub fn extractor(&self, path: &[crate::facts::Name]) -> Option<&ExtractorEntry> {
        self.extractor
            .iter()
            .find(|e| path_matches(&e.path, path))
            .or_else(|| {
                let canonical =
                    through_prelude(path, self.extractor.iter().map(|e| e.path.as_str()))?;
                self.extractor.iter().find(|e| e.path == canonical)
            })
    }

    pub fn internals(&self, path: &[crate::facts::Name]) -> Option<&InternalsEntry> {
        self.internals.iter().find(|e| path_matches(&e.path, path))
    }

    /// How strongly a name says "authentication": `Some(true)` strong, `Some(false)` weak.
    pub fn auth_name(&self, name: &str) -> Option<bool> {
        let lower = name.to_ascii_lowercase();
        if self.names.not.iter().any(|n| lower.contains(n.as_str())) {
            return None;
        }
        if self.names.strong.iter().any(|n| lower.contains(n.as_str())) {
            return Some(true);
        }
        if self.names.weak.iter().any(|n| lower.contains(n.as_str())) {
            return Some(false);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<crate::facts::Name> {
        s.split("::").map(crate::facts::Name::from).collect()
    }

    #[test]
    fn catalog_parses_and_matches_items_inside_entries() {
        let c = RouteCatalog::builtin();
        assert!(c.layer.len() > 10, "catalog did not parse");
        let e = c
            .layer(&p("tower_http::catch_panic::CatchPanicLayer::new"))
            .unwrap();
        assert_eq!(e.kind, LayerClass::PanicCatcher);
        assert!(c.layer(&p("tower_http::catch_panic")).is_none());
        assert!(c
            .layer(&p("tower_http::catch_panic::CatchPanicLayerX"))
            .is_none());
        let e = c.layer(&p("salvo::prelude::CatchPanic::new")).unwrap();
        assert_eq!(e.kind, LayerClass::PanicCatcher);
        assert!(c.layer(&p("salvo::prelude::Router::new")).is_none());
        assert_eq!(c.auth_name("require_admin"), Some(true));
        assert_eq!(c.auth_name("CurrentUser"), Some(false));
        assert_eq!(c.auth_name("AuthorName"), None);
        assert_eq!(c.auth_name("log_requests"), None);
    }
}
