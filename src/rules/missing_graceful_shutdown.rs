use crate::catalogs::servers::{PathEntry, ServersCatalog};
use crate::dataflow::{Flow, Origin, Through};
use crate::facts::{Callee, ScopeKind};
use crate::finding::{Finding, Level, Note};
use crate::model::{CallTarget, CrateModel, FnId, Resolved};
use crate::request_code::{call_paths, is_test_fn};
use crate::routes::{Framework, Server};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};
use crate::source::Range;
use crate::summary::Operand;
use std::collections::HashMap;
use std::path::PathBuf;

declare_rule! {
    /// ## What it does
    /// Flags HTTP servers that do not drain in-flight requests on SIGTERM:
    /// - an axum (`axum::serve`, `Server::bind(..).serve(..)`), warp, poem or salvo server
    ///   started without a shutdown future (`with_graceful_shutdown`,
    ///   `bind_with_graceful_shutdown`, `.graceful(..)`, `run_with_graceful_shutdown`, salvo
    ///   `handle.stop_graceful(..)`);
    /// - a shutdown future that awaits only `tokio::signal::ctrl_c()` (SIGINT) and never
    ///   `tokio::signal::unix::signal(SignalKind::terminate())`, directly or through crate
    ///   fns;
    /// - actix-web's `.disable_signals()` with no `.shutdown_signal(..)` that awaits SIGTERM
    ///   and no `handle.stop(..)` wired to SIGTERM.
    ///
    /// The shutdown future is followed into crate fns (`shutdown_signal()` in another module)
    /// and `async` blocks. A future the linter cannot read (a channel, a cancellation token)
    /// counts as graceful when the crate handles SIGTERM somewhere.
    ///
    /// Not flagged: rocket and actix-web with their defaults (both drain on SIGTERM), servers
    /// bound only to a loopback address (an internal admin or metrics listener), test code.
    ///
    /// ## Why is this bad?
    /// Kubernetes, ECS, Nomad and `docker stop` end a replica by sending SIGTERM, waiting a
    /// grace period, then sending SIGKILL. A server without a SIGTERM handler dies at once
    /// and cuts every in-flight request; as PID 1 in a container it ignores SIGTERM and is
    /// killed only after the whole grace period. Every deploy and every scale-down then
    /// shows up as failed requests. Ctrl-C sends SIGINT, so a handler for `ctrl_c()` alone
    /// works on a laptop and never in production.
    ///
    /// ## Example
    /// ```rust
    /// axum::serve(listener, app)
    ///     .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap() })
    ///     .await?;
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// async fn shutdown_signal() {
    ///     let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    ///     tokio::select! {
    ///         _ = term.recv() => {}
    ///         _ = tokio::signal::ctrl_c() => {}
    ///     }
    /// }
    /// axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    /// ```
    ///
    /// ## Known problems
    /// Servers the route model does not recognise (`axum_server`, hand-written hyper 1
    /// accept loops with `hyper_util::server::graceful`) are not checked. A shutdown future
    /// built in another package of a workspace is not read. Rocket's `[shutdown]` settings
    /// in `Rocket.toml` are not read.
    pub static META = {
        id: "missing-graceful-shutdown",
        level: Level::Warning,
        summary: "an HTTP server that does not drain in-flight requests on SIGTERM",
        since: "0.1.0",
    };
}

fn any_match(entries: &[PathEntry], paths: &[Vec<crate::facts::Name>]) -> bool {
    entries
        .iter()
        .any(|e| paths.iter().any(|p| e.path.matches(p)))
}

type Loc = (PathBuf, Range);

/// What a shutdown future (or a fn) waits for, as far as the linter can read it.
#[derive(Clone, Debug, Default)]
struct Signals {
    term: Option<Loc>,
    ctrl_c: Option<Loc>,
    /// It awaits something else the linter cannot read (a channel, a token, another crate).
    opaque: bool,
}

impl Signals {
    fn merge(&mut self, other: &Signals) {
        if self.term.is_none() {
            self.term.clone_from(&other.term);
        }
        if self.ctrl_c.is_none() {
            self.ctrl_c.clone_from(&other.ctrl_c);
        }
        self.opaque |= other.opaque;
    }

    fn opaque() -> Signals {
        Signals {
            opaque: true,
            ..Signals::default()
        }
    }
}

struct Reader<'m, 'a> {
    model: &'m CrateModel<'a>,
    catalog: &'static ServersCatalog,
    /// `None` while a fn is being read (a cycle reads as nothing).
    memo: HashMap<FnId, Option<Signals>>,
}

impl Reader<'_, '_> {
    fn fn_signals(&mut self, id: FnId) -> Signals {
        match self.memo.get(&id) {
            Some(Some(s)) => return s.clone(),
            Some(None) => return Signals::default(),
            None => {}
        }
        self.memo.insert(id, None);
        let s = self.scope_signals(id, 0);
        self.memo.insert(id, Some(s.clone()));
        s
    }

