//! Loading crates: follows each target's module tree from its root file as rustc does
//! (`mod x;` → `x.rs` or `x/mod.rs`, `#[path]`, inline modules), parsing files in parallel,
//! one wave of the tree at a time.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cache::{self, Cache, Unit};
use crate::discover::{Discovery, Package, TargetKind};
use crate::facts::{ChildMod, ModPath};
use crate::finding::{Finding, Level};
use crate::parse::{self, FileError, ParsedFile};
use crate::source::{Position, Range};

pub const MISSING_MODULE: &str = "missing-module";

#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub include_tests: bool,
    pub exclude: globset::GlobSet,
    pub exclude_root: PathBuf,
    pub max_file_bytes: u64,
    pub depth: parse::Depth,
    /// The incremental cache, if enabled and usable.
    pub cache: Option<Cache>,
}

/// One compilation target (lib, bin...) and the indices of its files in the crate's list.
#[derive(Clone, Debug)]
pub struct LoadedTarget {
    pub name: String,
    pub kind: TargetKind,
    pub root: PathBuf,
    pub files: Vec<usize>,
}

/// A package with every file of every analysed target parsed.
#[derive(Debug)]
pub struct LoadedCrate {
    pub name: String,
    pub dir: PathBuf,
    /// The parsed manifest, when the crate comes from a package.
    pub manifest: Option<toml::Table>,
    pub manifest_path: Option<PathBuf>,
    /// Where the release profile sets `panic = "abort"` (see `discover::Package`).
    pub release_panic_abort: Option<(PathBuf, u32)>,
    pub targets: Vec<LoadedTarget>,
    pub files: Vec<ParsedFile>,
    /// Engine diagnostics found while loading (missing module files).
    pub problems: Vec<Finding>,
    /// Configuration files the code names by a literal path inside the package
    /// (`log4rs::init_file("log4rs.yaml", ..)`), read here so that rules never touch the file
    /// system.
    pub config_files: Vec<ConfigFile>,
}

/// A configuration file the code refers to, as read at load time.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    /// As written in the code (`"config/log4rs.yaml"`).
    pub written: String,
    pub path: PathBuf,
    pub text: String,
}

/// Calls whose first argument names a configuration file worth reading.
const CONFIG_FILE_CALLS: &[&str] = &["init_file"];
/// Largest configuration file read.
const MAX_CONFIG_FILE_BYTES: u64 = 1 << 20;

/// The configuration files a crate's code names with a literal path that lies inside the
/// crate's directory (symlinks resolved; anything outside it, missing, too large or not
/// UTF-8 is skipped).
fn referenced_config_files(krate: &LoadedCrate) -> Vec<ConfigFile> {
    let Ok(root) = std::fs::canonicalize(&krate.dir) else {
        return Vec::new();
    };
    let mut written: Vec<crate::facts::Name> = Vec::new();
    for f in &krate.files {
        for func in &f.facts.fns {
            for c in &func.calls {
                let crate::facts::Callee::Path(p) = &c.callee else {
                    continue;
                };
                if !p
                    .last()
                    .is_some_and(|l| CONFIG_FILE_CALLS.contains(&l.as_str()))
                {
                    continue;
                }
                if let Some(crate::summary::Operand::Str(s)) = c.args.first() {
                    if !written.contains(s) {
                        written.push(s.clone());
                    }
                }
            }
        }
    }
    written.sort();
    let mut out = Vec::new();
    for w in written {
        let Ok(path) = std::fs::canonicalize(root.join(&w)) else {
            continue;
        };
        let small =
            std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= MAX_CONFIG_FILE_BYTES);
        if !path.starts_with(&root) || !small {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&path) {
            out.push(ConfigFile {
                written: w.into(),
                path,
                text,
            });
        }
    }
    out
}

struct Job {
    krate: usize,
    target: usize,
    path: PathBuf,
    module: ModPath,
    is_test: bool,
    is_root: bool,
}

/// The crates of a discovery, parsed, with their caches (one per crate, None when the run
/// is uncached) for the engine to reuse and then update with the crate's findings.
#[derive(Debug)]
pub struct Loaded {
    pub crates: Vec<LoadedCrate>,
    pub caches: Vec<Option<cache::CrateCache>>,
}

