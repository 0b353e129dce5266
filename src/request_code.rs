//! "Code that runs per request", shared by the handler-level rules: the handlers of the
//! routes the route model mounts (fns and closures) and the async crate fns they call; when a
//! router or handler cannot be read, async code that is not start-up code, sync handlers a
//! framework runs on the executor and handler closures written inside start-up code; and the
//! sync crate-local helpers they call.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::collections::VecDeque;
use std::path::PathBuf;

use crate::dataflow::Flow;
use crate::facts::ScopeKind;
use crate::finding::Note;
use crate::model::{CallTarget, CrateModel, ExecContext, FnId};
use crate::routes::{Handler, Site};
use crate::source::Range;

/// The code that runs per request, from the route model: the handlers of mounted routes
/// (fns and closures) and the async crate fns they call, transitively. Sync helpers they
/// call are searched with [`HelperSearch`] and reported at the call.
///
/// When the route model cannot see every handler (a server whose router it cannot read, a
/// route whose handler it cannot resolve, a package that depends on a web framework but
/// shows no routes), it falls back to [`request_context`] (async code that is not start-up
/// code) for the whole crate. A package with no routes and no web framework (a CLI, a
/// library of helpers) has no request code.
pub struct RequestCode {
    fallback: bool,
    /// In fallback mode: the fns called or referenced somewhere in the crate (an async fn
    /// nothing uses, like a `#[cfg(windows)]` twin, is dead code, not request code).
    used: HashSet<FnId>,
    /// In fallback mode: fns that build routers or start servers (wiring, not handlers).
    wiring: HashSet<FnId>,
    fns: HashMap<FnId, String>,
    /// Handler closures: (fn, closure scope, why).
    closures: Vec<(FnId, usize, String)>,
}

impl RequestCode {
    pub fn of(model: &CrateModel<'_>) -> RequestCode {
        let table = model.routes();
        let unreadable_service = table.routes.is_empty() && depends_on_web_framework(model);
        let mut out = RequestCode {
            fallback: unreadable_service
                || table.servers.iter().any(|s| !s.router_known)
                || table
                    .routes
                    .iter()
                    .any(|r| matches!(r.handler, Handler::Unknown(_))),
            used: HashSet::new(),
            wiring: HashSet::new(),
            fns: HashMap::new(),
            closures: Vec::new(),
        };
        if out.fallback {
            out.used = crate::routes::used_fns(model).into_iter().collect();
            out.wiring = wiring_fns(model);
            return out;
        }
        let mut queue: VecDeque<FnId> = VecDeque::new();
        for route in &table.routes {
            let what = format!("`{} {}`", route.methods.join("|"), route.path);
            match &route.handler {
                Handler::Fn(id) => {
                    if !out.fns.contains_key(id) {
                        out.fns.insert(
                            *id,
                            format!("`{}` handles {what}", model.fn_facts(*id).name),
                        );
                        queue.push_back(*id);
                    }
                }
                Handler::Closure(site) => {
                    if let Some((id, scope)) = closure_at(model, site) {
                        if !out.closures.iter().any(|c| c.0 == id && c.1 == scope) {
                            out.closures
                                .push((id, scope, format!("this closure handles {what}")));
                        }
                    }
                }
                Handler::Service(_) | Handler::ExternFn(_) | Handler::Unknown(_) => {}
            }
        }
        // Async crate fns called from request code are request code.
        let mut expand: Vec<(FnId, Option<usize>)> = queue.iter().map(|&id| (id, None)).collect();
        expand.extend(out.closures.iter().map(|c| (c.0, Some(c.1))));
        let mut i = 0;
        while i < expand.len() {
            let (id, root) = expand[i];
            i += 1;
            let f = model.fn_facts(id);
            for (ci, call) in f.calls.iter().enumerate() {
                if let Some(r) = root {
                    if !scope_within(model, id, call.scope, r) {
                        continue;
                    }
                }
                if matches!(model.context(id, call.scope), ExecContext::Escaped(_)) {
                    continue;
                }
                let CallTarget::Local(callee) = model.call_target(id, ci) else {
                    continue;
                };
                let callee = *callee;
                if !model.fn_facts(callee).is_async || out.fns.contains_key(&callee) {
                    continue;
                }
                let by = match root {
                    None => format!("`{}`", model.fn_facts(id).name),
                    Some(_) => "a handler closure".to_string(),
                };
                out.fns.insert(
                    callee,
                    format!(
                        "`{}` is called from request code ({by})",
                        model.fn_facts(callee).name
                    ),
                );
                expand.push((callee, None));
            }
        }
        out
    }

