//! One run of the analyzer: discover → load (parse in parallel) → crate model → rules →
//! suppressions → sorted findings. Data flows one way; nothing here prints.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::cache::{self, Cache, CrateCache};
use crate::catalog::{BlockingCatalog, FnEntry};
use crate::config::{self, Config, RuleSetting};
use crate::discover::{self, DiscoverOptions};
use crate::finding::{self, Finding, Level};
use crate::load::{self, LoadOptions, LoadedCrate};
use crate::model::CrateModel;
use crate::parse;
use crate::rules::{self, RuleContext};
use crate::source::{Position, Range, SourceText};
use crate::suppress;

/// Stack size of the threads that parse: syn recurses on nesting depth.
const WORKER_STACK: usize = 256 * 1024 * 1024;

/// What the user asked for (CLI flags; config is read by the engine).
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub exclude: Vec<String>,
    pub jobs: Option<usize>,
    pub include_tests: bool,
    pub config: Option<PathBuf>,
    /// Benchmark baseline: discover, read and parse every file, run no rule.
    pub parse_only: bool,
    /// Use the incremental cache (src/cache.rs); never with `parse_only`. Off by default
    /// for library callers; the CLI turns it on unless `--no-cache`.
    pub cache: bool,
}

/// The result of a run.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// Texts of the files that have findings, for rendering snippets.
    pub sources: HashMap<PathBuf, Arc<SourceText>>,
    pub files: usize,
    /// Every analysed file, sorted (for benchmarks and tools that need the file list).
    pub paths: Vec<PathBuf>,
    pub parse_errors: usize,
    /// Internal errors or manifest problems: the exit code is 2 whatever the findings.
    pub engine_errors: usize,
}

/// An error that stops the run before any analysis (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Which rules run, and at which level.
struct RulePlan {
    levels: HashMap<&'static str, (Level, bool)>,
}

impl RulePlan {
    fn new(opts: &Options, cfg: &Config) -> Result<RulePlan, UsageError> {
        let known = rules::known_ids();
        for id in opts.select.iter().flatten().chain(opts.ignore.iter()) {
            if !known.contains(&id.as_str()) {
                return Err(UsageError(format!(
                    "unknown rule `{id}` (see `cargo stateless-lint rule --all`)"
                )));
            }
        }
        let mut levels = HashMap::new();
        let defaults = rules::all()
            .iter()
            .map(|r| (r.meta().id, r.meta().default_level))
            .chain(rules::ENGINE_DIAGNOSTICS.iter().map(|d| (d.0, d.1)));
        for (id, default) in defaults {
            let selected = opts
                .select
                .as_ref()
                .is_none_or(|s| s.iter().any(|x| x == id) || is_always_on(id));
            if !selected || opts.ignore.iter().any(|x| x == id) {
                continue;
            }
            match cfg.rules.get(id) {
                Some(RuleSetting::Off) => {}
                Some(RuleSetting::Level(l)) => {
                    levels.insert(id, (*l, true));
                }
                None => {
                    levels.insert(id, (default, false));
                }
            }
        }
        Ok(RulePlan { levels })
    }

    fn get(&self, id: &str) -> Option<(Level, bool)> {
        self.levels.get(id).copied()
    }

    /// Every rule that runs with its level, in id order.
    fn sorted(&self) -> Vec<(&'static str, Level, bool)> {
        let mut v: Vec<_> = self
            .levels
            .iter()
            .map(|(id, (l, o))| (*id, *l, *o))
            .collect();
        v.sort_unstable();
        v
    }
}

/// Engine diagnostics that `--select` does not turn off (a broken file must be visible).
fn is_always_on(id: &str) -> bool {
    matches!(
        id,
        parse::PARSE_ERROR | parse::IO_ERROR | parse::INTERNAL_ERROR | crate::MANIFEST_ERROR
    )
}