/// Parses every package of a discovery (and every loose file, as a crate of its own).
pub fn load(discovery: &Discovery, opts: &LoadOptions) -> Loaded {
    let mut crates: Vec<LoadedCrate> = Vec::new();
    let mut jobs = Vec::new();
    for pkg in &discovery.packages {
        let k = crates.len();
        crates.push(crate_of_package(pkg));
        for (t, target) in pkg.targets.iter().enumerate() {
            let is_test_target = !matches!(target.kind, TargetKind::Lib | TargetKind::Bin);
            if is_test_target && !opts.include_tests {
                continue;
            }
            jobs.push(Job {
                krate: k,
                target: t,
                path: target.root.clone(),
                module: Vec::new(),
                is_test: is_test_target,
                is_root: true,
            });
        }
    }
    for file in &discovery.loose_files {
        let k = crates.len();
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        crates.push(LoadedCrate {
            name: name.clone(),
            dir: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            manifest: None,
            manifest_path: None,
            release_panic_abort: None,
            targets: vec![LoadedTarget {
                name,
                kind: TargetKind::Bin,
                root: file.clone(),
                files: Vec::new(),
            }],
            files: Vec::new(),
            problems: Vec::new(),
            config_files: Vec::new(),
        });
        jobs.push(Job {
            krate: k,
            target: 0,
            path: file.clone(),
            module: Vec::new(),
            is_test: false,
            is_root: true,
        });
    }
    let units: Vec<Option<Unit>> = match &opts.cache {
        Some(c) => crates
            .par_iter()
            .map(|k| Some(c.unit(k.manifest_path.as_ref().unwrap_or(&k.targets[0].root))))
            .collect(),
        None => crates.iter().map(|_| None).collect(),
    };
    // The cache key of each file of each crate (None: not cacheable).
    let mut keys: Vec<Vec<Option<u128>>> = crates.iter().map(|_| Vec::new()).collect();
    let mut seen: HashSet<(usize, usize, PathBuf)> = HashSet::new();
    while !jobs.is_empty() {
        jobs.retain(|j| {
            !crate::discover::is_excluded(&opts.exclude, &opts.exclude_root, &j.path)
                && seen.insert((j.krate, j.target, j.path.clone()))
        });
        let parsed: Vec<(Job, ParsedFile, Option<u128>)> = jobs
            .into_par_iter()
            .map(|job| {
                let unit = units[job.krate].as_ref();
                let (file, key) = parse_guarded(&job, opts.max_file_bytes, opts.depth, unit);
                (job, file, key)
            })
            .collect();
        let mut next = Vec::new();
        for (job, file, key) in parsed {
            let krate = &mut crates[job.krate];
            for child in &file.facts.child_mods {
                if child.is_test && !opts.include_tests {
                    continue;
                }
                match child_path(&job.path, job.is_root, child) {
                    Ok(path) => {
                        let mut module = child.parent.clone();
                        module.push(child.name.clone());
                        next.push(Job {
                            krate: job.krate,
                            target: job.target,
                            path,
                            module,
                            is_test: job.is_test || child.is_test,
                            is_root: false,
                        });
                    }
                    Err(tried) => krate
                        .problems
                        .push(missing_module(&job.path, child, &tried)),
                }
            }
            let idx = krate.files.len();
            krate.targets[job.target].files.push(idx);
            krate.files.push(file);
            keys[job.krate].push(key);
        }
        jobs = next;
    }
    for k in &mut crates {
        k.config_files = referenced_config_files(k);
    }
    let caches = units
        .into_iter()
        .zip(keys)
        .map(|(unit, keys)| unit.map(|u| cache::CrateCache::new(u, keys)))
        .collect();
    Loaded { crates, caches }
}

