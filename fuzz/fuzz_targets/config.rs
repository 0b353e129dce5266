//! Config parsing: bytes -> UTF-8 -> `toml::Table` (skipped if not TOML) -> `from_table`,
//! which must never panic. An accepted config is then used the way `engine::analyse` uses
//! it: exclude globs compiled, extra blocking APIs and escapes added to the catalog and
//! looked up.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stateless_lint::catalog::{BlockingCatalog, FnEntry, PathPattern};
use stateless_lint::config::from_table;
use stateless_lint::discover::exclude_matcher;
use stateless_lint::rules::known_ids;

static BUILTIN: OnceLock<BlockingCatalog> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return;
    };
    let known = known_ids();
    let file = Path::new("/fuzz/stateless-lint.toml");
    for prefix in ["", "package.metadata.stateless-lint."] {
        let Ok(cfg) = from_table(&table, file, prefix, &known) else {
            continue;
        };
        let _ = cfg.max_file_bytes();
        let _ = exclude_matcher(&cfg.exclude);
        let mut catalog = BUILTIN
            .get_or_init(|| BlockingCatalog::builtin().expect("built-in catalog"))
            .clone();
        for e in &cfg.extra_blocking {
            catalog.add_fn(FnEntry {
                path: e.path.clone(),
                what: e.what.clone().unwrap_or_default(),
                fix: e.fix.clone().unwrap_or_default(),
                level: e.level,
            });
        }
        for p in &cfg.extra_escapes {
            catalog.add_escape_path(p, String::new());
        }
        for path in cfg
            .extra_blocking
            .iter()
            .map(|e| e.path.as_str())
            .chain(cfg.extra_escapes.iter().map(String::as_str))
        {
            let segs = PathPattern::parse(path).segs;
            let _ = catalog.blocking_fn(&segs);
            let _ = catalog.escape_fn(&segs);
        }
    }
});
