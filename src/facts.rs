//! Per-file facts: everything the crate model needs from one file, extracted in one walk of
//! its syntax tree on the thread that parsed it. Nothing here resolves names across files;
//! paths are recorded as written and resolved later by the crate model.

use std::borrow::Cow;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use serde::{Deserialize, Serialize};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Token};

use crate::source::Range;

/// A module path inside a crate, without the leading `crate`: `["api", "handlers"]`.
pub type ModPath = Vec<String>;

/// Everything extracted from one file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FileFacts {
    /// The file's own module first, then its inline modules.
    pub modules: Vec<ModuleFacts>,
    pub fns: Vec<FnFacts>,
    /// `mod x;` declarations whose contents live in other files.
    pub child_mods: Vec<ChildMod>,
    /// First segments of every `use` path (the crates and modules a file imports from).
    pub imported_roots: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ModuleFacts {
    pub path: ModPath,
    pub imports: Vec<Import>,
    /// Names of items defined in this module (fns, modules, types, consts...).
    pub items: Vec<String>,
    /// `type Name = path::To<..>;` aliases, by the aliased path as written.
    pub aliases: Vec<(String, Vec<String>)>,
    /// Structs with named fields whose types name a path (`pool: DbPool`).
    pub structs: Vec<StructFacts>,
    pub is_test: bool,
}

/// One name brought into scope by a `use` item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// Local name (`fs` for `use std::fs;`, `sfs` for `use std::fs as sfs;`); empty for globs.
    pub name: String,
    /// The path as written, with `self`/`super`/`crate` made absolute: a leading `crate`
    /// segment means crate-local; anything else starts with a crate or a local item name.
    pub target: Vec<String>,
    pub is_glob: bool,
    pub is_pub: bool,
}

/// A struct's named fields whose types are paths, as written.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StructFacts {
    pub name: String,
    pub fields: Vec<(String, Vec<String>)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChildMod {
    pub name: String,
    /// Module path of the declaring module (the file's module plus inline modules).
    pub parent: ModPath,
    /// Inline modules between the file's module and the declaration (for directory rules).
    pub inline_dirs: Vec<String>,
    /// `#[path = "..."]`, if any.
    pub path_attr: Option<String>,
    /// `#[cfg_attr(pred, path = "...")]` alternatives, in source order (platform-specific
    /// files); the first that exists is analysed when there is no plain `#[path]`.
    pub cfg_paths: Vec<String>,
    pub is_test: bool,
    pub range: Range,
}

