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
    /// Everything the rules need when test code is not analysed: fns in test code keep
    /// their signature, not their body's facts (see `facts::extract_without_test_bodies`).
    WithoutTestBodies,
}

pub fn parse_file(
    path: &Path,
    module: &ModPath,
    is_test: bool,
    max_bytes: u64,
    depth: Depth,
) -> ParsedFile {
    match read_text(path, module, max_bytes) {
        Ok(text) => parse_text(path, module, is_test, text, depth),
        Err(failed) => *failed,
    }
}

/// Reads and decodes a file (without its BOM); a file that is too large, unreadable or not
/// UTF-8 comes back as the failed [`ParsedFile`] to report.
pub fn read_text(path: &Path, module: &ModPath, max_bytes: u64) -> Result<String, Box<ParsedFile>> {
    let start = Range {
        start: Position { line: 1, column: 1 },
        end: Position { line: 1, column: 1 },
    };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > max_bytes => {
            return Err(Box::new(ParsedFile::failed(
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
            )))
        }
        _ => {}
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return Err(Box::new(ParsedFile::failed(
                path,
                module,
                String::new(),
                FileError {
                    rule: IO_ERROR,
                    range: start,
                    message: format!("cannot read file: {e}"),
                },
            )))
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
            return Err(Box::new(ParsedFile::failed(
                path,
                module,
                String::from_utf8_lossy(&bytes).into_owned(),
                FileError {
                    rule: PARSE_ERROR,
                    range: Range { start: pos, end: pos },
                    message: format!("file is not valid UTF-8 (first invalid byte at line {line}, column {column})"),
                },
            )));
        }
    };
    if let Some(stripped) = text.strip_prefix('\u{feff}') {
        text = stripped.to_string();
    }
    Ok(text)
}

/// Parses a file's text (already read and decoded) and extracts its facts.
pub fn parse_source(path: &Path, module: &ModPath, is_test: bool, text: String) -> ParsedFile {
    parse_text(path, module, is_test, text, Depth::Full)
}

