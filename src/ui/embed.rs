//! Embed mode's two links to the host page: a `postMessage` API and an
//! IntersectionObserver that pauses the run while the frame is off screen.
//!
//!   host page ──postMessage {queuelab:"play"|"seek"|…}──► parse ──► Inbound ──► App
//!   App ──ready / time / totals / finished / height──► post ──► window.parent
//!   IntersectionObserver(app root) ──visible?──► App pauses / resumes (only what it paused)
//!
//! Origins: with `?origin=https://docs.example.org` only messages from that
//! origin are obeyed and events are posted to it alone; without it, messages
//! are obeyed only from the embedding window (`event.source === parent`) and
//! events are posted to any origin (they carry simulation numbers only).
//! Messages without a string `queuelab` field are not ours and are ignored;
//! malformed ones of ours get an `error` event naming the problem.

use crate::scenario::Command;
use serde::Deserialize;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The version of this message API, sent with `ready`.
pub const API_VERSION: u32 = 1;

/// A command from the host page.
#[derive(Clone, Debug, PartialEq)]
pub enum Inbound {
    Play,
    Pause,
    /// Seek to a simulated time [µs].
    Seek(u64),
    Speed(f64),
    /// A share link (`#v1.…`, or a whole URL).
    LoadLink(String),
    /// A built-in preset, optionally with a seed.
    LoadPreset(String, Option<u64>),
    /// A scenario as JSON text, optionally with a seed.
    LoadScenario(String, Option<u64>),
    Apply(Command),
    /// Move the end of a finished run on by its duration.
    Extend,
    /// Ask for `ready` again (a host that started listening late).
    Ping,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The verb, read by `parse` before this struct; here so it is not "unknown".
    #[allow(dead_code)]
    queuelab: String,
    #[serde(default)]
    t_us: Option<u64>,
    #[serde(default)]
    t_s: Option<f64>,
    #[serde(default)]
    speed: Option<f64>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    preset: Option<String>,
    #[serde(default)]
    scenario: Option<Value>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    command: Option<Value>,
}

/// Read one message. None: not a QueueLab message (ignore it quietly).
pub fn parse(data: &Value) -> Option<Result<Inbound, String>> {
    let verb = data.get("queuelab")?.as_str()?.to_string();
    Some(parse_ours(data, &verb))
}

fn parse_ours(data: &Value, verb: &str) -> Result<Inbound, String> {
    let raw: Raw = serde_json::from_value(data.clone()).map_err(|e| format!("{verb}: {e}"))?;
    let need = |what: &str| format!("{verb} needs `{what}`");
    Ok(match verb {
        "play" => Inbound::Play,
        "pause" => Inbound::Pause,
        "ping" => Inbound::Ping,
        "extend" => Inbound::Extend,
        "seek" => match (raw.t_us, raw.t_s) {
            (Some(t), _) => Inbound::Seek(t),
            (None, Some(s)) if s.is_finite() && s >= 0.0 => Inbound::Seek((s * 1e6).round() as u64),
            (None, Some(_)) => return Err("seek: `t_s` must be a time ≥ 0 in seconds".into()),
            (None, None) => return Err(need("t_us` or `t_s")),
        },
        "speed" => match raw.speed {
            Some(s) if s.is_finite() && s > 0.0 => Inbound::Speed(s.clamp(0.1, 1000.0)),
            Some(_) => return Err("speed: `speed` must be a number > 0".into()),
            None => return Err(need("speed")),
        },
        "load" => match (raw.link, raw.preset, raw.scenario) {
            (Some(l), None, None) => Inbound::LoadLink(l),
            (None, Some(p), None) => Inbound::LoadPreset(p, raw.seed),
            (None, None, Some(Value::String(s))) => Inbound::LoadScenario(s, raw.seed),
            (None, None, Some(v @ Value::Object(_))) => {
                Inbound::LoadScenario(v.to_string(), raw.seed)
            }
            (None, None, Some(_)) => {
                return Err("load: `scenario` must be a JSON object or its text".into())
            }
            _ => return Err("load needs exactly one of `link`, `preset` or `scenario`".into()),
        },
        "apply" => {
            let c = raw.command.ok_or_else(|| need("command"))?;
            let cmd: Command =
                serde_json::from_value(c).map_err(|e| format!("apply: command: {e}"))?;
            Inbound::Apply(cmd)
        }
        other => {
            let shown: String = other.chars().take(30).collect();
            return Err(format!(
                "unknown command {shown:?}; use play, pause, seek, speed, load, apply, extend or ping"
            ));
        }
    })
}

