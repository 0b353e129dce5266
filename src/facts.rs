//! Per-file facts: everything the crate model needs from one file, extracted in one walk of
//! its syntax tree on the thread that parsed it. Nothing here resolves names across files;
//! paths are recorded as written and resolved later by the crate model.

use foldhash::{HashMap, HashMapExt};
use std::borrow::Cow;

use compact_str::ToCompactString;
use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use serde::{Deserialize, Serialize};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Token};

use crate::source::Range;
use crate::spans;
use crate::summary::{self, AttrFact, Operand, TypeName};

/// An identifier, a path segment or a short text of the facts: inline up to 24 bytes, so a
/// path costs one allocation (its `Vec`), not one per segment.
pub type Name = compact_str::CompactString;

/// A module path inside a crate, without the leading `crate`: `["api", "handlers"]`.
pub type ModPath = Vec<Name>;

/// Everything extracted from one file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FileFacts {
    /// The file's own module first, then its inline modules.
    pub modules: Vec<ModuleFacts>,
    pub fns: Vec<FnFacts>,
    /// `mod x;` declarations whose contents live in other files.
    pub child_mods: Vec<ChildMod>,
    /// First segments of every `use` path (the crates and modules a file imports from).
    pub imported_roots: Vec<Name>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ModuleFacts {
    pub path: ModPath,
    pub imports: Vec<Import>,
    /// Names of items defined in this module (fns, modules, types, consts...).
    pub items: Vec<Name>,
    /// `type Name = path::To<..>;` aliases, by the aliased path as written.
    pub aliases: Vec<(Name, Vec<Name>)>,
    /// `type Name = ..;` aliases with the full aliased type (`type Db = Arc<Mutex<Vec<T>>>`).
    pub type_aliases: Vec<(Name, TypeName)>,
    /// Structs with named fields whose types name a path (`pool: DbPool`).
    pub structs: Vec<StructFacts>,
    /// `static`s, `lazy_static!` and `thread_local!` items.
    pub statics: Vec<StaticFacts>,
    /// `impl Trait for Type` blocks.
    pub impls: Vec<ImplFacts>,
    pub is_test: bool,
}

/// What kind of item holds a process-wide value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaticKind {
    Static,
    StaticMut,
    LazyStatic,
    ThreadLocal,
}

/// A process-wide value: `static CACHE: Lazy<Mutex<HashMap<..>>> = ..;`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StaticFacts {
    pub name: Name,
    pub kind: StaticKind,
    pub ty: Option<TypeName>,
    /// The callee of the initialiser's outermost call (`Lazy::new`, `Mutex::new`), as written.
    pub init_callee: Option<Vec<Name>>,
    pub range: Range,
    pub is_test: bool,
}

/// `impl Trait<Args> for SelfTy`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImplFacts {
    pub trait_path: Vec<Name>,
    pub trait_args: Vec<TypeName>,
    pub self_ty: Name,
    pub range: Range,
}

/// One name brought into scope by a `use` item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// Local name (`fs` for `use std::fs;`, `sfs` for `use std::fs as sfs;`); empty for globs.
    pub name: Name,
    /// The path as written, with `self`/`super`/`crate` made absolute: a leading `crate`
    /// segment means crate-local; anything else starts with a crate or a local item name.
    pub target: Vec<Name>,
    pub is_glob: bool,
    pub is_pub: bool,
}

/// A struct's named fields whose types are paths, as written.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StructFacts {
    pub name: Name,
    pub fields: Vec<(Name, Vec<Name>)>,
    /// Every field with its full type (tuple-struct fields are named `0`, `1`...).
    pub field_types: Vec<(Name, TypeName)>,
    pub attributes: Vec<AttrFact>,
    pub range: Range,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChildMod {
    pub name: Name,
    /// Module path of the declaring module (the file's module plus inline modules).
    pub parent: ModPath,
    /// Inline modules between the file's module and the declaration (for directory rules).
    pub inline_dirs: Vec<Name>,
    /// `#[path = "..."]`, if any.
    pub path_attr: Option<Name>,
    /// `#[cfg_attr(pred, path = "...")]` alternatives, in source order (platform-specific
    /// files); the first that exists is analysed when there is no plain `#[path]`.
    pub cfg_paths: Vec<Name>,
    pub is_test: bool,
    pub range: Range,
}

/// A type as far as a purely syntactic reading can tell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypeExpr {
    /// A type named by a path as written (`File`, `std::fs::File`, `Self`).
    Named(Vec<Name>),
    /// The result of calling a path (`File::open(p)`, `stdin()`); the first argument's type
    /// is kept for wrappers such as `BufReader::new(file)`.
    CallResult(Vec<Name>, Option<Box<TypeExpr>>),
    /// The result of a method call on a typed receiver.
    MethodResult(Box<TypeExpr>, Name),
    /// One element of a tuple (`let (tx, rx) = channel();`).
    TupleField(Box<TypeExpr>, usize),
    /// A named field of a typed value (`state.pool`).
    Field(Box<TypeExpr>, Name),
}

/// What kind of lexical scope a call sits in; the crate model turns this into an execution
/// context (async, sync, startup, escaped).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ScopeKind {
    /// The fn body itself.
    FnBody,
    /// `async { .. }`.
    AsyncBlock,
    /// A closure; `arg_of` is the index (in `FnFacts::calls`) of the call it is an argument of.
    Closure {
        is_async: bool,
        arg_of: Option<usize>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Scope {
    pub kind: ScopeKind,
    pub parent: Option<usize>,
    /// The value of a closure's body or an async block's tail expression.
    pub value: Option<Operand>,
    pub range: Range,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Callee {
    /// `a::b::c(..)` as written.
    Path(Vec<Name>),
    /// `receiver.name(..)` with the receiver's type if known.
    Method {
        name: Name,
        receiver: Option<TypeExpr>,
        /// The first path or macro at the start of the receiver chain (`warp::path(..)` in
        /// `warp::path("a").and(..).map(..)`), used to recognise filter chains.
        chain_root: Option<Vec<Name>>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallSite {
    pub callee: Callee,
    /// The callee path, or the method name.
    pub range: Range,
    pub scope: usize,
    /// The call's result is `.await`ed (directly or through `?`).
    pub awaited: bool,
    /// Number of arguments.
    pub arg_count: usize,
    /// The first argument is `&mut expr` (diesel's `.load(&mut conn)`).
    pub first_arg_mut_ref: bool,
    /// The arguments, summarised.
    pub args: Vec<Operand>,
    /// The receiver of a method call, summarised.
    pub receiver: Option<Operand>,
    /// Turbofish type arguments (`from_extractor::<RequireAuth>()`).
    pub generics: Vec<TypeName>,
}

/// `let name = value;` or `name = value;`, in source order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LetFacts {
    pub name: Name,
    pub value: Operand,
    /// Number of calls recorded before the binding takes effect: a use at call `i` sees the
    /// last binding with `after_call <= i`.
    pub after_call: usize,
    pub scope: usize,
    pub range: Range,
    /// A re-assignment (`x = ..`) rather than a `let`.
    pub is_assign: bool,
}

/// A macro invocation in a fn body: `println!(..)`, `routes![..]`, `warp::path!(..)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MacroSite {
    pub path: Vec<Name>,
    pub range: Range,
    pub scope: usize,
    pub args: Vec<Operand>,
    /// Number of calls recorded before it (for ordering against calls).
    pub after_call: usize,
    /// Calls recorded inside its arguments are `after_call..calls_end`
    /// (`assert!(id.len() < 10)` holds the `len` call).
    pub calls_end: usize,
}

/// `base[index]` or `base[a..b]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IndexSite {
    pub base: Operand,
    /// The index; for a range (`a[i..j]`), the tuple of its bounds.
    pub index: Operand,
    pub is_range: bool,
    pub range: Range,
    pub scope: usize,
    /// Number of calls recorded before it (for data flow at this point).
    pub after_call: usize,
}

/// An assignment to a place that is not a plain local (`state.hits += 1`, `*guard = v`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AssignSite {
    pub target: Operand,
    pub range: Range,
    pub scope: usize,
}

/// A parameter with its type as written and the names its pattern binds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ParamFacts {
    pub names: Vec<Name>,
    pub ty: Option<TypeName>,
    pub range: Range,
}

/// A path used as a value (`get(list_todos)`, `spawn_blocking(load)`), possibly a fn.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValueRef {
    pub path: Vec<Name>,
    pub range: Range,
    pub scope: usize,
    /// The call this path is a direct argument of.
    pub arg_of: Option<usize>,
    /// A local binding or parameter (recorded only as a call argument), not an item.
    pub is_local: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FnAttrs {
    /// `#[test]`, `#[tokio::test]`, inside `#[cfg(test)]`...
    pub is_test: bool,
    /// An entry point: `fn main`, `#[tokio::main]`, rocket's `#[launch]`.
    pub is_entry: bool,
    /// A framework calls this fn on the executor even if it is sync (rocket routes, poem and
    /// salvo `#[handler]`): says which, for messages.
    pub executor_handler: Option<Cow<'static, str>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FnFacts {
    pub name: Name,
    pub module: ModPath,
    /// The impl's self type (last segment) or the trait name for trait default methods.
    pub self_ty: Option<Name>,
    /// Index of the enclosing fn when this fn item is nested inside another fn's body.
    pub parent_fn: Option<usize>,
    pub is_async: bool,
    pub attrs: FnAttrs,
    /// The declared return type (inside `Result`/`Option`), when it names a type.
    pub ret: Option<TypeExpr>,
    pub range: Range,
    pub scopes: Vec<Scope>,
    pub calls: Vec<CallSite>,
    pub refs: Vec<ValueRef>,
    /// `use` items written inside the body.
    pub imports: Vec<Import>,
    /// Names of the parameters bound by plain identifiers.
    pub params: Vec<Name>,
    /// Every typed parameter (not `self`), in order.
    pub param_types: Vec<ParamFacts>,
    /// The declared return type as written.
    pub ret_type: Option<TypeName>,
    pub attributes: Vec<AttrFact>,
    pub lets: Vec<LetFacts>,
    /// The body's tail expression and every `return` value.
    pub returns: Vec<Operand>,
    pub macros: Vec<MacroSite>,
    pub indexes: Vec<IndexSite>,
    pub assigns: Vec<AssignSite>,
    /// Paths to constants used as values (`StatusCode::UNAUTHORIZED`).
    pub consts: Vec<Vec<Name>>,
}

