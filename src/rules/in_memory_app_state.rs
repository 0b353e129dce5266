use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::catalogs::state::StateCatalog;
use crate::dataflow::{Flow, Origin, Through};
use crate::facts::{Callee, FnFacts, ScopeKind};
use crate::finding::{Finding, Level, Note};
use crate::model::{CallTarget, CrateModel, FnId, Resolved};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};
use crate::source::Range;
use crate::statefulness::{self, Holds, Mutable, Root, TypeIndex};
use crate::summary::TypeName;

declare_rule! {
    /// ## What it does
    /// Flags application state that is an in-process data store: a collection behind a
    /// lock (`Arc<Mutex<HashMap<..>>>`, `Arc<RwLock<Vec<..>>>`, `RwLock<BTreeMap<..>>`), a
    /// concurrent map or cache (`DashMap`, `moka`), or a struct holding one, that handlers
    /// receive as state and write to. State is recognised where handlers extract it: axum
    /// `State<T>`/`Extension<T>`, actix-web `web::Data<T>`, rocket `&State<T>`, poem
    /// `Data<&T>`, salvo `depot.obtain::<T>()`, and parameters of warp handlers (the
    /// framework provides these only for state registered with `with_state`, `Extension`
    /// layers, `app_data`, `manage`, `.data` or `affix_state::inject`). Writes are found
    /// through guards, locals and fields, and one or two calls deep into the crate's own
    /// methods and helpers (`state.store.insert(todo)` where `Store::insert` writes
    /// `self.todos`). The finding is reported at the struct that declares the data (or at
    /// the handler's parameter when the state type is written inline), with the writing
    /// handler as a note.
    ///
    /// Also flagged:
    /// - actix-web state constructed **inside** the `HttpServer::new` closure
    ///   (`web::Data::new(Mutex::new(..))`): the closure runs once per worker thread, so each
    ///   worker has its own copy and the state is inconsistent even on one instance (an
    ///   error);
    /// - a `tokio::sync::broadcast::Sender` in application state that WebSocket or
    ///   server-sent-events handlers `subscribe()` to: a message bus between the clients of
    ///   one process.
    ///
    /// Not flagged: state that holds pools, clients, configuration or templates; a lock
    /// that no handler writes (filled at start-up, read at request time); a broadcast
    /// channel that no WebSocket/SSE code subscribes to, or one named for shutdown
    /// (`shutdown`, `stop`, `cancel`); `web::Data` built outside the `HttpServer::new`
    /// closure; test code.
    ///
    /// ## Why is this bad?
    /// Behind a load balancer each request may land on a different replica. Data that
    /// handlers keep in a map in memory exists only in the replica that received the write:
    /// the next read on another replica misses it, two replicas diverge, and a restart or a
    /// deploy loses everything. Messages sent on an in-process broadcast channel reach only
    /// the clients connected to that replica.
    ///
    /// ## Example
    /// ```rust
    /// #[derive(Clone, Default)]
    /// struct AppState {
    ///     todos: Arc<RwLock<HashMap<u64, Todo>>>,
    /// }
    ///
    /// async fn create(State(state): State<AppState>, Json(todo): Json<Todo>) {
    ///     state.todos.write().unwrap().insert(todo.id, todo);
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// #[derive(Clone)]
    /// struct AppState {
    ///     db: sqlx::PgPool,
    /// }
    ///
    /// async fn create(State(state): State<AppState>, Json(todo): Json<Todo>) -> Result<(), Error> {
    ///     sqlx::query("insert into todos (id, title) values ($1, $2)")
    ///         .bind(todo.id).bind(&todo.title).execute(&state.db).await?;
    ///     Ok(())
    /// }
    /// ```
    /// For fan-out, publish through Redis pub/sub, NATS or Postgres `LISTEN`/`NOTIFY` and
    /// subscribe every replica to it.
    ///
    /// ## Known problems
    /// A pure performance cache in state that may differ between replicas is legitimate;
    /// say so with `// stateless-lint: allow(in-memory-app-state) per-replica cache of X`.
    /// State that reaches handlers other than through the extractors above (a global, a
    /// closure capture outside warp) is not seen. Writes through a helper more than two
    /// calls deep are missed.
    pub static META = {
        id: "in-memory-app-state",
        level: Level::Warning,
        summary: "application state that is an in-process data store written by handlers, actix state built per worker, or a broadcast channel used as a cross-client bus",
        since: "0.1.0",
    };
}

pub struct InMemoryAppState;