    /// Signals awaited by the code of `root` and the scopes nested in it.
    fn scope_signals(&mut self, id: FnId, root: usize) -> Signals {
        let f = self.model.fn_facts(id);
        let inside: Vec<bool> = (0..f.scopes.len())
            .map(|sc| crate::request_code::scope_within(self.model, id, sc, root))
            .collect();
        let mut out = Signals::default();
        for (ci, call) in f.calls.iter().enumerate() {
            if inside.get(call.scope).copied().unwrap_or(false) {
                let s = self.call_signals(id, ci);
                out.merge(&s);
            }
        }
        if root == 0 && out.term.is_none() && f.consts.iter().any(|c| self.is_sigterm_const(c)) {
            out.term = Some((self.model.fn_path(id).to_path_buf(), f.range));
        }
        out
    }

    fn is_sigterm_const(&self, path: &[crate::facts::Name]) -> bool {
        path.last()
            .is_some_and(|l| self.catalog.sigterm_consts.iter().any(|c| c == l))
    }

    fn call_signals(&mut self, id: FnId, ci: usize) -> Signals {
        let model = self.model;
        let f = model.fn_facts(id);
        let call = &f.calls[ci];
        let loc = || (model.fn_path(id).to_path_buf(), call.range);
        let paths = call_paths(model, id, ci);
        let mut out = Signals::default();
        if any_match(&self.catalog.sigterm, &paths) {
            out.term = Some(loc());
            return out;
        }
        if call.args.iter().any(|a| match a {
            Operand::Path(p) => self.is_sigterm_const(p),
            _ => false,
        }) {
            out.term = Some(loc());
            return out;
        }
        if any_match(&self.catalog.ctrl_c, &paths) {
            out.ctrl_c = Some(loc());
            return out;
        }
        if let CallTarget::Local(callee) = model.call_target(id, ci) {
            return self.fn_signals(*callee);
        }
        out.opaque = call.awaited;
        out
    }

    /// What the future passed as argument `arg` of call `ci` waits for.
    fn future_signals(&mut self, id: FnId, ci: usize, arg: usize) -> Signals {
        let f = self.model.fn_facts(id);
        let call = &f.calls[ci];
        let Some(op) = call.args.get(arg) else {
            return Signals::opaque();
        };
        // An `async { .. }` argument, or a local bound to one.
        let block = match op {
            Operand::Other => async_block_at(f, call.scope, call.range, ci),
            Operand::Local(name) => Flow::new(f)
                .binding(name, ci)
                .filter(|l| l.value == Operand::Other)
                .and_then(|l| async_block_at(f, l.scope, l.range, l.after_call)),
            _ => None,
        };
        if let Some(scope) = block {
            return self.scope_signals(id, scope);
        }
        let flow = Flow::new(f);
        let through = |_: usize, c: &crate::facts::CallSite| match c.callee {
            Callee::Method { .. } => Through::Receiver,
            Callee::Path(_) => Through::Nothing,
        };
        let mut out = Signals::default();
        for o in flow.origins(op, ci, &through) {
            match o {
                // A method on a future (`.map(..)`) is read through its receiver too.
                Origin::Call(i) => {
                    let s = self.call_signals(id, i);
                    out.merge(&s);
                }
                Origin::Closure(s) => {
                    let s = self.scope_signals(id, s);
                    out.merge(&s);
                }
                _ => out.opaque = true,
            }
        }
        if out.term.is_none() && out.ctrl_c.is_none() {
            out.opaque = true;
        }
        out
    }
}

/// The `async` block written right after `range` (an argument, a `let`'s pattern) in
/// `scope`: the nearest one starting there with no call in between.
fn async_block_at(
    f: &crate::facts::FnFacts,
    scope: usize,
    range: Range,
    first_call: usize,
) -> Option<usize> {
    let (i, s) = f
        .scopes
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            matches!(s.kind, ScopeKind::AsyncBlock)
                && s.parent == Some(scope)
                && s.range.start >= range.end
        })
        .min_by_key(|(_, s)| s.range.start)?;
    let between =
        f.calls.iter().skip(first_call + 1).any(|c| {
            c.scope == scope && c.range.start >= range.end && c.range.start < s.range.start
        });
    (!between).then_some(i)
}

pub struct MissingGracefulShutdown;

