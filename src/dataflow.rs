//! Data flow inside one fn, over its facts: where does a value come from? Follows `let`
//! bindings (the one visible at the point of use), fields, tuples and, as the caller
//! decides per call, a call's receiver and arguments. Nothing here crosses fn boundaries;
//! rules combine it with the call graph of the crate model.

use foldhash::{HashSet, HashSetExt};

use crate::facts::{CallSite, FnFacts, LetFacts};
use crate::summary::Operand;

/// Where a value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin<'f> {
    /// The fn's parameter at this index (of `FnFacts::param_types`).
    Param(usize),
    /// The result of `calls[i]`.
    Call(usize),
    /// The result of `macros[i]`.
    Macro(usize),
    /// A closure, `scopes[i]`.
    Closure(usize),
    /// A path to an item (a static, a const, a fn).
    Path(&'f [crate::facts::Name]),
    /// A literal.
    Literal,
    /// A local whose value is not known (a closure parameter, a `match` binding on
    /// something opaque), or an expression the facts do not summarise.
    Unknown,
}

/// Which parts of a call a value flows through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Through {
    /// The call's result comes from nothing before it (a constructor of fresh data).
    Nothing,
    /// From its receiver (`body.trim()`).
    Receiver,
    /// From its arguments (`serde_json::from_str(&body)`).
    Args,
    /// From both.
    Both,
}

/// Most steps taken by one [`Flow::origins`] query (chains are long, cycles are cut).
const MAX_STEPS: usize = 4096;

pub struct Flow<'f> {
    pub f: &'f FnFacts,
}

impl<'f> Flow<'f> {
    pub fn new(f: &'f FnFacts) -> Flow<'f> {
        Flow { f }
    }

    /// The binding of `name` visible at a point where `at` calls have been recorded: the last
    /// `let` (or assignment) of that name before it.
    pub fn binding(&self, name: &str, at: usize) -> Option<&'f LetFacts> {
        self.f
            .lets
            .iter()
            .rev()
            .find(|l| l.name == name && l.after_call <= at)
    }

    /// Like [`Flow::binding`], among the first `lets` bindings only; with its index.
    pub fn binding_among(
        &self,
        name: &str,
        at: usize,
        lets: usize,
    ) -> Option<(usize, &'f LetFacts)> {
        self.f.lets[..lets.min(self.f.lets.len())]
            .iter()
            .enumerate()
            .rev()
            .find(|(_, l)| l.name == name && l.after_call <= at)
    }

