//! Rules: one file per rule, each holding its documentation, metadata and check. The
//! registry below is the single list of rules; ids, levels, summaries and doc pages come
//! from the rule files (`docs/rules/<id>.md` is generated from them).

use crate::config::Config;
use crate::finding::{Finding, Level};
use crate::model::CrateModel;

pub mod blocking_in_async;
pub mod file_logging;
pub mod global_mutable_state;
pub mod in_memory_app_state;
pub mod local_session_store;
pub mod missing_compression;
pub mod missing_graceful_shutdown;
pub mod missing_panic_handler;
pub mod panic_on_request_input;
pub mod print_in_handler;
pub mod static_file_per_request;
pub mod unauthenticated_ops_route;
pub mod upload_to_local_disk;

/// A rule's metadata. `docs` is the rule's doc comment (`## What it does` ...).
#[derive(Debug)]
pub struct RuleMeta {
    pub id: &'static str,
    pub default_level: Level,
    pub summary: &'static str,
    pub since: &'static str,
    pub docs: &'static str,
    pub source_file: &'static str,
    /// Keys the rule accepts in its `[rule-id]` config table; each takes a list of strings
    /// (read with [`RuleContext::option`]).
    pub options: &'static [&'static str],
}

/// Declares a rule's metadata from its doc comment, ruff-style: the doc comment is the
/// documentation page.
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub static $name:ident = {
            id: $id:literal,
            level: $level:expr,
            summary: $summary:literal,
            since: $since:literal
            $(, options: [$($opt:literal),* $(,)?])? $(,)?
        };
    ) => {
        pub static $name: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
            id: $id,
            default_level: $level,
            summary: $summary,
            since: $since,
            docs: concat!($($doc, "\n"),*),
            source_file: file!(),
            options: &[$($($opt),*)?],
        };
    };
}
pub(crate) use declare_rule;

/// What a rule sees: the crate model and its effective settings.
pub struct RuleContext<'a> {
    pub model: &'a CrateModel<'a>,
    /// The rule's level after config; `level_overridden` says whether the user set it.
    pub level: Level,
    pub level_overridden: bool,
    pub include_tests: bool,
    pub config: &'a Config,
}

impl RuleContext<'_> {
    /// A list option from the rule's config table (`[rule-id] key = [..]`); empty when unset.
    /// The key must be declared in the rule's `options`.
    pub fn option(&self, rule: &str, key: &str) -> &[String] {
        self.config
            .rule_options
            .get(rule)
            .and_then(|t| t.get(key))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The level of a finding whose catalog entry may lower the default.
    pub fn level_for(&self, entry: Option<Level>) -> Level {
        match entry {
            Some(l) if !self.level_overridden => l,
            _ => self.level,
        }
    }
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>);
}

/// Every rule, sorted by id.
pub fn all() -> &'static [&'static dyn Rule] {
    &[
        &blocking_in_async::BlockingInAsync,
        &file_logging::FileLogging,
        &global_mutable_state::GlobalMutableState,
        &in_memory_app_state::InMemoryAppState,
        &local_session_store::LocalSessionStore,
        &missing_compression::MissingCompression,
        &missing_graceful_shutdown::MissingGracefulShutdown,
        &missing_panic_handler::MissingPanicHandler,
        &panic_on_request_input::PanicOnRequestInput,
        &print_in_handler::PrintInHandler,
        &static_file_per_request::StaticFilePerRequest,
        &unauthenticated_ops_route::UnauthenticatedOpsRoute,
        &upload_to_local_disk::UploadToLocalDisk,
    ]
}

pub fn find(id: &str) -> Option<&'static dyn Rule> {
    all().iter().copied().find(|r| r.meta().id == id)
}

/// The config keys a rule accepts in its own table, if it is a rule with options.
pub fn option_keys(id: &str) -> Option<&'static [&'static str]> {
    find(id).map(|r| r.meta().options).filter(|o| !o.is_empty())
}

/// Diagnostics the engine itself emits; they can be configured and suppressed like rules.
pub const ENGINE_DIAGNOSTICS: &[(&str, Level, &str)] = &[
    (
        crate::parse::PARSE_ERROR,
        Level::Error,
        "a file could not be parsed (syntax error or invalid UTF-8); the rest of the crate is still analysed",
    ),
    (
        crate::parse::IO_ERROR,
        Level::Error,
        "a file could not be read, or was skipped for its size",
    ),
    (
        crate::parse::INTERNAL_ERROR,
        Level::Error,
        "the linter failed on a file; the rest is still analysed (exit code 2)",
    ),
    (
        crate::load::MISSING_MODULE,
        Level::Warning,
        "a `mod x;` declaration whose file does not exist",
    ),
    (
        crate::MANIFEST_ERROR,
        Level::Error,
        "a Cargo.toml that cannot be parsed (error, exit code 2) or a workspace layout problem (warning)",
    ),
    (
        crate::suppress::UNUSED_SUPPRESSION,
        Level::Warning,
        "a `stateless-lint: allow(..)` comment that suppresses nothing",
    ),
];

/// Every id a user may name in config or a suppression.
pub fn known_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = all().iter().map(|r| r.meta().id).collect();
    ids.extend(ENGINE_DIAGNOSTICS.iter().map(|d| d.0));
    ids.sort_unstable();
    ids
}

/// The documentation page of a rule, as printed by `rule ID` and stored in `docs/rules/`.
pub fn doc_page(meta: &RuleMeta) -> String {
    let mut out = String::new();
    out.push_str(&format!("# {}\n\n", meta.id));
    out.push_str(&format!(
        "Default level: **{}** · Since: {} · Source: `{}`\n\n",
        meta.default_level, meta.since, meta.source_file
    ));
    out.push_str(meta.summary);
    out.push_str("\n\n");
    for line in meta.docs.lines() {
        out.push_str(line.strip_prefix(' ').unwrap_or(line));
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
