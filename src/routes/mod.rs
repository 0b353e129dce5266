//! The route model: every route of every router in a crate (method, full path, handler,
//! the middleware that wraps it, its auth status) and the servers that serve them. Built
//! once per crate from the crate model, on first use, and shared by the rules.
//!
//! Routers are read by symbolic evaluation ([`eval`]): a router value is followed through
//! `let` bindings and crate fns (`fn api() -> Router`, `fn config(cfg: &mut ServiceConfig)`)
//! to the builder calls of its framework, which one interpreter per framework reads with
//! that framework's scoping rules (axum's layers cover only what was added before them;
//! actix's `wrap` covers its whole scope; salvo's hoops cover descendants...).

pub mod auth;
pub mod catalog;
pub mod eval;
mod frameworks;
pub mod listing;

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::path::PathBuf;

use crate::model::{CallTarget, CrateModel, FnId};
use crate::source::Range;

pub use auth::AuthStatus;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Framework {
    Axum,
    ActixWeb,
    Rocket,
    Warp,
    Poem,
    Salvo,
}

impl Framework {
    pub fn name(self) -> &'static str {
        match self {
            Framework::Axum => "axum",
            Framework::ActixWeb => "actix-web",
            Framework::Rocket => "rocket",
            Framework::Warp => "warp",
            Framework::Poem => "poem",
            Framework::Salvo => "salvo",
        }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A place in the source.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Site {
    pub path: PathBuf,
    pub range: Range,
}

impl Site {
    pub fn of_call(model: &CrateModel<'_>, fn_id: FnId, call: usize) -> Site {
        Site {
            path: model.fn_path(fn_id).to_path_buf(),
            range: model.fn_facts(fn_id).calls[call].range,
        }
    }

    pub fn of_fn(model: &CrateModel<'_>, fn_id: FnId) -> Site {
        Site {
            path: model.fn_path(fn_id).to_path_buf(),
            range: model.fn_facts(fn_id).range,
        }
    }
}

/// What a route runs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Handler {
    /// A crate fn.
    Fn(FnId),
    /// A closure written inline (warp `.map(|..| ..)`).
    Closure(Site),
    /// A service or endpoint of another crate (`ServeDir::new("assets")`), by name.
    Service(String),
    /// A fn of another crate (a workspace sibling): its parameters are not visible.
    ExternFn(String),
    /// Something the linter could not follow, and why.
    Unknown(String),
}

/// What a piece of middleware does, as far as the catalogs and names tell.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LayerKind {
    /// Rejects unauthenticated requests; says what it is.
    Auth(String),
    PanicCatcher,
    Compression,
    /// Anything else (tracing, CORS, timeouts...).
    Other,
    /// Could not be resolved; says why.
    Unknown(String),
}

/// A layer, middleware, hoop, guard or filter applied to a route.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Layer {
    /// As a user would name it (`CatchPanicLayer`, `from_fn(require_admin)`).
    pub name: String,
    pub kind: LayerKind,
    /// Where it is applied.
    pub site: Site,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub framework: Framework,
    /// `GET`, `POST`...; `*` for any method.
    pub methods: Vec<String>,
    /// The full path, prefixes joined (`/ops/heap`). Dynamic segments as the framework
    /// writes them.
    pub path: String,
    pub handler: Handler,
    /// Middleware that wraps this route, innermost first.
    pub layers: Vec<Layer>,
    /// Where the route is declared (the `.route(..)` call, the attribute...).
    pub site: Site,
    pub auth: AuthStatus,
    /// Indices into [`RouteTable::servers`] of the servers that serve it (empty: a router no
    /// server start in this crate was seen to serve).
    pub servers: Vec<usize>,
}

/// Where an HTTP server starts and what it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub framework: Framework,
    /// The call that starts or builds the server (`axum::serve`, `HttpServer::new`...).
    pub site: Site,
    /// The fn that starts it.
    pub fn_id: FnId,
    /// The address it listens on, when written as a literal.
    pub address: Option<String>,
    /// Middleware applied to everything it serves (outermost router level).
    pub layers: Vec<Layer>,
    /// Whether the linter could read what the server serves.
    pub router_known: bool,
    /// Method names called on the server value (`with_graceful_shutdown`, `disable_signals`),
    /// with their sites, for the shutdown rules.
    pub methods: Vec<(String, Site)>,
}

