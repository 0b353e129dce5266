use crate::facts::Callee;
use crate::finding::{Finding, Level, Note};
use crate::model::{CallTarget, CrateModel, FnId};
use crate::routes::catalog::RouteCatalog;
use crate::routes::{AuthStatus, Framework, Handler, LayerKind, Route, RouteTable};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};

declare_rule! {
    /// ## What it does
    /// Lists every route of every router in the crate (axum, actix-web, rocket, warp, poem,
    /// salvo, loco) with the middleware, guards and extractors that apply to it, and flags the
    /// maintenance routes that anyone can call: routes under a sensitive prefix (`/ops`,
    /// `/admin`, `/debug`, `/internal`, `/actuator`, `/_…`) and routes whose handler dumps
    /// process internals (heap or CPU profiles, the environment), when nothing authenticates
    /// the request.
    ///
    /// A route counts as protected when an authenticating middleware wraps it (tower-http
    /// `ValidateRequestHeaderLayer`/`AsyncRequireAuthorizationLayer`, axum-login
    /// `login_required!`, actix-web-httpauth `HttpAuthentication`, salvo `JwtAuth`/`BasicAuth`,
    /// a middleware fn that answers 401/403 or whose name says it authenticates), or when its
    /// handler takes an extractor or request guard that rejects anonymous requests (`Claims`,
    /// `AdminUser`, `BearerAuth`, `TypedHeader<Authorization<Bearer>>`, a crate type that
    /// implements `FromRequestParts`/`FromRequest`…). The framework's scoping rules are
    /// followed: an axum `layer`/`route_layer` covers only the routes added before it; actix's
    /// `wrap` covers its whole scope; salvo's hoops cover descendants; a warp filter covers the
    /// chain it is `and`-ed into. Routers built in other functions and files are followed.
    ///
    /// When a middleware or router cannot be resolved (built by a fn the linter cannot read,
    /// passed in as a parameter), the route's auth status is unknown and the finding is a
    /// warning that says what could not be read. Health probes (`/healthz`, `/ops/health`…)
    /// are public by design and never flagged; a path segment that merely contains `admin`
    /// (`/administrators-guide`) is not an ops route. A route served only by a server bound
    /// to a loopback address (`127.0.0.1`, `localhost`, `[::1]`) is not reachable from
    /// outside the host and is not flagged.
    ///
    /// `cargo stateless-lint routes` prints the whole route table with each route's status.
    ///
    /// ## Why is this bad?
    /// A maintenance endpoint is the most dangerous route a service has: a heap dump leaks
    /// every secret and session in memory, a config endpoint leaks credentials, a debug
    /// endpoint can change behaviour. Behind a load balancer every replica exposes it to
    /// whoever can reach the service. It must be reachable only by operators.
    ///
    /// ## Example
    /// ```rust
    /// let ops = Router::new().route("/heap", get(heap_dump));
    /// let app = Router::new()
    ///     .route("/", get(index))
    ///     .nest("/ops", ops);
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let ops = Router::new()
    ///     .route("/heap", get(heap_dump))
    ///     .route_layer(ValidateRequestHeaderLayer::bearer(&ops_token));
    /// let app = Router::new()
    ///     .route("/", get(index))
    ///     .nest("/ops", ops);
    /// ```
    /// or serve the ops router on a second listener bound to `127.0.0.1`.
    ///
    /// ## Options
    /// ```toml
    /// [unauthenticated-ops-route]
    /// # more path prefixes that are sensitive (the defaults stay)
    /// sensitive-prefixes = ["/manage", "/_internal"]
    /// # middleware (type or fn names, or paths) that authenticate in your code base
    /// auth-layers = ["my_auth::Gate", "require_operator"]
    /// # extractor types that reject anonymous requests
    /// auth-extractors = ["Operator"]
    /// ```
    /// The built-in catalog is `rules/routes.toml`.
    ///
    /// ## Known problems
    /// Auth decided inside a handler body (`if !is_admin(&req) { return 403 }`) is not seen:
    /// move it into an extractor or middleware, or suppress the finding with a comment.
    /// Routers registered through macros the linter does not know are not seen. Each package
    /// of a workspace is analysed on its own: a handler defined in a sibling crate makes the
    /// route's status unknown (its extractors are not read), and a middleware fn of a sibling
    /// crate is judged by its name only.
    pub static META = {
        id: "unauthenticated-ops-route",
        level: Level::Error,
        summary: "a maintenance route (`/ops`, `/admin`, `/debug`, heap dumps...) reachable without authentication",
        since: "0.1.0",
        options: ["sensitive-prefixes", "auth-layers", "auth-extractors"],
    };
}

pub struct UnauthenticatedOpsRoute;