/// Extracts the facts of one parsed file whose module path is `module`.
pub fn extract(file: &syn::File, module: &ModPath, file_is_test: bool) -> FileFacts {
    extract_with(file, module, file_is_test, false, false)
}

/// Everything, except the bodies of fns in test code (`#[test]` fns, `#[cfg(test)]`
/// modules), which keep their signature only: for runs that do not analyse test code. No
/// rule reports in test code then, and code outside tests cannot call into it.
pub fn extract_without_test_bodies(
    file: &syn::File,
    module: &ModPath,
    file_is_test: bool,
) -> FileFacts {
    extract_with(file, module, file_is_test, false, true)
}

/// Only the module tree (`mod` items), no fn bodies: the parse-only baseline of the
/// benchmarks.
pub fn extract_modules_only(file: &syn::File, module: &ModPath, file_is_test: bool) -> FileFacts {
    extract_with(file, module, file_is_test, true, false)
}

fn extract_with(
    file: &syn::File,
    module: &ModPath,
    file_is_test: bool,
    modules_only: bool,
    skip_test_bodies: bool,
) -> FileFacts {
    let mut facts = FileFacts::default();
    let mut ex = ItemWalker {
        facts: &mut facts,
        module: module.clone(),
        inline_dirs: Vec::new(),
        in_test: file_is_test,
        modules_only,
        skip_test_bodies,
        macro_depth: 0,
        fn_depth: 0,
    };
    ex.items(&file.items, file_is_test);
    facts.imported_roots.sort();
    facts.imported_roots.dedup();
    facts
}

struct ItemWalker<'f> {
    facts: &'f mut FileFacts,
    module: ModPath,
    inline_dirs: Vec<Name>,
    in_test: bool,
    modules_only: bool,
    /// Fns in test code get their signature only (see [`extract_without_test_bodies`]).
    skip_test_bodies: bool,
    /// Item macros being expanded around the current item.
    macro_depth: u32,
    /// Fn items being walked around the current fn (`fn a() { fn b() { .. } }`).
    fn_depth: u32,
}

/// Deepest inline `mod a { mod b { .. } }` nesting read; deeper modules are skipped (every
/// module stores its full path, so unbounded nesting costs quadratic memory).
const MAX_INLINE_MOD_DEPTH: usize = 64;
/// Deepest nesting of item-wrapping macros read (each level re-parses its whole body).
const MAX_ITEM_MACRO_DEPTH: u32 = 8;
/// Deepest nesting of fn items inside fn bodies read (each level clones its nested fns).
const MAX_FN_DEPTH: u32 = 16;

pub fn has_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && {
            let text = a.meta.to_token_stream_string();
            contains_word(&text, "test") && !text.contains("not")
        }
    })
}

/// Modules that hold test support code by convention, even without `#[cfg(test)]`
/// (`pub mod test_utils;` shared by the tests of several crates).
pub fn is_test_module_name(name: &str) -> bool {
    matches!(
        name,
        "test" | "tests" | "testing" | "test_utils" | "test_util" | "test_helpers" | "testutils"
    )
}

fn contains_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == word)
}

trait MetaText {
    fn to_token_stream_string(&self) -> String;
}

impl MetaText for syn::Meta {
    fn to_token_stream_string(&self) -> String {
        match self {
            syn::Meta::Path(p) => path_segments(p).join("::"),
            syn::Meta::List(l) => {
                format!("{}({})", path_segments(&l.path).join("::"), l.tokens)
            }
            syn::Meta::NameValue(nv) => path_segments(&nv.path).join("::"),
        }
    }
}

pub fn path_segments(path: &syn::Path) -> Vec<Name> {
    path.segments.iter().map(|s| unraw(&s.ident)).collect()
}

/// An identifier's name without the `r#` of raw identifiers (`mod r#impl;` is `impl.rs`).
pub fn unraw(ident: &proc_macro2::Ident) -> Name {
    use std::fmt::Write as _;
    let mut text = IdentText::default();
    let _ = write!(text, "{ident}");
    let s = text.as_str();
    Name::from(s.strip_prefix("r#").unwrap_or(s))
}

/// Receives an identifier's text from its `Display` (proc-macro2 has no other accessor) on
/// the stack: most identifiers then cost no allocation at all on their way into a [`Name`].
struct IdentText {
    buf: [u8; 64],
    len: usize,
    long: Option<String>,
}

impl Default for IdentText {
    fn default() -> IdentText {
        IdentText {
            buf: [0; 64],
            len: 0,
            long: None,
        }
    }
}

impl IdentText {
    fn as_str(&self) -> &str {
        match &self.long {
            Some(s) => s,
            // SAFETY: `write_str` only ever appends whole `&str`s to `buf[..len]`, so those
            // bytes are UTF-8 (checking them again cost 3% of the whole fact extraction).
            None => unsafe { std::str::from_utf8_unchecked(&self.buf[..self.len]) },
        }
    }
}

impl std::fmt::Write for IdentText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if let Some(long) = &mut self.long {
            long.push_str(s);
        } else if self.len + s.len() <= self.buf.len() {
            self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else {
            let mut long = String::from(self.as_str());
            long.push_str(s);
            self.long = Some(long);
        }
        Ok(())
    }
}

fn attr_last(attr: &syn::Attribute) -> Name {
    attr.path()
        .segments
        .last()
        .map(|s| unraw(&s.ident))
        .unwrap_or_default()
}

const ROUTE_ATTRS: &[&str] = &[
    "get", "post", "put", "delete", "patch", "head", "options", "route", "catch",
];

fn fn_attrs(attrs: &[syn::Attribute], name: &str, is_async: bool, in_test: bool) -> FnAttrs {
    let mut out = FnAttrs {
        is_test: in_test || has_cfg_test(attrs),
        ..FnAttrs::default()
    };
    for a in attrs {
        let last = attr_last(a);
        let segs = path_segments(a.path());
        match last.as_str() {
            "test" | "rstest" | "test_case" | "quickcheck" | "proptest" => out.is_test = true,
            "main" if segs.len() > 1 => out.is_entry = true,
            "launch" => out.is_entry = true,
            "handler" | "endpoint" => {
                out.executor_handler = Some(
                    "a `#[handler]`, which poem and salvo call inline on the async executor".into(),
                )
            }
            l if ROUTE_ATTRS.contains(&l) && !is_async => {
                // actix-web requires async handlers; a sync fn with a route attribute is a
                // rocket route, which rocket calls inline on the executor.
                out.executor_handler = Some(
                    "a rocket route, and rocket calls sync routes inline on the async executor"
                        .into(),
                );
            }
            _ => {}
        }
    }
    if name == "main" {
        out.is_entry = true;
    }
    out
}

fn self_ty_name(ty: &syn::Type) -> Option<Name> {
    match ty {
        syn::Type::Path(tp) => tp.path.segments.last().map(|s| unraw(&s.ident)),
        syn::Type::Reference(r) => self_ty_name(&r.elem),
        syn::Type::Group(g) => self_ty_name(&g.elem),
        syn::Type::Paren(p) => self_ty_name(&p.elem),
        _ => None,
    }
}

