//! Symbolic evaluation of operands across the fns of a crate: what value does this
//! argument denote? Follows `let` bindings, calls into crate fns (their return value, with
//! their parameters bound to the caller's arguments), closures' bodies, and stops at calls
//! to other crates, which the framework interpreters read as builder steps.

use std::rc::Rc;

use crate::dataflow::Flow;
use crate::facts::{CallSite, Callee};
use crate::model::{CallTarget, CrateModel, FnId, Resolved};
use crate::summary::Operand;

/// Deepest chain of crate-fn calls and bindings followed for one value.
const MAX_DEPTH: u32 = 24;

/// A call into a crate fn being evaluated: its parameters are the caller's arguments.
#[derive(Debug)]
pub struct Frame {
    pub callee: FnId,
    pub caller: FnId,
    pub call: usize,
    pub caller_frame: Option<Rc<Frame>>,
}

/// Where a value was written: a fn and, inside it, the frame that binds its parameters.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub fn_id: FnId,
    pub frame: Option<Rc<Frame>>,
}

/// What an operand denotes.
#[derive(Clone, Debug)]
pub enum Node {
    /// A call to something outside the crate (`Router::new()`, `.route(..)`, `get(h)`).
    Call {
        ctx: Ctx,
        call: usize,
    },
    /// A macro invocation (`routes![..]`, `warp::path!(..)`, `login_required!(..)`).
    Macro {
        ctx: Ctx,
        index: usize,
    },
    Str(crate::facts::Name),
    Lit(crate::facts::Name),
    /// A path to a crate fn (a handler, a middleware fn, a `configure` fn).
    LocalFn(FnId),
    /// A path to an item of another crate, resolved (`tower_http::cors::CorsLayer`).
    Extern(Vec<crate::facts::Name>),
    /// A path to a crate item that is not a fn (a unit struct, a const).
    LocalItem(Vec<crate::facts::Name>),
    /// A closure.
    Closure {
        ctx: Ctx,
        scope: usize,
    },
    /// A parameter of a fn reached with no caller (a builder fn nobody calls with a value).
    Param {
        fn_id: FnId,
        index: usize,
    },
    Tuple(Vec<Node>),
    Array(Vec<Node>),
    /// A value the evaluation could not follow, and why.
    Unknown(String),
}

/// Most evaluation steps for one crate: generated code can nest values so that following
/// all of them would take exponential time; past the budget values are unknown.
const STEP_BUDGET: u64 = 2_000_000;

pub struct Eval<'m, 'a> {
    pub model: &'m CrateModel<'a>,
    steps: std::cell::Cell<u64>,
}

impl<'m, 'a> Eval<'m, 'a> {
    pub fn new(model: &'m CrateModel<'a>) -> Self {
        Eval {
            model,
            steps: std::cell::Cell::new(0),
        }
    }

