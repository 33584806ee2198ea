//! The scenario JSON editor: apply (validate, then restart), revert, and
//! the list of problems with their field paths and lines.
//!
//!   ┌ gutter ┬ backdrop: one row per line (number, error mark), same wrapping ┐
//!   │   12   │ textarea on top, transparent, scrolled in step with the rows     │
//!
//! The backdrop rows hold the same text as the textarea in the same font and
//! width, so a wrapped line's number sits on its first row. Each problem names
//! its line; a click (and, after Apply, the first problem by itself) puts the
//! caret on that line and scrolls it into view.

use super::{App, Msg};
use crate::scenario::{edit, ScenarioIssue};
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlTextAreaElement};
use yew::prelude::*;
use yew::TargetCast;

/// The 1-based line of `text` an issue points at: the parser's "at line L"
/// when it gives one, else the line of the value at the issue's path.
pub(super) fn issue_line(text: &str, issue: &ScenarioIssue) -> Option<usize> {
    if let Some(k) = issue.message.rfind(" at line ") {
        let rest = &issue.message[k + " at line ".len()..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(l) = digits.parse::<usize>() {
            return Some(l.max(1));
        }
    }
    let at = edit::offset_of_path(text, &issue.path)?;
    Some(text.get(..at)?.matches('\n').count() + 1)
}

/// Put the caret at the start of `line` (1-based) and scroll it into view.
/// An effect, run from a click or after a render, never from a reducer.
pub(super) fn jump_to_line(line: usize) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(ta) = doc
        .get_element_by_id("scenario-editor")
        .and_then(|e| e.dyn_into::<HtmlTextAreaElement>().ok())
    else {
        return;
    };
    let text = ta.value();
    // setSelectionRange counts UTF-16 code units.
    let start: usize = text
        .split('\n')
        .take(line.saturating_sub(1))
        .map(|l| l.encode_utf16().count() + 1)
        .sum();
    let _ = ta.focus();
    let _ = ta.set_selection_range(start as u32, start as u32);
    if let Some(row) = doc
        .get_element_by_id(&format!("ln-{line}"))
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
    {
        ta.set_scroll_top((row.offset_top() - 48).max(0));
    }
    sync_backdrop(&ta);
}

/// Keep the numbered rows under the text as it scrolls.
fn sync_backdrop(ta: &HtmlTextAreaElement) {
    if let Some(back) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("editor-back"))
    {
        back.set_scroll_top(ta.scroll_top());
    }
}

impl App {
    pub(super) fn view_editor(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let lines: Vec<Option<usize>> = self
            .editor_errors
            .iter()
            .map(|i| issue_line(&self.editor_text, i))
            .collect();
        let bad: std::collections::BTreeSet<usize> = lines.iter().flatten().copied().collect();
        let on_scroll = Callback::from(|e: Event| {
            sync_backdrop(&e.target_unchecked_into::<HtmlTextAreaElement>());
        });
        html! {
            <div class="editor">
                <div class="row">
                    <button id="editor-apply" class="btn primary" onclick={link.callback(|_| Msg::EditorApply)}>{"Apply & restart"}</button>
                    <button id="editor-revert" class="btn" onclick={link.callback(|_| Msg::EditorRevert)}>{"Show running scenario"}</button>
                    <button id="editor-room" class={classes!("btn", self.editor_room.then_some("on"))} aria-pressed={self.editor_room.to_string()}
                        title="The editor takes the full height (charts and log folded), or shares it with them"
                        onclick={link.callback(|_| Msg::EditorRoom)}>{ if self.editor_room { "Show charts" } else { "⤢ More room" } }</button>
                </div>
                <p class="hint">{"Apply restarts the simulation with this scenario. The builder edits the same scenario. Errors name the field's path and line; click one to go there."}</p>
                if let Some(n) = &self.editor_note { <div class="note-ok">{ n }</div> }
                if !self.editor_errors.is_empty() {
                    <div class="error editor-errors" id="editor-errors">
                        <b>{ format!("{} problem(s) — nothing was applied:", self.editor_errors.len()) }</b>
                        <ul>
                            { for self.editor_errors.iter().zip(lines.iter()).map(|(i, l)| {
                                let l = *l;
                                html! {
                                <li>
                                    if let Some(l) = l {
                                        <button class="err-line" data-line={l.to_string()} title="Go to this line"
                                            onclick={Callback::from(move |_| jump_to_line(l))}>{ format!("line {l}") }</button>{" "}
                                    }
                                    <code class="path">{ match i.path.as_str() { "" => "(document)".to_string(), "?" => "(syntax)".to_string(), p => p.to_string() } }</code>{" "}{ i.message.clone() }
                                </li>
                            }}) }
                        </ul>
                    </div>
                }
                <div class="code">
                    <div class="code-back" id="editor-back" aria-hidden="true">
                        { for self.editor_text.split('\n').enumerate().map(|(k, l)| {
                            let n = k + 1;
                            html! {
                                <div id={format!("ln-{n}")} class={classes!("ln", bad.contains(&n).then_some("err"))} data-n={n.to_string()}>{ if l.is_empty() { " " } else { l } }</div>
                            }
                        }) }
                    </div>
                    <textarea id="scenario-editor" spellcheck="false" wrap="soft" value={self.editor_text.clone()}
                        onscroll={on_scroll}
                        oninput={link.callback(|e: InputEvent| Msg::EditorText(e.target_unchecked_into::<HtmlTextAreaElement>().value()))} />
                </div>
            </div>
        }
    }
}
