use crate::finding::{Finding, Level, Note};
use crate::routes::{Framework, LayerKind, RouteTable, Server};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};
use crate::source::{Position, Range};

declare_rule! {
    /// ## What it does
    /// Flags an HTTP server whose router has no panic catcher: axum, warp and other
    /// hyper/tower servers without tower-http's `CatchPanicLayer`, actix-web without
    /// `actix_web_lab::middleware::CatchPanic`, poem without `CatchPanic`, salvo without the
    /// `CatchPanic` hoop. It is reported at the server start. A catcher counts when it wraps
    /// the whole application (a `layer` on the outermost router, a `wrap` on the `App`, a
    /// hoop on the root router or the `Service`), or every route the server serves.
    ///
    /// Rocket catches handler panics and answers 500 by default, and loco installs a catcher:
    /// neither is flagged.
    ///
    /// It also flags `panic = "abort"` in the `[profile.release]` of the Cargo.toml that
    /// builds a crate with an HTTP server (the workspace root's for a member): with it, no
    /// catcher can work (`catch_unwind` cannot catch an abort), and one panicking request
    /// kills the process with every request in flight on it.
    ///
    /// ## Why is this bad?
    /// Without a catcher, a panic in a handler unwinds the connection's task: the client gets
    /// no response at all (a reset connection, which proxies turn into 502s and may count
    /// against the instance's health), and nothing records a 500. With a catcher the request
    /// gets a 500 and the panic is logged like any other error.
    ///
    /// ## Example
    /// ```rust
    /// let app = Router::new().route("/", get(index));
    /// axum::serve(listener, app).await?;
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let app = Router::new()
    ///     .route("/", get(index))
    ///     .layer(tower_http::catch_panic::CatchPanicLayer::new());
    /// axum::serve(listener, app).await?;
    /// ```
    ///
    /// ## Known problems
    /// A catcher added inside a middleware stack the linter cannot read (a layer built by a
    /// fn of another crate) is not seen; the server is then not reported when its router
    /// could not be read at all.
    pub static META = {
        id: "missing-panic-handler",
        level: Level::Warning,
        summary: "an HTTP server without a panic catcher, or `panic = \"abort\"` in the release profile",
        since: "0.1.0",
    };
}

pub struct MissingPanicHandler;

impl Rule for MissingPanicHandler {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let table = model.routes();
        for (i, server) in table.servers.iter().enumerate() {
            if server.framework == Framework::Rocket || !server.router_known {
                continue;
            }
            if has_catcher(table, i, server) {
                continue;
            }
            out.push(Finding {
                rule: META.id,
                level: cx.level,
                message: format!(
                    "this {} server has no panic catcher: a panicking handler drops the connection without a response",
                    server.framework
                ),
                path: server.site.path.clone(),
                range: server.site.range,
                label: "the server starts here".into(),
                help: Some(fix_for(server.framework).into()),
                notes: vec![Note {
                    message: "clients and proxies see a reset connection (often a 502), and no 500 is logged for the request".into(),
                    location: None,
                }],
            });
        }
        if let Some((path, line)) = &model.krate.release_panic_abort {
            let has_server = !table.servers.is_empty() || depends_on_web_framework(model);
            if has_server {
                let pos = Position {
                    line: *line,
                    column: 1,
                };
                out.push(Finding {
                    rule: META.id,
                    level: if cx.level_overridden { cx.level } else { Level::Error },
                    message: "`panic = \"abort\"` in the release profile turns any handler panic into a dead process".into(),
                    path: path.clone(),
                    range: Range { start: pos, end: pos },
                    label: "every request in flight on the replica dies with it".into(),
                    help: Some("remove `panic = \"abort\"` from `[profile.release]` (unwinding is the default) so that panic catchers can answer 500".into()),
                    notes: vec![Note {
                        message: "`catch_unwind` cannot catch an abort: `CatchPanicLayer`, `CatchPanic` and rocket's built-in catcher all stop working".into(),
                        location: None,
                    }],
                });
            }
        }
    }
}

/// A catcher wraps the whole application, or every route the server serves.
fn has_catcher(table: &RouteTable, index: usize, server: &Server) -> bool {
    if server
        .layers
        .iter()
        .any(|l| l.kind == LayerKind::PanicCatcher)
    {
        return true;
    }
    let mut served = table
        .routes
        .iter()
        .filter(|r| r.servers.contains(&index))
        .peekable();
    served.peek().is_some()
        && served.all(|r| r.layers.iter().any(|l| l.kind == LayerKind::PanicCatcher))
}

fn depends_on_web_framework(model: &crate::model::CrateModel<'_>) -> bool {
    let Some(m) = &model.krate.manifest else {
        return false;
    };
    let Some(deps) = m.get("dependencies").and_then(|d| d.as_table()) else {
        return false;
    };
    [
        "axum",
        "actix-web",
        "rocket",
        "warp",
        "poem",
        "salvo",
        "hyper",
        "loco-rs",
    ]
    .iter()
    .any(|d| deps.contains_key(*d))
}

fn fix_for(framework: Framework) -> &'static str {
    match framework {
        Framework::Axum => "add `.layer(tower_http::catch_panic::CatchPanicLayer::new())` as the last (outermost) layer of the router (tower-http feature `catch-panic`)",
        Framework::ActixWeb => "add `.wrap(actix_web_lab::middleware::CatchPanic::default())` to the `App`, after every other `wrap` except `Logger`",
        Framework::Poem => "add `.with(poem::middleware::CatchPanic::new())` to the application endpoint",
        Framework::Salvo => "add `.hoop(salvo::catch_panic::CatchPanic::new())` as the first hoop of the root router (feature `catch-panic`)",
        Framework::Warp => "warp has no panic catcher: serve the filter through `warp::service(filter)` wrapped in tower-http's `CatchPanicLayer`",
        Framework::Rocket => "rocket catches panics by default",
    }
}
