//! Downloads from the app: the topology as SVG (vector, for slides), the
//! canvas as PNG, an animation as GIF (`app/animation.rs`), the time series as CSV and the trace as JSON lines.
//!
//! The SVG is built from the layout alone (nodes, edges, edge labels), so it is
//! the same picture at any window size and has no moving tokens: the shape of
//! the system, not a moment of it. Everything is text built here and handed to
//! the browser as a Blob download; names are escaped, never inserted as markup.

pub use super::svg::topology_svg;
use wasm_bindgen::JsCast;

/// Offer `text` as a file download named `name`.
pub fn download_text(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    download_parts(name, mime, &parts)
}

/// Offer `bytes` as a file download named `name`.
pub fn download_bytes(name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    download_parts(name, mime, &parts)
}

/// A Blob of `parts` offered through a temporary object URL.
fn download_parts(name: &str, mime: &str, parts: &js_sys::Array) -> Result<(), String> {
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(parts, &opts)
        .map_err(|_| "the browser refused to make the file".to_string())?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|_| "the browser refused to make the file".to_string())?;
    let r = download_url(name, &url);
    let _ = web_sys::Url::revoke_object_url(&url);
    r
}

/// Offer a URL (a blob or data URL) as a download named `name`.
pub fn download_url(name: &str, url: &str) -> Result<(), String> {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a = doc
        .create_element("a")
        .map_err(|_| "cannot make a link")?
        .dyn_into::<web_sys::HtmlAnchorElement>()
        .map_err(|_| "cannot make a link")?;
    a.set_href(url);
    a.set_download(name);
    a.click();
    Ok(())
}
