use crate::catalog::PathPattern;
use crate::catalogs::logging::LoggingCatalog;
use crate::dataflow::{Flow, Origin, Through};
use crate::facts::{Callee, FnFacts};
use crate::finding::{Finding, Level, Note};
use crate::model::{CrateModel, FnId};
use crate::request_code::{call_paths, chain_root_paths, is_test_fn, is_web_service};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};

declare_rule! {
    /// ## What it does
    /// Flags log sinks that write to local files: `tracing_appender::rolling::{minutely,
    /// hourly, daily, weekly, never}`, `RollingFileAppender::new`/`builder`,
    /// `tracing_appender::non_blocking` or `tracing_subscriber`'s `.with_writer(..)` over an
    /// opened `File`, log4rs `FileAppender`/`RollingFileAppender` builders, flexi_logger
    /// `.log_to_file(..)`, simplelog `WriteLogger` over a `File`, `fern::log_file`/`log_reopen` and a fern
    /// dispatch `.chain(..)`ed to a `File`.
    ///
    /// Calls are resolved through `use` items (`use tracing_appender::rolling;` then
    /// `rolling::daily(..)` is found), and the writer handed to `non_blocking`,
    /// `with_writer`, `WriteLogger` or `chain` is traced back through `let`s, `?`,
    /// `.unwrap()` and wrappers (`Mutex::new`, `BufWriter::new`) to where it was opened.
    ///
    /// Only packages that are web services are checked: those that start a server or
    /// depend on a web framework (axum, actix-web, rocket, warp, poem, salvo, loco). A CLI
    /// or desktop tool may keep its logs in files.
    ///
    /// Not flagged: writers to stdout or stderr (`non_blocking(std::io::stdout())`,
    /// `with_writer(std::io::stderr)`), flexi_logger with `.duplicate_to_stdout(..)` or
    /// `.duplicate_to_stderr(..)` in the same chain (the event stream still reaches the
    /// platform), and test code. A `non_blocking(appender)` over a rolling appender is not
    /// reported again: the appender is.
    ///
    /// ## Why is this bad?
    /// The twelve-factor app treats logs as an event stream written to stdout; the platform
    /// (docker, Kubernetes, systemd, a log shipper) collects, routes and keeps them. A file
    /// inside a container or on a replica's disk disappears when the replica is replaced or
    /// scaled down, is invisible to `kubectl logs`, fills the disk of a long-lived instance,
    /// and spreads one service's logs over as many files as there are replicas.
    ///
    /// ## Example
    /// ```rust
    /// let appender = tracing_appender::rolling::daily("/var/log/shop", "shop.log");
    /// let (writer, _guard) = tracing_appender::non_blocking(appender);
    /// tracing_subscriber::fmt().with_writer(writer).init();
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let (writer, _guard) = tracing_appender::non_blocking(std::io::stdout());
    /// tracing_subscriber::fmt().json().with_writer(writer).init();
    /// ```
    ///
    /// ## Known problems
    /// A log4rs configuration loaded with `log4rs::init_file("<literal path>", ..)` is read
    /// when the file lies inside the package, and each `kind: file` or `kind: rolling_file`
    /// appender in it is reported at its line; a path built at run time is not followed, and
    /// loco's `logger.file_appender.enable: true` is not read. A file opened in another fn and
    /// passed in as a parameter, and slog drains, are not seen.
    pub static META = {
        id: "file-logging",
        level: Level::Warning,
        summary: "logs written to local files instead of an event stream on stdout",
        since: "0.1.0",
    };
}

pub struct FileLogging;

impl Rule for FileLogging {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let catalog = LoggingCatalog::builtin();
        // A CLI or desktop tool may keep its logs in files; a service should not.
        if !is_web_service(model) {
            return;
        }
        for id in 0..model.fns.len() {
            if !cx.include_tests && is_test_fn(model, id) {
                continue;
            }
            let f = model.fn_facts(id);
            for (ci, call) in f.calls.iter().enumerate() {
                if let Some(found) = log4rs_config_findings(cx, id, ci) {
                    out.extend(found);
                    continue;
                }
                let Some(what) = file_sink(model, catalog, id, ci) else {
                    continue;
                };
                out.push(Finding {
                    rule: META.id,
                    level: cx.level,
                    message: what,
                    path: model.fn_path(id).to_path_buf(),
                    range: call.range,
                    label: "this log sink writes to the local disk".into(),
                    help: Some(
                        "write logs to stdout (e.g. `tracing_subscriber::fmt().json().init()`) and let the platform collect them"
                            .into(),
                    ),
                    notes: vec![Note {
                        message: "logs are an event stream (twelve-factor XI): a replica's local files vanish with it, fill its disk and are invisible to the platform's log collection".into(),
                        location: None,
                    }],
                });
            }
        }
    }
}