    pub fn call_site(&self, ctx: &Ctx, call: usize) -> &'a CallSite {
        &self.model.fn_facts(ctx.fn_id).calls[call]
    }

    /// The value of `op`, written in `ctx` where `at` calls had been recorded.
    pub fn value(&self, ctx: &Ctx, op: &Operand, at: usize) -> Node {
        self.value_depth(ctx, op, at, 0)
    }

    fn value_depth(&self, ctx: &Ctx, op: &Operand, at: usize, depth: u32) -> Node {
        if depth > MAX_DEPTH {
            return Node::Unknown("the value is built too deep to follow".into());
        }
        let steps = self.steps.get() + 1;
        self.steps.set(steps);
        if steps > STEP_BUDGET {
            return Node::Unknown("the crate's routers are too large to follow".into());
        }
        let d = depth + 1;
        let f = self.model.fn_facts(ctx.fn_id);
        let flow = Flow::new(f);
        match op {
            Operand::Local(name) => {
                if let Some(l) = flow.binding(name, at) {
                    return self.value_depth(ctx, &l.value, l.after_call, d);
                }
                match flow.param_index(name) {
                    Some(i) => self.param(ctx, i, d),
                    None => Node::Unknown(format!(
                        "`{name}` is not bound to a value the linter can follow"
                    )),
                }
            }
            Operand::Call(i) => self.call_value(ctx, *i, d),
            Operand::Macro(i) => Node::Macro {
                ctx: ctx.clone(),
                index: *i,
            },
            Operand::Closure(s) => Node::Closure {
                ctx: ctx.clone(),
                scope: *s,
            },
            Operand::Str(s) => Node::Str(s.clone()),
            Operand::Lit(s) => Node::Lit(s.clone()),
            Operand::Path(p) => self.path(ctx.fn_id, p),
            Operand::Tuple(xs) => {
                Node::Tuple(xs.iter().map(|x| self.value_depth(ctx, x, at, d)).collect())
            }
            Operand::Array(xs) => {
                Node::Array(xs.iter().map(|x| self.value_depth(ctx, x, at, d)).collect())
            }
            Operand::Field(base, name) => {
                // `let (router, api) = OpenApiRouter::new()..split_for_parts();`
                if name == "0" {
                    if let Node::Call { ctx: bctx, call } = self.value_depth(ctx, base, at, d) {
                        if self.callee(&bctx, call).method() == Some("split_for_parts") {
                            if let Some(r) = self.receiver(&bctx, call) {
                                return r;
                            }
                        }
                    }
                }
                Node::Unknown(format!(
                    "the value of the field `{name}`, which the linter does not follow"
                ))
            }
            Operand::Struct(p, _) => self.path(ctx.fn_id, p),
            Operand::Other => Node::Unknown("an expression the linter does not follow".into()),
        }
    }

    /// A parameter: the caller's argument when the fn is being evaluated for a call.
    fn param(&self, ctx: &Ctx, index: usize, depth: u32) -> Node {
        match &ctx.frame {
            Some(fr) if fr.callee == ctx.fn_id => {
                let caller = Ctx {
                    fn_id: fr.caller,
                    frame: fr.caller_frame.clone(),
                };
                let call = self.call_site(&caller, fr.call);
                // Methods: `self` is the receiver and isn't among the typed params.
                match call.args.get(index) {
                    Some(arg) => self.value_depth(&caller, arg, fr.call, depth),
                    None => Node::Unknown("an argument the linter could not match".into()),
                }
            }
            _ => Node::Param {
                fn_id: ctx.fn_id,
                index,
            },
        }
    }

    /// A call: into a crate fn (its return value), or a builder step of another crate.
    fn call_value(&self, ctx: &Ctx, call: usize, depth: u32) -> Node {
        if let CallTarget::Local(callee) = self.model.call_target(ctx.fn_id, call) {
            let cf = self.model.fn_facts(*callee);
            // A method on a crate type whose receiver is the builder (`self.routes()`) is
            // still a crate fn returning the value.
            let frame = Rc::new(Frame {
                callee: *callee,
                caller: ctx.fn_id,
                call,
                caller_frame: ctx.frame.clone(),
            });
            if self.recursion(ctx, *callee) {
                return Node::Unknown(format!("`{}` calls itself", cf.name));
            }
            let inner = Ctx {
                fn_id: *callee,
                frame: Some(frame),
            };
            return match cf.returns.first() {
                Some(ret) => self.value_depth(&inner, ret, usize::MAX, depth),
                None => Node::Unknown(format!(
                    "`{}` returns no value the linter can follow",
                    self.model.fn_display(*callee)
                )),
            };
        }
        Node::Call {
            ctx: ctx.clone(),
            call,
        }
    }

    fn recursion(&self, ctx: &Ctx, callee: FnId) -> bool {
        if ctx.fn_id == callee {
            return true;
        }
        let mut fr = ctx.frame.clone();
        let mut n = 0;
        while let Some(f) = fr {
            n += 1;
            if f.callee == callee || n > MAX_DEPTH {
                return true;
            }
            fr = f.caller_frame.clone();
        }
        false
    }

    /// What a path written in fn `id` names.
    pub fn path(&self, id: FnId, segs: &[crate::facts::Name]) -> Node {
        // A fn of the same module wins over an import of the same name: that import is a
        // macro (`use actix_web::delete;` for `#[delete(..)]` beside `fn delete`), since a fn
        // and an imported fn of one name would not compile.
        if let [name] = segs {
            if let Some(f) = self.model.nested_fn(id, name) {
                return Node::LocalFn(f);
            }
            let mut local = self.model.fn_facts(id).module.clone();
            local.push(name.clone());
            if let Some(f) = self.model.local_fn(self.model.fns[id].target, &local) {
                return Node::LocalFn(f);
            }
        }
        match self.model.resolve_in_fn(id, segs).into_iter().next() {
            Some(Resolved::Local { target, path }) => {
                if let Some(f) = self.model.local_fn(target, &path) {
                    return Node::LocalFn(f);
                }
                match self.model.canonical(Resolved::Local { target, path }, 0) {
                    Resolved::Extern(p) => Node::Extern(p),
                    Resolved::Local { path, .. } => Node::LocalItem(path),
                }
            }
            Some(Resolved::Extern(p)) => Node::Extern(p),
            None => Node::Extern(segs.to_vec()),
        }
    }

    /// The resolved path of a call's callee: the candidates of an extern fn, or, for a method
    /// call, just its name.
    pub fn callee(&self, ctx: &Ctx, call: usize) -> Callee2 {
        let site = self.call_site(ctx, call);
        match (&site.callee, self.model.call_target(ctx.fn_id, call)) {
            (Callee::Method { name, .. }, _) => Callee2::Method(name.clone()),
            (Callee::Path(_), CallTarget::Extern(c)) if !c.is_empty() => Callee2::Path(c.clone()),
            (Callee::Path(p), _) => Callee2::Path(vec![p.clone()]),
        }
    }

    /// The receiver of a method call, evaluated.
    pub fn receiver(&self, ctx: &Ctx, call: usize) -> Option<Node> {
        let site = self.call_site(ctx, call);
        site.receiver.as_ref().map(|r| self.value(ctx, r, call))
    }

    /// Argument `i` of a call, evaluated.
    pub fn arg(&self, ctx: &Ctx, call: usize, i: usize) -> Node {
        let site = self.call_site(ctx, call);
        match site.args.get(i) {
            Some(a) => self.value(ctx, a, call),
            None => Node::Unknown("a missing argument".into()),
        }
    }

    /// The string an argument denotes (a literal, a `const`, or a binding of one).
    pub fn arg_str(&self, ctx: &Ctx, call: usize, i: usize) -> Option<String> {
        match self.arg(ctx, call, i) {
            Node::Str(s) => Some(s.into()),
            _ => None,
        }
    }

    /// A method-call chain unrolled, innermost first: the base value (what the first method
    /// is called on) and the method calls applied to it in order.
    pub fn unchain(&self, node: Node) -> (Node, Vec<(Ctx, usize)>) {
        let mut steps = Vec::new();
        let mut cur = node;
        let mut guard = 0;
        loop {
            guard += 1;
            let Node::Call { ctx, call } = &cur else {
                break;
            };
            let site = self.call_site(ctx, *call);
            if !matches!(site.callee, Callee::Method { .. }) || guard > 100_000 {
                break;
            }
            let Some(recv) = self.receiver(ctx, *call) else {
                break;
            };
            steps.push((ctx.clone(), *call));
            cur = recv;
        }
        steps.reverse();
        (cur, steps)
    }
}

