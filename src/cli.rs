//! The command line: `cargo stateless-lint [check] [PATH...]`, `cargo stateless-lint rule ID`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::baseline::{self, Baseline};
use crate::diff;
use crate::engine::{self, Options};
use crate::finding::Level;
use crate::fingerprint;
use crate::report;
use crate::rules;

#[derive(Parser, Debug)]
#[command(
    name = "cargo stateless-lint",
    bin_name = "cargo stateless-lint",
    version,
    about = "Finds what stops a Rust web service from being killed, cloned and load-balanced freely",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Lint crates, workspaces, directories or files (the default command)
    Check(Box<CheckArgs>),
    /// Print a rule's documentation, or list every rule
    Rule(RuleArgs),
    /// List every route of every router: method, path, handler, auth status
    Routes(RoutesArgs),
}

#[derive(Args, Debug)]
pub struct RoutesArgs {
    /// Crates, workspaces, directories or .rs files [default: the current directory]
    pub paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = RoutesFormat::Human)]
    pub format: RoutesFormat,
    /// Also list routes built in test code
    #[arg(long)]
    pub include_tests: bool,
    /// Read the configuration from this file instead of looking for one
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoutesFormat {
    #[default]
    Human,
    Json,
}

#[derive(Args, Debug, Default, Clone)]
pub struct CheckArgs {
    /// Crates, workspaces, directories or .rs files to lint [default: the current directory]
    pub paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// `json`: the same as `--format rustc-json` (cargo's flag, for rust-analyzer)
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "format")]
    pub message_format: Option<MessageFormat>,
    /// Write the report to this file instead of standard output
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the number of findings per rule instead of the findings
    #[arg(long)]
    pub statistics: bool,
    /// Exit with 0 even when there are findings (2 still means an error)
    #[arg(long)]
    pub exit_zero: bool,
    /// Report only findings that are not in this baseline file
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Write every current finding to this baseline file and exit with 0
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Report only findings on lines changed since this git revision (and in untracked files)
    #[arg(long, value_name = "GIT_REF")]
    pub diff_base: Option<String>,
    /// Exit with 1 when a finding is at or above this level
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    pub fail_on: FailOn,
    /// Run only these rules (comma-separated ids)
    #[arg(long, value_delimiter = ',')]
    pub select: Option<Vec<String>>,
    /// Do not run these rules (comma-separated ids)
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Skip files and directories matching this glob (repeatable)
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Worker threads [default: one per core]
    #[arg(short = 'j', long)]
    pub jobs: Option<usize>,
    /// Also analyse tests, benches, examples and #[cfg(test)] code
    #[arg(long)]
    pub include_tests: bool,
    /// Read the configuration from this file instead of looking for one
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// When to use colours in the human format
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Do not print the elapsed time (for reproducible output)
    #[arg(long)]
    pub no_timing: bool,
    /// Do not read or write the incremental cache (target/stateless-lint/)
    #[arg(long)]
    pub no_cache: bool,
    /// Benchmark baseline: read and parse every file, run no rule
    #[arg(long, hide = true)]
    pub parse_only: bool,
}

