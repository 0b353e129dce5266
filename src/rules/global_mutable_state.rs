use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::catalogs::state::StateCatalog;
use crate::facts::{Callee, ScopeKind, StaticFacts, StaticKind};
use crate::finding::{Finding, Level, Note};
use crate::model::{ExecContext, FnId, Resolved};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};
use crate::source::Range;
use crate::statefulness::{self, Holds, Mutable, Root, TypeIndex};

declare_rule! {
    /// ## What it does
    /// Flags process-wide mutable data: `static mut` items, and statics (`static`,
    /// `lazy_static!`, `once_cell`'s `Lazy`/`OnceCell`, `std::sync::LazyLock`/`OnceLock`,
    /// `thread_local!`) that hold a collection or value behind a `Mutex`/`RwLock`/`RefCell`/
    /// `Cell`, a concurrent map or cache (`DashMap`, `moka`), or an atomic used to hand out
    /// IDs, **and** that request-time code writes (`insert`, `push`, `entry`, `write`,
    /// `set`, `fetch_add`, an assignment through a guard...). Also flags functions memoised
    /// in process memory with the `cached` crate (`#[cached]`, `#[once]`, `#[io_cached]`).
    ///
    /// Types are resolved through `use` items, type aliases and crate structs, so a crate's
    /// own type named `Mutex` is not a lock, and `static CACHE: Lazy<AppCache>` is seen
    /// through `struct AppCache { map: Mutex<HashMap<..>> }`.
    ///
    /// Not flagged: statics without interior mutability (config, compiled regexes, clients,
    /// pools, metric registries, templates, constant tables); a `OnceLock`/`OnceCell` set
    /// once (configuration); a lock written only at start-up (`main` and what only `main`
    /// calls); `AtomicBool` flags (ready, shutting down); atomic counters whose new value is
    /// thrown away (`REQUESTS.fetch_add(1, Relaxed);` is a per-process metric, which is what
    /// metric systems expect and sum across replicas); `thread_local!` scratch buffers
    /// (`RefCell<Vec<u8>>`, `RefCell<String>`) and RNGs; `Mutex<()>`; `#[cached(redis = true)]`;
    /// test code.
    ///
    /// Only packages that are web services are checked (they start a server or depend on a
    /// web framework): a library's process-wide registries and ID counters, like tokio's task
    /// ids or `log`'s logger, are not state that diverges across a service's replicas.
    ///
    /// ## Why is this bad?
    /// A stateless service runs as several replicas behind a load balancer, and any of them
    /// can be killed and replaced at any moment. Data kept in a static lives in one process
    /// only: a request that writes it lands on replica A, the next read lands on replica B
    /// and does not see it; a restart or a deploy loses it; two replicas hand out the same
    /// "unique" ID from their own counters. With a single instance in development none of
    /// this shows.
    ///
    /// ## Example
    /// ```rust
    /// static SESSIONS: LazyLock<Mutex<HashMap<String, UserId>>> = LazyLock::new(Default::default);
    /// static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    ///
    /// async fn login(Json(c): Json<Creds>) -> String {
    ///     let token = NEXT_ID.fetch_add(1, Ordering::Relaxed).to_string();
    ///     SESSIONS.lock().unwrap().insert(token.clone(), c.user);
    ///     token
    /// }
    /// ```
    ///
    /// Use instead: keep the data in a store every replica shares, and make IDs unique
    /// without coordination:
    /// ```rust
    /// async fn login(State(app): State<App>, Json(c): Json<Creds>) -> Result<String, Error> {
    ///     let token = uuid::Uuid::new_v4().to_string();
    ///     app.redis.set_ex(&token, c.user, 3600).await?;
    ///     Ok(token)
    /// }
    /// ```
    ///
    /// ## Known problems
    /// A pure performance cache whose entries may differ between replicas is legitimate;
    /// say so with `// stateless-lint: allow(global-mutable-state) per-replica cache of X`.
    /// A lock that only a configuration reload writes looks like state. Writes are found
    /// through guards, `unwrap`s, locals and fields in the same fn; a static handed to a
    /// helper fn that writes it is not followed. Statics declared inside fn bodies are not
    /// seen.
    pub static META = {
        id: "global-mutable-state",
        level: Level::Warning,
        summary: "`static mut`, or a static lock/cell/map/cache/ID counter written at request time: every replica has its own copy",
        since: "0.1.0",
    };
}

