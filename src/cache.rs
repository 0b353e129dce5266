//! The incremental cache, at two levels:
//!
//! - per file, what parsing it produced (its facts, suppressions and syntax error), keyed by a
//!   hash of the file's text, the build of the tool and the inputs that change facts (module
//!   path, test context, depth);
//! - per crate, what the crate model and the rules found, keyed by everything they read: the
//!   keys of all the crate's files and their paths, the package (manifest, targets, module
//!   problems, configuration files the code names) and the run's rule plan and config. A
//!   change in any file of a crate re-runs the model and the rules of that crate from facts,
//!   so findings that depend on other files stay right whatever changed.
//!
//! One file per crate under `<cache dir>/`, rewritten (temp file + rename) when an entry is
//! added or goes stale; a file that is missing, truncated, corrupt or from another build
//! reads as empty. Nothing here can fail a run: the cache is an optimisation only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use bincode::Options as _;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use crate::facts::{FileFacts, ModPath};
use crate::finding::{Finding, Level, Note};
use crate::load::LoadedCrate;
use crate::parse::{self, Depth, FileError, ParsedFile};
use crate::source::{Range, SourceText};
use crate::suppress::Suppression;

/// Hash of the sources this binary was built from (build.rs): entries are only read back by
/// the build that wrote them.
const BUILD_ID: &str = env!("STATELESS_LINT_BUILD_ID");
const MAGIC: &[u8; 8] = b"SLCACHE2";
const HEADER: usize = 24;

/// The cache directory of a run.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache of a workspace rooted at `root`: `$CARGO_TARGET_DIR/stateless-lint` when
    /// that is set, else `root/target/stateless-lint` when `root` holds a `Cargo.toml` (where
    /// cargo itself would write). None (run uncached) for a directory that is not a package
    /// or workspace, or when the directory cannot be created.
    pub fn for_root(root: &Path) -> Option<Cache> {
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(t) if !t.is_empty() => std::path::absolute(PathBuf::from(t)).ok()?,
            _ if root.join("Cargo.toml").is_file() => root.join("target"),
            _ => return None,
        };
        Cache::at(&target.join("stateless-lint"))
    }

    /// A cache in `dir`, created with a `CACHEDIR.TAG` (so backup tools skip it).
    pub fn at(dir: &Path) -> Option<Cache> {
        std::fs::create_dir_all(dir).ok()?;
        let tag = dir.join("CACHEDIR.TAG");
        if !tag.exists() {
            let _ = write_atomically(
                &tag,
                b"Signature: 8a477f597d28d172789f06886806bc55\n\
                  # This directory is a cache created by stateless-lint; it can be deleted.\n",
            );
        }
        Some(Cache {
            dir: dir.to_path_buf(),
        })
    }

    /// The cached entries of one crate, identified by its manifest (or root file) path.
    pub fn unit(&self, identity: &Path) -> Unit {
        let name = format!(
            "{:016x}.bin",
            xxh3_64(identity.as_os_str().as_encoded_bytes())
        );
        let file = self.dir.join(name);
        let (entries, result) = std::fs::read(&file)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default();
        Unit {
            file,
            entries: Mutex::new(entries),
            missed: AtomicBool::new(false),
            result_key: result.as_ref().map(|r| r.key),
            result,
        }
    }
}

/// One crate's entries while its files load.
#[derive(Debug)]
pub struct Unit {
    file: PathBuf,
    entries: Mutex<HashMap<u128, CachedFile>>,
    missed: AtomicBool,
    /// What the rules found in this crate on the run that wrote the file.
    result: Option<StoredResult>,
    /// The key `result` was stored under (kept when the findings are taken out).
    result_key: Option<u128>,
}

impl Unit {
    /// The parse result stored under `key`, if any (taken out: each is used once per run).
    pub fn take(&self, key: u128) -> Option<CachedFile> {
        let hit = self.entries.lock().ok()?.remove(&key);
        if hit.is_none() {
            self.missed.store(true, Ordering::Relaxed);
        }
        hit
    }