impl Server {
    /// Bound to a loopback address only (a separate internal listener).
    pub fn is_loopback(&self) -> bool {
        self.address.as_deref().is_some_and(is_loopback_address)
    }
}

pub fn is_loopback_address(a: &str) -> bool {
    let a = a.trim();
    a.starts_with("127.")
        || a.starts_with("localhost")
        || a.starts_with("[::1]")
        || a == "::1"
        || a.starts_with("unix:")
}

/// Every route and server of a crate.
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    pub routes: Vec<Route>,
    pub servers: Vec<Server>,
}

impl RouteTable {
    /// The crate fns that some route runs as its handler.
    pub fn handlers(&self) -> BTreeSet<FnId> {
        self.routes
            .iter()
            .filter_map(|r| match r.handler {
                Handler::Fn(id) => Some(id),
                _ => None,
            })
            .collect()
    }
}

/// A route as an interpreter produces it, before auth is decided.
#[derive(Clone, Debug)]
pub(crate) struct RouteDraft {
    pub framework: Framework,
    pub methods: Vec<String>,
    pub path: String,
    pub handler: Handler,
    pub layers: Vec<Layer>,
    pub site: Site,
}

impl RouteDraft {
    fn prefixed(mut self, prefix: &str) -> RouteDraft {
        self.path = join_paths(prefix, &self.path);
        self
    }
}