impl Rule for MissingGracefulShutdown {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let catalog = ServersCatalog::builtin();
        let mut reader = Reader {
            model,
            catalog,
            memo: HashMap::new(),
        };
        let live = |id: FnId| cx.include_tests || !is_test_fn(model, id);
        // Targets (a binary, the library) that install a SIGTERM handler somewhere.
        let mut sigterm_targets: Vec<usize> = (0..model.fns.len())
            .filter(|&id| live(id) && has_direct_sigterm(model, catalog, id))
            .map(|id| model.fns[id].target)
            .collect();
        sigterm_targets.sort_unstable();
        sigterm_targets.dedup();
        // Fns of a target that call a method of this name.
        let method_calls =
            |target: usize, name: &str| -> Vec<FnId> {
                (0..model.fns.len())
                    .filter(|&id| live(id) && model.fns[id].target == target)
                    .filter(|&id| {
                        model.fn_facts(id).calls.iter().any(
                            |c| matches!(&c.callee, Callee::Method { name: n, .. } if n == name),
                        )
                    })
                    .collect()
            };
        for server in &model.routes().servers {
            if !live(server.fn_id) || server.is_loopback() {
                continue;
            }
            let target = model.fns[server.fn_id].target;
            let crate_handles_sigterm = sigterm_targets.binary_search(&target).is_ok();
            let finding = match server.framework {
                Framework::Rocket => None,
                Framework::ActixWeb => {
                    let stoppers = method_calls(target, "stop");
                    actix(cx, &mut reader, server, crate_handles_sigterm, &stoppers)
                }
                Framework::Salvo => {
                    let stoppers = method_calls(target, "stop_graceful");
                    if stoppers.is_empty() {
                        Some(missing(cx, catalog, server))
                    } else if crate_handles_sigterm
                        || stoppers
                            .iter()
                            .any(|&id| reader.fn_signals(id).term.is_some())
                    {
                        None
                    } else {
                        Some(not_sigterm(
                            cx,
                            catalog,
                            server,
                            &server.site,
                            &Signals::default(),
                        ))
                    }
                }
                Framework::Axum | Framework::Warp | Framework::Poem => {
                    with_future(cx, &mut reader, server, crate_handles_sigterm)
                }
            };
            out.extend(finding);
        }
    }
}

fn has_direct_sigterm(model: &CrateModel<'_>, catalog: &ServersCatalog, id: FnId) -> bool {
    let f = model.fn_facts(id);
    let term_lasts: Vec<&str> = catalog.sigterm.iter().map(|e| e.path.last()).collect();
    let is_const = |p: &[crate::facts::Name]| {
        p.last()
            .is_some_and(|l| catalog.sigterm_consts.iter().any(|c| c == l))
    };
    if f.consts.iter().any(|c| is_const(c)) {
        return true;
    }
    f.calls.iter().enumerate().any(|(ci, c)| {
        let last = match &c.callee {
            Callee::Path(p) => p.last().map(|s| s.as_str()),
            Callee::Method { name, .. } => Some(name.as_str()),
        };
        let named = last.is_some_and(|l| term_lasts.contains(&l))
            && any_match(&catalog.sigterm, &call_paths(model, id, ci));
        named
            || c.args.iter().any(|a| match a {
                Operand::Path(p) => {
                    is_const(p)
                        && model
                            .resolve_in_fn(id, p)
                            .iter()
                            .all(|r| matches!(r, Resolved::Extern(_)))
                }
                _ => false,
            })
    })
}

/// The server's start call and the method calls applied to it, in order.
fn server_calls(model: &CrateModel<'_>, server: &Server) -> Vec<usize> {
    let id = server.fn_id;
    let mut calls: Vec<usize> = call_at(model, id, server.site.range).into_iter().collect();
    for (_, site) in &server.methods {
        calls.extend(call_at(model, id, site.range));
    }
    if let Some(&start) = calls.first() {
        calls.extend(crate::dataflow::Flow::new(model.fn_facts(id)).outer_chain(start));
    }
    let mut seen = std::collections::HashSet::new();
    calls.retain(|c| seen.insert(*c));
    calls
}

/// The call of a server's method (or its start call) at `site`.
fn call_at(model: &CrateModel<'_>, id: FnId, range: Range) -> Option<usize> {
    model
        .fn_facts(id)
        .calls
        .iter()
        .position(|c| c.range == range)
}

fn method_name<'a>(model: &CrateModel<'a>, id: FnId, ci: usize) -> Option<&'a str> {
    match &model.fn_facts(id).calls[ci].callee {
        Callee::Method { name, .. } => Some(name.as_str()),
        Callee::Path(p) => p.last().map(|s| s.as_str()),
    }
}

