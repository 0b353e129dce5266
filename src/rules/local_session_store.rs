use crate::catalog::PathPattern;
use crate::catalogs::sessions::{SessionCatalog, StoreEntry, StoreKind};
use crate::dataflow::{Flow, Origin, Through};
use crate::finding::{Finding, Level, Note};
use crate::model::{CallTarget, CrateModel, FnId};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};
use crate::summary::Operand;

declare_rule! {
    /// ## What it does
    /// Flags session stores that keep sessions in process memory or in local files, at the
    /// call that constructs them: tower-sessions' `MemoryStore` (also the re-export that the
    /// default `memory-store` feature adds, and axum-login's), `tower-sessions-memory-store`,
    /// `MokaStore`, `SqliteStore` and the file/rusqlite/sled stores, async-session's and
    /// axum-sessions' `MemoryStore`, async-sqlx-session's `SqliteSessionStore`, poem's
    /// `MemoryStorage`, salvo's `MemoryStore`, and axum_session's `SessionStore` without a
    /// database (`SessionStore::<SessionNullPool>::new(None, ..)`).
    ///
    /// Also flags session and cookie keys made per process: `Key::generate()` (cookie,
    /// actix-web, axum-extra, tower-cookies), poem's `CookieKey::generate()`, and random
    /// bytes (`rand`, `getrandom`...) passed as the secret of `SessionLayer::new`,
    /// `SessionHandler::builder`, `SessionMiddleware::new` or `Key::from`.
    ///
    /// Two cases are warnings: a moka cache in front of a remote store
    /// (`CachingSessionStore::new(MokaStore::new(..), PostgresStore::new(pool))`), which
    /// serves sessions that another replica has since changed or revoked, and axum_session
    /// with a database, which also serves from an in-memory copy per process.
    ///
    /// Calls are resolved through `use` items, so a crate's own `MemoryStore` type is never
    /// confused with these. Not flagged: cookie stores with a configured key (actix-session
    /// `CookieSessionStore`, poem `CookieSession`, salvo `CookieStore`), Redis, Postgres,
    /// MySQL, MongoDB and DynamoDB stores, keys read from the environment or a file,
    /// Rocket's private cookies (Rocket refuses to start in release without a configured
    /// `secret_key`), test code.
    ///
    /// ## Why is this bad?
    /// Behind a load balancer, consecutive requests of one user land on different replicas.
    /// A session created on replica A does not exist on replica B, so the user is logged out
    /// at random; every restart and deploy logs everyone out. A key generated at start-up
    /// has the same effect: each replica signs and encrypts cookies with its own key and
    /// rejects the others', and a restart invalidates every cookie issued so far.
    ///
    /// ## Example
    /// ```rust
    /// let store = tower_sessions::MemoryStore::default();
    /// let key = axum_extra::extract::cookie::Key::generate();
    /// let app = Router::new().layer(SessionManagerLayer::new(store));
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let pool = fred::prelude::Pool::new(RedisConfig::from_url(&redis_url)?, None, None, None, 6)?;
    /// let store = tower_sessions_redis_store::RedisStore::new(pool);
    /// let key = Key::from(&base64::decode(std::env::var("COOKIE_KEY")?)?);
    /// let app = Router::new().layer(SessionManagerLayer::new(store));
    /// ```
    ///
    /// ## Known problems
    /// A store built from a URL or pool whose target is decided by configuration
    /// (`SqlitePool::connect(url)` for a networked libSQL, a surrealdb `Mem` engine) is
    /// judged by its type only. A key derived from random bytes in another fn is followed
    /// only within the fn that passes it.
    pub static META = {
        id: "local-session-store",
        level: Level::Error,
        summary: "sessions kept in process memory or local files, or a session/cookie key generated per process",
        since: "0.1.0",
    };
}

pub struct LocalSessionStore;

impl Rule for LocalSessionStore {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let cat = SessionCatalog::builtin();
        for id in 0..model.fns.len() {
            let f = model.fn_facts(id);
            if !cx.include_tests && (f.attrs.is_test || model.file(model.fns[id].file).is_test) {
                continue;
            }
            for (ci, call) in f.calls.iter().enumerate() {
                let CallTarget::Extern(candidates) = model.call_target(id, ci) else {
                    continue;
                };
                for p in candidates {
                    if let Some(key) = cat.key_generator(p) {
                        out.push(key_finding(cx, id, ci, p, &key.fix));
                        break;
                    }
                    let entry = cat.stores_for_call(p).find(|e| {
                        !e.null_first_arg_only
                            || matches!(call.args.first(), Some(Operand::Path(n)) if n.len() == 1 && n[0] == "None")
                    });
                    if let Some(e) = entry {
                        let cached = e
                            .cache_of
                            .as_deref()
                            .and_then(|c| fronted_store(model, id, ci, c));
                        out.push(store_finding(cx, id, ci, p, e, cached));
                        break;
                    }
                    if let Some(arg) = cat.secret_arg(p) {
                        if let Some(rand) = random_origin(model, cat, id, ci, arg) {
                            out.push(random_key_finding(cx, id, ci, p, rand));
                        }
                        break;
                    }
                }
            }
        }
    }
}