/// A write to state, possibly inside a helper a handler calls.
#[derive(Clone, Debug)]
struct StateWrite {
    /// The fn that writes.
    writer: FnId,
    range: Range,
    what: String,
    /// Field path from the state value to the written place.
    fields: Vec<crate::facts::Name>,
}

/// One in-process data store (or broadcast sender) found in state.
struct Group {
    part: Mutable,
    state_ty: String,
    /// The first handler that takes the state, with its parameter's range.
    handler: FnId,
    param: Range,
    writes: Vec<(FnId, StateWrite)>,
    subscribers: Vec<(FnId, Range)>,
}

/// How a write's root is tied to the state value.
type RootMatch<'m> = dyn Fn(&Root<'_>) -> Option<Vec<crate::facts::Name>> + 'm;

/// Deepest chain of crate fns followed from a handler.
const MAX_HELPER_DEPTH: u32 = 2;

impl Rule for InMemoryAppState {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let cat = StateCatalog::builtin();
        let index = TypeIndex::new(model);
        let request = model.request_code();
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for id in 0..model.fns.len() {
            let f = model.fn_facts(id);
            if !cx.include_tests && is_test_fn(model, id) {
                continue;
            }
            per_worker_state(cx, cat, id, out);
            // Handlers of mounted routes and the async fns they call (dead handlers get no
            // findings); start-up code is not request code.
            if request.context(model, id, 0).is_none() {
                continue;
            }
            let target = model.fns[id].target;
            let file = model.fns[id].file;
            let warp = model.file_imports_crate(file, "warp");
            let realtime = is_realtime_fn(model, cat, id);
            // Parameters that carry state.
            let mut entries: Vec<(Box<RootMatch<'_>>, &TypeName, Range)> = Vec::new();
            for (pi, p) in f.param_types.iter().enumerate() {
                let Some(ty) = &p.ty else { continue };
                let state_ty = match extractor_arg(model, cat, id, ty) {
                    Some(inner) => inner,
                    None if warp || (realtime && has_broadcast(model, &index, cat, id, ty)) => ty,
                    None => continue,
                };
                entries.push((
                    Box::new(move |r: &Root<'_>| match r {
                        Root::Param(i, fields) if *i == pi => Some(fields.clone()),
                        _ => None,
                    }),
                    state_ty,
                    p.range,
                ));
            }
            // salvo: `depot.obtain::<T>()`.
            for (ci, call) in f.calls.iter().enumerate() {
                let Callee::Method { name, .. } = &call.callee else {
                    continue;
                };
                if !cat.is_obtain(name) {
                    continue;
                }
                let Some(ty) = call.generics.first() else {
                    continue;
                };
                entries.push((
                    Box::new(move |r: &Root<'_>| match r {
                        Root::Call(i, fields) if *i == ci => Some(fields.clone()),
                        _ => None,
                    }),
                    ty,
                    call.range,
                ));
            }
            if entries.is_empty() {
                continue;
            }
            for (root_match, state_ty, range) in entries {
                let parts: Vec<Mutable> = index
                    .mutable_parts(model, cat, target, &f.module, state_ty)
                    .into_iter()
                    .filter(|p| p.holds.is_data_store() || matches!(p.holds, Holds::Broadcast(_)))
                    .collect();
                if parts.is_empty() {
                    continue;
                }
                let module = f.module.clone();
                let recv_type = |fields: &[crate::facts::Name]| {
                    index.struct_at(model, target, &module, state_ty, fields)
                };
                let writes = find_writes(model, cat, id, &*root_match, &recv_type, 0);
                let subscribes = if realtime {
                    subscriptions(f, &*root_match)
                } else {
                    Vec::new()
                };
                for part in parts {
                    let key = format!(
                        "{:?}|{}|{}",
                        part.decl,
                        if part.decl.is_some() {
                            String::new()
                        } else {
                            state_ty.display()
                        },
                        part.field.join(".")
                    );
                    let (hits, subs): (Vec<StateWrite>, Vec<Range>) = match part.holds {
                        Holds::Broadcast(_) => {
                            let name = part.field.last().map(|s| s.as_str()).unwrap_or("");
                            let signal = ["shutdown", "stop", "cancel", "quit", "terminate"]
                                .iter()
                                .any(|s| name.to_lowercase().contains(s));
                            let subs = subscribes
                                .iter()
                                .filter(|(fields, _)| !signal && *fields == part.field)
                                .map(|(_, r)| *r)
                                .collect();
                            (Vec::new(), subs)
                        }
                        _ => (
                            writes
                                .iter()
                                .filter(|w| w.fields.starts_with(&part.field))
                                .cloned()
                                .collect(),
                            Vec::new(),
                        ),
                    };
                    if hits.is_empty() && subs.is_empty() {
                        continue;
                    }
                    let g = groups.entry(key).or_insert_with(|| Group {
                        part: part.clone(),
                        state_ty: state_ty.display(),
                        handler: id,
                        param: range,
                        writes: Vec::new(),
                        subscribers: Vec::new(),
                    });
                    g.writes.extend(hits.into_iter().map(|w| (id, w)));
                    g.subscribers.extend(subs.into_iter().map(|r| (id, r)));
                }
            }
        }
        for g in groups.values() {
            out.push(group_finding(cx, g));
        }
    }
}

