use std::sync::OnceLock;

use serde::Deserialize;

use crate::catalog::PathPattern;
use crate::dataflow::{Flow, Origin, Through};
use crate::finding::{Finding, Level, Note};
use crate::model::{CrateModel, ExecContext, FnId};
use crate::request_code::{
    call_path_note, call_paths, is_test_fn, sync_local_callee, HelperSearch,
};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};
use crate::source::Range;

declare_rule! {
    /// ## What it does
    /// Flags request handlers (of mounted routes, and the async crate fns they call; see
    /// `print-in-handler` for how request code is found) that read a static asset from disk
    /// on every request:
    /// `tokio::fs::read*`, `std::fs::read*`, `File::open`, actix `NamedFile::open`, rocket
    /// `NamedFile::open` or `Tera::new` of a fixed path, directly or in a sync crate-local
    /// helper the handler calls.
    ///
    /// A path is fixed when everything it is built from is a string literal, a `format!` of
    /// literals, a const, or a field of application state or config (`State<Config>`,
    /// `web::Data<..>`, `&State<..>`, `Data<&..>`, `Extension<..>`). It is an asset when one
    /// of its literals has a segment named `static`, `public`, `assets`, `templates`,
    /// `dist`, `www` or `wwwroot`, names `robots.txt`, `favicon.ico`, `manifest.json` or
    /// `sitemap.xml`, or ends in a web-asset or template extension (`.html`, `.css`, `.js`,
    /// `.png`, `.svg`, `.ico`, `.woff2`, `.wasm`, `.hbs`, `.tera`, ..). The lists are in
    /// `rules/static-files.toml`.
    ///
    /// Not flagged: a path built from request data (a path segment, a query, a body) is a
    /// user-requested file, not a static asset; files served by `ServeDir`/`ServeFile`,
    /// `actix_files::Files`, rocket `FileServer`, `warp::fs`, poem `StaticFilesEndpoint`,
    /// salvo `StaticDir`; assets embedded with `include_str!`/`include_bytes!`/`rust-embed`;
    /// reads at start-up; test code.
    ///
    /// ## Why is this bad?
    /// Every request pays a file-system round trip (and with `std::fs` blocks the executor)
    /// for bytes that never change while the process runs. A hand-written handler also
    /// loses what a file service does: `ETag`/`Last-Modified` and conditional requests,
    /// range requests, content types, precompressed variants. Templates re-parsed per
    /// request cost CPU as well. Assets ship with the image: load them once at start-up,
    /// embed them, or let a file service handle them.
    ///
    /// ## Example
    /// ```rust
    /// async fn index() -> Html<String> {
    ///     Html(tokio::fs::read_to_string("static/index.html").await.unwrap())
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let app = Router::new().route_service("/", ServeFile::new("static/index.html"));
    /// // or: async fn index() -> Html<&'static str> { Html(include_str!("../static/index.html")) }
    /// ```
    ///
    /// ## Known problems
    /// The value of a `const` path is not read, so `read(INDEX_PATH)` is only flagged when a
    /// literal naming an asset is also part of the path. Paths passed into a helper as a
    /// parameter are not followed across the call. A development-mode handler that re-reads
    /// templates on purpose (hot reload) is flagged; suppress it with a reason.
    pub static META = {
        id: "static-file-per-request",
        level: Level::Warning,
        summary: "a handler reads a static asset from disk on every request instead of serving or embedding it",
        since: "0.1.0",
    };
}

