//! Discovery: which packages, targets and files a run analyses. Reads Cargo.toml with `toml`; runs nothing.
//!
//! The code under analysis may come from an untrusted pull request, so nothing here runs cargo,
//! a build script or any other program: manifests are parsed with the `toml` crate, and the
//! target rules of cargo (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`, `[[bin]]`, `autobins`...)
//! are re-implemented. Symbolic links to directories are never followed, so a link loop cannot
//! hang a run and a link cannot take the walk outside the tree it was given.
//!
//! Exclusion globs (see [`exclude_matcher`]): a pattern that starts with `/` is matched against
//! absolute paths; any other pattern against paths relative to a root, with `/` separators.
//! `generated/**` also excludes the directory `generated` itself, and a path is excluded when it
//! or one of its parent directories matches.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

const MANIFEST: &str = "Cargo.toml";
/// Larger manifests are refused rather than parsed (a hostile tree could hold a huge one).
const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Clone, Debug, Default)]
pub struct DiscoverOptions {
    /// Also analyse test, bench and example targets (`tests/`, `benches/`, `examples/`).
    pub include_tests: bool,
    /// Glob patterns excluded by the user, matched against paths relative to the discovery root
    /// with `/` separators (patterns starting with `/` against the absolute path). A matching
    /// directory is not descended into; a matching file or package is skipped. Paths named
    /// explicitly on the command line are not subject to exclusion.
    pub exclude: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetKind {
    Lib,
    Bin,
    Test,
    Bench,
    Example,
}

impl TargetKind {
    fn label(self) -> &'static str {
        match self {
            TargetKind::Lib => "lib",
            TargetKind::Bin => "bin",
            TargetKind::Test => "test",
            TargetKind::Bench => "bench",
            TargetKind::Example => "example",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Target {
    /// Target name (lib: package name with '-' -> '_' unless `[lib] name` is given).
    pub name: String,
    pub kind: TargetKind,
    /// Absolute path of the crate root file.
    pub root: PathBuf,
}

#[derive(Clone, Debug)]
pub struct Package {
    pub name: String,
    /// Absolute.
    pub manifest_path: PathBuf,
    /// Absolute directory of the manifest.
    pub dir: PathBuf,
    /// Sorted: lib first, then bins by name, then tests, benches, examples.
    pub targets: Vec<Target>,
    /// The parsed manifest, for later rules.
    pub manifest: toml::Table,
    /// Where the release profile that builds this package sets `panic = "abort"`: the
    /// workspace root's manifest for a workspace member (cargo ignores members' profiles),
    /// else its own. File and 1-based line.
    pub release_panic_abort: Option<(PathBuf, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub path: PathBuf,
    /// 1-based, when known.
    pub line: Option<u32>,
    pub message: String,
}

impl Problem {
    /// A manifest that cannot be read or parsed is a configuration error (exit code 2);
    /// layout problems (a member glob that matches nothing, a missing target file) are
    /// reported as warnings and the rest is analysed.
    pub fn is_fatal(&self) -> bool {
        self.message.starts_with("invalid Cargo.toml")
            || self.message.starts_with("cannot read Cargo.toml")
    }
}

#[derive(Clone, Debug, Default)]
pub struct Discovery {
    /// Where configuration is looked up: the directory of the workspace root manifest of the
    /// first path given (the nearest ancestor Cargo.toml with `[workspace]` that lists this
    /// package, else the package's own dir). For a directory without Cargo.toml: the workspace
    /// root above it, or the root of the package it is part of (`src/handlers/`), else the
    /// directory itself (a folder of services). For a loose `.rs` file: likewise for its
    /// directory.
    pub config_root: PathBuf,
    /// The workspace root manifest (if any): config may live in its
    /// `[workspace.metadata.stateless-lint]`.
    pub workspace_manifest: Option<PathBuf>,
    /// Sorted by manifest_path, no duplicates.
    pub packages: Vec<Package>,
    /// `.rs` files under a given directory that belong to no package (analysed on their own).
    /// Sorted, absolute.
    pub loose_files: Vec<PathBuf>,
    /// When the user named individual `.rs` files: only findings in these files are reported
    /// (their whole package is still analysed for cross-file context). None = report everything.
    pub focus: Option<BTreeSet<PathBuf>>,
    /// Malformed manifests, unreadable directories, workspace member globs that match
    /// nothing...: reported, and the rest is still discovered.
    pub problems: Vec<Problem>,
}

#[derive(Debug)]
pub enum DiscoverError {
    PathNotFound(PathBuf),
    /// Any other usage error.
    Other(String),
}

impl std::fmt::Display for DiscoverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiscoverError::PathNotFound(p) => write!(f, "path `{}` does not exist", p.display()),
            DiscoverError::Other(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for DiscoverError {}

/// Compiles exclusion globs. A bad glob is an error naming it. Patterns are rewritten so that
/// relative patterns never match absolute paths (`**/tests/**` must not exclude everything
/// because the checkout lives under `/home/ci/tests/`), a trailing `/` is dropped, a leading
/// `./` too, and `dir/**` also matches `dir` itself.
pub fn exclude_matcher(globs: &[String]) -> Result<GlobSet, DiscoverError> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let written = glob.trim();
        if written.is_empty() {
            continue;
        }
        Glob::new(written).map_err(|e| {
            DiscoverError::Other(format!("invalid exclude pattern `{glob}`: {}", e.kind()))
        })?;
        let mut pattern = written;
        while let Some(rest) = pattern.strip_prefix("./") {
            pattern = rest;
        }
        while pattern.len() > 1 && pattern.ends_with('/') {
            pattern = &pattern[..pattern.len() - 1];
        }
        if pattern.is_empty() || pattern == "." {
            continue;
        }
        let variants_of = |p: &str| -> Vec<String> {
            if p.starts_with('/') {
                vec![p.to_string()]
            } else {
                relative_variants(p)
            }
        };
        let mut variants = variants_of(pattern);
        if let Some(stem) = pattern.strip_suffix("/**") {
            if !stem.is_empty() {
                variants.extend(variants_of(stem));
            }
        }
        for v in variants {
            let compiled = Glob::new(&v).or_else(|_| Glob::new(pattern)).map_err(|e| {
                DiscoverError::Other(format!("invalid exclude pattern `{glob}`: {}", e.kind()))
            })?;
            builder.add(compiled);
        }
    }
    builder
        .build()
        .map_err(|e| DiscoverError::Other(format!("invalid exclude patterns: {}", e.kind())))
}

/// Variants of a relative pattern that cannot match a string starting with `/`.
fn relative_variants(p: &str) -> Vec<String> {
    if p == "**" {
        vec![p.to_string()]
    } else if let Some(rest) = p.strip_prefix("**/") {
        let mut v = relative_variants(rest);
        v.push(format!("[!/]*/{rest}"));
        v
    } else if let Some(rest) = p.strip_prefix('*') {
        let mut v = vec![format!("[!/]*{rest}")];
        if !rest.is_empty() && !rest.starts_with('/') {
            v.extend(relative_variants(rest));
        }
        v
    } else if let Some(rest) = p.strip_prefix('?') {
        vec![format!("[!/]{rest}")]
    } else {
        vec![p.to_string()]
    }
}

/// True if `path` is excluded: its path relative to `root` (or that of one of its parent
/// directories below `root`) matches, or its absolute path (or that of a parent) matches an
/// absolute pattern.
pub fn is_excluded(set: &GlobSet, root: &Path, path: &Path) -> bool {
    if set.is_empty() {
        return false;
    }
    let rel = match path.strip_prefix(root) {
        Ok(rel) => Some(rel),
        Err(_) if path.is_relative() => Some(path),
        Err(_) => None,
    };
    if rel.is_some_and(|rel| matches_with_ancestors(set, rel)) {
        return true;
    }
    path.is_absolute() && matches_with_ancestors(set, path)
}

fn matches_with_ancestors(set: &GlobSet, path: &Path) -> bool {
    let mut acc = String::new();
    for comp in path.components() {
        let part = match comp {
            Component::Prefix(p) => {
                acc.push_str(&p.as_os_str().to_string_lossy());
                continue;
            }
            Component::RootDir => {
                acc.push('/');
                continue;
            }
            Component::CurDir => continue,
            Component::ParentDir => "..".into(),
            Component::Normal(s) => s.to_string_lossy(),
        };
        if !acc.is_empty() && !acc.ends_with('/') {
            acc.push('/');
        }
        acc.push_str(&part);
        if set.is_match(&acc) {
            return true;
        }
    }
    false
}

/// `paths` empty means the current directory. Paths may be relative (resolved against the
/// current directory).
pub fn discover(paths: &[PathBuf], opts: &DiscoverOptions) -> Result<Discovery, DiscoverError> {
    let exclude = exclude_matcher(&opts.exclude)?;
    let cwd = std::env::current_dir().map_err(|e| {
        DiscoverError::Other(format!("cannot determine the current directory: {e}"))
    })?;
    let given: Vec<PathBuf> = if paths.is_empty() {
        vec![cwd.clone()]
    } else {
        paths.to_vec()
    };
    // Resolve every path first: a mistyped one is a usage error before anything is done.
    let mut inputs = Vec::with_capacity(given.len());
    for p in &given {
        inputs.push(resolve_input(&cwd, p)?);
    }
    let mut cx = Ctx::new(&exclude, opts.include_tests);
    let root = match inputs.first() {
        Some(first) => cx.config_root_for(first),
        None => cwd.clone(),
    };
    cx.config_root = root.clone();
    for input in &inputs {
        match input {
            Input::Dir(d) => cx.add_dir(d),
            Input::RsFile(f) => cx.add_file(f),
        }
    }
    let workspace_manifest = match cx.load(&root) {
        Loaded::Ok(m) if m.workspace().is_some() => Some(m.path.clone()),
        _ => None,
    };
    Ok(cx.finish(root, workspace_manifest))
}

enum Input {
    /// A directory (a `Cargo.toml` given as a path stands for its directory).
    Dir(PathBuf),
    RsFile(PathBuf),
}

fn resolve_input(cwd: &Path, given: &Path) -> Result<Input, DiscoverError> {
    let abs = if given.is_absolute() {
        given.to_path_buf()
    } else {
        cwd.join(given)
    };
    let access_error = |e: io::Error| {
        if matches!(
            e.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
        ) {
            DiscoverError::PathNotFound(given.to_path_buf())
        } else {
            DiscoverError::Other(format!("cannot access `{}`: {e}", given.display()))
        }
    };
    let canon = fs::canonicalize(&abs).map_err(access_error)?;
    let meta = fs::metadata(&canon).map_err(access_error)?;
    if meta.is_dir() {
        return Ok(Input::Dir(canon));
    }
    if meta.is_file() {
        if abs.file_name().is_some_and(|n| n == MANIFEST) {
            let parent = abs.parent().unwrap_or(cwd);
            let dir = fs::canonicalize(parent).map_err(access_error)?;
            return Ok(Input::Dir(dir));
        }
        if canon.extension().is_some_and(|x| x == "rs") {
            return Ok(Input::RsFile(canon));
        }
    }
    Err(DiscoverError::Other(format!(
        "`{}` is not a directory, a Cargo.toml or a .rs file",
        given.display()
    )))
}

#[derive(Debug)]
struct Manifest {
    /// Canonical directory + `Cargo.toml`.
    path: PathBuf,
    dir: PathBuf,
    text: String,
    table: toml::Table,
}

/// `[profile.release] panic = "abort"` in a manifest: its file and line.
fn release_panic_abort(m: &Manifest) -> Option<(PathBuf, u32)> {
    let panic = m
        .table
        .get("profile")?
        .get("release")?
        .get("panic")?
        .as_str()?;
    if panic != "abort" {
        return None;
    }
    let section = m.text.find("[profile.release]");
    let line = match section {
        Some(off) => m.text[off..]
            .find("panic")
            .map(|rel| line_at(&m.text, off + rel)),
        None => m.line_of("panic"),
    };
    Some((m.path.clone(), line.unwrap_or(1)))
}

impl Manifest {
    fn package(&self) -> Option<&toml::Table> {
        self.table.get("package").and_then(toml::Value::as_table)
    }

    fn workspace(&self) -> Option<&toml::Table> {
        self.table.get("workspace").and_then(toml::Value::as_table)
    }

    /// The 1-based line of the first occurrence of `needle` in the manifest text.
    fn line_of(&self, needle: &str) -> Option<u32> {
        if needle.is_empty() {
            return None;
        }
        self.text.find(needle).map(|off| line_at(&self.text, off))
    }

    /// The line of a string value, written with either kind of quotes.
    fn line_of_string(&self, value: &str) -> Option<u32> {
        self.line_of(&format!("\"{value}\""))
            .or_else(|| self.line_of(&format!("'{value}'")))
    }

    fn problem(&self, line: Option<u32>, message: String) -> Problem {
        Problem {
            path: self.path.clone(),
            line,
            message,
        }
    }
}

fn line_at(text: &str, offset: usize) -> u32 {
    let end = offset.min(text.len());
    let newlines = text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

#[derive(Clone, Debug)]
enum Loaded {
    Missing,
    Broken(Problem),
    Ok(Rc<Manifest>),
}

fn read_manifest(dir: &Path) -> Loaded {
    let path = dir.join(MANIFEST);
    let broken = |message: String| {
        Loaded::Broken(Problem {
            path: path.clone(),
            line: None,
            message,
        })
    };
    let meta = match fs::metadata(&path) {
        Ok(m) => m,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Loaded::Missing
        }
        Err(e) => return broken(format!("cannot read Cargo.toml: {e}")),
    };
    if !meta.is_file() {
        return Loaded::Missing;
    }
    if meta.len() > MAX_MANIFEST_BYTES {
        return broken(format!(
            "Cargo.toml is too large ({} bytes; at most {MAX_MANIFEST_BYTES} are read)",
            meta.len()
        ));
    }
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => return broken(format!("cannot read Cargo.toml: {e}")),
    };
    match text.parse::<toml::Table>() {
        Ok(table) => Loaded::Ok(Rc::new(Manifest {
            path,
            dir: dir.to_path_buf(),
            text,
            table,
        })),
        Err(e) => {
            let line = e.span().map(|s| line_at(&text, s.start));
            Loaded::Broken(Problem {
                path,
                line,
                message: format!("invalid Cargo.toml: {}", e.message().trim_end()),
            })
        }
    }
}

/// The package a file or directory belongs to.
enum Owner {
    None,
    Broken(Problem),
    Package(Rc<Manifest>),
}

/// Members of a workspace (canonical package directories, sorted), with the problems found
/// expanding them (reported only when the workspace itself is analysed).
#[derive(Default)]
struct Members {
    dirs: Vec<PathBuf>,
    problems: Vec<Problem>,
}

struct Ctx<'a> {
    exclude: &'a GlobSet,
    include_tests: bool,
    config_root: PathBuf,
    cache: HashMap<PathBuf, Loaded>,
    members_cache: HashMap<PathBuf, Rc<Members>>,
    packages: BTreeMap<PathBuf, Package>,
    /// Directories of the packages analysed in full (not only for named files).
    full: BTreeSet<PathBuf>,
    loose: BTreeSet<PathBuf>,
    focus: BTreeSet<PathBuf>,
    focused: bool,
    problems: Vec<Problem>,
}

impl<'a> Ctx<'a> {
    fn new(exclude: &'a GlobSet, include_tests: bool) -> Self {
        Ctx {
            exclude,
            include_tests,
            config_root: PathBuf::new(),
            cache: HashMap::new(),
            members_cache: HashMap::new(),
            packages: BTreeMap::new(),
            full: BTreeSet::new(),
            loose: BTreeSet::new(),
            focus: BTreeSet::new(),
            focused: false,
            problems: Vec::new(),
        }
    }

