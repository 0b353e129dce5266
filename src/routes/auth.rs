//! What protects a route: middleware classified through the catalog and names
//! (`classify`), and the handler's extractor parameters (`handler_auth`).

use std::collections::HashSet;

use crate::model::{CrateModel, FnId, Resolved};
use crate::routes::catalog::{LayerClass, RouteCatalog};
use crate::routes::eval::{Eval, Node};
use crate::routes::{Handler, Layer, LayerKind, RouteDraft, Site};
use crate::summary::{AttrArg, TypeName};

/// Whether a route rejects unauthenticated requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthStatus {
    /// Says what protects it.
    Protected(String),
    Unprotected,
    /// Something that may protect it could not be resolved; says what.
    Unknown(String),
}

impl AuthStatus {
    pub fn label(&self) -> &'static str {
        match self {
            AuthStatus::Protected(_) => "protected",
            AuthStatus::Unprotected => "unprotected",
            AuthStatus::Unknown(_) => "unknown",
        }
    }

    pub fn detail(&self) -> Option<&str> {
        match self {
            AuthStatus::Protected(s) | AuthStatus::Unknown(s) => Some(s),
            AuthStatus::Unprotected => None,
        }
    }
}

/// Crate-wide facts the auth decision needs: which crate types are request extractors.
pub struct AuthFacts {
    /// Crate types that implement a request-extractor trait (`FromRequestParts`...).
    pub extractor_types: HashSet<crate::facts::Name>,
    /// poem-openapi `#[derive(SecurityScheme)]` types.
    pub security_schemes: HashSet<crate::facts::Name>,
}

impl AuthFacts {
    pub fn of(model: &CrateModel<'_>) -> AuthFacts {
        let cat = RouteCatalog::builtin();
        let mut extractor_types = HashSet::new();
        let mut security_schemes = HashSet::new();
        for file in &model.krate.files {
            for m in &file.facts.modules {
                for imp in &m.impls {
                    if imp
                        .trait_path
                        .last()
                        .is_some_and(|t| cat.extractor_traits.names.iter().any(|n| n == t))
                    {
                        extractor_types.insert(imp.self_ty.clone());
                    }
                }
                for st in &m.structs {
                    let derives_scheme = st.attributes.iter().any(|a| {
                        a.last() == "derive"
                            && a.args.iter().any(
                                |x| matches!(x, AttrArg::Path(p) if p.last().is_some_and(|l| l == "SecurityScheme")),
                            )
                    });
                    if derives_scheme {
                        security_schemes.insert(st.name.clone());
                    }
                }
            }
        }
        AuthFacts {
            extractor_types,
            security_schemes,
        }
    }
}

/// Decides a route's auth status from its middleware and its handler's parameters.
pub(crate) fn route_auth(model: &CrateModel<'_>, facts: &AuthFacts, d: &RouteDraft) -> AuthStatus {
    if let Some(l) = d.layers.iter().find_map(|l| match &l.kind {
        LayerKind::Auth(what) => Some(what.clone()),
        _ => None,
    }) {
        return AuthStatus::Protected(l);
    }
    if let Handler::Fn(id) = d.handler {
        if let Some(what) = handler_auth(model, facts, id) {
            return AuthStatus::Protected(what);
        }
        // A forced `JwtAuth` whose handler checks the outcome itself.
        let forced = d
            .layers
            .iter()
            .any(|l| l.name.ends_with(".force_passed(true)"));
        let checks = model.fn_facts(id).calls.iter().any(|c| {
            matches!(&c.callee, crate::facts::Callee::Method { name, .. } if name == "jwt_auth_state")
        });
        if forced && checks {
            return AuthStatus::Protected(
                "`JwtAuth` with `force_passed(true)`, and the handler checks `jwt_auth_state()`"
                    .into(),
            );
        }
    }
    if let Some(why) = d.layers.iter().find_map(|l| match &l.kind {
        LayerKind::Unknown(why) => Some(why.clone()),
        _ => None,
    }) {
        return AuthStatus::Unknown(why);
    }
    if let Handler::Unknown(why) = &d.handler {
        return AuthStatus::Unknown(format!("the handler could not be resolved: {why}"));
    }
    if let Handler::ExternFn(name) = &d.handler {
        return AuthStatus::Unknown(format!(
            "the handler `{name}` is defined in another crate, whose extractors the linter does not read"
        ));
    }
    AuthStatus::Unprotected
}