    /// Stores this run's parse results and crate result when they differ from what was
    /// read: a file was parsed, an entry was not used (the file changed or went away), or the
    /// crate's findings are new. Errors are ignored.
    fn finish(self, files: &[(u128, &ParsedFile)], result: Option<(u128, &[Finding])>) {
        let stale = self.entries.lock().map_or(true, |e| !e.is_empty());
        let result = result.and_then(|(key, found)| StoredResultRef::of(key, found));
        let same_result = self.result_key == result.as_ref().map(|r| r.key);
        if !stale && !self.missed.load(Ordering::Relaxed) && same_result {
            return;
        }
        let list: Vec<(u128, CachedRef<'_>)> = files
            .iter()
            .filter_map(|(k, f)| CachedRef::of(f).map(|c| (*k, c)))
            .collect();
        let Ok(payload) = options().serialize(&(list, result)) else {
            return;
        };
        let mut bytes = Vec::with_capacity(HEADER + payload.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&xxh3_64(BUILD_ID.as_bytes()).to_le_bytes());
        bytes.extend_from_slice(&xxh3_64(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        let _ = write_atomically(&self.file, &bytes);
    }
}

/// A crate's cache while it is analysed: its entries and the keys of its loaded files (in
/// the order of `LoadedCrate::files`; None for a file whose result is never cached).
#[derive(Debug)]
pub struct CrateCache {
    unit: Unit,
    file_keys: Vec<Option<u128>>,
}

impl CrateCache {
    pub fn new(unit: Unit, file_keys: Vec<Option<u128>>) -> CrateCache {
        CrateCache { unit, file_keys }
    }

    /// The key of everything the crate model and the rules read for `krate`, given the
    /// run's `context` ([`run_context`]). None when a file of the crate could not be
    /// cached (read or internal errors are retried on every run, and so are their crates).
    pub fn result_key(&self, context: u128, krate: &LoadedCrate) -> Option<u128> {
        if self.file_keys.len() != krate.files.len() {
            return None;
        }
        let mut h = Xxh3::new();
        h.update(BUILD_ID.as_bytes());
        h.update(&context.to_le_bytes());
        // Everything of the package the model reads, in a deterministic rendering (the
        // manifest table and the problem list are ordered).
        let package = format!(
            "{:?}",
            (
                &krate.name,
                &krate.dir,
                &krate.manifest,
                &krate.manifest_path,
                &krate.release_panic_abort,
                &krate.targets,
                &krate.problems,
                &krate.config_files,
            )
        );
        h.update(&(package.len() as u64).to_le_bytes());
        h.update(package.as_bytes());
        for (f, key) in krate.files.iter().zip(&self.file_keys) {
            let path = f.path.as_os_str().as_encoded_bytes();
            h.update(&(path.len() as u64).to_le_bytes());
            h.update(path);
            h.update(&(*key)?.to_le_bytes());
        }
        Some(h.digest128())
    }

    /// The findings stored for this crate under `key`, if the last run had the same inputs
    /// (taken out: they are used once per run).
    pub fn findings(&mut self, key: u128) -> Option<Vec<Finding>> {
        if self.unit.result_key != Some(key) {
            return None;
        }
        let known = crate::rules::known_ids();
        let stored = self.unit.result.take()?;
        stored
            .findings
            .into_iter()
            .map(|f| f.into_finding(&known))
            .collect()
    }

    /// Writes the crate's entries back (see [`Unit::finish`]), with its findings under
    /// `result_key` when there is one.
    pub fn finish(self, krate: &LoadedCrate, result: Option<(u128, &[Finding])>) {
        let files: Vec<(u128, &ParsedFile)> = self
            .file_keys
            .iter()
            .zip(&krate.files)
            .filter_map(|(k, f)| k.map(|k| (k, f)))
            .collect();
        self.unit.finish(&files, result);
    }
}

/// The part of a crate result's key that is the same for every crate of a run: which rules
/// run at which level, the configuration (catalog extensions, rule options, excludes) and
/// whether test code is analysed.
pub fn run_context(
    levels: &[(&str, Level, bool)],
    config: &impl std::fmt::Debug,
    include_tests: bool,
) -> u128 {
    let text = format!("{levels:?}|{config:?}|{include_tests}");
    xxhash_rust::xxh3::xxh3_128(text.as_bytes())
}

/// A crate's findings, as read back.
#[derive(Debug, Deserialize)]
struct StoredResult {
    key: u128,
    findings: Vec<StoredFinding>,
}

/// A [`Finding`] as read back, with its rule id owned.
#[derive(Debug, Deserialize)]
struct StoredFinding {
    rule: String,
    level: Level,
    message: String,
    path: PathBuf,
    range: Range,
    label: String,
    help: Option<String>,
    notes: Vec<Note>,
}

impl StoredFinding {
    /// None when the rule id is not one of `known` (this build's ids).
    fn into_finding(self, known: &[&'static str]) -> Option<Finding> {
        let rule = known.iter().copied().find(|id| *id == self.rule)?;
        Some(Finding {
            rule,
            level: self.level,
            message: self.message,
            path: self.path,
            range: self.range,
            label: self.label,
            help: self.help,
            notes: self.notes,
        })
    }
}

/// What is written for a crate's findings, borrowed (serialises like [`StoredResult`]).
#[derive(Serialize)]
struct StoredResultRef<'a> {
    key: u128,
    findings: &'a [Finding],
}

impl<'a> StoredResultRef<'a> {
    /// None when a finding's rule id is not one this build knows (it could not be restored).
    fn of(key: u128, findings: &'a [Finding]) -> Option<StoredResultRef<'a>> {
        let known = crate::rules::known_ids();
        findings
            .iter()
            .all(|f| known.contains(&f.rule))
            .then_some(StoredResultRef { key, findings })
    }
}

/// The key of a file's parse result.
pub fn key(text: &str, module: &ModPath, is_test: bool, depth: Depth) -> u128 {
    let mut h = Xxh3::new();
    h.update(BUILD_ID.as_bytes());
    h.update(&[is_test as u8, depth as u8]);
    h.update(&(module.len() as u64).to_le_bytes());
    for segment in module {
        h.update(&(segment.len() as u64).to_le_bytes());
        h.update(segment.as_bytes());
    }
    h.update(text.as_bytes());
    h.digest128()
}

/// A stored parse result.
#[derive(Debug, Deserialize)]
pub struct CachedFile {
    is_test: bool,
    facts: FileFacts,
    suppressions: Vec<Suppression>,
    /// The syntax error, when the file did not parse.
    parse_error: Option<(Range, String)>,
}

impl CachedFile {
    /// The [`ParsedFile`] that parsing `text` would give.
    pub fn into_parsed(self, path: &Path, module: &ModPath, text: String) -> ParsedFile {
        ParsedFile {
            path: path.to_path_buf(),
            module: module.clone(),
            is_test: self.is_test,
            source: SourceText::new(path.to_path_buf(), text),
            facts: self.facts,
            suppressions: self.suppressions,
            error: self.parse_error.map(|(range, message)| FileError {
                rule: parse::PARSE_ERROR,
                range,
                message,
            }),
        }
    }
}

/// What is written for a [`ParsedFile`], borrowed (serialises like [`CachedFile`]).
#[derive(Serialize)]
struct CachedRef<'a> {
    is_test: bool,
    facts: &'a FileFacts,
    suppressions: &'a [Suppression],
    parse_error: Option<(Range, &'a str)>,
}

impl<'a> CachedRef<'a> {
    /// None for results that must not be cached: I/O errors and internal errors (a panic)
    /// are retried on every run.
    fn of(f: &'a ParsedFile) -> Option<CachedRef<'a>> {
        let parse_error = match &f.error {
            None => None,
            Some(e) if e.rule == parse::PARSE_ERROR => Some((e.range, e.message.as_str())),
            Some(_) => return None,
        };
        Some(CachedRef {
            is_test: f.is_test,
            facts: &f.facts,
            suppressions: &f.suppressions,
            parse_error,
        })
    }
}

fn options() -> impl bincode::Options {
    bincode::DefaultOptions::new()
}

/// The entries of a cache file and its crate result; None when it is not one this build
/// wrote, intact.
type Decoded = (HashMap<u128, CachedFile>, Option<StoredResult>);

fn decode(bytes: &[u8]) -> Option<Decoded> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return None;
    }
    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or_default());
    let payload = &bytes[HEADER..];
    if word(8) != xxh3_64(BUILD_ID.as_bytes()) || word(16) != xxh3_64(payload) {
        return None;
    }
    let (list, result): (Vec<(u128, CachedFile)>, Option<StoredResult>) = options()
        .with_limit(payload.len() as u64)
        .deserialize(payload)
        .ok()?;
    Some((list.into_iter().collect(), result))
}

/// Writes through a temporary file in the same directory and a rename, so a concurrent run
/// or a crash never leaves a half-written file under the final name.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_extension(format!(
        "tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