fn crate_of_package(pkg: &Package) -> LoadedCrate {
    LoadedCrate {
        name: pkg.name.clone(),
        dir: pkg.dir.clone(),
        manifest: Some(pkg.manifest.clone()),
        release_panic_abort: pkg.release_panic_abort.clone(),
        manifest_path: Some(pkg.manifest_path.clone()),
        targets: pkg
            .targets
            .iter()
            .map(|t| LoadedTarget {
                name: t.name.clone(),
                kind: t.kind,
                root: t.root.clone(),
                files: Vec::new(),
            })
            .collect(),
        files: Vec::new(),
        problems: Vec::new(),
        config_files: Vec::new(),
    }
}

/// Reads a file and parses it, or takes its parse result from the cache; returns its cache
/// key when the result can be cached. A panic inside the parser or an extractor becomes an
/// internal-error diagnostic for that file instead of taking the run down.
fn parse_guarded(
    job: &Job,
    max_bytes: u64,
    depth: parse::Depth,
    unit: Option<&Unit>,
) -> (ParsedFile, Option<u128>) {
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let text = match parse::read_text(&job.path, &job.module, max_bytes) {
            Ok(t) => t,
            Err(failed) => return (*failed, None),
        };
        let Some(unit) = unit else {
            let file = parse::parse_text(&job.path, &job.module, job.is_test, text, depth);
            return (file, None);
        };
        let key = cache::key(&text, &job.module, job.is_test, depth);
        match unit.take(key) {
            Some(hit) => (hit.into_parsed(&job.path, &job.module, text), Some(key)),
            None => {
                let file = parse::parse_text(&job.path, &job.module, job.is_test, text, depth);
                (file, Some(key))
            }
        }
    }));
    match result {
        Ok(f) => f,
        Err(payload) => {
            proc_macro2::extra::invalidate_current_thread_spans();
            let what = crate::panic_message(&payload);
            let pos = Position { line: 1, column: 1 };
            (
                ParsedFile {
                    path: job.path.clone(),
                    module: job.module.clone(),
                    is_test: job.is_test,
                    source: crate::source::SourceText::new(job.path.clone(), String::new()),
                    facts: Default::default(),
                    suppressions: Vec::new(),
                    error: Some(FileError {
                        rule: parse::INTERNAL_ERROR,
                        range: Range {
                            start: pos,
                            end: pos,
                        },
                        message: format!(
                            "internal error while analysing this file (please report it): {what}"
                        ),
                    }),
                },
                None,
            )
        }
    }
}

/// Where rustc looks for `mod name;` declared in `file`.
fn child_path(file: &Path, file_is_root: bool, child: &ChildMod) -> Result<PathBuf, Vec<PathBuf>> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
    let owns_dir = file_is_root || stem.as_deref() == Some("mod");
    // The directory that holds this file's child modules.
    let mod_dir = if owns_dir {
        dir.to_path_buf()
    } else {
        dir.join(stem.unwrap_or_default())
    };
    let mut candidates = Vec::new();
    let attr_paths: Vec<&crate::facts::Name> = match &child.path_attr {
        Some(p) => vec![p],
        None => child.cfg_paths.iter().collect(),
    };
    if !attr_paths.is_empty() {
        let base = if child.inline_dirs.is_empty() {
            dir.to_path_buf()
        } else {
            child
                .inline_dirs
                .iter()
                .fold(mod_dir.clone(), |d, s| d.join(s))
        };
        candidates.extend(attr_paths.into_iter().map(|p| base.join(p)));
    }
    if child.path_attr.is_none() {
        let base = child.inline_dirs.iter().fold(mod_dir, |d, s| d.join(s));
        candidates.push(base.join(format!("{}.rs", child.name)));
        candidates.push(base.join(&child.name).join("mod.rs"));
    }
    for c in &candidates {
        if c.is_file() {
            return Ok(std::fs::canonicalize(c).unwrap_or_else(|_| c.clone()));
        }
    }
    Err(candidates)
}

fn missing_module(file: &Path, child: &ChildMod, tried: &[PathBuf]) -> Finding {
    let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Finding {
        rule: MISSING_MODULE,
        level: Level::Warning,
        message: format!("file not found for module `{}`", child.name),
        path: file.to_path_buf(),
        range: child.range,
        label: "declared here".into(),
        help: Some(format!("looked for {}", tried.join(" and "))),
        notes: Vec::new(),
    }
}
