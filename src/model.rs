//! The crate model: computed once per crate from the files' facts, then read-only and shared
//! by every rule. It answers "what does this name really refer to?" (name resolution
//! through `use` items, globs, re-exports and `self`/`super`/`crate`), "which fn is this
//! call?" (across files and targets of a package) and "does this code run on the async
//! executor?" (async context, escapes, startup code).

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::path::Path;

use crate::catalog::{BlockingCatalog, Returns};
use crate::discover::TargetKind;
use crate::facts::{
    CallSite, Callee, FnFacts, Import, ModPath, Name, ScopeKind, StructFacts, TypeExpr,
};
use crate::load::LoadedCrate;
use crate::parse::ParsedFile;
use compact_str::ToCompactString;

pub type FnId = usize;

/// Where a path leads.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Resolved {
    /// A crate-local item: target index and path inside the target (no leading `crate`).
    Local { target: usize, path: Vec<Name> },
    /// An item of another crate (or the standard library), by full path.
    Extern(Vec<Name>),
}

/// A resolved type, as far as syntax tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolvedType {
    Local { target: usize, name: Name },
    Extern(Vec<Name>),
    Tuple(Vec<ResolvedType>),
}

/// Whether code runs on the async executor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecContext {
    /// On the executor: an async fn, an async block, a closure inside one, or a sync handler
    /// that a framework calls inline. The string says why, for notes.
    Async(Name),
    /// Ordinary sync code: blocking here matters only if async code calls it.
    Sync,
    /// Start-up code (`main`, fns only reached from it): blocking harms no request.
    Startup,
    /// Inside a closure given to an escape (`spawn_blocking`...).
    Escaped(Name),
}

/// One fn of the crate with where it lives.
#[derive(Clone, Debug)]
pub struct FnInfo {
    pub file: usize,
    pub index: usize,
    pub target: usize,
}

/// What a call site calls.
#[derive(Clone, Debug)]
pub enum CallTarget {
    /// A fn of this crate.
    Local(FnId),
    /// A path outside the crate (candidates: glob imports can leave several).
    Extern(Vec<Vec<Name>>),
    /// A method on a receiver of a known external type.
    ExternMethod {
        ty: Vec<Name>,
        name: Name,
    },
    /// A method whose receiver type is unknown.
    UnknownMethod {
        name: Name,
    },
    Unknown,
}

/// One module's names, indexed: lookups are hash probes, never scans (a generated file can
/// hold hundreds of thousands of items).
#[derive(Default)]
struct ModuleEntry<'a> {
    /// The first non-glob import of each name.
    named: HashMap<&'a str, &'a Import>,
    globs: Vec<&'a Import>,
    items: HashSet<&'a str>,
    aliases: HashMap<&'a str, &'a [Name]>,
}

