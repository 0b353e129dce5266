//! Catalogs: the knowledge of which APIs block and which functions offload work, kept as
//! data under `rules/` (embedded at build time) and extensible from user config.

use foldhash::HashMap;

use serde::Deserialize;

use crate::finding::Level;

const BLOCKING_TOML: &str = include_str!("../rules/blocking.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FnEntry {
    pub path: String,
    pub what: String,
    pub fix: String,
    #[serde(default)]
    pub level: Option<Level>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodEntry {
    #[serde(default, rename = "type")]
    pub ty: Option<String>,
    #[serde(default)]
    pub any_receiver: bool,
    pub names: Vec<String>,
    #[serde(default)]
    pub when_crate_imported: Option<String>,
    #[serde(default)]
    pub unless_crate_imported: Option<String>,
    /// Only when the call's first argument is `&mut ..` (diesel's `.load(&mut conn)`).
    #[serde(default)]
    pub first_arg_mut_ref: bool,
    pub what: String,
    pub fix: String,
    #[serde(default)]
    pub level: Option<Level>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnsEntry {
    pub path: String,
    #[serde(default, rename = "type")]
    pub ty: Option<String>,
    #[serde(default)]
    pub tuple: Option<Vec<String>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeEntry {
    #[serde(rename = "type")]
    pub ty: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscapeEntry {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    pub why: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockingFile {
    #[serde(default, rename = "fn")]
    fns: Vec<FnEntry>,
    #[serde(default)]
    prefix: Vec<FnEntry>,
    #[serde(default)]
    method: Vec<MethodEntry>,
    #[serde(default)]
    returns: Vec<ReturnsEntry>,
    #[serde(default)]
    builder: Vec<TypeEntry>,
    #[serde(default)]
    wrapper: Vec<TypeEntry>,
    #[serde(default)]
    escape: Vec<EscapeEntry>,
}

/// A crate-rooted path pattern: matches a resolved path with the same first segment (the
/// crate) that ends with the remaining segments, so re-exports and preludes match too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    pub segs: Vec<crate::facts::Name>,
}

/// Catalog entries can hold patterns directly: parsed once, when the catalog is read.
impl<'de> Deserialize<'de> for PathPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PathPattern, D::Error> {
        let text = String::deserialize(d)?;
        Ok(PathPattern::parse(&text))
    }
}

impl PathPattern {
    pub fn parse(s: &str) -> PathPattern {
        PathPattern {
            segs: s
                .trim()
                .trim_start_matches("::")
                .split("::")
                .map(|x| crate::facts::Name::from(x.trim()))
                .collect(),
        }
    }

    pub fn matches<S: AsRef<str>>(&self, path: &[S]) -> bool {
        let Some((krate, tail)) = self.segs.split_first() else {
            return false;
        };
        if path.first().map(AsRef::as_ref) != Some(krate.as_str()) || path.len() < self.segs.len() {
            return false;
        }
        if tail.is_empty() {
            return path.len() == 1;
        }
        path[path.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| a.as_ref() == b.as_str())
    }

    /// `path` is this pattern or lies under it (for prefixes).
    pub fn is_prefix_of<S: AsRef<str>>(&self, path: &[S]) -> bool {
        path.len() >= self.segs.len()
            && path
                .iter()
                .zip(&self.segs)
                .all(|(a, b)| a.as_ref() == b.as_str())
    }

    pub fn last(&self) -> &str {
        self.segs.last().map(|s| s.as_str()).unwrap_or("")
    }
}

/// Patterns with a value each, looked up by the last segment of a path first (a pattern
/// only matches paths that end like it), then in catalog order: the first match wins, as
/// in a scan of the whole list, without matching every pattern against every path.
#[derive(Clone, Debug)]
pub struct PatternList<T> {
    entries: Vec<(PathPattern, T)>,
    by_last: HashMap<crate::facts::Name, Vec<usize>>,
}

impl<T> Default for PatternList<T> {
    fn default() -> Self {
        PatternList {
            entries: Vec::new(),
            by_last: HashMap::default(),
        }
    }
}

impl<T> PatternList<T> {
    pub fn push(&mut self, pattern: PathPattern, value: T) {
        let last = crate::facts::Name::from(pattern.last());
        self.by_last
            .entry(last)
            .or_default()
            .push(self.entries.len());
        self.entries.push((pattern, value));
    }

    /// The value of the first pattern (in catalog order) that matches `path`.
    pub fn find<S: AsRef<str>>(&self, path: &[S]) -> Option<&T> {
        let last = path.last()?.as_ref();
        self.by_last
            .get(last)?
            .iter()
            .map(|&i| &self.entries[i])
            .find(|(p, _)| p.matches(path))
            .map(|(_, v)| v)
    }
}

/// What a catalog says about a resolved call.
#[derive(Clone, Debug)]
pub struct BlockingApi<'a> {
    pub what: String,
    pub fix: &'a str,
    pub level: Option<Level>,
}

#[derive(Clone, Debug)]
pub enum Returns {
    Type(Vec<crate::facts::Name>),
    Tuple(Vec<Vec<crate::facts::Name>>),
}

/// The blocking-API catalog, indexed for lookups.
#[derive(Clone, Debug, Default)]
pub struct BlockingCatalog {
    fns: Vec<(PathPattern, FnEntry)>,
    fns_by_last: HashMap<String, Vec<usize>>,
    prefixes: Vec<(PathPattern, FnEntry)>,
    methods: Vec<(Option<PathPattern>, MethodEntry)>,
    methods_by_name: HashMap<String, Vec<usize>>,
    returns: PatternList<Returns>,
    builders: PatternList<()>,
    wrappers: PatternList<()>,
    escape_paths: PatternList<String>,
    escape_methods: HashMap<String, String>,
}

#[derive(Debug)]
pub struct CatalogError(pub String);

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl BlockingCatalog {
    /// The built-in catalog.
    pub fn builtin() -> Result<BlockingCatalog, CatalogError> {
        BlockingCatalog::from_toml(BLOCKING_TOML)
    }

    pub fn from_toml(text: &str) -> Result<BlockingCatalog, CatalogError> {
        let file: BlockingFile =
            toml::from_str(text).map_err(|e| CatalogError(format!("rules/blocking.toml: {e}")))?;
        let mut cat = BlockingCatalog::default();
        for e in file.fns {
            cat.add_fn(e);
        }
        for e in file.prefix {
            cat.prefixes.push((PathPattern::parse(&e.path), e));
        }
        for e in file.method {
            cat.add_method(e);
        }
        for r in file.returns {
            let ret = match (r.ty, r.tuple) {
                (Some(t), None) => Returns::Type(PathPattern::parse(&t).segs),
                (None, Some(ts)) => {
                    Returns::Tuple(ts.iter().map(|t| PathPattern::parse(t).segs).collect())
                }
                _ => {
                    return Err(CatalogError(format!(
                    "rules/blocking.toml: [[returns]] `{}` needs exactly one of `type` and `tuple`",
                    r.path
                )))
                }
            };
            cat.returns.push(PathPattern::parse(&r.path), ret);
        }
        for b in &file.builder {
            cat.builders.push(PathPattern::parse(&b.ty), ());
        }
        for w in &file.wrapper {
            cat.wrappers.push(PathPattern::parse(&w.ty), ());
        }
        for e in file.escape {
            match (e.path, e.method) {
                (Some(p), None) => cat.add_escape_path(&p, e.why),
                (None, Some(m)) => {
                    cat.escape_methods.insert(m, e.why);
                }
                _ => {
                    return Err(CatalogError(
                        "rules/blocking.toml: [[escape]] needs exactly one of `path` and `method`"
                            .into(),
                    ))
                }
            }
        }
        Ok(cat)
    }

    pub fn add_fn(&mut self, e: FnEntry) {
        let pat = PathPattern::parse(&e.path);
        self.fns_by_last
            .entry(pat.last().to_string())
            .or_default()
            .push(self.fns.len());
        self.fns.push((pat, e));
    }

    pub fn add_method(&mut self, e: MethodEntry) {
        let idx = self.methods.len();
        for n in &e.names {
            self.methods_by_name.entry(n.clone()).or_default().push(idx);
        }
        let ty = e.ty.as_deref().map(PathPattern::parse);
        self.methods.push((ty, e));
    }

    pub fn add_escape_path(&mut self, path: &str, why: String) {
        self.escape_paths.push(PathPattern::parse(path), why);
    }

    /// A call of the function at `path` blocks.
    pub fn blocking_fn<S: AsRef<str>>(&self, path: &[S]) -> Option<BlockingApi<'_>> {
        let last = path.last()?;
        if let Some(ids) = self.fns_by_last.get(last.as_ref()) {
            for &i in ids {
                let (pat, e) = &self.fns[i];
                if pat.matches(path) {
                    return Some(BlockingApi {
                        what: e.what.clone(),
                        fix: &e.fix,
                        level: e.level,
                    });
                }
            }
        }
        self.blocking_prefix(path)
    }

    fn blocking_prefix<S: AsRef<str>>(&self, path: &[S]) -> Option<BlockingApi<'_>> {
        self.prefixes
            .iter()
            .find(|(p, _)| p.is_prefix_of(path))
            .map(|(_, e)| BlockingApi {
                what: e.what.clone(),
                fix: &e.fix,
                level: e.level,
            })
    }

    /// A call of method `name` on a receiver of type `ty` (if known) blocks, in a file that
    /// imports from `imported` crates.
    pub fn blocking_method(
        &self,
        ty: Option<&[crate::facts::Name]>,
        name: &str,
        first_arg_mut_ref: bool,
        imported: &dyn Fn(&str) -> bool,
    ) -> Option<BlockingApi<'_>> {
        if let Some(ids) = self.methods_by_name.get(name) {
            for &i in ids {
                let (pat, e) = &self.methods[i];
                let receiver_ok = if e.any_receiver {
                    true
                } else {
                    match (pat, ty) {
                        (Some(p), Some(t)) => p.matches(t),
                        _ => false,
                    }
                };
                if !receiver_ok || (e.first_arg_mut_ref && !first_arg_mut_ref) {
                    continue;
                }
                if let Some(c) = &e.when_crate_imported {
                    if !imported(c) {
                        continue;
                    }
                }
                if let Some(c) = &e.unless_crate_imported {
                    if imported(c) {
                        continue;
                    }
                }
                return Some(BlockingApi {
                    what: e.what.replace("{method}", name),
                    fix: &e.fix,
                    level: e.level,
                });
            }
        }
        // Methods of types under a blocking prefix (`reqwest::blocking::Client::get`).
        let ty = ty?;
        let mut full = ty.to_vec();
        full.push(name.into());
        self.blocking_prefix(&full)
    }

    /// The type returned by calling `path` (a fn or `Type::method`), if the catalog knows.
    pub fn returns<S: AsRef<str>>(&self, path: &[S]) -> Option<&Returns> {
        self.returns.find(path)
    }

    pub fn is_builder<S: AsRef<str>>(&self, ty: &[S]) -> bool {
        self.builders.find(ty).is_some()
    }

    pub fn is_wrapper<S: AsRef<str>>(&self, ty: &[S]) -> bool {
        self.wrappers.find(ty).is_some()
    }

    /// Closures passed to this function run off the executor.
    pub fn escape_fn<S: AsRef<str>>(&self, path: &[S]) -> Option<&str> {
        self.escape_paths.find(path).map(String::as_str)
    }

    pub fn escape_method(&self, name: &str) -> Option<&str> {
        self.escape_methods.get(name).map(|s| s.as_str())
    }

    /// Number of entries, for `rule --all` and tests.
    pub fn len(&self) -> usize {
        self.fns.len() + self.prefixes.len() + self.methods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split("::").map(String::from).collect()
    }

    #[test]
    fn patterns_match_reexports_but_not_other_crates() {
        let pat = PathPattern::parse("diesel::PgConnection::establish");
        assert!(pat.matches(&p("diesel::PgConnection::establish")));
        assert!(pat.matches(&p("diesel::pg::PgConnection::establish")));
        assert!(!pat.matches(&p("diesel_async::PgConnection::establish")));
        let read = PathPattern::parse("std::fs::read");
        assert!(read.matches(&p("std::fs::read")));
        assert!(!read.matches(&p("tokio::fs::read")));
        assert!(!read.matches(&p("std::fs::read_to_string")));
    }

    #[test]
    fn builtin_catalog_loads() {
        let cat = BlockingCatalog::builtin().expect("built-in catalog parses");
        assert!(cat.blocking_fn(&p("std::thread::sleep")).is_some());
        assert!(cat.blocking_fn(&p("tokio::time::sleep")).is_none());
        assert!(cat.escape_fn(&p("tokio::task::spawn_blocking")).is_some());
    }
}
