use std::collections::HashMap;
use std::path::PathBuf;

use crate::catalog::BlockingApi;
use crate::finding::{Finding, Level, Note};
use crate::model::{CallTarget, CrateModel, ExecContext, FnId};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};
use crate::source::Range;

declare_rule! {
    /// ## What it does
    /// Flags calls that block the thread (synchronous file, network and process I/O,
    /// `std::thread::sleep`, sync HTTP and database clients, `block_on`, CPU-heavy password
    /// hashing) in code that runs on the async executor: `async fn`s, `async` blocks and
    /// closures inside them, and sync handlers that a framework calls on the executor
    /// (rocket routes, poem and salvo `#[handler]`s, warp `.map` closures).
    ///
    /// It follows calls into sync helpers of the same crate, across modules and files, and
    /// reports the call in async code with a note pointing at the blocking call inside the
    /// helper. Names are resolved through `use` items, so `fs::read(p).await` with
    /// `use tokio::fs;` is never confused with `std::fs::read`, and a call whose result is
    /// `.await`ed is never the blocking twin.
    ///
    /// Not flagged: closures given to `tokio::task::spawn_blocking`, `block_in_place`,
    /// `actix_web::web::block`, `std::thread::spawn`/`scope`, `rayon::spawn` and the escapes
    /// you configure; start-up code (`main` and what only `main` calls); test code.
    ///
    /// ## Why is this bad?
    /// An async runtime runs many tasks on a few worker threads. A call that blocks one of
    /// them stalls every task scheduled on it: requests queue up, timeouts fire, health
    /// checks fail and the orchestrator kills an instance that is not actually broken.
    /// actix-web runs each worker on a single thread, so one blocking call stops that worker
    /// entirely. The bug does not show in tests or at low load, only in production.
    ///
    /// ## Example
    /// ```rust
    /// async fn show(Path(id): Path<u64>) -> String {
    ///     std::fs::read_to_string(format!("notes/{id}.md")).unwrap()
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// async fn show(Path(id): Path<u64>) -> String {
    ///     tokio::fs::read_to_string(format!("notes/{id}.md")).await.unwrap()
    /// }
    /// ```
    /// or, for work with no async twin, `tokio::task::spawn_blocking(move || ..).await`.
    ///
    /// ## Options
    /// In `stateless-lint.toml` (or `[package.metadata.stateless-lint]`):
    /// ```toml
    /// [blocking-in-async]
    /// # more APIs that block (crate-rooted paths, matched like the built-in catalog)
    /// blocking = ["my_sdk::sync_fetch", { path = "legacy::Db::query", fix = "use `legacy::AsyncDb`" }]
    /// # more functions whose closure arguments run off the executor
    /// escapes = ["my_runtime::offload"]
    /// ```
    /// The built-in catalog is `rules/blocking.toml`.
    ///
    /// ## Known problems
    /// Types are inferred from syntax only: a method call on a value whose type comes from a
    /// crate-local fn's return type or a struct field is not recognised. Calls into other
    /// packages of a workspace are not followed. A blocking call inside a macro the linter
    /// does not know how to read is not seen.
    pub static META = {
        id: "blocking-in-async",
        level: Level::Error,
        summary: "blocking I/O, sleeps, sync clients or `block_on` in code that runs on the async executor",
        since: "0.1.0",
    };
}

pub struct BlockingInAsync;

impl Rule for BlockingInAsync {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    /// blocking-in-async
    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let mut helpers = HelperBlocking::default();
        for id in 0..model.fns.len() {
            if !cx.include_tests && is_test_fn(model, id) {
                continue;
            }
            let f = model.fn_facts(id);
            let path = model.fn_path(id).to_path_buf();
            for (ci, call) in f.calls.iter().enumerate() {
                if call.awaited {
                    continue;
                }
                let ExecContext::Async(why) = model.context(id, call.scope) else {
                    continue;
                };
                if let Some((api, name)) = direct_blocking(model, id, ci) {
                    out.push(direct_finding(cx, &path, call.range, &api, &name, why));
                    continue;
                }
                let CallTarget::Local(callee) = model.call_target(id, ci) else {
                    continue;
                };
                let callee = *callee;
                if model.fn_facts(callee).is_async {
                    continue;
                }
                if let Some(w) = helpers.blocks(model, callee) {
                    out.push(helper_finding(
                        cx, model, &path, call.range, callee, &w, why,
                    ));
                }
            }
        }
    }
}

fn is_test_fn(model: &CrateModel<'_>, id: FnId) -> bool {
    model.fn_facts(id).attrs.is_test || model.file(model.fns[id].file).is_test
}