#[derive(Args, Debug)]
pub struct RuleArgs {
    /// The rule id, e.g. blocking-in-async
    #[arg(required_unless_present = "all")]
    pub id: Option<String>,
    /// List every rule with its default level and summary
    #[arg(long)]
    pub all: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// miette diagnostics and a summary line
    #[default]
    Human,
    /// one JSON document with every finding
    Json,
    /// SARIF 2.1.0, for GitHub code scanning
    Sarif,
    /// GitHub Actions workflow commands (annotations), and a step summary
    Github,
    /// cargo/rustc JSON messages, one per line, for rust-analyzer
    RustcJson,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageFormat {
    /// cargo/rustc JSON messages (`--format rustc-json`)
    Json,
    /// the human format
    Human,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailOn {
    Info,
    #[default]
    Warning,
    Error,
    Never,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// Runs the CLI; returns the process exit code. Output goes to the given writers.
pub fn run(
    args: Vec<String>,
    stdout: &mut dyn std::io::Write,
    stderr: &mut dyn std::io::Write,
) -> i32 {
    // `cargo stateless-lint ARGS` runs `cargo-stateless-lint stateless-lint ARGS`.
    let mut args = args;
    if args.get(1).map(|s| s.as_str()) == Some("stateless-lint") {
        args.remove(1);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let text = e.render().to_string();
            let _ = if code == 0 {
                stdout.write_all(text.as_bytes())
            } else {
                stderr.write_all(text.as_bytes())
            };
            return code;
        }
    };
    match cli.command {
        Some(Command::Rule(r)) => rule_command(&r, stdout, stderr),
        Some(Command::Routes(r)) => routes_command(&r, stdout, stderr),
        Some(Command::Check(c)) => check_command(&c, stdout, stderr),
        None => check_command(&cli.check, stdout, stderr),
    }
}

fn routes_command(
    args: &RoutesArgs,
    stdout: &mut dyn std::io::Write,
    stderr: &mut dyn std::io::Write,
) -> i32 {
    use crate::routes::listing;
    match listing::list(&args.paths, args.include_tests, args.config.as_deref()) {
        Ok(crates) => {
            let text = match args.format {
                RoutesFormat::Human => listing::render_human(&crates),
                RoutesFormat::Json => listing::render_json(&crates),
            };
            let _ = stdout.write_all(text.as_bytes());
            0
        }
        Err(e) => {
            let _ = writeln!(stderr, "error: {e}");
            2
        }
    }
}

fn rule_command(
    args: &RuleArgs,
    stdout: &mut dyn std::io::Write,
    stderr: &mut dyn std::io::Write,
) -> i32 {
    if args.all {
        let mut out = String::new();
        for r in rules::all() {
            let m = r.meta();
            out.push_str(&format!(
                "{:<24} {:<8} {}\n",
                m.id,
                m.default_level.as_str(),
                m.summary
            ));
        }
        out.push_str("\nengine diagnostics:\n");
        for (id, level, summary) in rules::ENGINE_DIAGNOSTICS {
            out.push_str(&format!("{:<24} {:<8} {}\n", id, level.as_str(), summary));
        }
        let _ = stdout.write_all(out.as_bytes());
        return 0;
    }
    let id = args.id.as_deref().unwrap_or_default();
    match rules::find(id) {
        Some(r) => {
            let _ = writeln!(stdout, "{}", rules::doc_page(r.meta()));
            0
        }
        None => {
            let _ = writeln!(
                stderr,
                "error: unknown rule `{id}`; `cargo stateless-lint rule --all` lists the rules"
            );
            2
        }
    }
}

fn check_command(
    args: &CheckArgs,
    stdout: &mut dyn std::io::Write,
    stderr: &mut dyn std::io::Write,
) -> i32 {
    let started = Instant::now();
    let format = match args.message_format {
        Some(MessageFormat::Json) => Format::RustcJson,
        Some(MessageFormat::Human) => Format::Human,
        None => args.format,
    };
    if args.statistics && format != Format::Human {
        let _ = writeln!(
            stderr,
            "error: --statistics prints a table; it cannot be combined with --format {}",
            format
                .to_possible_value()
                .map_or(String::new(), |v| v.get_name().to_string())
        );
        return 2;
    }
    let opts = Options {
        paths: args.paths.clone(),
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        exclude: args.exclude.clone(),
        jobs: args.jobs,
        include_tests: args.include_tests,
        config: args.config.clone(),
        parse_only: args.parse_only,
        cache: !args.no_cache,
    };
    if opts.jobs == Some(0) {
        let _ = writeln!(stderr, "error: --jobs must be at least 1");
        return 2;
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let baseline = match &args.baseline {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| Baseline::parse(&t))
        {
            Ok(b) => Some(b),
            Err(e) => {
                let _ = writeln!(stderr, "error: baseline {}: {e}", path.display());
                return 2;
            }
        },
        None => None,
    };
    let changed = match &args.diff_base {
        Some(base) => match diff::changed_since(base, &cwd) {
            Ok(c) => Some(c),
            Err(e) => {
                let _ = writeln!(stderr, "error: --diff-base: {e}");
                return 2;
            }
        },
        None => None,
    };
    let mut outcome = match engine::analyse(&opts) {
        Ok(o) => o,
        Err(e) => {
            let _ = writeln!(stderr, "error: {e}");
            return 2;
        }
    };
    // Fingerprints come from the whole run, so that filtering cannot shift occurrence indices.
    let mut fingerprints = fingerprint::fingerprints(&outcome, &cwd);
    if let Some(changed) = &changed {
        retain(&mut outcome, &mut fingerprints, |f, _| {
            changed.touches(&f.path, f.range)
        });
    }
    if let Some(path) = &args.write_baseline {
        let entries = outcome
            .findings
            .iter()
            .zip(&fingerprints)
            .map(|(f, fp)| baseline::Entry {
                rule: f.rule.to_string(),
                path: report::display_path(&f.path, &cwd),
                fingerprint: fp.clone(),
                line: f.range.start.line,
                message: f.message.clone(),
            })
            .collect();
        if let Err(e) = std::fs::write(path, baseline::render(entries)) {
            let _ = writeln!(stderr, "error: cannot write {}: {e}", path.display());
            return 2;
        }
        let _ = writeln!(
            stderr,
            "wrote {} findings to the baseline {}",
            outcome.findings.len(),
            path.display()
        );
    }
    if let Some(b) = &baseline {
        let before = outcome.findings.len();
        retain(&mut outcome, &mut fingerprints, |f, fp| {
            !b.contains(f.rule, &report::display_path(&f.path, &cwd), fp)
        });
        let known = before - outcome.findings.len();
        if known > 0 && format == Format::Human {
            let _ = writeln!(stderr, "{known} findings are in the baseline and not shown");
        }
    }
    let text = match format {
        _ if args.statistics => report::statistics::render(&outcome),
        Format::Json => report::json::render(&outcome, &cwd),
        Format::Sarif => report::sarif::render(&outcome, &cwd, &fingerprints),
        Format::RustcJson => report::rustc_json::render(&outcome, &cwd),
        Format::Github => {
            if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty())
            {
                if let Err(e) = append(
                    Path::new(&summary),
                    &report::github::step_summary(&outcome, &cwd),
                ) {
                    let _ = writeln!(stderr, "warning: cannot write the step summary: {e}");
                }
            }
            report::github::render(&outcome, &cwd)
        }
        Format::Human => {
            let color = match args.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    args.output.is_none()
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                        && std::io::stdout().is_terminal()
                }
            };
            report::human::render(
                &outcome,
                &cwd,
                &report::human::HumanOptions {
                    color,
                    show_elapsed: (!args.no_timing).then(|| started.elapsed()),
                    width: 100,
                },
            )
        }
    };
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                let _ = writeln!(stderr, "error: cannot write {}: {e}", path.display());
                return 2;
            }
        }
        None => {
            let _ = stdout.write_all(text.as_bytes());
        }
    }
    if outcome.engine_errors > 0 {
        return 2;
    }
    if args.exit_zero || args.write_baseline.is_some() {
        return 0;
    }
    let threshold = match args.fail_on {
        FailOn::Info => Some(Level::Info),
        FailOn::Warning => Some(Level::Warning),
        FailOn::Error => Some(Level::Error),
        FailOn::Never => None,
    };
    match threshold {
        Some(t) if outcome.findings.iter().any(|f| f.level >= t) => 1,
        _ => 0,
    }
}

/// Keeps the findings (and their fingerprints, which stay aligned) that `keep` accepts.
fn retain(
    outcome: &mut engine::Outcome,
    fingerprints: &mut Vec<String>,
    mut keep: impl FnMut(&crate::finding::Finding, &str) -> bool,
) {
    let findings = std::mem::take(&mut outcome.findings);
    let prints = std::mem::take(fingerprints);
    for (f, fp) in findings.into_iter().zip(prints) {
        if keep(&f, &fp) {
            outcome.findings.push(f);
            fingerprints.push(fp);
        }
    }
}

/// Appends to a file (GitHub's step summary file is shared by every step of a job).
fn append(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}
