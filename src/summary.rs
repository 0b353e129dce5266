//! Syntactic summaries that outlive the syntax tree: types as written ([`TypeName`]),
//! expressions as far as builder chains and data flow need them ([`Operand`]), and
//! attributes with their arguments ([`AttrFact`]). They are built on the parsing thread and
//! read by the crate model and the route model; nothing here resolves names.

use compact_str::ToCompactString;
use proc_macro2::{TokenStream, TokenTree};
use serde::{Deserialize, Serialize};

use crate::facts::{path_segments, unraw, Name};

/// A type as written: `Option<Claims>` is `Option` with one argument `Claims`;
/// `&mut Request` is `Request` with `is_ref`. Tuples are `()` with their elements as
/// arguments, slices and arrays `[]`, `impl Trait` `impl` + the trait, `dyn Trait` `dyn`.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TypeName {
    pub path: Vec<Name>,
    pub args: Vec<TypeName>,
    pub is_ref: bool,
}

impl TypeName {
    /// The last path segment (`Claims` for `crate::auth::Claims`).
    pub fn last(&self) -> &str {
        self.path.last().map(Name::as_str).unwrap_or("")
    }

    /// Every type mentioned, this one first (`Arc<Mutex<HashMap<K, V>>>` yields four).
    pub fn walk(&self) -> Vec<&TypeName> {
        let mut out = vec![self];
        let mut i = 0;
        while i < out.len() {
            let t = out[i];
            out.extend(t.args.iter());
            i += 1;
        }
        out
    }

    /// `Foo<Bar<Baz>>` as text, for messages.
    pub fn display(&self) -> String {
        let mut s = String::new();
        if self.is_ref {
            s.push('&');
        }
        match self.last() {
            "()" => {
                s.push('(');
                s.push_str(
                    &self
                        .args
                        .iter()
                        .map(|a| a.display())
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                s.push(')');
                return s;
            }
            "[]" => {
                s.push('[');
                if let Some(a) = self.args.first() {
                    s.push_str(&a.display());
                }
                s.push(']');
                return s;
            }
            _ => {}
        }
        s.push_str(&self.path.join("::"));
        if !self.args.is_empty() {
            s.push('<');
            s.push_str(
                &self
                    .args
                    .iter()
                    .map(|a| a.display())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            s.push('>');
        }
        s
    }
}

/// Deepest type nesting summarised; deeper arguments are dropped.
const MAX_TYPE_DEPTH: u32 = 16;

pub fn type_name(ty: &syn::Type) -> Option<TypeName> {
    type_name_depth(ty, 0)
}

fn type_name_depth(ty: &syn::Type, depth: u32) -> Option<TypeName> {
    if depth > MAX_TYPE_DEPTH {
        return None;
    }
    let d = depth + 1;
    match ty {
        syn::Type::Path(tp) => {
            let mut args = Vec::new();
            if let Some(last) = tp.path.segments.last() {
                if let syn::PathArguments::AngleBracketed(ab) = &last.arguments {
                    for ga in &ab.args {
                        if let syn::GenericArgument::Type(t) = ga {
                            if let Some(t) = type_name_depth(t, d) {
                                args.push(t);
                            }
                        }
                    }
                }
            }
            Some(TypeName {
                path: path_segments(&tp.path),
                args,
                is_ref: false,
            })
        }
        syn::Type::Reference(r) => type_name_depth(&r.elem, d).map(|mut t| {
            t.is_ref = true;
            t
        }),
        syn::Type::Paren(p) => type_name_depth(&p.elem, d),
        syn::Type::Group(g) => type_name_depth(&g.elem, d),
        syn::Type::Tuple(t) => Some(TypeName {
            path: vec!["()".into()],
            args: t
                .elems
                .iter()
                .filter_map(|e| type_name_depth(e, d))
                .collect(),
            is_ref: false,
        }),
        syn::Type::Slice(s) => Some(TypeName {
            path: vec!["[]".into()],
            args: type_name_depth(&s.elem, d).into_iter().collect(),
            is_ref: false,
        }),
        syn::Type::Array(a) => Some(TypeName {
            path: vec!["[]".into()],
            args: type_name_depth(&a.elem, d).into_iter().collect(),
            is_ref: false,
        }),
        syn::Type::ImplTrait(it) => bound_type("impl", &it.bounds, d),
        syn::Type::TraitObject(to) => bound_type("dyn", &to.bounds, d),
        _ => None,
    }
}

fn bound_type(
    kind: &str,
    bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
    depth: u32,
) -> Option<TypeName> {
    let first = bounds.iter().find_map(|b| match b {
        syn::TypeParamBound::Trait(t) => Some(&t.path),
        _ => None,
    })?;
    let mut path = vec![kind.to_compact_string()];
    path.extend(path_segments(first));
    let mut args = Vec::new();
    if let Some(last) = first.segments.last() {
        if let syn::PathArguments::AngleBracketed(ab) = &last.arguments {
            for ga in &ab.args {
                match ga {
                    syn::GenericArgument::Type(t) => args.extend(type_name_depth(t, depth)),
                    syn::GenericArgument::AssocType(at) => {
                        args.extend(type_name_depth(&at.ty, depth))
                    }
                    _ => {}
                }
            }
        }
    }
    Some(TypeName {
        path,
        args,
        is_ref: false,
    })
}

/// An expression reduced to what data flow and builder chains need. Indices refer to the
/// enclosing fn's [`crate::facts::FnFacts`] lists.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Operand {
    /// The result of `calls[i]` (a call or a method call).
    Call(usize),
    /// The result of `macros[i]`.
    Macro(usize),
    /// A closure: `scopes[i]` (its body's value is the scope's `value`).
    Closure(usize),
    /// A string literal.
    Str(Name),
    /// Another literal, as written (`true`, `8080`).
    Lit(Name),
    /// A local binding or parameter.
    Local(Name),
    /// A path to an item (`health`, `handlers::list`, `StatusCode::UNAUTHORIZED`).
    Path(Vec<Name>),
    /// `(a, b)`.
    Tuple(Vec<Operand>),
    /// `[a, b]` or `vec![a, b]`.
    Array(Vec<Operand>),
    /// `base.name`; an index `base[i]` is `Field(base, "[]")`.
    Field(Box<Operand>, Name),
    /// `Name { field: value, .. }`.
    Struct(Vec<Name>, Vec<(Name, Operand)>),
    /// Anything else.
    #[default]
    Other,
}

impl Operand {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Operand::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The innermost local or path a chain of field accesses starts from.
    pub fn root(&self) -> &Operand {
        let mut o = self;
        while let Operand::Field(base, _) = o {
            o = base;
        }
        o
    }
}

/// One argument of an attribute: `"/path"`, `get`, `wrap = "Auth::new()"`, `rank = 2`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttrArg {
    Str(Name),
    /// A bare path (`get`, `GET`, `ROLE_ADMIN`).
    Path(Vec<Name>),
    /// `name = value` with the value as text (string contents unquoted).
    Named(Name, Name),
    /// Anything else, as text.
    Other(Name),
}