    fn load(&mut self, dir: &Path) -> Loaded {
        if let Some(l) = self.cache.get(dir) {
            return l.clone();
        }
        let l = read_manifest(dir);
        self.cache.insert(dir.to_path_buf(), l.clone());
        l
    }

    fn user_excluded(&self, path: &Path, base: &Path) -> bool {
        is_excluded(self.exclude, base, path)
            || (self.config_root != base && is_excluded(self.exclude, &self.config_root, path))
    }

    // ---- configuration root ----

    fn config_root_for(&mut self, input: &Input) -> PathBuf {
        match input {
            Input::Dir(d) => match self.load(d) {
                Loaded::Ok(m) => {
                    if m.workspace().is_some() || m.package().is_none() {
                        m.dir.clone()
                    } else {
                        self.package_root(&m)
                    }
                }
                Loaded::Broken(_) => d.clone(),
                Loaded::Missing => self.plain_root(d),
            },
            Input::RsFile(f) => {
                let parent = f.parent().unwrap_or(f).to_path_buf();
                match self.owner_of(&parent) {
                    Owner::Package(m) => self.package_root(&m),
                    Owner::Broken(_) => parent,
                    Owner::None => self.plain_root(&parent),
                }
            }
        }
    }

    /// The root of the workspace a package belongs to, else its own directory.
    fn package_root(&mut self, m: &Rc<Manifest>) -> PathBuf {
        self.workspace_of(m)
            .map(|w| w.dir.clone())
            .unwrap_or_else(|| m.dir.clone())
    }

    /// For a directory that holds no manifest: the enclosing workspace root; the root of the
    /// enclosing package when the directory is part of it (`src/handlers/`); else the directory
    /// itself (a folder of services, or a folder of fixture crates inside a package).
    fn plain_root(&mut self, dir: &Path) -> PathBuf {
        for a in dir.ancestors() {
            if let Loaded::Ok(m) = self.load(a) {
                if m.workspace().is_some() {
                    return m.dir.clone();
                }
                if m.package().is_some() {
                    let root = self.package_root(&m);
                    if root != m.dir || !holds_manifest(dir) {
                        return root;
                    }
                    return dir.to_path_buf();
                }
            }
        }
        dir.to_path_buf()
    }

