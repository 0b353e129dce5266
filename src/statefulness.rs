//! What a value holds and where it is written, for the statelessness rules: a type is read
//! through `use` items, type aliases and crate structs to find interior-mutable data (a lock
//! around a collection, a concurrent map, an atomic); a fn body is read to find the calls
//! and assignments that write through a given root (a parameter, `self`, a static).

use crate::facts::Name;
use foldhash::{HashMap, HashMapExt};

use crate::catalogs::state::{StateCatalog, TypeKind};
use crate::dataflow::Flow;
use crate::facts::{Callee, FnFacts, ModPath, StructFacts};
use crate::model::{CrateModel, Resolved};
use crate::source::Range;
use crate::summary::{Operand, TypeName};

/// Interior-mutable data found inside a type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holds {
    /// A lock or cell (`lock`, as written) around `data`: a collection such as `HashMap`, a
    /// crate struct holding collections, or `None` for a plain value (`Mutex<u64>`).
    Locked {
        lock: Name,
        data: Option<Name>,
        /// The data is only `Vec`/`Name`-like (also used as scratch buffers).
        buffer_only: bool,
    },
    /// A map or cache mutable through `&self` (`DashMap`, `moka::sync::Cache`).
    Concurrent(Name),
    /// An atomic integer.
    Atomic(Name),
    /// The sending half of a fan-out channel (`tokio::sync::broadcast::Sender`).
    Broadcast(Name),
}

impl Holds {
    /// Holds application data: a collection behind a lock, or a concurrent map.
    pub fn is_data_store(&self) -> bool {
        matches!(
            self,
            Holds::Locked { data: Some(_), .. } | Holds::Concurrent(_)
        )
    }

    pub fn describe(&self) -> String {
        match self {
            Holds::Locked {
                lock,
                data: Some(d),
                ..
            } => format!("a `{d}` behind a `{lock}`"),
            Holds::Locked {
                lock, data: None, ..
            } => format!("a value behind a `{lock}`"),
            Holds::Concurrent(c) => format!("a `{c}`"),
            Holds::Atomic(a) => format!("an `{a}`"),
            Holds::Broadcast(b) => format!("a broadcast `{b}`"),
        }
    }
}

/// One place with interior-mutable data inside a type.
#[derive(Clone, Debug)]
pub struct Mutable {
    pub holds: Holds,
    /// The field path from the value to the data (`["store", "data"]`); empty for the value.
    pub field: Vec<Name>,
    /// The innermost crate struct declaring the field, as (file, range of its name).
    pub decl: Option<(usize, Range)>,
    /// The type as written where the data sits (`Arc<RwLock<Data>>`).
    pub written: Name,
}

/// Type aliases and structs of a crate, by target and name.
pub struct TypeIndex<'a> {
    aliases: HashMap<(usize, Vec<Name>, Name), (&'a ModPath, &'a TypeName)>,
    structs: HashMap<(usize, Name), (usize, &'a ModPath, &'a StructFacts)>,
}

/// What a type path written in a module refers to.
enum TypeRef<'a> {
    Extern(Vec<Name>),
    Alias(usize, &'a ModPath, &'a TypeName),
    Struct(usize, usize, &'a ModPath, &'a StructFacts),
    Unknown,
}

/// Deepest nesting of aliases and structs followed.
const MAX_TYPE_DEPTH: u32 = 6;

