//! Ranges of syntax nodes read from their first and last tokens, without re-tokenising them.
//!
//! `syn::spanned::Spanned` prints a node back into a token stream (cloning every token of a
//! closure or a fn body) only to join the spans of the first and the last token. Here the two
//! edge tokens are found by walking down the node's first and last children, which costs a few
//! steps whatever the node's size. The result is the same range: `tests` below, and the
//! `ranges_match_syn_on_every_node` test over every fixture file, compare both on every
//! expression, pattern, type and block. Nodes whose edges are not worth spelling out here
//! (rare expression kinds, qualified paths, attributes) fall back to `Spanned`.

use proc_macro2::Span;

use crate::source::Range;

/// The range of a node from its edge spans, or through `Spanned` when the edges are unknown.
fn range(edges: Option<(Span, Span)>, slow: impl FnOnce() -> Range) -> Range {
    match edges {
        Some((first, last)) => Range::of_span(first.join(last).unwrap_or(first)),
        None => slow(),
    }
}

pub fn expr(e: &syn::Expr) -> Range {
    range(expr_first(e).zip(expr_last(e)), || Range::of(e))
}

pub fn pat(p: &syn::Pat) -> Range {
    range(pat_first(p).zip(pat_last(p)), || Range::of(p))
}

pub fn pat_type(p: &syn::PatType) -> Range {
    let first = match p.attrs.first() {
        Some(a) => Some(a.pound_token.span),
        None => pat_first(&p.pat),
    };
    range(first.zip(type_last(&p.ty)), || Range::of(p))
}

pub fn ty(t: &syn::Type) -> Range {
    range(type_first(t).zip(type_last(t)), || Range::of(t))
}

pub fn path(p: &syn::Path) -> Range {
    range(path_first(p).zip(path_last(p)), || Range::of(p))
}

pub fn block(b: &syn::Block) -> Range {
    Range::of_span(b.brace_token.span.join())
}

pub fn ident(i: &proc_macro2::Ident) -> Range {
    Range::of_span(i.span())
}

pub fn closure(c: &syn::ExprClosure) -> Range {
    range(closure_first(c).zip(closure_last(c)), || Range::of(c))
}

pub fn async_block(a: &syn::ExprAsync) -> Range {
    let first = match a.attrs.first() {
        Some(at) => at.pound_token.span,
        None => a.async_token.span,
    };
    Range::of_span(first.join(a.block.brace_token.span.join()).unwrap_or(first))
}

pub fn index(ix: &syn::ExprIndex) -> Range {
    let first = match ix.attrs.first() {
        Some(at) => Some(at.pound_token.span),
        None => expr_first(&ix.expr),
    };
    range(first.zip(Some(ix.bracket_token.span.join())), || {
        Range::of(ix)
    })
}

fn closure_first(c: &syn::ExprClosure) -> Option<Span> {
    if let Some(a) = c.attrs.first() {
        return Some(a.pound_token.span);
    }
    if let Some(l) = &c.lifetimes {
        return Some(l.for_token.span);
    }
    if let Some(t) = &c.constness {
        return Some(t.span);
    }
    if let Some(t) = &c.asyncness {
        return Some(t.span);
    }
    if let Some(t) = &c.capture {
        return Some(t.span);
    }
    Some(c.inputs_begin.span)
}

fn closure_last(c: &syn::ExprClosure) -> Option<Span> {
    // With a return type, syn prints a body that is not a plain block inside added braces.
    let plain = matches!(c.output, syn::ReturnType::Default)
        || matches!(&*c.body, syn::Expr::Block(b) if b.attrs.is_empty() && b.label.is_none());
    if !plain {
        return None;
    }
    expr_last(&c.body)
}