    /// The workspace root manifest of a package: itself if it has `[workspace]`, the one named
    /// by `package.workspace`, else the nearest ancestor workspace that lists it as a member.
    fn workspace_of(&mut self, m: &Rc<Manifest>) -> Option<Rc<Manifest>> {
        if m.workspace().is_some() {
            return Some(m.clone());
        }
        if let Some(rel) = m
            .package()
            .and_then(|p| p.get("workspace"))
            .and_then(toml::Value::as_str)
        {
            let dir = fs::canonicalize(m.dir.join(rel)).ok()?;
            return match self.load(&dir) {
                Loaded::Ok(w) if w.workspace().is_some() => Some(w),
                _ => None,
            };
        }
        let ancestors: Vec<PathBuf> = m.dir.ancestors().skip(1).map(Path::to_path_buf).collect();
        for a in ancestors {
            if let Loaded::Ok(w) = self.load(&a) {
                if w.workspace().is_some() && self.members(&w).dirs.contains(&m.dir) {
                    return Some(w);
                }
            }
        }
        None
    }

    /// Nearest ancestor-or-self directory whose manifest has `[package]`.
    fn owner_of(&mut self, start: &Path) -> Owner {
        for d in start.ancestors() {
            match self.load(d) {
                Loaded::Missing => {}
                Loaded::Broken(p) => return Owner::Broken(p),
                Loaded::Ok(m) => {
                    if m.package().is_some() {
                        return Owner::Package(m);
                    }
                }
            }
        }
        Owner::None
    }

    // ---- inputs ----

    fn add_dir(&mut self, dir: &Path) {
        match self.load(dir) {
            Loaded::Missing => self.walk(dir),
            Loaded::Broken(p) => self.problems.push(p),
            Loaded::Ok(m) => self.add_manifest(&m, dir),
        }
    }

    fn add_file(&mut self, file: &Path) {
        self.focused = true;
        self.focus.insert(file.to_path_buf());
        let parent = file.parent().unwrap_or(file).to_path_buf();
        match self.owner_of(&parent) {
            Owner::Package(m) => self.add_package(&m, false),
            Owner::Broken(p) => self.problems.push(p),
            Owner::None => {
                self.loose.insert(file.to_path_buf());
            }
        }
    }

    /// A manifest analysed as such: its package, and the members if it is a workspace root.
    fn add_manifest(&mut self, m: &Rc<Manifest>, base: &Path) {
        let is_ws = m.workspace().is_some();
        let is_pkg = m.package().is_some();
        if is_ws {
            let members = self.members(m);
            self.problems.extend(members.problems.iter().cloned());
            for d in &members.dirs {
                if *d == m.dir
                    || self.user_excluded(d, base)
                    || self.user_excluded(&d.join(MANIFEST), base)
                {
                    continue;
                }
                match self.load(d) {
                    Loaded::Missing => {}
                    Loaded::Broken(p) => self.problems.push(p),
                    Loaded::Ok(mm) => {
                        if mm.package().is_some() {
                            self.add_package(&mm, true);
                            if let Some(p) = self.packages.get_mut(&mm.path) {
                                p.release_panic_abort = release_panic_abort(m);
                            }
                        } else {
                            let line = m.line_of_string(&rel_display(&m.dir, d));
                            self.problems.push(m.problem(
                                line,
                                format!(
                                    "workspace member `{}` has no [package] section",
                                    rel_display(&m.dir, d)
                                ),
                            ));
                        }
                    }
                }
            }
        }
        if is_pkg {
            self.add_package(m, true);
        }
        if !is_ws && !is_pkg {
            self.problems.push(m.problem(
                None,
                "Cargo.toml has neither a [package] nor a [workspace] section".into(),
            ));
        }
    }

    fn add_package(&mut self, m: &Rc<Manifest>, full: bool) {
        if full {
            self.full.insert(m.dir.clone());
        }
        if self.packages.contains_key(&m.path) {
            return;
        }
        let Some(pkg) = m.package() else { return };
        let name = match pkg.get("name").and_then(toml::Value::as_str) {
            Some(n) if !n.trim().is_empty() => n.to_string(),
            _ => {
                let line = m.line_of("[package]");
                self.problems
                    .push(m.problem(line, "`package.name` is missing or not a string".into()));
                m.dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "package".into())
            }
        };
        let targets = self.targets(m, &name);
        self.packages.insert(
            m.path.clone(),
            Package {
                name,
                manifest_path: m.path.clone(),
                dir: m.dir.clone(),
                targets,
                manifest: m.table.clone(),
                release_panic_abort: release_panic_abort(m),
            },
        );
    }

    /// Walks a directory that holds no manifest: every package below it, and the `.rs` files
    /// that belong to none.
    fn walk(&mut self, root: &Path) {
        // Files that belong to no package found below `root` may still belong to a package
        // above it (`src/handlers/` given): then they are that package's, and in focus.
        let owner = match root.parent() {
            Some(parent) => self.owner_of(parent),
            None => Owner::None,
        };
        let owner_pkg = match owner {
            Owner::None => None,
            Owner::Package(m) => Some(m),
            Owner::Broken(p) => {
                self.problems.push(p);
                None
            }
        };
        let mut stack: Vec<(PathBuf, bool)> = vec![(root.to_path_buf(), false)];
        while let Some((dir, mut in_package)) = stack.pop() {
            if dir != root {
                match self.load(&dir) {
                    Loaded::Missing => {}
                    Loaded::Broken(p) => {
                        self.problems.push(p);
                        in_package = true;
                    }
                    Loaded::Ok(m) => {
                        if !self.user_excluded(&m.path, root) {
                            self.add_manifest(&m, root);
                        }
                        if m.package().is_some() {
                            in_package = true;
                        }
                    }
                }
            }
            let Some(entries) = self.read_dir_sorted(&dir) else {
                continue;
            };
            let mut subdirs = Vec::new();
            for (path, name, ft) in entries {
                if ft.is_dir() {
                    if !skipped_dir_name(&name) && !self.user_excluded(&path, root) {
                        subdirs.push(path);
                    }
                    continue;
                }
                if in_package || !name.ends_with(".rs") || self.user_excluded(&path, root) {
                    continue;
                }
                let Some(file) = rs_file(&path, ft) else {
                    continue;
                };
                match &owner_pkg {
                    Some(m) => {
                        let m = m.clone();
                        self.add_package(&m, false);
                        self.focused = true;
                        self.focus.insert(file);
                    }
                    None => {
                        self.loose.insert(file);
                    }
                }
            }
            stack.extend(subdirs.into_iter().rev().map(|d| (d, in_package)));
        }
    }