impl Rule for UnauthenticatedOpsRoute {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let table = model.routes();
        let cat = RouteCatalog::builtin();
        let mut prefixes: Vec<String> = cat
            .sensitive
            .prefixes
            .iter()
            .map(|s| s.to_string())
            .collect();
        prefixes.extend(cx.option(META.id, "sensitive-prefixes").iter().cloned());
        for route in &table.routes {
            let Some(why) = sensitive(model, route, &prefixes, cat) else {
                continue;
            };
            if served_only_on_loopback(table, route) {
                continue;
            }
            let auth = effective_auth(cx, model, route);
            match auth {
                AuthStatus::Protected(_) => {}
                AuthStatus::Unprotected => out.push(finding(cx, model, table, route, &why, None)),
                AuthStatus::Unknown(what) => {
                    out.push(finding(cx, model, table, route, &why, Some(what)))
                }
            }
        }
    }
}

/// Why a route is an operations route, if it is one.
fn sensitive(
    model: &CrateModel<'_>,
    route: &Route,
    prefixes: &[String],
    cat: &RouteCatalog,
) -> Option<String> {
    let segs: Vec<&str> = route.path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.last().is_some_and(|l| {
        cat.sensitive
            .public
            .iter()
            .any(|p| p.eq_ignore_ascii_case(l))
    }) {
        return None;
    }
    for p in prefixes {
        let psegs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
        let Some(first) = psegs.first() else { continue };
        let hit = if *first == "_" {
            segs.first()
                .is_some_and(|s| s.starts_with('_') && s.len() > 1)
        } else {
            // The prefix's segments, at the start or after a version/api segment
            // (`/api/v1/admin/users`).
            (0..segs.len()).any(|start| {
                segs.len() >= start + psegs.len()
                    && segs[start..start + psegs.len()]
                        .iter()
                        .zip(&psegs)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b))
                    && segs[..start].iter().all(|s| is_api_prefix(s))
            })
        };
        if hit {
            return Some(format!("its path is under `{p}`"));
        }
    }
    if let Handler::Fn(id) = route.handler {
        if let Some(what) = dumps_internals(model, id, cat) {
            return Some(format!("its handler returns {what}"));
        }
    }
    None
}

/// Segments that may stand before an ops prefix: `api`, `v1`, `v2`...
fn is_api_prefix(s: &str) -> bool {
    s.eq_ignore_ascii_case("api")
        || (s.len() > 1 && s.starts_with(['v', 'V']) && s[1..].chars().all(|c| c.is_ascii_digit()))
}

/// The handler (or a crate fn it calls, two levels deep) uses an internals-dumping API.
fn dumps_internals(model: &CrateModel<'_>, id: FnId, cat: &RouteCatalog) -> Option<String> {
    let mut stack = vec![(id, 0)];
    let mut seen = std::collections::HashSet::new();
    while let Some((f, depth)) = stack.pop() {
        if !seen.insert(f) {
            continue;
        }
        let facts = model.fn_facts(f);
        // Statics of profiling crates used as receivers (`jemalloc_pprof::PROF_CTL`).
        let receivers = facts.calls.iter().filter_map(|c| match &c.receiver {
            Some(crate::summary::Operand::Path(p)) => Some(p),
            _ => None,
        });
        for p in receivers.chain(facts.consts.iter()) {
            for r in model.resolve_in_fn(f, p) {
                if let crate::model::Resolved::Extern(path) = r {
                    if let Some(e) = cat.internals(&path) {
                        return Some(e.what.clone());
                    }
                }
            }
        }
        for (ci, c) in facts.calls.iter().enumerate() {
            match model.call_target(f, ci) {
                CallTarget::Extern(cands) => {
                    if let Some(e) = cands.iter().find_map(|p| cat.internals(p)) {
                        return Some(e.what.clone());
                    }
                }
                CallTarget::ExternMethod { ty, .. } => {
                    if let Some(e) = cat.internals(ty) {
                        return Some(e.what.clone());
                    }
                }
                CallTarget::Local(callee) if depth < 2 => stack.push((*callee, depth + 1)),
                _ => {
                    if let Callee::Path(p) = &c.callee {
                        if let Some(e) = cat.internals(p) {
                            return Some(e.what.clone());
                        }
                    }
                }
            }
        }
    }
    None
}

fn served_only_on_loopback(table: &RouteTable, route: &Route) -> bool {
    !route.servers.is_empty()
        && route
            .servers
            .iter()
            .all(|&s| table.servers[s].is_loopback())
}

/// The route's status with the user's configured auth layers and extractors.
fn effective_auth(cx: &RuleContext<'_>, model: &CrateModel<'_>, route: &Route) -> AuthStatus {
    if matches!(route.auth, AuthStatus::Protected(_)) {
        return route.auth.clone();
    }
    let layers = cx.option(META.id, "auth-layers");
    let last = |s: &str| s.rsplit("::").next().unwrap_or(s).to_string();
    for l in &route.layers {
        if layers.iter().any(|c| {
            let c = last(c);
            l.name == c
                || l.name.contains(&format!("({c})"))
                || l.name.starts_with(&format!("{c}("))
        }) {
            return AuthStatus::Protected(format!("`{}` (configured in auth-layers)", l.name));
        }
    }
    let extractors = cx.option(META.id, "auth-extractors");
    if let Handler::Fn(id) = route.handler {
        for p in &model.fn_facts(id).param_types {
            if let Some(t) = &p.ty {
                if extractors.iter().any(|e| last(e) == t.last()) {
                    return AuthStatus::Protected(format!(
                        "the `{}` extractor (configured in auth-extractors)",
                        t.last()
                    ));
                }
            }
        }
    }
    route.auth.clone()
}