/// The extractor parameter of a handler that rejects unauthenticated requests, if any.
pub fn handler_auth(model: &CrateModel<'_>, facts: &AuthFacts, id: FnId) -> Option<String> {
    let cat = RouteCatalog::builtin();
    let f = model.fn_facts(id);
    for p in &f.param_types {
        let Some(ty) = &p.ty else { continue };
        if let Some(what) = type_protects(model, facts, cat, id, ty) {
            return Some(what);
        }
    }
    None
}

fn type_protects(
    model: &CrateModel<'_>,
    facts: &AuthFacts,
    cat: &RouteCatalog,
    id: FnId,
    ty: &TypeName,
) -> Option<String> {
    let last = ty.last();
    // `Option<Claims>` / `Result<Claims, _>` let anonymous requests through.
    if matches!(last, "Option" | "Result") {
        return None;
    }
    if last == "TypedHeader" {
        let inner = ty.args.first()?;
        return (inner.last() == "Authorization").then(|| {
            format!(
                "the `{}` extractor (rejects requests without the header)",
                ty.display()
            )
        });
    }
    if facts.security_schemes.contains(last) {
        return Some(format!("the poem-openapi security scheme `{last}`"));
    }
    for r in model.resolve_in_fn(id, &ty.path) {
        match r {
            Resolved::Extern(p) => {
                if let Some(e) = cat.extractor(&p) {
                    return Some(e.what.clone());
                }
                if cat.auth_name(last) == Some(true) && !is_wrapper(last) {
                    return Some(format!("the `{last}` extractor"));
                }
            }
            Resolved::Local { .. } => {
                let is_extractor = facts.extractor_types.contains(last);
                match cat.auth_name(last) {
                    Some(true) => return Some(format!("the `{last}` extractor")),
                    Some(false) if is_extractor => {
                        return Some(format!(
                            "the `{last}` extractor (a `FromRequest` impl in this crate)"
                        ))
                    }
                    _ => {}
                }
            }
        }
    }
    None
}

/// Extractor wrappers whose own name says nothing (`Extension<AdminToken>` is data).
fn is_wrapper(name: &str) -> bool {
    matches!(
        name,
        "Extension" | "State" | "Data" | "Json" | "Form" | "Query" | "Path"
    )
}

/// Classifies a middleware value applied at `site`. Tuples and `ServiceBuilder` stacks give
/// one layer per element.
pub fn classify(eval: &Eval<'_, '_>, node: &Node, site: &Site) -> Vec<Layer> {
    let mut out = Vec::new();
    classify_into(eval, node, site, &mut out, 0);
    out
}

fn layer(name: String, kind: LayerKind, site: &Site) -> Layer {
    Layer {
        name,
        kind,
        site: site.clone(),
    }
}

