//! Whole per-file pipeline: bytes -> UTF-8 -> `analyse_source` (syn parse, fact extraction
//! incl. macro bodies, crate model, every rule, suppression comments).
//!
//! Crashes: any panic (libfuzzer-sys aborts on panic, even inside the engine's
//! `catch_unwind`), an `internal-error` finding, a stack overflow, or two runs on the same
//! input giving different findings.
//!
//! The input is analysed on a worker thread with the same stack size as the CLI's rayon
//! pool (`src/engine.rs`: 256 MiB), so a stack overflow here is one the CLI would hit too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stateless_lint::engine::analyse_source;
use stateless_lint::finding::Finding;

/// Same as `.stack_size(..)` of the thread pool in `engine::analyse`.
const STACK: usize = 256 * 1024 * 1024;

fn run(text: &str) -> Vec<Finding> {
    let findings = analyse_source(text);
    for f in &findings {
        if f.rule == "internal-error" {
            panic!("internal-error finding: {}", f.message);
        }
    }
    findings
}

/// libFuzzer's `-timeout` is a SIGALRM whose handler only acts on the fuzzing (main) thread;
/// a process-directed signal goes to a running thread, so the worker (and the thread
/// `analyse_source` starts, which inherits the mask) must block it or hangs go unreported.
fn block_sigalrm() {
    // SAFETY: plain libc calls on a local, zero-initialised signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGALRM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let text = text.to_owned();
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(STACK)
            .spawn_scoped(s, || {
                block_sigalrm();
                let first = run(&text);
                let second = run(&text);
                assert_eq!(first, second, "analyse_source is not deterministic");
            })
            .expect("spawn worker thread")
            .join()
            .expect("worker thread panicked");
    });
});