/// The span of the first token of an expression as syn prints it.
fn expr_first(e: &syn::Expr) -> Option<Span> {
    use syn::Expr as E;
    let attrs = match e {
        E::Array(x) => &x.attrs,
        E::Assign(x) => &x.attrs,
        E::Async(x) => &x.attrs,
        E::Await(x) => &x.attrs,
        E::Binary(x) => &x.attrs,
        E::Block(x) => &x.attrs,
        E::Break(x) => &x.attrs,
        E::Call(x) => &x.attrs,
        E::Cast(x) => &x.attrs,
        E::Closure(x) => &x.attrs,
        E::Field(x) => &x.attrs,
        E::If(x) => &x.attrs,
        E::Index(x) => &x.attrs,
        E::Lit(x) => &x.attrs,
        E::Macro(x) => &x.attrs,
        E::Match(x) => &x.attrs,
        E::MethodCall(x) => &x.attrs,
        E::Paren(x) => &x.attrs,
        E::Path(x) => &x.attrs,
        E::Reference(x) => &x.attrs,
        E::Return(x) => &x.attrs,
        E::Struct(x) => &x.attrs,
        E::Try(x) => &x.attrs,
        E::Tuple(x) => &x.attrs,
        E::Unary(x) => &x.attrs,
        _ => return None,
    };
    if !attrs.is_empty() {
        return None;
    }
    match e {
        E::Array(x) => Some(x.bracket_token.span.join()),
        E::Assign(x) => expr_first(&x.left),
        E::Async(x) => Some(x.async_token.span),
        E::Await(x) => expr_first(&x.base),
        E::Binary(x) => expr_first(&x.left),
        E::Block(x) => match &x.label {
            Some(l) => Some(l.name.apostrophe),
            None => Some(x.block.brace_token.span.join()),
        },
        E::Break(x) => Some(x.break_token.span),
        E::Call(x) => expr_first(&x.func),
        E::Cast(x) => expr_first(&x.expr),
        E::Closure(x) => closure_first(x),
        E::Field(x) => expr_first(&x.base),
        E::If(x) => Some(x.if_token.span),
        E::Index(x) => expr_first(&x.expr),
        E::Lit(x) => Some(x.lit.span()),
        E::Macro(x) => path_first(&x.mac.path),
        E::Match(x) => Some(x.match_token.span),
        E::MethodCall(x) => expr_first(&x.receiver),
        E::Paren(x) => Some(x.paren_token.span.join()),
        E::Path(x) if x.qself.is_none() => path_first(&x.path),
        E::Reference(x) => Some(x.and_token.span),
        E::Return(x) => Some(x.return_token.span),
        E::Struct(x) if x.qself.is_none() => path_first(&x.path),
        E::Try(x) => expr_first(&x.expr),
        E::Tuple(x) => Some(x.paren_token.span.join()),
        E::Unary(x) => Some(match &x.op {
            syn::UnOp::Deref(t) => t.span,
            syn::UnOp::Not(t) => t.span,
            syn::UnOp::Neg(t) => t.span,
            _ => return None,
        }),
        _ => None,
    }
}

/// The span of the last token of an expression as syn prints it.
fn expr_last(e: &syn::Expr) -> Option<Span> {
    use syn::Expr as E;
    match e {
        E::Array(x) => Some(x.bracket_token.span.join()),
        E::Assign(x) => expr_last(&x.right),
        E::Async(x) => Some(x.block.brace_token.span.join()),
        E::Await(x) => Some(x.await_token.span),
        E::Binary(x) => expr_last(&x.right),
        E::Block(x) => Some(x.block.brace_token.span.join()),
        E::Break(x) => match (&x.expr, &x.label) {
            (Some(v), _) => expr_last(v),
            (None, Some(l)) => Some(l.ident.span()),
            (None, None) => Some(x.break_token.span),
        },
        E::Call(x) => Some(x.paren_token.span.join()),
        E::Cast(x) => type_last(&x.ty),
        E::Closure(x) => closure_last(x),
        E::Field(x) => Some(match &x.member {
            syn::Member::Named(i) => i.span(),
            syn::Member::Unnamed(i) => i.span,
        }),
        E::ForLoop(x) => Some(x.body.brace_token.span.join()),
        E::If(x) => match &x.else_branch {
            Some((_, els)) => expr_last(els),
            None => Some(x.then_branch.brace_token.span.join()),
        },
        E::Index(x) => Some(x.bracket_token.span.join()),
        E::Lit(x) => Some(x.lit.span()),
        E::Loop(x) => Some(x.body.brace_token.span.join()),
        E::Macro(x) => Some(match &x.mac.delimiter {
            syn::MacroDelimiter::Paren(d) => d.span.join(),
            syn::MacroDelimiter::Brace(d) => d.span.join(),
            syn::MacroDelimiter::Bracket(d) => d.span.join(),
        }),
        E::Match(x) => Some(x.brace_token.span.join()),
        E::MethodCall(x) => Some(x.paren_token.span.join()),
        E::Paren(x) => Some(x.paren_token.span.join()),
        E::Path(x) if x.qself.is_none() => path_last(&x.path),
        E::Reference(x) => expr_last(&x.expr),
        E::Return(x) => match &x.expr {
            Some(v) => expr_last(v),
            None => Some(x.return_token.span),
        },
        E::Struct(x) => Some(x.brace_token.span.join()),
        E::Try(x) => Some(x.question_token.span),
        E::Tuple(x) => Some(x.paren_token.span.join()),
        E::Unary(x) => expr_last(&x.expr),
        E::While(x) => Some(x.body.brace_token.span.join()),
        _ => None,
    }
}

