//! Corpus benchmark harness: runs the analysis in-process on large trees of real Rust and
//! prints, per directory, the analysed files, bytes and lines, and the median wall time of
//! the parse-only pass and of the full analysis (all rules, cross-file model), with their
//! ratio. `scripts/bench.sh` drives it, and measures the CLI binary from outside (CPU time,
//! peak RSS, the cache, ast-grep); see docs/performance.md.
//!
//!   cargo bench --bench corpus -- [-j N] [--runs N] [--list FILE] DIR...
//!
//! `--list FILE` writes the analysed files of the last DIR, one per line (the script gives
//! the same files to ast-grep). Without a DIR it prints the usage and exits 0, so
//! `cargo bench` on a machine without the corpus does nothing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use stateless_lint::engine::{self, Options};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    jobs: Option<usize>,
    runs: usize,
    list: Option<PathBuf>,
    dirs: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        jobs: None,
        runs: 3,
        list: None,
        dirs: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            // Passed by `cargo bench`.
            "--bench" => {}
            "-j" | "--jobs" => {
                args.jobs = Some(value("-j")?.parse().map_err(|e| format!("-j: {e}"))?)
            }
            "--runs" => {
                args.runs = value("--runs")?
                    .parse()
                    .map_err(|e| format!("--runs: {e}"))?
            }
            "--list" => args.list = Some(PathBuf::from(value("--list")?)),
            _ if a.starts_with('-') => return Err(format!("unknown option {a}")),
            _ => args.dirs.push(PathBuf::from(a)),
        }
    }
    args.runs = args.runs.max(1);
    Ok(args)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Median wall time of `runs` analyses, and the outcome of the last one.
fn measure(opts: &Options, runs: usize) -> (Duration, engine::Outcome) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let outcome = engine::analyse(opts).expect("analysis runs");
        times.push(start.elapsed());
        last = Some(outcome);
    }
    (median(times), last.expect("at least one run"))
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if args.dirs.is_empty() {
        println!("usage: cargo bench --bench corpus -- [-j N] [--runs N] [--list FILE] DIR...");
        println!("(no corpus given: nothing measured; see docs/performance.md)");
        return;
    }
    for dir in &args.dirs {
        let base = Options {
            paths: vec![dir.clone()],
            jobs: args.jobs,
            ..Options::default()
        };
        let parse_only = Options {
            parse_only: true,
            ..base.clone()
        };
        let (floor, _) = measure(&parse_only, args.runs);
        let (full, outcome) = measure(&base, args.runs);
        let (mut bytes, mut lines) = (0u64, 0u64);
        for p in &outcome.paths {
            if let Ok(b) = std::fs::read(p) {
                bytes += b.len() as u64;
                lines += b.iter().filter(|&&c| c == b'\n').count() as u64;
            }
        }
        let secs = full.as_secs_f64();
        println!(
            "{}: -j {} files={} bytes={} lines={} findings={} parse-only={:.3}s full={:.3}s ratio={:.3} full: {:.1} MB/s {:.0} lines/s",
            dir.display(),
            args.jobs.map_or("default".to_string(), |j| j.to_string()),
            outcome.paths.len(),
            bytes,
            lines,
            outcome.findings.len(),
            floor.as_secs_f64(),
            secs,
            secs / floor.as_secs_f64(),
            bytes as f64 / 1e6 / secs,
            lines as f64 / secs,
        );
        if let Some(list) = &args.list {
            let text: String = outcome
                .paths
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            std::fs::write(list, text).expect("write the file list");
        }
    }
}
