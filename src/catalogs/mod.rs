//! Catalogs of the statelessness rules, kept as TOML under `rules/` and embedded at build
//! time: which session stores are local (`sessions`), which types hold mutable data
//! (`state`), which calls read uploads and write to the local disk (`uploads`). Each is
//! parsed once per process; a unit test checks that every built-in catalog parses.

pub mod sessions;
pub mod state;
pub mod uploads;