fn path_first(p: &syn::Path) -> Option<Span> {
    match &p.leading_colon {
        Some(c) => Some(c.spans[0]),
        None => p.segments.first().map(|s| s.ident.span()),
    }
}

fn path_last(p: &syn::Path) -> Option<Span> {
    let last = p.segments.last()?;
    match &last.arguments {
        syn::PathArguments::None => Some(last.ident.span()),
        syn::PathArguments::AngleBracketed(a) => Some(a.gt_token.span),
        syn::PathArguments::Parenthesized(a) => match &a.output {
            syn::ReturnType::Default => Some(a.paren_token.span.join()),
            syn::ReturnType::Type(_, t) => type_last(t),
        },
    }
}

fn pat_first(p: &syn::Pat) -> Option<Span> {
    use syn::Pat as P;
    match p {
        P::Ident(x) if x.attrs.is_empty() => Some(match (&x.by_ref, &x.mutability) {
            (Some(r), _) => r.span,
            (None, Some(m)) => m.span,
            (None, None) => x.ident.span(),
        }),
        P::Reference(x) if x.attrs.is_empty() => Some(x.and_token.span),
        P::Tuple(x) if x.attrs.is_empty() => Some(x.paren_token.span.join()),
        P::TupleStruct(x) if x.attrs.is_empty() && x.qself.is_none() => path_first(&x.path),
        P::Struct(x) if x.attrs.is_empty() && x.qself.is_none() => path_first(&x.path),
        P::Slice(x) if x.attrs.is_empty() => Some(x.bracket_token.span.join()),
        P::Type(x) if x.attrs.is_empty() => pat_first(&x.pat),
        P::Wild(x) if x.attrs.is_empty() => Some(x.underscore_token.span),
        _ => None,
    }
}

fn pat_last(p: &syn::Pat) -> Option<Span> {
    use syn::Pat as P;
    match p {
        P::Ident(x) => match &x.subpat {
            Some((_, sub)) => pat_last(sub),
            None => Some(x.ident.span()),
        },
        P::Reference(x) => pat_last(&x.pat),
        P::Tuple(x) => Some(x.paren_token.span.join()),
        P::TupleStruct(x) => Some(x.paren_token.span.join()),
        P::Struct(x) => Some(x.brace_token.span.join()),
        P::Slice(x) => Some(x.bracket_token.span.join()),
        P::Type(x) => type_last(&x.ty),
        P::Wild(x) => Some(x.underscore_token.span),
        _ => None,
    }
}

fn type_first(t: &syn::Type) -> Option<Span> {
    match t {
        syn::Type::Path(p) if p.qself.is_none() => path_first(&p.path),
        syn::Type::Reference(r) => Some(r.and_token.span),
        syn::Type::Tuple(x) => Some(x.paren_token.span.join()),
        syn::Type::Slice(x) => Some(x.bracket_token.span.join()),
        _ => None,
    }
}