fn is_test_fn(model: &CrateModel<'_>, id: FnId) -> bool {
    model.fn_facts(id).attrs.is_test || model.file(model.fns[id].file).is_test
}

/// The state type inside a framework extractor (`State<AppState>` → `AppState`).
fn extractor_arg<'t>(
    model: &CrateModel<'_>,
    cat: &StateCatalog,
    id: FnId,
    ty: &'t TypeName,
) -> Option<&'t TypeName> {
    let is_extractor = model.resolve_in_fn(id, &ty.path).iter().any(|r| match r {
        Resolved::Extern(p) => cat.is_extractor(p),
        Resolved::Local { .. } => false,
    });
    if is_extractor {
        ty.args.first()
    } else {
        None
    }
}

/// A parameter type that holds a broadcast sender (the state of a WebSocket helper fn).
fn has_broadcast(
    model: &CrateModel<'_>,
    index: &TypeIndex<'_>,
    cat: &StateCatalog,
    id: FnId,
    ty: &TypeName,
) -> bool {
    let f = model.fn_facts(id);
    index
        .mutable_parts(model, cat, model.fns[id].target, &f.module, ty)
        .iter()
        .any(|p| matches!(p.holds, Holds::Broadcast(_)))
}

/// A fn that serves a WebSocket or server-sent events: a parameter or the return type
/// names one of the catalog's real-time types.
fn is_realtime_fn(model: &CrateModel<'_>, cat: &StateCatalog, id: FnId) -> bool {
    let f = model.fn_facts(id);
    let types = f
        .param_types
        .iter()
        .filter_map(|p| p.ty.as_ref())
        .chain(f.ret_type.as_ref());
    for ty in types {
        for t in ty.walk() {
            if t.path.is_empty() {
                continue;
            }
            let hit = model.resolve_in_fn(id, &t.path).iter().any(|r| match r {
                Resolved::Extern(p) => cat.is_realtime(p),
                Resolved::Local { .. } => false,
            });
            if hit {
                return true;
            }
        }
    }
    false
}

/// `state.tx.subscribe()` calls: the field path and where.
fn subscriptions(f: &FnFacts, root_match: &RootMatch<'_>) -> Vec<(Vec<crate::facts::Name>, Range)> {
    let mut out = Vec::new();
    for (i, c) in f.calls.iter().enumerate() {
        let Callee::Method { name, .. } = &c.callee else {
            continue;
        };
        if name != "subscribe" {
            continue;
        }
        let Some(recv) = &c.receiver else { continue };
        if let Some(fields) = root_match(&statefulness::root_of(f, recv, i)) {
            out.push((fields, c.range));
        }
    }
    out
}

/// The crate struct (target, name) at a field path of the state, when the facts could not
/// type the receiver (a destructured extractor: `State(state): State<AppState>`).
type RecvType<'m> = dyn Fn(&[crate::facts::Name]) -> Option<(usize, crate::facts::Name)> + 'm;

/// What call `ci` of fn `id` calls in the crate: resolved by the model, or as a method of
/// the crate struct the receiver is (through `recv_type`).
fn local_callee(
    model: &CrateModel<'_>,
    id: FnId,
    ci: usize,
    base: Option<&[crate::facts::Name]>,
    recv_type: &RecvType<'_>,
) -> Option<FnId> {
    if let CallTarget::Local(callee) = model.call_target(id, ci) {
        return Some(*callee);
    }
    let Callee::Method { name, .. } = &model.fn_facts(id).calls[ci].callee else {
        return None;
    };
    let (t, ty) = recv_type(base?)?;
    model.local_fn(t, &[ty, name.clone()])
}