    /// Entries of a directory sorted by name; a Problem if it cannot be read.
    fn read_dir_sorted(&mut self, dir: &Path) -> Option<Vec<(PathBuf, String, fs::FileType)>> {
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                self.problems.push(Problem {
                    path: dir.to_path_buf(),
                    line: None,
                    message: format!("cannot read directory: {e}"),
                });
                return None;
            }
        };
        let mut out = Vec::new();
        for entry in rd {
            match entry.and_then(|e| Ok((e.path(), e.file_name(), e.file_type()?))) {
                Ok((path, name, ft)) => out.push((path, name.to_string_lossy().into_owned(), ft)),
                Err(e) => self.problems.push(Problem {
                    path: dir.to_path_buf(),
                    line: None,
                    message: format!("cannot read directory entry: {e}"),
                }),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Some(out)
    }

    /// Every `.rs` file under a package directory (for focus when files were also named).
    fn collect_rs(&mut self, root: &Path, out: &mut BTreeSet<PathBuf>) {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Some(entries) = self.read_dir_sorted(&dir) else {
                continue;
            };
            for (path, name, ft) in entries {
                if ft.is_dir() {
                    if !skipped_dir_name(&name) {
                        stack.push(path);
                    }
                } else if name.ends_with(".rs") {
                    if let Some(f) = rs_file(&path, ft) {
                        out.insert(f);
                    }
                }
            }
        }
    }

    // ---- workspaces ----

    fn members(&mut self, w: &Rc<Manifest>) -> Rc<Members> {
        if let Some(m) = self.members_cache.get(&w.dir) {
            return m.clone();
        }
        let m = Rc::new(self.compute_members(w));
        self.members_cache.insert(w.dir.clone(), m.clone());
        m
    }

    fn compute_members(&mut self, w: &Rc<Manifest>) -> Members {
        let mut out = Members::default();
        let Some(ws) = w.workspace() else {
            return out;
        };
        let patterns = string_list(w, ws, "members", &mut out.problems);
        let excludes = string_list(w, ws, "exclude", &mut out.problems);
        let excluder = WsExclude::new(&w.dir, &excludes);
        let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
        if w.package().is_some() {
            dirs.insert(w.dir.clone());
        }
        for raw in &patterns {
            let line = w.line_of_string(raw);
            let mut pat = raw.trim();
            while let Some(rest) = pat.strip_prefix("./") {
                pat = rest;
            }
            let pat = pat.trim_end_matches('/');
            if pat.is_empty() || pat == "." {
                if w.package().is_none() {
                    out.problems.push(w.problem(
                        line,
                        format!("workspace member `{raw}` is the workspace root, which has no [package]"),
                    ));
                }
                continue;
            }
            if has_glob(pat) {
                let matched = match expand_glob(&w.dir, pat) {
                    Ok(m) => m,
                    Err(message) => {
                        out.problems.push(w.problem(line, message));
                        continue;
                    }
                };
                if matched.dirs.is_empty() && matched.symlinks.is_empty() {
                    out.problems.push(w.problem(
                        line,
                        format!("workspace member glob `{raw}` matches no package"),
                    ));
                }
                for s in matched.symlinks {
                    out.problems.push(w.problem(
                        line,
                        format!(
                            "workspace member `{}` (matched by `{raw}`) is a symbolic link, which is not followed",
                            rel_display(&w.dir, &s)
                        ),
                    ));
                }
                for d in matched.dirs {
                    if excluder.excludes(&d) {
                        continue;
                    }
                    if d.join(MANIFEST).is_file() {
                        dirs.insert(d);
                    } else {
                        out.problems.push(w.problem(
                            line,
                            format!(
                                "workspace member `{}` (matched by `{raw}`) has no Cargo.toml",
                                rel_display(&w.dir, &d)
                            ),
                        ));
                    }
                }
            } else {
                let joined = w.dir.join(pat);
                match fs::symlink_metadata(&joined) {
                    Err(_) => out
                        .problems
                        .push(w.problem(line, format!("workspace member `{raw}` does not exist"))),
                    Ok(md) if md.file_type().is_symlink() => out.problems.push(w.problem(
                        line,
                        format!(
                            "workspace member `{raw}` is a symbolic link, which is not followed"
                        ),
                    )),
                    Ok(md) if !md.is_dir() => out.problems.push(
                        w.problem(line, format!("workspace member `{raw}` is not a directory")),
                    ),
                    Ok(_) => {
                        let Ok(d) = fs::canonicalize(&joined) else {
                            continue;
                        };
                        if excluder.excludes(&d) {
                            continue;
                        }
                        if d.join(MANIFEST).is_file() {
                            dirs.insert(d);
                        } else {
                            out.problems.push(w.problem(
                                line,
                                format!("workspace member `{raw}` has no Cargo.toml"),
                            ));
                        }
                    }
                }
            }
        }
        // Path dependencies inside the workspace directory are members too (cargo's rule).
        let mut queue: Vec<PathBuf> = dirs.iter().cloned().collect();
        while let Some(d) = queue.pop() {
            let Loaded::Ok(m) = self.load(&d) else {
                continue;
            };
            for dep in path_dependencies(&m) {
                let Some(dep) = real_dir(&dep) else { continue };
                if !dep.starts_with(&w.dir) || dirs.contains(&dep) || excluder.excludes(&dep) {
                    continue;
                }
                if let Loaded::Ok(dm) = self.load(&dep) {
                    if dm.package().is_some() {
                        dirs.insert(dep.clone());
                        queue.push(dep);
                    }
                }
            }
        }
        out.dirs = dirs.into_iter().collect();
        out
    }

    // ---- targets ----

    fn targets(&mut self, m: &Manifest, pkg_name: &str) -> Vec<Target> {
        let mut out = Vec::new();
        let Some(pkg) = m.package() else {
            return out;
        };
        let edition_2015 = match pkg.get("edition") {
            None => true,
            Some(v) => v.as_str() == Some("2015"),
        };
        let flag = |key: &str| pkg.get(key).and_then(toml::Value::as_bool);
        let dir = &m.dir;

        match m.table.get("lib") {
            Some(toml::Value::Table(lib)) => {
                let name = lib
                    .get("name")
                    .and_then(toml::Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| pkg_name.replace('-', "_"));
                match lib.get("path").and_then(toml::Value::as_str) {
                    Some(p) => {
                        let line = m.line_of_string(p);
                        self.push_target(&mut out, m, TargetKind::Lib, name, dir.join(p), line);
                    }
                    None => {
                        let line = m.line_of("[lib]");
                        let path = dir.join("src").join("lib.rs");
                        self.push_target(&mut out, m, TargetKind::Lib, name, path, line);
                    }
                }
            }
            Some(_) => {
                let line = m.line_of("lib");
                self.problems
                    .push(m.problem(line, "`lib` must be a table (`[lib]`)".into()));
            }
            None => {
                let path = dir.join("src").join("lib.rs");
                if flag("autolib") != Some(false) && path.is_file() {
                    let name = pkg_name.replace('-', "_");
                    self.push_target(&mut out, m, TargetKind::Lib, name, path, None);
                }
            }
        }

        let bin_dir = dir.join("src").join("bin");
        let mut bins = Vec::new();
        let main = dir.join("src").join("main.rs");
        if main.is_file() {
            bins.push((pkg_name.to_string(), main));
        }
        bins.extend(infer_targets(&bin_dir));
        let spec = KindSpec {
            kind: TargetKind::Bin,
            key: "bin",
            dir: bin_dir,
        };
        self.explicit_and_inferred(&mut out, m, &spec, bins, flag("autobins"), edition_2015);

        if self.include_tests {
            for (kind, key, auto_key, sub) in [
                (TargetKind::Test, "test", "autotests", "tests"),
                (TargetKind::Bench, "bench", "autobenches", "benches"),
                (TargetKind::Example, "example", "autoexamples", "examples"),
            ] {
                let spec = KindSpec {
                    kind,
                    key,
                    dir: dir.join(sub),
                };
                let inferred = infer_targets(&spec.dir);
                let auto = flag(auto_key);
                self.explicit_and_inferred(&mut out, m, &spec, inferred, auto, edition_2015);
            }
        }

        out.sort_by(|a, b| (a.kind, &a.name, &a.root).cmp(&(b.kind, &b.name, &b.root)));
        out.dedup_by(|a, b| a.kind == b.kind && a.root == b.root);
        out
    }

    /// `[[bin]]`-style explicit targets, plus the inferred ones unless auto-discovery is off.
    fn explicit_and_inferred(
        &mut self,
        out: &mut Vec<Target>,
        m: &Manifest,
        spec: &KindSpec,
        inferred: Vec<(String, PathBuf)>,
        auto: Option<bool>,
        edition_2015: bool,
    ) {
        let key = spec.key;
        let explicit: Vec<&toml::Table> = match m.table.get(key) {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => {
                let tables: Vec<&toml::Table> =
                    items.iter().filter_map(toml::Value::as_table).collect();
                if tables.len() != items.len() {
                    let line = m.line_of(key);
                    self.problems.push(m.problem(
                        line,
                        format!("`{key}` must be an array of tables (`[[{key}]]`)"),
                    ));
                }
                tables
            }
            Some(_) => {
                let line = m.line_of(key);
                self.problems.push(m.problem(
                    line,
                    format!("`{key}` must be an array of tables (`[[{key}]]`)"),
                ));
                Vec::new()
            }
        };
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut paths: BTreeSet<PathBuf> = BTreeSet::new();
        for t in &explicit {
            let Some(name) = t.get("name").and_then(toml::Value::as_str) else {
                let line = m.line_of(&format!("[[{key}]]"));
                self.problems
                    .push(m.problem(line, format!("a `[[{key}]]` target has no `name`")));
                continue;
            };
            names.insert(name.to_string());
            let (path, line) = match t.get("path").and_then(toml::Value::as_str) {
                Some(p) => (m.dir.join(p), m.line_of_string(p)),
                None => {
                    let line = m.line_of_string(name);
                    match inferred.iter().find(|(n, _)| n == name) {
                        Some((_, p)) => (p.clone(), line),
                        None => {
                            let flat = spec.dir.join(format!("{name}.rs"));
                            let nested = spec.dir.join(name).join("main.rs");
                            if flat.is_file() {
                                (flat, line)
                            } else if nested.is_file() {
                                (nested, line)
                            } else {
                                self.problems.push(m.problem(
                                    line,
                                    format!(
                                        "can't find {key} target `{name}` at `{}` or `{}`; set its `path`",
                                        rel_display(&m.dir, &flat),
                                        rel_display(&m.dir, &nested)
                                    ),
                                ));
                                continue;
                            }
                        }
                    }
                }
            };
            paths.insert(fs::canonicalize(&path).unwrap_or_else(|_| path.clone()));
            self.push_target(out, m, spec.kind, name.to_string(), path, line);
        }
        // Edition 2015 turns inference off once targets of that kind are listed.
        let auto = auto.unwrap_or(!edition_2015 || explicit.is_empty());
        if !auto {
            return;
        }
        for (name, path) in inferred {
            let canon = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if names.contains(&name) || paths.contains(&canon) {
                continue;
            }
            self.push_target(out, m, spec.kind, name, path, None);
        }
    }

    fn push_target(
        &mut self,
        out: &mut Vec<Target>,
        m: &Manifest,
        kind: TargetKind,
        name: String,
        path: PathBuf,
        line: Option<u32>,
    ) {
        let shown = rel_display(&m.dir, &path);
        match fs::metadata(&path) {
            Ok(md) if md.is_file() => match fs::canonicalize(&path) {
                Ok(root) => out.push(Target { name, kind, root }),
                Err(e) => self.problems.push(m.problem(
                    line,
                    format!(
                        "{} target `{name}`: cannot resolve `{shown}`: {e}",
                        kind.label()
                    ),
                )),
            },
            Ok(_) => self.problems.push(m.problem(
                line,
                format!("{} target `{name}`: `{shown}` is not a file", kind.label()),
            )),
            Err(_) => self.problems.push(m.problem(
                line,
                format!("{} target `{name}`: `{shown}` does not exist", kind.label()),
            )),
        }
    }

    fn finish(mut self, config_root: PathBuf, workspace_manifest: Option<PathBuf>) -> Discovery {
        let focus = if self.focused {
            let mut focus = std::mem::take(&mut self.focus);
            focus.extend(self.loose.iter().cloned());
            let full: Vec<PathBuf> = self.full.iter().cloned().collect();
            for dir in full {
                self.collect_rs(&dir, &mut focus);
            }
            Some(focus)
        } else {
            None
        };
        let mut problems = std::mem::take(&mut self.problems);
        problems.sort();
        problems.dedup();
        Discovery {
            config_root,
            workspace_manifest,
            packages: std::mem::take(&mut self.packages).into_values().collect(),
            loose_files: std::mem::take(&mut self.loose).into_iter().collect(),
            focus,
            problems,
        }
    }
}

