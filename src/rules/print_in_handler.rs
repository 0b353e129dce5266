use std::collections::HashMap;

use crate::catalogs::logging::{LoggingCatalog, PrintMacro};
use crate::facts::MacroSite;
use crate::finding::{Finding, Level, Note};
use crate::model::{CrateModel, ExecContext, FnId, Resolved};
use crate::request_code::{
    call_path_note, is_test_fn, sync_local_callee, targets_defining, HelperSearch,
};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};

declare_rule! {
    /// ## What it does
    /// Flags `println!`, `print!`, `eprintln!`, `eprint!` and `dbg!` in code that runs per
    /// request: the handlers of mounted routes (fns and closures, from the route model), the
    /// async crate fns they call, and sync crate-local helpers called from any of them
    /// (reported at the call, with a note pointing at the print and the call path).
    ///
    /// The macro is resolved: `std::println!` counts, `tracing::info!`/`log::info!` never
    /// do, and neither does a macro of the same name that the crate defines with
    /// `macro_rules!` or imports from another crate.
    ///
    /// Not flagged: start-up code (`main`, CLI subcommands, a shutdown future printing
    /// "shutting down", tasks spawned at start-up), handlers no route mounts, packages with
    /// no routes and no web framework (CLIs), and test code.
    ///
    /// When the route model cannot see every handler (a router it cannot read, a handler it
    /// cannot resolve), "per request" falls back to async code that is not start-up code,
    /// sync handlers a framework runs on the executor, and handler closures inside `main`.
    ///
    /// ## Why is this bad?
    /// `println!` takes the process-wide stdout lock and writes synchronously: under load
    /// every request serialises on it, and a slow consumer of stdout (a full pipe, a log
    /// shipper that stalls) blocks the executor. The text has no level, no timestamp and no
    /// request fields, so a log pipeline cannot filter or correlate it. `dbg!` is debugging
    /// left behind: it prints the value (often a whole request body) on every request.
    ///
    /// ## Example
    /// ```rust
    /// async fn create(Json(order): Json<Order>) -> StatusCode {
    ///     println!("new order {}", order.id);
    ///     StatusCode::CREATED
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// async fn create(Json(order): Json<Order>) -> StatusCode {
    ///     tracing::info!(order_id = order.id, "new order");
    ///     StatusCode::CREATED
    /// }
    /// ```
    /// with one subscriber set up in `main` (`tracing_subscriber::fmt().json().init()`).
    ///
    /// ## Known problems
    /// In the fallback mode, an async background task spawned from a helper that is not
    /// `main` is treated as request code. Handlers mounted by another package of a workspace
    /// are not seen as handlers. A print inside a macro the linter cannot read (a custom
    /// logging macro wrapping `println!`) is not seen.
    pub static META = {
        id: "print-in-handler",
        level: Level::Warning,
        summary: "`println!`/`eprintln!`/`dbg!` in request-handling code instead of structured logging",
        since: "0.1.0",
    };
}

pub struct PrintInHandler;

impl Rule for PrintInHandler {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let request_code = model.request_code();
        let catalog = LoggingCatalog::builtin();
        let own_macros: HashMap<&str, Vec<usize>> = catalog
            .print
            .iter()
            .map(|p| (p.name.as_str(), targets_defining(model, &p.name)))
            .collect();
        let resolve = |id: FnId, m: &MacroSite| -> Option<&PrintMacro> {
            std_print_macro(model, catalog, &own_macros, id, m)
        };
        let mut helpers = HelperSearch::new(|id: FnId| {
            let f = model.fn_facts(id);
            f.macros.iter().find_map(|m| {
                if !matches!(model.context(id, m.scope), ExecContext::Sync) {
                    return None;
                }
                resolve(id, m).map(|p| (p, m.range))
            })
        });
        for id in 0..model.fns.len() {
            if !cx.include_tests && is_test_fn(model, id) {
                continue;
            }
            let f = model.fn_facts(id);
            let path = model.fn_path(id);
            for m in &f.macros {
                let Some(print) = resolve(id, m) else {
                    continue;
                };
                let Some(why) = request_code.context(model, id, m.scope) else {
                    continue;
                };
                out.push(Finding {
                    rule: META.id,
                    level: cx.level,
                    message: format!("`{}!` in request-handling code", print.name),
                    path: path.to_path_buf(),
                    range: m.range,
                    label: print.label.clone(),
                    help: Some(print.fix.clone()),
                    notes: vec![
                        Note {
                            message: print.what.clone(),
                            location: None,
                        },
                        request_note(&why),
                    ],
                });
            }
            for (ci, call) in f.calls.iter().enumerate() {
                let Some(callee) = sync_local_callee(model, id, ci) else {
                    continue;
                };
                let Some(why) = request_code.context(model, id, call.scope) else {
                    continue;
                };
                let Some(w) = helpers.find(model, callee) else {
                    continue;
                };
                let helper = model.fn_display(callee);
                let print = w.site;
                let mut notes = vec![Note {
                    message: format!("`{}!` is here: {}", print.name, print.what),
                    location: Some((w.path.clone(), w.range)),
                }];
                notes.extend(call_path_note(
                    model,
                    callee,
                    &w.via,
                    &format!("{}!", print.name),
                ));
                notes.push(request_note(&why));
                out.push(Finding {
                    rule: META.id,
                    level: cx.level,
                    message: format!(
                        "`{}!` in request-handling code: `{helper}` prints",
                        print.name
                    ),
                    path: path.to_path_buf(),
                    range: call.range,
                    label: format!("`{helper}` calls `{}!` on every request", print.name),
                    help: Some(print.fix.clone()),
                    notes,
                });
            }
        }
    }
}

fn request_note(why: &str) -> Note {
    Note {
        message: format!("this runs per request: {why}"),
        location: None,
    }
}

/// The catalog entry of a macro site that is the standard library's print macro.
fn std_print_macro<'c>(
    model: &CrateModel<'_>,
    catalog: &'c LoggingCatalog,
    own_macros: &HashMap<&str, Vec<usize>>,
    id: FnId,
    m: &MacroSite,
) -> Option<&'c PrintMacro> {
    let last = m.path.last()?;
    let direct = catalog.print_macro(last)?;
    if m.path.len() == 1 {
        // Not a name the crate gives its own macro (textually scoped `macro_rules!`).
        let target = model.fns[id].target;
        if own_macros
            .get(last.as_str())
            .is_some_and(|ts| ts.binary_search(&target).is_ok())
        {
            return None;
        }
    }
    // Unimported, `println!` resolves to itself; `std::println!` to std. An import of the
    // name from elsewhere (`use defmt::println;`, a crate-local macro) is not std's.
    let resolved = model.resolve_in_fn(id, &m.path);
    let is_std = resolved.iter().any(|r| match r {
        Resolved::Extern(p) => match p.as_slice() {
            [only] => m.path.len() == 1 && only == last,
            [krate, name] => (krate == "std" || krate == "core") && name == last,
            _ => false,
        },
        Resolved::Local { .. } => false,
    });
    is_std.then_some(direct)
}
