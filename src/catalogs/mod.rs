//! Catalogs of the rules, kept as TOML under `rules/` and embedded at build time: print
//! macros and log sinks (`logging`), where request data enters and what panics
//! (`request_input`), shutdown and compression APIs (`servers`), which session stores are
//! local (`sessions`), which types hold mutable data (`state`), which calls read uploads and
//! write to the local disk (`uploads`). Each is
//! parsed once per process; a unit test checks that every built-in catalog parses.

pub mod logging;
pub mod request_input;
pub mod servers;
pub mod sessions;
pub mod state;
pub mod uploads;