pub fn analyse(opts: &Options) -> Result<Outcome, UsageError> {
    let discovery = discover::discover(
        &opts.paths,
        &DiscoverOptions {
            include_tests: opts.include_tests,
            exclude: opts.exclude.clone(),
        },
    )
    .map_err(|e| UsageError(e.to_string()))?;
    let known = rules::known_ids();
    let cfg = config::load(
        &discovery.config_root,
        discovery.workspace_manifest.as_deref(),
        opts.config.as_deref(),
        &known,
    )
    .map_err(|e| UsageError(format!("invalid configuration: {e}")))?;
    let plan = RulePlan::new(opts, &cfg)?;
    let catalog = build_catalog(&cfg)?;
    let include_tests = opts.include_tests || cfg.include_tests.unwrap_or(false);
    let mut excludes = opts.exclude.clone();
    excludes.extend(cfg.exclude.iter().cloned());
    let exclude = discover::exclude_matcher(&excludes).map_err(|e| UsageError(e.to_string()))?;
    let load_opts = LoadOptions {
        include_tests,
        exclude,
        exclude_root: discovery.config_root.clone(),
        max_file_bytes: cfg.max_file_bytes(),
        depth: if opts.parse_only {
            parse::Depth::ModulesOnly
        } else if include_tests {
            parse::Depth::Full
        } else {
            parse::Depth::WithoutTestBodies
        },
        cache: (opts.cache && !opts.parse_only)
            .then(|| Cache::for_root(&discovery.config_root))
            .flatten(),
    };

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .stack_size(WORKER_STACK)
        .thread_name(|i| format!("stateless-lint-{i}"))
        .build()
        .map_err(|e| UsageError(format!("cannot start worker threads: {e}")))?;

    let mut outcome = Outcome::default();
    let mut kept: Vec<Finding> = Vec::new();
    for p in &discovery.problems {
        let pos = Position {
            line: p.line.unwrap_or(1),
            column: 1,
        };
        let fatal = p.is_fatal();
        kept.push(Finding {
            rule: crate::MANIFEST_ERROR,
            level: if fatal { Level::Error } else { Level::Warning },
            message: p.message.clone(),
            path: p.path.clone(),
            range: Range {
                start: pos,
                end: pos,
            },
            label: "here".into(),
            help: fatal.then(|| {
                "this package is not analysed until its manifest parses; the others are".into()
            }),
            notes: Vec::new(),
        });
        if fatal {
            outcome.engine_errors += 1;
        }
    }

    let ran: BTreeSet<&str> = plan.levels.keys().copied().collect();
    let known_set: BTreeSet<&str> = known.iter().copied().collect();
    let unused_level = plan.get(suppress::UNUSED_SUPPRESSION).map(|l| l.0);
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    // A few packages at a time: peak memory follows the largest packages, not the size of
    // the whole tree, and each batch's facts are dropped once its findings are known.
    let context = cache::run_context(&plan.sorted(), &cfg, include_tests);
    for batch in batches(&discovery) {
        let load::Loaded { crates, caches } = pool.install(|| load::load(&batch, &load_opts));
        let per_crate: Vec<Vec<Finding>> = pool.install(|| {
            crates
                .par_iter()
                .zip(caches)
                .filter(|_| !opts.parse_only)
                .map(|(k, cache)| {
                    let check = || check_crate(k, &catalog, &plan, &cfg, include_tests);
                    match cache {
                        Some(cache) => check_cached(k, cache, context, check),
                        None => check(),
                    }
                })
                .collect()
        });
        let mut by_file: HashMap<&Path, &parse::ParsedFile> = HashMap::new();
        for k in &crates {
            for f in &k.files {
                by_file.entry(f.path.as_path()).or_insert(f);
                files.insert(f.path.clone());
            }
        }
        // Suppressions, per file (files with suppressions but no findings too: their
        // suppressions are unused).
        let mut grouped: HashMap<PathBuf, Vec<Finding>> = HashMap::new();
        for f in per_crate.into_iter().flatten() {
            grouped.entry(f.path.clone()).or_default().push(f);
        }
        for (path, pf) in &by_file {
            if !pf.suppressions.is_empty() {
                grouped.entry(path.to_path_buf()).or_default();
            }
        }
        for (path, list) in grouped {
            let before = kept.len();
            match by_file.get(path.as_path()) {
                Some(pf) => kept.extend(suppress::apply(
                    list,
                    &pf.suppressions,
                    &path,
                    &ran,
                    &known_set,
                    unused_level,
                )),
                None => kept.extend(list),
            }
            if kept.len() > before {
                if let Some(pf) = by_file.get(path.as_path()) {
                    outcome
                        .sources
                        .entry(path.clone())
                        .or_insert_with(|| pf.source.clone());
                }
            }
        }
        // The batch's facts are freed on the workers, crate by crate, as they were built.
        drop(by_file);
        pool.install(|| crates.into_par_iter().for_each(drop));
    }
    outcome.files = files.len();
    outcome.paths = files.into_iter().collect();
    if let Some(focus) = &discovery.focus {
        kept.retain(|f| focus.contains(&f.path));
    }
    finding::sort_and_dedup(&mut kept);
    for f in &kept {
        match f.rule {
            parse::PARSE_ERROR => outcome.parse_errors += 1,
            parse::INTERNAL_ERROR => outcome.engine_errors += 1,
            _ => {}
        }
        if !outcome.sources.contains_key(&f.path) {
            if let Ok(text) = std::fs::read_to_string(&f.path) {
                outcome
                    .sources
                    .insert(f.path.clone(), SourceText::new(f.path.clone(), text));
            }
        }
    }
    let reported: BTreeSet<&Path> = kept.iter().map(|f| f.path.as_path()).collect();
    outcome
        .sources
        .retain(|p, _| reported.contains(p.as_path()));
    outcome.findings = kept;
    Ok(outcome)
}

