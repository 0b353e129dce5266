//! Reporting: bytes -> UTF-8 -> `analyse_source` -> the human (miette) and JSON renderings of
//! the findings, with the file's text as the snippet source, as `main.rs` prints them.
//! Any panic is a crash (the CLI would print only "internal error" and lose every finding).
#![no_main]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use stateless_lint::engine::{analyse_source, Outcome};
use stateless_lint::report::{human, json};
use stateless_lint::source::SourceText;

/// Same as `.stack_size(..)` of the thread pool in `engine::analyse`.
const STACK: usize = 256 * 1024 * 1024;

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
                let findings = analyse_source(&text);
                let path = PathBuf::from("/fuzz/src/lib.rs");
                let mut sources = HashMap::new();
                sources.insert(path.clone(), SourceText::new(path, text.clone()));
                let outcome = Outcome {
                    findings,
                    sources,
                    files: 1,
                    ..Outcome::default()
                };
                let cwd = Path::new("/fuzz");
                for (color, width) in [(false, 80), (true, 200)] {
                    let opts = human::HumanOptions {
                        color,
                        show_elapsed: None,
                        width,
                    };
                    let _ = human::render(&outcome, cwd, &opts);
                }
                let _ = json::render(&outcome, cwd);
            })
            .expect("spawn worker thread")
            .join()
            .expect("worker thread panicked");
    });
});
