//! The command line: `cargo stateless-lint [check] [PATH...]`, `cargo stateless-lint rule ID`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::{self, Options};
use crate::finding::Level;
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
    Check(CheckArgs),
    /// Print a rule's documentation, or list every rule
    Rule(RuleArgs),
}

#[derive(Args, Debug, Default, Clone)]
pub struct CheckArgs {
    /// Crates, workspaces, directories or .rs files to lint [default: the current directory]
    pub paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
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
    #[default]
    Human,
    Json,
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
    if args.get(1).map(String::as_str) == Some("stateless-lint") {
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
        Some(Command::Check(c)) => check_command(&c, stdout, stderr),
        None => check_command(&cli.check, stdout, stderr),
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
    let outcome = match engine::analyse(&opts) {
        Ok(o) => o,
        Err(e) => {
            let _ = writeln!(stderr, "error: {e}");
            return 2;
        }
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let text = match args.format {
        Format::Json => report::json::render(&outcome, &cwd),
        Format::Human => {
            let color = match args.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
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
    let _ = stdout.write_all(text.as_bytes());
    if outcome.engine_errors > 0 {
        return 2;
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