/// The findings of a crate from its cache when nothing it depends on changed, else from
/// `check`; stores them for the next run (not when the analysis failed: internal errors are
/// retried).
fn check_cached(
    krate: &LoadedCrate,
    mut cache: CrateCache,
    context: u128,
    check: impl FnOnce() -> Vec<Finding>,
) -> Vec<Finding> {
    let key = cache.result_key(context, krate);
    if let Some(found) = key.and_then(|k| cache.findings(k)) {
        cache.finish(krate, key.map(|k| (k, found.as_slice())));
        return found;
    }
    let found = check();
    let failed = found.iter().any(|f| f.rule == parse::INTERNAL_ERROR);
    let result = key.filter(|_| !failed).map(|k| (k, found.as_slice()));
    cache.finish(krate, result);
    found
}

fn build_catalog(cfg: &Config) -> Result<BlockingCatalog, UsageError> {
    let mut catalog =
        BlockingCatalog::builtin().map_err(|e| UsageError(format!("internal error: {e}")))?;
    for e in &cfg.extra_blocking {
        catalog.add_fn(FnEntry {
            path: e.path.clone(),
            what: e.what.clone().unwrap_or_else(|| {
                format!("`{}` blocks (configured in {})", e.path, source_name(cfg))
            }),
            fix: e.fix.clone().unwrap_or_else(|| {
                "use an async alternative, or move the call into `tokio::task::spawn_blocking`"
                    .into()
            }),
            level: e.level,
        });
    }
    for p in &cfg.extra_escapes {
        catalog.add_escape_path(
            p,
            format!(
                "runs its closure off the executor (configured in {})",
                source_name(cfg)
            ),
        );
    }
    Ok(catalog)
}

fn source_name(cfg: &Config) -> String {
    cfg.source
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "the config".into())
}

/// The discovery split into small batches of packages (loose files in larger batches).
fn batches(discovery: &discover::Discovery) -> Vec<discover::Discovery> {
    const PACKAGES_PER_BATCH: usize = 4;
    const LOOSE_FILES_PER_BATCH: usize = 256;
    let mut out = Vec::new();
    let empty = || discover::Discovery {
        config_root: discovery.config_root.clone(),
        workspace_manifest: discovery.workspace_manifest.clone(),
        ..discover::Discovery::default()
    };
    for chunk in discovery.packages.chunks(PACKAGES_PER_BATCH) {
        let mut d = empty();
        d.packages = chunk.to_vec();
        out.push(d);
    }
    for chunk in discovery.loose_files.chunks(LOOSE_FILES_PER_BATCH) {
        let mut d = empty();
        d.loose_files = chunk.to_vec();
        out.push(d);
    }
    out
}