pub struct CrateModel<'a> {
    pub krate: &'a LoadedCrate,
    pub catalog: &'a BlockingCatalog,
    pub fns: Vec<FnInfo>,
    file_target: Vec<usize>,
    lib_target: Option<(usize, Name)>,
    /// Per target and struct name: the module it is defined in and its field types.
    structs: HashMap<(usize, &'a str), (&'a ModPath, &'a StructFacts)>,
    /// Per target: module path → its names.
    modules: Vec<HashMap<ModPath, ModuleEntry<'a>>>,
    /// Keys borrow the facts: a lookup builds no key (the maps are covariant, so a key of
    /// shorter-lived borrows is accepted).
    free_fns: HashMap<(usize, &'a [Name], &'a str), FnId>,
    methods: HashMap<(usize, &'a str, &'a str), Vec<FnId>>,
    nested_fns: HashMap<(FnId, &'a str), FnId>,
    /// Per fn: the resolved target of each call site.
    call_targets: Vec<Vec<CallTarget>>,
    /// Per fn: the execution context of each scope.
    contexts: Vec<Vec<ExecContext>>,
    /// Crate fns that hand a closure parameter to an escape (`fn asyncify(f) { spawn_blocking(f) }`).
    escape_wrappers: HashMap<FnId, Name>,
    /// The routes and servers, built on first use (see [`CrateModel::routes`]).
    route_table: std::cell::OnceCell<crate::routes::RouteTable>,
    /// The code that runs per request, built on first use (see [`CrateModel::request_code`]).
    request_code: std::cell::OnceCell<crate::request_code::RequestCode>,
}

impl<'a> CrateModel<'a> {
    pub fn build(krate: &'a LoadedCrate, catalog: &'a BlockingCatalog) -> CrateModel<'a> {
        let mut file_target = vec![0; krate.files.len()];
        for (t, target) in krate.targets.iter().enumerate() {
            for &f in &target.files {
                file_target[f] = t;
            }
        }
        let lib_target = krate
            .targets
            .iter()
            .position(|t| t.kind == TargetKind::Lib)
            .map(|t| (t, Name::from(krate.targets[t].name.replace('-', "_"))));
        let mut model = CrateModel {
            krate,
            catalog,
            fns: Vec::new(),
            file_target,
            lib_target,
            modules: (0..krate.targets.len().max(1))
                .map(|_| HashMap::new())
                .collect(),
            structs: HashMap::new(),
            free_fns: HashMap::new(),
            methods: HashMap::new(),
            nested_fns: HashMap::new(),
            call_targets: Vec::new(),
            contexts: Vec::new(),
            escape_wrappers: HashMap::new(),
            route_table: std::cell::OnceCell::new(),
            request_code: std::cell::OnceCell::new(),
        };
        model.index();
        model.resolve_calls();
        model.find_escape_wrappers();
        model.compute_contexts();
        model
    }

    /// Every route and server of the crate (built once, on first use).
    pub fn routes(&self) -> &crate::routes::RouteTable {
        self.route_table.get_or_init(|| crate::routes::build(self))
    }

    /// The code that runs per request: mounted handlers and what they call (built once, on
    /// first use, from the route table).
    pub fn request_code(&self) -> &crate::request_code::RequestCode {
        self.request_code
            .get_or_init(|| crate::request_code::RequestCode::of(self))
    }

    pub fn file(&self, f: usize) -> &'a ParsedFile {
        &self.krate.files[f]
    }

    pub fn fn_facts(&self, id: FnId) -> &'a FnFacts {
        let info = &self.fns[id];
        &self.krate.files[info.file].facts.fns[info.index]
    }

    pub fn fn_path(&self, id: FnId) -> &'a Path {
        &self.krate.files[self.fns[id].file].path
    }

    /// A readable name: `module::Type::name`.
    pub fn fn_display(&self, id: FnId) -> String {
        let f = self.fn_facts(id);
        let mut parts: Vec<&str> = f.module.iter().map(Name::as_str).collect();
        if let Some(t) = &f.self_ty {
            parts.push(t);
        }
        parts.push(&f.name);
        parts.join("::")
    }

    pub fn call_target(&self, id: FnId, call: usize) -> &CallTarget {
        &self.call_targets[id][call]
    }

    pub fn context(&self, id: FnId, scope: usize) -> &ExecContext {
        &self.contexts[id][scope]
    }

    /// The target (lib, bin...) a file belongs to.
    pub fn file_target(&self, file: usize) -> usize {
        self.file_target.get(file).copied().unwrap_or(0)
    }

    /// The file imports from crate `name` (any `use name::...`).
    pub fn file_imports_crate(&self, file: usize, name: &str) -> bool {
        self.krate.files[file]
            .facts
            .imported_roots
            .binary_search_by(|r| r.as_str().cmp(name))
            .is_ok()
    }

    // -----------------------------------------------------------------------------------
    // Indexing

    fn index(&mut self) {
        for fi in 0..self.krate.files.len() {
            let file = &self.krate.files[fi];
            let target = self.file_target[fi];
            let krate: &'a LoadedCrate = self.krate;
            for m in &krate.files[fi].facts.modules {
                let Some(table) = self.modules.get_mut(target) else {
                    continue;
                };
                if table.contains_key(&m.path) {
                    continue;
                }
                let mut e = ModuleEntry::default();
                for imp in &m.imports {
                    if imp.is_glob {
                        e.globs.push(imp);
                    } else {
                        e.named.entry(imp.name.as_str()).or_insert(imp);
                    }
                }
                e.items = m.items.iter().map(Name::as_str).collect();
                for (n, t) in &m.aliases {
                    e.aliases.entry(n.as_str()).or_insert(t.as_slice());
                }
                for st in &m.structs {
                    self.structs
                        .entry((target, st.name.as_str()))
                        .or_insert((&m.path, st));
                }
                table.insert(m.path.clone(), e);
            }
            let base = self.fns.len();
            for (i, f) in file.facts.fns.iter().enumerate() {
                let id = self.fns.len();
                self.fns.push(FnInfo {
                    file: fi,
                    index: i,
                    target,
                });
                match (&f.self_ty, f.parent_fn) {
                    (_, Some(parent)) => {
                        self.nested_fns.insert((base + parent, f.name.as_str()), id);
                    }
                    (Some(ty), None) => self
                        .methods
                        .entry((target, ty.as_str(), f.name.as_str()))
                        .or_default()
                        .push(id),
                    (None, None) => {
                        self.free_fns
                            .entry((target, f.module.as_slice(), f.name.as_str()))
                            .or_insert(id);
                    }
                }
            }
        }
    }

    fn module(&self, target: usize, module: &[Name]) -> Option<&ModuleEntry<'a>> {
        self.modules.get(target)?.get(module)
    }

    /// The non-glob import of `name` in a module.
    fn named_import(&self, target: usize, module: &[Name], name: &str) -> Option<&'a Import> {
        self.module(target, module)?.named.get(name).copied()
    }

    fn glob_imports(&self, target: usize, module: &[Name]) -> &[&'a Import] {
        self.module(target, module).map_or(&[], |e| &e.globs[..])
    }

    fn alias(&self, target: usize, module: &[Name], name: &str) -> Option<&'a [Name]> {
        self.module(target, module)?.aliases.get(name).copied()
    }

    /// `name` in `module` is a free fn and neither a module nor a struct, so a path
    /// `name::x` cannot go through it (an extern crate of that name is meant).
    fn is_only_a_fn(&self, target: usize, module: &[Name], name: &str) -> bool {
        if !self.free_fns.contains_key(&(target, module, name)) {
            return false;
        }
        let mut sub = module.to_vec();
        sub.push(name.to_compact_string());
        let is_module = self
            .modules
            .get(target)
            .is_some_and(|m| m.contains_key(&sub));
        !is_module && !self.structs.contains_key(&(target, name))
    }

    fn module_has_item(&self, target: usize, module: &[Name], name: &str) -> bool {
        self.module(target, module)
            .is_some_and(|e| e.items.contains(name))
    }

    // -----------------------------------------------------------------------------------
    // Name resolution

    /// Resolves a path written in `module` of `target`. Several results only when glob
    /// imports from other crates leave the answer open.
    pub fn resolve_path(&self, target: usize, module: &[Name], segs: &[Name]) -> Vec<Resolved> {
        let mut visited = HashSet::new();
        self.resolve_depth(target, module, segs, 0, &mut visited)
    }

    fn resolve_depth(
        &self,
        target: usize,
        module: &[Name],
        segs: &[Name],
        depth: u32,
        visited: &mut HashSet<(usize, Vec<Name>)>,
    ) -> Vec<Resolved> {
        let Some(first) = segs.first() else {
            return Vec::new();
        };
        if depth > 16 {
            return vec![Resolved::Extern(segs.to_vec())];
        }
        match first.as_str() {
            "crate" => {
                return vec![Resolved::Local {
                    target,
                    path: segs[1..].to_vec(),
                }]
            }
            "self" | "super" => {
                let abs = crate::facts::absolutize(segs, &module.to_vec());
                return vec![Resolved::Local {
                    target,
                    path: abs[1..].to_vec(),
                }];
            }
            _ => {}
        }
        // One lookup of the module's names for the steps below.
        let entry = self.module(target, module);
        // A name imported by a `use` item of this module.
        if let Some(imp) = entry.and_then(|e| e.named.get(first.as_str()).copied()) {
            let mut full = imp.target.clone();
            full.extend(segs[1..].iter().cloned());
            return self.resolve_use_target(target, module, &full, depth + 1);
        }
        // An item defined in this module (a fn is not a path prefix: `fn rocket()` next to
        // `rocket::fs::NamedFile` lives in the value namespace).
        if entry.is_some_and(|e| e.items.contains(first.as_str()))
            && !(segs.len() > 1 && self.is_only_a_fn(target, module, first))
        {
            let mut path = module.to_vec();
            path.extend(segs.iter().cloned());
            return vec![Resolved::Local { target, path }];
        }
        // The package's library, used from a binary.
        if let Some((lib, name)) = &self.lib_target {
            if first == name && *lib != target {
                return vec![Resolved::Local {
                    target: *lib,
                    path: segs[1..].to_vec(),
                }];
            }
        }
        // Glob imports.
        let mut out = Vec::new();
        for imp in entry.map_or(&[][..], |e| &e.globs[..]) {
            for base in self.resolve_use_target(target, module, &imp.target, depth + 1) {
                match base {
                    Resolved::Local { target: t, path } => {
                        let has_name = self.module(t, &path).is_some_and(|e| {
                            e.items.contains(first.as_str()) || e.named.contains_key(first.as_str())
                        });
                        if has_name && visited.insert((t, path.clone())) {
                            return self.resolve_depth(t, &path, segs, depth + 1, visited);
                        }
                    }
                    Resolved::Extern(mut p) => {
                        if is_prelude_name(first) {
                            continue;
                        }
                        p.extend(segs.iter().cloned());
                        out.push(Resolved::Extern(p));
                    }
                }
            }
        }
        // The path as written: an extern crate or a prelude item; kept even when globs gave
        // candidates (the name may come from neither glob).
        out.push(Resolved::Extern(segs.to_vec()));
        out
    }

    /// Resolves the target of a `use` item written in `module`. In edition 2018+ a `use`
    /// path may start with a name in scope (a local module) or an extern crate.
    fn resolve_use_target(
        &self,
        target: usize,
        module: &[Name],
        path: &[Name],
        depth: u32,
    ) -> Vec<Resolved> {
        let Some(first) = path.first() else {
            return Vec::new();
        };
        if first == "crate" {
            return vec![Resolved::Local {
                target,
                path: path[1..].to_vec(),
            }];
        }
        let entry = self.module(target, module);
        if entry.is_some_and(|e| e.items.contains(first.as_str()))
            && !(path.len() > 1 && self.is_only_a_fn(target, module, first))
        {
            let mut p = module.to_vec();
            p.extend(path.iter().cloned());
            return vec![Resolved::Local { target, path: p }];
        }
        if let Some((lib, name)) = &self.lib_target {
            if first == name && *lib != target {
                return vec![Resolved::Local {
                    target: *lib,
                    path: path[1..].to_vec(),
                }];
            }
        }
        // `use foo::bar` where `foo` was itself imported in this module (`use a::foo;`).
        if depth < 16 {
            if let Some(imp) = entry
                .and_then(|e| e.named.get(first.as_str()).copied())
                .filter(|i| i.target.len() > 1)
            {
                let mut full = imp.target.clone();
                full.extend(path[1..].iter().cloned());
                return self.resolve_use_target(target, module, &full, depth + 1);
            }
        }
        vec![Resolved::Extern(path.to_vec())]
    }

    /// The crate-local fn at a resolved local path, following re-exports.
    pub fn local_fn(&self, target: usize, path: &[Name]) -> Option<FnId> {
        let mut visited = HashSet::new();
        self.local_fn_depth(target, path, 0, &mut visited)
    }

    /// `visited` holds the (target, path) pairs already tried: glob re-exports often form
    /// cycles (`pub use crate::*;`), and without it the search is exponential.
    fn local_fn_depth(
        &self,
        target: usize,
        path: &[Name],
        depth: u32,
        visited: &mut HashSet<(usize, Vec<Name>)>,
    ) -> Option<FnId> {
        let (name, module) = path.split_last()?;
        if let Some(&id) = self.free_fns.get(&(target, module, name.as_str())) {
            return Some(id);
        }
        if depth > 16 || !visited.insert((target, path.to_vec())) {
            return None;
        }
        // A re-export: `pub use inner::helper;` in `module`.
        if let Some(imp) = self.named_import(target, module, name) {
            for r in self.resolve_use_target(target, module, &imp.target, depth + 1) {
                if let Resolved::Local { target: t, path: p } = r {
                    if let Some(id) = self.local_fn_depth(t, &p, depth + 1, visited) {
                        return Some(id);
                    }
                }
            }
        }
        for imp in self.glob_imports(target, module) {
            for r in self.resolve_use_target(target, module, &imp.target, depth + 1) {
                if let Resolved::Local {
                    target: t,
                    path: mut p,
                } = r
                {
                    p.push(name.clone());
                    if let Some(id) = self.local_fn_depth(t, &p, depth + 1, visited) {
                        return Some(id);
                    }
                }
            }
        }
        // `Type::method`.
        if let Some((ty, _)) = module.split_last() {
            let ty_name = self
                .local_type_name(target, module)
                .unwrap_or_else(|| ty.clone());
            if let Some(ids) = self.methods.get(&(target, ty_name.as_str(), name.as_str())) {
                return ids.first().copied();
            }
        }
        None
    }

    /// The name a local type path refers to (through a `use` alias in its module).
    fn local_type_name(&self, target: usize, path: &[Name]) -> Option<Name> {
        let (name, module) = path.split_last()?;
        let imp = self.named_import(target, module, name)?;
        imp.target.last().cloned()
    }

    /// Resolves what a call site calls.
    pub fn resolve_call(&self, id: FnId, call: &CallSite) -> CallTarget {
        let f = self.fn_facts(id);
        let target = self.fns[id].target;
        match &call.callee {
            Callee::Path(segs) => {
                if segs.first().map(Name::as_str) == Some("Self") {
                    if let (Some(ty), Some(name)) = (&f.self_ty, segs.get(1)) {
                        if let Some(ids) = self.methods.get(&(target, ty.as_str(), name.as_str())) {
                            return CallTarget::Local(ids[0]);
                        }
                    }
                    return CallTarget::Unknown;
                }
                if segs.len() == 1 {
                    if let Some(nested) = self.nested_in_scope(id, &segs[0]) {
                        return CallTarget::Local(nested);
                    }
                }
                let resolved = self.resolve_in_fn(id, segs);
                let mut externs = Vec::new();
                for r in resolved {
                    match r {
                        Resolved::Local { target: t, path } => {
                            if let Some(fid) = self.local_fn(t, &path) {
                                return CallTarget::Local(fid);
                            }
                            return match self.canonical(Resolved::Local { target: t, path }, 0) {
                                Resolved::Extern(p) => CallTarget::Extern(vec![p]),
                                Resolved::Local { .. } => CallTarget::Unknown,
                            };
                        }
                        Resolved::Extern(p) => externs.push(p),
                    }
                }
                CallTarget::Extern(externs)
            }
            Callee::Method { name, receiver, .. } => {
                let ty = receiver.as_ref().and_then(|r| self.resolve_type(id, r, 0));
                match ty {
                    Some(ResolvedType::Local {
                        target: t,
                        name: ty,
                    }) => match self.methods.get(&(t, ty.as_str(), name.as_str())) {
                        Some(ids) => CallTarget::Local(ids[0]),
                        None => CallTarget::UnknownMethod { name: name.clone() },
                    },
                    Some(ResolvedType::Extern(ty)) => CallTarget::ExternMethod {
                        ty,
                        name: name.clone(),
                    },
                    _ => CallTarget::UnknownMethod { name: name.clone() },
                }
            }
        }
    }

    /// A fn item nested in the body of `id` (or of a fn it is nested in) named `name`.
    pub fn nested_fn(&self, id: FnId, name: &str) -> Option<FnId> {
        self.nested_in_scope(id, name)
    }

    fn nested_in_scope(&self, id: FnId, name: &str) -> Option<FnId> {
        // A nested fn is visible in its parent's body and in fns nested alongside it.
        let mut cur = Some(id);
        while let Some(c) = cur {
            if let Some(&n) = self.nested_fns.get(&(c, name)) {
                return Some(n);
            }
            cur = self
                .fn_facts(c)
                .parent_fn
                .map(|p| c - self.fns[c].index + p);
        }
        None
    }

    /// Resolves a syntactic type in the context of fn `id`.
    pub fn resolve_type(&self, id: FnId, ty: &TypeExpr, depth: u32) -> Option<ResolvedType> {
        if depth > 12 {
            return None;
        }
        let f = self.fn_facts(id);
        let target = self.fns[id].target;
        match ty {
            TypeExpr::Named(segs) => {
                if segs.len() == 1 && segs[0] == "Self" {
                    return f
                        .self_ty
                        .clone()
                        .map(|name| ResolvedType::Local { target, name });
                }
                if segs.len() == 1 && segs[0] == "?" {
                    return None;
                }
                self.resolve_in_fn(id, segs)
                    .into_iter()
                    .find_map(|r| self.type_of_resolved(r, 0))
            }
            TypeExpr::CallResult(segs, first_arg) => {
                if segs.len() >= 2 && segs[0] == "Self" {
                    return f
                        .self_ty
                        .clone()
                        .map(|name| ResolvedType::Local { target, name });
                }
                let resolved = self.resolve_in_fn(id, segs);
                for r in &resolved {
                    match r {
                        Resolved::Local { target: t, path } => {
                            // A crate fn with a declared return type.
                            if let Some(fid) = self.local_fn(*t, path) {
                                if let Some(ret) = &self.fn_facts(fid).ret {
                                    return self.resolve_type(fid, ret, depth + 1);
                                }
                            }
                            // `Type::new(..)` of a local type.
                            if path.len() >= 2 && starts_upper(&path[path.len() - 2]) {
                                let name = self
                                    .local_type_name(*t, &path[..path.len() - 1])
                                    .unwrap_or_else(|| path[path.len() - 2].clone());
                                return Some(ResolvedType::Local { target: *t, name });
                            }
                            return None;
                        }
                        Resolved::Extern(p) => {
                            if let Some(ret) = self.catalog.returns(p) {
                                return Some(returns_type(ret));
                            }
                            if p.len() >= 2 && starts_upper(&p[p.len() - 2]) {
                                let ty = p[..p.len() - 1].to_vec();
                                if self.catalog.is_wrapper(&ty) {
                                    if let Some(inner) = first_arg {
                                        return self.resolve_type(id, inner, depth + 1);
                                    }
                                }
                                return Some(ResolvedType::Extern(ty));
                            }
                        }
                    }
                }
                None
            }
            TypeExpr::MethodResult(recv, name) => match self.resolve_type(id, recv, depth + 1)? {
                ResolvedType::Extern(t) => {
                    let mut full = t.clone();
                    full.push(name.clone());
                    if let Some(ret) = self.catalog.returns(&full) {
                        return Some(returns_type(ret));
                    }
                    if self.catalog.is_builder(&t) {
                        return Some(ResolvedType::Extern(t));
                    }
                    None
                }
                ResolvedType::Local {
                    target: t,
                    name: ty,
                } => {
                    let fid = *self
                        .methods
                        .get(&(t, ty.as_str(), name.as_str()))?
                        .first()?;
                    let ret = self.fn_facts(fid).ret.as_ref()?;
                    self.resolve_type(fid, ret, depth + 1)
                }
                ResolvedType::Tuple(_) => None,
            },
            TypeExpr::Field(inner, field) => match self.resolve_type(id, inner, depth + 1)? {
                ResolvedType::Local { target: t, name } => {
                    let (module, st) = self.structs.get(&(t, name.as_str()))?;
                    let (_, ty) = st.fields.iter().find(|(n, _)| n == field)?;
                    self.type_of_path_depth(t, module, ty, depth + 1)
                }
                _ => None,
            },
            TypeExpr::TupleField(inner, i) => match self.resolve_type(id, inner, depth + 1)? {
                ResolvedType::Tuple(items) => items.get(*i).cloned(),
                _ => None,
            },
        }
    }

    fn type_of_resolved(&self, r: Resolved, depth: u32) -> Option<ResolvedType> {
        match self.canonical(r, 0) {
            Resolved::Local { target: t, path } => {
                if let Some((name, alias_module)) = path.split_last() {
                    if let Some(aliased) = self.alias(t, alias_module, name) {
                        if depth < 8 {
                            return self.type_of_path_depth(t, alias_module, aliased, depth + 1);
                        }
                    }
                }
                let name = self
                    .local_type_name(t, &path)
                    .or_else(|| path.last().cloned())?;
                Some(ResolvedType::Local { target: t, name })
            }
            Resolved::Extern(p) => Some(ResolvedType::Extern(p)),
        }
    }

    /// Resolves a path written in the body of fn `id`: the body's own `use` items first
    /// (and those of enclosing fns), then the module's.
    pub fn resolve_in_fn(&self, id: FnId, segs: &[Name]) -> Vec<Resolved> {
        let target = self.fns[id].target;
        let f = self.fn_facts(id);
        if let Some(first) = segs.first() {
            let mut cur = Some(id);
            while let Some(c) = cur {
                let cf = self.fn_facts(c);
                if let Some(imp) = cf.imports.iter().find(|i| !i.is_glob && i.name == *first) {
                    let mut full = imp.target.clone();
                    full.extend(segs[1..].iter().cloned());
                    return self.resolve_use_target(target, &f.module, &full, 1);
                }
                cur = cf.parent_fn.map(|p| c - self.fns[c].index + p);
            }
        }
        let mut out = self.resolve_path(target, &f.module, segs);
        // Glob imports inside the body add candidates for names nothing else resolved.
        let only_as_written = matches!(out.as_slice(), [Resolved::Extern(p)] if p == segs);
        if only_as_written && segs.len() <= 2 {
            for imp in f.imports.iter().filter(|i| i.is_glob) {
                for base in self.resolve_use_target(target, &f.module, &imp.target, 1) {
                    if let Resolved::Extern(mut p) = base {
                        p.extend(segs.iter().cloned());
                        out.insert(0, Resolved::Extern(p));
                    }
                }
            }
        }
        out
    }

    /// Follows `use` re-exports along a local path until it names an item defined where it
    /// points, or leaves the crate (`pub use std::fs::read as read_file;`).
    pub fn canonical(&self, r: Resolved, depth: u32) -> Resolved {
        let Resolved::Local { target, path } = &r else {
            return r;
        };
        if depth > 16 {
            return r;
        }
        for i in 0..path.len() {
            let (module, name) = (&path[..i], &path[i]);
            if self.module_has_item(*target, module, name) {
                continue;
            }
            let Some(imp) = self.named_import(*target, module, name) else {
                // Not a module path we know: stop here.
                return r;
            };
            if let Some(base) = self
                .resolve_use_target(*target, module, &imp.target, depth + 1)
                .into_iter()
                .next()
            {
                let next = match base {
                    Resolved::Local {
                        target: t,
                        path: mut p,
                    } => {
                        p.extend(path[i + 1..].iter().cloned());
                        Resolved::Local { target: t, path: p }
                    }
                    Resolved::Extern(mut p) => {
                        p.extend(path[i + 1..].iter().cloned());
                        Resolved::Extern(p)
                    }
                };
                return self.canonical(next, depth + 1);
            }
        }
        r
    }

    fn type_of_path_depth(
        &self,
        target: usize,
        module: &[Name],
        segs: &[Name],
        depth: u32,
    ) -> Option<ResolvedType> {
        self.resolve_path(target, module, segs)
            .into_iter()
            .find_map(|r| self.type_of_resolved(r, depth))
    }

    fn resolve_calls(&mut self) {
        let mut all = Vec::with_capacity(self.fns.len());
        for id in 0..self.fns.len() {
            let f = self.fn_facts(id);
            all.push(f.calls.iter().map(|c| self.resolve_call(id, c)).collect());
        }
        self.call_targets = all;
    }

    // -----------------------------------------------------------------------------------
    // Async context

    /// Why a call with a closure argument runs that closure off the executor.
    fn escape_reason(&self, id: FnId, call: usize) -> Option<Name> {
        let facts = self.fn_facts(id);
        match &self.call_targets[id][call] {
            CallTarget::Extern(candidates) => candidates.iter().find_map(|p| {
                self.catalog
                    .escape_fn(p)
                    .map(|why| compact_str::format_compact!("`{}` {why}", p.join("::")))
            }),
            CallTarget::ExternMethod { ty, name } => {
                let mut full = ty.clone();
                full.push(name.clone());
                self.catalog
                    .escape_fn(&full)
                    .or_else(|| self.catalog.escape_method(name))
                    .map(|why| compact_str::format_compact!("`{name}` {why}"))
            }
            CallTarget::UnknownMethod { name } => self
                .catalog
                .escape_method(name)
                .map(|why| compact_str::format_compact!("`{name}` {why}")),
            CallTarget::Local(callee) => self.escape_wrappers.get(callee).map(|why| {
                let _ = facts;
                why.clone()
            }),
            CallTarget::Unknown => None,
        }
    }

    /// Finds crate fns that pass one of their parameters straight to an escape, to a fixed
    /// point (wrappers of wrappers).
    fn find_escape_wrappers(&mut self) {
        loop {
            let mut found = Vec::new();
            for id in 0..self.fns.len() {
                if self.escape_wrappers.contains_key(&id) {
                    continue;
                }
                let f = self.fn_facts(id);
                if f.params.is_empty() {
                    continue;
                }
                // The parameter is handed to an escape, or used (called, passed on) inside a
                // closure that an escape runs.
                let param_uses = f
                    .refs
                    .iter()
                    .filter(|r| r.is_local)
                    .map(|r| (r.path.as_slice(), r.scope, r.arg_of))
                    .chain(f.calls.iter().filter_map(|c| match &c.callee {
                        Callee::Path(p) if p.len() == 1 => Some((p.as_slice(), c.scope, None)),
                        _ => None,
                    }));
                for (path, scope, arg_of) in param_uses {
                    let [name] = path else { continue };
                    if !f.params.contains(name) {
                        continue;
                    }
                    let why = arg_of
                        .and_then(|call| self.escape_reason(id, call))
                        .or_else(|| self.escaped_scope(id, scope));
                    if let Some(why) = why {
                        found.push((
                            id,
                            compact_str::format_compact!(
                                "`{}` hands it to {why}",
                                self.fn_display(id)
                            ),
                        ));
                        break;
                    }
                }
            }
            if found.is_empty() {
                break;
            }
            self.escape_wrappers.extend(found);
        }
    }

    /// Why a scope of fn `id` runs off the executor, if it is (or is inside) a closure given
    /// to an escape.
    fn escaped_scope(&self, id: FnId, mut scope: usize) -> Option<Name> {
        let f = self.fn_facts(id);
        loop {
            let s = &f.scopes[scope];
            match s.kind {
                ScopeKind::Closure {
                    arg_of: Some(call), ..
                } => {
                    if let Some(why) = self.escape_reason(id, call) {
                        return Some(why);
                    }
                }
                ScopeKind::AsyncBlock | ScopeKind::Closure { is_async: true, .. } => return None,
                _ => {}
            }
            scope = s.parent?;
        }
    }

    /// A method call in a warp filter chain whose closure/fn argument runs on the executor.
    fn is_warp_handler_call(&self, id: FnId, call: usize) -> bool {
        let f = self.fn_facts(id);
        let Callee::Method {
            name, chain_root, ..
        } = &f.calls[call].callee
        else {
            return false;
        };
        if !matches!(
            name.as_str(),
            "map" | "then" | "and_then" | "untuple_one" | "or_else"
        ) {
            return false;
        }
        let Some(root) = chain_root else { return false };
        self.resolve_in_fn(id, root).iter().any(
            |r| matches!(r, Resolved::Extern(p) if p.first().map(Name::as_str) == Some("warp")),
        )
    }

    fn compute_contexts(&mut self) {
        // Fns a framework runs on the executor because they are passed to warp's `.map`.
        let mut executor_run: HashSet<FnId> = HashSet::new();
        for id in 0..self.fns.len() {
            let f = self.fn_facts(id);
            for r in f.refs.iter().filter(|r| !r.is_local) {
                let Some(call) = r.arg_of else { continue };
                if !self.is_warp_handler_call(id, call) {
                    continue;
                }
                if let Some(fid) = self.ref_target(id, &r.path) {
                    executor_run.insert(fid);
                }
            }
        }
        // Async fns reached only from start-up code are start-up code (fixed point).
        let callers = self.callers();
        let mut startup: HashSet<FnId> = HashSet::new();
        loop {
            let contexts: Vec<Vec<ExecContext>> = (0..self.fns.len())
                .map(|id| self.scope_contexts(id, &executor_run, &startup))
                .collect();
            let mut changed = false;
            for (id, list) in callers.iter().enumerate() {
                if startup.contains(&id) || list.is_empty() {
                    continue;
                }
                let f = self.fn_facts(id);
                if !f.is_async || f.attrs.is_entry || executor_run.contains(&id) {
                    continue;
                }
                let all_startup = list.iter().all(|c| {
                    c.is_call && matches!(contexts[c.caller][c.scope], ExecContext::Startup)
                });
                if all_startup {
                    startup.insert(id);
                    changed = true;
                }
            }
            if !changed {
                self.contexts = contexts;
                break;
            }
        }
    }

    fn ref_target(&self, id: FnId, path: &[Name]) -> Option<FnId> {
        if path.len() == 1 {
            if let Some(n) = self.nested_in_scope(id, &path[0]) {
                return Some(n);
            }
        }
        self.resolve_in_fn(id, path)
            .into_iter()
            .find_map(|r| match r {
                Resolved::Local { target: t, path } => self.local_fn(t, &path),
                Resolved::Extern(_) => None,
            })
    }

    /// For each fn: the places that call it or mention it as a value.
    fn callers(&self) -> Vec<Vec<CallerRef>> {
        let mut out: Vec<Vec<CallerRef>> = vec![Vec::new(); self.fns.len()];
        for id in 0..self.fns.len() {
            let f = self.fn_facts(id);
            for (ci, c) in f.calls.iter().enumerate() {
                if let CallTarget::Local(callee) = self.call_targets[id][ci] {
                    out[callee].push(CallerRef {
                        caller: id,
                        scope: c.scope,
                        is_call: true,
                    });
                }
            }
            for r in f.refs.iter().filter(|r| !r.is_local) {
                if let Some(callee) = self.ref_target(id, &r.path) {
                    out[callee].push(CallerRef {
                        caller: id,
                        scope: r.scope,
                        is_call: false,
                    });
                }
            }
        }
        out
    }

    fn scope_contexts(
        &self,
        id: FnId,
        executor_run: &HashSet<FnId>,
        startup: &HashSet<FnId>,
    ) -> Vec<ExecContext> {
        let f = self.fn_facts(id);
        let mut out: Vec<ExecContext> = Vec::with_capacity(f.scopes.len());
        for s in &f.scopes {
            let parent = s.parent.map(|p| out[p].clone());
            let ctx = match &s.kind {
                ScopeKind::FnBody => {
                    if f.attrs.is_entry || startup.contains(&id) {
                        ExecContext::Startup
                    } else if f.is_async {
                        ExecContext::Async(compact_str::format_compact!(
                            "`{}` is an `async fn`",
                            f.name
                        ))
                    } else if let Some(kind) = &f.attrs.executor_handler {
                        ExecContext::Async(compact_str::format_compact!("`{}` is {kind}", f.name))
                    } else if executor_run.contains(&id) {
                        ExecContext::Async(compact_str::format_compact!(
                            "`{}` is passed to a warp filter, which runs it on the async executor",
                            f.name
                        ))
                    } else {
                        ExecContext::Sync
                    }
                }
                ScopeKind::AsyncBlock => {
                    ExecContext::Async("this is inside an `async` block".into())
                }
                ScopeKind::Closure { is_async: true, .. } => {
                    ExecContext::Async("this is inside an async closure".into())
                }
                ScopeKind::Closure { arg_of, .. } => {
                    let escaped = arg_of.and_then(|c| self.escape_reason(id, c));
                    if let Some(why) = escaped {
                        ExecContext::Escaped(why)
                    } else if arg_of.is_some_and(|c| self.is_warp_handler_call(id, c)) {
                        ExecContext::Async(
                            "warp runs this filter closure on the async executor".into(),
                        )
                    } else {
                        parent.unwrap_or(ExecContext::Sync)
                    }
                }
            };
            out.push(ctx);
        }
        out
    }
}