/// The `?origin=` parameter: the one host origin to trust, if given.
fn trusted_origin() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "origin")
        .and_then(|(_, v)| js_sys::decode_uri_component(v).ok())
        .map(String::from)
        .filter(|o| o.starts_with("http://") || o.starts_with("https://"))
}

/// Whether this page runs inside a frame.
pub fn in_frame() -> bool {
    let Some(w) = web_sys::window() else {
        return false;
    };
    match w.parent() {
        Ok(Some(p)) => !js_sys::Object::is(&p, &w),
        _ => false,
    }
}

/// Post one event to the embedding page (nothing when not framed).
pub fn post(event: &str, mut body: Value) {
    let Some(w) = web_sys::window() else {
        return;
    };
    if !in_frame() {
        return;
    }
    let Ok(Some(parent)) = w.parent() else {
        return;
    };
    if let Value::Object(m) = &mut body {
        m.insert("queuelab".into(), json!(event));
    }
    let Ok(data) = js_sys::JSON::parse(&body.to_string()) else {
        return;
    };
    let target = trusted_origin().unwrap_or_else(|| "*".into());
    let _ = parent.post_message(&data, &target);
}

/// Keeps the message listener and the visibility observer alive; both are
/// removed when this is dropped.
pub struct EmbedLinks {
    _message: gloo::events::EventListener,
    observer: Option<web_sys::IntersectionObserver>,
    _on_visibility: Option<Closure<dyn FnMut(js_sys::Array)>>,
}

impl Drop for EmbedLinks {
    fn drop(&mut self) {
        if let Some(o) = &self.observer {
            o.disconnect();
        }
    }
}

impl EmbedLinks {
    /// Listen for host messages (`on_message`) and watch `root`'s visibility
    /// in the top-level viewport (`on_visible`, called on every change).
    pub fn install(
        root: Option<web_sys::Element>,
        on_message: impl Fn(Result<Inbound, String>) + 'static,
        on_visible: impl Fn(bool) + 'static,
    ) -> Option<EmbedLinks> {
        let w = web_sys::window()?;
        let trusted = trusted_origin();
        let parent = w.parent().ok().flatten();
        let message = gloo::events::EventListener::new(&w, "message", move |e| {
            let Some(e) = e.dyn_ref::<web_sys::MessageEvent>() else {
                return;
            };
            let from_parent = match (&parent, e.source()) {
                (Some(p), Some(s)) => js_sys::Object::is(p, &s),
                _ => false,
            };
            let allowed = match &trusted {
                Some(o) => e.origin() == *o,
                None => from_parent,
            };
            if !allowed {
                return;
            }
            // Structured-clone data → JSON text → serde (no JS objects kept).
            let Some(text) = js_sys::JSON::stringify(&e.data())
                .ok()
                .and_then(|s| s.as_string())
            else {
                return;
            };
            if text.len() > crate::link::LINK_TEXT_MAX * 2 {
                on_message(Err("the message is too large".into()));
                return;
            }
            let Ok(value) = serde_json::from_slice::<Value>(text.as_bytes()) else {
                return;
            };
            if let Some(r) = parse(&value) {
                on_message(r);
            }
        });
        let (observer, closure) = match root {
            Some(el) => {
                let cb = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
                    // The last entry is the newest state.
                    if let Some(entry) = entries
                        .iter()
                        .last()
                        .and_then(|v| v.dyn_into::<web_sys::IntersectionObserverEntry>().ok())
                    {
                        on_visible(entry.is_intersecting());
                    }
                });
                let obs = web_sys::IntersectionObserver::new(cb.as_ref().unchecked_ref()).ok();
                if let Some(o) = &obs {
                    o.observe(&el);
                }
                (obs, Some(cb))
            }
            None => (None, None),
        };
        Some(EmbedLinks {
            _message: message,
            observer,
            _on_visibility: closure,
        })
    }
}

/// The page's content height [CSS px], for a host that sizes the frame to fit.
pub fn content_height() -> u32 {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return 0;
    };
    doc.get_element_by_id("app-root")
        .map(|el| el.scroll_height().max(0) as u32)
        .unwrap_or(0)
}