/// An attribute with its arguments: `#[get("/ops", wrap = "Auth")]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrFact {
    pub path: Vec<Name>,
    pub args: Vec<AttrArg>,
}

impl AttrFact {
    pub fn last(&self) -> &str {
        self.path.last().map(Name::as_str).unwrap_or("")
    }

    /// The first string argument (`"/ops"` of `#[get("/ops")]`).
    pub fn first_str(&self) -> Option<&str> {
        self.args.iter().find_map(|a| match a {
            AttrArg::Str(s) => Some(s.as_str()),
            _ => None,
        })
    }

    /// The value of `name = ..`.
    pub fn named(&self, name: &str) -> Option<&str> {
        self.args.iter().find_map(|a| match a {
            AttrArg::Named(n, v) if n == name => Some(v.as_str()),
            _ => None,
        })
    }

    /// Every value of `name = ..` (`method = "GET", method = "POST"`).
    pub fn named_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.args.iter().filter_map(move |a| match a {
            AttrArg::Named(n, v) if n == name => Some(v.as_str()),
            _ => None,
        })
    }
}

/// Attributes that matter to the rules: everything but doc comments and lint levels.
pub fn attr_facts(attrs: &[syn::Attribute]) -> Vec<AttrFact> {
    attrs
        .iter()
        .filter(|a| {
            let p = a.path();
            !(p.is_ident("doc")
                || p.is_ident("allow")
                || p.is_ident("warn")
                || p.is_ident("deny")
                || p.is_ident("expect")
                || p.is_ident("inline")
                || p.is_ident("must_use"))
        })
        .map(attr_fact)
        .collect()
}

pub fn attr_fact(a: &syn::Attribute) -> AttrFact {
    let path = path_segments(a.path());
    let args = match &a.meta {
        syn::Meta::List(l) => attr_args(l.tokens.clone()),
        syn::Meta::NameValue(nv) => {
            let v = match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => AttrArg::Str(str_value(s)),
                _ => AttrArg::Other(Name::default()),
            };
            vec![v]
        }
        syn::Meta::Path(_) => Vec::new(),
    };
    AttrFact { path, args }
}

/// Splits attribute tokens on top-level commas into arguments.
pub fn attr_args(tokens: TokenStream) -> Vec<AttrArg> {
    let mut out = Vec::new();
    let mut seg: Vec<TokenTree> = Vec::new();
    let flush = |seg: &mut Vec<TokenTree>, out: &mut Vec<AttrArg>| {
        if !seg.is_empty() {
            out.push(attr_arg(std::mem::take(seg)));
        }
    };
    for tt in tokens {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => flush(&mut seg, &mut out),
            _ => seg.push(tt),
        }
    }
    flush(&mut seg, &mut out);
    out
}

