//! The request-input catalog (`rules/request-input.toml`): which handler parameters carry
//! client data, which calls carry it into their result, and what panics. Read by
//! `panic-on-request-input`.

use foldhash::{HashMap, HashMapExt, HashSet};
use std::sync::OnceLock;

use serde::Deserialize;

use crate::catalog::PathPattern;

const REQUEST_INPUT_TOML: &str = include_str!("../../rules/request-input.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    framework: Vec<Framework>,
    source: Vec<SourceEntry>,
    weak_source: Vec<SourceEntry>,
    handler_evidence: Evidence,
    route_attributes: RouteAttributes,
    request_object: RequestObject,
    propagate: Propagate,
    sink: Sink,
}

/// A framework: how a panic hurts its requests and how to answer bad input instead.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub name: String,
    pub crates: Vec<String>,
    pub consequence: String,
    pub help: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceEntry {
    what: String,
    types: Vec<String>,
    /// Request objects (`HttpRequest`, salvo `Request`): their accessors say what they
    /// return, and their server-held data (`app_data`, `extensions`) is not request input.
    #[serde(default)]
    request_object: bool,
}

/// What a source parameter carries.
#[derive(Clone, Copy, Debug)]
pub struct SourceKind<'a> {
    pub what: &'a str,
    pub request_object: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Evidence {
    types: Vec<String>,
    methods: Vec<String>,
    routing_fns: Vec<String>,
    routing_methods: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteAttributes {
    names: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestObject {
    server: Vec<String>,
    raw_path_maps: Vec<String>,
    raw_path_getters: Vec<String>,
    raw_text_types: Vec<String>,
    path: Vec<String>,
    query: Vec<String>,
    header: Vec<String>,
    body: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Propagate {
    receiver: Vec<String>,
    awaited_receiver: Vec<String>,
    receiver_and_args: Vec<String>,
    lookups: Vec<String>,
    copies: Vec<String>,
    never: Vec<String>,
    fns: Vec<String>,
    assoc: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sink {
    methods: Vec<String>,
    macros: Vec<String>,
    guards: Vec<String>,
    guard_fn_prefixes: Vec<String>,
    first_always_yields: Vec<String>,
}

/// The catalog, indexed.
#[derive(Debug)]
pub struct RequestCatalog {
    pub frameworks: Vec<Framework>,
    sources: Vec<(PathPattern, String, bool)>,
    weak_sources: Vec<(PathPattern, String, bool)>,
    evidence: Vec<PathPattern>,
    pub evidence_methods: HashSet<String>,
    pub routing_fns: HashSet<String>,
    pub routing_methods: HashSet<String>,
    pub route_attributes: HashSet<String>,
    pub server_methods: HashSet<String>,
    /// Accessors of the matched route's path parameters as a map of raw text.
    pub raw_path_maps: HashSet<String>,
    /// Typed getters of one path parameter (`req.param::<T>("id")`).
    pub raw_path_getters: HashSet<String>,
    /// Types that make such a getter return the raw text (no parsing).
    pub raw_text_types: HashSet<String>,
    /// Accessor of a request object → what it returns ("the request path").
    pub accessors: HashMap<String, &'static str>,
    pub receiver: HashSet<String>,
    pub awaited_receiver: HashSet<String>,
    pub receiver_and_args: HashSet<String>,
    /// Lookups by key, for messages ("keyed by the request path").
    pub lookups: HashSet<String>,
    /// Copies and views that messages look through (`q.tag.clone().unwrap()`).
    pub copies: HashSet<String>,
    pub never: HashSet<String>,
    fns: Vec<PathPattern>,
    pub assoc: HashSet<String>,
    pub sink_methods: HashSet<String>,
    pub sink_macros: HashSet<String>,
    pub guards: HashSet<String>,
    /// Calls named like a validation (`check_is_some(x)?`) guard the places passed to them.
    pub guard_fn_prefixes: Vec<String>,
    /// Iterators whose first `next()` is never `None`.
    pub first_always_yields: HashSet<String>,
}

fn set(v: Vec<String>) -> HashSet<String> {
    v.into_iter().collect()
}

fn patterns(entries: Vec<SourceEntry>) -> Vec<(PathPattern, String, bool)> {
    entries
        .into_iter()
        .flat_map(|e| {
            let (what, obj) = (e.what, e.request_object);
            e.types
                .into_iter()
                .map(move |t| (PathPattern::parse(&t), what.clone(), obj))
        })
        .collect()
}

fn find_source<'a>(
    entries: &'a [(PathPattern, String, bool)],
    ty: &[crate::facts::Name],
) -> Option<SourceKind<'a>> {
    entries
        .iter()
        .find(|(p, _, _)| p.matches(ty))
        .map(|(_, what, obj)| SourceKind {
            what,
            request_object: *obj,
        })
}

impl RequestCatalog {
    /// The built-in catalog, parsed once.
    pub fn builtin() -> &'static RequestCatalog {
        static CATALOG: OnceLock<RequestCatalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            RequestCatalog::from_toml(REQUEST_INPUT_TOML)
                .expect("rules/request-input.toml is checked by a unit test")
        })
    }

    pub fn from_toml(text: &str) -> Result<RequestCatalog, String> {
        let file: File =
            toml::from_str(text).map_err(|e| format!("rules/request-input.toml: {e}"))?;
        let mut accessors = HashMap::new();
        for (names, what) in [
            (&file.request_object.path, "the request path"),
            (&file.request_object.query, "the query string"),
            (&file.request_object.header, "a request header"),
            (&file.request_object.body, "the request body"),
        ] {
            for n in names {
                accessors.entry(n.clone()).or_insert(what);
            }
        }
        Ok(RequestCatalog {
            frameworks: file.framework,
            sources: patterns(file.source),
            weak_sources: patterns(file.weak_source),
            evidence: file
                .handler_evidence
                .types
                .iter()
                .map(|t| PathPattern::parse(t))
                .collect(),
            evidence_methods: set(file.handler_evidence.methods),
            routing_fns: set(file.handler_evidence.routing_fns),
            routing_methods: set(file.handler_evidence.routing_methods),
            route_attributes: set(file.route_attributes.names),
            server_methods: set(file.request_object.server),
            raw_path_maps: set(file.request_object.raw_path_maps),
            raw_path_getters: set(file.request_object.raw_path_getters),
            raw_text_types: set(file.request_object.raw_text_types),
            accessors,
            receiver: set(file.propagate.receiver),
            awaited_receiver: set(file.propagate.awaited_receiver),
            receiver_and_args: set(file.propagate.receiver_and_args),
            lookups: set(file.propagate.lookups),
            copies: set(file.propagate.copies),
            never: set(file.propagate.never),
            fns: file
                .propagate
                .fns
                .iter()
                .map(|t| PathPattern::parse(t))
                .collect(),
            assoc: set(file.propagate.assoc),
            sink_methods: set(file.sink.methods),
            sink_macros: set(file.sink.macros),
            guards: set(file.sink.guards),
            guard_fn_prefixes: file.sink.guard_fn_prefixes,
            first_always_yields: set(file.sink.first_always_yields),
        })
    }

    /// What a parameter of this (resolved) type carries, if it is a request extractor.
    pub fn source(&self, ty: &[crate::facts::Name]) -> Option<SourceKind<'_>> {
        find_source(&self.sources, ty)
    }

    /// Like [`Self::source`] for types that carry request data only in a handler.
    pub fn weak_source(&self, ty: &[crate::facts::Name]) -> Option<SourceKind<'_>> {
        find_source(&self.weak_sources, ty)
    }

    /// A state/extension type: the fn is a handler, the parameter is server-built.
    pub fn is_evidence(&self, ty: &[crate::facts::Name]) -> bool {
        self.evidence.iter().any(|p| p.matches(ty))
    }

    /// A function whose result is parsed or decoded from its arguments.
    pub fn is_parser_fn(&self, path: &[crate::facts::Name]) -> bool {
        self.fns.iter().any(|p| p.matches(path))
            || (path.len() >= 2 && path.last().is_some_and(|l| self.assoc.contains(l.as_str())))
    }

    /// A web framework crate (including warp, which has no entry of its own).
    pub fn is_framework_crate(&self, krate: &str) -> bool {
        krate == "warp" || self.framework_of_crate(krate).is_some()
    }

    /// The framework a crate (first path segment) belongs to.
    pub fn framework_of_crate(&self, krate: &str) -> Option<&Framework> {
        self.frameworks
            .iter()
            .find(|f| f.crates.iter().any(|c| c == krate))
    }

    pub fn framework(&self, name: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<crate::facts::Name> {
        s.split("::").map(crate::facts::Name::from).collect()
    }

    #[test]
    fn builtin_catalog_loads_and_matches_reexports() {
        let cat = RequestCatalog::from_toml(REQUEST_INPUT_TOML).expect("catalog parses");
        let what = |t: &str| cat.source(&p(t)).map(|k| k.what);
        assert_eq!(what("axum::extract::Path"), Some("the request path"));
        assert_eq!(what("axum::extract::Json"), Some("the request body"));
        assert_eq!(what("actix_web::web::Data"), None);
        assert!(
            cat.source(&p("actix_web::HttpRequest"))
                .unwrap()
                .request_object
        );
        assert!(
            !cat.source(&p("actix_web::web::Path"))
                .unwrap()
                .request_object
        );
        assert!(cat.is_evidence(&p("actix_web::web::Data")));
        assert!(cat.is_evidence(&p("axum::extract::State")));
        assert_eq!(
            cat.weak_source(&p("String")).map(|k| k.what),
            Some("the request body")
        );
        assert!(cat.is_parser_fn(&p("serde_json::from_str")));
        assert!(cat.is_parser_fn(&p("u64::from_str")));
        assert!(!cat.is_parser_fn(&p("bcrypt::hash")));
        assert_eq!(cat.accessors.get("match_info"), Some(&"the request path"));
        for f in ["axum", "actix-web", "rocket", "poem", "salvo"] {
            assert!(cat.framework(f).is_some(), "{f}");
        }
    }
}
