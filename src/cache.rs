//! The incremental cache: what parsing a file produced (its facts, suppressions and syntax
//! error), keyed by a hash of the file's text, the build of the tool and the inputs that
//! change facts (module path, test context, depth). The crate model and the rules always
//! re-run from facts, so findings that depend on other files stay right whatever changed.
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
use crate::parse::{self, Depth, FileError, ParsedFile};
use crate::source::{Range, SourceText};
use crate::suppress::Suppression;

/// Hash of the sources this binary was built from (build.rs): entries are only read back by
/// the build that wrote them.
const BUILD_ID: &str = env!("STATELESS_LINT_BUILD_ID");
const MAGIC: &[u8; 8] = b"SLCACHE1";
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
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default();
        Unit {
            file,
            entries: Mutex::new(entries),
            missed: AtomicBool::new(false),
        }
    }
}

/// One crate's entries while its files load.
#[derive(Debug)]
pub struct Unit {
    file: PathBuf,
    entries: Mutex<HashMap<u128, CachedFile>>,
    missed: AtomicBool,
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

    /// Stores this run's parse results when they differ from what was read: a file was
    /// parsed, or an entry was not used (the file changed or went away). Errors are ignored.
    pub fn finish(self, files: &[(u128, &ParsedFile)]) {
        let stale = self.entries.lock().map_or(true, |e| !e.is_empty());
        if !stale && !self.missed.load(Ordering::Relaxed) {
            return;
        }
        let list: Vec<(u128, CachedRef<'_>)> = files
            .iter()
            .filter_map(|(k, f)| CachedRef::of(f).map(|c| (*k, c)))
            .collect();
        let Ok(payload) = options().serialize(&list) else {
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

/// The entries of a cache file; None when it is not one this build wrote, intact.
fn decode(bytes: &[u8]) -> Option<HashMap<u128, CachedFile>> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return None;
    }
    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or_default());
    let payload = &bytes[HEADER..];
    if word(8) != xxh3_64(BUILD_ID.as_bytes()) || word(16) != xxh3_64(payload) {
        return None;
    }
    let list: Vec<(u128, CachedFile)> = options()
        .with_limit(payload.len() as u64)
        .deserialize(payload)
        .ok()?;
    Some(list.into_iter().collect())
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
