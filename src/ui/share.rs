//! Share links in the address bar: the page's URL fragment carries the whole
//! session (`crate::link`), read once at start and rewritten as the user works.
//!
//!   start ──location.hash──► Link::decode ──► Sim::from_link (bounded replay) ──► the app
//!                                  └─ any error ──► a message, and the default preset
//!   edit / knob / seek / pause ──touch()──► 400 ms quiet ──► history.replaceState(#v1.…)
//!
//! The fragment never reaches a server, and nothing read from it is ever put
//! into the page as HTML: titles, ids and error texts become Yew text nodes.
//! Query parameters (`?preset=…&seed=…&embed=1`, see `params.rs`) keep working;
//! when both are present, the fragment decides the scenario and seed.

use crate::link::Link;

/// Quiet time before the address is rewritten [ms].
const DEBOUNCE_MS: f64 = 400.0;

/// What the free-form `view` field of a link holds for this app, written as
/// `sel=<node id>&end=<µs>&speed=<x>`; unknown keys and bad values are ignored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewState {
    /// Selected node id.
    pub selected: Option<String>,
    /// Where the run ends when the author extended it [µs].
    pub end_us: Option<u64>,
    /// Playback speed.
    pub speed: Option<f64>,
}

impl ViewState {
    pub fn parse(text: &str) -> ViewState {
        let mut v = ViewState::default();
        for kv in text.split('&') {
            let (k, val) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                "sel" if !val.is_empty() && val.len() <= 200 => {
                    v.selected = Some(unescape(val));
                }
                "end" => v.end_us = val.parse().ok(),
                "speed" => v.speed = crate::scenario::parse_f64(val).map(|s| s.clamp(0.1, 1000.0)),
                _ => {}
            }
        }
        v
    }

    pub fn to_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.selected {
            parts.push(format!("sel={}", escape(s)));
        }
        if let Some(e) = self.end_us {
            parts.push(format!("end={e}"));
        }
        if let Some(s) = self.speed {
            parts.push(format!("speed={s}"));
        }
        parts.join("&")
    }
}

/// `&`, `=` and `%` in a node id would break the `k=v&…` form.
fn escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('&', "%26")
        .replace('=', "%3D")
}

fn unescape(s: &str) -> String {
    s.replace("%3D", "=")
        .replace("%26", "&")
        .replace("%25", "%")
}

/// The fragment of the page's address, if it holds something that looks like a link.
pub fn fragment_text() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let h = hash.trim_start_matches('#');
    if h.is_empty() {
        None
    } else {
        Some(h.to_string())
    }
}

/// The page's address without its fragment.
pub fn base_url() -> String {
    web_sys::window()
        .and_then(|w| w.location().href().ok())
        .map(|h| h.split('#').next().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// Rewrites the address bar after the user has stopped changing things.
#[derive(Default)]
pub struct AddressBar {
    /// When the session last changed [ms, performance.now()], if not yet written.
    touched_ms: Option<f64>,
    /// The last fragment written (or read at start).
    pub written: String,
    /// Why the last link could not be made (too big), shown by "Copy link".
    pub error: Option<String>,
}

impl AddressBar {
    pub fn touch(&mut self, now_ms: f64) {
        self.touched_ms = Some(now_ms);
    }

    /// Whether the quiet time has passed since the last change.
    pub fn due(&self, now_ms: f64) -> bool {
        self.touched_ms
            .is_some_and(|t| now_ms - t >= DEBOUNCE_MS || now_ms < t)
    }

    /// Encode `link` and put it in the address (history.replaceState: no new
    /// history entry per knob). Returns the full URL, or None if unchanged.
    pub fn write(&mut self, link: &Link) -> Option<String> {
        self.touched_ms = None;
        let fragment = match link.encode() {
            Ok(f) => f,
            Err(e) => {
                self.error = Some(e.to_string());
                return None;
            }
        };
        self.error = None;
        if fragment == self.written {
            return None;
        }
        self.written = fragment;
        let url = format!("{}#{}", base_url(), self.written);
        if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
        Some(url)
    }

    /// The full URL of the last written fragment (the page's own address if none).
    pub fn url(&self) -> String {
        if self.written.is_empty() {
            web_sys::window()
                .and_then(|w| w.location().href().ok())
                .unwrap_or_default()
        } else {
            format!("{}#{}", base_url(), self.written)
        }
    }
}

/// Put `text` on the clipboard (best effort: the dialog also shows the link).
pub fn copy_to_clipboard(text: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
}