#[derive(Clone, Debug)]
struct CallerRef {
    caller: FnId,
    scope: usize,
    is_call: bool,
}

fn starts_upper(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_uppercase)
}

fn returns_type(r: &Returns) -> ResolvedType {
    match r {
        Returns::Type(t) => ResolvedType::Extern(t.clone()),
        Returns::Tuple(ts) => {
            ResolvedType::Tuple(ts.iter().map(|t| ResolvedType::Extern(t.clone())).collect())
        }
    }
}

/// Names from the standard prelude: never taken from an external glob import.
fn is_prelude_name(name: &str) -> bool {
    matches!(
        name,
        "Some"
            | "None"
            | "Ok"
            | "Err"
            | "Box"
            | "String"
            | "Vec"
            | "Option"
            | "Result"
            | "ToString"
            | "ToOwned"
            | "Clone"
            | "Default"
            | "Iterator"
            | "Into"
            | "From"
            | "drop"
            | "format"
            | "println"
            | "vec"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadedTarget;
    use crate::parse::parse_source;
    use std::path::PathBuf;

    /// A one-target crate from in-memory files: (module path, source).
    fn krate(files: &[(&str, &str)]) -> LoadedCrate {
        let parsed: Vec<ParsedFile> = files
            .iter()
            .map(|(module, text)| {
                let module: ModPath = if module.is_empty() {
                    Vec::new()
                } else {
                    module.split("::").map(Name::from).collect()
                };
                let path = PathBuf::from(format!("/virtual/{}.rs", module.join("/")));
                parse_source(&path, &module, false, text.to_string())
            })
            .collect();
        LoadedCrate {
            name: "demo".into(),
            dir: PathBuf::from("/virtual"),
            manifest: None,
            manifest_path: None,
            release_panic_abort: None,
            targets: vec![LoadedTarget {
                name: "demo".into(),
                kind: TargetKind::Lib,
                root: PathBuf::from("/virtual/lib.rs"),
                files: (0..parsed.len()).collect(),
            }],
            files: parsed,
            problems: Vec::new(),
            config_files: Vec::new(),
        }
    }

    fn segs(s: &str) -> Vec<Name> {
        s.split("::").map(Name::from).collect()
    }

    fn fn_id(m: &CrateModel<'_>, name: &str) -> FnId {
        (0..m.fns.len())
            .find(|&i| m.fn_facts(i).name == name)
            .expect("fn exists")
    }

    /// The resolved target of the first call in fn `name`.
    fn first_call(m: &CrateModel<'_>, name: &str) -> CallTarget {
        let id = fn_id(m, name);
        m.call_target(id, 0).clone()
    }

    fn catalog() -> BlockingCatalog {
        BlockingCatalog::builtin().expect("catalog")
    }

    #[test]
    fn resolves_aliases_groups_and_tokio_twins() {
        let k = krate(&[(
            "",
            "use std::{fs as sfs, thread::sleep};\nuse tokio::fs;\n\
             async fn a() { sfs::read(\"x\"); }\nasync fn b() { sleep(d); }\n\
             async fn c() { fs::read(\"x\").await; }",
        )]);
        let cat = catalog();
        let m = CrateModel::build(&k, &cat);
        assert!(
            matches!(first_call(&m, "a"), CallTarget::Extern(p) if p[0] == segs("std::fs::read"))
        );
        assert!(
            matches!(first_call(&m, "b"), CallTarget::Extern(p) if p[0] == segs("std::thread::sleep"))
        );
        assert!(
            matches!(first_call(&m, "c"), CallTarget::Extern(p) if p[0] == segs("tokio::fs::read"))
        );
    }

    #[test]
    fn a_fn_named_like_a_crate_does_not_capture_its_paths() {
        // rocket's idiom: `use rocket::State;` next to `#[launch] fn rocket()`.
        let k = krate(&[(
            "",
            "use rocket::State;\nfn rocket() {}\nfn a() { State::get(); rocket(); }",
        )]);
        let cat = catalog();
        let m = CrateModel::build(&k, &cat);
        assert!(
            matches!(first_call(&m, "a"), CallTarget::Extern(p) if p[0] == segs("rocket::State::get"))
        );
        let a = fn_id(&m, "a");
        assert!(matches!(m.call_target(a, 1), CallTarget::Local(id) if *id == fn_id(&m, "rocket")));
    }

    #[test]
    fn follows_self_super_crate_and_reexports_across_files() {
        let k = krate(&[
            ("", "mod api;\nmod util;\npub use util::inner::helper as h;"),
            ("api", "use super::util;\nasync fn a() { util::inner::helper(); }\nasync fn b() { crate::h(); }\nasync fn c() { self::local(); }\nfn local() {}"),
            ("util", "pub mod inner { pub fn helper() {} }\npub use std::fs::read as read_file;"),
        ]);
        let cat = catalog();
        let m = CrateModel::build(&k, &cat);
        let helper = fn_id(&m, "helper");
        assert!(matches!(first_call(&m, "a"), CallTarget::Local(id) if id == helper));
        assert!(matches!(first_call(&m, "b"), CallTarget::Local(id) if id == helper));
        assert!(matches!(first_call(&m, "c"), CallTarget::Local(id) if id == fn_id(&m, "local")));
        let r = m.canonical(
            Resolved::Local {
                target: 0,
                path: segs("util::read_file"),
            },
            0,
        );
        assert_eq!(r, Resolved::Extern(segs("std::fs::read")));
    }

    #[test]
    fn a_fn_named_like_a_crate_is_not_a_path_prefix() {
        // Rocket apps: `#[launch] fn rocket()` next to `use rocket::fs::NamedFile;`.
        let k = krate(&[(
            "",
            "use rocket::fs::NamedFile;\n\
             fn rocket() {}\n\
             async fn index() { NamedFile::open(\"static/index.html\"); rocket::tokio::fs::read(p); }",
        )]);
        let cat = catalog();
        let m = CrateModel::build(&k, &cat);
        let index = fn_id(&m, "index");
        assert!(
            matches!(m.call_target(index, 0), CallTarget::Extern(c) if c.contains(&segs("rocket::fs::NamedFile::open")))
        );
        assert!(
            matches!(m.call_target(index, 1), CallTarget::Extern(c) if c.contains(&segs("rocket::tokio::fs::read")))
        );
    }

    #[test]
    fn types_flow_through_lets_aliases_and_builders() {
        let k = krate(&[(
            "",
            "use std::fs::File;\ntype Db = rusqlite::Connection;\n\
             fn open() -> Db { todo!() }\n\
             async fn a() { let f = File::open(p)?; f.sync_all(); }\n\
             async fn b() { let c = open(); c.execute(q, []); }\n\
             async fn d() { std::process::Command::new(\"git\").arg(\"x\").output(); }",
        )]);
        let cat = catalog();
        let m = CrateModel::build(&k, &cat);
        let a = fn_id(&m, "a");
        assert!(
            matches!(m.call_target(a, 1), CallTarget::ExternMethod { ty, .. } if *ty == segs("std::fs::File"))
        );
        let b = fn_id(&m, "b");
        assert!(
            matches!(m.call_target(b, 1), CallTarget::ExternMethod { ty, .. } if *ty == segs("rusqlite::Connection"))
        );
        let d = fn_id(&m, "d");
        let last = m.fn_facts(d).calls.len() - 1;
        assert!(
            matches!(m.call_target(d, last), CallTarget::ExternMethod { ty, name } if *ty == segs("std::process::Command") && name == "output")
        );
    }

    #[test]
    fn async_context_knows_escapes_startup_and_handlers() {
        let k = krate(&[(
            "",
            "#[tokio::main] async fn main() { boot().await; tokio::spawn(async { x(); }); }\n\
             async fn boot() { y(); }\n\
             async fn h() { tokio::task::spawn_blocking(|| z()); }\n\
             #[get(\"/\")] fn rocket_route() { w(); }\n\
             fn plain() { v(); }",
        )]);
        let cat = catalog();
        let m = CrateModel::build(&k, &cat);
        let ctx_of = |name: &str, call: &str| {
            let id = fn_id(&m, name);
            let f = m.fn_facts(id);
            let c = f
                .calls
                .iter()
                .find(|c| matches!(&c.callee, Callee::Path(p) if p.last().map(Name::as_str) == Some(call)))
                .expect("call");
            m.context(id, c.scope).clone()
        };
        assert_eq!(ctx_of("main", "boot"), ExecContext::Startup);
        assert!(matches!(ctx_of("main", "x"), ExecContext::Async(_)));
        // `boot` is only called from `main`: start-up code.
        assert_eq!(ctx_of("boot", "y"), ExecContext::Startup);
        assert!(matches!(ctx_of("h", "z"), ExecContext::Escaped(_)));
        assert!(matches!(ctx_of("rocket_route", "w"), ExecContext::Async(_)));
        assert_eq!(ctx_of("plain", "v"), ExecContext::Sync);
    }
}