impl ItemWalker<'_> {
    fn module_entry(&mut self, is_test: bool) -> usize {
        if let Some(i) = self
            .facts
            .modules
            .iter()
            .position(|m| m.path == self.module)
        {
            return i;
        }
        self.facts.modules.push(ModuleFacts {
            path: self.module.clone(),
            is_test,
            ..ModuleFacts::default()
        });
        self.facts.modules.len() - 1
    }

    fn items(&mut self, items: &[syn::Item], is_test: bool) {
        let m = self.module_entry(is_test);
        for item in items {
            self.item(item, m);
        }
    }

    fn item(&mut self, item: &syn::Item, m: usize) {
        let in_test = self.in_test;
        match item {
            syn::Item::Use(u) => {
                let is_pub = !matches!(u.vis, syn::Visibility::Inherited);
                let mut prefix = Vec::new();
                let mut out = Vec::new();
                collect_use(&u.tree, &mut prefix, &self.module, is_pub, &mut out);
                for imp in &out {
                    if let Some(first) = imp.target.first() {
                        self.facts.imported_roots.push(first.clone());
                    }
                }
                self.facts.modules[m].imports.extend(out);
            }
            syn::Item::Fn(f) => {
                self.facts.modules[m].items.push(unraw(&f.sig.ident));
                let test = in_test || has_cfg_test(&f.attrs);
                self.function(&f.attrs, &f.sig, Some(&f.block), None, test, None);
            }
            syn::Item::Impl(imp) => {
                let test = in_test || has_cfg_test(&imp.attrs);
                let self_ty = self_ty_name(&imp.self_ty);
                if let (Some((tr, _)), Some(st)) = (&imp.trait_, &self_ty) {
                    self.facts.modules[m].impls.push(ImplFacts {
                        trait_path: path_segments(tr),
                        trait_args: tr
                            .segments
                            .last()
                            .map(|s| turbofish(&s.arguments))
                            .unwrap_or_default(),
                        self_ty: st.clone(),
                        range: spans::ty(&imp.self_ty),
                    });
                }
                for ii in &imp.items {
                    if let syn::ImplItem::Fn(f) = ii {
                        self.function(
                            &f.attrs,
                            &f.sig,
                            Some(&f.block),
                            self_ty.clone(),
                            test,
                            None,
                        );
                    }
                }
            }
            syn::Item::Trait(t) => {
                self.facts.modules[m].items.push(unraw(&t.ident));
                let test = in_test || has_cfg_test(&t.attrs);
                for ti in &t.items {
                    if let syn::TraitItem::Fn(f) = ti {
                        if let Some(body) = &f.default {
                            self.function(
                                &f.attrs,
                                &f.sig,
                                Some(body),
                                Some(unraw(&t.ident)),
                                test,
                                None,
                            );
                        }
                    }
                }
            }
            syn::Item::Mod(md) => {
                let name = unraw(&md.ident);
                self.facts.modules[m].items.push(name.clone());
                let test = in_test || has_cfg_test(&md.attrs) || is_test_module_name(&name);
                let path_attr = md.attrs.iter().find_map(|a| {
                    if !a.path().is_ident("path") {
                        return None;
                    }
                    if let syn::Meta::NameValue(nv) = &a.meta {
                        if let Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(s),
                            ..
                        }) = &nv.value
                        {
                            return Some(Name::from(s.value()));
                        }
                    }
                    None
                });
                let cfg_paths: Vec<Name> = md
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident("cfg_attr"))
                    .filter_map(|a| match &a.meta {
                        syn::Meta::List(l) => cfg_attr_path(l.tokens.clone()),
                        _ => None,
                    })
                    .collect();
                match &md.content {
                    Some(_) if self.inline_dirs.len() >= MAX_INLINE_MOD_DEPTH => {}
                    Some((_, items)) => {
                        let saved_test = self.in_test;
                        self.in_test = test;
                        self.module.push(name.clone());
                        self.inline_dirs.push(path_attr.clone().unwrap_or(name));
                        self.items(items, test);
                        self.inline_dirs.pop();
                        self.module.pop();
                        self.in_test = saved_test;
                    }
                    None => self.facts.child_mods.push(ChildMod {
                        name,
                        parent: self.module.clone(),
                        inline_dirs: self.inline_dirs.clone(),
                        path_attr,
                        cfg_paths,
                        is_test: test,
                        range: spans::ident(&md.ident),
                    }),
                }
            }
            syn::Item::Struct(s) => {
                self.facts.modules[m].items.push(unraw(&s.ident));
                let fields: Vec<(Name, Vec<Name>)> = s
                    .fields
                    .iter()
                    .filter_map(|f| {
                        let name = unraw(f.ident.as_ref()?);
                        match type_expr_of_type(&f.ty)? {
                            TypeExpr::Named(p) => Some((name, p)),
                            _ => None,
                        }
                    })
                    .collect();
                let field_types: Vec<(Name, TypeName)> = s
                    .fields
                    .iter()
                    .enumerate()
                    .filter_map(|(i, f)| {
                        let name = f.ident.as_ref().map_or(i.to_compact_string(), unraw);
                        Some((name, summary::type_name(&f.ty)?))
                    })
                    .collect();
                self.facts.modules[m].structs.push(StructFacts {
                    name: unraw(&s.ident),
                    fields,
                    field_types,
                    attributes: summary::attr_facts(&s.attrs),
                    range: spans::ident(&s.ident),
                });
            }
            syn::Item::Enum(e) => self.facts.modules[m].items.push(unraw(&e.ident)),
            syn::Item::Type(t) => {
                self.facts.modules[m].items.push(unraw(&t.ident));
                if let Some(full) = summary::type_name(&t.ty) {
                    self.facts.modules[m]
                        .type_aliases
                        .push((unraw(&t.ident), full));
                }
                if let Some(TypeExpr::Named(target)) = type_expr_of_type(&t.ty) {
                    self.facts.modules[m]
                        .aliases
                        .push((unraw(&t.ident), target));
                }
            }
            syn::Item::Const(c) => self.facts.modules[m].items.push(unraw(&c.ident)),
            syn::Item::Static(s) => {
                self.facts.modules[m].items.push(unraw(&s.ident));
                let kind = match s.mutability {
                    syn::StaticMutability::Mut(_) => StaticKind::StaticMut,
                    _ => StaticKind::Static,
                };
                let test = in_test || has_cfg_test(&s.attrs);
                self.static_item(m, &s.ident, kind, &s.ty, Some(&s.expr), test);
            }
            syn::Item::Union(u) => self.facts.modules[m].items.push(unraw(&u.ident)),
            syn::Item::Macro(mac) if macro_is(&mac.mac, &["lazy_static", "thread_local"]) => {
                let kind = if macro_is(&mac.mac, &["lazy_static"]) {
                    StaticKind::LazyStatic
                } else {
                    StaticKind::ThreadLocal
                };
                let test = in_test || has_cfg_test(&mac.attrs);
                for st in static_macro_items(mac.mac.tokens.clone()) {
                    self.facts.modules[m].items.push(unraw(&st.ident));
                    self.static_item(m, &st.ident, kind, &st.ty, Some(&st.expr), test);
                }
            }
            syn::Item::Macro(mac) => {
                if let Some(id) = &mac.ident {
                    self.facts.modules[m].items.push(id.to_compact_string());
                } else if !mac.mac.path.is_ident("macro_rules")
                    && self.macro_depth < MAX_ITEM_MACRO_DEPTH
                {
                    // Item-wrapping macros (`cfg_rt! { pub mod runtime; }`, `cfg_if!`-free
                    // feature gates): read the items they wrap as if written here.
                    if let Ok(file) = syn::parse2::<syn::File>(mac.mac.tokens.clone()) {
                        self.macro_depth += 1;
                        for inner in &file.items {
                            self.item(inner, m);
                        }
                        self.macro_depth -= 1;
                    }
                }
            }
            _ => {}
        }
    }

    fn static_item(
        &mut self,
        m: usize,
        ident: &proc_macro2::Ident,
        kind: StaticKind,
        ty: &syn::Type,
        init: Option<&Expr>,
        is_test: bool,
    ) {
        let init_callee = init.and_then(|e| match strip_parens(e) {
            Expr::Call(c) => match strip_parens(&c.func) {
                Expr::Path(p) => Some(path_segments(&p.path)),
                _ => None,
            },
            Expr::Const(c) => match c.block.stmts.last() {
                Some(syn::Stmt::Expr(Expr::Call(call), None)) => match strip_parens(&call.func) {
                    Expr::Path(p) => Some(path_segments(&p.path)),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        });
        self.facts.modules[m].statics.push(StaticFacts {
            name: unraw(ident),
            kind,
            ty: summary::type_name(ty),
            init_callee,
            range: spans::ident(ident),
            is_test,
        });
    }

    fn function(
        &mut self,
        attrs: &[syn::Attribute],
        sig: &syn::Signature,
        body: Option<&syn::Block>,
        self_ty: Option<Name>,
        in_test: bool,
        parent_fn: Option<usize>,
    ) {
        if self.modules_only {
            return;
        }
        let name = unraw(&sig.ident);
        let is_async = sig.asyncness.is_some();
        let idx = self.facts.fns.len();
        let body_scope = Scope {
            kind: ScopeKind::FnBody,
            parent: None,
            value: None,
            range: body.map(spans::block).unwrap_or_default(),
        };
        self.facts.fns.push(FnFacts {
            name: name.clone(),
            module: self.module.clone(),
            self_ty: self_ty.clone(),
            parent_fn,
            is_async,
            attrs: fn_attrs(attrs, &name, is_async, in_test),
            ret: return_type(&sig.output),
            range: spans::ident(&sig.ident),
            scopes: vec![body_scope.clone()],
            params: sig
                .inputs
                .iter()
                .filter_map(|a| match a {
                    syn::FnArg::Typed(pt) => match &*pt.pat {
                        syn::Pat::Ident(pi) => Some(unraw(&pi.ident)),
                        _ => None,
                    },
                    syn::FnArg::Receiver(_) => None,
                })
                .collect(),
            param_types: sig
                .inputs
                .iter()
                .filter_map(|a| match a {
                    syn::FnArg::Typed(pt) => Some(ParamFacts {
                        names: pat_names(&pt.pat),
                        ty: summary::type_name(&pt.ty),
                        range: spans::pat_type(pt),
                    }),
                    syn::FnArg::Receiver(_) => None,
                })
                .collect(),
            ret_type: match &sig.output {
                syn::ReturnType::Type(_, ty) => summary::type_name(ty),
                syn::ReturnType::Default => None,
            },
            attributes: summary::attr_facts(attrs),
            ..FnFacts::default()
        });
        let Some(body) = body else { return };
        if self.skip_test_bodies && self.facts.fns[idx].attrs.is_test {
            return;
        }
        let mut bw = BodyWalker {
            f: FnFacts {
                name,
                module: self.module.clone(),
                self_ty,
                parent_fn,
                is_async,
                scopes: vec![body_scope],
                ..FnFacts::default()
            },
            scope: 0,
            bindings: vec![Default::default()],
            nested: Vec::new(),
            collect_nested: self.fn_depth < MAX_FN_DEPTH,
            pending_arg_of: None,
            awaited_next: false,
            depth: 0,
            nodes: HashMap::new(),
        };
        for input in &sig.inputs {
            bw.bind_fn_arg(input);
        }
        bw.visit_block(body);
        if let Some(syn::Stmt::Expr(tail, None)) = body.stmts.last() {
            let v = bw.operand(tail);
            bw.f.returns.push(v);
        }
        let nested = std::mem::take(&mut bw.nested);
        let f = &mut self.facts.fns[idx];
        f.scopes = bw.f.scopes;
        f.calls = bw.f.calls;
        f.refs = bw.f.refs;
        f.imports = bw.f.imports;
        f.lets = bw.f.lets;
        f.returns = bw.f.returns;
        f.macros = bw.f.macros;
        f.indexes = bw.f.indexes;
        f.assigns = bw.f.assigns;
        f.consts = bw.f.consts;
        self.fn_depth += 1;
        for nf in nested {
            // Nested fn items are fns of their own, resolvable from the enclosing body.
            let test = in_test || has_cfg_test(&nf.attrs);
            self.function(&nf.attrs, &nf.sig, Some(&nf.block), None, test, Some(idx));
        }
        self.fn_depth -= 1;
    }
}

fn collect_use(
    tree: &syn::UseTree,
    prefix: &mut Vec<Name>,
    module: &ModPath,
    is_pub: bool,
    out: &mut Vec<Import>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(unraw(&p.ident));
            collect_use(&p.tree, prefix, module, is_pub, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let ident = unraw(&n.ident);
            if ident == "self" {
                // `use a::b::{self}` imports `b`.
                if let Some(last) = prefix.last().cloned() {
                    out.push(Import {
                        name: last,
                        target: absolutize(prefix, module),
                        is_glob: false,
                        is_pub,
                    });
                }
            } else {
                let mut target = prefix.clone();
                target.push(ident.clone());
                out.push(Import {
                    name: ident,
                    target: absolutize(&target, module),
                    is_glob: false,
                    is_pub,
                });
            }
        }
        syn::UseTree::Rename(r) => {
            let ident = unraw(&r.ident);
            let target = if ident == "self" {
                prefix.clone()
            } else {
                let mut t = prefix.clone();
                t.push(ident);
                t
            };
            let name = r.rename.to_compact_string();
            if name != "_" {
                out.push(Import {
                    name,
                    target: absolutize(&target, module),
                    is_glob: false,
                    is_pub,
                });
            }
        }
        syn::UseTree::Glob(_) => out.push(Import {
            name: Name::default(),
            target: absolutize(prefix, module),
            is_glob: true,
            is_pub,
        }),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                collect_use(t, prefix, module, is_pub, out);
            }
        }
    }
}