/// A type as far as a purely syntactic reading can tell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypeExpr {
    /// A type named by a path as written (`File`, `std::fs::File`, `Self`).
    Named(Vec<String>),
    /// The result of calling a path (`File::open(p)`, `stdin()`); the first argument's type
    /// is kept for wrappers such as `BufReader::new(file)`.
    CallResult(Vec<String>, Option<Box<TypeExpr>>),
    /// The result of a method call on a typed receiver.
    MethodResult(Box<TypeExpr>, String),
    /// One element of a tuple (`let (tx, rx) = channel();`).
    TupleField(Box<TypeExpr>, usize),
    /// A named field of a typed value (`state.pool`).
    Field(Box<TypeExpr>, String),
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
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Callee {
    /// `a::b::c(..)` as written.
    Path(Vec<String>),
    /// `receiver.name(..)` with the receiver's type if known.
    Method {
        name: String,
        receiver: Option<TypeExpr>,
        /// The first path or macro at the start of the receiver chain (`warp::path(..)` in
        /// `warp::path("a").and(..).map(..)`), used to recognise filter chains.
        chain_root: Option<Vec<String>>,
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
}

/// A path used as a value (`get(list_todos)`, `spawn_blocking(load)`), possibly a fn.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValueRef {
    pub path: Vec<String>,
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

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FnFacts {
    pub name: String,
    pub module: ModPath,
    /// The impl's self type (last segment) or the trait name for trait default methods.
    pub self_ty: Option<String>,
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
    pub params: Vec<String>,
}

/// Extracts the facts of one parsed file whose module path is `module`.
pub fn extract(file: &syn::File, module: &ModPath, file_is_test: bool) -> FileFacts {
    extract_with(file, module, file_is_test, false)
}

/// Only the module tree (`mod` items), no fn bodies: the parse-only baseline of the
/// benchmarks.
pub fn extract_modules_only(file: &syn::File, module: &ModPath, file_is_test: bool) -> FileFacts {
    extract_with(file, module, file_is_test, true)
}

fn extract_with(
    file: &syn::File,
    module: &ModPath,
    file_is_test: bool,
    modules_only: bool,
) -> FileFacts {
    let mut facts = FileFacts::default();
    let mut ex = ItemWalker {
        facts: &mut facts,
        module: module.clone(),
        inline_dirs: Vec::new(),
        in_test: file_is_test,
        modules_only,
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
    inline_dirs: Vec<String>,
    in_test: bool,
    modules_only: bool,
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

pub fn path_segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| unraw(&s.ident)).collect()
}

/// An identifier's name without the `r#` of raw identifiers (`mod r#impl;` is `impl.rs`).
pub fn unraw(ident: &proc_macro2::Ident) -> String {
    let s = ident.to_string();
    match s.strip_prefix("r#") {
        Some(rest) => rest.to_string(),
        None => s,
    }
}

fn attr_last(attr: &syn::Attribute) -> String {
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

fn self_ty_name(ty: &syn::Type) -> Option<String> {
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
                            return Some(s.value());
                        }
                    }
                    None
                });
                let cfg_paths: Vec<String> = md
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
                        range: Range::of(&md.ident),
                    }),
                }
            }
            syn::Item::Struct(s) => {
                self.facts.modules[m].items.push(unraw(&s.ident));
                if let syn::Fields::Named(named) = &s.fields {
                    let fields: Vec<(String, Vec<String>)> = named
                        .named
                        .iter()
                        .filter_map(|f| {
                            let name = unraw(f.ident.as_ref()?);
                            match type_expr_of_type(&f.ty)? {
                                TypeExpr::Named(p) => Some((name, p)),
                                _ => None,
                            }
                        })
                        .collect();
                    if !fields.is_empty() {
                        self.facts.modules[m].structs.push(StructFacts {
                            name: unraw(&s.ident),
                            fields,
                        });
                    }
                }
            }
            syn::Item::Enum(e) => self.facts.modules[m].items.push(unraw(&e.ident)),
            syn::Item::Type(t) => {
                self.facts.modules[m].items.push(unraw(&t.ident));
                if let Some(TypeExpr::Named(target)) = type_expr_of_type(&t.ty) {
                    self.facts.modules[m]
                        .aliases
                        .push((unraw(&t.ident), target));
                }
            }
            syn::Item::Const(c) => self.facts.modules[m].items.push(unraw(&c.ident)),
            syn::Item::Static(s) => self.facts.modules[m].items.push(unraw(&s.ident)),
            syn::Item::Union(u) => self.facts.modules[m].items.push(unraw(&u.ident)),
            syn::Item::Macro(mac) => {
                if let Some(id) = &mac.ident {
                    self.facts.modules[m].items.push(id.to_string());
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

    fn function(
        &mut self,
        attrs: &[syn::Attribute],
        sig: &syn::Signature,
        body: Option<&syn::Block>,
        self_ty: Option<String>,
        in_test: bool,
        parent_fn: Option<usize>,
    ) {
        if self.modules_only {
            return;
        }
        let name = unraw(&sig.ident);
        let is_async = sig.asyncness.is_some();
        let idx = self.facts.fns.len();
        self.facts.fns.push(FnFacts {
            name: name.clone(),
            module: self.module.clone(),
            self_ty: self_ty.clone(),
            parent_fn,
            is_async,
            attrs: fn_attrs(attrs, &name, is_async, in_test),
            ret: return_type(&sig.output),
            range: Range::of(&sig.ident),
            scopes: vec![Scope {
                kind: ScopeKind::FnBody,
                parent: None,
            }],
            calls: Vec::new(),
            refs: Vec::new(),
            imports: Vec::new(),
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
        });
        let Some(body) = body else { return };
        let mut bw = BodyWalker {
            f: FnFacts {
                name,
                module: self.module.clone(),
                self_ty,
                parent_fn,
                is_async,
                attrs: FnAttrs::default(),
                ret: None,
                range: Range::default(),
                scopes: vec![Scope {
                    kind: ScopeKind::FnBody,
                    parent: None,
                }],
                calls: Vec::new(),
                refs: Vec::new(),
                imports: Vec::new(),
                params: Vec::new(),
            },
            scope: 0,
            bindings: vec![Default::default()],
            nested: Vec::new(),
            collect_nested: self.fn_depth < MAX_FN_DEPTH,
            pending_arg_of: None,
            awaited_next: false,
            depth: 0,
        };
        for input in &sig.inputs {
            bw.bind_fn_arg(input);
        }
        bw.visit_block(body);
        let nested = std::mem::take(&mut bw.nested);
        let f = &mut self.facts.fns[idx];
        f.scopes = bw.f.scopes;
        f.calls = bw.f.calls;
        f.refs = bw.f.refs;
        f.imports = bw.f.imports;
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
    prefix: &mut Vec<String>,
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
            let name = r.rename.to_string();
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
            name: String::new(),
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
fn cfg_attr_path(tokens: TokenStream) -> Option<String> {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    tts.windows(3).find_map(|w| match w {
        [TokenTree::Ident(i), TokenTree::Punct(p), TokenTree::Literal(l)]
            if i == "path" && p.as_char() == '=' =>
        {
            match syn::parse_str::<syn::LitStr>(&l.to_string()) {
                Ok(s) => Some(s.value()),
                Err(_) => None,
            }
        }
        _ => None,
    })
}

/// Makes `self::`, `super::` and `crate::` paths absolute (`crate` + module path).
pub fn absolutize(path: &[String], module: &ModPath) -> Vec<String> {
    let Some(first) = path.first() else {
        return Vec::new();
    };
    match first.as_str() {
        "crate" => path.to_vec(),
        "self" | "super" => {
            let mut base: Vec<String> = module.clone();
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
            let mut out = vec!["crate".to_string()];
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
    bindings: Vec<Vec<(String, TypeExpr)>>,
    /// Nested fn items, extracted after the body.
    nested: Vec<syn::ItemFn>,
    /// False past [`MAX_FN_DEPTH`]: nested fn items are not cloned or analysed.
    collect_nested: bool,
    /// When set, the next closure visited is an argument of this call.
    pending_arg_of: Option<usize>,
    /// Set while visiting the operand of `.await`.
    awaited_next: bool,
    depth: u32,
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

    fn bind(&mut self, name: String, ty: TypeExpr) {
        if let Some(frame) = self.bindings.last_mut() {
            frame.push((name, ty));
        }
    }

    /// Shadowing a name with an untyped binding must hide the older type.
    fn bind_unknown(&mut self, name: String) {
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
                let name = mc.method.to_string();
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

    fn push_scope(&mut self, kind: ScopeKind) -> usize {
        self.f.scopes.push(Scope {
            kind,
            parent: Some(self.scope),
        });
        let prev = self.scope;
        self.scope = self.f.scopes.len() - 1;
        prev
    }

    fn record_call(
        &mut self,
        callee: Callee,
        range: Range,
        args: &Punctuated<Expr, Token![,]>,
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
        });
        self.f.calls.len() - 1
    }

    /// Visits call arguments: closures and paths among them know which call they belong to.
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
    }

    fn visit_macro_body(&mut self, mac: &syn::Macro) {
        for e in macro_exprs(mac) {
            self.visit_expr(&e);
        }
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
fn chain_root(mut expr: &Expr) -> Option<Vec<String>> {
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
                self.bind_pat(&l.pat, ty);
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
                        self.awaited_next = awaited;
                        Some(self.record_call(Callee::Path(segs), Range::of(&p.path), &c.args))
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
                let name = mc.method.to_string();
                let receiver = self.expr_type(&mc.receiver);
                let root = chain_root(&mc.receiver);
                // Receiver first (source order). `fut.map_err(..).await` awaits `fut` too.
                self.awaited_next = awaited && FUTURE_COMBINATORS.contains(&name.as_str());
                self.visit_expr(&mc.receiver);
                self.awaited_next = awaited;
                let idx = self.record_call(
                    Callee::Method {
                        name,
                        receiver,
                        chain_root: root,
                    },
                    Range::of(&mc.method),
                    &mc.args,
                );
                self.visit_args(idx, &mc.args);
            }
            Expr::Closure(c) => {
                let is_async = c.asyncness.is_some();
                let prev = self.push_scope(ScopeKind::Closure { is_async, arg_of });
                self.bindings.push(Vec::new());
                for p in &c.inputs {
                    self.bind_pat(p, None);
                }
                self.awaited_next = false;
                self.visit_expr(&c.body);
                self.bindings.pop();
                self.scope = prev;
            }
            Expr::Async(a) => {
                let prev = self.push_scope(ScopeKind::AsyncBlock);
                self.awaited_next = false;
                self.visit_block(&a.block);
                self.scope = prev;
            }
            Expr::Path(p) => {
                if p.qself.is_none() {
                    let segs = path_segments(&p.path);
                    let is_value_fn = segs.last().is_some_and(|s| {
                        s.chars()
                            .next()
                            .is_some_and(|c| c.is_lowercase() || c == '_')
                    });
                    let is_local = segs.len() == 1 && self.lookup(&segs[0]).is_some();
                    if is_value_fn && (!is_local || arg_of.is_some()) {
                        self.f.refs.push(ValueRef {
                            path: segs,
                            range: Range::of(&p.path),
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
            }
            Expr::ForLoop(fl) => {
                self.visit_expr(&fl.expr);
                self.bindings.push(Vec::new());
                self.bind_pat(&fl.pat, None);
                self.visit_block(&fl.body);
                self.bindings.pop();
            }
            Expr::Match(m) => {
                self.visit_expr(&m.expr);
                let ty = self.expr_type(&m.expr);
                for arm in &m.arms {
                    self.bindings.push(Vec::new());
                    self.bind_pat(&arm.pat, ty.clone());
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