fn with_future(
    cx: &RuleContext<'_>,
    reader: &mut Reader<'_, '_>,
    server: &Server,
    crate_handles_sigterm: bool,
) -> Option<Finding> {
    let model = reader.model;
    let catalog = reader.catalog;
    let id = server.fn_id;
    let calls = server_calls(model, server);
    let graceful = calls.iter().find_map(|&ci| {
        let g = catalog.graceful(server.framework, method_name(model, id, ci)?)?;
        let site = crate::routes::Site::of_call(model, id, ci);
        Some((site, ci, g.future_arg))
    });
    let Some((site, ci, arg)) = graceful else {
        return Some(missing(cx, catalog, server));
    };
    let signals = reader.future_signals(id, ci, arg);
    if signals.term.is_some() {
        return None;
    }
    if signals.ctrl_c.is_some() && !signals.opaque {
        return Some(not_sigterm(cx, catalog, server, &site, &signals));
    }
    if crate_handles_sigterm {
        return None;
    }
    Some(not_sigterm(cx, catalog, server, &site, &signals))
}

fn actix(
    cx: &RuleContext<'_>,
    reader: &mut Reader<'_, '_>,
    server: &Server,
    crate_handles_sigterm: bool,
    stoppers: &[FnId],
) -> Option<Finding> {
    let model = reader.model;
    let id = server.fn_id;
    let calls = server_calls(model, server);
    let named = |name: &str| {
        calls
            .iter()
            .copied()
            .find(|&ci| method_name(model, id, ci) == Some(name))
    };
    let disabled = crate::routes::Site::of_call(model, id, named("disable_signals")?);
    if let Some(ci) = named("shutdown_signal") {
        let s = reader.future_signals(id, ci, 0);
        if s.term.is_some() || (s.opaque && crate_handles_sigterm) {
            return None;
        }
    }
    // A manual `server.handle().stop(true)` from a task that awaits SIGTERM.
    if !stoppers.is_empty() && crate_handles_sigterm {
        return None;
    }
    Some(Finding {
        rule: META.id,
        level: cx.level,
        message: "actix-web server with `.disable_signals()` and no SIGTERM replacement".into(),
        path: disabled.path.clone(),
        range: disabled.range,
        label: "SIGTERM no longer stops this server gracefully".into(),
        help: Some(reader.catalog.fix(server.framework)),
        notes: vec![orchestrator_note()],
    })
}

fn orchestrator_note() -> Note {
    Note {
        message: "orchestrators (Kubernetes, ECS, `docker stop`) send SIGTERM and then SIGKILL after a grace period; without a SIGTERM handler in-flight requests are cut, and as PID 1 the process ignores SIGTERM until it is killed".into(),
        location: None,
    }
}

fn missing(cx: &RuleContext<'_>, catalog: &ServersCatalog, server: &Server) -> Finding {
    Finding {
        rule: META.id,
        level: cx.level,
        message: format!(
            "{} server started without graceful shutdown",
            server.framework
        ),
        path: server.site.path.clone(),
        range: server.site.range,
        label: "no shutdown future: SIGTERM cuts in-flight requests".into(),
        help: Some(catalog.fix(server.framework)),
        notes: vec![orchestrator_note()],
    }
}

fn not_sigterm(
    cx: &RuleContext<'_>,
    catalog: &ServersCatalog,
    server: &Server,
    site: &crate::routes::Site,
    signals: &Signals,
) -> Finding {
    let (message, label) = if signals.ctrl_c.is_some() {
        (
            "the shutdown future awaits only Ctrl-C (SIGINT), never SIGTERM",
            "graceful shutdown that orchestrators never trigger",
        )
    } else {
        (
            "the shutdown future awaits no SIGTERM handler the linter can see",
            "graceful shutdown not wired to SIGTERM",
        )
    };
    let mut notes = Vec::new();
    if let Some((path, range)) = &signals.ctrl_c {
        notes.push(Note {
            message: "`ctrl_c()` is awaited here: Ctrl-C sends SIGINT, which a container never receives on shutdown".into(),
            location: Some((path.clone(), *range)),
        });
    }
    notes.push(orchestrator_note());
    Finding {
        rule: META.id,
        level: cx.level,
        message: message.into(),
        path: site.path.clone(),
        range: site.range,
        label: label.into(),
        help: Some(if signals.ctrl_c.is_some() {
            "await `tokio::signal::unix::signal(SignalKind::terminate())` in the shutdown future too, e.g. in a `tokio::select!` with `ctrl_c()`".into()
        } else {
            catalog.fix(server.framework)
        }),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_parses() {
        let c = ServersCatalog::from_toml(crate::catalogs::servers::SERVERS_TOML).unwrap();
        assert!(!c.sigterm.is_empty() && !c.ctrl_c.is_empty());
        assert!(c
            .graceful(Framework::Axum, "with_graceful_shutdown")
            .is_some());
        assert!(c.graceful(Framework::Poem, "run").is_none());
        for f in [
            Framework::Axum,
            Framework::Warp,
            Framework::Poem,
            Framework::Salvo,
            Framework::ActixWeb,
        ] {
            assert!(c.fix.iter().any(|x| x.framework == f.name()), "{f}");
        }
    }
}
