//! Source text and positions: what every later stage uses instead of `Span`s.
//!
//! proc-macro2's span table is thread-local, so spans are turned into [`Position`]s on
//! the thread that parsed the file, and nothing downstream ever sees a `Span`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// A 1-based line and a 1-based column counted in characters (not bytes).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// A half-open range of positions in one file.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

impl Range {
    /// The range covered by a span. Only meaningful on the thread that parsed the file.
    pub fn of_span(span: proc_macro2::Span) -> Range {
        let s = span.start();
        let e = span.end();
        Range {
            start: Position {
                line: s.line as u32,
                column: s.column as u32 + 1,
            },
            end: Position {
                line: e.line as u32,
                column: e.column as u32 + 1,
            },
        }
    }

    /// The range covered by a syntax node.
    pub fn of<T: syn::spanned::Spanned + ?Sized>(node: &T) -> Range {
        Range::of_span(node.span())
    }
}

/// Maps positions back to byte offsets (for miette) and extracts source lines.
#[derive(Debug)]
pub struct LineIndex {
    /// Byte offset of the start of each line (line 1 at index 0).
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        LineIndex { line_starts }
    }

    /// Byte offset of a position; positions past the end clamp to the text length.
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let line = (pos.line.max(1) as usize) - 1;
        let Some(&start) = self.line_starts.get(line) else {
            return text.len();
        };
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(text.len());
        let line_text = &text[start..end];
        let col = pos.column.max(1) as usize - 1;
        match line_text.char_indices().nth(col) {
            Some((i, _)) => start + i,
            None => end,
        }
    }

    /// The text of a 1-based line, without its line terminator.
    pub fn line_text<'a>(&self, text: &'a str, line: u32) -> &'a str {
        let line = (line.max(1) as usize) - 1;
        let Some(&start) = self.line_starts.get(line) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(text.len());
        text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// A file's text kept for reporting (snippets, miette labels).
#[derive(Debug)]
pub struct SourceText {
    pub path: PathBuf,
    pub text: String,
    /// Built on first use: only files with findings need it.
    index: OnceLock<LineIndex>,
}

impl SourceText {
    pub fn new(path: PathBuf, text: String) -> Arc<SourceText> {
        Arc::new(SourceText {
            path,
            text,
            index: OnceLock::new(),
        })
    }

    pub fn index(&self) -> &LineIndex {
        self.index.get_or_init(|| LineIndex::new(&self.text))
    }

    pub fn offset(&self, pos: Position) -> usize {
        self.index().offset(&self.text, pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_characters_and_handle_crlf() {
        let text = "fn a() {}\r\nlet é = x;\r\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.offset(text, Position { line: 1, column: 1 }), 0);
        // `x` is the 9th character of line 2, after a two-byte `é`.
        let off = idx.offset(text, Position { line: 2, column: 9 });
        assert_eq!(&text[off..off + 1], "x");
        assert_eq!(idx.line_text(text, 2), "let é = x;");
        assert_eq!(idx.line_count(), 3);
    }
}
