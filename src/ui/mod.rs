//! The browser app (wasm32 only): a Yew single-page app around one engine.
//!
//!   main.rs ──start()──► panic hook + Renderer<App>
//!                          App (app/) owns Sim (sim.rs: engine + timeline) and Tokens
//!                          ├─ layout.rs   layered topology layout (pure)
//!                          ├─ render/     canvas drawing of nodes, edges (mod.rs) and tokens
//!                          ├─ charts.rs   metric charts on canvases
//!                          ├─ knobs.rs    form values → engine Commands (pure; knobs_stream.rs: groups; knobs_broker.rs: Redis, SQS, Pulsar)
//!                          ├─ views.rs    pure props → Html pieces
//!                          ├─ ledger.rs   the delivery ledger's numbers and counters (pure)
//!                          ├─ lanes.rs    variants side by side: one engine per lane, in lockstep
//!                          ├─ params.rs   URL parameters (the embed contract)
//!                          ├─ share.rs    share links in the address bar (URL fragment)
//!                          ├─ embed.rs    postMessage API and off-screen pause for embeds
//!                          └─ sweep_worker.rs  the sweep panel's runs, inside a web worker
//!
//! A panic anywhere shows a banner with a "copy reproduction" button carrying
//! the scenario, the seed and the command log, instead of a frozen page.

mod app;
mod charts;
pub mod embed;
pub mod exports;
pub mod frame_budget;
pub mod knobs;
pub mod knobs_broker;
pub mod knobs_stream;
pub mod lanes;
pub mod layout;
pub mod ledger;
pub mod markdown;
pub mod params;
pub mod render;
pub mod share;
pub mod sim;
pub mod svg;
pub mod sweep_worker;
pub mod tokens;
pub mod views;

use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

thread_local! {
    /// The latest reproduction JSON, kept fresh so the panic banner can offer it.
    static REPRO: RefCell<String> = const { RefCell::new(String::new()) };
}

pub(crate) fn set_reproduction(json: &str) {
    REPRO.with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            r.clear();
            r.push_str(json);
        }
    });
}

pub(crate) fn set_theme_class(dark: bool) {
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        body.set_class_name(if dark { "theme-dark" } else { "theme-light" });
    }
}

fn show_panic_banner(message: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if doc.get_element_by_id("panic-banner").is_some() {
        return;
    }
    let repro = REPRO.with(|r| r.try_borrow().map(|s| s.clone()).unwrap_or_default());
    let Ok(banner) = doc.create_element("div") else {
        return;
    };
    banner.set_id("panic-banner");
    banner.set_class_name("panic-banner");
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    banner.set_inner_html(&format!(
        "<div class=\"panic-inner\"><b>QueueLab hit an internal error and stopped.</b> \
         <span>Please copy the reproduction (scenario, seed and your commands) and report it.</span>\
         <pre class=\"panic-msg\">{}</pre>\
         <div class=\"row\"><button id=\"copy-repro\" class=\"btn primary\">Copy reproduction</button>\
         <button id=\"reload\" class=\"btn\" onclick=\"location.reload()\">Reload</button></div>\
         <textarea id=\"repro-text\" readonly>{}</textarea></div>",
        escape(message),
        escape(&repro)
    ));
    if let Some(body) = doc.body() {
        let _ = body.append_child(&banner);
    }
    if let Some(btn) = doc.get_element_by_id("copy-repro") {
        let text = repro.clone();
        let cb = Closure::<dyn FnMut()>::new(move || {
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&text);
            }
            if let Some(b) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id("copy-repro"))
            {
                b.set_text_content(Some("Copied ✓"));
            }
        });
        let _ = btn
            .dyn_ref::<web_sys::HtmlElement>()
            .map(|b| b.set_onclick(Some(cb.as_ref().unchecked_ref())));
        cb.forget();
    }
}

/// Mount the app on the page.
pub fn start() {
    // In the sweep panel's web worker (`sweep_worker.rs`) the same module
    // starts with no window: there is nothing to mount.
    if web_sys::window().is_none() {
        return;
    }
    // Yew installs its own hook at render unless one is given through it.
    yew::set_custom_panic_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_panic_banner(&info.to_string());
    }));
    let doc = web_sys::window().and_then(|w| w.document());
    let root = doc.as_ref().and_then(|d| d.get_element_by_id("app"));
    match root {
        Some(el) => {
            yew::Renderer::<app::App>::with_root(el).render();
        }
        None => {
            yew::Renderer::<app::App>::new().render();
        }
    }
    // The app is mounted: the static loading screen of index.html goes.
    if let Some(l) = doc.and_then(|d| d.get_element_by_id("loading")) {
        l.remove();
    }
}