/// A callee as the interpreters match it.
#[derive(Clone, Debug)]
pub enum Callee2 {
    /// A method name.
    Method(crate::facts::Name),
    /// Resolved candidate paths of a path call.
    Path(Vec<Vec<crate::facts::Name>>),
}

impl Callee2 {
    pub fn method(&self) -> Option<&str> {
        match self {
            Callee2::Method(m) => Some(m),
            Callee2::Path(_) => None,
        }
    }

    /// Whether a candidate path ends with `suffix` (`["Router", "new"]`) and, when `krate` is
    /// given, starts with it.
    pub fn path_is(&self, krate: Option<&str>, suffix: &[&str]) -> bool {
        let Callee2::Path(cands) = self else {
            return false;
        };
        cands.iter().any(|p| {
            p.len() >= suffix.len()
                && p[p.len() - suffix.len()..]
                    .iter()
                    .zip(suffix)
                    .all(|(a, b)| a == b)
                && krate.is_none_or(|k| p.first().is_some_and(|f| f == k))
        })
    }

    /// The last segment of the path (`get` of `axum::routing::get`).
    pub fn last(&self) -> Option<&str> {
        match self {
            Callee2::Method(m) => Some(m),
            Callee2::Path(c) => c.first().and_then(|p| p.last()).map(|s| s.as_str()),
        }
    }

    /// The first resolved path.
    pub fn first_path(&self) -> Option<&[crate::facts::Name]> {
        match self {
            Callee2::Path(c) => c.first().map(Vec::as_slice),
            Callee2::Method(_) => None,
        }
    }
}