    /// Why code in `scope` of fn `id` runs per request, if it does.
    pub fn context(&self, model: &CrateModel<'_>, id: FnId, scope: usize) -> Option<String> {
        if self.fallback {
            // An async fn nothing uses (a `#[cfg(windows)]` twin, a library entry point) is
            // not a handler; like wiring fns, only the handler closures in it count.
            let body_is_async = matches!(model.context(id, 0), ExecContext::Async(_));
            let wiring = self.wiring.contains(&id) || (body_is_async && !self.used.contains(&id));
            return request_context_in(model, id, scope, wiring);
        }
        if matches!(model.context(id, scope), ExecContext::Escaped(_)) {
            return None;
        }
        if let Some(why) = self.fns.get(&id) {
            return Some(why.clone());
        }
        self.closures
            .iter()
            .find(|(f, root, _)| *f == id && scope_within(model, id, scope, *root))
            .map(|(_, _, why)| why.clone())
    }
}

/// The package is a web service: it starts a server the route model sees, or depends on
/// a web framework (`rules/servers.toml` `web_frameworks`).
pub fn is_web_service(model: &CrateModel<'_>) -> bool {
    !model.routes().servers.is_empty() || depends_on_web_framework(model)
}

/// The package depends on a web framework (`rules/servers.toml` `web_frameworks`).
fn depends_on_web_framework(model: &CrateModel<'_>) -> bool {
    let Some(manifest) = &model.krate.manifest else {
        return false;
    };
    let frameworks = &crate::catalogs::servers::ServersCatalog::builtin().web_frameworks;
    ["dependencies"].iter().any(|section| {
        manifest
            .get(*section)
            .and_then(|d| d.as_table())
            .is_some_and(|deps| {
                deps.iter().any(|(name, spec)| {
                    let package = spec.get("package").and_then(|p| p.as_str()).unwrap_or(name);
                    frameworks.iter().any(|f| f == package)
                })
            })
    })
}

/// Fns that start a server or call a router or server constructor
/// (`rules/servers.toml` `wiring`).
fn wiring_fns(model: &CrateModel<'_>) -> HashSet<FnId> {
    let patterns: Vec<crate::catalog::PathPattern> =
        crate::catalogs::servers::ServersCatalog::builtin()
            .wiring
            .iter()
            .map(|p| crate::catalog::PathPattern::parse(p))
            .collect();
    let lasts: HashSet<&str> = patterns.iter().map(|p| p.last()).collect();
    let mut out: HashSet<FnId> = model.routes().servers.iter().map(|s| s.fn_id).collect();
    for id in 0..model.fns.len() {
        let f = model.fn_facts(id);
        let hit = f.calls.iter().enumerate().any(|(ci, c)| {
            let last = match &c.callee {
                crate::facts::Callee::Path(p) => p.last().map(|s| s.as_str()),
                crate::facts::Callee::Method { name, .. } => Some(name.as_str()),
            };
            last.is_some_and(|l| lasts.contains(l))
                && call_paths(model, id, ci)
                    .iter()
                    .any(|p| patterns.iter().any(|pat| pat.matches(p)))
        });
        if hit {
            out.insert(id);
        }
    }
    out
}

/// `scope` is `root` or nested in it.
pub fn scope_within(model: &CrateModel<'_>, id: FnId, scope: usize, root: usize) -> bool {
    let f = model.fn_facts(id);
    let mut cur = Some(scope);
    let mut guard = 0;
    while let Some(c) = cur {
        if c == root {
            return true;
        }
        guard += 1;
        if guard > f.scopes.len() {
            return false;
        }
        cur = f.scopes.get(c).and_then(|s| s.parent);
    }
    false
}

