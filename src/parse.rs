//! Reading and parsing one file: text → `syn::File` → [`FileFacts`] with positions. The
//! syntax tree never leaves this module, and proc-macro2's thread-local span table is
//! cleared after each file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::facts::{self, FileFacts, ModPath};
use crate::source::{Position, Range, SourceText};
use crate::suppress::{self, Suppression};

/// Why a file could not be analysed (reported as a diagnostic; the rest goes on).
#[derive(Clone, Debug)]
pub struct FileError {
    pub rule: &'static str,
    pub range: Range,
    pub message: String,
}

pub const PARSE_ERROR: &str = "parse-error";
pub const IO_ERROR: &str = "io-error";
pub const INTERNAL_ERROR: &str = "internal-error";

#[derive(Debug)]
pub struct ParsedFile {
    pub path: PathBuf,
    pub module: ModPath,
    pub is_test: bool,
    pub source: Arc<SourceText>,
    pub facts: FileFacts,
    pub suppressions: Vec<Suppression>,
    pub error: Option<FileError>,
}

impl ParsedFile {
    fn failed(path: &Path, module: &ModPath, text: String, error: FileError) -> ParsedFile {
        ParsedFile {
            path: path.to_path_buf(),
            module: module.clone(),
            is_test: false,
            source: SourceText::new(path.to_path_buf(), text),
            facts: FileFacts::default(),
            suppressions: Vec::new(),
            error: Some(error),
        }
    }
}

/// Reads, parses and extracts one file. Never panics on bad input: I/O problems, invalid
/// UTF-8, oversized files and syntax errors become a [`FileError`].
/// How much of a file to extract.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Depth {
    /// Everything the rules need.
    #[default]
    Full,
    /// Parse, and follow `mod` items only (the benchmarks' parse-only baseline).
    ModulesOnly,
}

pub fn parse_file(
    path: &Path,
    module: &ModPath,
    is_test: bool,
    max_bytes: u64,
    depth: Depth,
) -> ParsedFile {
    let start = Range {
        start: Position { line: 1, column: 1 },
        end: Position { line: 1, column: 1 },
    };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > max_bytes => {
            return ParsedFile::failed(
                path,
                module,
                String::new(),
                FileError {
                    rule: IO_ERROR,
                    range: start,
                    message: format!(
                        "file skipped: {} bytes is over the limit of {} bytes (set `max-file-size` in the config to raise it)",
                        m.len(),
                        max_bytes
                    ),
                },
            )
        }
        _ => {}
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return ParsedFile::failed(
                path,
                module,
                String::new(),
                FileError {
                    rule: IO_ERROR,
                    range: start,
                    message: format!("cannot read file: {e}"),
                },
            )
        }
    };
    let mut text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let prefix = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            let line = prefix.matches('\n').count() as u32 + 1;
            let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
            let pos = Position { line, column };
            return ParsedFile::failed(
                path,
                module,
                String::from_utf8_lossy(&bytes).into_owned(),
                FileError {
                    rule: PARSE_ERROR,
                    range: Range { start: pos, end: pos },
                    message: format!("file is not valid UTF-8 (first invalid byte at line {line}, column {column})"),
                },
            );
        }
    };
    if let Some(stripped) = text.strip_prefix('\u{feff}') {
        text = stripped.to_string();
    }
    parse_source_with(path, module, is_test, text, depth)
}

/// Parses a file's text (already read and decoded) and extracts its facts.
pub fn parse_source(path: &Path, module: &ModPath, is_test: bool, text: String) -> ParsedFile {
    parse_source_with(path, module, is_test, text, Depth::Full)
}

fn parse_source_with(
    path: &Path,
    module: &ModPath,
    is_test: bool,
    text: String,
    depth: Depth,
) -> ParsedFile {
    fault_injection(path);
    let suppressions = suppress::scan(&text);
    let result = match syn::parse_file(&text) {
        Ok(file) => {
            let file_is_test = is_test || facts::has_cfg_test(&file.attrs);
            let facts = match depth {
                Depth::Full => facts::extract(&file, module, file_is_test),
                Depth::ModulesOnly => facts::extract_modules_only(&file, module, file_is_test),
            };
            drop(file);
            Ok((facts, file_is_test))
        }
        Err(e) => Err(FileError {
            rule: PARSE_ERROR,
            range: Range::of_span(e.span()),
            message: format!("syntax error: {e}"),
        }),
    };
    // Every span of this file is now a position; free the thread's span table.
    proc_macro2::extra::invalidate_current_thread_spans();
    let source = SourceText::new(path.to_path_buf(), text);
    match result {
        Ok((facts, file_is_test)) => ParsedFile {
            path: path.to_path_buf(),
            module: module.clone(),
            is_test: file_is_test,
            source,
            facts,
            suppressions,
            error: None,
        },
        Err(error) => ParsedFile {
            path: path.to_path_buf(),
            module: module.clone(),
            is_test,
            source,
            facts: FileFacts::default(),
            suppressions,
            error: Some(error),
        },
    }
}

/// Test hook: `STATELESS_LINT_TEST_PANIC_IN=name.rs` makes the analysis of files with that
/// name panic, so that tests can check that a crash in one file is reported as an
/// `internal-error` and the other files' findings are still printed.
fn fault_injection(path: &Path) {
    if let Some(name) = std::env::var_os("STATELESS_LINT_TEST_PANIC_IN") {
        if path.file_name() == Some(name.as_os_str()) {
            panic!("fault injected by STATELESS_LINT_TEST_PANIC_IN");
        }
    }
}