fn classify_into(eval: &Eval<'_, '_>, node: &Node, site: &Site, out: &mut Vec<Layer>, depth: u32) {
    if depth > 16 {
        out.push(layer(
            "?".into(),
            LayerKind::Unknown("nested too deep".into()),
            site,
        ));
        return;
    }
    let cat = RouteCatalog::builtin();
    let model = eval.model;
    match node {
        Node::Tuple(xs) | Node::Array(xs) => {
            for x in xs {
                classify_into(eval, x, site, out, depth + 1);
            }
        }
        Node::Call { .. } => {
            let (base, steps) = eval.unchain(node.clone());
            let Node::Call { ctx, call } = &base else {
                classify_into(eval, &base, site, out, depth + 1);
                return;
            };
            let callee = eval.callee(ctx, *call);
            if callee.path_is(None, &["ServiceBuilder", "new"]) {
                for (sctx, s) in &steps {
                    let m = eval.callee(sctx, *s);
                    match m.method().unwrap_or("") {
                        "layer" => {
                            classify_into(eval, &eval.arg(sctx, *s, 0), site, out, depth + 1)
                        }
                        "catch_panic" => {
                            out.push(layer("catch_panic()".into(), LayerKind::PanicCatcher, site))
                        }
                        "compression" => {
                            out.push(layer("compression()".into(), LayerKind::Compression, site))
                        }
                        name @ ("validate_request_header"
                        | "require_authorization"
                        | "async_require_authorization") => out.push(layer(
                            format!("{name}()"),
                            LayerKind::Auth(format!("tower-http `{name}`")),
                            site,
                        )),
                        _ => {}
                    }
                }
                return;
            }
            // salvo's `JwtAuth::new(..).force_passed(true)` never rejects: the handler must
            // check `depot.jwt_auth_state()` (see `route_auth`).
            let forced = steps.iter().any(|(sctx, s)| {
                eval.callee(sctx, *s).method() == Some("force_passed")
                    && matches!(eval.arg(sctx, *s, 0), Node::Lit(ref v) if v == "true")
            });
            if forced {
                let name = callee
                    .first_path()
                    .map(type_name_of)
                    .unwrap_or_else(|| "?".into());
                out.push(layer(
                    format!("{name}.force_passed(true)"),
                    LayerKind::Other,
                    site,
                ));
                return;
            }
            // Catalog entries: a layer type, or a fn that builds middleware from a fn.
            if let crate::routes::eval::Callee2::Path(cands) = &callee {
                for p in cands {
                    if let Some(mf) = cat.middleware_fn(p) {
                        let inner = match (mf.arg, mf.generic) {
                            (Some(a), _) => eval.arg(ctx, *call, a),
                            (None, Some(g)) => match eval.call_site(ctx, *call).generics.get(g) {
                                Some(t) => eval.path(ctx.fn_id, &t.path),
                                None => Node::Unknown(
                                    "an extractor type the linter could not read".into(),
                                ),
                            },
                            (None, None) => Node::Unknown("a middleware fn".into()),
                        };
                        let fname = p.last().cloned().unwrap_or_default();
                        let mut inner_layers = Vec::new();
                        classify_into(eval, &inner, site, &mut inner_layers, depth + 1);
                        for mut l in inner_layers {
                            l.name = format!("{fname}({})", l.name);
                            out.push(l);
                        }
                        return;
                    }
                    if let Some(e) = cat.layer(p) {
                        out.push(layer(type_name_of(p), catalog_kind(e), site));
                        return;
                    }
                }
                let name = cands.first().map(|p| type_name_of(p)).unwrap_or_default();
                out.push(layer(name.clone(), kind_by_name(&name), site));
                return;
            }
            let name = callee.last().unwrap_or("?").to_string();
            out.push(layer(
                format!(".{name}()"),
                LayerKind::Unknown(format!(
                    "a middleware built by a `.{name}()` call the linter could not resolve"
                )),
                site,
            ));
        }
        Node::Macro { ctx, index } => {
            let m = &model.fn_facts(ctx.fn_id).macros[*index];
            let name = m.path.last().cloned().unwrap_or_default();
            match cat.macros.iter().find(|e| e.name == name) {
                Some(e) => out.push(layer(
                    format!("{name}!"),
                    LayerKind::Auth(e.what.clone()),
                    site,
                )),
                None => out.push(layer(
                    format!("{name}!"),
                    LayerKind::Unknown(format!("a middleware built by the macro `{name}!`")),
                    site,
                )),
            }
        }
        Node::LocalFn(f) => out.push(middleware_fn(model, *f, site)),
        Node::LocalItem(p) | Node::Extern(p) => {
            if let Some(e) = cat.layer(p) {
                out.push(layer(type_name_of(p), catalog_kind(e), site));
                return;
            }
            let name = p.last().map(|s| s.to_string()).unwrap_or_default();
            out.push(layer(name.clone(), kind_by_name(&name), site));
        }
        Node::Closure { ctx, .. } => {
            let kind = if rejects_unauthorized(model, ctx.fn_id) {
                LayerKind::Auth("an inline middleware that answers 401/403".into())
            } else {
                LayerKind::Other
            };
            out.push(layer("|..| closure".into(), kind, site));
        }
        Node::Param { fn_id, index } => {
            let f = model.fn_facts(*fn_id);
            let param = f.param_types.get(*index);
            let pname = param
                .and_then(|p| p.names.first().map(|s| s.to_string()))
                .unwrap_or_else(|| index.to_string());
            // A parameter of a named type: what the type's name says (`rate_limit: &RateLimit`).
            if let Some(ty) = param.and_then(|p| p.ty.as_ref()) {
                let tname = ty.last();
                let is_generic =
                    tname.len() <= 2 || ty.path.first().is_some_and(|s| s == "impl" || s == "dyn");
                if !is_generic {
                    let kind = match cat.auth_name(tname) {
                        Some(true) => LayerKind::Auth(format!("`{tname}`")),
                        _ => LayerKind::Other,
                    };
                    out.push(layer(format!("{pname}: {tname}"), kind, site));
                    return;
                }
            }
            out.push(layer(
                pname.clone(),
                LayerKind::Unknown(format!(
                    "a middleware passed in as the parameter `{pname}` of `{}`",
                    model.fn_display(*fn_id)
                )),
                site,
            ));
        }
        Node::Unknown(why) => out.push(layer("?".into(), LayerKind::Unknown(why.clone()), site)),
        Node::Str(_) | Node::Lit(_) => {}
    }
}