pub struct GlobalMutableState;

/// A static whose type holds mutable data.
struct Candidate<'a> {
    file: usize,
    target: usize,
    /// Module path + name, as a local path resolves to it.
    path: Vec<crate::facts::Name>,
    facts: &'a StaticFacts,
    parts: Vec<Mutable>,
}

/// A write to a candidate.
struct Written {
    fn_id: FnId,
    range: Range,
    what: String,
}

impl Rule for GlobalMutableState {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        // A library's process-wide registries and ID counters (tokio's task ids, `log`'s
        // logger) are its own business; replicas only diverge in a service.
        if !crate::request_code::is_web_service(model) {
            return;
        }
        let cat = StateCatalog::builtin();
        let index = TypeIndex::new(model);
        let mut candidates: Vec<Candidate<'_>> = Vec::new();
        for (fi, file) in model.krate.files.iter().enumerate() {
            let target = model.file_target(fi);
            for m in &file.facts.modules {
                for s in &m.statics {
                    if !cx.include_tests && (file.is_test || m.is_test || s.is_test) {
                        continue;
                    }
                    if s.kind == StaticKind::StaticMut {
                        out.push(static_mut_finding(cx, &file.path, s));
                        continue;
                    }
                    let Some(ty) = &s.ty else { continue };
                    let parts = index.mutable_parts(model, cat, target, &m.path, ty);
                    let parts: Vec<Mutable> = parts
                        .into_iter()
                        .filter(|p| s.kind != StaticKind::ThreadLocal || thread_local_state(p))
                        .collect();
                    if parts.is_empty() {
                        continue;
                    }
                    let mut path = m.path.clone();
                    path.push(s.name.clone());
                    candidates.push(Candidate {
                        file: fi,
                        target,
                        path,
                        facts: s,
                        parts,
                    });
                }
            }
        }
        let by_path: BTreeMap<(usize, Vec<crate::facts::Name>), usize> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| ((c.target, c.path.clone()), i))
            .collect();
        let startup_only = startup_only_fns(model);
        let at_startup = |id: FnId, scope: usize| {
            matches!(model.context(id, scope), ExecContext::Startup)
                || (startup_only.contains(&id)
                    && matches!(model.context(id, scope), ExecContext::Sync))
        };
        let mut written: Vec<Vec<Written>> = candidates.iter().map(|_| Vec::new()).collect();
        for id in 0..model.fns.len() {
            let f = model.fn_facts(id);
            if !cx.include_tests && (f.attrs.is_test || model.file(model.fns[id].file).is_test) {
                continue;
            }
            if !by_path.is_empty() {
                let static_of = |segs: &[crate::facts::Name]| -> Option<usize> {
                    model
                        .resolve_in_fn(id, segs)
                        .into_iter()
                        .find_map(|r| match r {
                            Resolved::Local { target, path } => {
                                by_path.get(&(target, path)).copied()
                            }
                            Resolved::Extern(_) => None,
                        })
                };
                for w in statefulness::writes(f, cat) {
                    let Root::Path(p, _) = &w.root else { continue };
                    let Some(c) = static_of(p) else { continue };
                    if at_startup(id, w.scope) {
                        continue;
                    }
                    let cand = &candidates[c];
                    let counts = cand.parts.iter().any(|part| match &part.holds {
                        Holds::Atomic(_) => {
                            cat.is_atomic_write(&w.what)
                                && w.call.is_some_and(|ci| statefulness::result_used(f, ci))
                        }
                        Holds::Locked { .. } | Holds::Concurrent(_) => {
                            w.call.is_none() || cat.is_write(&w.what)
                        }
                        Holds::Broadcast(_) => false,
                    });
                    if counts {
                        written[c].push(Written {
                            fn_id: id,
                            range: w.range,
                            what: w.what.to_string(),
                        });
                    }
                }
                // `LOCAL.with(|m| m.borrow_mut().insert(..))`: writes through the closure's
                // parameter.
                for (ci, call) in f.calls.iter().enumerate() {
                    let Callee::Method { name, .. } = &call.callee else {
                        continue;
                    };
                    if !matches!(name.as_str(), "with" | "with_borrow_mut") {
                        continue;
                    }
                    let Some(recv) = &call.receiver else { continue };
                    let Root::Path(p, _) = statefulness::root_of(f, recv, ci) else {
                        continue;
                    };
                    let Some(c) = static_of(p) else { continue };
                    if candidates[c].facts.kind != StaticKind::ThreadLocal
                        || at_startup(id, call.scope)
                    {
                        continue;
                    }
                    let write = if name == "with_borrow_mut" {
                        Some((call.range, name.clone()))
                    } else {
                        f.calls.iter().find_map(|inner| {
                            let Callee::Method { name, .. } = &inner.callee else {
                                return None;
                            };
                            (cat.is_write(name) && in_closure_of(f, inner.scope, ci))
                                .then(|| (inner.range, name.clone()))
                        })
                    };
                    if let Some((range, what)) = write {
                        written[c].push(Written {
                            fn_id: id,
                            range,
                            what: what.into(),
                        });
                    }
                }
            }
            memo_finding(cx, id, cat, out);
        }
        for (c, ws) in candidates.iter().zip(written) {
            if let Some(first) = ws.first() {
                out.push(state_finding(cx, c, first, ws.len()));
            }
        }
    }
}