/// Runs every enabled rule on one crate and collects its engine diagnostics.
fn check_crate(
    krate: &LoadedCrate,
    catalog: &BlockingCatalog,
    plan: &RulePlan,
    cfg: &Config,
    include_tests: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in &krate.files {
        if let Some(e) = &f.error {
            if let Some((level, _)) = plan.get(e.rule) {
                out.push(Finding {
                    rule: e.rule,
                    level,
                    message: e.message.clone(),
                    path: f.path.clone(),
                    range: e.range,
                    label: match e.rule {
                        parse::PARSE_ERROR => "syntax error here".into(),
                        _ => "here".into(),
                    },
                    help: match e.rule {
                        parse::PARSE_ERROR => Some(
                            "the rest of the crate is still analysed; this file's findings are missing until it parses".into(),
                        ),
                        _ => None,
                    },
                    notes: Vec::new(),
                });
            }
        }
    }
    for p in &krate.problems {
        if let Some((level, _)) = plan.get(p.rule) {
            let mut p = p.clone();
            p.level = level;
            out.push(p);
        }
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let model = CrateModel::build(krate, catalog);
        let mut found = Vec::new();
        for rule in rules::all() {
            let Some((level, overridden)) = plan.get(rule.meta().id) else {
                continue;
            };
            let cx = RuleContext {
                model: &model,
                level,
                level_overridden: overridden,
                include_tests,
                config: cfg,
            };
            rule.check(&cx, &mut found);
        }
        found
    }));
    match result {
        Ok(found) => out.extend(found),
        Err(payload) => {
            let what = crate::panic_message(&payload);
            let path = krate
                .manifest_path
                .clone()
                .or_else(|| krate.targets.first().map(|t| t.root.clone()))
                .unwrap_or_default();
            let pos = Position { line: 1, column: 1 };
            out.push(Finding {
                rule: parse::INTERNAL_ERROR,
                level: Level::Error,
                message: format!(
                    "internal error while analysing crate `{}` (please report it): {what}",
                    krate.name
                ),
                path,
                range: Range {
                    start: pos,
                    end: pos,
                },
                label: "here".into(),
                help: None,
                notes: Vec::new(),
            });
        }
    }
    out
}

/// Runs the whole per-file pipeline (parse, facts, crate model, every rule, suppressions)
/// on one in-memory source file, as a single-file crate. For fuzzing and embedding; the
/// files of a real crate go through [`analyse`].
pub fn analyse_source(text: &str) -> Vec<Finding> {
    // syn recurses on nesting: run on a thread with the same large stack as the workers.
    // A panic is passed on to the caller (the fuzzers look for them).
    let owned = text.to_string();
    match std::thread::Builder::new()
        .name("stateless-lint-source".into())
        .stack_size(WORKER_STACK)
        .spawn(move || analyse_source_here(&owned))
    {
        Ok(handle) => match handle.join() {
            Ok(findings) => findings,
            Err(payload) => std::panic::resume_unwind(payload),
        },
        Err(_) => analyse_source_here(text),
    }
}

fn analyse_source_here(text: &str) -> Vec<Finding> {
    let path = PathBuf::from("/fuzz/src/lib.rs");
    let file = parse::parse_source(&path, &Vec::new(), false, text.to_string());
    let krate = LoadedCrate {
        name: "fuzz".into(),
        dir: PathBuf::from("/fuzz"),
        manifest: None,
        manifest_path: None,
        release_panic_abort: None,
        targets: vec![load::LoadedTarget {
            name: "fuzz".into(),
            kind: crate::discover::TargetKind::Lib,
            root: path.clone(),
            files: vec![0],
        }],
        files: vec![file],
        problems: Vec::new(),
        config_files: Vec::new(),
    };
    let catalog = match BlockingCatalog::builtin() {
        Ok(c) => c,
        Err(_) => return Vec::new(),
    };
    let cfg = Config::default();
    let plan = match RulePlan::new(&Options::default(), &cfg) {
        Ok(p) => p,
        Err(_) => return Vec::new(),
    };
    let findings = check_crate(&krate, &catalog, &plan, &cfg, false);
    let ran: BTreeSet<&str> = plan.levels.keys().copied().collect();
    let known: BTreeSet<&str> = rules::known_ids().into_iter().collect();
    let mut out = suppress::apply(
        findings,
        &krate.files[0].suppressions,
        &path,
        &ran,
        &known,
        Some(Level::Warning),
    );
    finding::sort_and_dedup(&mut out);
    out
}