impl<'a> TypeIndex<'a> {
    pub fn new(model: &CrateModel<'a>) -> TypeIndex<'a> {
        let mut aliases = HashMap::new();
        let mut structs = HashMap::new();
        let krate = model.krate;
        for (fi, file) in krate.files.iter().enumerate() {
            let target = model.file_target(fi);
            for m in &file.facts.modules {
                for (name, ty) in &m.type_aliases {
                    aliases
                        .entry((target, m.path.clone(), name.clone()))
                        .or_insert((&m.path, ty));
                }
                for st in &m.structs {
                    structs
                        .entry((target, st.name.clone()))
                        .or_insert((fi, &m.path, st));
                }
            }
        }
        TypeIndex { aliases, structs }
    }

    fn resolve(
        &self,
        model: &CrateModel<'a>,
        target: usize,
        module: &[Name],
        segs: &[Name],
    ) -> TypeRef<'a> {
        let resolved = model.resolve_path(target, module, segs);
        if let [Resolved::Extern(p)] = resolved.as_slice() {
            if p == segs && segs.len() == 1 {
                // Prelude types need no `use`.
                let std = match segs[0].as_str() {
                    "Vec" => Some(["std", "vec", "Vec"]),
                    "String" => Some(["std", "string", "String"]),
                    _ => None,
                };
                if let Some(p) = std {
                    return TypeRef::Extern(p.iter().map(|s| Name::from(*s)).collect());
                }
            }
        }
        for r in resolved {
            match model.canonical(r, 0) {
                Resolved::Extern(p) => return TypeRef::Extern(p),
                Resolved::Local { target: t, path } => {
                    let Some((name, module)) = path.split_last() else {
                        continue;
                    };
                    if let Some(&(m, ty)) = self.aliases.get(&(t, module.to_vec(), name.clone())) {
                        return TypeRef::Alias(t, m, ty);
                    }
                    if let Some(&(file, m, st)) = self.structs.get(&(t, name.clone())) {
                        return TypeRef::Struct(t, file, m, st);
                    }
                    return TypeRef::Unknown;
                }
            }
        }
        TypeRef::Unknown
    }

    /// The crate struct reached from type `ty` (written in `module` of `target`) through the
    /// named fields, looking through wrappers such as `Arc` and `Box`: `(target, name)`.
    pub fn struct_at(
        &self,
        model: &CrateModel<'a>,
        target: usize,
        module: &[Name],
        ty: &TypeName,
        fields: &[Name],
    ) -> Option<(usize, Name)> {
        let mut ty = ty;
        let mut target = target;
        let mut module: ModPath = module.to_vec();
        let mut fields = fields;
        for _ in 0..32 {
            match self.resolve(model, target, &module, &ty.path) {
                TypeRef::Struct(t, _, m, st) => match fields.split_first() {
                    None => return Some((t, st.name.clone())),
                    Some((first, rest)) => {
                        let (_, fty) = st.field_types.iter().find(|(n, _)| n == first)?;
                        ty = fty;
                        target = t;
                        module = m.clone();
                        fields = rest;
                    }
                },
                TypeRef::Alias(t, m, aliased) => {
                    ty = aliased;
                    target = t;
                    module = m.clone();
                }
                // `Arc<T>`, `Box<T>`, `&T`: the wrapped type.
                TypeRef::Extern(_) | TypeRef::Unknown => ty = ty.args.first()?,
            }
        }
        None
    }

    /// Whether `ty` (written in `module` of `target`) mentions an external type that
    /// satisfies `pred`: in its arguments, through aliases, or in a field of a crate struct.
    pub fn mentions(
        &self,
        model: &CrateModel<'a>,
        target: usize,
        module: &[Name],
        ty: &TypeName,
        pred: &dyn Fn(&[Name]) -> bool,
    ) -> bool {
        self.mentions_depth(model, target, module, ty, pred, 0)
    }

    fn mentions_depth(
        &self,
        model: &CrateModel<'a>,
        target: usize,
        module: &[Name],
        ty: &TypeName,
        pred: &dyn Fn(&[Name]) -> bool,
        depth: u32,
    ) -> bool {
        if depth > MAX_TYPE_DEPTH {
            return false;
        }
        let hit = match ty.last() {
            "()" | "[]" | "impl" | "dyn" | "" => false,
            _ => match self.resolve(model, target, module, &ty.path) {
                TypeRef::Extern(p) => pred(&p),
                TypeRef::Alias(t, m, aliased) => {
                    self.mentions_depth(model, t, m, aliased, pred, depth + 1)
                }
                TypeRef::Struct(t, _, m, st) => st
                    .field_types
                    .iter()
                    .any(|(_, fty)| self.mentions_depth(model, t, m, fty, pred, depth + 1)),
                TypeRef::Unknown => false,
            },
        };
        hit || ty
            .args
            .iter()
            .any(|a| self.mentions_depth(model, target, module, a, pred, depth + 1))
    }

