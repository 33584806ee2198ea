//! A small Markdown subset for lesson narration, parsed into blocks and spans.
//!
//! Paragraphs (separated by a blank line), bullet lists (`- ` or `* `),
//! `**bold**`, `*italic*` and `` `code` ``; everything else is text. The app
//! renders the result with elements and text nodes only (`ui::markdown`), so
//! nothing in a lesson can become HTML or script: `<b>` shows as `<b>`.
//! Written here rather than taken from a Markdown crate because the app needs
//! only this subset and every kilobyte of wasm is downloaded by every reader
//! of an embedding docs page. Parsing is total: any text gives some blocks.

/// One inline run of text.
#[derive(Debug, PartialEq, Eq)]
pub enum Span<'a> {
    Text(&'a str),
    Bold(&'a str),
    Italic(&'a str),
    Code(&'a str),
}

/// A block: a paragraph (its lines joined by spaces) or a bullet list.
#[derive(Debug, PartialEq, Eq)]
pub enum Block {
    Paragraph(String),
    List(Vec<String>),
}

/// Split text into paragraphs and lists.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut items: Vec<String> = Vec::new();
    fn flush(para: &mut Vec<&str>, items: &mut Vec<String>, out: &mut Vec<Block>) {
        if !para.is_empty() {
            out.push(Block::Paragraph(para.join(" ")));
            para.clear();
        }
        if !items.is_empty() {
            out.push(Block::List(std::mem::take(items)));
        }
    }
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            flush(&mut para, &mut items, &mut out);
        } else if let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
            if !para.is_empty() {
                out.push(Block::Paragraph(para.join(" ")));
                para.clear();
            }
            items.push(item.to_string());
        } else {
            if !items.is_empty() {
                out.push(Block::List(std::mem::take(&mut items)));
            }
            para.push(t);
        }
    }
    flush(&mut para, &mut items, &mut out);
    out
}

/// Split one paragraph or item into spans. A mark without its closing mark is text.
pub fn spans(s: &str) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut i = 0usize;
    while i < rest.len() {
        let tail = &rest[i..];
        let found = if let Some(t) = tail.strip_prefix('`') {
            t.find('`').map(|len| (1, len, 1, 'c'))
        } else if let Some(t) = tail.strip_prefix("**") {
            t.find("**").map(|len| (2, len, 2, 'b'))
        } else if let Some(t) = tail
            .strip_prefix('*')
            .filter(|t| !t.starts_with([' ', '*']))
        {
            t.find('*').map(|len| (1, len, 1, 'i'))
        } else {
            None
        };
        match found {
            Some((open, len, close, kind)) if len > 0 => {
                if i > 0 {
                    out.push(Span::Text(&rest[..i]));
                }
                let inner = &tail[open..open + len];
                out.push(match kind {
                    'c' => Span::Code(inner),
                    'b' => Span::Bold(inner),
                    _ => Span::Italic(inner),
                });
                rest = &tail[open + len + close..];
                i = 0;
            }
            _ => i += tail.chars().next().map_or(1, char::len_utf8),
        }
    }
    if !rest.is_empty() {
        out.push(Span::Text(rest));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_become_spans_and_html_stays_text() {
        assert_eq!(
            spans("a **b** *c* `d` <b>e</b>"),
            vec![
                Span::Text("a "),
                Span::Bold("b"),
                Span::Text(" "),
                Span::Italic("c"),
                Span::Text(" "),
                Span::Code("d"),
                Span::Text(" <b>e</b>"),
            ]
        );
        assert_eq!(
            spans("2 * 3 = 6, **open"),
            vec![Span::Text("2 * 3 = 6, **open")]
        );
        assert_eq!(spans("`a*b*c`"), vec![Span::Code("a*b*c")]);
        assert_eq!(
            spans("é **ü** ß"),
            vec![Span::Text("é "), Span::Bold("ü"), Span::Text(" ß")]
        );
        assert_eq!(spans(""), vec![]);
    }

    #[test]
    fn paragraphs_and_lists() {
        let b = blocks("one\ntwo\n\n- x\n- y\nthree\n\n\n* z");
        assert_eq!(
            b,
            vec![
                Block::Paragraph("one two".into()),
                Block::List(vec!["x".into(), "y".into()]),
                Block::Paragraph("three".into()),
                Block::List(vec!["z".into()]),
            ]
        );
        assert_eq!(blocks("  \n\n"), vec![]);
    }
}
