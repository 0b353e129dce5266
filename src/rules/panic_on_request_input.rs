use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::catalogs::request_input::{Framework, RequestCatalog, SourceKind};
use crate::dataflow::{Flow, Origin, Through};
use crate::facts::{CallSite, Callee, FnFacts};
use crate::finding::{Finding, Level, Note};
use crate::model::{CallTarget, CrateModel, ExecContext, FnId, Resolved};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};
use crate::source::Range;
use crate::summary::{Operand, TypeName};

declare_rule! {
    /// ## What it does
    /// Flags code in a request handler that panics when the client sends unexpected input:
    /// `unwrap()`/`expect()` on a value that comes from the request, `panic!`/`assert!`
    /// (and `unreachable!`, `todo!`, `unimplemented!`, `assert_eq!`, `assert_ne!`) whose
    /// message or condition mentions request data, and indexing or slicing where the base
    /// or the index comes from the request (`parts[1]` after `id.split('/').collect()`).
    ///
    /// Request data starts at handler parameters whose type is a request extractor or
    /// request object: axum `Path`, `Query`, `Json`, `Form`, `Multipart`, `TypedHeader`,
    /// `Request`; actix-web `web::Path`, `web::Query`, `web::Json`, `web::Form`, `web::Bytes`,
    /// `web::Payload`, `HttpRequest`, `ServiceRequest`; rocket parameters named in the route
    /// attribute (`<id>`, `<path..>`, `?<q>`, `data = "<form>"`), `Json`, `Form`; poem `Path`,
    /// `Query`, `Json`, `Body`, `&Request` (and poem-openapi `Path`, `Query`, `Json`
    /// payloads); loco's re-exports of the axum extractors; salvo `&mut Request`
    /// (`req.param`, `req.query`, `req.parse_json().await`, `req.form`).
    ///
    /// `String`, `Bytes`, `HeaderMap`, `Uri`, `http::Request` and `Parts` parameters count
    /// only when the fn is a handler by other evidence (a route, a route attribute,
    /// `#[handler]`, a state parameter, a middleware `Next`, another extractor,
    /// `from_request_parts`): HTTP clients handle these types too. `Option<..>` and
    /// `Result<..>` of an extractor are request data, and so is `Option<Claims>` of a crate
    /// type that implements an extractor trait (`None` when the request does not carry it; a
    /// bare `Claims` was validated by its extractor and is not request input).
    ///
    /// Server-built parameters are not request data: `State`, `Extension`, `web::Data`,
    /// `&State<T>`, `Data<&T>`, `Depot`, nor what a request object holds for the server
    /// (`req.app_data()`, `req.extensions()`, `req.peer_addr()`,
    /// `req.extract::<web::Data<T>>()`).
    ///
    /// The value is followed through `let` bindings, fields, tuple and struct patterns,
    /// `if let`/`match` bindings, and through:
    /// - method calls on request data that view or transform it (`parse`, `to_str`,
    ///   `split`, `get`, `first`, `trim`, `as_str`, `map`, `and_then`, `collect`...), and
    ///   any method whose arguments are all literals or closures, unless it is awaited;
    /// - awaited methods that read a request body (`multipart.next_field().await`,
    ///   `req.parse_json().await`, `field.bytes().await`);
    /// - lookups keyed by request data (`ITEMS.get(&id)` on a server-built map: a key the
    ///   client chose may be missing);
    /// - parsers and decoders taking it as an argument (`serde_json::from_str`/`from_slice`/
    ///   `from_value`, `std::str::from_utf8`, `String::from_utf8`, `base64`/`hex` decodes,
    ///   `Uuid::parse_str`, `u64::from_str`, `T::try_from`, `chrono` parsers,
    ///   `jsonwebtoken::decode`, `Regex::new` of a client-supplied pattern...);
    /// - crate-local helpers whose return value comes from the parameter the request data is
    ///   passed to (`parse_id(&raw).unwrap()`).
    ///
    /// Other calls do not carry request data: `db.find(id).await.unwrap()` panics on a
    /// database error, not on the client's input (that is a different problem), and
    /// `bcrypt::hash(&body.password, 12).unwrap()` fails only on a bad cost; a method on a
    /// record the handler builds (`Page { name }.render().expect(..)`) fails on the record,
    /// not on the input.
    ///
    /// A fn is a handler when it has a request-extractor parameter, or one of the types
    /// above and is mounted on a route (the route table, or a fn passed to a framework's
    /// `get(..)`/`.to(..)`), has a route attribute or `#[handler]`, or takes state or `Next`.
    /// An attribute-routed fn (`#[get("/x")]`) that no router mounts and nothing names is
    /// dead code and gets no findings.
    ///
    /// Request data passed to a crate-local helper is followed one level: a panic on it
    /// inside the helper is reported there, with a note pointing at the handler's call.
    ///
    /// Not flagged: `lock()`/`read()`/`write()` unwraps (poisoning, not input),
    /// `unwrap_or`/`unwrap_or_default`/`unwrap_or_else`, `?`, `Regex::new("..").unwrap()` on a
    /// constant, unwraps of values the server built, start-up code (`main` and what only
    /// `main` calls), test code. An `unwrap()` of a place (`q.tag`, `data.code`) that the fn
    /// also checks with `is_some`/`is_none`/`is_ok`/`is_err` or passes to a validation call
    /// (a fn named `check*`, `ensure*`, `require*`, `validate*`, `assert*`), and indexing of a
    /// place whose `len()`/`is_empty()` the fn checks, are taken as guarded; checks a handler
    /// makes before passing the value to a helper count in the helper. Indexing a
    /// `serde_json::Value` never panics (it yields `Null`) and is not flagged, nor is `v[..]`.
    /// A crate-local constructor (a fn returning `Self { .. }`) does not carry request data
    /// into the record it builds. A path parameter looked up by name as raw text
    /// (`req.match_info().get("id").unwrap()`, `req.param::<String>("rest").unwrap()`) is
    /// present whenever the route matched, so its `unwrap()` is not about input; parsing it
    /// (`req.param::<i64>("id").unwrap()`, `.parse().unwrap()`) is. The first item of a split
    /// (`s.split('@').next().unwrap()`) always exists.
    ///
    /// ## Why is this bad?
    /// A panic in a handler is an outage for that request, triggered by the client: axum,
    /// actix-web, poem, salvo and warp do not catch it by default, so the connection is
    /// closed with no response and proxies answer 502 (and may mark the instance unhealthy);
    /// Rocket (and loco, by default) answers 500, turning a client mistake into a server
    /// error. With
    /// `panic = "abort"` one bad request kills the process and every request in flight on
    /// it, and a panic while a `std::sync::Mutex` guard is held poisons it for every later
    /// request. Anyone can send the input that triggers it, again and again.
    ///
    /// ## Example
    /// ```rust
    /// async fn show(Path(id): Path<String>) -> Json<Note> {
    ///     let id: u64 = id.parse().unwrap();
    ///     Json(load(id).await)
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// async fn show(Path(id): Path<String>) -> Result<Json<Note>, StatusCode> {
    ///     let id: u64 = id.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
    ///     Ok(Json(load(id).await))
    /// }
    /// ```
    /// or type the extractor (`Path<u64>`) so the framework rejects bad input with a 4xx.
    ///
    /// ## Known problems
    /// Handlers are recognised by their request parameters: a handler whose only request
    /// parameter is a custom extractor is not seen, and warp filter-extracted parameters are
    /// not sources yet. Data is followed inside one fn and one helper level deep; closure
    /// parameters
    /// (`q.ids.iter().map(|s| s.parse().unwrap())`) and `match`/`if` expressions used as
    /// values are not followed. A `panic!()` whose enclosing `if`/`match` tests request data
    /// but whose message does not mention it is not seen. A length or `is_some` check
    /// anywhere in the fn counts as a guard, even when it does not dominate the panic; other
    /// guards (`if set.contains(&x.id) { x.id.unwrap() }`, an earlier `match`) are not
    /// understood and such an `unwrap()` is reported.
    /// `debug_assert!` is not flagged (it is compiled out of release builds).
    pub static META = {
        id: "panic-on-request-input",
        level: Level::Warning,
        summary: "`unwrap()`, `expect()`, `panic!`/`assert!` or indexing on request data in a handler: a malformed request panics",
        since: "0.1.0",
    };
}

