//! `cargo stateless-lint routes [PATH]`: the route table of every analysed crate, as rows a
//! reporter prints (human table or JSON).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalog::BlockingCatalog;
use crate::config;
use crate::discover::{self, DiscoverOptions};
use crate::engine::UsageError;
use crate::load::{self, LoadOptions};
use crate::model::CrateModel;
use crate::parse;
use crate::report::display_path;
use crate::routes::{Handler, LayerKind, RouteTable};
use crate::rules;

#[derive(Clone, Debug, Serialize)]
pub struct Location {
    pub path: String,
    pub line: u32,
    pub column: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct HandlerRow {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AuthRow {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RouteRow {
    pub framework: &'static str,
    pub methods: Vec<String>,
    pub path: String,
    pub handler: HandlerRow,
    pub auth: AuthRow,
    pub middleware: Vec<String>,
    /// The handler's parameter types (extractors, request guards), as written.
    pub extractors: Vec<String>,
    pub declared_at: Location,
    /// Addresses of the servers that serve it (`?` when not written as a literal).
    pub servers: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServerRow {
    pub framework: &'static str,
    pub address: Option<String>,
    pub location: Location,
}

#[derive(Clone, Debug, Serialize)]
pub struct CrateRoutes {
    pub name: String,
    pub routes: Vec<RouteRow>,
    pub servers: Vec<ServerRow>,
}

/// Discovers, loads and models the crates at `paths` and lists their routes.
pub fn list(
    paths: &[PathBuf],
    include_tests: bool,
    config_file: Option<&Path>,
) -> Result<Vec<CrateRoutes>, UsageError> {
    let discovery = discover::discover(
        paths,
        &DiscoverOptions {
            include_tests,
            exclude: Vec::new(),
        },
    )
    .map_err(|e| UsageError(e.to_string()))?;
    let cfg = config::load(
        &discovery.config_root,
        discovery.workspace_manifest.as_deref(),
        config_file,
        &rules::known_ids(),
    )
    .map_err(|e| UsageError(format!("invalid configuration: {e}")))?;
    let catalog =
        BlockingCatalog::builtin().map_err(|e| UsageError(format!("internal error: {e}")))?;
    let exclude = discover::exclude_matcher(&cfg.exclude).map_err(|e| UsageError(e.to_string()))?;
    let include_tests = include_tests || cfg.include_tests.unwrap_or(false);
    let load_opts = LoadOptions {
        include_tests,
        exclude,
        exclude_root: discovery.config_root.clone(),
        max_file_bytes: cfg.max_file_bytes(),
        depth: if include_tests {
            parse::Depth::Full
        } else {
            parse::Depth::WithoutTestBodies
        },
        // The route listing is run by hand and rarely: it reads the files afresh.
        cache: None,
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let crates = load::load(&discovery, &load_opts).crates;
    let mut out = Vec::new();
    for k in &crates {
        let model = CrateModel::build(k, &catalog);
        let table = model.routes();
        if table.routes.is_empty() && table.servers.is_empty() {
            continue;
        }
        out.push(rows(&model, table, &cwd, k.name.clone()));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn loc(path: &Path, range: crate::source::Range, cwd: &Path) -> Location {
    Location {
        path: display_path(path, cwd),
        line: range.start.line,
        column: range.start.column,
    }
}

fn rows(model: &CrateModel<'_>, table: &RouteTable, cwd: &Path, name: String) -> CrateRoutes {
    let servers: Vec<ServerRow> = table
        .servers
        .iter()
        .map(|s| ServerRow {
            framework: s.framework.name(),
            address: s.address.clone(),
            location: loc(&s.site.path, s.site.range, cwd),
        })
        .collect();
    let routes = table
        .routes
        .iter()
        .map(|r| RouteRow {
            framework: r.framework.name(),
            methods: r.methods.clone(),
            path: r.path.clone(),
            handler: match &r.handler {
                Handler::Fn(id) => HandlerRow {
                    name: model.fn_display(*id),
                    location: Some(loc(model.fn_path(*id), model.fn_facts(*id).range, cwd)),
                },
                Handler::Closure(site) => HandlerRow {
                    name: "closure".into(),
                    location: Some(loc(&site.path, site.range, cwd)),
                },
                Handler::Service(s) | Handler::ExternFn(s) => HandlerRow {
                    name: s.clone(),
                    location: None,
                },
                Handler::Unknown(why) => HandlerRow {
                    name: format!("? ({why})"),
                    location: None,
                },
            },
            auth: AuthRow {
                status: r.auth.label(),
                detail: r.auth.detail().map(String::from),
            },
            middleware: r
                .layers
                .iter()
                .filter(|l| !matches!(l.kind, LayerKind::Other) || !l.name.is_empty())
                .map(|l| l.name.clone())
                .collect(),
            extractors: match r.handler {
                Handler::Fn(id) => model
                    .fn_facts(id)
                    .param_types
                    .iter()
                    .filter_map(|p| p.ty.as_ref().map(|t| t.display()))
                    .collect(),
                _ => Vec::new(),
            },
            declared_at: loc(&r.site.path, r.site.range, cwd),
            servers: r
                .servers
                .iter()
                .map(|&i| {
                    table.servers[i]
                        .address
                        .clone()
                        .unwrap_or_else(|| "?".into())
                })
                .collect(),
        })
        .collect();
    CrateRoutes {
        name,
        routes,
        servers,
    }
}

/// The human table.
pub fn render_human(crates: &[CrateRoutes]) -> String {
    let mut out = String::new();
    if crates.is_empty() {
        out.push_str("no routes found\n");
        return out;
    }
    for (i, c) in crates.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let servers = if c.servers.is_empty() {
            "no server start seen".to_string()
        } else {
            c.servers
                .iter()
                .map(|s| {
                    format!(
                        "{} server on {} ({}:{})",
                        s.framework,
                        s.address.as_deref().unwrap_or("an address set at run time"),
                        s.location.path,
                        s.location.line
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "{}: {} route{}; {}\n",
            c.name,
            c.routes.len(),
            if c.routes.len() == 1 { "" } else { "s" },
            servers
        ));
        let method_w = c
            .routes
            .iter()
            .map(|r| r.methods.join(",").len())
            .max()
            .unwrap_or(6)
            .max(6);
        let path_w = c
            .routes
            .iter()
            .map(|r| r.path.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let handlers: Vec<String> = c
            .routes
            .iter()
            .map(|r| match &r.handler.location {
                Some(l) => format!("{} ({}:{})", r.handler.name, l.path, l.line),
                None => r.handler.name.clone(),
            })
            .collect();
        let handler_w = handlers
            .iter()
            .map(|h| h.chars().count())
            .max()
            .unwrap_or(7)
            .max(7);
        out.push_str(&format!(
            "  {:<method_w$}  {:<path_w$}  {:<handler_w$}  AUTH\n",
            "METHOD", "PATH", "HANDLER"
        ));
        for (r, h) in c.routes.iter().zip(&handlers) {
            let auth = match &r.auth.detail {
                Some(d) => format!("{}: {d}", r.auth.status),
                None => r.auth.status.to_string(),
            };
            out.push_str(&format!(
                "  {:<method_w$}  {:<path_w$}  {:<handler_w$}  {auth}\n",
                r.methods.join(","),
                r.path,
                h
            ));
        }
    }
    out
}

pub fn render_json(crates: &[CrateRoutes]) -> String {
    let doc = serde_json::json!({ "version": 1, "crates": crates });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