struct KindSpec {
    kind: TargetKind,
    /// `bin`, `test`, `bench`, `example`.
    key: &'static str,
    /// Where targets of this kind are inferred from (`src/bin`, `tests`...).
    dir: PathBuf,
}

/// `dir/*.rs` and `dir/*/main.rs`, as (name, path), sorted by name. Symlinked directories are
/// not entered.
fn infer_targets(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in rd.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if ft.is_dir() {
            let main = path.join("main.rs");
            if main.is_file() {
                out.push((name, main));
            }
        } else if let Some(stem) = name.strip_suffix(".rs") {
            if !stem.is_empty() && path.is_file() {
                out.push((stem.to_string(), path));
            }
        }
    }
    out.sort();
    out
}

/// A walked `.rs` entry as an analysable file: regular files as they are, symbolic links only
/// when they resolve to a regular file (then by their resolved path).
fn rs_file(path: &Path, ft: fs::FileType) -> Option<PathBuf> {
    if ft.is_file() {
        Some(path.to_path_buf())
    } else if ft.is_symlink() {
        let resolved = fs::canonicalize(path).ok()?;
        resolved.is_file().then_some(resolved)
    } else {
        None
    }
}

fn skipped_dir_name(name: &str) -> bool {
    name.starts_with('.') || name == "target"
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// A real (non-symlink) directory, canonicalized.
fn real_dir(path: &Path) -> Option<PathBuf> {
    let md = fs::symlink_metadata(path).ok()?;
    if !md.is_dir() {
        return None;
    }
    fs::canonicalize(path).ok()
}

/// `path` relative to `base` with `/` separators when below it, else as is.
fn rel_display(base: &Path, path: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.display().to_string(),
    }
}

/// An array of strings under `key` in `table` (a Problem if it has another shape).
fn string_list(
    m: &Manifest,
    table: &toml::Table,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    match table.get(key) {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => {
            let strings: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            if strings.len() != items.len() {
                let line = m.line_of(key);
                problems.push(m.problem(
                    line,
                    format!("`workspace.{key}` must be an array of strings"),
                ));
            }
            strings
        }
        Some(_) => {
            let line = m.line_of(key);
            problems.push(m.problem(
                line,
                format!("`workspace.{key}` must be an array of strings"),
            ));
            Vec::new()
        }
    }
}

/// `path = "..."` dependencies of a manifest (all dependency tables, target-specific too),
/// as joined paths.
fn path_dependencies(m: &Manifest) -> Vec<PathBuf> {
    const TABLES: [&str; 5] = [
        "dependencies",
        "dev-dependencies",
        "build-dependencies",
        "dev_dependencies",
        "build_dependencies",
    ];
    let mut scopes: Vec<&toml::Table> = vec![&m.table];
    if let Some(targets) = m.table.get("target").and_then(toml::Value::as_table) {
        scopes.extend(targets.values().filter_map(toml::Value::as_table));
    }
    let mut out = Vec::new();
    for scope in scopes {
        for key in TABLES {
            let Some(deps) = scope.get(key).and_then(toml::Value::as_table) else {
                continue;
            };
            for dep in deps.values() {
                if let Some(p) = dep.get("path").and_then(toml::Value::as_str) {
                    out.push(m.dir.join(p));
                }
            }
        }
    }
    out
}

/// Workspace `exclude`: plain entries exclude a directory and everything below it; entries
/// with glob characters are matched against paths relative to the workspace root.
struct WsExclude {
    root: PathBuf,
    prefixes: Vec<PathBuf>,
    globs: Vec<GlobMatcher>,
}

impl WsExclude {
    fn new(root: &Path, entries: &[String]) -> Self {
        let mut prefixes = Vec::new();
        let mut globs = Vec::new();
        for e in entries {
            let e = e.trim().trim_end_matches('/');
            if e.is_empty() {
                continue;
            }
            if has_glob(e) {
                if let Ok(g) = GlobBuilder::new(e).literal_separator(true).build() {
                    globs.push(g.compile_matcher());
                }
            } else {
                let joined = root.join(e);
                prefixes.push(fs::canonicalize(&joined).unwrap_or(joined));
            }
        }
        WsExclude {
            root: root.to_path_buf(),
            prefixes,
            globs,
        }
    }

    fn excludes(&self, dir: &Path) -> bool {
        if self.prefixes.iter().any(|p| dir.starts_with(p)) {
            return true;
        }
        if self.globs.is_empty() {
            return false;
        }
        let Ok(rel) = dir.strip_prefix(&self.root) else {
            return false;
        };
        let mut acc = String::new();
        for c in rel.components() {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(&c.as_os_str().to_string_lossy());
            if self.globs.iter().any(|g| g.is_match(&acc)) {
                return true;
            }
        }
        false
    }
}

struct GlobMatches {
    /// Canonical directories matched (not symbolic links), sorted.
    dirs: Vec<PathBuf>,
    /// Symbolic links the pattern matched, which are not followed.
    symlinks: Vec<PathBuf>,
}

/// Expands a workspace member glob segment by segment (`*`, `?`, `[...]` within a segment;
/// `**` for any number of directories). Only real directories are matched; names starting
/// with `.` only by a segment that starts with `.`.
fn expand_glob(base: &Path, pattern: &str) -> Result<GlobMatches, String> {
    let mut current = vec![base.to_path_buf()];
    let mut symlinks = Vec::new();
    for seg in pattern.split('/') {
        if seg.is_empty() || seg == "." {
            continue;
        }
        let mut next = Vec::new();
        if seg == "**" {
            for c in &current {
                let mut stack = vec![c.clone()];
                while let Some(d) = stack.pop() {
                    next.push(d.clone());
                    for (path, name, ft) in list_dir(&d) {
                        if ft.is_dir() && !skipped_dir_name(&name) {
                            stack.push(path);
                        }
                    }
                }
            }
        } else if has_glob(seg) {
            let matcher = GlobBuilder::new(seg)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("invalid workspace member glob `{pattern}`: {}", e.kind()))?
                .compile_matcher();
            let dot_ok = seg.starts_with('.');
            for c in &current {
                for (path, name, ft) in list_dir(c) {
                    if (name.starts_with('.') && !dot_ok) || !matcher.is_match(&name) {
                        continue;
                    }
                    if ft.is_dir() {
                        next.push(path);
                    } else if ft.is_symlink() && path.is_dir() {
                        symlinks.push(path);
                    }
                }
            }
        } else {
            for c in &current {
                let p = c.join(seg);
                match fs::symlink_metadata(&p) {
                    Ok(md) if md.is_dir() => next.push(p),
                    Ok(md) if md.file_type().is_symlink() && p.is_dir() => symlinks.push(p),
                    _ => {}
                }
            }
        }
        current = next;
    }
    let mut dirs: Vec<PathBuf> = current
        .iter()
        .filter_map(|d| fs::canonicalize(d).ok())
        .collect();
    dirs.sort();
    dirs.dedup();
    symlinks.sort();
    symlinks.dedup();
    Ok(GlobMatches { dirs, symlinks })
}

/// Whether a Cargo.toml lies anywhere below `dir` (with the walk's skipping rules).
fn holds_manifest(dir: &Path) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for (path, name, ft) in list_dir(&d) {
            if ft.is_dir() {
                if !skipped_dir_name(&name) {
                    stack.push(path);
                }
            } else if name == MANIFEST {
                return true;
            }
        }
    }
    false
}