pub struct PanicOnRequestInput;

impl Rule for PanicOnRequestInput {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    /// panic-on-request-input
    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let cat = RequestCatalog::builtin();
        let analysis = Analysis {
            model,
            cat,
            returns_memo: RefCell::new(HashMap::new()),
        };
        // Helper → its tainted parameters, with the first handler call that taints them.
        let mut helpers: BTreeMap<FnId, BTreeMap<usize, (Source<'_>, HelperCall)>> =
            BTreeMap::new();
        let table = model.routes();
        let mounted = table.handlers();
        let mut routed = routed_fns(model, cat);
        routed.extend(mounted.iter().copied());
        // Names used as values anywhere (`routes![a, b]`, `.service(h)`): the route table
        // may not follow every way of mounting, so a fn named somewhere is not dead.
        let named = value_names(model);
        // Crate types that implement a request-extractor trait (`impl FromRequestParts for
        // Claims`): `Option<Claims>` is `None` when the request does not carry them.
        let extractors = crate::routes::auth::AuthFacts::of(model).extractor_types;
        let mut handlers = HashSet::new();
        let mut per_handler = Vec::new();
        for id in 0..model.fns.len() {
            if !cx.include_tests && is_test_fn(model, id) {
                continue;
            }
            if matches!(model.context(id, 0), ExecContext::Startup) {
                continue;
            }
            // Dead code: an attribute-routed handler (`#[get("/x")]`) that no router mounts,
            // in a crate whose routes the route table found.
            if !table.routes.is_empty()
                && !routed.contains(&id)
                && !named.contains(model.fn_facts(id).name.as_str())
                && model
                    .fn_facts(id)
                    .attributes
                    .iter()
                    .any(|a| cat.route_attributes.contains(a.last()))
            {
                continue;
            }
            let sources = handler_sources(model, cat, id, routed.contains(&id), &extractors);
            if sources.is_empty() {
                continue;
            }
            handlers.insert(id);
            per_handler.push((id, sources));
        }
        for (id, sources) in &per_handler {
            let fa = FnAnalysis::new(&analysis, *id, sources);
            fa.sinks(cx, None, out);
            for (callee, params) in fa.helper_taints() {
                if handlers.contains(&callee) || (!cx.include_tests && is_test_fn(model, callee)) {
                    continue;
                }
                let entry = helpers.entry(callee).or_default();
                for (p, v) in params {
                    entry.entry(p).or_insert(v);
                }
            }
        }
        for (helper, params) in helpers {
            if matches!(model.context(helper, 0), ExecContext::Startup) {
                continue;
            }
            let sources: BTreeMap<usize, Source<'_>> =
                params.iter().map(|(p, (s, _))| (*p, s.clone())).collect();
            let calls: BTreeMap<usize, HelperCall> =
                params.into_iter().map(|(p, (_, c))| (p, c)).collect();
            let mut fa = FnAnalysis::new(&analysis, helper, &sources);
            fa.extra_guards = calls.values().flat_map(|c| c.guards.clone()).collect();
            fa.sinks(cx, Some(&calls), out);
        }
    }
}