    /// The interior-mutable data inside a type written in `module` of `target`.
    pub fn mutable_parts(
        &self,
        model: &CrateModel<'a>,
        cat: &StateCatalog,
        target: usize,
        module: &[Name],
        ty: &TypeName,
    ) -> Vec<Mutable> {
        let mut out = Vec::new();
        let mut w = Walk {
            index: self,
            model,
            cat,
            out: &mut out,
            field: Vec::new(),
            decl: None,
            stack: Vec::new(),
        };
        w.walk(ty, target, module, None, 0);
        out
    }
}

struct Walk<'w, 'a> {
    index: &'w TypeIndex<'a>,
    model: &'w CrateModel<'a>,
    cat: &'w StateCatalog,
    out: &'w mut Vec<Mutable>,
    field: Vec<Name>,
    decl: Option<(usize, Range)>,
    /// Structs being walked (cycles).
    stack: Vec<(usize, Name)>,
}

/// What a walk under a lock found.
#[derive(Default)]
struct Inner {
    /// A collection (its name) and whether every collection is a buffer type.
    data: Option<(Name, bool)>,
    /// Something other than benign values and `()`.
    value: bool,
}

impl Walk<'_, '_> {
    /// Walks `ty`; under a lock (`lock` = its name as written) collections count as data.
    fn walk(
        &mut self,
        ty: &TypeName,
        target: usize,
        module: &[Name],
        lock: Option<&str>,
        depth: u32,
    ) -> Inner {
        let mut inner = Inner::default();
        if depth > MAX_TYPE_DEPTH {
            return inner;
        }
        match ty.last() {
            "()" | "[]" => {
                for a in &ty.args {
                    let i = self.walk(a, target, module, lock, depth + 1);
                    merge(&mut inner, i);
                }
                if ty.last() == "[]" {
                    inner.value = true;
                }
                return inner;
            }
            "impl" | "dyn" => return inner,
            _ => {}
        }
        match self.index.resolve(self.model, target, module, &ty.path) {
            TypeRef::Extern(p) => match self.cat.type_info(&p).map(|i| (i.kind, i.buffer)) {
                Some((TypeKind::Lock, _)) => {
                    let name = Name::from(ty.last());
                    let mut under = Inner::default();
                    for a in &ty.args {
                        let i = self.walk(a, target, module, Some(&name), depth + 1);
                        merge(&mut under, i);
                    }
                    if lock.is_none() && (under.value || under.data.is_some()) {
                        self.push(
                            Holds::Locked {
                                lock: name,
                                data: under.data.as_ref().map(|d| d.0.clone()),
                                buffer_only: under.data.as_ref().is_some_and(|d| d.1),
                            },
                            ty,
                        );
                    }
                    inner.value = true;
                }
                Some((TypeKind::Collection, buffer)) => {
                    inner.value = true;
                    if lock.is_some() {
                        inner.data = Some((ty.last().into(), buffer));
                    } else {
                        for a in &ty.args {
                            self.walk(a, target, module, None, depth + 1);
                        }
                    }
                }
                Some((TypeKind::Concurrent, _)) => {
                    inner.value = true;
                    inner.data = Some((ty.last().into(), false));
                    if lock.is_none() {
                        self.push(Holds::Concurrent(ty.last().into()), ty);
                    }
                }
                Some((TypeKind::Atomic, _)) => {
                    inner.value = true;
                    if lock.is_none() {
                        self.push(Holds::Atomic(ty.last().into()), ty);
                    }
                }
                Some((TypeKind::Broadcast, _)) => {
                    inner.value = true;
                    self.push(Holds::Broadcast(ty.last().into()), ty);
                }
                Some((TypeKind::Flag | TypeKind::Benign, _)) => {}
                None => {
                    // `Arc`, `Lazy`, `Option`, `Box`...: look inside; a type without
                    // arguments (`u64`, `Config`) is a plain value.
                    inner.value = ty.args.is_empty();
                    for a in &ty.args {
                        let i = self.walk(a, target, module, lock, depth + 1);
                        merge(&mut inner, i);
                    }
                }
            },
            TypeRef::Alias(t, m, aliased) => {
                let m = m.clone();
                let i = self.walk(aliased, t, &m, lock, depth + 1);
                merge(&mut inner, i);
            }
            TypeRef::Struct(t, file, m, st) => {
                inner.value = true;
                let key = (t, st.name.clone());
                if self.stack.contains(&key) {
                    return inner;
                }
                self.stack.push(key);
                let m = m.clone();
                for (fname, fty) in &st.field_types {
                    if lock.is_some() {
                        let i = self.walk(fty, t, &m, lock, depth + 1);
                        if let Some((_, buffer)) = i.data {
                            // The struct behind the lock is the data.
                            let all_buffers = inner.data.as_ref().is_none_or(|d| d.1) && buffer;
                            inner.data = Some((st.name.clone(), all_buffers));
                        }
                    } else {
                        let saved = self.decl.replace((file, st.range));
                        self.field.push(fname.clone());
                        self.walk(fty, t, &m, None, depth + 1);
                        self.field.pop();
                        self.decl = saved;
                    }
                }
                self.stack.pop();
            }
            TypeRef::Unknown => {
                inner.value = ty.args.is_empty();
                for a in &ty.args {
                    let i = self.walk(a, target, module, lock, depth + 1);
                    merge(&mut inner, i);
                }
            }
        }
        inner
    }