    /// The index of the parameter that binds `name`.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.f
            .param_types
            .iter()
            .position(|p| p.names.iter().any(|n| n == name))
    }

    /// Every origin `op` (used where `at` calls have been recorded) flows from. `through`
    /// says, for each call met on the way, whether its result carries its receiver's or
    /// arguments' data; the call itself is always reported as an origin.
    pub fn origins(
        &self,
        op: &'f Operand,
        at: usize,
        through: &dyn Fn(usize, &CallSite) -> Through,
    ) -> Vec<Origin<'f>> {
        let mut out = Vec::new();
        self.walk(op, at, through, &mut |o, _| out.push(o));
        out
    }

    /// The string literals among the origins of `op` (`"static"` and `"{}/index.html"` for
    /// `Path::new("static").join(format!("{}/index.html", dir))` when `through` follows
    /// `join`'s receiver and arguments).
    pub fn string_literals(
        &self,
        op: &'f Operand,
        at: usize,
        through: &dyn Fn(usize, &CallSite) -> Through,
    ) -> Vec<&'f str> {
        let mut out = Vec::new();
        self.walk(op, at, through, &mut |_, leaf| {
            if let Some(Operand::Str(s)) = leaf {
                out.push(s.as_str());
            }
        });
        out
    }

    /// Visits every origin of `op`, with the literal operand for [`Origin::Literal`].
    fn walk(
        &self,
        op: &'f Operand,
        at: usize,
        through: &dyn Fn(usize, &CallSite) -> Through,
        emit: &mut dyn FnMut(Origin<'f>, Option<&'f Operand>),
    ) {
        let mut seen_calls = HashSet::new();
        let mut seen_lets = HashSet::new();
        // Each item: the operand, the calls recorded before it, and how many `let`s can be
        // its bindings (a `let x = x.trim()` value sees only the lets before it).
        let mut work: Vec<(&'f Operand, usize, usize)> = vec![(op, at, self.f.lets.len())];
        let mut steps = 0;
        while let Some((op, at, lets)) = work.pop() {
            steps += 1;
            if steps > MAX_STEPS {
                emit(Origin::Unknown, None);
                break;
            }
            match op {
                Operand::Local(name) => match self.binding_among(name, at, lets) {
                    Some((li, l)) => {
                        let key = l as *const LetFacts as usize;
                        if seen_lets.insert(key) {
                            work.push((&l.value, l.after_call, li));
                        }
                    }
                    None => match self.param_index(name) {
                        Some(i) => emit(Origin::Param(i), None),
                        None => emit(Origin::Unknown, None),
                    },
                },
                Operand::Field(base, _) => work.push((base, at, lets)),
                Operand::Tuple(xs) | Operand::Array(xs) => {
                    work.extend(xs.iter().map(|x| (x, at, lets)));
                }
                Operand::Struct(_, fields) => {
                    work.extend(fields.iter().map(|(_, x)| (x, at, lets)))
                }
                Operand::Call(i) => {
                    let i = *i;
                    if !seen_calls.insert(i) {
                        continue;
                    }
                    emit(Origin::Call(i), None);
                    let Some(call) = self.f.calls.get(i) else {
                        continue;
                    };
                    let t = through(i, call);
                    if matches!(t, Through::Receiver | Through::Both) {
                        if let Some(r) = &call.receiver {
                            work.push((r, i, lets));
                        }
                    }
                    if matches!(t, Through::Args | Through::Both) {
                        work.extend(call.args.iter().map(|a| (a, i, lets)));
                    }
                }
                Operand::Macro(i) => {
                    emit(Origin::Macro(*i), None);
                    if let Some(m) = self.f.macros.get(*i) {
                        work.extend(m.args.iter().map(|a| (a, m.after_call, lets)));
                    }
                }
                Operand::Closure(s) => emit(Origin::Closure(*s), None),
                Operand::Path(p) => emit(Origin::Path(p), None),
                Operand::Str(_) | Operand::Lit(_) => emit(Origin::Literal, Some(op)),
                Operand::Other => emit(Origin::Unknown, None),
            }
        }
    }

    /// The method calls applied to the result of `call`, innermost first, through `let`
    /// bindings and re-assignments of it (`let server = axum::serve(..);
    /// server.with_graceful_shutdown(..)`): the other direction of [`Flow::chain`].
    pub fn outer_chain(&self, call: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = call;
        for _ in 0..256 {
            let names: Vec<&str> = self
                .f
                .lets
                .iter()
                .filter(|l| l.value == Operand::Call(cur))
                .map(|l| l.name.as_str())
                .collect();
            let next = self
                .f
                .calls
                .iter()
                .enumerate()
                .skip(cur + 1)
                .find_map(|(j, c)| match &c.receiver {
                    Some(Operand::Call(r)) if *r == cur => Some(j),
                    Some(Operand::Local(n)) if names.contains(&n.as_str()) => Some(j),
                    _ => None,
                });
            match next {
                Some(j) => {
                    out.push(j);
                    cur = j;
                }
                None => break,
            }
        }
        out
    }

    /// The calls a method-call chain is made of, outermost first: for
    /// `Router::new().route(..).layer(..)` given the `.layer` call, `[layer, route, new]`.
    /// Locals on the way are followed to their binding.
    pub fn chain(&self, call: usize) -> Vec<usize> {
        let mut out = vec![call];
        let mut seen: HashSet<usize> = [call].into_iter().collect();
        let mut cur = call;
        while let Some(recv) = self.f.calls.get(cur).and_then(|c| c.receiver.as_ref()) {
            let mut op = recv;
            let mut at = cur;
            let mut guard = 0;
            // Through locals: `let app = Router::new(); app.route(..)`.
            while let Operand::Local(name) = op {
                guard += 1;
                match self.binding(name, at) {
                    Some(l) if guard < 64 => {
                        op = &l.value;
                        at = l.after_call;
                    }
                    _ => break,
                }
            }
            match op {
                Operand::Call(i) if seen.insert(*i) => {
                    out.push(*i);
                    cur = *i;
                }
                _ => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{extract, Callee};

    fn fn_facts(src: &str) -> FnFacts {
        let file = syn::parse_file(src).unwrap();
        extract(&file, &Vec::new(), false).fns.remove(0)
    }

    fn call_named(f: &FnFacts, name: &str) -> usize {
        f.calls
            .iter()
            .position(|c| match &c.callee {
                Callee::Path(p) => p.last().is_some_and(|l| l == name),
                Callee::Method { name: n, .. } => n == name,
            })
            .unwrap()
    }

    #[test]
    fn origins_follow_lets_and_calls() {
        let f = fn_facts(
            r#"async fn h(Json(body): Json<Value>, State(s): State<App>) {
                let text = body.to_string();
                let parsed: Req = serde_json::from_str(&text).unwrap();
                let fresh = String::new();
                fresh.len();
            }"#,
        );
        let flow = Flow::new(&f);
        let unwrap = call_named(&f, "unwrap");
        let recv = f.calls[unwrap].receiver.as_ref().unwrap();
        let origins = flow.origins(recv, unwrap, &|_, _| Through::Both);
        assert!(origins.contains(&Origin::Param(0)), "{origins:?}");
        assert!(!origins.contains(&Origin::Param(1)));
        let len = call_named(&f, "len");
        let recv = f.calls[len].receiver.as_ref().unwrap();
        let origins = flow.origins(recv, len, &|_, _| Through::Nothing);
        assert!(!origins.contains(&Origin::Param(0)), "{origins:?}");
    }

    #[test]
    fn string_literals_through_lets_macros_and_calls() {
        let f = fn_facts(
            r#"async fn h(State(cfg): State<Config>) {
                let dir = Path::new("static");
                let file = format!("{}/index.html", cfg.root);
                tokio::fs::read(dir.join(file)).await;
            }"#,
        );
        let flow = Flow::new(&f);
        let read = call_named(&f, "read");
        let arg = &f.calls[read].args[0];
        let mut lits = flow.string_literals(arg, read, &|_, _| Through::Both);
        lits.sort_unstable();
        assert_eq!(lits, ["static", "{}/index.html"]);
        assert!(flow
            .string_literals(arg, read, &|_, _| Through::Nothing)
            .is_empty());
    }

    #[test]
    fn shadowing_lets_see_the_binding_before_them() {
        let f = fn_facts(
            r#"async fn h(req: Request) {
                let file = req.file("f");
                if let Some(file) = file {
                    std::fs::copy(file.path(), "x");
                }
            }"#,
        );
        let flow = Flow::new(&f);
        let copy = call_named(&f, "copy");
        let origins = flow.origins(&f.calls[copy].args[0], copy, &|_, _| Through::Both);
        assert!(origins.contains(&Origin::Param(0)), "{origins:?}");
    }

    #[test]
    fn chains_go_through_locals() {
        let f = fn_facts(
            r#"fn app() -> Router {
                let app = Router::new().route("/", get(index));
                let app = app.layer(CatchPanicLayer::new());
                app.with_state(1)
            }"#,
        );
        let flow = Flow::new(&f);
        let with_state = call_named(&f, "with_state");
        let names: Vec<String> = flow
            .chain(with_state)
            .into_iter()
            .map(|i| match &f.calls[i].callee {
                Callee::Path(p) => p.join("::"),
                Callee::Method { name, .. } => name.to_string(),
            })
            .collect();
        assert_eq!(names, ["with_state", "layer", "route", "Router::new"]);
    }
}