/// The fn and closure scope a route model closure site points at.
fn closure_at(model: &CrateModel<'_>, site: &Site) -> Option<(FnId, usize)> {
    (0..model.fns.len()).find_map(|id| {
        if model.fn_path(id) != site.path {
            return None;
        }
        let f = model.fn_facts(id);
        f.scopes
            .iter()
            .position(|s| s.range == site.range && !matches!(s.kind, ScopeKind::FnBody))
            .map(|s| (id, s))
    })
}

/// Why code in `scope` of fn `id` runs per request, if it does, without the route model.
///
/// Async code counts. In a start-up or sync fn only async code inside a closure counts: a
/// closure given to a router (`get(|| async { .. })`) is a handler, while a bare `async`
/// block there is a spawned task or a shutdown future.
pub fn request_context(model: &CrateModel<'_>, id: FnId, scope: usize) -> Option<String> {
    request_context_in(model, id, scope, false)
}

/// [`request_context`], with the fn body treated as start-up code when `wiring` (a fn that
/// builds routers or starts servers: only the handler closures written in it count).
fn request_context_in(
    model: &CrateModel<'_>,
    id: FnId,
    scope: usize,
    wiring: bool,
) -> Option<String> {
    let ExecContext::Async(why) = model.context(id, scope) else {
        return None;
    };
    let f = model.fn_facts(id);
    let mut cur = Some(scope);
    let mut in_closure = false;
    let mut guard = 0;
    while let Some(s) = cur {
        guard += 1;
        let Some(sc) = f.scopes.get(s) else { break };
        if guard > f.scopes.len() + 1 {
            break;
        }
        match sc.kind {
            ScopeKind::FnBody => {
                return match model.context(id, s) {
                    ExecContext::Async(_) if !wiring => Some(why.to_string()),
                    _ if in_closure => Some(why.to_string()),
                    _ => None,
                };
            }
            ScopeKind::Closure { .. } => in_closure = true,
            ScopeKind::AsyncBlock => {}
        }
        cur = sc.parent;
    }
    Some(why.to_string())
}

/// A site found inside a sync helper, with the helpers between the called one and the site.
#[derive(Clone, Debug)]
pub struct HelperWitness<T> {
    pub site: T,
    pub path: PathBuf,
    pub range: Range,
    pub via: Vec<FnId>,
}

/// Searches sync crate-local helpers (and the sync helpers they call) for a site, memoized;
/// cycles count as "not found" on the way. `direct(fn, out)` returns the first site of a fn
/// in its own sync code.
pub struct HelperSearch<T, F> {
    memo: HashMap<FnId, Option<Option<HelperWitness<T>>>>,
    direct: F,
}

impl<T: Clone, F> HelperSearch<T, F>
where
    F: Fn(FnId) -> Option<(T, Range)>,
{
    pub fn new(direct: F) -> Self {
        HelperSearch {
            memo: HashMap::new(),
            direct,
        }
    }

    /// The first site reachable from a call of sync helper `id`.
    pub fn find(&mut self, model: &CrateModel<'_>, id: FnId) -> Option<HelperWitness<T>> {
        match self.memo.get(&id) {
            Some(Some(w)) => return w.clone(),
            Some(None) => return None,
            None => {}
        }
        self.memo.insert(id, None);
        let result = self.compute(model, id);
        self.memo.insert(id, Some(result.clone()));
        result
    }

    fn compute(&mut self, model: &CrateModel<'_>, id: FnId) -> Option<HelperWitness<T>> {
        let f = model.fn_facts(id);
        if f.is_async || f.attrs.is_entry || f.attrs.is_test {
            return None;
        }
        if let Some((site, range)) = (self.direct)(id) {
            return Some(HelperWitness {
                site,
                path: model.fn_path(id).to_path_buf(),
                range,
                via: Vec::new(),
            });
        }
        for (ci, call) in f.calls.iter().enumerate() {
            if !matches!(model.context(id, call.scope), ExecContext::Sync) {
                continue;
            }
            if let CallTarget::Local(callee) = model.call_target(id, ci) {
                let callee = *callee;
                if let Some(mut w) = self.find(model, callee) {
                    w.via.insert(0, callee);
                    return Some(w);
                }
            }
        }
        None
    }
}