fn is_test_fn(model: &CrateModel<'_>, id: FnId) -> bool {
    model.fn_facts(id).attrs.is_test || model.file(model.fns[id].file).is_test
}

/// A parameter that carries request data.
#[derive(Clone, Debug)]
struct Source<'c> {
    /// "the request path", "the request body"...
    what: String,
    framework: Option<&'c Framework>,
    /// A request object (`HttpRequest`, salvo `Request`): its accessors say what they
    /// return, and its server-held data (`app_data`, `extensions`) is not request input.
    request_object: bool,
    /// The extracted type is (or holds) a `serde_json::Value`, whose indexing never panics.
    json_value: bool,
    /// The extracted type holds a map (`Query<HashMap<String, String>>`): indexing it with
    /// a key panics when the key is missing.
    map: bool,
}

/// A local and a field path under it: `("data", ["send_id"])` for `data.send_id`.
type Place = (crate::facts::Name, Vec<crate::facts::Name>);

/// How a place is checked before use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guard {
    /// `is_some`/`is_none`/`is_ok`/`is_err`: guards an `unwrap()`.
    Presence,
    /// `len`/`is_empty`: guards an index.
    Length,
    /// Passed to a validation fn (`check_is_some(..)?`, `validate_len(..)`): guards both.
    Validated,
}

/// Where request data enters a helper: the handler and its call.
#[derive(Clone, Debug)]
struct HelperCall {
    handler: FnId,
    range: Range,
    param_name: crate::facts::Name,
    /// The handler's checks of the value passed, re-rooted at the helper's parameter.
    guards: Vec<(Place, Guard)>,
}

/// The request sources among a fn's parameters; empty when it is not a handler.
fn handler_sources<'c>(
    model: &CrateModel<'_>,
    cat: &'c RequestCatalog,
    id: FnId,
    routed: bool,
    extractors: &HashSet<crate::facts::Name>,
) -> BTreeMap<usize, Source<'c>> {
    let f = model.fn_facts(id);
    let mut strong = BTreeMap::new();
    let mut weak = Vec::new();
    let mut evidence = routed
        || f.attrs.executor_handler.is_some()
        || (f.self_ty.is_some() && cat.evidence_methods.contains(f.name.as_str()));
    let mut framework: Option<&Framework> = None;
    for (pi, p) in f.param_types.iter().enumerate() {
        let Some(ty) = &p.ty else { continue };
        let optional = matches!(ty.last(), "Option" | "Result") && !ty.args.is_empty();
        let inner = if optional { &ty.args[0] } else { ty };
        // `Option<Claims>` of a crate extractor: absent when the request lacks it.
        if optional && extractors.contains(inner.last()) {
            let local = model
                .resolve_in_fn(id, &inner.path)
                .iter()
                .any(|r| matches!(r, Resolved::Local { .. }));
            if local {
                weak.push((
                    pi,
                    Source {
                        what: format!("the optional `{}` extractor", inner.last()),
                        framework: None,
                        request_object: false,
                        json_value: false,
                        map: false,
                    },
                ));
                continue;
            }
        }
        for r in model.resolve_in_fn(id, &inner.path) {
            let Resolved::Extern(path) = r else { continue };
            let fw = path.first().and_then(|k| cat.framework_of_crate(k));
            if let Some(kind) = cat.source(&path) {
                strong.insert(pi, source(kind, fw, inner));
                framework = framework.or(fw);
                break;
            }
            if let Some(kind) = cat.weak_source(&path) {
                weak.push((pi, source(kind, None, inner)));
                break;
            }
            if cat.is_evidence(&path) {
                evidence = true;
                framework = framework.or(fw);
                break;
            }
        }
    }
    // Rocket: parameters named in the route attribute.
    for a in &f.attributes {
        if !cat.route_attributes.contains(a.last()) {
            continue;
        }
        evidence = true;
        let Some(uri) = a.first_str().or_else(|| a.named("uri")) else {
            continue;
        };
        let rocket = cat.framework("rocket");
        let (path_part, query_part) = uri.split_once('?').unwrap_or((uri, ""));
        let mut named = Vec::new();
        named.extend(
            dynamic_names(path_part)
                .into_iter()
                .map(|n| (n, "the request path")),
        );
        named.extend(
            dynamic_names(query_part)
                .into_iter()
                .map(|n| (n, "the query string")),
        );
        if let Some(data) = a.named("data") {
            named.extend(
                dynamic_names(data)
                    .into_iter()
                    .map(|n| (n, "the request body")),
            );
        }
        for (name, what) in named {
            let Some(pi) = f.param_types.iter().position(|p| p.names.contains(&name)) else {
                continue;
            };
            let ty = f.param_types[pi].ty.clone().unwrap_or_default();
            strong.entry(pi).or_insert_with(|| Source {
                what: what.to_string(),
                framework: rocket,
                request_object: false,
                json_value: is_json_value(&ty),
                map: has_map(&ty),
            });
            framework = framework.or(rocket);
        }
    }
    if !strong.is_empty() {
        evidence = true;
    }
    if evidence {
        for (pi, mut s) in weak {
            s.framework = framework;
            strong.entry(pi).or_insert(s);
        }
    }
    if framework.is_none() && !strong.is_empty() {
        let file = model.fns[id].file;
        framework = cat
            .frameworks
            .iter()
            .find(|fw| fw.crates.iter().any(|c| model.file_imports_crate(file, c)));
    }
    for s in strong.values_mut() {
        if s.framework.is_none() {
            s.framework = framework;
        }
    }
    strong
}