/// Sync fns that only start-up code calls (directly or through other such fns), and that
/// are never used as a value (a fn handed to a router or a thread is not start-up code).
fn startup_only_fns(model: &crate::model::CrateModel<'_>) -> std::collections::HashSet<FnId> {
    let n = model.fns.len();
    let mut callers: Vec<Vec<(FnId, usize)>> = vec![Vec::new(); n];
    let mut as_value = vec![false; n];
    for id in 0..n {
        let f = model.fn_facts(id);
        for (ci, c) in f.calls.iter().enumerate() {
            if let crate::model::CallTarget::Local(callee) = model.call_target(id, ci) {
                callers[*callee].push((id, c.scope));
            }
        }
        for r in f.refs.iter().filter(|r| !r.is_local) {
            for res in model.resolve_in_fn(id, &r.path) {
                if let Resolved::Local { target, path } = res {
                    if let Some(callee) = model.local_fn(target, &path) {
                        as_value[callee] = true;
                    }
                }
            }
        }
    }
    let mut out = std::collections::HashSet::new();
    loop {
        let mut changed = false;
        for id in 0..n {
            if out.contains(&id) || as_value[id] || callers[id].is_empty() {
                continue;
            }
            let f = model.fn_facts(id);
            if f.is_async || f.attrs.is_entry || f.attrs.executor_handler.is_some() {
                continue;
            }
            let only_startup = callers[id].iter().all(|&(c, scope)| {
                matches!(model.context(c, scope), ExecContext::Startup)
                    || (out.contains(&c) && matches!(model.context(c, scope), ExecContext::Sync))
            });
            if only_startup {
                out.insert(id);
                changed = true;
            }
        }
        if !changed {
            return out;
        }
    }
}

/// Per-thread data that is state: a map, set or cache, not a scratch buffer.
fn thread_local_state(p: &Mutable) -> bool {
    match &p.holds {
        Holds::Locked {
            data: Some(_),
            buffer_only,
            ..
        } => !buffer_only,
        Holds::Concurrent(_) => true,
        _ => false,
    }
}

/// Scope `scope` is (inside) a closure passed to call `call`.
fn in_closure_of(f: &crate::facts::FnFacts, mut scope: usize, call: usize) -> bool {
    loop {
        let s = &f.scopes[scope];
        if let ScopeKind::Closure {
            arg_of: Some(c), ..
        } = s.kind
        {
            if c == call {
                return true;
            }
        }
        match s.parent {
            Some(p) => scope = p,
            None => return false,
        }
    }
}