fn catalog_kind(e: &crate::routes::catalog::LayerEntry) -> LayerKind {
    match e.kind {
        LayerClass::Auth => LayerKind::Auth(e.what.clone()),
        LayerClass::PanicCatcher => LayerKind::PanicCatcher,
        LayerClass::Compression => LayerKind::Compression,
        LayerClass::Other => LayerKind::Other,
    }
}

/// A middleware the catalog does not know: authentication when its name says so.
fn kind_by_name(name: &str) -> LayerKind {
    if RouteCatalog::builtin().auth_name(name) == Some(true) {
        LayerKind::Auth(format!("`{name}`"))
    } else {
        LayerKind::Other
    }
}

/// `CatchPanicLayer` of `tower_http::catch_panic::CatchPanicLayer::new`.
fn type_name_of(p: &[crate::facts::Name]) -> String {
    match p {
        [.., ty, f]
            if f.chars().next().is_some_and(|c| c.is_lowercase())
                && ty.chars().next().is_some_and(|c| c.is_uppercase()) =>
        {
            ty.to_string()
        }
        [.., last] => last.to_string(),
        [] => String::new(),
    }
}

/// A crate fn used as middleware (axum `from_fn(f)`, a salvo hoop, actix `from_fn(f)`).
pub fn middleware_fn(model: &CrateModel<'_>, f: FnId, site: &Site) -> Layer {
    let cat = RouteCatalog::builtin();
    let name = model.fn_facts(f).name.to_string();
    // 401 means "authenticate first"; a 403 alone (a blocked user agent, a rate limit) counts
    // only for a fn whose name says it checks who calls.
    let (answers_401, answers_403) = rejections(model, f);
    let kind = match cat.auth_name(&name) {
        Some(true) => LayerKind::Auth(format!("the middleware fn `{name}`")),
        Some(false) if answers_401 || answers_403 => {
            LayerKind::Auth(format!("the middleware fn `{name}`, which answers 401/403"))
        }
        _ if answers_401 => {
            LayerKind::Auth(format!("the middleware fn `{name}`, which answers 401"))
        }
        _ => LayerKind::Other,
    };
    layer(name, kind, site)
}

/// Whether the fn (or a crate fn it calls) answers 401, and 403.
fn rejections(model: &CrateModel<'_>, f: FnId) -> (bool, bool) {
    let direct = |id: FnId| {
        let facts = model.fn_facts(id);
        let mut r = (false, false);
        for c in &facts.consts {
            match c.last().map(|s| s.as_str()) {
                Some("UNAUTHORIZED") => r.0 = true,
                Some("FORBIDDEN") => r.1 = true,
                _ => {}
            }
        }
        for c in &facts.calls {
            let name = match &c.callee {
                crate::facts::Callee::Path(p) => p.last().cloned().unwrap_or_default(),
                crate::facts::Callee::Method { name, .. } => name.clone(),
            };
            let lower = name.to_ascii_lowercase();
            r.0 |= lower.contains("unauthorized");
            r.1 |= lower.contains("forbidden");
        }
        r
    };
    let mut r = direct(f);
    let facts = model.fn_facts(f);
    for ci in 0..facts.calls.len() {
        if let crate::model::CallTarget::Local(c) = model.call_target(f, ci) {
            if *c != f {
                let d = direct(*c);
                r.0 |= d.0;
                r.1 |= d.1;
            }
        }
    }
    r
}

fn rejects_unauthorized(model: &CrateModel<'_>, f: FnId) -> bool {
    rejections(model, f).0
}