/// Crate fns passed to a framework's routing functions (`get(show)`, `web::get().to(raw)`,
/// `Router::with_path("x").get(show)`): mounted handlers, whatever their parameters.
/// (An approximation of the route table.)
fn routed_fns(model: &CrateModel<'_>, cat: &RequestCatalog) -> HashSet<FnId> {
    let mut out = HashSet::new();
    for id in 0..model.fns.len() {
        let f = model.fn_facts(id);
        for r in &f.refs {
            let Some(ci) = r.arg_of else { continue };
            if r.is_local {
                continue;
            }
            let Some(call) = f.calls.get(ci) else {
                continue;
            };
            let routing = match (&call.callee, model.call_target(id, ci)) {
                (Callee::Method { name, .. }, _) => cat.routing_methods.contains(name.as_str()),
                (Callee::Path(_), CallTarget::Extern(cands)) => cands.iter().any(|c| {
                    c.first().is_some_and(|k| cat.is_framework_crate(k))
                        && c.last()
                            .is_some_and(|l| cat.routing_fns.contains(l.as_str()))
                }),
                _ => false,
            };
            if !routing {
                continue;
            }
            for res in model.resolve_in_fn(id, &r.path) {
                if let Resolved::Local { target, path } = res {
                    if let Some(h) = model.local_fn(target, &path) {
                        out.insert(h);
                    }
                }
            }
        }
    }
    out
}

/// The last segments of every path used as a value or a macro argument in the crate.
fn value_names<'m>(model: &CrateModel<'m>) -> HashSet<&'m str> {
    let mut out = HashSet::new();
    for id in 0..model.fns.len() {
        let f = model.fn_facts(id);
        out.extend(
            f.refs
                .iter()
                .filter_map(|r| r.path.last())
                .map(|s| s.as_str()),
        );
        for m in &f.macros {
            let mut stack: Vec<&Operand> = m.args.iter().collect();
            while let Some(op) = stack.pop() {
                match op {
                    Operand::Path(p) => out.extend(p.last().map(|s| s.as_str())),
                    Operand::Tuple(xs) | Operand::Array(xs) => stack.extend(xs.iter()),
                    _ => {}
                }
            }
        }
    }
    out
}

/// `<id>` and `<path..>` names of a rocket route pattern.
fn dynamic_names(pattern: &str) -> Vec<crate::facts::Name> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else { break };
        let name = after[..end].trim_end_matches("..").trim();
        if !name.is_empty() {
            out.push(name.into());
        }
        rest = &after[end + 1..];
    }
    out
}

fn source<'c>(kind: SourceKind<'_>, framework: Option<&'c Framework>, ty: &TypeName) -> Source<'c> {
    Source {
        what: kind.what.to_string(),
        framework,
        request_object: kind.request_object,
        json_value: is_json_value(ty),
        map: has_map(ty),
    }
}

fn is_json_value(ty: &TypeName) -> bool {
    ty.walk().iter().any(|t| t.last() == "Value")
}

fn has_map(ty: &TypeName) -> bool {
    ty.walk()
        .iter()
        .any(|t| matches!(t.last(), "HashMap" | "BTreeMap" | "IndexMap"))
}

/// Crate-wide state shared by the per-fn analyses.
struct Analysis<'m, 'a> {
    model: &'m CrateModel<'a>,
    cat: &'static RequestCatalog,
    /// Per crate-local fn: the parameters whose data reaches its return value.
    returns_memo: RefCell<HashMap<FnId, Option<Vec<usize>>>>,
}

impl Analysis<'_, '_> {
    /// The parameters of `id` whose data flows into its return value (through the same
    /// propagation rules, one helper level deep).
    fn returning_params(&self, id: FnId, depth: u32) -> Vec<usize> {
        if let Some(v) = self.returns_memo.borrow().get(&id) {
            return v.clone().unwrap_or_default();
        }
        if depth > 2 {
            return Vec::new();
        }
        self.returns_memo.borrow_mut().insert(id, None);
        let f = self.model.fn_facts(id);
        let all: BTreeMap<usize, Source<'_>> = (0..f.param_types.len())
            .map(|i| {
                (
                    i,
                    Source {
                        what: String::new(),
                        framework: None,
                        request_object: false,
                        json_value: false,
                        map: false,
                    },
                )
            })
            .collect();
        let fa = FnAnalysis::with_depth(self, id, &all, depth + 1);
        // A constructor (`Self { .. }`, `Ok(Self { .. })`) mixes request data into a record the
        // server builds; unwrapping its fields later is not a panic on the input.
        let mut params: Vec<usize> = f
            .returns
            .iter()
            .filter(|r| !is_constructed(f, r))
            .flat_map(|r| fa.tainted_params(r, f.calls.len()))
            .collect();
        params.sort_unstable();
        params.dedup();
        self.returns_memo
            .borrow_mut()
            .insert(id, Some(params.clone()));
        params
    }
}

/// The analysis of one fn with a set of tainted parameters.
struct FnAnalysis<'x, 'm, 'a, 'c> {
    an: &'x Analysis<'m, 'a>,
    id: FnId,
    f: &'m FnFacts,
    flow: Flow<'m>,
    sources: &'x BTreeMap<usize, Source<'c>>,
    depth: u32,
    /// Checks made by the handler that passed request data to this helper.
    extra_guards: Vec<(Place, Guard)>,
    /// Nested queries (through helpers' arguments) in progress.
    nesting: Cell<u32>,
}

impl<'x, 'm, 'a, 'c> FnAnalysis<'x, 'm, 'a, 'c> {
    fn new(an: &'x Analysis<'m, 'a>, id: FnId, sources: &'x BTreeMap<usize, Source<'c>>) -> Self {
        Self::with_depth(an, id, sources, 0)
    }

