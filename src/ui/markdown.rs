//! Lesson narration on the page: `crate::markdown`'s blocks and spans as Yew
//! elements and text nodes — never as HTML, whatever the lesson says.

use crate::markdown::{blocks, spans, Block, Span};
use yew::prelude::*;

pub fn render(text: &str) -> Html {
    html! {
        <>{ for blocks(text).into_iter().map(|b| match b {
            Block::Paragraph(p) => html! { <p>{ inline(&p) }</p> },
            Block::List(items) => html! { <ul>{ for items.iter().map(|i| html! { <li>{ inline(i) }</li> }) }</ul> },
        }) }</>
    }
}

fn inline(s: &str) -> Html {
    html! {
        <>{ for spans(s).into_iter().map(|sp| match sp {
            Span::Text(t) => html! { { t.to_string() } },
            Span::Bold(t) => html! { <b>{ t.to_string() }</b> },
            Span::Italic(t) => html! { <i>{ t.to_string() }</i> },
            Span::Code(t) => html! { <code>{ t.to_string() }</code> },
        }) }</>
    }
}