fn fix_for(framework: Framework) -> &'static str {
    match framework {
        Framework::Axum => "add an auth layer that covers it — `.route_layer(ValidateRequestHeaderLayer::bearer(&token))` or `.route_layer(middleware::from_fn(require_admin))` *after* the route, since an axum layer covers only the routes added before it — or take an extractor that rejects anonymous requests (`AdminUser`, `Claims`)",
        Framework::ActixWeb => "wrap its scope: `web::scope(\"/ops\").wrap(HttpAuthentication::bearer(validator))`, or take an extractor that rejects anonymous requests (`BearerAuth`, a `FromRequest` type)",
        Framework::Rocket => "add a request guard parameter that fails for anonymous requests (`_admin: AdminUser`, a `FromRequest` type)",
        Framework::Warp => "and a filter that rejects unauthenticated requests into its chain: `warp::path!(\"ops\" / ..).and(with_auth())`",
        Framework::Poem => "wrap it: `.nest(\"/ops\", ops_routes().with(RequireAdmin))`, or take an extractor or security scheme that rejects anonymous requests",
        Framework::Salvo => "add an auth hoop to its router: `Router::with_path(\"ops\").hoop(auth_check)` (a `JwtAuth` without `force_passed(true)`, `BasicAuth`, or a `#[handler]` that answers 401)",
    }
}

fn finding(
    cx: &RuleContext<'_>,
    model: &CrateModel<'_>,
    table: &RouteTable,
    route: &Route,
    why: &str,
    unknown: Option<String>,
) -> Finding {
    let methods = route.methods.join(",");
    let mut notes = Vec::new();
    if let Handler::Fn(id) = route.handler {
        let f = model.fn_facts(id);
        notes.push(Note {
            message: format!("the handler `{}` is defined here", model.fn_display(id)),
            location: Some((model.fn_path(id).to_path_buf(), f.range)),
        });
    }
    // `Option<Claims>`: an auth extractor that lets anonymous requests through.
    if let Handler::Fn(id) = route.handler {
        let cat = RouteCatalog::builtin();
        for p in &model.fn_facts(id).param_types {
            let Some(t) = &p.ty else { continue };
            if matches!(t.last(), "Option" | "Result") {
                if let Some(inner) = t.args.first() {
                    if cat.auth_name(inner.last()).is_some() {
                        notes.push(Note {
                            message: format!(
                                "`{}` accepts requests without credentials: the handler runs for anonymous callers too",
                                t.display()
                            ),
                            location: Some((model.fn_path(id).to_path_buf(), p.range)),
                        });
                    }
                }
            }
        }
    }
    // The axum order trap: an auth layer in the same chain, applied before this route.
    let axum_routes = table
        .routes
        .iter()
        .filter(|r| route.framework == Framework::Axum && r.framework == Framework::Axum);
    for other in axum_routes {
        if let Some(l) = other.layers.iter().find(|l| {
            matches!(l.kind, LayerKind::Auth(_))
                && l.site.path == route.site.path
                && l.site.range.start < route.site.range.start
                && !route.layers.contains(l)
        }) {
            notes.push(Note {
                message: format!(
                    "`{}` here covers only the routes added before it; this route is added after it",
                    l.name
                ),
                location: Some((l.site.path.clone(), l.site.range)),
            });
            break;
        }
    }
    let (level, message, label) = match &unknown {
        None => (
            cx.level,
            format!(
                "`{methods} {}` is reachable without authentication",
                route.path
            ),
            format!("an operations route: {why}"),
        ),
        Some(what) => {
            notes.push(Note {
                message: format!("the linter could not tell whether it is protected: {what}"),
                location: None,
            });
            (
                if cx.level_overridden {
                    cx.level
                } else {
                    Level::Warning
                },
                format!(
                    "`{methods} {}` may be reachable without authentication",
                    route.path
                ),
                format!("an operations route: {why}; its auth could not be resolved"),
            )
        }
    };
    Finding {
        rule: META.id,
        level,
        message,
        path: route.site.path.clone(),
        range: route.site.range,
        label,
        help: Some(match &unknown {
            None => format!(
                "{}; or serve it only on a listener bound to 127.0.0.1",
                fix_for(route.framework)
            ),
            Some(_) => "if it is protected, name the middleware or extractor in `auth-layers` / `auth-extractors` under `[unauthenticated-ops-route]` in stateless-lint.toml, or suppress this finding with a reason (`// stateless-lint: allow(unauthenticated-ops-route) ..`); if it is not, protect it".to_string(),
        }),
        notes,
    }
}