const STATIC_FILES_TOML: &str = include_str!("../../rules/static-files.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadEntry {
    path: PathPattern,
    arg: usize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServeEntry {
    #[serde(rename = "crate")]
    krate: String,
    fix: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaticFilesCatalog {
    asset_dirs: Vec<crate::facts::Name>,
    asset_files: Vec<crate::facts::Name>,
    asset_extensions: Vec<crate::facts::Name>,
    state_extractors: Vec<crate::facts::Name>,
    #[serde(default)]
    read: Vec<ReadEntry>,
    #[serde(default)]
    serve: Vec<ServeEntry>,
}

impl StaticFilesCatalog {
    fn from_toml(text: &str) -> Result<StaticFilesCatalog, String> {
        toml::from_str(text).map_err(|e| format!("rules/static-files.toml: {e}"))
    }

    /// The built-in catalog (checked by a unit test, so it always parses).
    fn builtin() -> &'static StaticFilesCatalog {
        static CATALOG: OnceLock<StaticFilesCatalog> = OnceLock::new();
        CATALOG.get_or_init(|| StaticFilesCatalog::from_toml(STATIC_FILES_TOML).unwrap_or_default())
    }

    /// A literal path (or format string) that names a static asset.
    fn names_asset(&self, lit: &str) -> bool {
        let segs: Vec<&str> = lit
            .split(['/', '\\'])
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        if segs.iter().any(|s| self.asset_dirs.iter().any(|d| d == s)) {
            return true;
        }
        let Some(file) = segs.last() else {
            return false;
        };
        if self.asset_files.iter().any(|f| f == file) {
            return true;
        }
        match file.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() || file.starts_with('.') => self
                .asset_extensions
                .iter()
                .any(|e| e.eq_ignore_ascii_case(ext)),
            _ => false,
        }
    }
}

/// A per-request read of a static asset.
#[derive(Clone, Debug)]
struct AssetRead {
    api: String,
    asset: String,
}

pub struct StaticFilePerRequest;