/// `log4rs::init_file("log4rs.yaml", ..)`: the `file` and `rolling_file` appenders its YAML
/// declares, one finding each at the appender's line (the loader read the file, which must
/// lie inside the package). None when the call is not one, or its file was not read.
fn log4rs_config_findings(cx: &RuleContext<'_>, id: FnId, ci: usize) -> Option<Vec<Finding>> {
    let model = cx.model;
    let call = &model.fn_facts(id).calls[ci];
    if !call_paths(model, id, ci).iter().any(|p| {
        p.first().is_some_and(|c| c == "log4rs") && p.last().is_some_and(|l| l == "init_file")
    }) {
        return None;
    }
    let Some(crate::summary::Operand::Str(written)) = call.args.first() else {
        return None;
    };
    let file = model
        .krate
        .config_files
        .iter()
        .find(|f| f.written == *written)?;
    let mut out = Vec::new();
    for (line, column, kind) in yaml_file_appenders(&file.text) {
        let start = crate::source::Position { line, column };
        let end = crate::source::Position {
            line,
            column: column + "kind: ".len() as u32 + kind.len() as u32,
        };
        out.push(Finding {
            rule: META.id,
            level: cx.level,
            message: format!("log4rs configuration `{written}` declares a `{kind}` appender: logs are written to a local file"),
            path: file.path.clone(),
            range: crate::source::Range { start, end },
            label: "this appender writes to the local disk".into(),
            help: Some("use a `console` appender (stdout) and let the platform collect the logs".into()),
            notes: vec![Note {
                message: "the configuration is loaded here".into(),
                location: Some((model.fn_path(id).to_path_buf(), call.range)),
            }],
        });
    }
    Some(out)
}

/// Where (1-based line and character column) `kind: file` / `kind: rolling_file` stand in a
/// log4rs YAML file.
fn yaml_file_appenders(text: &str) -> Vec<(u32, u32, &'static str)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let Some(value) = line.strip_prefix("kind:") else {
            continue;
        };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        let kind = match value {
            "file" => "file",
            "rolling_file" => "rolling_file",
            _ => continue,
        };
        let column = raw
            .find("kind:")
            .map_or(1, |b| raw[..b].chars().count() as u32 + 1);
        out.push((i as u32 + 1, column, kind));
    }
    out
}

/// What the call at `ci` is, if it creates a local-file log sink.
fn file_sink(
    model: &CrateModel<'_>,
    catalog: &LoggingCatalog,
    id: FnId,
    ci: usize,
) -> Option<String> {
    let f = model.fn_facts(id);
    let call = &f.calls[ci];
    let method = match &call.callee {
        Callee::Method { name, .. } => Some(name.as_str()),
        Callee::Path(_) => None,
    };
    let paths = call_paths(model, id, ci);
    for sink in &catalog.file_sink {
        let pat = PathPattern::parse(&sink.path);
        let hit = match &sink.method {
            None => paths.iter().any(|p| pat.matches(p)),
            Some(m) => {
                method == Some(m.as_str())
                    && chain_from_crate(model, id, ci, &pat)
                    && !chain_has_outer(f, ci, &sink.unless_chain)
            }
        };
        if hit {
            return Some(sink.what.clone());
        }
    }
    for w in &catalog.file_writer {
        let pat = PathPattern::parse(&w.path);
        let hit = match &w.method {
            None => paths.iter().any(|p| pat.matches(p)),
            Some(m) => method == Some(m.as_str()) && chain_from_crate(model, id, ci, &pat),
        };
        if hit
            && call
                .args
                .get(w.arg)
                .is_some_and(|a| from_opened_file(model, catalog, id, a, ci))
        {
            return Some(w.what.clone());
        }
    }
    None
}

/// The method chain of `ci` starts with a call into the crate `pat` names.
fn chain_from_crate(model: &CrateModel<'_>, id: FnId, ci: usize, pat: &PathPattern) -> bool {
    chain_root_paths(model, id, ci)
        .iter()
        .any(|p| pat.is_prefix_of(p))
}

/// A later method in the same chain (`.log_to_file(..).duplicate_to_stdout(..)`) is named
/// in `names`.
fn chain_has_outer(f: &FnFacts, ci: usize, names: &[crate::facts::Name]) -> bool {
    if names.is_empty() {
        return false;
    }
    let flow = Flow::new(f);
    f.calls.iter().enumerate().any(|(j, c)| {
        j != ci
            && matches!(&c.callee, Callee::Method { name, .. } if names.contains(name))
            && flow.chain(j).contains(&ci)
    })
}

/// The writer `op` (an argument of call `at`) was opened as a local file.
fn from_opened_file(
    model: &CrateModel<'_>,
    catalog: &LoggingCatalog,
    id: FnId,
    op: &crate::summary::Operand,
    at: usize,
) -> bool {
    let f = model.fn_facts(id);
    let flow = Flow::new(f);
    let opens = |i: usize| catalog.opens_file(&call_paths(model, id, i));
    // Through wrappers (`Mutex::new(file)`, `BufWriter::new(file)`) and `?`/`.unwrap()`, but
    // stop at the open itself.
    let through = |i: usize, c: &crate::facts::CallSite| {
        if opens(i) {
            Through::Nothing
        } else {
            match c.callee {
                Callee::Method { .. } => Through::Receiver,
                Callee::Path(_) => Through::Args,
            }
        }
    };
    let mut work = vec![(op, at)];
    let mut seen_closures = Vec::new();
    while let Some((op, at)) = work.pop() {
        for o in flow.origins(op, at, &through) {
            match o {
                Origin::Call(i) if opens(i) => return true,
                // `with_writer(move || file.try_clone().unwrap())`: the closure's value.
                Origin::Closure(s) if !seen_closures.contains(&s) => {
                    seen_closures.push(s);
                    if let Some(v) = f.scopes.get(s).and_then(|sc| sc.value.as_ref()) {
                        work.push((v, f.calls.len()));
                    }
                }
                _ => {}
            }
        }
    }
    false
}