    fn push(&mut self, holds: Holds, ty: &TypeName) {
        self.out.push(Mutable {
            holds,
            field: self.field.clone(),
            decl: self.decl,
            written: ty.display().into(),
        });
    }
}

fn merge(into: &mut Inner, other: Inner) {
    into.value |= other.value;
    if let Some((name, buffer)) = other.data {
        match &mut into.data {
            Some((_, b)) => *b &= buffer,
            None => into.data = Some((name, buffer)),
        }
    }
}

// -------------------------------------------------------------------------------------------
// Writes

/// Where a value used in a fn body comes from, through locals, fields and guard methods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Root<'f> {
    /// A parameter (index into `param_types`), with the fields taken from it.
    Param(usize, Vec<Name>),
    /// `self`, with the fields taken from it.
    SelfValue(Vec<Name>),
    /// A path to an item (a static), with the fields taken from it.
    Path(&'f [Name], Vec<Name>),
    /// The result of a method call that is not a guard (`depot.obtain::<T>()`), with the
    /// fields taken from it.
    Call(usize, Vec<Name>),
    Other,
}

/// Methods whose result still refers to (a part of) their receiver: guards, `unwrap`,
/// entries. A write through their result writes the receiver.
const GUARD_METHODS: &[&str] = &[
    "lock",
    "write",
    "try_lock",
    "try_write",
    "lock_owned",
    "write_owned",
    "borrow_mut",
    "get_mut",
    "entry",
    "or_insert",
    "or_insert_with",
    "or_default",
    "and_modify",
    "unwrap",
    "expect",
    "unwrap_or_else",
    "as_mut",
    "deref_mut",
    "last_mut",
    "first_mut",
    "iter_mut",
    "values_mut",
    "lock_arc",
    "blocking_lock",
    "blocking_write",
    "get_or_init",
    "as_deref_mut",
    "get",
    "clone",
];

/// Methods that copy data out: a write to the result is not a write to the receiver.
const COPY_METHODS: &[&str] = &["cloned", "to_vec", "to_owned", "to_string", "copied"];