/// `/api` + `users/{id}` = `/api/users/{id}`.
pub fn join_paths(prefix: &str, path: &str) -> String {
    let p = prefix.trim_end_matches('/');
    let rest = path.trim_start_matches('/');
    let joined = match (p.is_empty(), rest.is_empty()) {
        (true, true) => "/".to_string(),
        (true, false) => format!("/{rest}"),
        (false, true) => p.to_string(),
        (false, false) => format!("{p}/{rest}"),
    };
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// Builds the route table of a crate.
pub fn build(model: &CrateModel<'_>) -> RouteTable {
    let b = frameworks::Builder::new(model);
    let auth_facts = auth::AuthFacts::of(model);
    let (servers, served) = b.servers();
    let mut routes: Vec<Route> = Vec::new();
    let mut seen: HashSet<(String, Vec<String>, Site)> = HashSet::new();
    let mut push = |d: RouteDraft, server: Option<usize>, routes: &mut Vec<Route>| {
        let key = (d.path.clone(), d.methods.clone(), d.site.clone());
        if !seen.insert(key.clone()) {
            if let Some(s) = server {
                if let Some(r) = routes
                    .iter_mut()
                    .find(|r| (r.path.clone(), r.methods.clone(), r.site.clone()) == key)
                {
                    if !r.servers.contains(&s) {
                        r.servers.push(s);
                    }
                }
            }
            return;
        }
        let auth = auth::route_auth(model, &auth_facts, &d);
        routes.push(Route {
            framework: d.framework,
            methods: d.methods,
            path: d.path,
            handler: d.handler,
            layers: d.layers,
            site: d.site,
            auth,
            servers: server.into_iter().collect(),
        });
    };
    for (i, drafts) in served.into_iter().enumerate() {
        for d in drafts {
            push(d, Some(i), &mut routes);
        }
    }
    // Routers that no server start in this crate serves (a library's `fn routes()`).
    for d in b.unserved_routers() {
        push(d, None, &mut routes);
    }
    routes.sort_by(|a, b| (&a.site, &a.path, &a.methods).cmp(&(&b.site, &b.path, &b.methods)));
    RouteTable { routes, servers }
}

/// Whether a crate fn is called or referenced anywhere in the crate.
pub(crate) fn used_fns(model: &CrateModel<'_>) -> HashSet<FnId> {
    let mut out = HashSet::new();
    for id in 0..model.fns.len() {
        let f = model.fn_facts(id);
        for ci in 0..f.calls.len() {
            if let CallTarget::Local(c) = model.call_target(id, ci) {
                if *c != id {
                    out.insert(*c);
                }
            }
        }
        for r in &f.refs {
            for res in model.resolve_in_fn(id, &r.path) {
                if let crate::model::Resolved::Local { target, path } = res {
                    if let Some(c) = model.local_fn(target, &path) {
                        out.insert(c);
                    }
                }
            }
        }
        for m in &f.macros {
            for a in &m.args {
                if let crate::summary::Operand::Path(p) = a {
                    for res in model.resolve_in_fn(id, p) {
                        if let crate::model::Resolved::Local { target, path } = res {
                            if let Some(c) = model.local_fn(target, &path) {
                                out.insert(c);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_on_one_slash() {
        assert_eq!(join_paths("/ops", "/heap"), "/ops/heap");
        assert_eq!(join_paths("/ops/", "heap"), "/ops/heap");
        assert_eq!(join_paths("", "/"), "/");
        assert_eq!(join_paths("/api", "/"), "/api");
        assert_eq!(join_paths("api", "x"), "/api/x");
        assert!(is_loopback_address("127.0.0.1:9000"));
        assert!(!is_loopback_address("0.0.0.0:9000"));
    }
}

#[cfg(test)]
mod model_tests {
    use super::*;
    use crate::catalog::BlockingCatalog;
    use crate::discover::TargetKind;
    use crate::load::{LoadedCrate, LoadedTarget};
    use crate::parse::{parse_source, ParsedFile};

    /// A one-target crate from in-memory files: (module path, source).
    fn krate(files: &[(&str, &str)]) -> LoadedCrate {
        let parsed: Vec<ParsedFile> = files
            .iter()
            .map(|(module, text)| {
                let module: Vec<crate::facts::Name> = if module.is_empty() {
                    Vec::new()
                } else {
                    module.split("::").map(crate::facts::Name::from).collect()
                };
                let path = PathBuf::from(format!("/virtual/{}.rs", module.join("/")));
                parse_source(&path, &module, false, text.to_string())
            })
            .collect();
        LoadedCrate {
            name: "demo".into(),
            dir: PathBuf::from("/virtual"),
            manifest: None,
            manifest_path: None,
            release_panic_abort: None,
            targets: vec![LoadedTarget {
                name: "demo".into(),
                kind: TargetKind::Bin,
                root: PathBuf::from("/virtual/main.rs"),
                files: (0..parsed.len()).collect(),
            }],
            files: parsed,
            problems: Vec::new(),
            config_files: Vec::new(),
        }
    }

    /// (path, auth status label, layer names) of every route.
    fn table(files: &[(&str, &str)]) -> Vec<(String, &'static str, Vec<String>)> {
        let k = krate(files);
        let cat = BlockingCatalog::builtin().unwrap();
        let m = CrateModel::build(&k, &cat);
        m.routes()
            .routes
            .iter()
            .map(|r| {
                (
                    format!("{} {}", r.methods.join(","), r.path),
                    r.auth.label(),
                    r.layers.iter().map(|l| l.name.clone()).collect(),
                )
            })
            .collect()
    }

    fn status<'t>(t: &'t [(String, &'static str, Vec<String>)], route: &str) -> &'t str {
        t.iter()
            .find(|r| r.0 == route)
            .map(|r| r.1)
            .unwrap_or_else(|| panic!("no route {route} in {t:?}"))
    }

    #[test]
    fn axum_layers_cover_only_routes_added_before_them() {
        let t = table(&[(
            "",
            r#"use axum::{routing::get, Router, middleware::from_fn};
            async fn a() {} async fn b() {} async fn require_admin() {}
            fn main() {
                let app: Router = Router::new()
                    .route("/a", get(a))
                    .layer(from_fn(require_admin))
                    .route("/b", get(b).post(a));
                axum::serve(l, app);
            }"#,
        )]);
        assert_eq!(status(&t, "GET /a"), "protected");
        assert_eq!(status(&t, "GET /b"), "unprotected");
        assert_eq!(status(&t, "POST /b"), "unprotected");
    }

    #[test]
    fn routers_built_by_fns_in_other_modules_with_parameters() {
        let t = table(&[
            (
                "",
                r#"mod api; use axum::Router;
                fn main() {
                    let app = api::with_auth(Router::new().nest("/ops", api::ops()));
                    axum::serve(l, app);
                }"#,
            ),
            (
                "api",
                r#"use axum::{routing::get, Router};
                use tower_http::validate_request::ValidateRequestHeaderLayer;
                async fn heap() {}
                pub fn ops() -> Router { Router::new().route("/heap", get(heap)) }
                pub fn with_auth(r: Router) -> Router { r.layer(ValidateRequestHeaderLayer::bearer("t")) }"#,
            ),
        ]);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(status(&t, "GET /ops/heap"), "protected");
    }

    #[test]
    fn actix_wrap_covers_the_whole_scope_whatever_the_order() {
        let t = table(&[(
            "",
            r#"use actix_web::{web, App, HttpServer};
            use actix_web_httpauth::middleware::HttpAuthentication;
            async fn heap() {} async fn open() {}
            fn main() {
                HttpServer::new(|| App::new()
                    .service(web::scope("/ops").route("/heap", web::get().to(heap)).wrap(HttpAuthentication::bearer(v)))
                    .route("/open", web::post().to(open)));
            }"#,
        )]);
        assert_eq!(status(&t, "GET /ops/heap"), "protected");
        assert_eq!(status(&t, "POST /open"), "unprotected");
    }

    #[test]
    fn salvo_hoops_cover_descendants_and_forced_jwt_does_not_protect() {
        let t = table(&[(
            "",
            r#"use salvo::prelude::*;
            use salvo::jwt_auth::JwtAuth;
            #[handler] async fn auth_check() {} #[handler] async fn a() {} #[handler] async fn b() {}
            async fn main() {
                let r = Router::new()
                    .push(Router::with_path("ops").hoop(auth_check).push(Router::with_path("a").get(a)))
                    .push(Router::with_path("b").hoop(JwtAuth::new(d).force_passed(true)).get(b));
                Server::new(acc).serve(r).await;
            }"#,
        )]);
        assert_eq!(status(&t, "GET /ops/a"), "protected");
        assert_eq!(status(&t, "GET /b"), "unprotected");
    }

    #[test]
    fn warp_filters_protect_the_chain_they_are_anded_into() {
        let t = table(&[(
            "",
            r#"use warp::Filter;
            async fn a() {} async fn b() {}
            async fn main() {
                let admin = warp::path!("admin" / "x").and(warp::header::<String>("authorization")).and_then(a);
                let open = warp::path("open").and(warp::get()).and_then(b);
                warp::serve(admin.or(open)).run(([0, 0, 0, 0], 1)).await;
            }"#,
        )]);
        assert_eq!(status(&t, "* /admin/x"), "protected");
        assert_eq!(status(&t, "GET /open"), "unprotected");
    }

    #[test]
    fn rocket_guards_and_poem_with() {
        let t = table(&[(
            "",
            r#"use rocket::request::FromRequest;
            struct Operator;
            impl<'r> FromRequest<'r> for Operator {}
            #[get("/stats")] fn stats(_o: Operator) {}
            #[get("/drafts")] fn drafts(_o: Option<Operator>) {}
            #[launch] fn rocket() -> _ { rocket::build().mount("/admin", routes![stats, drafts]) }"#,
        )]);
        // `operator` is a weak name: it counts because the type implements `FromRequest`.
        assert_eq!(status(&t, "GET /admin/stats"), "protected");
        assert_eq!(status(&t, "GET /admin/drafts"), "unprotected");
        let t = table(&[(
            "",
            r#"use poem::{get, handler, EndpointExt, Route, Server};
            #[handler] fn links() {} #[handler] fn open() {}
            fn admin() -> Route { Route::new().at("/links", get(links)) }
            async fn main() {
                let app = Route::new().nest("/admin", admin().with(RequireAdmin)).at("/open", get(open));
                Server::new(l).run(app).await;
            }"#,
        )]);
        assert_eq!(status(&t, "GET /admin/links"), "protected");
        assert_eq!(status(&t, "GET /open"), "unprotected");
    }

    #[test]
    fn a_layer_that_cannot_be_read_makes_the_status_unknown() {
        let t = table(&[(
            "",
            r#"use axum::{routing::get, Router};
            async fn a() {}
            fn main() {
                let app = Router::new().route("/debug/a", get(a)).route_layer(cfg.guard.clone());
                axum::serve(l, app);
            }"#,
        )]);
        assert_eq!(status(&t, "GET /debug/a"), "unknown");
    }
}