/// A blocking API called directly at `call`, with a display name.
fn direct_blocking<'m>(
    model: &'m CrateModel<'_>,
    id: FnId,
    call: usize,
) -> Option<(BlockingApi<'m>, String)> {
    let file = model.fns[id].file;
    let imported = |c: &str| model.file_imports_crate(file, c);
    let catalog = model.catalog;
    let mut_ref = model.fn_facts(id).calls[call].first_arg_mut_ref;
    match model.call_target(id, call) {
        CallTarget::Extern(candidates) => candidates
            .iter()
            .find_map(|p| catalog.blocking_fn(p).map(|api| (api, p.join("::")))),
        CallTarget::ExternMethod { ty, name } => catalog
            .blocking_method(Some(ty), name, mut_ref, &imported)
            .map(|api| (api, format!("{}::{name}", ty.join("::")))),
        CallTarget::UnknownMethod { name } => catalog
            .blocking_method(None, name, mut_ref, &imported)
            .map(|api| (api, name.to_string())),
        CallTarget::Local(_) | CallTarget::Unknown => None,
    }
}

/// How a sync helper blocks: the blocking call it (or a helper it calls) makes.
#[derive(Clone, Debug)]
struct Witness {
    what: String,
    api: String,
    fix: String,
    level: Option<Level>,
    path: PathBuf,
    range: Range,
    /// Helpers between the called one and the blocking call.
    via: Vec<FnId>,
}

#[derive(Default)]
struct HelperBlocking {
    /// `None` while a fn is being examined (cycles count as "does not block" on the way).
    memo: HashMap<FnId, Option<Option<Witness>>>,
}

impl HelperBlocking {
    fn blocks(&mut self, model: &CrateModel<'_>, id: FnId) -> Option<Witness> {
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

    fn compute(&mut self, model: &CrateModel<'_>, id: FnId) -> Option<Witness> {
        let f = model.fn_facts(id);
        if f.is_async || f.attrs.is_entry {
            return None;
        }
        for (ci, call) in f.calls.iter().enumerate() {
            if call.awaited || !matches!(model.context(id, call.scope), ExecContext::Sync) {
                continue;
            }
            if let Some((api, name)) = direct_blocking(model, id, ci) {
                return Some(Witness {
                    what: api.what,
                    api: name,
                    fix: api.fix.to_string(),
                    level: api.level,
                    path: model.fn_path(id).to_path_buf(),
                    range: call.range,
                    via: Vec::new(),
                });
            }
            if let CallTarget::Local(callee) = model.call_target(id, ci) {
                let callee = *callee;
                if let Some(mut w) = self.blocks(model, callee) {
                    w.via.insert(0, callee);
                    return Some(w);
                }
            }
        }
        None
    }
}

fn async_note(why: &str) -> Note {
    Note {
        message: format!(
            "this runs on the async executor: {why}; while the call blocks, no other task on this worker thread makes progress"
        ),
        location: None,
    }
}

fn direct_finding(
    cx: &RuleContext<'_>,
    path: &std::path::Path,
    range: Range,
    api: &BlockingApi<'_>,
    name: &str,
    why: &str,
) -> Finding {
    Finding {
        rule: META.id,
        level: cx.level_for(api.level),
        message: format!("blocking call in async code: {}", api.what),
        path: path.to_path_buf(),
        range,
        label: format!("`{}` blocks the executor thread", short(name)),
        help: Some(api.fix.to_string()),
        notes: vec![async_note(why)],
    }
}

fn helper_finding(
    cx: &RuleContext<'_>,
    model: &CrateModel<'_>,
    path: &std::path::Path,
    range: Range,
    helper: FnId,
    w: &Witness,
    why: &str,
) -> Finding {
    let helper_name = model.fn_display(helper);
    let mut notes = vec![Note {
        message: format!("`{}` is called here: {}", short(&w.api), w.what),
        location: Some((w.path.clone(), w.range)),
    }];
    if !w.via.is_empty() {
        let mut chain = vec![format!("`{helper_name}`")];
        chain.extend(w.via.iter().map(|&v| format!("`{}`", model.fn_display(v))));
        chain.push(format!("`{}`", short(&w.api)));
        notes.push(Note {
            message: format!("call path: {}", chain.join(" → ")),
            location: None,
        });
    }
    notes.push(async_note(why));
    Finding {
        rule: META.id,
        level: cx.level_for(w.level),
        message: format!(
            "blocking call in async code: `{helper_name}` blocks the thread (it calls `{}`)",
            short(&w.api)
        ),
        path: path.to_path_buf(),
        range,
        label: "this sync helper blocks the executor thread".into(),
        help: Some(format!(
            "move the call into `tokio::task::spawn_blocking`, or make the helper async: {}",
            w.fix
        )),
        notes,
    }
}

/// `std::fs::read` stays as is; long paths keep their last three segments.
fn short(path: &str) -> String {
    let segs: Vec<&str> = path.split("::").collect();
    if segs.len() <= 3 {
        path.to_string()
    } else {
        segs[segs.len() - 3..].join("::")
    }
}