/// The `path = "..."` inside `cfg_attr(pred, path = "...")`.
fn cfg_attr_path(tokens: TokenStream) -> Option<Name> {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    tts.windows(3).find_map(|w| match w {
        [TokenTree::Ident(i), TokenTree::Punct(p), TokenTree::Literal(l)]
            if i == "path" && p.as_char() == '=' =>
        {
            match syn::parse_str::<syn::LitStr>(&l.to_compact_string()) {
                Ok(s) => Some(s.value().into()),
                Err(_) => None,
            }
        }
        _ => None,
    })
}

/// Makes `self::`, `super::` and `crate::` paths absolute (`crate` + module path).
pub fn absolutize(path: &[Name], module: &ModPath) -> Vec<Name> {
    let Some(first) = path.first() else {
        return Vec::new();
    };
    match first.as_str() {
        "crate" => path.to_vec(),
        "self" | "super" => {
            let mut base: Vec<Name> = module.clone();
            let mut rest = path;
            while let Some(seg) = rest.first() {
                match seg.as_str() {
                    "self" => rest = &rest[1..],
                    "super" => {
                        base.pop();
                        rest = &rest[1..];
                    }
                    _ => break,
                }
            }
            let mut out = vec!["crate".to_compact_string()];
            out.extend(base);
            out.extend(rest.iter().cloned());
            out
        }
        _ => path.to_vec(),
    }
}

// ---------------------------------------------------------------------------------------
// Fn bodies

/// Deepest expression nesting walked; deeper code is skipped rather than overflowing the stack.
const MAX_DEPTH: u32 = 400;

struct BodyWalker {
    f: FnFacts,
    scope: usize,
    /// Local bindings with their types, innermost block last.
    bindings: Vec<Vec<(Name, TypeExpr)>>,
    /// Nested fn items, extracted after the body.
    nested: Vec<syn::ItemFn>,
    /// False past [`MAX_FN_DEPTH`]: nested fn items are not cloned or analysed.
    collect_nested: bool,
    /// When set, the next closure visited is an argument of this call.
    pending_arg_of: Option<usize>,
    /// Set while visiting the operand of `.await`.
    awaited_next: bool,
    depth: u32,
    /// Syntax nodes already recorded (by address and kind), so that operands can name the
    /// call, macro or closure an argument is: see [`BodyWalker::operand`].
    nodes: HashMap<(usize, NodeKind), usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum NodeKind {
    Call,
    Macro,
    Closure,
}

fn node_key<T>(node: &T, kind: NodeKind) -> (usize, NodeKind) {
    (node as *const T as usize, kind)
}

/// Deepest operand nesting summarised.
const MAX_OPERAND_DEPTH: u32 = 32;

/// The names a pattern binds.
pub fn pat_names(pat: &syn::Pat) -> Vec<Name> {
    let mut out = Vec::new();
    collect_pat_names(pat, &mut out, 0);
    out
}

fn collect_pat_names(pat: &syn::Pat, out: &mut Vec<Name>, depth: u32) {
    if depth > 32 {
        return;
    }
    let d = depth + 1;
    match pat {
        syn::Pat::Ident(pi) => {
            out.push(unraw(&pi.ident));
            if let Some((_, sub)) = &pi.subpat {
                collect_pat_names(sub, out, d);
            }
        }
        syn::Pat::Type(pt) => collect_pat_names(&pt.pat, out, d),
        syn::Pat::Reference(r) => collect_pat_names(&r.pat, out, d),
        syn::Pat::Paren(p) => collect_pat_names(&p.pat, out, d),
        syn::Pat::Tuple(t) => t.elems.iter().for_each(|p| collect_pat_names(p, out, d)),
        syn::Pat::TupleStruct(t) => t.elems.iter().for_each(|p| collect_pat_names(p, out, d)),
        syn::Pat::Struct(s) => s
            .fields
            .iter()
            .for_each(|f| collect_pat_names(&f.pat, out, d)),
        syn::Pat::Slice(s) => s.elems.iter().for_each(|p| collect_pat_names(p, out, d)),
        syn::Pat::Or(o) => {
            if let Some(first) = o.cases.first() {
                collect_pat_names(first, out, d)
            }
        }
        _ => {}
    }
}

/// Future adapters: awaiting `fut.map_err(..)` awaits `fut`.
const FUTURE_COMBINATORS: &[&str] = &[
    "map_err",
    "map",
    "map_ok",
    "err_into",
    "context",
    "with_context",
    "inspect",
    "inspect_err",
    "instrument",
    "in_current_span",
    "boxed",
    "fuse",
];

/// Method names that return their receiver's type (for type tracking through chains).
const TRANSPARENT_METHODS: &[&str] = &[
    "unwrap",
    "expect",
    "unwrap_or_default",
    "unwrap_unchecked",
    "clone",
    "as_ref",
    "as_mut",
    "borrow",
    "borrow_mut",
    "by_ref",
    "to_owned",
    "into",
];

impl BodyWalker {
    fn lookup(&self, name: &str) -> Option<TypeExpr> {
        for frame in self.bindings.iter().rev() {
            for (n, t) in frame.iter().rev() {
                if n == name {
                    return Some(t.clone());
                }
            }
        }
        None
    }

    fn bind(&mut self, name: Name, ty: TypeExpr) {
        if let Some(frame) = self.bindings.last_mut() {
            frame.push((name, ty));
        }
    }

    /// Shadowing a name with an untyped binding must hide the older type.
    fn bind_unknown(&mut self, name: Name) {
        if let Some(frame) = self.bindings.last_mut() {
            frame.push((name, TypeExpr::Named(vec!["?".into()])));
        }
    }

    fn bind_fn_arg(&mut self, arg: &syn::FnArg) {
        match arg {
            syn::FnArg::Receiver(_) => {
                self.bind("self".into(), TypeExpr::Named(vec!["Self".into()]))
            }
            syn::FnArg::Typed(pt) => {
                let ty = type_expr_of_type(&pt.ty);
                self.bind_pat(&pt.pat, ty);
            }
        }
    }

    fn bind_pat(&mut self, pat: &syn::Pat, ty: Option<TypeExpr>) {
        match pat {
            syn::Pat::Ident(pi) => {
                let name = unraw(&pi.ident);
                match ty {
                    Some(t) => self.bind(name, t),
                    None => self.bind_unknown(name),
                }
            }
            syn::Pat::Type(pt) => {
                let t = type_expr_of_type(&pt.ty).or(ty);
                self.bind_pat(&pt.pat, t);
            }
            syn::Pat::Reference(r) => self.bind_pat(&r.pat, ty),
            syn::Pat::Paren(p) => self.bind_pat(&p.pat, ty),
            syn::Pat::Guard(g) => self.bind_pat(&g.pat, ty),
            syn::Pat::Tuple(t) => {
                for (i, p) in t.elems.iter().enumerate() {
                    let et = ty.clone().map(|ty| TypeExpr::TupleField(Box::new(ty), i));
                    self.bind_pat(p, et);
                }
            }
            syn::Pat::TupleStruct(ts) => {
                // `Ok(f)` / `Some(f)` unwrap the value; other tuple structs are unknown.
                let last = ts
                    .path
                    .segments
                    .last()
                    .map(|s| unraw(&s.ident))
                    .unwrap_or_default();
                let inner = if matches!(last.as_str(), "Ok" | "Some") && ts.elems.len() == 1 {
                    ty
                } else {
                    None
                };
                for p in &ts.elems {
                    self.bind_pat(p, inner.clone());
                }
            }
            syn::Pat::Struct(s) => {
                for fp in &s.fields {
                    self.bind_pat(&fp.pat, None);
                }
            }
            syn::Pat::Slice(s) => {
                for p in &s.elems {
                    self.bind_pat(p, None);
                }
            }
            syn::Pat::Or(o) => {
                for p in &o.cases {
                    self.bind_pat(p, ty.clone());
                }
            }
            _ => {}
        }
    }

