//! "Code that runs per request", shared by the production-practice rules until the route
//! model can name each mounted handler: async code that is not start-up code, sync handlers
//! a framework runs on the executor, handler closures written inside start-up code, and the
//! sync crate-local helpers they call.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::dataflow::Flow;
use crate::facts::ScopeKind;
use crate::finding::Note;
use crate::model::{CallTarget, CrateModel, ExecContext, FnId};
use crate::source::Range;

/// Why code in `scope` of fn `id` runs per request, if it does.
///
/// Async code counts. In a start-up or sync fn only async code inside a closure counts: a
/// closure given to a router (`get(|| async { .. })`) is a handler, while a bare `async`
/// block there is a spawned task or a shutdown future.
pub fn request_context(model: &CrateModel<'_>, id: FnId, scope: usize) -> Option<String> {
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
                    ExecContext::Async(_) => Some(why.clone()),
                    _ if in_closure => Some(why.clone()),
                    _ => None,
                };
            }
            ScopeKind::Closure { .. } => in_closure = true,
            ScopeKind::AsyncBlock => {}
        }
        cur = sc.parent;
    }
    Some(why.clone())
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
pub fn call_paths(model: &CrateModel<'_>, id: FnId, call: usize) -> Vec<Vec<String>> {
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
pub fn chain_root_paths(model: &CrateModel<'_>, id: FnId, call: usize) -> Vec<Vec<String>> {
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
