//! The scenario JSON editor: apply (validate, then restart), revert, and
//! the list of problems with their field paths.

use super::{App, Msg};
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;
use yew::TargetCast;

impl App {
    pub(super) fn view_editor(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        html! {
            <div class="editor">
                <p class="hint">{"Edit the scenario and apply: the simulation restarts with it. Errors name the field's path; the current run keeps going until the scenario is valid."}</p>
                <div class="row">
                    <button id="editor-apply" class="btn primary" onclick={link.callback(|_| Msg::EditorApply)}>{"Apply & restart"}</button>
                    <button id="editor-revert" class="btn" onclick={link.callback(|_| Msg::EditorRevert)}>{"Show running scenario"}</button>
                </div>
                if let Some(n) = &self.editor_note { <div class="ok">{ n }</div> }
                if !self.editor_errors.is_empty() {
                    <div class="error" id="editor-errors">
                        <b>{ format!("{} problem(s) — nothing was applied:", self.editor_errors.len()) }</b>
                        <ul>
                            { for self.editor_errors.iter().map(|i| html! {
                                <li><code class="path">{ if i.path.is_empty() { "(document)".to_string() } else { i.path.clone() } }</code>{" "}{ i.message.clone() }</li>
                            }) }
                        </ul>
                    </div>
                }
                <textarea id="scenario-editor" spellcheck="false" value={self.editor_text.clone()}
                    oninput={link.callback(|e: InputEvent| Msg::EditorText(e.target_unchecked_into::<HtmlTextAreaElement>().value()))} />
            </div>
        }
    }
}
