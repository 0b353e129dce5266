//! One interpreter per framework: reads a router value (a [`Node`]) with that framework's
//! builder methods and scoping rules into route drafts, and finds where servers start.

use std::collections::HashSet;

use crate::facts::Callee;
use crate::model::{CrateModel, FnId};
use crate::routes::auth::{classify, middleware_fn};
use crate::routes::eval::{Callee2, Ctx, Eval, Node};
use crate::routes::{
    join_paths, used_fns, Framework, Handler, Layer, LayerKind, RouteDraft, Server, Site,
};
use crate::summary::{AttrFact, Operand};

/// Deepest nesting of routers read (nest inside nest...).
const MAX_ROUTER_DEPTH: u32 = 32;
/// Most alternatives of one warp filter tree (`and` of `or`s multiplies them).
const MAX_WARP_ALTERNATIVES: usize = 4096;

const AXUM_METHODS: &[&str] = &[
    "get", "post", "put", "delete", "patch", "head", "options", "trace", "connect",
];
const ROUTE_ATTRS: &[&str] = &[
    "get", "post", "put", "delete", "patch", "head", "options", "trace", "connect",
];

/// A router read by an interpreter: its routes and the middleware applied at its own level.
pub(crate) struct Router {
    pub framework: Framework,
    pub routes: Vec<RouteDraft>,
    /// Middleware applied to the whole router (for the server-level rules).
    pub layers: Vec<Layer>,
}

pub(crate) struct Builder<'m, 'a> {
    model: &'m CrateModel<'a>,
    eval: Eval<'m, 'a>,
}

fn upper(m: &str) -> String {
    m.to_ascii_uppercase()
}

impl<'m, 'a> Builder<'m, 'a> {
    pub fn new(model: &'m CrateModel<'a>) -> Self {
        Builder {
            model,
            eval: Eval::new(model),
        }
    }

    fn skip_fn(&self, id: FnId) -> bool {
        self.model.fn_facts(id).attrs.is_test || self.model.file(self.model.fns[id].file).is_test
    }

    fn site(&self, ctx: &Ctx, call: usize) -> Site {
        Site::of_call(self.model, ctx.fn_id, call)
    }

    fn top(fn_id: FnId) -> Ctx {
        Ctx { fn_id, frame: None }
    }