/// Parses a decoded text and extracts its facts at the given depth.
pub fn parse_text(
    path: &Path,
    module: &ModPath,
    is_test: bool,
    text: String,
    depth: Depth,
) -> ParsedFile {
    fault_injection(path);
    let suppressions = suppress::scan(&text);
    let result = match parse_syntax(&text) {
        Ok(file) => {
            let file_is_test = is_test || facts::has_cfg_test(&file.attrs);
            let facts = match depth {
                Depth::Full => facts::extract(&file, module, file_is_test),
                Depth::ModulesOnly => facts::extract_modules_only(&file, module, file_is_test),
                Depth::WithoutTestBodies => {
                    facts::extract_without_test_bodies(&file, module, file_is_test)
                }
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

/// `syn::parse_file`, lexing the text once for both the nesting check and syn (lexing is
/// about a fifth of parsing). A file starting with `#!` goes through `syn::parse_file`
/// itself, which knows a shebang line from an inner attribute.
fn parse_syntax(text: &str) -> syn::Result<syn::File> {
    let content = text.strip_prefix('\u{feff}').unwrap_or(text);
    if content.starts_with("#!") {
        if let Ok(tokens) = content.parse::<proc_macro2::TokenStream>() {
            nesting_check(tokens)?;
        }
        return syn::parse_file(text);
    }
    let tokens: proc_macro2::TokenStream = content.parse()?;
    nesting_check(tokens.clone())?;
    syn::parse2(tokens)
}

/// Deepest syntactic nesting parsed. `syn` recurses once per level with no limit of its own,
/// and a stack overflow aborts the whole process, so deeper files are a parse error.
pub const MAX_NESTING: usize = 12_000;

/// An upper bound on how deep `syn` (and the macro-body parsing in `facts`) will recurse on
/// `tokens`, computed without recursion: bracket groups, plus what nests without brackets:
/// unclosed `<`, prefix operators (`&`, `*`, `!`, `-`, `|`, `.` where no operand precedes),
/// assignments and `return`-like keywords (the last two per `,`/`;`-separated segment).
fn nesting_check(tokens: proc_macro2::TokenStream) -> syn::Result<()> {
    use proc_macro2::{Spacing, TokenTree};
    let too_deep = |span| {
        syn::Error::new(
            span,
            format!("nesting deeper than {MAX_NESTING} levels is not analysed"),
        )
    };
    #[derive(Clone, Copy, Default)]
    struct Level {
        /// Nesting of the enclosing group.
        base: usize,
        /// Unclosed `<` in the current statement.
        angle: usize,
        /// Prefix operators, assignments and keywords in the current segment.
        prefix: usize,
    }
    impl Level {
        fn get(self) -> usize {
            self.base + self.angle + self.prefix
        }
    }
    // Enclosing groups: their remaining tokens and their level.
    let mut stack: Vec<(proc_macro2::token_stream::IntoIter, Level, bool)> = Vec::new();
    let mut iter = tokens.into_iter();
    let mut lv = Level::default();
    // What the previous token was: the end of an operand (so an operator is binary), a
    // punctuation character, a `'` (so the ident is a lifetime).
    let (mut after_operand, mut after_punct, mut after_quote) = (false, false, false);
    // The last two punctuation characters.
    let (mut prev, mut prev2) = (' ', ' ');
    let mut pending_reset = false;
    loop {
        let Some(tt) = iter.next() else {
            (prev, prev2) = (' ', ' ');
            let Some((outer, l, brace)) = stack.pop() else {
                return Ok(());
            };
            (iter, lv) = (outer, l);
            // A `{ .. }` usually ends an item or a block-like statement, and then what follows
            // is not nested in what came before (`-> &T { .. }` then the next item); unless
            // an operator continues the expression (`return { .. } + return { .. }`).
            pending_reset = brace;
            (after_operand, after_punct, after_quote) = (true, false, false);
            continue;
        };
        if !matches!(tt, TokenTree::Punct(_)) {
            (prev, prev2) = (' ', ' ');
        }
        if std::mem::take(&mut pending_reset)
            && !matches!(&tt, TokenTree::Punct(p) if p.as_char() != '#')
        {
            (lv.angle, lv.prefix) = (0, 0);
        }
        match &tt {
            TokenTree::Group(g) => {
                if lv.get() + 1 > MAX_NESTING {
                    return Err(too_deep(g.span_open()));
                }
                let inner = g.stream().into_iter();
                let brace = g.delimiter() == proc_macro2::Delimiter::Brace;
                stack.push((std::mem::replace(&mut iter, inner), lv, brace));
                lv = Level {
                    base: lv.get() + 1,
                    angle: 0,
                    prefix: 0,
                };
                (after_operand, after_punct, after_quote) = (false, false, false);
                continue;
            }
            TokenTree::Punct(p) => {
                match p.as_char() {
                    ',' => lv.prefix = 0,
                    ';' => (lv.angle, lv.prefix) = (0, 0),
                    '<' => lv.angle += 1,
                    '>' => lv.angle = lv.angle.saturating_sub(1),
                    // `a = b`, `a += b` (right-associative), not `==`, `!=`, `<=`, `>=`, `=>`.
                    '=' if p.spacing() == Spacing::Alone
                        && (!matches!(prev, '=' | '!' | '<' | '>') || prev == prev2) =>
                    {
                        lv.prefix += 1
                    }
                    '&' | '*' | '!' | '-' | '|' if !after_operand => lv.prefix += 1,
                    '.' if !after_operand && !after_punct => lv.prefix += 1,
                    _ => {}
                }
                after_quote = p.as_char() == '\'';
                (prev2, prev) = (prev, p.as_char());
                (after_operand, after_punct) = (false, true);
            }
            TokenTree::Ident(i) => {
                let word = i.to_string();
                let keyword = matches!(
                    word.as_str(),
                    "return" | "break" | "yield" | "become" | "move" | "dyn" | "impl" | "box"
                );
                if keyword && !after_operand {
                    lv.prefix += 1;
                }
                let not_operand = keyword
                    || after_quote
                    || matches!(
                        word.as_str(),
                        "as" | "in"
                            | "let"
                            | "mut"
                            | "ref"
                            | "if"
                            | "match"
                            | "while"
                            | "else"
                            | "const"
                            | "static"
                            | "unsafe"
                            | "async"
                    );
                (after_operand, after_punct, after_quote) = (!not_operand, false, false);
            }
            TokenTree::Literal(_) => {
                (after_operand, after_punct, after_quote) = (true, false, false)
            }
        }
        if lv.get() > MAX_NESTING {
            return Err(too_deep(tt.span()));
        }
    }
}