    fn with_depth(
        an: &'x Analysis<'m, 'a>,
        id: FnId,
        sources: &'x BTreeMap<usize, Source<'c>>,
        depth: u32,
    ) -> Self {
        let f = an.model.fn_facts(id);
        FnAnalysis {
            an,
            id,
            f,
            flow: Flow::new(f),
            sources,
            depth,
            extra_guards: Vec::new(),
            nesting: Cell::new(0),
        }
    }

    /// Whether call `i`'s result carries its receiver's or arguments' data.
    fn through(&self, i: usize, call: &CallSite) -> Through {
        let cat = self.an.cat;
        match &call.callee {
            Callee::Method { name, .. } => {
                if cat.never.contains(name.as_str()) || cat.server_methods.contains(name.as_str()) {
                    return Through::Nothing;
                }
                // `req.extract::<web::Data<T>>()`: extracting server-built state.
                if call.generics.iter().any(|g| self.is_evidence_type(g)) {
                    return Through::Nothing;
                }
                if call.awaited {
                    return if cat.awaited_receiver.contains(name.as_str()) {
                        Through::Receiver
                    } else {
                        Through::Nothing
                    };
                }
                if cat.receiver_and_args.contains(name.as_str()) {
                    return Through::Both;
                }
                if cat.receiver.contains(name.as_str()) || cat.sink_methods.contains(name.as_str())
                {
                    return Through::Receiver;
                }
                // Any other method with no data arguments views or transforms its receiver,
                // unless the receiver is a record the handler builds (`Page { name }.render()`).
                if call.args.iter().all(is_inert) && !self.is_record(call.receiver.as_ref(), i) {
                    return Through::Receiver;
                }
                if let CallTarget::Local(callee) = self.an.model.call_target(self.id, i) {
                    return self.through_helper(*callee, i, call, true);
                }
                Through::Nothing
            }
            Callee::Path(segs) => match self.an.model.call_target(self.id, i) {
                CallTarget::Local(callee) => self.through_helper(*callee, i, call, false),
                CallTarget::Extern(cands) => {
                    if cands.iter().any(|c| cat.is_parser_fn(c)) || self.assoc_as_written(segs) {
                        Through::Args
                    } else {
                        Through::Nothing
                    }
                }
                _ if self.assoc_as_written(segs) => Through::Args,
                _ => Through::Nothing,
            },
        }
    }

    /// A path parameter of the matched route, looked up by name as raw text
    /// (`req.match_info().get("id")`, `req.param::<String>("rest")`): present whenever the
    /// route matched.
    fn is_raw_path_lookup(&self, recv: &Operand) -> bool {
        let cat = self.an.cat;
        let Operand::Call(j) = recv else { return false };
        let call = &self.f.calls[*j];
        let Callee::Method { name, .. } = &call.callee else {
            return false;
        };
        let by_literal_name = matches!(call.args.as_slice(), [Operand::Str(_)]);
        if !by_literal_name {
            return false;
        }
        if cat.raw_path_getters.contains(name.as_str()) {
            return call
                .generics
                .first()
                .is_some_and(|g| cat.raw_text_types.contains(g.last()));
        }
        if name != "get" {
            return false;
        }
        let Some(Operand::Call(k)) = &call.receiver else {
            return false;
        };
        let map = &self.f.calls[*k];
        matches!(&map.callee, Callee::Method { name, .. } if cat.raw_path_maps.contains(name.as_str()))
            && map.args.is_empty()
            && call
                .generics
                .first()
                .is_none_or(|g| cat.raw_text_types.contains(g.last()))
    }

    /// `s.split('@').next()`: the first item of a split always exists.
    fn is_first_split(&self, recv: &Operand) -> bool {
        let method = |op: &Operand| match op {
            Operand::Call(j) => match &self.f.calls[*j].callee {
                Callee::Method { name, .. } => Some((name.as_str(), *j)),
                Callee::Path(_) => None,
            },
            _ => None,
        };
        let Some(("next", j)) = method(recv) else {
            return false;
        };
        self.f.calls[j]
            .receiver
            .as_ref()
            .and_then(method)
            .is_some_and(|(name, _)| self.an.cat.first_always_yields.contains(name))
    }

    /// A state or extension type (`web::Data<T>`, `State<S>`).
    fn is_evidence_type(&self, ty: &TypeName) -> bool {
        self.an
            .model
            .resolve_in_fn(self.id, &ty.path)
            .into_iter()
            .any(|r| matches!(r, Resolved::Extern(p) if self.an.cat.is_evidence(&p)))
    }

    /// A struct literal, directly or through a local bound to one.
    fn is_record(&self, op: Option<&Operand>, at: usize) -> bool {
        match op {
            Some(Operand::Struct(..)) => true,
            Some(Operand::Local(n)) => self
                .flow
                .binding(n, at)
                .is_some_and(|l| matches!(l.value, Operand::Struct(..))),
            _ => false,
        }
    }

    /// `Some(x)`, `Ok(x)`, `u64::from_str(s)` by how they are written.
    fn assoc_as_written(&self, segs: &[crate::facts::Name]) -> bool {
        let cat = self.an.cat;
        match segs {
            [one] => matches!(one.as_str(), "Some" | "Ok"),
            [.., last] => cat.assoc.contains(last.as_str()),
            [] => false,
        }
    }