/// The root of `op` (used where `at` calls have been recorded).
pub fn root_of<'f>(f: &'f FnFacts, op: &'f Operand, at: usize) -> Root<'f> {
    let flow = Flow::new(f);
    let mut fields: Vec<Name> = Vec::new();
    let mut op = op;
    let mut at = at;
    let mut lets = f.lets.len();
    for _ in 0..128 {
        match op {
            Operand::Field(base, name) => {
                fields.insert(0, name.clone());
                op = base;
            }
            Operand::Local(name) => match flow.binding_among(name, at, lets) {
                Some((li, l)) => {
                    op = &l.value;
                    at = l.after_call;
                    lets = li;
                }
                None if name == "self" => return Root::SelfValue(fields),
                None => {
                    return match flow.param_index(name) {
                        Some(i) => Root::Param(i, fields),
                        None => Root::Other,
                    }
                }
            },
            Operand::Path(p) if p.len() == 1 && p[0] == "self" => return Root::SelfValue(fields),
            Operand::Path(p) => return Root::Path(p, fields),
            Operand::Call(i) => {
                let Some(call) = f.calls.get(*i) else {
                    return Root::Other;
                };
                let Callee::Method { name, .. } = &call.callee else {
                    return Root::Other;
                };
                if COPY_METHODS.contains(&name.as_str()) {
                    return Root::Other;
                }
                if !GUARD_METHODS.contains(&name.as_str()) {
                    return Root::Call(*i, fields);
                }
                // `Arc::clone` of shared state still points at it; a `clone` of the data
                // behind a guard does not: only clones before any guard count.
                if name == "clone" && guard_below(f, *i) {
                    return Root::Other;
                }
                match &call.receiver {
                    Some(r) => {
                        op = r;
                        at = *i;
                    }
                    None => return Root::Other,
                }
            }
            _ => return Root::Other,
        }
    }
    Root::Other
}

/// A guard method sits somewhere in the receiver chain below call `i`.
fn guard_below(f: &FnFacts, i: usize) -> bool {
    let flow = Flow::new(f);
    flow.chain(i).into_iter().skip(1).any(|c| {
        matches!(&f.calls[c].callee, Callee::Method { name, .. }
            if matches!(name.as_str(), "lock" | "write" | "read" | "borrow" | "borrow_mut" | "get"))
    })
}

/// A write found in a fn body.
#[derive(Clone, Debug)]
pub struct Write<'f> {
    pub root: Root<'f>,
    pub range: Range,
    pub scope: usize,
    /// `insert`, `fetch_add`, `=`...
    pub what: Name,
    /// For calls: the call index.
    pub call: Option<usize>,
}

/// Every write in fn `f`: method calls the catalog lists as writes (atomic ones when
/// `atomics`), and assignments through a place that is not a plain local.
pub fn writes<'f>(f: &'f FnFacts, cat: &StateCatalog) -> Vec<Write<'f>> {
    let mut out = Vec::new();
    for (i, call) in f.calls.iter().enumerate() {
        let Callee::Method { name, .. } = &call.callee else {
            continue;
        };
        if !(cat.is_write(name) || cat.is_atomic_write(name)) {
            continue;
        }
        let Some(recv) = &call.receiver else { continue };
        let root = root_of(f, recv, i);
        if root != Root::Other {
            out.push(Write {
                root,
                range: call.range,
                scope: call.scope,
                what: name.clone(),
                call: Some(i),
            });
        }
    }
    for a in &f.assigns {
        let root = root_of(f, &a.target, f.calls.len());
        if root != Root::Other {
            out.push(Write {
                root,
                range: a.range,
                scope: a.scope,
                what: "assignment".into(),
                call: None,
            });
        }
    }
    out
}

/// Whether the result of call `i` is used (bound, passed on, returned), rather than dropped.
pub fn result_used(f: &FnFacts, i: usize) -> bool {
    let target = Operand::Call(i);
    let mentions = |op: &Operand| mentions(op, &target, 0);
    f.lets.iter().any(|l| mentions(&l.value))
        || f.calls
            .iter()
            .any(|c| c.args.iter().any(mentions) || c.receiver.as_ref().is_some_and(mentions))
        || f.returns.iter().any(mentions)
        || f.macros.iter().any(|m| m.args.iter().any(mentions))
        || f.scopes
            .iter()
            .any(|s| s.value.as_ref().is_some_and(mentions))
        || f.indexes
            .iter()
            .any(|x| mentions(&x.index) || mentions(&x.base))
}

fn mentions(op: &Operand, target: &Operand, depth: u32) -> bool {
    if depth > 32 {
        return false;
    }
    if op == target {
        return true;
    }
    match op {
        Operand::Tuple(xs) | Operand::Array(xs) => {
            xs.iter().any(|x| mentions(x, target, depth + 1))
        }
        Operand::Field(b, _) => mentions(b, target, depth + 1),
        Operand::Struct(_, fs) => fs.iter().any(|(_, x)| mentions(x, target, depth + 1)),
        _ => false,
    }
}