const HELP_STORE: &str = "keep this data in a store every replica shares (Postgres, Redis, ...), or pass it in explicitly; if it is a cache that may differ between replicas, say so: `// stateless-lint: allow(global-mutable-state) <why>`";

fn static_mut_finding(cx: &RuleContext<'_>, path: &std::path::Path, s: &StaticFacts) -> Finding {
    Finding {
        rule: META.id,
        level: cx.level,
        message: format!("`static mut {}` is mutable state of this process", s.name),
        path: path.to_path_buf(),
        range: s.range,
        label: "each replica and each restart has its own value".into(),
        help: Some(format!(
            "{HELP_STORE}; a per-process value (a metric) belongs in an atomic or a metrics registry (`static mut` is also unsound under concurrency)"
        )),
        notes: Vec::new(),
    }
}

fn state_finding(
    cx: &RuleContext<'_>,
    c: &Candidate<'_>,
    first: &Written,
    count: usize,
) -> Finding {
    let model = cx.model;
    let part = &c.parts[0];
    let name = &c.facts.name;
    let field = if part.field.is_empty() {
        String::new()
    } else {
        format!(" (field `{}`)", part.field.join("."))
    };
    let (message, label, help) = match &part.holds {
        Holds::Atomic(a) => (
            format!("global counter `{name}` ({a}) hands out values that are unique only within this process"),
            "every replica counts on its own, and a restart starts again".to_string(),
            "generate IDs that are unique across replicas and restarts (UUID/ULID, a database sequence); a counter whose value is only exported as a metric is fine".to_string(),
        ),
        holds => (
            format!("global mutable state: `{name}` keeps {}{field} in process memory", holds.describe()),
            "written at request time: every replica has its own copy, and a restart loses it".to_string(),
            HELP_STORE.to_string(),
        ),
    };
    let mut notes = vec![Note {
        message: format!(
            "written here (`{}` in `{}`){}",
            first.what,
            model.fn_display(first.fn_id),
            if count > 1 {
                format!(
                    ", and in {} more place{}",
                    count - 1,
                    if count == 2 { "" } else { "s" }
                )
            } else {
                String::new()
            }
        ),
        location: Some((model.fn_path(first.fn_id).to_path_buf(), first.range)),
    }];
    if let Some((file, range)) = part.decl {
        notes.push(Note {
            message: format!("the data is declared here: `{}`", part.written),
            location: Some((model.file(file).path.clone(), range)),
        });
    }
    Finding {
        rule: META.id,
        level: cx.level,
        message,
        path: model.file(c.file).path.clone(),
        range: c.facts.range,
        label,
        help: Some(help),
        notes,
    }
}

/// `#[cached]` and friends on fn `id`.
fn memo_finding(cx: &RuleContext<'_>, id: FnId, cat: &StateCatalog, out: &mut Vec<Finding>) {
    let model = cx.model;
    let f = model.fn_facts(id);
    for a in &f.attributes {
        let is_memo = model.resolve_in_fn(id, &a.path).iter().any(|r| match r {
            Resolved::Extern(p) => cat.is_memo_attr(p),
            Resolved::Local { .. } => false,
        });
        if !is_memo || a.named("redis") == Some("true") {
            continue;
        }
        let on_disk = a.named("disk") == Some("true");
        let attr = a.path.join("::");
        out.push(Finding {
            rule: META.id,
            level: cx.level,
            message: if on_disk {
                format!("`#[{attr}(disk = true)]` caches `{}` in a local file", f.name)
            } else {
                format!("`#[{attr}]` caches the results of `{}` in process memory", f.name)
            },
            path: PathBuf::from(model.fn_path(id)),
            range: f.range,
            label: "each replica has its own cache, and a restart empties it".into(),
            help: Some(
                "if the results may differ between replicas for a while, this is fine: say so with `// stateless-lint: allow(global-mutable-state) <why>`; otherwise cache in Redis (`#[io_cached(redis = true, ..)]`) or do not cache".into(),
            ),
            notes: Vec::new(),
        });
    }
}