    /// The framework whose constructor a chain starts from.
    fn base_framework(&self, base: &Node) -> Option<Framework> {
        match base {
            Node::Call { ctx, call } => {
                let c = self.eval.callee(ctx, *call);
                if c.path_is(Some("axum"), &["Router", "new"])
                    || c.path_is(Some("axum"), &["Router", "default"])
                    || c.path_is(Some("loco_rs"), &["Routes", "new"])
                    || c.path_is(Some("loco_rs"), &["Routes", "at"])
                    || c.path_is(Some("loco_rs"), &["AppRoutes", "with_default_routes"])
                    || c.path_is(Some("loco_rs"), &["AppRoutes", "empty"])
                    || c.path_is(Some("utoipa_axum"), &["OpenApiRouter", "new"])
                    || c.path_is(Some("utoipa_axum"), &["OpenApiRouter", "with_openapi"])
                    || c.path_is(Some("aide"), &["ApiRouter", "new"])
                {
                    return Some(Framework::Axum);
                }
                if c.path_is(Some("actix_web"), &["App", "new"])
                    || c.path_is(Some("actix_web"), &["scope"])
                    || c.path_is(Some("actix_web"), &["Scope", "new"])
                    || c.path_is(Some("actix_web"), &["resource"])
                    || c.path_is(Some("actix_web"), &["Resource", "new"])
                {
                    return Some(Framework::ActixWeb);
                }
                if is_rocket_build(&c) {
                    return Some(Framework::Rocket);
                }
                if c.path_is(Some("poem"), &["Route", "new"]) {
                    return Some(Framework::Poem);
                }
                if c.path_is(Some("salvo"), &["Router", "new"])
                    || c.path_is(Some("salvo"), &["Router", "with_path"])
                    || c.path_is(Some("salvo"), &["Router", "with_hoop"])
                    || c.path_is(Some("salvo_core"), &["Router", "new"])
                    || c.path_is(Some("salvo_core"), &["Router", "with_path"])
                {
                    return Some(Framework::Salvo);
                }
                None
            }
            Node::Param { fn_id, index } => {
                let f = self.model.fn_facts(*fn_id);
                let ty = f.param_types.get(*index)?.ty.as_ref()?;
                for r in self.model.resolve_in_fn(*fn_id, &ty.path) {
                    if let crate::model::Resolved::Extern(p) = r {
                        match p.first().map(|s| s.as_str()) {
                            Some("axum") if ty.last() == "Router" => return Some(Framework::Axum),
                            Some("actix_web") => return Some(Framework::ActixWeb),
                            Some("poem") if ty.last() == "Route" => return Some(Framework::Poem),
                            Some("salvo" | "salvo_core") if ty.last() == "Router" => {
                                return Some(Framework::Salvo)
                            }
                            _ => {}
                        }
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// Reads a router value of any framework.
    pub fn router(&self, node: Node, depth: u32) -> Option<Router> {
        if depth > MAX_ROUTER_DEPTH {
            return None;
        }
        let (base, steps) = self.eval.unchain(node.clone());
        // tower's `layer.layer(service)`: the router is the argument, the receiver wraps it.
        if let Node::Call { ctx, call } = &node {
            if self.base_framework(&base).is_none()
                && self.eval.callee(ctx, *call).method() == Some("layer")
            {
                let mut r = self.router(self.eval.arg(ctx, *call, 0), depth + 1)?;
                if let Some(recv) = self.eval.receiver(ctx, *call) {
                    let ls = classify(&self.eval, &recv, &self.site(ctx, *call));
                    for d in &mut r.routes {
                        d.layers.extend(ls.iter().cloned());
                    }
                    r.layers.extend(ls);
                }
                return Some(r);
            }
        }
        match self.base_framework(&base)? {
            Framework::Axum => Some(self.axum(&base, &steps, depth)),
            Framework::ActixWeb => Some(self.actix_container(&base, &steps, depth)),
            Framework::Rocket => Some(self.rocket(&steps)),
            Framework::Poem => Some(self.poem(&steps, depth)),
            Framework::Salvo => Some(self.salvo(&base, &steps, depth).flatten("", &[])),
            Framework::Warp => None,
        }
    }

    /// A path argument: its string, or `<dynamic>` when it is not a literal.
    fn path_arg(&self, ctx: &Ctx, call: usize, i: usize) -> String {
        self.eval
            .arg_str(ctx, call, i)
            .unwrap_or_else(|| "<dynamic>".into())
    }

    /// The items of a list argument: `vec![a, b]`, `[a, b]`, `routes![a, b]`, or one value.
    fn list_items(&self, node: Node) -> Vec<Node> {
        match node {
            Node::Array(xs) => xs,
            Node::Macro { ctx, index } => {
                let mf = &self.model.fn_facts(ctx.fn_id).macros[index];
                mf.args
                    .iter()
                    .map(|a| self.eval.value(&ctx, a, mf.after_call))
                    .collect()
            }
            other => vec![other],
        }
    }

    fn handler(&self, node: &Node) -> (Handler, Vec<Layer>) {
        match node {
            Node::LocalFn(id) => (Handler::Fn(*id), Vec::new()),
            Node::Closure { ctx, scope } => {
                let f = self.model.fn_facts(ctx.fn_id);
                let range = f.scopes.get(*scope).map(|s| s.range).unwrap_or_default();
                (
                    Handler::Closure(Site {
                        path: self.model.fn_path(ctx.fn_id).to_path_buf(),
                        range,
                    }),
                    Vec::new(),
                )
            }
            Node::Call { ctx, call } => {
                // `handler.layer(L)` (axum's `Handler::layer`), `ep.with(M)` (poem).
                let callee = self.eval.callee(ctx, *call);
                if matches!(callee.method(), Some("layer" | "with" | "route_layer")) {
                    if let Some(recv) = self.eval.receiver(ctx, *call) {
                        let (h, mut layers) = self.handler(&recv);
                        layers.extend(classify(
                            &self.eval,
                            &self.eval.arg(ctx, *call, 0),
                            &self.site(ctx, *call),
                        ));
                        return (h, layers);
                    }
                }
                let name = match &callee {
                    Callee2::Method(m) => format!(".{m}(..)"),
                    Callee2::Path(c) => c.first().map(|p| p.join("::")).unwrap_or_default(),
                };
                (Handler::Service(name), Vec::new())
            }
            Node::Extern(p)
                if p.len() > 1
                    && p.last()
                        .is_some_and(|l| l.starts_with(|c: char| c.is_lowercase()))
                    && !is_framework_crate(&p[0]) =>
            {
                (Handler::ExternFn(p.join("::")), Vec::new())
            }
            Node::Extern(p) | Node::LocalItem(p) => (Handler::Service(p.join("::")), Vec::new()),
            Node::Unknown(why) => (Handler::Unknown(why.clone()), Vec::new()),
            Node::Param { fn_id, .. } => (
                Handler::Unknown(format!(
                    "a parameter of `{}`",
                    self.model.fn_display(*fn_id)
                )),
                Vec::new(),
            ),
            _ => (
                Handler::Unknown("a value the linter does not follow".into()),
                Vec::new(),
            ),
        }
    }

    // ---------------------------------------------------------------------------------
    // axum (and loco's `Routes`, which follow axum's rules)

    fn axum(&self, base: &Node, steps: &[(Ctx, usize)], depth: u32) -> Router {
        let mut routes: Vec<RouteDraft> = Vec::new();
        let mut layers = Vec::new();
        let mut prefix = String::new();
        if let Node::Call { ctx, call } = base {
            if self
                .eval
                .callee(ctx, *call)
                .path_is(Some("loco_rs"), &["Routes", "at"])
            {
                prefix = self.eval.arg_str(ctx, *call, 0).unwrap_or_default();
            }
        }
        for (ctx, call) in steps {
            let site = self.site(ctx, *call);
            let m = self.eval.callee(ctx, *call);
            let name = m.method().unwrap_or("");
            match name {
                "route" | "add" | "api_route" => {
                    let path = self.path_arg(ctx, *call, 0);
                    for (methods, handler, hl) in
                        self.axum_method_router(self.eval.arg(ctx, *call, 1))
                    {
                        routes.push(RouteDraft {
                            framework: Framework::Axum,
                            methods,
                            path: join_paths("", &path),
                            handler,
                            layers: hl,
                            site: site.clone(),
                        });
                    }
                }
                "route_service" => {
                    let path = self.path_arg(ctx, *call, 0);
                    let (handler, hl) = self.handler(&self.eval.arg(ctx, *call, 1));
                    routes.push(RouteDraft {
                        framework: Framework::Axum,
                        methods: vec!["*".into()],
                        path: join_paths("", &path),
                        handler,
                        layers: hl,
                        site: site.clone(),
                    });
                }
                "nest" | "nest_route" | "add_route" | "merge" | "add_routes" => {
                    let (p, arg) = match (name, self.eval.call_site(ctx, *call).args.len()) {
                        ("nest" | "nest_route", 2) => (self.path_arg(ctx, *call, 0), 1),
                        _ => (String::new(), 0),
                    };
                    let inner = self.eval.arg(ctx, *call, arg);
                    let inner_nodes = self.list_items(inner);
                    for inner in inner_nodes {
                        match self.router(inner.clone(), depth + 1) {
                            Some(r) => routes.extend(r.routes.into_iter().map(|d| d.prefixed(&p))),
                            None => {
                                let why = match &inner {
                                    Node::Unknown(w) => w.clone(),
                                    _ => "a router the linter could not read".into(),
                                };
                                routes.push(RouteDraft {
                                    framework: Framework::Axum,
                                    methods: vec!["*".into()],
                                    path: join_paths(&p, "*"),
                                    handler: Handler::Unknown(why),
                                    layers: Vec::new(),
                                    site: site.clone(),
                                });
                            }
                        }
                    }
                }
                "nest_service" => {
                    let p = self.path_arg(ctx, *call, 0);
                    let (handler, hl) = self.handler(&self.eval.arg(ctx, *call, 1));
                    routes.push(RouteDraft {
                        framework: Framework::Axum,
                        methods: vec!["*".into()],
                        path: join_paths(&p, "*"),
                        handler,
                        layers: hl,
                        site: site.clone(),
                    });
                }
                "fallback" | "fallback_service" => {
                    let (handler, hl) = self.handler(&self.eval.arg(ctx, *call, 0));
                    routes.push(RouteDraft {
                        framework: Framework::Axum,
                        methods: vec!["*".into()],
                        path: "(fallback)".into(),
                        handler,
                        layers: hl,
                        site: site.clone(),
                    });
                }
                "prefix" => prefix = self.eval.arg_str(ctx, *call, 0).unwrap_or_default(),
                // utoipa-axum: `.routes(routes!(a, b))`, paths in `#[utoipa::path(..)]`.
                "routes" => {
                    if let Node::Macro { ctx: mctx, index } = self.eval.arg(ctx, *call, 0) {
                        let mf = &self.model.fn_facts(mctx.fn_id).macros[index];
                        for a in &mf.args {
                            if let Node::LocalFn(id) = self.eval.value(&mctx, a, mf.after_call) {
                                routes.extend(self.utoipa_routes(id));
                            }
                        }
                    }
                }
                "layer" | "route_layer" => {
                    // A layer covers only the routes added before it.
                    let ls = classify(&self.eval, &self.eval.arg(ctx, *call, 0), &site);
                    for r in &mut routes {
                        r.layers.extend(ls.iter().cloned());
                    }
                    layers.extend(ls);
                }
                m if AXUM_METHODS.contains(&m)
                    && self.eval.call_site(ctx, *call).args.len() == 2 =>
                {
                    // loco's verb helpers: `.get("/x", handler)`.
                    let path = self.path_arg(ctx, *call, 0);
                    let (handler, hl) = self.handler(&self.eval.arg(ctx, *call, 1));
                    routes.push(RouteDraft {
                        framework: Framework::Axum,
                        methods: vec![upper(m)],
                        path: join_paths("", &path),
                        handler,
                        layers: hl,
                        site: site.clone(),
                    });
                }
                _ => {}
            }
        }
        if !prefix.is_empty() {
            routes = routes.into_iter().map(|d| d.prefixed(&prefix)).collect();
        }
        Router {
            framework: Framework::Axum,
            routes,
            layers,
        }
    }

    /// `get(a).post(b).layer(L)` → one entry per method handler.
    fn axum_method_router(&self, node: Node) -> Vec<(Vec<String>, Handler, Vec<Layer>)> {
        let (base, steps) = self.eval.unchain(node.clone());
        let mut out: Vec<(Vec<String>, Handler, Vec<Layer>)> = Vec::new();
        let add = |out: &mut Vec<_>, method: &str, args: (Ctx, usize, usize)| {
            let (ctx, call, arg) = args;
            let (h, l) = self.handler(&self.eval.arg(&ctx, call, arg));
            out.push((vec![method.to_string()], h, l));
        };
        match &base {
            Node::Call { ctx, call } => {
                let c = self.eval.callee(ctx, *call);
                let last = c.last().unwrap_or("");
                match last {
                    m if AXUM_METHODS.contains(&m) || matches!(m, "any") => {
                        add(
                            &mut out,
                            if m == "any" { "*" } else { m },
                            (ctx.clone(), *call, 0),
                        );
                    }
                    m if m.ends_with("_service") => {
                        let verb = m.trim_end_matches("_service");
                        add(
                            &mut out,
                            if verb == "any" || verb == "on" {
                                "*"
                            } else {
                                verb
                            },
                            (ctx.clone(), *call, if verb == "on" { 1 } else { 0 }),
                        );
                    }
                    "on" | "on_with" => {
                        let method = match self.eval.arg(ctx, *call, 0) {
                            Node::Extern(p) => p.last().cloned().unwrap_or_else(|| "*".into()),
                            _ => "*".into(),
                        };
                        add(
                            &mut out,
                            &method.to_ascii_lowercase(),
                            (ctx.clone(), *call, 1),
                        );
                    }
                    "get_with" | "post_with" | "put_with" | "delete_with" | "patch_with" => {
                        add(
                            &mut out,
                            last.trim_end_matches("_with"),
                            (ctx.clone(), *call, 0),
                        );
                    }
                    _ => {
                        let (h, l) = self.handler(&base);
                        out.push((vec!["*".into()], h, l));
                    }
                }
            }
            other => {
                let (h, l) = self.handler(other);
                out.push((vec!["*".into()], h, l));
            }
        }
        for (ctx, call) in &steps {
            let m = self.eval.callee(ctx, *call);
            let name = m.method().unwrap_or("");
            if AXUM_METHODS.contains(&name) || name == "any" {
                add(&mut out, name, (ctx.clone(), *call, 0));
            } else if matches!(name, "layer" | "route_layer") {
                let ls = classify(
                    &self.eval,
                    &self.eval.arg(ctx, *call, 0),
                    &self.site(ctx, *call),
                );
                for e in &mut out {
                    e.2.extend(ls.iter().cloned());
                }
            }
        }
        for e in &mut out {
            for m in &mut e.0 {
                *m = if m == "*" { "*".into() } else { upper(m) };
            }
        }
        out
    }

    // ---------------------------------------------------------------------------------
    // actix-web: `App`, `web::scope`, `web::resource`; `wrap` covers its whole container.

    fn actix_container(&self, base: &Node, steps: &[(Ctx, usize)], depth: u32) -> Router {
        let mut prefix = String::new();
        let mut is_resource = false;
        if let Node::Call { ctx, call } = base {
            let c = self.eval.callee(ctx, *call);
            if c.path_is(Some("actix_web"), &["scope"])
                || c.path_is(Some("actix_web"), &["Scope", "new"])
            {
                prefix = self.path_arg(ctx, *call, 0);
            }
            if c.path_is(Some("actix_web"), &["resource"])
                || c.path_is(Some("actix_web"), &["Resource", "new"])
            {
                is_resource = true;
                prefix = match self.eval.arg(ctx, *call, 0) {
                    Node::Str(s) => s.into(),
                    Node::Array(xs) => xs
                        .iter()
                        .filter_map(|x| match x {
                            Node::Str(s) => Some(s.to_string()),
                            _ => None,
                        })
                        .next()
                        .unwrap_or_else(|| "<dynamic>".into()),
                    _ => "<dynamic>".into(),
                };
            }
        }
        let mut routes = Vec::new();
        let mut wraps = Vec::new();
        self.actix_steps(steps, is_resource, &mut routes, &mut wraps, depth);
        for r in &mut routes {
            r.layers.extend(wraps.iter().cloned());
        }
        let routes = routes.into_iter().map(|d| d.prefixed(&prefix)).collect();
        Router {
            framework: Framework::ActixWeb,
            routes,
            layers: wraps,
        }
    }

    fn actix_steps(
        &self,
        steps: &[(Ctx, usize)],
        is_resource: bool,
        routes: &mut Vec<RouteDraft>,
        wraps: &mut Vec<Layer>,
        depth: u32,
    ) {
        for (ctx, call) in steps {
            let site = self.site(ctx, *call);
            let m = self.eval.callee(ctx, *call);
            let name = m.method().unwrap_or("");
            match name {
                "service" | "default_service" => {
                    let node = self.eval.arg(ctx, *call, 0);
                    routes.extend(self.actix_service(
                        node,
                        &site,
                        name == "default_service",
                        depth,
                    ));
                }
                "route" if !is_resource => {
                    let path = self.path_arg(ctx, *call, 0);
                    let (methods, handler, guards) = self.actix_route(self.eval.arg(ctx, *call, 1));
                    routes.push(RouteDraft {
                        framework: Framework::ActixWeb,
                        methods,
                        path: join_paths("", &path),
                        handler,
                        layers: guards,
                        site,
                    });
                }
                "route" => {
                    let (methods, handler, guards) = self.actix_route(self.eval.arg(ctx, *call, 0));
                    routes.push(RouteDraft {
                        framework: Framework::ActixWeb,
                        methods,
                        path: "/".into(),
                        handler,
                        layers: guards,
                        site,
                    });
                }
                "to" | "get" | "post" | "put" | "delete" | "patch" | "head" if is_resource => {
                    let (handler, hl) = self.handler(&self.eval.arg(ctx, *call, 0));
                    routes.push(RouteDraft {
                        framework: Framework::ActixWeb,
                        methods: vec![if name == "to" {
                            "*".into()
                        } else {
                            upper(name)
                        }],
                        path: "/".into(),
                        handler,
                        layers: hl,
                        site,
                    });
                }
                "wrap" | "guard" => {
                    wraps.extend(classify(&self.eval, &self.eval.arg(ctx, *call, 0), &site))
                }
                "wrap_fn" => {
                    wraps.extend(classify(&self.eval, &self.eval.arg(ctx, *call, 0), &site))
                }
                "configure" => {
                    if let Node::LocalFn(f) = self.eval.arg(ctx, *call, 0) {
                        let (rs, ws) = self.actix_configure(f, depth + 1);
                        routes.extend(rs);
                        wraps.extend(ws);
                    }
                }
                _ => {}
            }
        }
    }

    /// The routes a `.service(x)` registers.
    fn actix_service(
        &self,
        node: Node,
        site: &Site,
        is_default: bool,
        depth: u32,
    ) -> Vec<RouteDraft> {
        if depth > MAX_ROUTER_DEPTH {
            return Vec::new();
        }
        match &node {
            Node::LocalFn(id) => {
                let drafts = self.attribute_routes(*id, Framework::ActixWeb);
                if drafts.is_empty() {
                    let (handler, layers) = self.handler(&node);
                    return vec![RouteDraft {
                        framework: Framework::ActixWeb,
                        methods: vec!["*".into()],
                        path: if is_default {
                            "(default)".into()
                        } else {
                            "<service>".into()
                        },
                        handler,
                        layers,
                        site: site.clone(),
                    }];
                }
                drafts
            }
            Node::Tuple(xs) | Node::Array(xs) => xs
                .iter()
                .flat_map(|x| self.actix_service(x.clone(), site, is_default, depth + 1))
                .collect(),
            _ => {
                if let Some(r) = self.router(node.clone(), depth + 1) {
                    if r.framework == Framework::ActixWeb {
                        return r.routes;
                    }
                }
                // `Files::new("/static", "./static").index_file(..)` and other services: the
                // constructor at the start of the chain names the path and the service.
                let (base, _) = self.eval.unchain(node.clone());
                let (handler, layers) = self.handler(&base);
                let path = match &base {
                    Node::Call { ctx, call } => self
                        .eval
                        .arg_str(ctx, *call, 0)
                        .map(|p| join_paths(&p, "*")),
                    _ => None,
                };
                vec![RouteDraft {
                    framework: Framework::ActixWeb,
                    methods: vec!["*".into()],
                    path: path.unwrap_or_else(|| {
                        if is_default {
                            "(default)".into()
                        } else {
                            "<service>".into()
                        }
                    }),
                    handler,
                    layers,
                    site: site.clone(),
                }]
            }
        }
    }

    /// `web::get().guard(g).to(h)` → methods, handler, guards.
    fn actix_route(&self, node: Node) -> (Vec<String>, Handler, Vec<Layer>) {
        let (base, steps) = self.eval.unchain(node);
        let mut methods = vec!["*".to_string()];
        if let Node::Call { ctx, call } = &base {
            let c = self.eval.callee(ctx, *call);
            if let Some(last) = c.last() {
                if AXUM_METHODS.contains(&last) {
                    methods = vec![upper(last)];
                }
            }
        }
        let mut handler = Handler::Unknown("a route without `.to(handler)`".into());
        let mut guards = Vec::new();
        for (ctx, call) in &steps {
            let m = self.eval.callee(ctx, *call);
            match m.method().unwrap_or("") {
                "to" => {
                    let (h, l) = self.handler(&self.eval.arg(ctx, *call, 0));
                    handler = h;
                    guards.extend(l);
                }
                "guard" | "wrap" => guards.extend(classify(
                    &self.eval,
                    &self.eval.arg(ctx, *call, 0),
                    &self.site(ctx, *call),
                )),
                "method" => {
                    if let Node::Extern(p) = self.eval.arg(ctx, *call, 0) {
                        methods = vec![p
                            .last()
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "*".into())];
                    }
                }
                _ => {}
            }
        }
        (methods, handler, guards)
    }

    /// A `fn config(cfg: &mut web::ServiceConfig)`: the chains it calls on its parameter.
    fn actix_configure(&self, f: FnId, depth: u32) -> (Vec<RouteDraft>, Vec<Layer>) {
        let mut routes = Vec::new();
        let mut wraps = Vec::new();
        if depth > MAX_ROUTER_DEPTH {
            return (routes, wraps);
        }
        let facts = self.model.fn_facts(f);
        let ctx = Self::top(f);
        for i in outermost_calls(facts) {
            let (base, steps) = self.eval.unchain(Node::Call {
                ctx: ctx.clone(),
                call: i,
            });
            if matches!(base, Node::Param { fn_id, index: 0 } if fn_id == f) {
                self.actix_steps(&steps, false, &mut routes, &mut wraps, depth);
            }
        }
        (routes, wraps)
    }

    /// Routes declared by attributes on a handler (`#[get("/x")]`, `#[route("/x", method = ..)]`).
    fn attribute_routes(&self, id: FnId, framework: Framework) -> Vec<RouteDraft> {
        let f = self.model.fn_facts(id);
        let site = Site::of_fn(self.model, id);
        let mut out = Vec::new();
        let mut attr_layers = Vec::new();
        for a in &f.attributes {
            for wrap in a.named_all("wrap") {
                attr_layers.push(text_layer(wrap, &site));
            }
            for g in a.named_all("guard") {
                attr_layers.push(text_layer(g, &site));
            }
            if a.last() == "protect" || a.last() == "has_permissions" || a.last() == "has_roles" {
                attr_layers.push(Layer {
                    name: format!("#[{}]", a.path.join("::")),
                    kind: LayerKind::Auth(format!("`#[{}(..)]`", a.last())),
                    site: site.clone(),
                });
            }
        }
        for a in &f.attributes {
            if let Some((methods, path)) = route_attribute(a) {
                out.push(RouteDraft {
                    framework,
                    methods,
                    path: join_paths("", &path),
                    handler: Handler::Fn(id),
                    layers: attr_layers.clone(),
                    site: site.clone(),
                });
            }
        }
        out
    }

    /// `#[utoipa::path(get, path = "/x")]` on a handler.
    fn utoipa_routes(&self, id: FnId) -> Vec<RouteDraft> {
        let f = self.model.fn_facts(id);
        f.attributes
            .iter()
            .filter(|a| a.last() == "path" && a.path.first().is_some_and(|p| p == "utoipa"))
            .filter_map(|a| {
                let path = a.named("path")?;
                let methods: Vec<String> = a
                    .args
                    .iter()
                    .filter_map(|x| match x {
                        crate::summary::AttrArg::Path(p) => p
                            .last()
                            .filter(|m| AXUM_METHODS.contains(&m.as_str()))
                            .map(|m| upper(m)),
                        _ => None,
                    })
                    .collect();
                Some(RouteDraft {
                    framework: Framework::Axum,
                    methods: if methods.is_empty() {
                        vec!["*".into()]
                    } else {
                        methods
                    },
                    path: join_paths("", path),
                    handler: Handler::Fn(id),
                    layers: Vec::new(),
                    site: Site::of_fn(self.model, id),
                })
            })
            .collect()
    }

    // ---------------------------------------------------------------------------------
    // rocket: `rocket::build().mount("/base", routes![a, b])`

    fn rocket(&self, steps: &[(Ctx, usize)]) -> Router {
        let mut routes = Vec::new();
        for (ctx, call) in steps {
            let m = self.eval.callee(ctx, *call);
            if m.method() != Some("mount") {
                continue;
            }
            let site = self.site(ctx, *call);
            let base = self.path_arg(ctx, *call, 0);
            let list = self.eval.arg(ctx, *call, 1);
            let handlers: Vec<Node> = self.list_items(list);
            for h in handlers {
                match h {
                    Node::LocalFn(id) => {
                        for d in self.attribute_routes(id, Framework::Rocket) {
                            routes.push(d.prefixed(&base));
                        }
                    }
                    other => {
                        let (handler, layers) = self.handler(&other);
                        routes.push(RouteDraft {
                            framework: Framework::Rocket,
                            methods: vec!["*".into()],
                            path: join_paths(&base, "*"),
                            handler,
                            layers,
                            site: site.clone(),
                        });
                    }
                }
            }
        }
        Router {
            framework: Framework::Rocket,
            routes,
            layers: Vec::new(),
        }
    }

    // ---------------------------------------------------------------------------------
    // poem: `Route::new().at("/x", get(h)).nest("/api", api()).with(M)`

    fn poem(&self, steps: &[(Ctx, usize)], depth: u32) -> Router {
        let mut routes: Vec<RouteDraft> = Vec::new();
        let mut layers = Vec::new();
        if depth > MAX_ROUTER_DEPTH {
            return Router {
                framework: Framework::Poem,
                routes,
                layers,
            };
        }
        for (ctx, call) in steps {
            let site = self.site(ctx, *call);
            let m = self.eval.callee(ctx, *call);
            match m.method().unwrap_or("") {
                "at" => {
                    let path = self.path_arg(ctx, *call, 0);
                    for (methods, handler, hl) in self.poem_endpoint(self.eval.arg(ctx, *call, 1)) {
                        routes.push(RouteDraft {
                            framework: Framework::Poem,
                            methods,
                            path: join_paths("", &path),
                            handler,
                            layers: hl,
                            site: site.clone(),
                        });
                    }
                }
                "nest" | "nest_no_strip" => {
                    let p = self.path_arg(ctx, *call, 0);
                    let inner = self.eval.arg(ctx, *call, 1);
                    let (ibase, isteps) = self.eval.unchain(inner.clone());
                    // `Route::new()...with(M)` nested: the router and its middleware.
                    match self.base_framework(&ibase) {
                        Some(Framework::Poem) => {
                            let r = self.poem(&isteps, depth + 1);
                            routes.extend(r.routes.into_iter().map(|d| d.prefixed(&p)));
                        }
                        _ => {
                            for (methods, handler, hl) in self.poem_endpoint(inner) {
                                routes.push(RouteDraft {
                                    framework: Framework::Poem,
                                    methods,
                                    path: join_paths(&p, "*"),
                                    handler,
                                    layers: hl,
                                    site: site.clone(),
                                });
                            }
                        }
                    }
                }
                "with" | "around" | "with_if" => {
                    let ls = classify(&self.eval, &self.eval.arg(ctx, *call, 0), &site);
                    for r in &mut routes {
                        r.layers.extend(ls.iter().cloned());
                    }
                    layers.extend(ls);
                }
                _ => {}
            }
        }
        Router {
            framework: Framework::Poem,
            routes,
            layers,
        }
    }

    fn poem_endpoint(&self, node: Node) -> Vec<(Vec<String>, Handler, Vec<Layer>)> {
        let (base, steps) = self.eval.unchain(node);
        let mut out: Vec<(Vec<String>, Handler, Vec<Layer>)> = Vec::new();
        match &base {
            Node::Call { ctx, call } => {
                let c = self.eval.callee(ctx, *call);
                let last = c.last().unwrap_or("");
                if AXUM_METHODS.contains(&last) && c.path_is(Some("poem"), &[last]) {
                    let (h, l) = self.handler(&self.eval.arg(ctx, *call, 0));
                    out.push((vec![upper(last)], h, l));
                } else if c.path_is(Some("poem"), &["RouteMethod", "new"]) {
                } else {
                    let (h, l) = self.handler(&base);
                    out.push((vec!["*".into()], h, l));
                }
            }
            other => {
                let (h, l) = self.handler(other);
                out.push((vec!["*".into()], h, l));
            }
        }
        for (ctx, call) in &steps {
            let m = self.eval.callee(ctx, *call);
            let name = m.method().unwrap_or("");
            if AXUM_METHODS.contains(&name) {
                let (h, l) = self.handler(&self.eval.arg(ctx, *call, 0));
                out.push((vec![upper(name)], h, l));
            } else if matches!(name, "with" | "around" | "with_if") {
                let ls = classify(
                    &self.eval,
                    &self.eval.arg(ctx, *call, 0),
                    &self.site(ctx, *call),
                );
                for e in &mut out {
                    e.2.extend(ls.iter().cloned());
                }
            }
        }
        out
    }

    // ---------------------------------------------------------------------------------
    // salvo: a tree of routers; hoops cover the router and its descendants.

    fn salvo(&self, base: &Node, steps: &[(Ctx, usize)], depth: u32) -> SalvoRouter {
        let mut r = SalvoRouter::default();
        if let Node::Call { ctx, call } = base {
            let c = self.eval.callee(ctx, *call);
            let site = self.site(ctx, *call);
            if c.last() == Some("with_path") {
                r.path = self.path_arg(ctx, *call, 0);
            }
            if c.last() == Some("with_hoop") {
                r.hoops
                    .extend(self.salvo_hoop(self.eval.arg(ctx, *call, 0), &site));
            }
        }
        for (ctx, call) in steps {
            let site = self.site(ctx, *call);
            let m = self.eval.callee(ctx, *call);
            let name = m.method().unwrap_or("");
            match name {
                "path" => r.path = self.path_arg(ctx, *call, 0),
                "push" | "append" => {
                    let arg = self.eval.arg(ctx, *call, 0);
                    let children = self.list_items(arg);
                    for child in children {
                        if depth > MAX_ROUTER_DEPTH {
                            break;
                        }
                        let (cb, cs) = self.eval.unchain(child.clone());
                        if self.base_framework(&cb) == Some(Framework::Salvo) {
                            r.children.push(self.salvo(&cb, &cs, depth + 1));
                        } else {
                            let why = match child {
                                Node::Unknown(w) => w,
                                _ => "a router the linter could not read".into(),
                            };
                            r.handlers.push((
                                vec!["*".into()],
                                Handler::Unknown(why),
                                site.clone(),
                                "*".into(),
                            ));
                        }
                    }
                }
                "hoop" | "hoop_when" => r
                    .hoops
                    .extend(self.salvo_hoop(self.eval.arg(ctx, *call, 0), &site)),
                "goal" => {
                    let (h, _) = self.handler(&self.eval.arg(ctx, *call, 0));
                    r.handlers.push((vec!["*".into()], h, site, String::new()));
                }
                m if AXUM_METHODS.contains(&m) => {
                    let (h, _) = self.handler(&self.eval.arg(ctx, *call, 0));
                    r.handlers.push((vec![upper(m)], h, site, String::new()));
                }
                _ => {}
            }
        }
        r
    }

    fn salvo_hoop(&self, node: Node, site: &Site) -> Vec<Layer> {
        match node {
            // A `#[handler]` fn used as a hoop.
            Node::LocalFn(f) => vec![middleware_fn(self.model, f, site)],
            other => classify(&self.eval, &other, site),
        }
    }

    // ---------------------------------------------------------------------------------
    // warp: filters combined with `and`/`or`; a filter protects the chain it is and-ed into.

    fn warp(&self, node: Node, depth: u32) -> Vec<WarpAlt> {
        if depth > MAX_ROUTER_DEPTH {
            return vec![WarpAlt::unknown("filters nested too deep")];
        }
        let (base, steps) = self.eval.unchain(node);
        let mut alts = self.warp_base(&base, depth);
        for (ctx, call) in &steps {
            let site = self.site(ctx, *call);
            let m = self.eval.callee(ctx, *call);
            match m.method().unwrap_or("") {
                "and" => {
                    let rhs = self.warp(self.eval.arg(ctx, *call, 0), depth + 1);
                    let mut next = Vec::new();
                    for a in &alts {
                        for b in &rhs {
                            if next.len() < MAX_WARP_ALTERNATIVES {
                                next.push(a.and(b));
                            }
                        }
                    }
                    alts = next;
                }
                "or" => {
                    alts.extend(self.warp(self.eval.arg(ctx, *call, 0), depth + 1));
                    alts.truncate(MAX_WARP_ALTERNATIVES);
                }
                "and_then" | "map" | "then" => {
                    let arg = self.eval.arg(ctx, *call, 0);
                    // An auth step inside a filter (`headers_cloned().and_then(authorize)`).
                    if let Node::LocalFn(f) = &arg {
                        let l = middleware_fn(self.model, *f, &site);
                        if matches!(l.kind, LayerKind::Auth(_)) {
                            for a in &mut alts {
                                a.layers.push(l.clone());
                            }
                            continue;
                        }
                    }
                    let (h, _) = self.handler(&arg);
                    for a in &mut alts {
                        a.handler = Some(h.clone());
                        a.site = Some(site.clone());
                    }
                }
                "with" => {
                    let ls = classify(&self.eval, &self.eval.arg(ctx, *call, 0), &site);
                    for a in &mut alts {
                        a.layers.extend(ls.iter().cloned());
                    }
                }
                _ => {}
            }
        }
        alts
    }

    fn warp_base(&self, base: &Node, depth: u32) -> Vec<WarpAlt> {
        match base {
            Node::Macro { ctx, index } => {
                let mf = &self.model.fn_facts(ctx.fn_id).macros[*index];
                if mf.path.last().map(|s| s.as_str()) != Some("path") {
                    return vec![WarpAlt::default()];
                }
                let segs = mf
                    .args
                    .iter()
                    .map(|a| match a {
                        Operand::Str(s) => s.to_string(),
                        Operand::Lit(l) if l == ".." => "*".into(),
                        Operand::Path(p) => {
                            format!("{{{}}}", p.last().cloned().unwrap_or_default())
                        }
                        _ => "{?}".into(),
                    })
                    .collect();
                vec![WarpAlt {
                    segs,
                    ..WarpAlt::default()
                }]
            }
            Node::Call { ctx, call } => {
                let c = self.eval.callee(ctx, *call);
                let site = self.site(ctx, *call);
                let last = c.last().unwrap_or("");
                if !c.path_is(Some("warp"), &[last]) {
                    return vec![WarpAlt::default()];
                }
                match last {
                    "path" => {
                        let seg = self
                            .eval
                            .arg_str(ctx, *call, 0)
                            .unwrap_or_else(|| "{?}".into());
                        vec![WarpAlt {
                            segs: vec![seg],
                            ..WarpAlt::default()
                        }]
                    }
                    "param" => vec![WarpAlt {
                        segs: vec!["{param}".into()],
                        ..WarpAlt::default()
                    }],
                    "tail" | "full" => vec![WarpAlt {
                        segs: vec!["*".into()],
                        ..WarpAlt::default()
                    }],
                    m if AXUM_METHODS.contains(&m) => vec![WarpAlt {
                        methods: vec![upper(m)],
                        ..WarpAlt::default()
                    }],
                    "header" | "exact" | "exact_ignore_case" | "value" => {
                        let name = self.eval.arg_str(ctx, *call, 0).unwrap_or_default();
                        let is_optional = c.path_is(Some("warp"), &["optional"]);
                        let mut a = WarpAlt::default();
                        if name.eq_ignore_ascii_case("authorization") && !is_optional {
                            a.layers.push(Layer {
                                name: format!("warp::header(\"{name}\")"),
                                kind: LayerKind::Auth(format!("a required `{name}` header filter")),
                                site,
                            });
                        }
                        vec![a]
                    }
                    "dir" | "file" => vec![WarpAlt {
                        handler: Some(Handler::Service(format!("warp::fs::{last}"))),
                        site: Some(site),
                        ..WarpAlt::default()
                    }],
                    _ => vec![WarpAlt::default()],
                }
            }
            Node::Param { .. } | Node::Unknown(_) => {
                vec![WarpAlt::unknown("a filter the linter could not read")]
            }
            _ => {
                let _ = depth;
                vec![WarpAlt::default()]
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Servers

    /// Every server start in the crate, with the routes each serves.
    pub fn servers(&self) -> (Vec<Server>, Vec<Vec<RouteDraft>>) {
        let mut servers = Vec::new();
        let mut served = Vec::new();
        for id in 0..self.model.fns.len() {
            if self.skip_fn(id) {
                continue;
            }
            let facts = self.model.fn_facts(id);
            let ctx = Self::top(id);
            for ci in 0..facts.calls.len() {
                if let Some((server, routes)) = self.server_at(&ctx, ci) {
                    servers.push(server);
                    served.push(routes);
                }
            }
        }
        (servers, served)
    }

    fn server_at(&self, ctx: &Ctx, call: usize) -> Option<(Server, Vec<RouteDraft>)> {
        let c = self.eval.callee(ctx, call);
        let site = self.site(ctx, call);
        let (framework, app, address) = if c.path_is(Some("axum"), &["serve"]) {
            let app = self.eval.arg(ctx, call, 1);
            let addr = self.listener_address(self.eval.arg(ctx, call, 0));
            (Framework::Axum, Some(app), addr)
        } else if c.method() == Some("serve") {
            // axum 0.6 / hyper: `Server::bind(&addr).serve(app.into_make_service())`;
            // salvo: `Server::new(acceptor).serve(router)`.
            let (base, _) = self.eval.unchain(self.eval.receiver(ctx, call)?);
            let Node::Call {
                ctx: bctx,
                call: bcall,
            } = &base
            else {
                return None;
            };
            let bc = self.eval.callee(bctx, *bcall);
            if bc.path_is(Some("axum"), &["Server", "bind"])
                || bc.path_is(Some("hyper"), &["Server", "bind"])
            {
                let addr = self.listener_address(self.eval.arg(bctx, *bcall, 0));
                (Framework::Axum, Some(self.eval.arg(ctx, call, 0)), addr)
            } else if bc.path_is(Some("salvo"), &["Server", "new"])
                || bc.path_is(Some("salvo_core"), &["Server", "new"])
            {
                let addr = self.listener_address(self.eval.arg(bctx, *bcall, 0));
                (Framework::Salvo, Some(self.eval.arg(ctx, call, 0)), addr)
            } else {
                return None;
            }
        } else if c.path_is(Some("actix_web"), &["HttpServer", "new"]) {
            let addr = self
                .outer_calls(ctx, call)
                .into_iter()
                .find(|&j| self.eval.callee(ctx, j).method() == Some("bind"))
                .and_then(|j| self.listener_address(self.eval.arg(ctx, j, 0)));
            let app = match self.eval.arg(ctx, call, 0) {
                Node::Closure { ctx: cctx, scope } => {
                    let v = self.model.fn_facts(cctx.fn_id).scopes[scope]
                        .value
                        .clone()
                        .unwrap_or_default();
                    self.eval.value(&cctx, &v, usize::MAX)
                }
                Node::LocalFn(f) => self.fn_value(f),
                other => other,
            };
            (Framework::ActixWeb, Some(app), addr)
        } else if is_rocket_build(&c) {
            // The outermost chain on `rocket::build()` is the application.
            let outer = self.outer_calls(ctx, call);
            let top = outer.last().copied().unwrap_or(call);
            (
                Framework::Rocket,
                Some(Node::Call {
                    ctx: ctx.clone(),
                    call: top,
                }),
                None,
            )
        } else if c.path_is(Some("warp"), &["serve"]) {
            let addr = self
                .outer_calls(ctx, call)
                .into_iter()
                .find(|&j| {
                    matches!(
                        self.eval.callee(ctx, j).method(),
                        Some("run" | "bind" | "bind_with_graceful_shutdown" | "bind_ephemeral")
                    )
                })
                .and_then(|j| self.listener_address(self.eval.arg(ctx, j, 0)));
            (Framework::Warp, Some(self.eval.arg(ctx, call, 0)), addr)
        } else if matches!(c.method(), Some("run" | "run_with_graceful_shutdown")) {
            let (base, _) = self.eval.unchain(self.eval.receiver(ctx, call)?);
            let Node::Call {
                ctx: bctx,
                call: bcall,
            } = &base
            else {
                return None;
            };
            if !self
                .eval
                .callee(bctx, *bcall)
                .path_is(Some("poem"), &["Server", "new"])
            {
                return None;
            }
            let addr = self.listener_address(self.eval.arg(bctx, *bcall, 0));
            (Framework::Poem, Some(self.eval.arg(ctx, call, 0)), addr)
        } else {
            return None;
        };
        let methods = self
            .outer_calls(ctx, call)
            .into_iter()
            .filter_map(|j| {
                Some((
                    self.eval.callee(ctx, j).method()?.to_string(),
                    self.site(ctx, j),
                ))
            })
            .collect();
        let mut server = Server {
            framework,
            site,
            fn_id: ctx.fn_id,
            address,
            layers: Vec::new(),
            router_known: false,
            methods,
        };
        let Some(app) = app else {
            return Some((server, Vec::new()));
        };
        let app = self.strip_service_wrappers(app, &mut server);
        let routes = if framework == Framework::Warp {
            server.router_known = true;
            let alts = self.warp(app, 0);
            alts.into_iter().filter_map(|a| a.into_draft()).collect()
        } else {
            match self.router(app, 0) {
                Some(r) => {
                    server.router_known = true;
                    server.layers.extend(r.layers);
                    r.routes
                }
                None => Vec::new(),
            }
        };
        Some((server, routes))
    }

    /// `app.into_make_service()`, salvo `Service::new(router).hoop(..)`: the router inside,
    /// with the service-level middleware recorded on the server.
    fn strip_service_wrappers(&self, app: Node, server: &mut Server) -> Node {
        let (base, steps) = self.eval.unchain(app.clone());
        if let Node::Call { ctx, call } = &base {
            if self
                .eval
                .callee(ctx, *call)
                .path_is(None, &["Service", "new"])
            {
                for (sctx, s) in &steps {
                    if matches!(
                        self.eval.callee(sctx, *s).method(),
                        Some("hoop" | "hoop_when")
                    ) {
                        server.layers.extend(
                            self.salvo_hoop(self.eval.arg(sctx, *s, 0), &self.site(sctx, *s)),
                        );
                    }
                }
                return self.eval.arg(ctx, *call, 0);
            }
        }
        if let Some((lctx, last)) = steps.last() {
            if self
                .eval
                .callee(lctx, *last)
                .method()
                .is_some_and(|m| m.starts_with("into_make_service") || m == "into_service")
            {
                return self.eval.receiver(lctx, *last).unwrap_or(app);
            }
        }
        app
    }

    /// The value a crate fn returns.
    fn fn_value(&self, f: FnId) -> Node {
        let facts = self.model.fn_facts(f);
        match facts.returns.first() {
            Some(r) => self.eval.value(&Self::top(f), r, usize::MAX),
            None => Node::Unknown(format!(
                "`{}` returns no value the linter can follow",
                facts.name
            )),
        }
    }

    /// Method calls applied to the result of `call`, innermost first (`.bind(..).run()`).
    fn outer_calls(&self, ctx: &Ctx, call: usize) -> Vec<usize> {
        crate::dataflow::Flow::new(self.model.fn_facts(ctx.fn_id)).outer_chain(call)
    }

    /// The address a listener or bind argument names, when it is written as a literal.
    fn listener_address(&self, node: Node) -> Option<String> {
        address_of(&self.eval, node, 0)
    }

    /// Routers that no server start reads: every crate fn returning a router that no other
    /// crate fn calls (a library's `pub fn routes() -> Router`, loco's `Hooks::routes`).
    pub fn unserved_routers(&self) -> Vec<RouteDraft> {
        let used: HashSet<FnId> = used_fns(self.model);
        let mut out = Vec::new();
        for id in 0..self.model.fns.len() {
            if self.skip_fn(id) || used.contains(&id) {
                continue;
            }
            let facts = self.model.fn_facts(id);
            // actix `fn config(cfg: &mut ServiceConfig)` registered by another crate.
            if facts
                .param_types
                .first()
                .and_then(|p| p.ty.as_ref())
                .is_some_and(|t| t.last() == "ServiceConfig")
            {
                let (rs, ws) = self.actix_configure(id, 0);
                out.extend(rs.into_iter().map(|mut r| {
                    r.layers.extend(ws.iter().cloned());
                    r
                }));
                continue;
            }
            if facts.returns.is_empty() {
                continue;
            }
            if let Some(r) = self.router(self.fn_value(id), 0) {
                out.extend(r.routes);
            }
        }
        out
    }
}

/// `rocket::build()` / `rocket::custom(..)` (not `rocket::Response::build()`).
fn is_rocket_build(c: &Callee2) -> bool {
    matches!(c, Callee2::Path(cands) if cands.iter().any(|p| {
        p.len() == 2 && p[0] == "rocket" && (p[1] == "build" || p[1] == "custom")
    }))
}

/// Crates whose fns used as handlers are services of the framework (`actix_files::Files`).
fn is_framework_crate(name: &str) -> bool {
    matches!(
        name,
        "axum"
            | "axum_extra"
            | "tower_http"
            | "tower"
            | "actix_web"
            | "actix_files"
            | "rocket"
            | "warp"
            | "poem"
            | "salvo"
            | "salvo_core"
            | "loco_rs"
            | "hyper"
            | "http"
    )
}

/// A salvo router before flattening.
#[derive(Default)]
pub(crate) struct SalvoRouter {
    path: String,
    hoops: Vec<Layer>,
    /// (methods, handler, site, extra path)
    handlers: Vec<(Vec<String>, Handler, Site, String)>,
    children: Vec<SalvoRouter>,
}

impl SalvoRouter {
    fn flatten(self, prefix: &str, inherited: &[Layer]) -> Router {
        let mut routes = Vec::new();
        let mut layers: Vec<Layer> = inherited.to_vec();
        layers.extend(self.hoops.iter().cloned());
        let full = join_paths(prefix, &self.path);
        for (methods, handler, site, extra) in self.handlers {
            routes.push(RouteDraft {
                framework: Framework::Salvo,
                methods,
                path: join_paths(&full, &extra),
                handler,
                layers: layers.clone(),
                site,
            });
        }
        for c in self.children {
            routes.extend(c.flatten(&full, &layers).routes);
        }
        Router {
            framework: Framework::Salvo,
            routes,
            layers: self.hoops,
        }
    }
}

/// One alternative of a warp filter tree.
#[derive(Clone, Default)]
pub(crate) struct WarpAlt {
    segs: Vec<String>,
    methods: Vec<String>,
    handler: Option<Handler>,
    layers: Vec<Layer>,
    site: Option<Site>,
}

impl WarpAlt {
    fn unknown(why: &str) -> WarpAlt {
        WarpAlt {
            handler: Some(Handler::Unknown(why.into())),
            ..WarpAlt::default()
        }
    }

    fn and(&self, b: &WarpAlt) -> WarpAlt {
        let mut segs = self.segs.clone();
        segs.extend(b.segs.iter().cloned());
        let mut layers = self.layers.clone();
        layers.extend(b.layers.iter().cloned());
        WarpAlt {
            segs,
            methods: if self.methods.is_empty() {
                b.methods.clone()
            } else {
                self.methods.clone()
            },
            handler: b.handler.clone().or_else(|| self.handler.clone()),
            layers,
            site: b.site.clone().or_else(|| self.site.clone()),
        }
    }

    fn into_draft(self) -> Option<RouteDraft> {
        let handler = self.handler?;
        let site = self
            .site
            .or_else(|| self.layers.first().map(|l| l.site.clone()))?;
        Some(RouteDraft {
            framework: Framework::Warp,
            methods: if self.methods.is_empty() {
                vec!["*".into()]
            } else {
                self.methods
            },
            path: join_paths("", &self.segs.join("/")),
            handler,
            layers: self.layers,
            site,
        })
    }
}

/// Calls of a fn that are not the receiver of another call (the ends of chains).
fn outermost_calls(f: &crate::facts::FnFacts) -> Vec<usize> {
    let mut is_receiver = vec![false; f.calls.len()];
    for c in &f.calls {
        if let Some(Operand::Call(r)) = &c.receiver {
            if let Some(x) = is_receiver.get_mut(*r) {
                *x = true;
            }
        }
    }
    (0..f.calls.len())
        .filter(|&i| !is_receiver[i] && matches!(f.calls[i].callee, Callee::Method { .. }))
        .collect()
}

/// `#[get("/x")]`, `#[route("/x", method = "GET")]`, `#[post("/x", data = "<form>")]`.
fn route_attribute(a: &AttrFact) -> Option<(Vec<String>, String)> {
    let last = a.last();
    if ROUTE_ATTRS.contains(&last) {
        let path = a.first_str()?.to_string();
        return Some((vec![upper(last)], strip_query(&path)));
    }
    if last == "route" {
        let path = a
            .first_str()
            .map(String::from)
            .or_else(|| a.named("uri").map(String::from))?;
        let mut methods: Vec<String> = a
            .named_all("method")
            .map(|m| m.to_ascii_uppercase())
            .collect();
        // rocket: `#[route(GET, uri = "/")]`.
        for arg in &a.args {
            if let crate::summary::AttrArg::Path(p) = arg {
                if let [m] = p.as_slice() {
                    if m.chars().all(|c| c.is_ascii_uppercase()) {
                        methods.push(m.to_string());
                    }
                }
            }
        }
        if methods.is_empty() {
            methods.push("*".into());
        }
        return Some((methods, strip_query(&path)));
    }
    None
}

/// Rocket's `/search?<q>` routes on `/search`.
fn strip_query(p: &str) -> String {
    p.split('?').next().unwrap_or(p).to_string()
}

/// A middleware written as text in an attribute (`wrap = "HttpAuthentication::bearer(v)"`).
fn text_layer(text: &str, site: &Site) -> Layer {
    let cat = crate::routes::catalog::RouteCatalog::builtin();
    let head = text.split('(').next().unwrap_or(text).trim();
    let segs: Vec<String> = head.split("::").map(|s| s.trim().to_string()).collect();
    let kind = if cat.layer.iter().any(|e| {
        e.kind == crate::routes::catalog::LayerClass::Auth
            && segs.iter().any(|s| e.path.ends_with(s.as_str()))
    }) || segs.iter().any(|s| cat.auth_name(s) == Some(true))
    {
        LayerKind::Auth(format!("`{head}`"))
    } else {
        LayerKind::Other
    };
    Layer {
        name: text.to_string(),
        kind,
        site: site.clone(),
    }
}

fn address_of(eval: &Eval<'_, '_>, node: Node, depth: u32) -> Option<String> {
    if depth > 8 {
        return None;
    }
    match node {
        Node::Str(s) => Some(s.into()),
        Node::Tuple(xs) if xs.len() == 2 => {
            let host = match &xs[0] {
                Node::Str(s) => s.to_string(),
                Node::Array(octets) => octets
                    .iter()
                    .map(|o| match o {
                        Node::Lit(l) => l.to_string(),
                        _ => "?".into(),
                    })
                    .collect::<Vec<_>>()
                    .join("."),
                other => address_of(eval, other.clone(), depth + 1)?,
            };
            let port = match &xs[1] {
                Node::Lit(l) => l.to_string(),
                _ => "?".into(),
            };
            Some(format!("{host}:{port}"))
        }
        Node::Extern(p) => match p.last().map(|s| s.as_str()) {
            Some("LOCALHOST") => Some("127.0.0.1".into()),
            Some("UNSPECIFIED") => Some("0.0.0.0".into()),
            _ => None,
        },
        Node::Call { ctx, call } => {
            let c = eval.callee(&ctx, call);
            match c.last() {
                Some("new") if c.path_is(None, &["Ipv4Addr", "new"]) => {
                    let site = eval.call_site(&ctx, call);
                    let parts: Vec<String> = (0..site.args.len())
                        .map(|i| match eval.arg(&ctx, call, i) {
                            Node::Lit(l) => l.into(),
                            _ => "?".into(),
                        })
                        .collect();
                    Some(parts.join("."))
                }
                // `TcpListener::bind(addr)`, `SocketAddr::from(..)`, `parse()`, `.await`ed binds.
                _ => {
                    let site = eval.call_site(&ctx, call);
                    if site.args.is_empty() {
                        let recv = eval.receiver(&ctx, call)?;
                        return address_of(eval, recv, depth + 1);
                    }
                    let args: Vec<Node> = (0..site.args.len())
                        .map(|i| eval.arg(&ctx, call, i))
                        .collect();
                    if args.len() == 2 {
                        if let (Some(h), Node::Lit(p)) =
                            (address_of(eval, args[0].clone(), depth + 1), &args[1])
                        {
                            return Some(format!("{h}:{p}"));
                        }
                    }
                    address_of(eval, args.into_iter().next()?, depth + 1)
                }
            }
        }
        Node::Macro { ctx, index } => {
            let mf = &eval.model.fn_facts(ctx.fn_id).macros[index];
            match mf.args.first() {
                Some(Operand::Str(s)) => Some(s.to_string()),
                _ => None,
            }
        }
        _ => None,
    }
}
