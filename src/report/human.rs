//! The human format: miette's graphical diagnostics, then one summary line.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, Severity, SourceCode, SourceSpan, SpanContents,
};

use crate::engine::Outcome;
use crate::finding::{Finding, Level};
use crate::report::{display_path, summary_line};
use crate::source::SourceText;

/// A file's text with the name to show for it.
struct NamedText {
    name: String,
    text: Arc<SourceText>,
}

impl SourceCode for NamedText {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.text.as_str().read_span(span, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

struct Rendered<'a> {
    finding: &'a Finding,
    source: Option<NamedText>,
    help: Option<String>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.finding.rule))
    }

    fn severity(&self) -> Option<Severity> {
        Some(match self.finding.level {
            Level::Error => Severity::Error,
            Level::Warning => Severity::Warning,
            Level::Info => Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.as_str()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let src = self.source.as_ref()?;
        let start = src.text.offset(self.finding.range.start);
        let mut end = src.text.offset(self.finding.range.end);
        if self.finding.range.end.line != self.finding.range.start.line || end <= start {
            // Label only the first line of a multi-line span.
            let line_end = src.text.text[start..]
                .find('\n')
                .map_or(src.text.text.len(), |i| start + i);
            end = if end <= start {
                line_end.min(start + 1)
            } else {
                end.min(line_end)
            };
        }
        let span = SourceSpan::new(start.into(), end.saturating_sub(start));
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some(self.finding.label.clone()), span),
        )))
    }
}

/// One finding without a snippet: `path:line:col: level[rule]: message`, then the help.
fn plain(f: &Finding, cwd: &Path, help: Option<&str>) -> String {
    let mut s = format!(
        "{}:{}:{}: {}[{}]: {}\n",
        display_path(&f.path, cwd),
        f.range.start.line,
        f.range.start.column,
        f.level,
        f.rule,
        f.message
    );
    if let Some(h) = help {
        for line in h.lines() {
            s.push_str(&format!("  {line}\n"));
        }
    }
    s
}

/// Longest line shown in a snippet. miette pads up to a label's column with `{:width$}`, which
/// panics past `u16::MAX` columns (tabs count 4), and every finding on a long line would
/// print the whole line again (quadratic output); such a finding is printed with its
/// location and no snippet.
const MAX_SNIPPET_LINE: usize = 4096;

fn line_too_long(text: &SourceText, range: crate::source::Range) -> bool {
    let start = text.offset(range.start).min(text.text.len());
    let line_start = text.text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text.text[start..]
        .find('\n')
        .map_or(text.text.len(), |i| start + i);
    line_end - line_start > MAX_SNIPPET_LINE
}

pub struct HumanOptions {
    pub color: bool,
    pub show_elapsed: Option<Duration>,
    pub width: usize,
}

/// Renders all findings and the summary line.
pub fn render(outcome: &Outcome, cwd: &Path, opts: &HumanOptions) -> String {
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_urls(false)
        .with_width(opts.width);
    let mut out = String::new();
    for f in &outcome.findings {
        let source = outcome.sources.get(&f.path).map(|text| NamedText {
            name: display_path(&f.path, cwd),
            text: text.clone(),
        });
        let source = source.filter(|s| !s.text.text.is_empty() && !line_too_long(&s.text, f.range));
        let mut help_lines: Vec<String> = Vec::new();
        if let Some(h) = &f.help {
            help_lines.push(h.clone());
        }
        for n in &f.notes {
            match &n.location {
                Some((p, r)) => help_lines.push(format!(
                    "note: {} ({}:{}:{})",
                    n.message,
                    display_path(p, cwd),
                    r.start.line,
                    r.start.column
                )),
                None => help_lines.push(format!("note: {}", n.message)),
            }
        }
        if crate::rules::find(f.rule).is_some() {
            help_lines.push(format!(
                "docs: `cargo stateless-lint rule {}` or docs/rules/{}.md",
                f.rule, f.rule
            ));
        }
        if source.is_none() {
            help_lines.insert(
                0,
                format!(
                    "at {}:{}:{}",
                    display_path(&f.path, cwd),
                    f.range.start.line,
                    f.range.start.column
                ),
            );
        }
        let diag = Rendered {
            finding: f,
            source,
            help: Some(help_lines.join("\n")).filter(|h| !h.is_empty()),
        };
        // miette can panic on pathological lines (thousands of tabs): fall back to a plain
        // rendering of that one finding rather than losing the whole report.
        let mut one = String::new();
        let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handler.render_report(&mut one, &diag).is_ok()
        }))
        .unwrap_or(false);
        if rendered {
            out.push_str(&one);
        } else {
            out.push_str(&plain(f, cwd, diag.help.as_deref()));
        }
        out.push('\n');
    }
    out.push_str(&summary_line(outcome, opts.show_elapsed));
    out.push('\n');
    out
}