    /// The type of an expression, as far as syntax tells.
    fn expr_type(&self, expr: &Expr) -> Option<TypeExpr> {
        self.expr_type_depth(expr, 0)
    }

    fn expr_type_depth(&self, expr: &Expr, depth: u32) -> Option<TypeExpr> {
        // Long method chains are typed through their first links only.
        if depth > 64 {
            return None;
        }
        let d = depth + 1;
        match expr {
            Expr::Path(p) if p.qself.is_none() => {
                if p.path.segments.len() == 1 {
                    let name = unraw(&p.path.segments[0].ident);
                    self.lookup(&name)
                        .filter(|t| *t != TypeExpr::Named(vec!["?".into()]))
                } else {
                    None
                }
            }
            Expr::Call(c) => {
                let Expr::Path(fp) = &*c.func else {
                    return None;
                };
                let first = c
                    .args
                    .first()
                    .and_then(|a| self.expr_type_depth(a, d))
                    .map(Box::new);
                Some(TypeExpr::CallResult(path_segments(&fp.path), first))
            }
            Expr::MethodCall(mc) => {
                let name = mc.method.to_compact_string();
                let recv = self.expr_type_depth(&mc.receiver, d);
                if TRANSPARENT_METHODS.contains(&name.as_str()) {
                    recv
                } else {
                    recv.map(|r| TypeExpr::MethodResult(Box::new(r), name))
                }
            }
            Expr::Try(t) => self.expr_type_depth(&t.expr, d),
            Expr::Await(a) => self.expr_type_depth(&a.base, d),
            Expr::Paren(p) => self.expr_type_depth(&p.expr, d),
            Expr::Group(g) => self.expr_type_depth(&g.expr, d),
            Expr::Reference(r) => self.expr_type_depth(&r.expr, d),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => {
                self.expr_type_depth(&u.expr, d)
            }
            Expr::Cast(c) => type_expr_of_type(&c.ty),
            Expr::Field(f) => match &f.member {
                syn::Member::Named(name) => self
                    .expr_type_depth(&f.base, d)
                    .map(|base| TypeExpr::Field(Box::new(base), unraw(name))),
                syn::Member::Unnamed(_) => None,
            },
            _ => None,
        }
    }

    fn push_scope(&mut self, kind: ScopeKind, range: Range) -> usize {
        self.f.scopes.push(Scope {
            kind,
            parent: Some(self.scope),
            value: None,
            range,
        });
        let prev = self.scope;
        self.scope = self.f.scopes.len() - 1;
        prev
    }

    #[allow(clippy::too_many_arguments)]
    fn record_call(
        &mut self,
        node: &Expr,
        callee: Callee,
        range: Range,
        args: &Punctuated<Expr, Token![,]>,
        receiver: Option<Operand>,
        generics: Vec<TypeName>,
    ) -> usize {
        let awaited = std::mem::take(&mut self.awaited_next);
        let first_arg_mut_ref = matches!(
            args.first().map(strip_parens),
            Some(Expr::Reference(r)) if r.mutability.is_some()
        );
        self.f.calls.push(CallSite {
            callee,
            range,
            scope: self.scope,
            awaited,
            arg_count: args.len(),
            first_arg_mut_ref,
            args: Vec::new(),
            receiver,
            generics,
        });
        let idx = self.f.calls.len() - 1;
        self.nodes.insert(node_key(node, NodeKind::Call), idx);
        idx
    }

    /// Visits call arguments: closures and paths among them know which call they belong to.
    /// Then records the arguments' operands.
    fn visit_args(&mut self, call: usize, args: &Punctuated<Expr, Token![,]>) {
        for a in args {
            match strip_parens(a) {
                Expr::Closure(_) | Expr::Path(_) | Expr::Reference(_) => {
                    self.pending_arg_of = Some(call);
                    self.visit_expr(a);
                    self.pending_arg_of = None;
                }
                _ => self.visit_expr(a),
            }
        }
        let ops: Vec<Operand> = args.iter().map(|a| self.operand(a)).collect();
        self.f.calls[call].args = ops;
    }

    fn visit_macro_body(&mut self, mac: &syn::Macro) {
        let after_call = self.f.calls.len();
        let exprs = macro_exprs(mac);
        for e in &exprs {
            self.visit_expr(e);
        }
        let path = path_segments(&mac.path);
        let args = if path.last().is_some_and(|l| l == "path") {
            path_macro_args(mac.tokens.clone())
        } else {
            exprs.iter().map(|e| self.operand(e)).collect()
        };
        self.f.macros.push(MacroSite {
            path,
            range: spans::path(&mac.path),
            scope: self.scope,
            args,
            after_call,
            calls_end: self.f.calls.len(),
        });
        self.nodes
            .insert(node_key(mac, NodeKind::Macro), self.f.macros.len() - 1);
    }

    /// Records what a `let` (or `if let`, `for`) pattern binds to `value`.
    fn record_let(&mut self, pat: &syn::Pat, value: Operand, is_assign: bool) {
        let after_call = self.f.calls.len();
        let mut stack = vec![(pat, value)];
        let mut guard = 0;
        while let Some((pat, value)) = stack.pop() {
            guard += 1;
            if guard > 256 {
                break;
            }
            match pat {
                syn::Pat::Ident(pi) => self.f.lets.push(LetFacts {
                    name: unraw(&pi.ident),
                    value,
                    after_call,
                    scope: self.scope,
                    range: spans::ident(&pi.ident),
                    is_assign,
                }),
                syn::Pat::Type(pt) => stack.push((&pt.pat, value)),
                syn::Pat::Reference(r) => stack.push((&r.pat, value)),
                syn::Pat::Paren(p) => stack.push((&p.pat, value)),
                syn::Pat::Tuple(t) => {
                    for (i, p) in t.elems.iter().enumerate() {
                        stack.push((
                            p,
                            Operand::Field(Box::new(value.clone()), i.to_compact_string()),
                        ));
                    }
                }
                // `Some(x)`, `Ok(x)`, `Json(x)`, `Path(id)`: the wrapped value.
                syn::Pat::TupleStruct(t) if t.elems.len() == 1 => stack.push((&t.elems[0], value)),
                syn::Pat::Struct(st) => {
                    for fp in &st.fields {
                        let name = match &fp.member {
                            syn::Member::Named(n) => unraw(n),
                            syn::Member::Unnamed(i) => i.index.to_compact_string(),
                        };
                        stack.push((&fp.pat, Operand::Field(Box::new(value.clone()), name)));
                    }
                }
                _ => {
                    for name in pat_names(pat) {
                        self.f.lets.push(LetFacts {
                            name,
                            value: Operand::Other,
                            after_call,
                            scope: self.scope,
                            range: spans::pat(pat),
                            is_assign,
                        });
                    }
                }
            }
        }
    }

    /// The operand an (already visited) expression is.
    fn operand(&self, e: &Expr) -> Operand {
        self.operand_depth(e, 0)
    }

    fn operand_depth(&self, e: &Expr, depth: u32) -> Operand {
        if depth > MAX_OPERAND_DEPTH {
            return Operand::Other;
        }
        let d = depth + 1;
        match e {
            Expr::Paren(p) => self.operand_depth(&p.expr, d),
            Expr::Group(g) => self.operand_depth(&g.expr, d),
            Expr::Reference(r) => self.operand_depth(&r.expr, d),
            Expr::Try(t) => self.operand_depth(&t.expr, d),
            Expr::Await(a) => self.operand_depth(&a.base, d),
            Expr::Cast(c) => self.operand_depth(&c.expr, d),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.operand_depth(&u.expr, d),
            Expr::Call(_) | Expr::MethodCall(_) => self
                .nodes
                .get(&node_key(e, NodeKind::Call))
                .filter(|&&i| same_callee(&self.f.calls[i].callee, e))
                .map_or(Operand::Other, |&i| Operand::Call(i)),
            Expr::Macro(m) => self
                .nodes
                .get(&node_key(&m.mac, NodeKind::Macro))
                .map_or(Operand::Other, |&i| Operand::Macro(i)),
            Expr::Closure(c) => self
                .nodes
                .get(&node_key(c, NodeKind::Closure))
                .map_or(Operand::Other, |&i| Operand::Closure(i)),
            Expr::Lit(l) => match &l.lit {
                syn::Lit::Str(s) => Operand::Str(summary::str_value(s)),
                other => Operand::Lit(lit_text(other)),
            },
            Expr::Path(p) if p.qself.is_none() => {
                let segs = path_segments(&p.path);
                if segs.len() == 1 && self.lookup_any(&segs[0]) {
                    Operand::Local(segs[0].clone())
                } else {
                    Operand::Path(segs)
                }
            }
            Expr::Tuple(t) => Operand::Tuple(
                t.elems
                    .iter()
                    .take(64)
                    .map(|x| self.operand_depth(x, d))
                    .collect(),
            ),
            Expr::Array(a) => Operand::Array(
                a.elems
                    .iter()
                    .take(64)
                    .map(|x| self.operand_depth(x, d))
                    .collect(),
            ),
            // An element of the base: data flow treats `parts[1]` like a field of `parts`.
            Expr::Index(ix) => {
                Operand::Field(Box::new(self.operand_depth(&ix.expr, d)), "[]".into())
            }
            Expr::Field(f) => {
                let name = match &f.member {
                    syn::Member::Named(n) => unraw(n),
                    syn::Member::Unnamed(i) => i.index.to_compact_string(),
                };
                Operand::Field(Box::new(self.operand_depth(&f.base, d)), name)
            }
            Expr::Struct(st) if st.qself.is_none() => Operand::Struct(
                path_segments(&st.path),
                st.fields
                    .iter()
                    .take(64)
                    .filter_map(|fv| match &fv.member {
                        syn::Member::Named(n) => Some((unraw(n), self.operand_depth(&fv.expr, d))),
                        syn::Member::Unnamed(_) => None,
                    })
                    .collect(),
            ),
            Expr::Block(b) => match b.block.stmts.last() {
                Some(syn::Stmt::Expr(tail, None)) => self.operand_depth(tail, d),
                _ => Operand::Other,
            },
            _ => Operand::Other,
        }
    }