/// Writes to the state in fn `id` and in the crate fns it hands the state to.
fn find_writes(
    model: &CrateModel<'_>,
    cat: &StateCatalog,
    id: FnId,
    root_match: &RootMatch<'_>,
    recv_type: &RecvType<'_>,
    depth: u32,
) -> Vec<StateWrite> {
    let f = model.fn_facts(id);
    let mut out = Vec::new();
    for w in statefulness::writes(f, cat) {
        let Some(fields) = root_match(&w.root) else {
            continue;
        };
        if w.call
            .is_some_and(|ci| local_callee(model, id, ci, Some(&fields), recv_type).is_some())
        {
            continue;
        }
        out.push(StateWrite {
            writer: id,
            range: w.range,
            what: w.what.to_string(),
            fields,
        });
    }
    if depth >= MAX_HELPER_DEPTH {
        return out;
    }
    let untyped = |_: &[crate::facts::Name]| None;
    for (ci, call) in f.calls.iter().enumerate() {
        let recv_base = call
            .receiver
            .as_ref()
            .and_then(|recv| root_match(&statefulness::root_of(f, recv, ci)));
        let Some(callee) = local_callee(model, id, ci, recv_base.as_deref(), recv_type) else {
            continue;
        };
        if callee == id {
            continue;
        }
        if let Some(base) = recv_base {
            let inner = move |r: &Root<'_>| match r {
                Root::SelfValue(fields) => Some(joined(&base, fields)),
                _ => None,
            };
            out.extend(find_writes(model, cat, callee, &inner, &untyped, depth + 1));
        }
        for (k, arg) in call.args.iter().enumerate() {
            if let Some(base) = root_match(&statefulness::root_of(f, arg, ci)) {
                let inner = move |r: &Root<'_>| match r {
                    Root::Param(i, fields) if *i == k => Some(joined(&base, fields)),
                    _ => None,
                };
                out.extend(find_writes(model, cat, callee, &inner, &untyped, depth + 1));
            }
        }
    }
    out
}

fn joined(a: &[crate::facts::Name], b: &[crate::facts::Name]) -> Vec<crate::facts::Name> {
    let mut v = a.to_vec();
    v.extend(b.iter().cloned());
    v
}

const HELP_STORE: &str = "keep the data in a database or cache that every replica shares (Postgres, Redis, ...) and put its pool or client in the state instead; if this is a cache that may differ between replicas, say so: `// stateless-lint: allow(in-memory-app-state) <why>`";

fn group_finding(cx: &RuleContext<'_>, g: &Group) -> Finding {
    let model = cx.model;
    let field = if g.part.field.is_empty() {
        String::new()
    } else {
        format!(" in field `{}`", g.part.field.join("."))
    };
    let (path, range) = match g.part.decl {
        Some((file, range)) => (model.file(file).path.clone(), range),
        None => (model.fn_path(g.handler).to_path_buf(), g.param),
    };
    let mut notes = Vec::new();
    if g.part.decl.is_some() {
        notes.push(Note {
            message: format!(
                "handlers receive it as state here (`{}` in `{}`)",
                g.state_ty,
                model.fn_display(g.handler)
            ),
            location: Some((model.fn_path(g.handler).to_path_buf(), g.param)),
        });
    }
    if let Holds::Broadcast(b) = &g.part.holds {
        let (sub_fn, sub_range) = g.subscribers[0];
        notes.push(Note {
            message: format!(
                "WebSocket/SSE code subscribes to it here (`{}`)",
                model.fn_display(sub_fn)
            ),
            location: Some((model.fn_path(sub_fn).to_path_buf(), sub_range)),
        });
        return Finding {
            rule: META.id,
            level: cx.level,
            message: format!(
                "application state `{}` holds a broadcast `{b}`{field} that WebSocket/SSE clients subscribe to: a message bus inside one process",
                g.state_ty
            ),
            path,
            range,
            label: "clients connected to another replica never receive these messages".into(),
            help: Some("publish through a bus every replica subscribes to (Redis pub/sub, NATS, Postgres LISTEN/NOTIFY), or pin clients to one replica with sticky sessions".into()),
            notes,
        };
    }
    // Prefer the write of the data (`insert`) over taking the write guard (`write`).
    let (handler, w) = g
        .writes
        .iter()
        .find(|(_, w)| {
            !matches!(
                w.what.as_str(),
                "write" | "try_write" | "write_owned" | "borrow_mut"
            )
        })
        .unwrap_or(&g.writes[0]);
    let via = if w.writer == *handler {
        String::new()
    } else {
        format!(" in `{}`", model.fn_display(w.writer))
    };
    notes.push(Note {
        message: format!(
            "written by handler `{}` (`{}`{via})",
            model.fn_display(*handler),
            w.what
        ),
        location: Some((model.fn_path(w.writer).to_path_buf(), w.range)),
    });
    let mut others: Vec<String> = Vec::new();
    for (h, _) in &g.writes {
        let name = format!("`{}`", model.fn_display(*h));
        if *h != *handler && !others.contains(&name) {
            others.push(name);
        }
    }
    if !others.is_empty() {
        notes.push(Note {
            message: format!("also written by {}", others.join(", ")),
            location: None,
        });
    }
    Finding {
        rule: META.id,
        level: cx.level,
        message: format!(
            "application state `{}` keeps {}{field} in process memory, and handlers write to it",
            g.state_ty,
            g.part.holds.describe()
        ),
        path,
        range,
        label: format!(
            "`{}` is an in-process data store: each replica has its own copy, and a restart loses it",
            g.part.written
        ),
        help: Some(HELP_STORE.into()),
        notes,
    }
}