fn type_last(t: &syn::Type) -> Option<Span> {
    match t {
        syn::Type::Path(p) if p.qself.is_none() => path_last(&p.path),
        syn::Type::Reference(r) => type_last(&r.elem),
        syn::Type::Tuple(x) => Some(x.paren_token.span.join()),
        syn::Type::Slice(x) => Some(x.bracket_token.span.join()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::visit::Visit;

    /// Compares every fast range with syn's `Spanned` on every node of a file.
    struct Compare {
        checked: usize,
        mismatches: Vec<String>,
    }

    impl Compare {
        fn check(&mut self, what: &str, fast: Range, slow: Range) {
            self.checked += 1;
            if fast != slow {
                self.mismatches
                    .push(format!("{what}: fast {fast:?} != syn {slow:?}"));
            }
        }
    }

    impl<'a> Visit<'a> for Compare {
        fn visit_expr(&mut self, e: &'a syn::Expr) {
            self.check("expr", expr(e), Range::of(e));
            match e {
                syn::Expr::Closure(c) => self.check("closure", closure(c), Range::of(c)),
                syn::Expr::Async(a) => self.check("async", async_block(a), Range::of(a)),
                syn::Expr::Index(ix) => self.check("index", index(ix), Range::of(ix)),
                _ => {}
            }
            syn::visit::visit_expr(self, e);
        }
        fn visit_pat(&mut self, p: &'a syn::Pat) {
            self.check("pat", pat(p), Range::of(p));
            syn::visit::visit_pat(self, p);
        }
        fn visit_pat_type(&mut self, p: &'a syn::PatType) {
            self.check("pat type", pat_type(p), Range::of(p));
            syn::visit::visit_pat_type(self, p);
        }
        fn visit_type(&mut self, t: &'a syn::Type) {
            self.check("type", ty(t), Range::of(t));
            syn::visit::visit_type(self, t);
        }
        fn visit_path(&mut self, p: &'a syn::Path) {
            self.check("path", path(p), Range::of(p));
            syn::visit::visit_path(self, p);
        }
        fn visit_block(&mut self, b: &'a syn::Block) {
            self.check("block", block(b), Range::of(b));
            syn::visit::visit_block(self, b);
        }
        fn visit_ident(&mut self, i: &'a proc_macro2::Ident) {
            self.check("ident", ident(i), Range::of(i));
        }
    }

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.ends_with("target") {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// Every fixture, the demo and the linter's own sources (set `STATELESS_LINT_SPAN_CORPUS`
    /// to a directory to check another tree, such as the benchmark corpus).
    #[test]
    fn ranges_match_syn_on_every_node() {
        // syn recurses on nesting depth, as in the engine's workers.
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(compare_every_node)
            .expect("thread")
            .join()
            .expect("no panic");
    }

    fn compare_every_node() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        match std::env::var_os("STATELESS_LINT_SPAN_CORPUS") {
            Some(dir) => rust_files(std::path::Path::new(&dir), &mut files),
            None => {
                for d in ["fixtures", "demo", "src"] {
                    rust_files(&root.join(d), &mut files);
                }
            }
        }
        files.sort();
        let mut cmp = Compare {
            checked: 0,
            mismatches: Vec::new(),
        };
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            if let Ok(file) = syn::parse_file(&text) {
                let before = cmp.mismatches.len();
                cmp.visit_file(&file);
                for m in &mut cmp.mismatches[before..] {
                    *m = format!("{}: {m}", f.display());
                }
            }
            proc_macro2::extra::invalidate_current_thread_spans();
        }
        assert!(cmp.checked > 10_000, "only {} nodes checked", cmp.checked);
        assert!(
            cmp.mismatches.is_empty(),
            "{} of {} ranges differ, first: {:#?}",
            cmp.mismatches.len(),
            cmp.checked,
            &cmp.mismatches[..cmp.mismatches.len().min(10)]
        );
    }
}