/// Entries of a directory (unreadable: none), sorted by path.
fn list_dir(dir: &Path) -> Vec<(PathBuf, String, fs::FileType)> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = rd
        .flatten()
        .filter_map(|e| {
            let ft = e.file_type().ok()?;
            Some((e.path(), e.file_name().to_string_lossy().into_owned(), ft))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static COUNTER: AtomicUsize = AtomicUsize::new(0);

    /// A temporary directory removed on drop (canonical path).
    struct Tmp(PathBuf);

    impl Tmp {
        fn new(tag: &str) -> Tmp {
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let dir = std::env::temp_dir().join(format!(
                "discover-test-{tag}-{}-{n}-{nanos}",
                std::process::id()
            ));
            fs::create_dir_all(&dir).expect("create temp dir");
            Tmp(fs::canonicalize(&dir).expect("canonical temp dir"))
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.0.join(rel)
        }

        fn write(&self, rel: &str, text: &str) -> PathBuf {
            let p = self.path(rel);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).expect("create parent");
            }
            fs::write(&p, text).expect("write file");
            p
        }

        fn mkdir(&self, rel: &str) -> PathBuf {
            let p = self.path(rel);
            fs::create_dir_all(&p).expect("mkdir");
            p
        }
    }

    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn pkg(name: &str) -> String {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
    }

    fn run(paths: &[PathBuf]) -> Discovery {
        discover(paths, &DiscoverOptions::default()).expect("discover")
    }

    fn run_with(paths: &[PathBuf], opts: &DiscoverOptions) -> Discovery {
        discover(paths, opts).expect("discover")
    }

    fn names(d: &Discovery) -> Vec<String> {
        d.packages.iter().map(|p| p.name.clone()).collect()
    }

    fn targets(p: &Package, base: &Path) -> Vec<(TargetKind, String, String)> {
        p.targets
            .iter()
            .map(|t| (t.kind, t.name.clone(), rel_display(base, &t.root)))
            .collect()
    }

    fn t(kind: TargetKind, name: &str, path: &str) -> (TargetKind, String, String) {
        (kind, name.to_string(), path.to_string())
    }

    fn rels(base: &Path, paths: &[PathBuf]) -> Vec<String> {
        paths.iter().map(|p| rel_display(base, p)).collect()
    }

    #[test]
    fn single_package_targets() {
        let tmp = Tmp::new("single");
        tmp.write(
            "Cargo.toml",
            &format!(
                "{}\n[[bin]]\nname = \"custom\"\npath = \"tools/custom.rs\"\n\n[[bin]]\nname = \"tool\"\npath = \"src/bin/tool.rs\"\n",
                pkg("my-app")
            ),
        );
        tmp.write("src/lib.rs", "");
        tmp.write("src/main.rs", "fn main() {}");
        tmp.write("src/bin/tool.rs", "fn main() {}");
        tmp.write("src/bin/multi/main.rs", "fn main() {}");
        tmp.write("src/bin/multi/helper.rs", "");
        tmp.write("tools/custom.rs", "fn main() {}");
        tmp.write("build.rs", "fn main() {}");
        let d = run(&[tmp.0.to_path_buf()]);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(names(&d), ["my-app"]);
        let p = &d.packages[0];
        assert_eq!(p.dir, tmp.0);
        assert_eq!(p.manifest_path, tmp.path("Cargo.toml"));
        assert_eq!(
            targets(p, &tmp.0),
            [
                t(TargetKind::Lib, "my_app", "src/lib.rs"),
                t(TargetKind::Bin, "custom", "tools/custom.rs"),
                t(TargetKind::Bin, "multi", "src/bin/multi/main.rs"),
                t(TargetKind::Bin, "my-app", "src/main.rs"),
                t(TargetKind::Bin, "tool", "src/bin/tool.rs"),
            ]
        );
        assert_eq!(d.config_root, tmp.0);
        assert_eq!(d.workspace_manifest, None);
        assert!(d.focus.is_none());
        assert!(d.loose_files.is_empty());
        assert_eq!(
            p.manifest
                .get("package")
                .and_then(|v| v.get("name"))
                .and_then(|v| v.as_str()),
            Some("my-app")
        );
    }

    #[test]
    fn lib_path_and_name_override_and_bin_without_path() {
        let tmp = Tmp::new("libpath");
        tmp.write(
            "Cargo.toml",
            &format!(
                "{}\n[lib]\nname = \"core_api\"\npath = \"lib/core.rs\"\n\n[[bin]]\nname = \"server\"\n\n[[bin]]\nname = \"srv\"\n",
                pkg("svc")
            ),
        );
        tmp.write("lib/core.rs", "");
        tmp.write("src/lib.rs", "// not the lib: [lib] path wins");
        tmp.write("src/bin/server/main.rs", "fn main() {}");
        let d = run(&[tmp.0.to_path_buf()]);
        assert_eq!(
            targets(&d.packages[0], &tmp.0),
            [
                t(TargetKind::Lib, "core_api", "lib/core.rs"),
                t(TargetKind::Bin, "server", "src/bin/server/main.rs"),
            ]
        );
        // `srv` has no file: a problem on its line, not an error.
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
        assert_eq!(d.problems[0].line, Some(14));
        assert!(d.problems[0].message.contains("`srv`"), "{:?}", d.problems);
    }

    #[test]
    fn autobins_false_and_edition_2015() {
        let tmp = Tmp::new("autobins");
        tmp.write(
            "a/Cargo.toml",
            "[package]\nname = \"a\"\nversion = \"0.1.0\"\nedition = \"2021\"\nautobins = false\n",
        );
        tmp.write("a/src/main.rs", "fn main() {}");
        tmp.write("a/src/bin/x.rs", "fn main() {}");
        // No edition: 2015, where listing a [[bin]] turns inference off.
        tmp.write(
            "b/Cargo.toml",
            "[package]\nname = \"b\"\nversion = \"0.1.0\"\n\n[[bin]]\nname = \"y\"\n",
        );
        tmp.write("b/src/main.rs", "fn main() {}");
        tmp.write("b/src/bin/y.rs", "fn main() {}");
        let d = run(&[tmp.0.to_path_buf()]);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(names(&d), ["a", "b"]);
        assert!(d.packages[0].targets.is_empty());
        assert_eq!(
            targets(&d.packages[1], &tmp.path("b")),
            [t(TargetKind::Bin, "y", "src/bin/y.rs")]
        );
    }

    #[test]
    fn inherited_fields_do_not_break_parsing() {
        let tmp = Tmp::new("inherit");
        tmp.write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"app\"]\n[workspace.package]\nversion = \"1.0.0\"\nedition = \"2021\"\n[workspace.metadata.stateless-lint]\nexclude = []\n",
        );
        tmp.write(
            "app/Cargo.toml",
            "[package]\nname = \"app\"\nversion.workspace = true\nedition = { workspace = true }\n[dependencies]\nserde = { workspace = true }\n[profile.release]\npanic = \"abort\"\n",
        );
        tmp.write("app/src/main.rs", "fn main() {}");
        let d = run(&[tmp.path("app")]);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(names(&d), ["app"]);
        assert_eq!(
            targets(&d.packages[0], &tmp.path("app")),
            [t(TargetKind::Bin, "app", "src/main.rs")]
        );
        // Only the package given, but configuration comes from the workspace root.
        assert_eq!(d.config_root, tmp.0);
        assert_eq!(d.workspace_manifest, Some(tmp.path("Cargo.toml")));
    }

    #[test]
    fn workspace_members_globs_exclude_and_path_deps() {
        let tmp = Tmp::new("ws");
        tmp.write(
            "Cargo.toml",
            &format!(
                "{}\n[workspace]\nmembers = [\"crates/*\", \"tools/cli\"]\nexclude = [\"crates/skip\"]\n\n[dependencies]\nutil = {{ path = \"libs/util\" }}\n",
                pkg("root")
            ),
        );
        tmp.write("src/lib.rs", "");
        for m in [
            "crates/a",
            "crates/b",
            "crates/skip",
            "tools/cli",
            "libs/util",
        ] {
            let name = m.rsplit('/').next().unwrap_or(m);
            tmp.write(&format!("{m}/Cargo.toml"), &pkg(name));
            tmp.write(&format!("{m}/src/lib.rs"), "");
        }
        tmp.write("crates/README.md", "not a member");
        tmp.write("crates/.cache/Cargo.toml", "not [valid");
        tmp.write("unlisted/Cargo.toml", &pkg("unlisted"));
        let d = run(&[tmp.0.to_path_buf()]);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(names(&d), ["root", "a", "b", "util", "cli"]);
        assert_eq!(d.config_root, tmp.0);
        assert_eq!(d.workspace_manifest, Some(tmp.path("Cargo.toml")));

        // The same workspace given through its Cargo.toml.
        let again = run(&[tmp.path("Cargo.toml")]);
        assert_eq!(names(&again), names(&d));

        // A member given directly: only it, but config from the root.
        let one = run(&[tmp.path("crates/b")]);
        assert_eq!(names(&one), ["b"]);
        assert_eq!(one.config_root, tmp.0);
        // An excluded member is its own root.
        let skip = run(&[tmp.path("crates/skip")]);
        assert_eq!(skip.config_root, tmp.path("crates/skip"));
        assert_eq!(skip.workspace_manifest, None);
        // A path dependency inside the workspace is a member.
        let util = run(&[tmp.path("libs/util")]);
        assert_eq!(util.config_root, tmp.0);
    }

    #[test]
    fn member_problems() {
        let tmp = Tmp::new("wsbad");
        tmp.write(
            "Cargo.toml",
            "[workspace]\nmembers = [\n  \"crates/*\",\n  \"services/*\",\n  \"missing\",\n  \"nomanifest\",\n]\n",
        );
        tmp.write("crates/ok/Cargo.toml", &pkg("ok"));
        tmp.write("crates/ok/src/lib.rs", "");
        tmp.mkdir("crates/empty");
        tmp.mkdir("nomanifest");
        let d = run(&[tmp.0.to_path_buf()]);
        assert_eq!(names(&d), ["ok"]);
        let got: Vec<(Option<u32>, String)> = d
            .problems
            .iter()
            .map(|p| (p.line, p.message.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Some(3),
                    "workspace member `crates/empty` (matched by `crates/*`) has no Cargo.toml"
                        .to_string()
                ),
                (
                    Some(4),
                    "workspace member glob `services/*` matches no package".to_string()
                ),
                (
                    Some(5),
                    "workspace member `missing` does not exist".to_string()
                ),
                (
                    Some(6),
                    "workspace member `nomanifest` has no Cargo.toml".to_string()
                ),
            ]
        );
        assert!(d.problems.iter().all(|p| p.path == tmp.path("Cargo.toml")));
        assert_eq!(d.workspace_manifest, Some(tmp.path("Cargo.toml")));
    }

    #[test]
    fn malformed_manifest_is_a_problem_with_line() {
        let tmp = Tmp::new("malformed");
        tmp.write(
            "bad/Cargo.toml",
            "[package]\nname = \"bad\"\nversion = = \"1\"\n",
        );
        tmp.write("bad/src/lib.rs", "");
        tmp.write("good/Cargo.toml", &pkg("good"));
        tmp.write("good/src/lib.rs", "");
        let d = run(&[tmp.0.to_path_buf()]);
        assert_eq!(names(&d), ["good"]);
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
        assert_eq!(d.problems[0].path, tmp.path("bad/Cargo.toml"));
        assert_eq!(d.problems[0].line, Some(3));
        assert!(d.problems[0].message.starts_with("invalid Cargo.toml"));
        // The broken package's files are not taken as loose files.
        assert!(d.loose_files.is_empty(), "{:?}", d.loose_files);

        // Given directly, with another path: a problem, and the other path still discovered.
        let d = run(&[tmp.path("bad"), tmp.path("good")]);
        assert_eq!(names(&d), ["good"]);
        assert_eq!(d.problems.len(), 1);
        assert_eq!(d.config_root, tmp.path("bad"));

        // Deeply nested TOML is refused, not a crash.
        let deep = format!("a = {}{}", "[".repeat(50_000), "]".repeat(50_000));
        tmp.write("deep/Cargo.toml", &deep);
        let d = run(&[tmp.path("deep")]);
        assert_eq!(d.problems.len(), 1);
    }

    #[test]
    fn directory_without_manifest() {
        let tmp = Tmp::new("mono");
        tmp.write("services/api/Cargo.toml", &pkg("api"));
        tmp.write("services/api/src/main.rs", "fn main() {}");
        tmp.write("services/api/src/stray.rs", "");
        tmp.write("services/api/scripts/gen.rs", "");
        // A fixture crate inside a package is a package of its own when walking.
        tmp.write("services/api/fixtures/f1/Cargo.toml", &pkg("f1"));
        tmp.write("services/api/fixtures/f1/src/lib.rs", "");
        tmp.write("libs/common/Cargo.toml", &pkg("common"));
        tmp.write("libs/common/src/lib.rs", "");
        tmp.write("scripts/one.rs", "fn main() {}");
        tmp.write("scripts/nested/two.rs", "fn main() {}");
        tmp.write("scripts/notes.txt", "");
        tmp.write("target/debug/build/x/Cargo.toml", &pkg("in-target"));
        tmp.write("target/debug/gen.rs", "");
        tmp.write(".hidden/Cargo.toml", &pkg("hidden"));
        tmp.write(".hidden/x.rs", "");
        let d = run(&[tmp.0.to_path_buf()]);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(names(&d), ["common", "api", "f1"]);
        assert_eq!(
            rels(&tmp.0, &d.loose_files),
            ["scripts/nested/two.rs", "scripts/one.rs"]
        );
        assert_eq!(d.config_root, tmp.0);
        assert_eq!(d.workspace_manifest, None);
        assert!(d.focus.is_none());

        // Pointing at the package directory: only that package, no fixture crates.
        let d = run(&[tmp.path("services/api")]);
        assert_eq!(names(&d), ["api"]);
        assert!(d.loose_files.is_empty());

        // A folder of fixture crates inside a package: those crates, configured from the folder.
        let d = run(&[tmp.path("services/api/fixtures")]);
        assert_eq!(names(&d), ["f1"]);
        assert_eq!(d.config_root, tmp.path("services/api/fixtures"));
        assert!(d.focus.is_none());
        // A source folder of the package: the package, configured from the package root.
        let d = run(&[tmp.path("services/api/src")]);
        assert_eq!(names(&d), ["api"]);
        assert_eq!(d.config_root, tmp.path("services/api"));
        let focus: Vec<PathBuf> = d.focus.unwrap_or_default().into_iter().collect();
        assert_eq!(
            rels(&tmp.0, &focus),
            ["services/api/src/main.rs", "services/api/src/stray.rs"]
        );
    }

    #[test]
    fn workspace_found_by_walking_is_not_duplicated() {
        let tmp = Tmp::new("walkws");
        tmp.write("ws/Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n");
        tmp.write("ws/crates/a/Cargo.toml", &pkg("a"));
        tmp.write("ws/crates/a/src/lib.rs", "");
        tmp.write("ws/crates/b/Cargo.toml", &pkg("b"));
        tmp.write("ws/crates/b/src/main.rs", "fn main() {}");
        tmp.write("ws/tools/x.rs", "");
        let d = run(&[tmp.0.to_path_buf()]);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(names(&d), ["a", "b"]);
        assert_eq!(rels(&tmp.0, &d.loose_files), ["ws/tools/x.rs"]);

        // A directory inside the workspace: configuration from the workspace root.
        let d = run(&[tmp.path("ws/crates")]);
        assert_eq!(names(&d), ["a", "b"]);
        assert_eq!(d.config_root, tmp.path("ws"));
        assert_eq!(d.workspace_manifest, Some(tmp.path("ws/Cargo.toml")));
    }

    #[test]
    fn rs_file_paths_set_focus() {
        let tmp = Tmp::new("focus");
        tmp.write("app/Cargo.toml", &pkg("app"));
        tmp.write("app/src/main.rs", "mod routes;");
        let routes = tmp.write("app/src/routes.rs", "");
        tmp.write("other/Cargo.toml", &pkg("other"));
        tmp.write("other/src/lib.rs", "mod a;");
        tmp.write("other/src/a.rs", "");
        let loose = tmp.write("loose/script.rs", "fn main() {}");

        let d = run(&[routes.to_path_buf()]);
        assert_eq!(names(&d), ["app"]);
        assert_eq!(d.focus, Some(BTreeSet::from([routes.clone()])));
        assert_eq!(d.config_root, tmp.path("app"));

        let d = run(&[loose.to_path_buf()]);
        assert!(d.packages.is_empty());
        assert_eq!(d.loose_files, vec![loose.clone()]);
        assert_eq!(d.focus, Some(BTreeSet::from([loose.clone()])));
        assert_eq!(d.config_root, tmp.path("loose"));

        // A file and a whole package: findings in every file of that package are reported.
        let d = run(&[routes.clone(), tmp.path("other")]);
        assert_eq!(names(&d), ["app", "other"]);
        let focus = d.focus.unwrap_or_default();
        let focus: Vec<PathBuf> = focus.into_iter().collect();
        assert_eq!(
            rels(&tmp.0, &focus),
            ["app/src/routes.rs", "other/src/a.rs", "other/src/lib.rs"]
        );

        // A directory inside a package: the package, focused on the files below it.
        tmp.write("app/src/handlers/mod.rs", "");
        tmp.write("app/src/handlers/users.rs", "");
        let d = run(&[tmp.path("app/src/handlers")]);
        assert_eq!(names(&d), ["app"]);
        assert!(d.loose_files.is_empty());
        let focus: Vec<PathBuf> = d.focus.unwrap_or_default().into_iter().collect();
        assert_eq!(
            rels(&tmp.0, &focus),
            ["app/src/handlers/mod.rs", "app/src/handlers/users.rs"]
        );
        assert_eq!(d.config_root, tmp.path("app"));

        // A relative path is resolved against the current directory.
        let cwd = std::env::current_dir().expect("cwd");
        if let Ok(rel) = routes.strip_prefix(&cwd) {
            assert_eq!(names(&run(&[rel.to_path_buf()])), ["app"]);
        }
    }

    #[test]
    fn include_tests_on_and_off() {
        let tmp = Tmp::new("tests");
        tmp.write(
            "Cargo.toml",
            &format!(
                "{}\n[[test]]\nname = \"custom\"\npath = \"checks/custom.rs\"\n\n[[example]]\nname = \"demo\"\n",
                pkg("p")
            ),
        );
        tmp.write("src/lib.rs", "");
        tmp.write("tests/it.rs", "");
        tmp.write("tests/common/mod.rs", "");
        tmp.write("tests/multi/main.rs", "");
        tmp.write("checks/custom.rs", "");
        tmp.write("benches/speed.rs", "");
        tmp.write("examples/demo/main.rs", "fn main() {}");
        tmp.write("examples/basic.rs", "fn main() {}");
        let off = run(&[tmp.0.to_path_buf()]);
        assert_eq!(
            targets(&off.packages[0], &tmp.0),
            [t(TargetKind::Lib, "p", "src/lib.rs")]
        );
        let on = run_with(
            &[tmp.0.to_path_buf()],
            &DiscoverOptions {
                include_tests: true,
                exclude: Vec::new(),
            },
        );
        assert!(on.problems.is_empty(), "{:?}", on.problems);
        assert_eq!(
            targets(&on.packages[0], &tmp.0),
            [
                t(TargetKind::Lib, "p", "src/lib.rs"),
                t(TargetKind::Test, "custom", "checks/custom.rs"),
                t(TargetKind::Test, "it", "tests/it.rs"),
                t(TargetKind::Test, "multi", "tests/multi/main.rs"),
                t(TargetKind::Bench, "speed", "benches/speed.rs"),
                t(TargetKind::Example, "basic", "examples/basic.rs"),
                t(TargetKind::Example, "demo", "examples/demo/main.rs"),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_do_not_hang() {
        use std::os::unix::fs::symlink;
        let tmp = Tmp::new("symlink");
        tmp.write("src/a.rs", "");
        tmp.write("pkg/Cargo.toml", &pkg("pkg"));
        tmp.write("pkg/src/lib.rs", "");
        symlink(&tmp.0, tmp.path("src/loop")).expect("symlink");
        symlink(tmp.path("src"), tmp.path("src/self")).expect("symlink");
        symlink(tmp.path("pkg"), tmp.path("pkg-link")).expect("symlink");
        tmp.write("elsewhere/real.rs", "");
        fs::create_dir_all(tmp.path("links")).expect("mkdir");
        symlink(tmp.path("elsewhere/real.rs"), tmp.path("links/alias.rs")).expect("symlink");
        symlink(tmp.path("nowhere.rs"), tmp.path("links/dangling.rs")).expect("symlink");
        let d = run(&[tmp.0.to_path_buf()]);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(names(&d), ["pkg"]);
        assert_eq!(
            rels(&tmp.0, &d.loose_files),
            ["elsewhere/real.rs", "src/a.rs"]
        );
        // Workspace member globs do not follow symbolic links either.
        tmp.write("ws/Cargo.toml", "[workspace]\nmembers = [\"m/*\"]\n");
        fs::create_dir_all(tmp.path("ws/m")).expect("mkdir");
        symlink(tmp.path("pkg"), tmp.path("ws/m/linked")).expect("symlink");
        let d = run(&[tmp.path("ws")]);
        assert!(d.packages.is_empty());
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
        assert!(d.problems[0].message.contains("symbolic link"));
    }

    #[test]
    fn exclude_globs() {
        let tmp = Tmp::new("exclude");
        tmp.write("generated/deep/x.rs", "");
        tmp.write("generated/pkg/Cargo.toml", &pkg("genpkg"));
        tmp.write("generated/pkg/src/lib.rs", "");
        tmp.write("src/legacy/old.rs", "");
        tmp.write("src/legacy/keep.txt", "");
        tmp.write("src/legacy/sub/older.rs", "");
        tmp.write("src/new.rs", "");
        tmp.write("vendor/v/Cargo.toml", &pkg("vendored"));
        tmp.write("vendor/v/src/lib.rs", "");
        tmp.write("svc/Cargo.toml", &pkg("svc"));
        tmp.write("svc/src/lib.rs", "");
        let opts = DiscoverOptions {
            include_tests: false,
            exclude: vec![
                "generated/**".into(),
                "**/legacy/*.rs".into(),
                "vendor/".into(),
            ],
        };
        let d = run_with(&[tmp.0.to_path_buf()], &opts);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(names(&d), ["svc"]);
        assert_eq!(rels(&tmp.0, &d.loose_files), ["src/new.rs"]);

        // Workspace members can be excluded too.
        tmp.write("ws/Cargo.toml", "[workspace]\nmembers = [\"*\"]\n");
        tmp.write("ws/a/Cargo.toml", &pkg("a"));
        tmp.write("ws/a/src/lib.rs", "");
        tmp.write("ws/b/Cargo.toml", &pkg("b"));
        tmp.write("ws/b/src/lib.rs", "");
        let opts = DiscoverOptions {
            include_tests: false,
            exclude: vec!["b".into()],
        };
        let d = run_with(&[tmp.path("ws")], &opts);
        assert_eq!(names(&d), ["a"]);

        let err = discover(
            &[tmp.0.to_path_buf()],
            &DiscoverOptions {
                include_tests: false,
                exclude: vec!["src/[oops".into()],
            },
        );
        match err {
            Err(DiscoverError::Other(msg)) => assert!(msg.contains("src/[oops"), "{msg}"),
            other => panic!("expected a bad glob error, got {other:?}"),
        }
    }

    #[test]
    fn is_excluded_semantics() {
        let set = exclude_matcher(&[
            "generated/**".into(),
            "**/tests/**".into(),
            "*.bak.rs".into(),
            "/opt/abs/**".into(),
            "./docs/".into(),
        ])
        .expect("globs");
        let root = Path::new("/home/ci/tests/project");
        let ex = |p: &str| is_excluded(&set, root, Path::new(p));
        assert!(ex("/home/ci/tests/project/generated"));
        assert!(ex("/home/ci/tests/project/generated/a/b.rs"));
        assert!(ex("/home/ci/tests/project/crates/x/tests/it.rs"));
        assert!(ex("/home/ci/tests/project/tests/it.rs"));
        assert!(ex("/home/ci/tests/project/src/a.bak.rs"));
        assert!(ex("/home/ci/tests/project/docs/x.rs"));
        assert!(ex("/opt/abs/x.rs"));
        // The checkout living under a `tests` directory does not exclude everything.
        assert!(!ex("/home/ci/tests/project/src/main.rs"));
        assert!(!ex("/home/ci/tests/project"));
        assert!(!ex("/home/ci/tests/project/src/generated.rs"));
        assert!(!ex("/elsewhere/generated/x.rs"));
        let empty = exclude_matcher(&[]).expect("empty");
        assert!(!is_excluded(&empty, root, Path::new("/x")));
    }

    #[test]
    fn usage_errors() {
        let tmp = Tmp::new("errors");
        let missing = tmp.path("does/not/exist");
        match discover(&[missing.to_path_buf()], &DiscoverOptions::default()) {
            Err(e @ DiscoverError::PathNotFound(_)) => {
                assert!(e.to_string().contains("does/not/exist"), "{e}");
            }
            other => panic!("expected PathNotFound, got {other:?}"),
        }
        let txt = tmp.write("notes.txt", "");
        assert!(matches!(
            discover(&[txt], &DiscoverOptions::default()),
            Err(DiscoverError::Other(_))
        ));
    }

    #[test]
    fn empty_paths_mean_current_directory() {
        let cwd = fs::canonicalize(std::env::current_dir().expect("cwd")).expect("canonical");
        let d = run(&[]);
        if cwd.join(MANIFEST).is_file() {
            assert!(d.packages.iter().any(|p| p.dir == cwd) || !d.problems.is_empty());
        }
    }

    #[test]
    fn manifest_without_sections_and_bad_shapes() {
        let tmp = Tmp::new("shapes");
        tmp.write("empty/Cargo.toml", "# nothing\n");
        tmp.write(
            "shapes/Cargo.toml",
            "bin = 3\n[package]\nname = \"shapes\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        );
        tmp.write("shapes/src/main.rs", "fn main() {}");
        tmp.write("noname/Cargo.toml", "[package]\nversion = \"0.1.0\"\n");
        tmp.write("noname/src/lib.rs", "");
        let d = run(&[tmp.path("empty"), tmp.path("shapes"), tmp.path("noname")]);
        assert_eq!(names(&d), ["noname", "shapes"]);
        assert_eq!(d.problems.len(), 3, "{:?}", d.problems);
        // Broken shapes do not stop inference.
        assert_eq!(
            targets(&d.packages[1], &tmp.path("shapes")),
            [t(TargetKind::Bin, "shapes", "src/main.rs")]
        );
    }
}