/// The sync crate-local fn a call in request code calls, if any.
pub fn sync_local_callee(model: &CrateModel<'_>, id: FnId, call: usize) -> Option<FnId> {
    match model.call_target(id, call) {
        CallTarget::Local(callee) if !model.fn_facts(*callee).is_async => Some(*callee),
        _ => None,
    }
}

/// "call path: `a` → `b` → `println!`" when the site is deeper than the called helper.
pub fn call_path_note(
    model: &CrateModel<'_>,
    helper: FnId,
    via: &[FnId],
    last: &str,
) -> Option<Note> {
    if via.is_empty() {
        return None;
    }
    let mut chain = vec![format!("`{}`", model.fn_display(helper))];
    chain.extend(via.iter().map(|&v| format!("`{}`", model.fn_display(v))));
    chain.push(format!("`{last}`"));
    Some(Note {
        message: format!("call path: {}", chain.join(" → ")),
        location: None,
    })
}

/// Test code is out of scope unless asked for.
pub fn is_test_fn(model: &CrateModel<'_>, id: FnId) -> bool {
    model.fn_facts(id).attrs.is_test || model.file(model.fns[id].file).is_test
}

/// The targets (by index) in which some module defines an item with this name (a
/// `macro_rules!` among them). Macros are scoped textually; a whole target is close enough.
pub fn targets_defining(model: &CrateModel<'_>, name: &str) -> Vec<usize> {
    let mut out: Vec<usize> = model
        .krate
        .targets
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.files.iter().any(|&fi| {
                model.krate.files[fi]
                    .facts
                    .modules
                    .iter()
                    .any(|m| m.items.iter().any(|i| i == name))
            })
        })
        .map(|(ti, _)| ti)
        .collect();
    out.sort_unstable();
    out
}

/// The paths a call may call, as far as syntax tells: the resolved callee, `Type::method`
/// for a method on a known type, and for a method on an unknown receiver the type of the
/// constructor its chain starts from (`OpenOptions::new().append(true).open(..)` is
/// `std::fs::OpenOptions::open`).
pub fn call_paths(model: &CrateModel<'_>, id: FnId, call: usize) -> Vec<Vec<crate::facts::Name>> {
    match model.call_target(id, call) {
        CallTarget::Extern(c) => c.clone(),
        CallTarget::ExternMethod { ty, name } => {
            let mut p = ty.clone();
            p.push(name.clone());
            vec![p]
        }
        CallTarget::UnknownMethod { name } => chain_root_paths(model, id, call)
            .into_iter()
            .filter(|p| p.len() > 1)
            .map(|mut p| {
                p.pop();
                p.push(name.clone());
                p
            })
            .collect(),
        CallTarget::Local(_) | CallTarget::Unknown => Vec::new(),
    }
}

/// The resolved paths of the call a method chain starts from (`Logger::try_with_str` in
/// `Logger::try_with_str("info")?.log_to_file(..).start()`).
pub fn chain_root_paths(
    model: &CrateModel<'_>,
    id: FnId,
    call: usize,
) -> Vec<Vec<crate::facts::Name>> {
    let f = model.fn_facts(id);
    let chain = Flow::new(f).chain(call);
    let Some(&root) = chain.last() else {
        return Vec::new();
    };
    if root == call {
        return Vec::new();
    }
    match model.call_target(id, root) {
        CallTarget::Extern(c) => c.clone(),
        CallTarget::ExternMethod { ty, name } => {
            let mut p = ty.clone();
            p.push(name.clone());
            vec![p]
        }
        _ => Vec::new(),
    }
}
