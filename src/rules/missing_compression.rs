use crate::catalogs::servers::ServersCatalog;
use crate::finding::{Finding, Level, Note};
use crate::request_code::is_test_fn;
use crate::routes::{Framework, LayerKind};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};

declare_rule! {
    /// ## What it does
    /// Reports an HTTP server whose router applies no response compression: no
    /// `tower_http::compression::CompressionLayer` (also inside a `ServiceBuilder` or a
    /// layer tuple), actix-web `middleware::Compress`, poem `Compression`, salvo
    /// `Compression` or warp `compression::gzip()`/`brotli()`/`deflate()`, neither on the
    /// server's router nor on any router it serves.
    ///
    /// Not reported: servers whose routes the linter cannot read or that serve no routes,
    /// rocket (no built-in compression), servers bound only to a loopback address (internal
    /// listeners), test code.
    ///
    /// ## Why is this bad?
    /// JSON, HTML, CSS and JavaScript compress five to ten times. Uncompressed responses
    /// cost bandwidth, egress fees and latency on slow links, and each response holds a
    /// connection (and its memory) longer.
    ///
    /// Compression is often done by a reverse proxy, an ingress controller or a CDN in
    /// front of the service instead; then this finding does not apply. That is why the rule
    /// is only `info` by default: turn it off in `stateless-lint.toml` when something in
    /// front compresses.
    ///
    /// ## Example
    /// ```rust
    /// let app = Router::new().route("/api/items", get(list_items));
    /// axum::serve(listener, app).await?;
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let app = Router::new()
    ///     .route("/api/items", get(list_items))
    ///     .layer(tower_http::compression::CompressionLayer::new());
    /// axum::serve(listener, app).await?;
    /// ```
    ///
    /// ## Options
    /// When a proxy compresses responses:
    /// ```toml
    /// [rules]
    /// missing-compression = "off"
    /// ```
    ///
    /// ## Known problems
    /// Compression configured outside the router (a tower `Service` wrapped by hand around
    /// the whole app, loco's `server.middlewares.compression` in YAML) is not seen.
    pub static META = {
        id: "missing-compression",
        level: Level::Info,
        summary: "an HTTP server whose responses are never compressed",
        since: "0.1.0",
    };
}

pub struct MissingCompression;

impl Rule for MissingCompression {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let catalog = ServersCatalog::builtin();
        let table = model.routes();
        for (si, server) in table.servers.iter().enumerate() {
            if (!cx.include_tests && is_test_fn(model, server.fn_id))
                || server.is_loopback()
                || !server.router_known
                || server.framework == Framework::Rocket
            {
                continue;
            }
            let Some(fix) = catalog.compression_fix(server.framework) else {
                continue;
            };
            let compressed = server
                .layers
                .iter()
                .chain(
                    table
                        .routes
                        .iter()
                        .filter(|r| r.servers.contains(&si))
                        .flat_map(|r| r.layers.iter()),
                )
                .any(|l| l.kind == LayerKind::Compression);
            if compressed {
                continue;
            }
            let served = table
                .routes
                .iter()
                .filter(|r| r.servers.contains(&si))
                .count();
            // A server with no routes (a stand-in that answers 503 while the app starts).
            if served == 0 {
                continue;
            }
            out.push(Finding {
                rule: META.id,
                level: cx.level,
                message: format!(
                    "{} server without response compression",
                    server.framework
                ),
                path: server.site.path.clone(),
                range: server.site.range,
                label: match served {
                    1 => "the route this server serves is sent uncompressed".to_string(),
                    n => format!("none of the {n} routes this server serves compresses responses"),
                },
                help: Some(format!(
                    "{fix}; if a reverse proxy, ingress or CDN compresses responses, turn this rule off with `missing-compression = \"off\"` under `[rules]` in stateless-lint.toml"
                )),
                notes: vec![Note {
                    message: "text responses (JSON, HTML, JS, CSS) shrink five to ten times when compressed".into(),
                    location: None,
                }],
            });
        }
    }
}
