//! stateless-lint: a static analyzer for Rust web services.
//!
//! Data flows one way: [`discover`] (packages, targets) → [`load`] (module trees, parsed in
//! parallel into [`facts`]) → [`model`] (the crate model every rule reads) → [`rules`] →
//! findings → [`suppress`] → [`report`]. [`engine`] runs that pipeline; the binary in
//! `main.rs` is a thin CLI over it.

pub mod baseline;
pub mod cache;
pub mod catalog;
pub mod catalogs;
pub mod cli;
pub mod config;
pub mod dataflow;
pub mod diff;
pub mod discover;
pub mod engine;
pub mod facts;
pub mod finding;
pub mod fingerprint;
pub mod load;
pub mod model;
pub mod parse;
pub mod report;
pub mod request_code;
pub mod routes;
pub mod rules;
pub mod source;
pub mod spans;
pub mod statefulness;
pub mod summary;
pub mod suppress;

/// Engine diagnostic for Cargo.toml and workspace problems.
pub const MANIFEST_ERROR: &str = "manifest-error";

/// The text of a panic payload, with the location recorded by the panic hook if any.
pub fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    match LAST_PANIC_LOCATION.with(|l| l.borrow_mut().take()) {
        Some(loc) => format!("{msg} (at {loc})"),
        None => msg,
    }
}

thread_local! {
    /// Where the last panic on this thread happened (set by the CLI's panic hook).
    pub static LAST_PANIC_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Replaces the default panic hook (which prints a trace) by one that records the location
/// for [`panic_message`]: panics are caught per file and reported as diagnostics.
pub fn install_quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let loc = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        LAST_PANIC_LOCATION.with(|l| *l.borrow_mut() = loc);
    }));
}