/// actix-web: `web::Data::new(Mutex::new(..))` (or `.app_data(Mutex::new(..))`) inside the
/// `HttpServer::new` closure.
fn per_worker_state(cx: &RuleContext<'_>, cat: &StateCatalog, id: FnId, out: &mut Vec<Finding>) {
    let model = cx.model;
    let f = model.fn_facts(id);
    let flow = Flow::new(f);
    for (ci, call) in f.calls.iter().enumerate() {
        let is_wrapper = match model.call_target(id, ci) {
            CallTarget::Extern(ps) => ps.iter().any(|p| cat.is_state_wrapper(p)),
            _ => false,
        };
        let is_registration =
            matches!(&call.callee, Callee::Method { name, .. } if cat.is_registration(name));
        if !(is_wrapper || is_registration) {
            continue;
        }
        let Some(server) = server_closure(model, cat, id, call.scope) else {
            continue;
        };
        let Some(arg) = call.args.first() else {
            continue;
        };
        let origins = flow.origins(arg, ci, &|_, _| Through::Nothing);
        let mut mutable = None;
        for o in &origins {
            let Origin::Call(k) = o else { continue };
            let CallTarget::Extern(ps) = model.call_target(id, *k) else {
                continue;
            };
            if is_registration && ps.iter().any(|p| cat.is_state_wrapper(p)) {
                // Reported at the `Data::new` call itself.
                mutable = None;
                break;
            }
            let ctor = ps.iter().find_map(|p| {
                let (_, ty) = p.split_last()?;
                let info = cat.type_info(ty)?;
                use crate::catalogs::state::TypeKind::*;
                matches!(info.kind, Lock | Concurrent | Atomic | Collection)
                    .then(|| (ty.last().cloned().unwrap_or_default(), info.kind))
            });
            if let Some((name, kind)) = ctor {
                if kind != crate::catalogs::state::TypeKind::Collection {
                    mutable.get_or_insert((*k, name));
                }
            }
        }
        let Some((k, ty)) = mutable else { continue };
        let path: PathBuf = model.fn_path(id).to_path_buf();
        out.push(Finding {
            rule: META.id,
            level: cx.level_for(Some(Level::Error)),
            message: format!(
                "state with a `{ty}` is built inside the `HttpServer::new` closure, which runs once per worker thread"
            ),
            path: path.clone(),
            range: call.range,
            label: "each worker gets its own copy: requests see different values even on one instance".into(),
            help: Some("build the `web::Data` once before `HttpServer::new` and move a clone into the closure (`.app_data(data.clone())`); better, keep the data in a shared store".into()),
            notes: vec![
                Note {
                    message: format!("the `{ty}` is created here"),
                    location: Some((path.clone(), f.calls[k].range)),
                },
                Note {
                    message: "the closure given to `HttpServer::new` starts here".into(),
                    location: Some((path, f.calls[server].range)),
                },
            ],
        });
    }
}

/// The `HttpServer::new` call whose closure scope `scope` is in, if any.
fn server_closure(
    model: &CrateModel<'_>,
    cat: &StateCatalog,
    id: FnId,
    mut scope: usize,
) -> Option<usize> {
    let f = model.fn_facts(id);
    loop {
        let s = &f.scopes[scope];
        if let ScopeKind::Closure {
            arg_of: Some(c), ..
        } = s.kind
        {
            if let CallTarget::Extern(ps) = model.call_target(id, c) {
                if ps.iter().any(|p| cat.is_per_worker_server(p)) {
                    return Some(c);
                }
            }
        }
        scope = s.parent?;
    }
}