impl Rule for StaticFilePerRequest {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let request_code = model.request_code();
        let catalog = StaticFilesCatalog::builtin();
        let mut helpers = HelperSearch::new(|id: FnId| {
            let f = model.fn_facts(id);
            (0..f.calls.len()).find_map(|ci| {
                if !matches!(model.context(id, f.calls[ci].scope), ExecContext::Sync) {
                    return None;
                }
                asset_read(model, catalog, id, ci).map(|r| (r, f.calls[ci].range))
            })
        });
        for id in 0..model.fns.len() {
            if !cx.include_tests && is_test_fn(model, id) {
                continue;
            }
            let f = model.fn_facts(id);
            for (ci, call) in f.calls.iter().enumerate() {
                let Some(why) = request_code.context(model, id, call.scope) else {
                    continue;
                };
                if let Some(read) = asset_read(model, catalog, id, ci) {
                    out.push(finding(
                        cx,
                        model,
                        catalog,
                        id,
                        call.range,
                        &format!("`{}` reads `{}` from disk", read.api, read.asset),
                        &read,
                        vec![request_note(&why)],
                    ));
                    continue;
                }
                let Some(callee) = sync_local_callee(model, id, ci) else {
                    continue;
                };
                let Some(w) = helpers.find(model, callee) else {
                    continue;
                };
                let helper = model.fn_display(callee);
                let mut notes = vec![Note {
                    message: format!("`{}` reads `{}` here", w.site.api, w.site.asset),
                    location: Some((w.path.clone(), w.range)),
                }];
                notes.extend(call_path_note(model, callee, &w.via, &w.site.api));
                notes.push(request_note(&why));
                out.push(finding(
                    cx,
                    model,
                    catalog,
                    id,
                    call.range,
                    &format!("`{helper}` reads `{}` from disk", w.site.asset),
                    &w.site,
                    notes,
                ));
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    cx: &RuleContext<'_>,
    model: &CrateModel<'_>,
    catalog: &StaticFilesCatalog,
    id: FnId,
    range: Range,
    label: &str,
    read: &AssetRead,
    notes: Vec<Note>,
) -> Finding {
    Finding {
        rule: META.id,
        level: cx.level,
        message: format!(
            "static file read from disk on every request: `{}`",
            read.asset
        ),
        path: model.fn_path(id).to_path_buf(),
        range,
        label: label.to_string(),
        help: Some(serve_fix(model, catalog, id)),
        notes,
    }
}

fn request_note(why: &str) -> Note {
    Note {
        message: format!("this runs per request: {why}"),
        location: None,
    }
}

/// The framework's way to serve files, by the crates the fn's file imports.
fn serve_fix(model: &CrateModel<'_>, catalog: &StaticFilesCatalog, id: FnId) -> String {
    let file = model.fns[id].file;
    catalog
        .serve
        .iter()
        .find(|s| model.file_imports_crate(file, &s.krate))
        .map(|s| s.fix.clone())
        .unwrap_or_else(|| {
            "serve it with the framework's file service, load it once at start-up, or embed it with `include_str!`/`rust-embed`".into()
        })
}

/// The call at `ci` reads a static asset from a fixed path.
fn asset_read(
    model: &CrateModel<'_>,
    catalog: &StaticFilesCatalog,
    id: FnId,
    ci: usize,
) -> Option<AssetRead> {
    let f = model.fn_facts(id);
    let paths = call_paths(model, id, ci);
    let (entry, api) = catalog.read.iter().find_map(|r| {
        paths
            .iter()
            .find(|p| r.path.matches(p))
            .map(|p| (r, short(p)))
    })?;
    let arg = f.calls[ci].args.get(entry.arg)?;
    let flow = Flow::new(f);
    if !fixed_path(&flow, catalog, arg, ci, 0) {
        return None;
    }
    // Follow everything: any request data anywhere in the path makes it user-requested.
    let through = |_: usize, _: &crate::facts::CallSite| Through::Both;
    let literals = flow.string_literals(arg, ci, &through);
    let asset = literals.iter().find(|l| catalog.names_asset(l))?;
    Some(AssetRead {
        api,
        asset: asset.to_string(),
    })
}

/// Everything `op` is built from is fixed: literals, consts, calls on fixed data, fields of
/// state/config extractors, and the same for names captured by format strings
/// (`format!("pages/{slug}.html")`).
fn fixed_path(
    flow: &Flow<'_>,
    catalog: &StaticFilesCatalog,
    op: &crate::summary::Operand,
    at: usize,
    depth: u32,
) -> bool {
    if depth > 8 {
        return false;
    }
    let f = flow.f;
    // Follow everything: any request data anywhere in the path makes it user-requested.
    let through = |_: usize, _: &crate::facts::CallSite| Through::Both;
    for o in flow.origins(op, at, &through) {
        match o {
            Origin::Param(i) => {
                let is_state = f
                    .param_types
                    .get(i)
                    .and_then(|p| p.ty.as_ref())
                    .is_some_and(|t| catalog.state_extractors.iter().any(|s| s == t.last()));
                if !is_state {
                    return false;
                }
            }
            Origin::Unknown | Origin::Closure(_) => return false,
            Origin::Call(_) | Origin::Macro(_) | Origin::Path(_) | Origin::Literal => {}
        }
    }
    for lit in flow.string_literals(op, at, &through) {
        for name in format_captures(lit) {
            let local = crate::summary::Operand::Local(name);
            if !fixed_path(flow, catalog, &local, at, depth + 1) {
                return false;
            }
        }
    }
    true
}

/// Names a format string captures inline: `slug` in `"pages/{slug}.html"` and
/// `"{slug:?}"`; not `{}`, `{0}` or an escaped `{{`.
fn format_captures(s: &str) -> Vec<crate::facts::Name> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(stripped) = after.strip_prefix('{') {
            rest = stripped;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        let inner = &after[..close];
        let name = inner.split(':').next().unwrap_or("").trim();
        let is_ident = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if is_ident && !out.iter().any(|n: &crate::facts::Name| n == name) {
            out.push(name.into());
        }
        rest = &after[close + 1..];
    }
    out
}

/// `tokio::fs::read_to_string` stays; longer paths keep their last three segments.
fn short(path: &[crate::facts::Name]) -> String {
    let n = path.len();
    path[n.saturating_sub(3)..].join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_string_captures() {
        assert_eq!(format_captures("pages/{slug}.html"), ["slug"]);
        assert_eq!(format_captures("{a:?}/{}/{0}/{{b}}/{c}"), ["a", "c"]);
        assert!(format_captures("static/index.html").is_empty());
    }

    #[test]
    fn builtin_catalog_parses_and_names_assets() {
        let c = StaticFilesCatalog::from_toml(STATIC_FILES_TOML).unwrap();
        assert!(!c.read.is_empty() && !c.serve.is_empty());
        for yes in [
            "static/index.html",
            "./public/app.js",
            "{}/logo.png",
            "templates/**/*",
            "robots.txt",
            "assets",
        ] {
            assert!(c.names_asset(yes), "{yes}");
        }
        for no in [
            "data/orders.json",
            "uploads/{}",
            "reports/{}.pdf",
            "settings.toml",
            "html",
            "",
        ] {
            assert!(!c.names_asset(no), "{no}");
        }
    }
}