    /// Whether a name is bound (typed or not) in an enclosing block.
    fn lookup_any(&self, name: &str) -> bool {
        self.bindings
            .iter()
            .rev()
            .any(|frame| frame.iter().any(|(n, _)| n == name))
    }
}

/// Whether a recorded callee is the one of this call expression (guards against a stale
/// node address from a macro's temporary syntax tree).
fn same_callee(callee: &Callee, e: &Expr) -> bool {
    match (callee, e) {
        (Callee::Method { name, .. }, Expr::MethodCall(mc)) => mc.method == name.as_str(),
        (Callee::Path(segs), Expr::Call(c)) => match strip_parens(&c.func) {
            Expr::Path(p) => p
                .path
                .segments
                .last()
                .is_some_and(|s| segs.last().is_some_and(|l| s.ident == l.as_str())),
            _ => false,
        },
        _ => false,
    }
}

fn lit_text(lit: &syn::Lit) -> Name {
    match lit {
        syn::Lit::Bool(b) => b.value.to_compact_string(),
        syn::Lit::Int(i) => i.base10_digits().to_compact_string(),
        syn::Lit::Float(f) => f.base10_digits().to_compact_string(),
        syn::Lit::Char(c) => c.value().to_compact_string(),
        _ => Name::default(),
    }
}

/// The segments of `warp::path!("ops" / "heap" / u64 / ..)`: string literals, types as
/// paths, `..` as a literal.
fn path_macro_args(tokens: TokenStream) -> Vec<Operand> {
    split_top_level(tokens, |tt| is_punct(tt, '/'))
        .into_iter()
        .map(|seg| {
            let tts: Vec<TokenTree> = seg.clone().into_iter().collect();
            match tts.as_slice() {
                [TokenTree::Literal(l)] => summary::lit_str(l)
                    .map(Operand::Str)
                    .unwrap_or(Operand::Other),
                _ if seg.to_compact_string().replace(' ', "") == ".." => Operand::Lit("..".into()),
                _ => match syn::parse2::<syn::Type>(seg) {
                    Ok(t) => summary::type_name(&t)
                        .map(|t| Operand::Path(t.path))
                        .unwrap_or(Operand::Other),
                    Err(_) => Operand::Other,
                },
            }
        })
        .collect()
}

fn is_compound_assign(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}

/// Type arguments of a path segment's turbofish (`from_fn::<T>`).
fn turbofish(args: &syn::PathArguments) -> Vec<TypeName> {
    match args {
        syn::PathArguments::AngleBracketed(ab) => ab
            .args
            .iter()
            .filter_map(|ga| match ga {
                syn::GenericArgument::Type(t) => summary::type_name(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Strips parentheses and groups around an expression.
fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_parens(&p.expr),
        Expr::Group(g) => strip_parens(&g.expr),
        _ => e,
    }
}

fn type_expr_of_type(ty: &syn::Type) -> Option<TypeExpr> {
    match ty {
        syn::Type::Path(tp) if tp.qself.is_none() => {
            let segs = path_segments(&tp.path);
            // Extractor wrappers: `State(s): State<AppState>` / `web::Data<AppState>`: the
            // inner type is what methods are called on after destructuring or deref.
            if let Some(last) = tp.path.segments.last() {
                let name = unraw(&last.ident);
                if matches!(
                    name.as_str(),
                    "State" | "Data" | "Extension" | "Arc" | "Box" | "Rc" | "Mutex" | "RwLock"
                ) {
                    if let syn::PathArguments::AngleBracketed(ab) = &last.arguments {
                        for ga in &ab.args {
                            if let syn::GenericArgument::Type(inner) = ga {
                                if matches!(name.as_str(), "Mutex" | "RwLock") {
                                    return None;
                                }
                                return type_expr_of_type(inner);
                            }
                        }
                    }
                }
            }
            Some(TypeExpr::Named(segs))
        }
        syn::Type::Reference(r) => type_expr_of_type(&r.elem),
        syn::Type::Paren(p) => type_expr_of_type(&p.elem),
        syn::Type::Group(g) => type_expr_of_type(&g.elem),
        _ => None,
    }
}

/// A fn's return type, looking inside `Result<T, E>`, `Option<T>` and `io::Result<T>`.
fn return_type(ret: &syn::ReturnType) -> Option<TypeExpr> {
    let syn::ReturnType::Type(_, ty) = ret else {
        return None;
    };
    let mut ty: &syn::Type = ty;
    while let syn::Type::Path(tp) = ty {
        let Some(last) = tp.path.segments.last() else {
            break;
        };
        if !matches!(unraw(&last.ident).as_str(), "Result" | "Option") {
            break;
        }
        let syn::PathArguments::AngleBracketed(ab) = &last.arguments else {
            return None;
        };
        let Some(syn::GenericArgument::Type(inner)) = ab.args.first() else {
            return None;
        };
        ty = inner;
    }
    type_expr_of_type(ty)
}

/// The first path or macro path at the start of a method-call chain.
fn chain_root(mut expr: &Expr) -> Option<Vec<Name>> {
    // A loop, not recursion: chains can be thousands of calls long.
    loop {
        match expr {
            Expr::MethodCall(mc) => expr = &mc.receiver,
            Expr::Paren(p) => expr = &p.expr,
            Expr::Try(t) => expr = &t.expr,
            Expr::Call(c) => {
                return match &*c.func {
                    Expr::Path(p) => Some(path_segments(&p.path)),
                    _ => None,
                }
            }
            Expr::Macro(m) => return Some(path_segments(&m.mac.path)),
            Expr::Path(p) => return Some(path_segments(&p.path)),
            _ => return None,
        }
    }
}

impl<'ast> Visit<'ast> for BodyWalker {
    fn visit_expr(&mut self, e: &'ast Expr) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        self.visit_expr_inner(e);
        self.depth -= 1;
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        self.bindings.push(Vec::new());
        for s in &b.stmts {
            self.visit_stmt(s);
        }
        self.bindings.pop();
    }

    fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
        match s {
            syn::Stmt::Local(l) => {
                if let Some(init) = &l.init {
                    self.visit_expr(&init.expr);
                    if let Some((_, div)) = &init.diverge {
                        self.visit_expr(div);
                    }
                }
                let ty = l.init.as_ref().and_then(|i| self.expr_type(&i.expr));
                let value = l
                    .init
                    .as_ref()
                    .map_or(Operand::Other, |i| self.operand(&i.expr));
                self.bind_pat(&l.pat, ty);
                self.record_let(&l.pat, value, false);
            }
            syn::Stmt::Item(syn::Item::Fn(f)) if self.collect_nested => self.nested.push(f.clone()),
            syn::Stmt::Item(syn::Item::Use(u)) => {
                let mut prefix = Vec::new();
                let module = self.f.module.clone();
                collect_use(&u.tree, &mut prefix, &module, false, &mut self.f.imports);
            }
            syn::Stmt::Item(_) => {}
            syn::Stmt::Expr(e, _) => self.visit_expr(e),
            syn::Stmt::Macro(m) => self.visit_macro_body(&m.mac),
        }
    }

    fn visit_item(&mut self, _i: &'ast syn::Item) {}
}

impl BodyWalker {
    fn visit_expr_inner(&mut self, e: &Expr) {
        // A pending "argument of" applies only to the argument expression itself.
        let arg_of = self.pending_arg_of.take();
        match e {
            Expr::Await(a) => {
                self.awaited_next = true;
                self.visit_expr(&a.base);
                self.awaited_next = false;
            }
            Expr::Try(t) => {
                // `f(x)?.await` is unusual; `f(x).await?` is the norm: keep the flag as is.
                self.visit_expr(&t.expr);
            }
            Expr::Call(c) => {
                let awaited = std::mem::take(&mut self.awaited_next);
                let idx = if let Expr::Path(p) = strip_parens(&c.func) {
                    if p.qself.is_none() {
                        let segs = path_segments(&p.path);
                        let generics = p
                            .path
                            .segments
                            .last()
                            .map(|s| turbofish(&s.arguments))
                            .unwrap_or_default();
                        self.awaited_next = awaited;
                        Some(self.record_call(
                            e,
                            Callee::Path(segs),
                            spans::path(&p.path),
                            &c.args,
                            None,
                            generics,
                        ))
                    } else {
                        None
                    }
                } else {
                    self.visit_expr(&c.func);
                    None
                };
                self.awaited_next = false;
                match idx {
                    Some(i) => self.visit_args(i, &c.args),
                    None => {
                        for a in &c.args {
                            self.visit_expr(a);
                        }
                    }
                }
            }
            Expr::MethodCall(mc) => {
                let awaited = std::mem::take(&mut self.awaited_next);
                let name = mc.method.to_compact_string();
                let receiver = self.expr_type(&mc.receiver);
                let root = chain_root(&mc.receiver);
                // Receiver first (source order). `fut.map_err(..).await` awaits `fut` too.
                self.awaited_next = awaited && FUTURE_COMBINATORS.contains(&name.as_str());
                self.visit_expr(&mc.receiver);
                self.awaited_next = awaited;
                let recv_op = self.operand(&mc.receiver);
                let generics = mc
                    .turbofish
                    .as_ref()
                    .map(|t| {
                        t.args
                            .iter()
                            .filter_map(|ga| match ga {
                                syn::GenericArgument::Type(t) => summary::type_name(t),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let idx = self.record_call(
                    e,
                    Callee::Method {
                        name,
                        receiver,
                        chain_root: root,
                    },
                    spans::ident(&mc.method),
                    &mc.args,
                    Some(recv_op),
                    generics,
                );
                self.visit_args(idx, &mc.args);
            }
            Expr::Closure(c) => {
                let is_async = c.asyncness.is_some();
                let prev =
                    self.push_scope(ScopeKind::Closure { is_async, arg_of }, spans::closure(c));
                let me = self.scope;
                self.nodes.insert(node_key(c, NodeKind::Closure), me);
                self.bindings.push(Vec::new());
                for p in &c.inputs {
                    self.bind_pat(p, None);
                    self.record_let(p, Operand::Other, false);
                }
                self.awaited_next = false;
                self.visit_expr(&c.body);
                let value = self.operand(&c.body);
                self.f.scopes[me].value = Some(value);
                self.bindings.pop();
                self.scope = prev;
            }
            Expr::Async(a) => {
                let prev = self.push_scope(ScopeKind::AsyncBlock, spans::async_block(a));
                let me = self.scope;
                self.awaited_next = false;
                self.visit_block(&a.block);
                if let Some(syn::Stmt::Expr(tail, None)) = a.block.stmts.last() {
                    let value = self.operand(tail);
                    self.f.scopes[me].value = Some(value);
                }
                self.scope = prev;
            }
            Expr::Assign(a) => {
                self.awaited_next = false;
                self.visit_expr(&a.right);
                self.visit_expr(&a.left);
                let value = self.operand(&a.right);
                match strip_parens(&a.left) {
                    Expr::Path(p) if p.path.segments.len() == 1 && p.qself.is_none() => {
                        let pat = syn::Pat::Ident(syn::PatIdent {
                            attrs: Vec::new(),
                            by_ref: None,
                            mutability: None,
                            ident: p.path.segments[0].ident.clone(),
                            subpat: None,
                        });
                        self.record_let(&pat, value, true);
                    }
                    left => {
                        let target = self.operand(left);
                        self.f.assigns.push(AssignSite {
                            target,
                            range: spans::expr(&a.left),
                            scope: self.scope,
                        });
                    }
                }
            }
            Expr::Binary(b) if is_compound_assign(&b.op) => {
                self.awaited_next = false;
                self.visit_expr(&b.right);
                self.visit_expr(&b.left);
                let target = self.operand(&b.left);
                self.f.assigns.push(AssignSite {
                    target,
                    range: spans::expr(&b.left),
                    scope: self.scope,
                });
            }
            Expr::Index(ix) => {
                self.awaited_next = false;
                self.visit_expr(&ix.expr);
                self.visit_expr(&ix.index);
                let is_range = matches!(strip_parens(&ix.index), Expr::Range(_));
                let base = self.operand(&ix.expr);
                let index = match strip_parens(&ix.index) {
                    Expr::Range(r) => Operand::Tuple(
                        r.start
                            .iter()
                            .chain(r.end.iter())
                            .map(|e| self.operand(e))
                            .collect(),
                    ),
                    other => self.operand(other),
                };
                self.f.indexes.push(IndexSite {
                    base,
                    index,
                    is_range,
                    range: spans::index(ix),
                    scope: self.scope,
                    after_call: self.f.calls.len(),
                });
            }
            Expr::Return(r) => {
                self.awaited_next = false;
                if let Some(v) = &r.expr {
                    self.visit_expr(v);
                    if self.f.scopes[self.scope].parent.is_none() {
                        let value = self.operand(v);
                        self.f.returns.push(value);
                    }
                }
            }
            Expr::Path(p) => {
                if p.qself.is_none() {
                    let segs = path_segments(&p.path);
                    if segs.len() > 1
                        && segs.last().is_some_and(|s| {
                            s.len() > 1 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                        })
                    {
                        self.f.consts.push(segs.clone());
                    }
                    let is_value_fn = segs.last().is_some_and(|s| {
                        s.chars()
                            .next()
                            .is_some_and(|c| c.is_lowercase() || c == '_')
                    });
                    let is_local = segs.len() == 1 && self.lookup(&segs[0]).is_some();
                    if is_value_fn && (!is_local || arg_of.is_some()) {
                        self.f.refs.push(ValueRef {
                            path: segs,
                            range: spans::path(&p.path),
                            scope: self.scope,
                            arg_of,
                            is_local,
                        });
                    }
                }
            }
            Expr::Reference(r) => {
                self.pending_arg_of = arg_of;
                self.visit_expr(&r.expr);
                self.pending_arg_of = None;
            }
            Expr::Macro(m) => {
                self.awaited_next = false;
                self.visit_macro_body(&m.mac);
            }
            Expr::Block(b) => self.visit_block(&b.block),
            Expr::Unsafe(u) => self.visit_block(&u.block),
            Expr::Let(l) => {
                self.visit_expr(&l.expr);
                let ty = self.expr_type(&l.expr);
                // The binding is visible in the `if` body; approximate by binding in the
                // current frame.
                self.bind_pat(&l.pat, ty);
                let value = self.operand(&l.expr);
                self.record_let(&l.pat, value, false);
            }
            Expr::ForLoop(fl) => {
                self.visit_expr(&fl.expr);
                self.bindings.push(Vec::new());
                self.bind_pat(&fl.pat, None);
                // An element of the iterated value: data flow treats it as the value.
                let value = self.operand(&fl.expr);
                self.record_let(&fl.pat, value, false);
                self.visit_block(&fl.body);
                self.bindings.pop();
            }
            Expr::Match(m) => {
                self.visit_expr(&m.expr);
                let ty = self.expr_type(&m.expr);
                let value = self.operand(&m.expr);
                for arm in &m.arms {
                    self.bindings.push(Vec::new());
                    self.bind_pat(&arm.pat, ty.clone());
                    self.record_let(&arm.pat, value.clone(), false);
                    if let syn::Pat::Guard(g) = &arm.pat {
                        self.visit_expr(&g.guard);
                    }
                    self.visit_expr(&arm.body);
                    self.bindings.pop();
                }
            }
            _ => {
                self.awaited_next = false;
                visit::visit_expr(self, e);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Macro bodies

fn macro_is(mac: &syn::Macro, names: &[&str]) -> bool {
    mac.path
        .segments
        .last()
        .is_some_and(|s| names.iter().any(|n| s.ident == n))
}

/// The `static` items of a `lazy_static! { static ref X: T = e; }` or
/// `thread_local! { static X: T = e; }` body (the `ref` is dropped to parse them as items).
fn static_macro_items(tokens: TokenStream) -> Vec<syn::ItemStatic> {
    let mut cleaned = Vec::new();
    let mut prev_static = false;
    for tt in tokens {
        let is_ref = matches!(&tt, TokenTree::Ident(i) if i == "ref");
        if !(prev_static && is_ref) {
            cleaned.push(tt.clone());
        }
        prev_static = matches!(&tt, TokenTree::Ident(i) if i == "static");
    }
    let ts: TokenStream = cleaned.into_iter().collect();
    match syn::parse2::<syn::File>(ts) {
        Ok(f) => f
            .items
            .into_iter()
            .filter_map(|i| match i {
                syn::Item::Static(s) => Some(s),
                _ => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Macros whose bodies are never Rust expressions worth walking.
const OPAQUE_MACROS: &[&str] = &[
    "lazy_static",
    "thread_local",
    "macro_rules",
    "quote",
    "quote_spanned",
    "parse_quote",
    "html",
    "view",
    "rsx",
    "sqlx_macros",
    "include_str",
    "include_bytes",
    "concat",
    "stringify",
    "env",
    "option_env",
    "cfg",
    "matches",
];

/// Parses the arguments of a macro call as expressions, best effort: comma-separated
/// expressions (format family, `vec!`, `join!`, `json!` values...), `expr; n` (`vec!`), and
/// the `pattern = future => handler` arms of `select!`.
pub fn macro_exprs(mac: &syn::Macro) -> Vec<Expr> {
    let name = mac
        .path
        .segments
        .last()
        .map(|s| unraw(&s.ident))
        .unwrap_or_default();
    if OPAQUE_MACROS.contains(&name.as_str()) {
        return Vec::new();
    }
    let tokens = mac.tokens.clone();
    if name == "select" {
        return select_exprs(tokens);
    }
    if name == "json" {
        return json_exprs(tokens);
    }
    let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
    if let Ok(list) = syn::parse::Parser::parse2(parser, tokens.clone()) {
        return list.into_iter().collect();
    }
    // Format macros allow `name = expr` and `?x`/`%x` (tracing); split on top-level commas and
    // keep what parses.
    split_top_level(tokens, |tt| is_punct(tt, ',') || is_punct(tt, ';'))
        .into_iter()
        .filter_map(|seg| {
            let seg = strip_named_arg(seg);
            syn::parse2::<Expr>(seg).ok()
        })
        .collect()
}

fn is_punct(tt: &TokenTree, c: char) -> bool {
    matches!(tt, TokenTree::Punct(p) if p.as_char() == c)
}

fn split_top_level(tokens: TokenStream, is_sep: impl Fn(&TokenTree) -> bool) -> Vec<TokenStream> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for tt in tokens {
        if is_sep(&tt) {
            out.push(cur.drain(..).collect());
        } else {
            cur.push(tt);
        }
    }
    if !cur.is_empty() {
        out.push(cur.into_iter().collect());
    }
    out
}

/// `name = expr` → `expr` (but not `a == b`); leading `?`/`%` sigils are dropped.
fn strip_named_arg(seg: TokenStream) -> TokenStream {
    let tts: Vec<TokenTree> = seg.into_iter().collect();
    if tts.len() > 2 {
        if let (TokenTree::Ident(_), TokenTree::Punct(p)) = (&tts[0], &tts[1]) {
            if p.as_char() == '=' && p.spacing() == Spacing::Alone {
                return tts[2..].iter().cloned().collect();
            }
        }
    }
    if let Some(TokenTree::Punct(p)) = tts.first() {
        if matches!(p.as_char(), '?' | '%') {
            return tts[1..].iter().cloned().collect();
        }
    }
    tts.into_iter().collect()
}

/// `select! { biased; v = fut => handler, Some(x) = rx.recv() => { .. } else => .. }`.
fn select_exprs(tokens: TokenStream) -> Vec<Expr> {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut seg: Vec<TokenTree> = Vec::new();
    // Split into `lhs => rhs` pairs: find `=>` at top level.
    while i < tts.len() {
        let is_arrow = matches!(&tts[i], TokenTree::Punct(p) if p.as_char() == '=' && p.spacing() == Spacing::Joint)
            && matches!(tts.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '>');
        if is_arrow {
            // lhs: `pat = future [, if cond]` -> take the part after the first lone `=`.
            let lhs = std::mem::take(&mut seg);
            if let Some(eq) = lhs.iter().position(|t| {
                matches!(t, TokenTree::Punct(p) if p.as_char() == '=' && p.spacing() == Spacing::Alone)
            }) {
                let fut_tokens: Vec<TokenTree> = lhs[eq + 1..].to_vec();
                // Drop a trailing `, if cond` precondition.
                let fut: TokenStream = split_top_level(fut_tokens.into_iter().collect(), |t| is_punct(t, ','))
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                if let Ok(e) = syn::parse2::<Expr>(fut) {
                    out.push(e);
                }
            }
            i += 2;
            // rhs: a block, or an expression up to the next top-level comma.
            let mut rhs = Vec::new();
            while i < tts.len() {
                if is_punct(&tts[i], ',') {
                    i += 1;
                    break;
                }
                let is_block =
                    matches!(&tts[i], TokenTree::Group(g) if g.delimiter() == Delimiter::Brace);
                rhs.push(tts[i].clone());
                i += 1;
                if is_block && rhs.len() == 1 {
                    if is_punct_opt(tts.get(i), ',') {
                        i += 1;
                    }
                    break;
                }
            }
            if let Ok(e) = syn::parse2::<Expr>(rhs.into_iter().collect()) {
                out.push(e);
            }
            continue;
        }
        if is_punct(&tts[i], ';') {
            seg.clear();
            i += 1;
            continue;
        }
        seg.push(tts[i].clone());
        i += 1;
    }
    out
}

fn is_punct_opt(tt: Option<&TokenTree>, c: char) -> bool {
    tt.is_some_and(|t| is_punct(t, c))
}

/// `json!({"k": expr, "a": [expr, ..]})`: collect the value expressions.
fn json_exprs(tokens: TokenStream) -> Vec<Expr> {
    let mut out = Vec::new();
    json_walk(tokens, &mut out);
    out
}

fn json_walk(tokens: TokenStream, out: &mut Vec<Expr>) {
    for seg in split_top_level(tokens, |t| is_punct(t, ',')) {
        let tts: Vec<TokenTree> = seg.into_iter().collect();
        // Drop a `"key":` prefix.
        let value: Vec<TokenTree> = match tts.iter().position(|t| is_punct(t, ':')) {
            Some(p) if p == 1 && matches!(tts[0], TokenTree::Literal(_)) => tts[2..].to_vec(),
            _ => tts,
        };
        if let [TokenTree::Group(g)] = value.as_slice() {
            if matches!(g.delimiter(), Delimiter::Brace | Delimiter::Bracket) {
                json_walk(g.stream(), out);
                continue;
            }
        }
        if let Ok(e) = syn::parse2::<Expr>(value.into_iter().collect()) {
            out.push(e);
        }
    }
}

/// The span-free text of a syntax node's start line, for tests and notes.
pub fn start_line<T: Spanned>(node: &T) -> u32 {
    node.span().start().line as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> FileFacts {
        let file = syn::parse_file(src).expect("parses");
        extract(&file, &Vec::new(), false)
    }

    fn fn_named<'a>(f: &'a FileFacts, name: &str) -> &'a FnFacts {
        f.fns.iter().find(|x| x.name == name).expect("fn")
    }

    #[test]
    fn builder_chains_link_receivers_and_arguments() {
        let f = facts(
            r#"fn app() -> Router {
                let ops = Router::new().route("/heap", get(heap)).route_layer(auth());
                Router::new().nest("/ops", ops).layer((TraceLayer::new_for_http(), CatchPanicLayer::new()))
            }"#,
        );
        let app = fn_named(&f, "app");
        let name = |i: usize| match &app.calls[i].callee {
            Callee::Path(p) => p.join("::"),
            Callee::Method { name, .. } => format!(".{name}"),
        };
        // The tail is `.layer(..)` whose receiver is `.nest(..)` on `Router::new()`.
        let Operand::Call(layer) = app.returns[0] else {
            panic!("tail is a call: {:?}", app.returns)
        };
        assert_eq!(name(layer), ".layer");
        let Some(Operand::Call(nest)) = app.calls[layer].receiver else {
            panic!()
        };
        assert_eq!(name(nest), ".nest");
        assert_eq!(app.calls[nest].args[0], Operand::Str("/ops".into()));
        assert_eq!(app.calls[nest].args[1], Operand::Local("ops".into()));
        let Operand::Tuple(layers) = &app.calls[layer].args[0] else {
            panic!()
        };
        assert_eq!(layers.len(), 2);
        // `ops` is bound to the `.route_layer(..)` call.
        let ops = app.lets.iter().find(|l| l.name == "ops").unwrap();
        let Operand::Call(rl) = ops.value else {
            panic!()
        };
        assert_eq!(name(rl), ".route_layer");
        let Some(Operand::Call(route)) = app.calls[rl].receiver else {
            panic!()
        };
        let Operand::Call(get) = app.calls[route].args[1] else {
            panic!()
        };
        assert_eq!(app.calls[get].args[0], Operand::Path(vec!["heap".into()]));
    }

    #[test]
    fn index_ranges_and_macro_calls() {
        let f = facts(
            r#"fn h(slug: String, n: usize) {
                assert!(slug.len() < 10);
                let head = &slug[1..n];
                let c = slug.as_bytes()[0];
            }"#,
        );
        let h = fn_named(&f, "h");
        let assert = &h.macros[0];
        assert_eq!((assert.after_call, assert.calls_end), (0, 1));
        assert_eq!(
            h.indexes[0].index,
            Operand::Tuple(vec![Operand::Lit("1".into()), Operand::Local("n".into())])
        );
        assert!(h.indexes[0].is_range);
        let Operand::Field(base, name) = &h.lets[1].value else {
            panic!("{:?}", h.lets[1].value)
        };
        assert_eq!(name, "[]");
        assert!(matches!(**base, Operand::Call(_)));
    }

    #[test]
    fn macros_statics_params_and_indexes() {
        let f = facts(
            r#"
            lazy_static! { static ref CACHE: Mutex<HashMap<String, u32>> = Mutex::new(HashMap::new()); }
            thread_local! { static HITS: Cell<u64> = const { Cell::new(0) }; }
            static mut COUNT: u64 = 0;
            impl<S> FromRequestParts<S> for Claims { }
            #[get("/ops/<id>")]
            fn h(Path(id): Path<u64>, q: Option<Claims>) {
                let parts: Vec<&str> = id.split('/').collect();
                println!("{}", parts[1]);
                let r = warp::path!("ops" / "heap" / u64 / ..);
                COUNT += 1;
            }"#,
        );
        let statics = &f.modules[0].statics;
        let kinds: Vec<(&str, StaticKind)> =
            statics.iter().map(|s| (s.name.as_str(), s.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("CACHE", StaticKind::LazyStatic),
                ("HITS", StaticKind::ThreadLocal),
                ("COUNT", StaticKind::StaticMut)
            ]
        );
        assert_eq!(
            statics[0].ty.as_ref().unwrap().display(),
            "Mutex<HashMap<String, u32>>"
        );
        assert_eq!(
            statics[1].init_callee.as_deref(),
            Some(&["Cell".to_compact_string(), "new".to_compact_string()][..])
        );
        assert_eq!(f.modules[0].impls[0].trait_path, ["FromRequestParts"]);
        assert_eq!(f.modules[0].impls[0].self_ty, "Claims");
        let h = fn_named(&f, "h");
        assert_eq!(h.attributes[0].first_str(), Some("/ops/<id>"));
        assert_eq!(h.param_types[0].names, ["id"]);
        assert_eq!(
            h.param_types[1].ty.as_ref().unwrap().display(),
            "Option<Claims>"
        );
        assert_eq!(h.indexes[0].base, Operand::Local("parts".into()));
        // `split` and `collect` come before the index.
        assert_eq!(h.indexes[0].after_call, 2);
        assert_eq!(h.macros[0].path, ["println"]);
        let path = h
            .macros
            .iter()
            .find(|m| m.path.last().unwrap() == "path")
            .unwrap();
        assert_eq!(
            path.args,
            [
                Operand::Str("ops".into()),
                Operand::Str("heap".into()),
                Operand::Path(vec!["u64".into()]),
                Operand::Lit("..".into())
            ]
        );
        assert_eq!(h.assigns[0].target, Operand::Path(vec!["COUNT".into()]));
    }
}