/// The caching store call that takes call `ci`'s result as its cache, if any.
fn fronted_store(model: &CrateModel<'_>, id: FnId, ci: usize, caching: &str) -> Option<usize> {
    let f = model.fn_facts(id);
    let flow = Flow::new(f);
    let pat = PathPattern::parse(caching);
    f.calls.iter().enumerate().find_map(|(k, c)| {
        let CallTarget::Extern(ps) = model.call_target(id, k) else {
            return None;
        };
        let is_caching = ps
            .iter()
            .any(|p| p.split_last().is_some_and(|(_, ty)| pat.matches(ty)));
        if !is_caching {
            return None;
        }
        let first = c.args.first()?;
        flow.origins(first, k, &|_, _| Through::Nothing)
            .contains(&Origin::Call(ci))
            .then_some(k)
    })
}

/// A call to a random-number crate that argument `arg` of call `ci` comes from.
fn random_origin(
    model: &CrateModel<'_>,
    cat: &SessionCatalog,
    id: FnId,
    ci: usize,
    arg: usize,
) -> Option<usize> {
    let f = model.fn_facts(id);
    let op = f.calls[ci].args.get(arg)?;
    let flow = Flow::new(f);
    let origins = flow.origins(op, ci, &|_, _| Through::Both);
    origins.into_iter().find_map(|o| match o {
        Origin::Call(k) => match model.call_target(id, k) {
            CallTarget::Extern(ps) if ps.iter().any(|p| cat.is_random(p)) => Some(k),
            CallTarget::ExternMethod { ty, .. } if cat.is_random(ty) => Some(k),
            _ => None,
        },
        _ => None,
    })
}

fn short(p: &[crate::facts::Name]) -> String {
    let n = p.len();
    p[n.saturating_sub(2)..].join("::")
}

fn store_finding(
    cx: &RuleContext<'_>,
    id: FnId,
    ci: usize,
    path: &[crate::facts::Name],
    e: &StoreEntry,
    cached: Option<usize>,
) -> Finding {
    let model = cx.model;
    let f = model.fn_facts(id);
    let ty = &path[..path.len() - 1];
    let ty_name = ty.join("::");
    let file = model.fn_path(id).to_path_buf();
    if let Some(k) = cached {
        return Finding {
            rule: META.id,
            level: cx.level_for(Some(Level::Warning)),
            message: format!(
                "`{}` caches sessions in process memory in front of the shared store",
                short(ty)
            ),
            path: file.clone(),
            range: f.calls[ci].range,
            label: "each replica keeps its own copy of the sessions it has seen".into(),
            help: Some("a session changed or revoked on one replica stays valid in the others' caches until it expires: drop the cache, or keep its expiry short".into()),
            notes: vec![Note {
                message: "the shared store behind the cache is set up here".into(),
                location: Some((file, f.calls[k].range)),
            }],
        };
    }
    let (message, label) = match (&e.what, e.kind) {
        (Some(what), _) => (
            format!("session store `{}` {what}", short(ty)),
            "each replica has its own sessions".to_string(),
        ),
        (None, StoreKind::Memory) => (
            format!("sessions are kept in process memory (`{ty_name}`)"),
            "each replica has its own sessions, and a restart loses them all".to_string(),
        ),
        (None, StoreKind::File) => (
            format!("sessions are kept in a local file (`{ty_name}`)"),
            "the file is on one instance's disk: other replicas do not see it".to_string(),
        ),
    };
    Finding {
        rule: META.id,
        level: cx.level_for(e.level),
        message,
        path: file,
        range: f.calls[ci].range,
        label,
        help: Some(e.fix.clone()),
        notes: vec![Note {
            message: "behind a load balancer a user's next request may reach another replica, which does not know the session: the user is logged out".into(),
            location: None,
        }],
    }
}

fn key_finding(
    cx: &RuleContext<'_>,
    id: FnId,
    ci: usize,
    path: &[crate::facts::Name],
    fix: &str,
) -> Finding {
    let model = cx.model;
    let f = model.fn_facts(id);
    Finding {
        rule: META.id,
        level: cx.level,
        message: format!(
            "the session/cookie key is generated when the process starts (`{}`)",
            short(path)
        ),
        path: model.fn_path(id).to_path_buf(),
        range: f.calls[ci].range,
        label: "every replica and every restart gets a different key".into(),
        help: Some(fix.to_string()),
        notes: vec![Note {
            message: "cookies signed or encrypted by one replica are rejected by the others, and a restart invalidates every cookie issued so far".into(),
            location: None,
        }],
    }
}

fn random_key_finding(
    cx: &RuleContext<'_>,
    id: FnId,
    ci: usize,
    path: &[crate::facts::Name],
    rand_call: usize,
) -> Finding {
    let model = cx.model;
    let f = model.fn_facts(id);
    let file = model.fn_path(id).to_path_buf();
    Finding {
        rule: META.id,
        level: cx.level,
        message: format!(
            "the session secret given to `{}` is random bytes made when the process starts",
            short(path)
        ),
        path: file.clone(),
        range: f.calls[ci].range,
        label: "every replica and every restart gets a different secret".into(),
        help: Some("read the secret from configuration or the environment (at least 64 bytes), the same for every replica".into()),
        notes: vec![Note {
            message: "the random bytes come from here".into(),
            location: Some((file, f.calls[rand_call].range)),
        }],
    }
}
