//! The uploads catalog (`rules/uploads.toml`): where upload data enters a handler, and the
//! calls that write it to the local filesystem.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::catalog::{CatalogError, PathPattern};

const UPLOADS_TOML: &str = include_str!("../../rules/uploads.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeEntry {
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceMethods {
    names: Vec<String>,
    receivers: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkEntry {
    path: String,
    data: usize,
    #[serde(default)]
    to_file: Option<usize>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkMethodEntry {
    #[serde(rename = "type")]
    ty: String,
    names: Vec<String>,
    data: usize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Files {
    constructors: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Persist {
    methods: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocalStoreEntry {
    #[serde(rename = "type")]
    ty: String,
    what: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scratch {
    calls: Vec<String>,
    removes: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadsFile {
    source: Vec<TypeEntry>,
    source_methods: SourceMethods,
    sink: Vec<SinkEntry>,
    sink_method: Vec<SinkMethodEntry>,
    files: Files,
    persist: Persist,
    local_store: Vec<LocalStoreEntry>,
    scratch: Scratch,
}

/// A function that writes to the local disk: which argument is the data, and which (if
/// any) must be a file opened on the local disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sink {
    pub data: usize,
    pub to_file: Option<usize>,
}

#[derive(Debug, Default)]
pub struct UploadCatalog {
    sources: Vec<PathPattern>,
    source_methods: Vec<String>,
    source_receivers: Vec<PathPattern>,
    sinks: Vec<(PathPattern, Sink)>,
    sink_methods: Vec<(PathPattern, Vec<String>, usize)>,
    file_constructors: Vec<PathPattern>,
    persist: Vec<String>,
    local_stores: Vec<(PathPattern, String)>,
    scratch_calls: Vec<PathPattern>,
    removes: Vec<PathPattern>,
}

fn patterns(v: &[String]) -> Vec<PathPattern> {
    v.iter().map(|p| PathPattern::parse(p)).collect()
}

impl UploadCatalog {
    pub fn from_toml(text: &str) -> Result<UploadCatalog, CatalogError> {
        let file: UploadsFile =
            toml::from_str(text).map_err(|e| CatalogError(format!("rules/uploads.toml: {e}")))?;
        Ok(UploadCatalog {
            sources: file
                .source
                .iter()
                .map(|t| PathPattern::parse(&t.ty))
                .collect(),
            source_methods: file.source_methods.names,
            source_receivers: patterns(&file.source_methods.receivers),
            sinks: file
                .sink
                .iter()
                .map(|s| {
                    let sink = Sink {
                        data: s.data,
                        to_file: s.to_file,
                    };
                    (PathPattern::parse(&s.path), sink)
                })
                .collect(),
            sink_methods: file
                .sink_method
                .into_iter()
                .map(|m| (PathPattern::parse(&m.ty), m.names, m.data))
                .collect(),
            file_constructors: patterns(&file.files.constructors),
            persist: file.persist.methods,
            local_stores: file
                .local_store
                .into_iter()
                .map(|s| (PathPattern::parse(&s.ty), s.what))
                .collect(),
            scratch_calls: patterns(&file.scratch.calls),
            removes: patterns(&file.scratch.removes),
        })
    }

    /// The built-in catalog, parsed once (empty if it failed to parse, which the unit test
    /// below rules out).
    pub fn builtin() -> &'static UploadCatalog {
        static CATALOG: OnceLock<UploadCatalog> = OnceLock::new();
        CATALOG.get_or_init(|| UploadCatalog::from_toml(UPLOADS_TOML).unwrap_or_default())
    }

    /// A type that carries upload data (`axum::extract::Multipart`, rocket `TempFile`).
    pub fn is_source_type(&self, path: &[crate::facts::Name]) -> bool {
        self.sources.iter().any(|p| p.matches(path))
    }

    /// A method returning upload data, on a receiver of type `receiver`.
    pub fn is_source_method(&self, name: &str, receiver: &[crate::facts::Name]) -> bool {
        self.source_methods.iter().any(|m| m == name)
            && self.source_receivers.iter().any(|p| p.matches(receiver))
    }

    pub fn sink(&self, path: &[crate::facts::Name]) -> Option<Sink> {
        self.sinks
            .iter()
            .find(|(p, _)| p.matches(path))
            .map(|(_, s)| *s)
    }

    /// The data argument of a write method on a receiver of type `ty`.
    pub fn sink_method(&self, ty: &[crate::facts::Name], name: &str) -> Option<usize> {
        self.sink_methods
            .iter()
            .find(|(p, names, _)| p.matches(ty) && names.iter().any(|n| n == name))
            .map(|(_, _, d)| *d)
    }

    /// Any write method's name (for receivers whose type is not known).
    pub fn is_sink_method_name(&self, name: &str) -> bool {
        self.sink_methods
            .iter()
            .any(|(_, names, _)| names.iter().any(|n| n == name))
    }

    pub fn is_file_constructor(&self, path: &[crate::facts::Name]) -> bool {
        self.file_constructors.iter().any(|p| p.matches(path))
    }

    pub fn is_persist(&self, method: &str) -> bool {
        self.persist.iter().any(|m| m == method)
    }

    /// What a local-disk object store is, for a call of a constructor at `path`.
    pub fn local_store(&self, path: &[crate::facts::Name]) -> Option<&str> {
        let (_, ty) = path.split_last()?;
        self.local_stores
            .iter()
            .find(|(p, _)| p.matches(ty))
            .map(|(_, w)| w.as_str())
    }

    pub fn is_scratch_call(&self, path: &[crate::facts::Name]) -> bool {
        self.scratch_calls.iter().any(|p| p.matches(path))
    }

    pub fn is_remove(&self, path: &[crate::facts::Name]) -> bool {
        self.removes.iter().any(|p| p.matches(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<crate::facts::Name> {
        s.split("::").map(crate::facts::Name::from).collect()
    }

    #[test]
    fn builtin_upload_catalog_parses() {
        let cat = UploadCatalog::from_toml(UPLOADS_TOML).expect("rules/uploads.toml parses");
        assert!(cat.is_source_type(&p("axum::extract::Multipart")));
        assert!(cat.is_source_type(&p("actix_multipart::form::tempfile::TempFile")));
        assert!(!cat.is_source_type(&p("axum::extract::Json")));
        assert_eq!(cat.sink(&p("tokio::fs::write")).map(|s| s.data), Some(1));
        assert!(cat.sink(&p("tokio::fs::read")).is_none());
        assert_eq!(cat.sink_method(&p("tokio::fs::File"), "write_all"), Some(0));
        assert!(cat
            .local_store(&p("object_store::local::LocalFileSystem::new_with_prefix"))
            .is_some());
        assert!(cat.is_source_method("file", &p("salvo::http::Request")));
    }
}