fn attr_arg(seg: Vec<TokenTree>) -> AttrArg {
    if let [TokenTree::Literal(l)] = seg.as_slice() {
        if let Some(s) = lit_str(l) {
            return AttrArg::Str(s);
        }
        return AttrArg::Other(l.to_compact_string());
    }
    if let (Some(TokenTree::Ident(name)), Some(TokenTree::Punct(eq))) = (seg.first(), seg.get(1)) {
        if eq.as_char() == '=' && seg.len() > 2 {
            let value = match &seg[2..] {
                [TokenTree::Literal(l)] => lit_str(l).unwrap_or_else(|| l.to_compact_string()),
                rest => rest
                    .iter()
                    .cloned()
                    .collect::<TokenStream>()
                    .to_compact_string(),
            };
            return AttrArg::Named(unraw(name), value);
        }
    }
    let ts: TokenStream = seg.into_iter().collect();
    match syn::parse2::<syn::Path>(ts.clone()) {
        Ok(p) => AttrArg::Path(path_segments(&p)),
        Err(_) => AttrArg::Other(ts.to_compact_string()),
    }
}

/// The value of a string literal token (`"a"`, `r"a"`), if it is one.
pub fn lit_str(l: &proc_macro2::Literal) -> Option<Name> {
    let text = l.to_compact_string();
    if !(text.starts_with('"') || text.starts_with("r\"") || text.starts_with("r#")) {
        return None;
    }
    if let Some(v) = plain_str_value(&text) {
        return Some(v);
    }
    syn::parse_str::<syn::LitStr>(&text)
        .ok()
        .map(|s| s.value().into())
}

/// The value of a string literal, without syn's unescaping when it has no escapes and no
/// suffix (nearly all of them: route paths, format strings); `LitStr::value` re-parses every
/// literal character by character.
pub fn str_value(s: &syn::LitStr) -> Name {
    plain_str_value(&s.token().to_compact_string()).unwrap_or_else(|| s.value().into())
}

/// `"text"` with no backslash inside: its contents.
fn plain_str_value(token: &str) -> Option<Name> {
    let inner = token.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['\\', '"'])).then(|| inner.to_compact_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_keep_their_arguments() {
        let t: syn::Type = syn::parse_str("&Arc<Mutex<HashMap<String, Vec<u8>>>>").unwrap();
        let n = type_name(&t).unwrap();
        assert!(n.is_ref);
        assert_eq!(n.display(), "&Arc<Mutex<HashMap<String, Vec<u8>>>>");
        let names: Vec<&str> = n.walk().iter().map(|t| t.last()).collect();
        assert_eq!(names, ["Arc", "Mutex", "HashMap", "String", "Vec", "u8"]);
        let t: syn::Type = syn::parse_str("impl Filter<Extract = (String,)> + Clone").unwrap();
        assert_eq!(type_name(&t).unwrap().path, ["impl", "Filter"]);
    }

    #[test]
    fn string_values_with_and_without_escapes() {
        let lit = |src: &str| str_value(&syn::parse_str::<syn::LitStr>(src).unwrap());
        assert_eq!(lit(r#""/ops/{id}""#), "/ops/{id}");
        assert_eq!(lit(r#""a\nb""#), "a\nb");
        assert_eq!(lit(r#""tab\there""#), "tab\there");
        assert_eq!(lit(r##"r#"raw "quoted""#"##), "raw \"quoted\"");
        assert_eq!(lit(r#""é""#), "é");
    }

    #[test]
    fn attribute_arguments() {
        let f: syn::ItemFn = syn::parse_str(
            r#"#[get("/ops/heap", wrap = "HttpAuthentication::bearer(v)", rank = 2)] #[route("/x", method = "GET", method = "POST")] fn h() {}"#,
        )
        .unwrap();
        let a = attr_facts(&f.attrs);
        assert_eq!(a[0].first_str(), Some("/ops/heap"));
        assert_eq!(a[0].named("wrap"), Some("HttpAuthentication::bearer(v)"));
        assert_eq!(a[0].named("rank"), Some("2"));
        assert_eq!(
            a[1].named_all("method").collect::<Vec<_>>(),
            ["GET", "POST"]
        );
        let f: syn::ItemFn =
            syn::parse_str(r#"#[utoipa::path(get, path = "/x")] fn h() {}"#).unwrap();
        let a = attr_facts(&f.attrs);
        assert_eq!(a[0].args[0], AttrArg::Path(vec!["get".into()]));
        assert_eq!(a[0].named("path"), Some("/x"));
    }
}
