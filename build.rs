//! Computes the build identity that keys the incremental cache (src/cache.rs): a hash of the
//! crate version, every source file under `src/`, the catalogs under `rules/` (the rules read
//! them, and the cache keeps the rules' findings) and `Cargo.lock` (the syn version parses).
//! Any change to the code that produces facts or findings gives new keys, so a cache entry is
//! only ever read back by the build that wrote it. Reads files only; runs nothing.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let mut list = Vec::new();
    files(Path::new("src"), &mut list);
    files(Path::new("rules"), &mut list);
    list.push(PathBuf::from("Cargo.lock"));
    list.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::env::var("CARGO_PKG_VERSION")
        .unwrap_or_default()
        .hash(&mut h);
    for p in &list {
        p.hash(&mut h);
        std::fs::read(p).unwrap_or_default().hash(&mut h);
    }
    println!(
        "cargo:rustc-env=STATELESS_LINT_BUILD_ID={:016x}",
        h.finish()
    );
}