    /// A crate-local helper carries its arguments into its result when a parameter that
    /// reaches its return value receives request data here.
    fn through_helper(&self, callee: FnId, at: usize, call: &CallSite, is_method: bool) -> Through {
        if self.depth > 1 || self.nesting.get() > 4 {
            return Through::Nothing;
        }
        let params = self.an.returning_params(callee, self.depth);
        if params.is_empty() {
            return Through::Nothing;
        }
        let shift = usize::from(
            !is_method && call.args.len() == self.an.model.fn_facts(callee).param_types.len() + 1,
        );
        self.nesting.set(self.nesting.get() + 1);
        let tainted = params.iter().any(|&p| {
            call.args
                .get(p + shift)
                .is_some_and(|a| !self.tainted_params(a, at).is_empty())
        });
        self.nesting.set(self.nesting.get() - 1);
        if tainted {
            Through::Args
        } else {
            Through::Nothing
        }
    }

    fn origins(&self, op: &'m Operand, at: usize) -> Vec<Origin<'m>> {
        self.flow
            .origins(op, at, &|i, c: &CallSite| self.through(i, c))
    }

    /// The tainted parameters `op` (used where `at` calls have been recorded) comes from.
    fn tainted_params(&self, op: &'m Operand, at: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .origins(op, at)
            .into_iter()
            .filter_map(|o| match o {
                Origin::Param(p) if self.sources.contains_key(&p) => Some(p),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The source `op` comes from and what it is, refined by the request-object accessor
    /// on the way (`req.match_info()` is the request path).
    fn derived(&self, op: &'m Operand, at: usize) -> Option<(usize, String)> {
        let origins = self.origins(op, at);
        let p = origins.iter().find_map(|o| match o {
            Origin::Param(p) if self.sources.contains_key(p) => Some(*p),
            _ => None,
        })?;
        let s = &self.sources[&p];
        let mut what = s.what.clone();
        if s.request_object {
            let mut calls: Vec<usize> = origins
                .iter()
                .filter_map(|o| match o {
                    Origin::Call(i) => Some(*i),
                    _ => None,
                })
                .collect();
            calls.sort_unstable();
            if let Some(w) = calls.iter().find_map(|&i| match &self.f.calls[i].callee {
                Callee::Method { name, .. } => self.an.cat.accessors.get(name.as_str()),
                _ => None,
            }) {
                what = w.to_string();
            }
        }
        Some((p, what))
    }

    /// The place an operand names: `data.send_id` in `data.send_id.as_ref()`, looking
    /// through copies and views.
    fn place(&self, op: &Operand) -> Option<Place> {
        let cat = self.an.cat;
        let mut fields = Vec::new();
        let mut op = op;
        for _ in 0..32 {
            match op {
                Operand::Local(n) => {
                    fields.reverse();
                    return Some((n.clone(), fields));
                }
                Operand::Field(b, n) => {
                    fields.push(n.clone());
                    op = b;
                }
                Operand::Call(j) => {
                    let c = &self.f.calls[*j];
                    match &c.callee {
                        Callee::Method { name, .. }
                            if cat.copies.contains(name.as_str()) || name == "as_str" =>
                        {
                            op = c.receiver.as_ref()?;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
        None
    }

    /// The places this fn checks before using them: `x.is_some()`, `parts.len()`,
    /// `check_is_some(data.code.as_ref(), ..)?` (a call named like a validation), plus the
    /// checks a handler made before passing the value to this helper.
    fn guards(&self) -> Vec<(Place, Guard)> {
        let cat = self.an.cat;
        let mut out = self.extra_guards.clone();
        for c in &self.f.calls {
            match &c.callee {
                Callee::Method { name, .. } if cat.guards.contains(name.as_str()) => {
                    let kind = if matches!(name.as_str(), "len" | "is_empty") {
                        Guard::Length
                    } else {
                        Guard::Presence
                    };
                    if let Some(p) = c.receiver.as_ref().and_then(|r| self.place(r)) {
                        out.push((p, kind));
                    }
                }
                _ => {}
            }
            let callee_name = match &c.callee {
                Callee::Method { name, .. } => name.as_str(),
                Callee::Path(segs) => segs.last().map(|s| s.as_str()).unwrap_or(""),
            };
            if cat
                .guard_fn_prefixes
                .iter()
                .any(|pre| callee_name.starts_with(pre.as_str()))
            {
                out.extend(
                    c.args
                        .iter()
                        .filter_map(|a| self.place(a))
                        .map(|p| (p, Guard::Validated)),
                );
            }
        }
        out
    }

    fn guarded(&self, guards: &[(Place, Guard)], op: &Operand, kind: Guard) -> bool {
        let Some(p) = self.place(op) else {
            return false;
        };
        guards
            .iter()
            .any(|(g, k)| *g == p && (*k == kind || *k == Guard::Validated))
    }

    /// The parameters of crate-local helpers that receive request data here.
    fn helper_taints(&self) -> BTreeMap<FnId, BTreeMap<usize, (Source<'c>, HelperCall)>> {
        let model = self.an.model;
        let mut out: BTreeMap<FnId, BTreeMap<usize, (Source<'c>, HelperCall)>> = BTreeMap::new();
        let caller_guards = self.guards();
        for (ci, call) in self.f.calls.iter().enumerate() {
            let CallTarget::Local(callee) = model.call_target(self.id, ci) else {
                continue;
            };
            let callee_facts = model.fn_facts(*callee);
            let is_method = matches!(call.callee, Callee::Method { .. });
            let shift =
                usize::from(!is_method && call.args.len() == callee_facts.param_types.len() + 1);
            for (ai, arg) in call.args.iter().enumerate() {
                let Some(pi) = ai.checked_sub(shift) else {
                    continue;
                };
                let Some(param) = callee_facts.param_types.get(pi) else {
                    continue;
                };
                let Some(&src) = self.tainted_params(arg, ci).first() else {
                    continue;
                };
                let Some((_, what)) = self.derived(arg, ci) else {
                    continue;
                };
                let mut s = self.sources[&src].clone();
                s.what = what;
                // Inside the helper the parameter is a plain value, not the request object.
                if !matches!(arg, Operand::Local(_)) {
                    s.request_object = false;
                }
                let param_name = param.names.first().cloned().unwrap_or_default();
                let guards = match self.place(arg) {
                    Some((root, fields)) => caller_guards
                        .iter()
                        .filter(|((r, fs), _)| *r == root && fs.starts_with(&fields))
                        .map(|((_, fs), k)| ((param_name.clone(), fs[fields.len()..].to_vec()), *k))
                        .collect(),
                    None => Vec::new(),
                };
                out.entry(*callee).or_default().entry(pi).or_insert((
                    s,
                    HelperCall {
                        handler: self.id,
                        range: call.range,
                        param_name,
                        guards,
                    },
                ));
            }
        }
        out
    }

    /// Reports every panic on request data in this fn.
    fn sinks(
        &self,
        cx: &RuleContext<'_>,
        via: Option<&BTreeMap<usize, HelperCall>>,
        out: &mut Vec<Finding>,
    ) {
        let cat = self.an.cat;
        let f = self.f;
        let guards = self.guards();
        let emit =
            |out: &mut Vec<Finding>, p: usize, range: Range, message: String, label: &str| {
                out.push(self.finding(cx, p, range, message, label, via));
            };
        for (ci, call) in f.calls.iter().enumerate() {
            let Callee::Method { name, .. } = &call.callee else {
                continue;
            };
            if !cat.sink_methods.contains(name.as_str()) {
                continue;
            }
            let Some(recv) = &call.receiver else { continue };
            if self.guarded(&guards, recv, Guard::Presence)
                || self.is_raw_path_lookup(recv)
                || self.is_first_split(recv)
            {
                continue;
            }
            let Some((p, what)) = self.derived(recv, ci) else {
                continue;
            };
            let message = match self.described_call(recv) {
                Some(j) => {
                    let inner = &f.calls[j];
                    let keyed = matches!(&inner.callee, Callee::Method { name, .. } if cat.lookups.contains(name.as_str()))
                        && inner
                            .receiver
                            .as_ref()
                            .is_some_and(|r| self.derived(r, j).is_none());
                    if keyed {
                        format!(
                            "`{name}()` on {} keyed by {what} panics when the key is not found",
                            describe_call(inner)
                        )
                    } else {
                        format!(
                            "`{name}()` on {} of {what} panics on bad input",
                            describe_call(inner)
                        )
                    }
                }
                _ => format!("`{name}()` on a value from {what} panics on bad input"),
            };
            emit(
                out,
                p,
                call.range,
                message,
                "panics on malformed or missing input",
            );
        }
        for m in &f.macros {
            let Some(name) = m.path.last() else { continue };
            if !cat.sink_macros.contains(name.as_str()) {
                continue;
            }
            let mut hit = m.args.iter().find_map(|a| self.derived(a, m.after_call));
            if hit.is_none() {
                hit = m
                    .args
                    .iter()
                    .find_map(|a| self.derived_capture(a, m.after_call));
            }
            if hit.is_none() {
                hit = (m.after_call..m.calls_end.min(f.calls.len())).find_map(|ci| {
                    let c = &f.calls[ci];
                    c.receiver
                        .iter()
                        .chain(c.args.iter())
                        .find_map(|o| self.derived(o, ci))
                });
            }
            let Some((p, what)) = hit else { continue };
            let (message, label) = if name.starts_with("assert") {
                (
                    format!("`{name}!` on a value from {what} panics on bad input"),
                    "panics when the client's input fails the assertion",
                )
            } else {
                (
                    format!("`{name}!` on a value from {what} lets the client trigger a panic"),
                    "panics on input the client controls",
                )
            };
            emit(out, p, m.range, message, label);
        }
        for ix in &f.indexes {
            // `&v[..]` is the whole value: it never panics.
            if ix.is_range && matches!(&ix.index, Operand::Tuple(b) if b.is_empty()) {
                continue;
            }
            // A constant index into a fixed-size array never panics at run time: rustc
            // rejects an out-of-bounds one (`page_cursors[0]` on a crate fn's `[T; 5]`).
            if matches!(ix.index, Operand::Lit(_)) && self.is_fixed_array(&ix.base, ix.after_call) {
                continue;
            }
            let base = self.derived(&ix.base, ix.after_call);
            let index = self.derived(&ix.index, ix.after_call);
            if let Some((p, what)) = &base {
                let p = *p;
                let s = &self.sources[&p];
                let guarded = self.guarded(&guards, &ix.base, Guard::Length);
                let by_key = matches!(ix.index, Operand::Str(_));
                if !guarded && !s.json_value && (!by_key || s.map) {
                    let (message, label) = if by_key {
                        (
                            format!(
                                "indexing a map from {what} by key panics when the key is missing"
                            ),
                            "panics when the client leaves this key out",
                        )
                    } else if ix.is_range {
                        (
                            format!("slicing a value from {what} panics when it is shorter than expected"),
                            "panics when the input is too short (or not split on a character boundary)",
                        )
                    } else {
                        (
                            format!("indexing a value from {what} panics when it has fewer elements than expected"),
                            "panics when the input has fewer parts than expected",
                        )
                    };
                    emit(out, p, ix.range, message, label);
                    continue;
                }
            }
            if let Some((p, what)) = index {
                if base.is_none() {
                    emit(
                        out,
                        p,
                        ix.range,
                        format!("indexing with a value from {what} panics when it is out of range"),
                        "panics when the client sends an index out of range",
                    );
                }
            }
        }
    }

    /// `op` is an array literal or the result of a crate fn that returns an array by value.
    fn is_fixed_array(&self, op: &Operand, at: usize) -> bool {
        let mut op = op;
        let mut at = at;
        for _ in 0..32 {
            match op {
                Operand::Local(name) => match self.flow.binding(name, at) {
                    Some(l) => {
                        op = &l.value;
                        at = l.after_call;
                    }
                    None => return false,
                },
                Operand::Array(_) => return true,
                Operand::Call(i) => {
                    return match self.an.model.call_target(self.id, *i) {
                        CallTarget::Local(callee) => self
                            .an
                            .model
                            .fn_facts(*callee)
                            .ret_type
                            .as_ref()
                            .is_some_and(|t| t.last() == "[]" && !t.is_ref),
                        _ => false,
                    }
                }
                _ => return false,
            }
        }
        false
    }

    /// The call worth naming in a message about a panic on `recv`: `parse()` in
    /// `id.parse().unwrap()`, skipping copies (`q.tag.clone()`); none for a plain value or an
    /// earlier `unwrap()`.
    fn described_call(&self, recv: &Operand) -> Option<usize> {
        let cat = self.an.cat;
        let mut op = recv;
        for _ in 0..16 {
            let Operand::Call(j) = op else { return None };
            let Callee::Method { name, .. } = &self.f.calls[*j].callee else {
                return Some(*j);
            };
            if cat.sink_methods.contains(name.as_str()) {
                return None;
            }
            if !cat.copies.contains(name.as_str()) {
                return Some(*j);
            }
            op = self.f.calls[*j].receiver.as_ref()?;
        }
        None
    }

    /// A format string argument's inline captures (`panic!("bad id {id}")`).
    fn derived_capture(&self, op: &'m Operand, at: usize) -> Option<(usize, String)> {
        let Operand::Str(s) = op else { return None };
        for name in format_captures(s) {
            if let Some(l) = self.flow.binding(&name, at) {
                if let Some(hit) = self.derived(&l.value, l.after_call) {
                    return Some(hit);
                }
            } else if let Some(p) = self.flow.param_index(&name) {
                if let Some(s) = self.sources.get(&p) {
                    return Some((p, s.what.clone()));
                }
            }
        }
        None
    }

    fn finding(
        &self,
        cx: &RuleContext<'_>,
        p: usize,
        range: Range,
        message: String,
        label: &str,
        via: Option<&BTreeMap<usize, HelperCall>>,
    ) -> Finding {
        let model = self.an.model;
        let s = &self.sources[&p];
        let mut notes = Vec::new();
        if let Some(call) = via.and_then(|v| v.get(&p)) {
            notes.push(Note {
                message: format!(
                    "`{}` receives request data from the handler `{}`, called here",
                    call.param_name,
                    model.fn_display(call.handler)
                ),
                location: Some((model.fn_path(call.handler).to_path_buf(), call.range)),
            });
        }
        notes.push(Note {
            message: match s.framework {
                Some(fw) => fw.consequence.clone(),
                None => "a panic aborts the request: unless a panic catcher is installed, the connection is closed without a response".into(),
            },
            location: None,
        });
        Finding {
            rule: META.id,
            level: cx.level,
            message,
            path: model.fn_path(self.id).to_path_buf(),
            range,
            label: label.to_string(),
            help: Some(match s.framework {
                Some(fw) => fw.help.clone(),
                None => "return an error response (400) instead: `?` with `map_err`/`ok_or`".into(),
            }),
            notes,
        }
    }
}

/// A struct literal, possibly wrapped in `Ok(..)`/`Some(..)`.
fn is_constructed(f: &FnFacts, op: &Operand) -> bool {
    match op {
        Operand::Struct(..) => true,
        Operand::Call(i) => f.calls.get(*i).is_some_and(|c| {
            matches!(&c.callee, Callee::Path(p) if matches!(p.as_slice(), [one] if one == "Ok" || one == "Some"))
                && c.args.first().is_some_and(|a| matches!(a, Operand::Struct(..)))
        }),
        _ => false,
    }
}

/// Arguments that bring no data of their own: literals, closures, paths to constants.
fn is_inert(op: &Operand) -> bool {
    matches!(
        op,
        Operand::Str(_) | Operand::Lit(_) | Operand::Closure(_) | Operand::Path(_)
    )
}

/// `parse()`, `serde_json::from_str(..)`, for messages.
fn describe_call(call: &CallSite) -> String {
    let args = if call.arg_count == 0 { "" } else { ".." };
    match &call.callee {
        Callee::Method { name, .. } => format!("`{name}({args})`"),
        Callee::Path(segs) => {
            let tail = if segs.len() > 2 {
                &segs[segs.len() - 2..]
            } else {
                &segs[..]
            };
            format!("`{}({args})`", tail.join("::"))
        }
    }
}

/// Names captured inline by a format string: `{id}`, `{id:?}` (not `{}`, `{0}`, `{{`).
fn format_captures(s: &str) -> Vec<crate::facts::Name> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '{' {
            continue;
        }
        if chars.peek().is_some_and(|&(_, n)| n == '{') {
            chars.next();
            continue;
        }
        let rest = &s[i + 1..];
        let end = rest.find(['}', ':']).unwrap_or(rest.len());
        let name = &rest[..end];
        if !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !name.chars().next().is_some_and(|c| c.is_ascii_digit())
        {
            out.push(name.into());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rocket_dynamic_segments() {
        assert_eq!(dynamic_names("/users/<id>/files/<path..>"), ["id", "path"]);
        assert_eq!(dynamic_names("<q>&<page>"), ["q", "page"]);
        assert!(dynamic_names("/static").is_empty());
    }

    #[test]
    fn inline_format_captures() {
        assert_eq!(
            format_captures("bad id {id} ({kind:?}) {} {0} {{x}}"),
            ["id", "kind"]
        );
    }
}
