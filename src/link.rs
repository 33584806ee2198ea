//! Share links: a whole session — scenario, seed, command log, time and view —
//! in the fragment of a URL, so that a link reproduces exactly what its author saw.
//!
//!   Link ──JSON──► raw deflate (miniz_oxide) ──► base64url, no padding ──► "v1.<data>"
//!                                                                  https://host/path/#v1.<data>
//!
//! # Format (version 1)
//!
//! The fragment is `v1.` followed by the base64url (RFC 4648 §5, no `=` padding)
//! of the raw-deflate (RFC 1951) compression of one JSON object:
//!
//! ```json
//! {"scenario": {…the full scenario…}, "seed": 5,
//!  "commands": [{"at_us": 2000000, "after_events": 41, "command": {"do": "set_rate", …}}],
//!  "time_us": 2000000, "view": "topology"}
//! ```
//!
//! `commands` is the engine's command log (`LoggedCommand`s), `time_us` is the
//! simulated time the author was looking at, `view` a free string for the app
//! (which panel, what is selected). Unknown fields are rejected, so a newer
//! format is a new version, never a silent misreading.
//!
//! Only the fragment matters: `decode` accepts a full URL (`https://…/#v1.…`),
//! a bare fragment (`#v1.…`) or the bare payload (`v1.…`). The fragment never
//! reaches a server, so a link carries a scenario without anyone storing it.
//!
//! # Guarantees
//!
//! - Decoding never panics, whatever the text: every failure is a `LinkError`
//!   naming the problem (too long, wrong version, bad base64, truncated or
//!   corrupt data, too big when inflated, bad JSON with its path, invalid scenario).
//! - Bounded work: the link text is at most `LINK_TEXT_MAX` bytes, and inflation
//!   stops at `PAYLOAD_MAX` bytes, so a small "zip bomb" cannot exhaust memory.
//! - The decoded scenario has passed `scenario::validate`. Whether the command
//!   log replays against it is checked by the engine when it replays.
//! - Engine-free and web-free: compiles for native and wasm32 alike.

use crate::scenario::LoggedCommand;
use crate::scenario::{validate, Scenario, ScenarioError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::{DecodeError, Engine as _};
use serde::{Deserialize, Serialize};

/// The version this code writes, and the only one it reads.
pub const LINK_VERSION: u32 = 1;
/// Longest link text accepted, URL included (64 KiB). Browsers keep longer
/// addresses, but one command-line argument is limited to 128 KiB on Linux,
/// and a docs page that needs more should ship a scenario file instead.
pub const LINK_TEXT_MAX: usize = 64 * 1024;
/// Largest inflated payload (4 MiB, the size limit of a scenario file).
pub const PAYLOAD_MAX: usize = 4 * 1024 * 1024;
/// Longest view string.
pub const VIEW_LEN_MAX: usize = 1024;

/// What a share link carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub scenario: Scenario,
    pub seed: u64,
    /// The engine's command log, in the order the commands were applied.
    #[serde(default)]
    pub commands: Vec<LoggedCommand>,
    /// Simulated time the author was looking at [µs].
    #[serde(default)]
    pub time_us: u64,
    /// Free-form view state for the app (panel, selection); empty for none.
    #[serde(default)]
    pub view: String,
}

/// Why a link could not be read (or written).
#[derive(Clone, Debug, PartialEq)]
pub enum LinkError {
    /// The link text is longer than `LINK_TEXT_MAX`.
    TooLong { len: usize, max: usize },
    /// No `v<N>.` payload was found.
    NotALink(String),
    /// A version this code does not read.
    WrongVersion(String),
    /// The data is not base64url.
    BadBase64(String),
    /// The compressed data ends early (a link cut off while copying).
    Truncated,
    /// The compressed data is damaged.
    Corrupt(String),
    /// The data inflates past `PAYLOAD_MAX`.
    TooBig { max: usize },
    /// The inflated payload is not the expected JSON (path and message).
    BadPayload(String),
    /// The scenario inside fails validation.
    InvalidScenario(ScenarioError),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::TooLong { len, max } => write!(
                f,
                "the link is {len} bytes long; at most {max} bytes are accepted"
            ),
            LinkError::NotALink(why) => write!(f, "not a QueueLab link: {why}"),
            LinkError::WrongVersion(v) => write!(
                f,
                "the link is format version {v}; this QueueLab reads version {LINK_VERSION}"
            ),
            LinkError::BadBase64(why) => write!(f, "the link's data is damaged (base64): {why}"),
            LinkError::Truncated => write!(
                f,
                "the link's data is truncated (was the link cut off when copied?)"
            ),
            LinkError::Corrupt(why) => write!(f, "the link's data is damaged (deflate): {why}"),
            LinkError::TooBig { max } => write!(
                f,
                "the link's data inflates past the limit of {} MiB",
                max / (1024 * 1024)
            ),
            LinkError::BadPayload(why) => write!(f, "the link's content is not valid: {why}"),
            LinkError::InvalidScenario(e) => {
                write!(f, "the link's scenario is invalid:")?;
                for issue in &e.issues {
                    write!(f, "\n{issue}")?;
                }
                Ok(())
            }
        }
    }
}
impl std::error::Error for LinkError {}

impl Link {
    /// A link to the start of a scenario run with `seed`, with no commands.
    pub fn new(scenario: Scenario, seed: u64) -> Link {
        Link {
            scenario,
            seed,
            commands: Vec::new(),
            time_us: 0,
            view: String::new(),
        }
    }

    /// The fragment text `v1.<base64url>` (without `#`).
    pub fn encode(&self) -> Result<String, LinkError> {
        if self.view.len() > VIEW_LEN_MAX {
            return Err(LinkError::BadPayload(format!(
                "view: at most {VIEW_LEN_MAX} bytes"
            )));
        }
        // Through a `Value` (same bytes as `to_vec(self)`): see `scenario::to_pretty_json`.
        let json = serde_json::to_value(self)
            .and_then(|v| serde_json::to_vec(&v))
            .map_err(|e| LinkError::BadPayload(format!("cannot serialize: {e}")))?;
        if json.len() > PAYLOAD_MAX {
            return Err(LinkError::TooBig { max: PAYLOAD_MAX });
        }
        let packed = miniz_oxide::deflate::compress_to_vec(&json, 9);
        let text = format!("v{LINK_VERSION}.{}", URL_SAFE_NO_PAD.encode(packed));
        if text.len() > LINK_TEXT_MAX {
            return Err(LinkError::TooLong {
                len: text.len(),
                max: LINK_TEXT_MAX,
            });
        }
        Ok(text)
    }

    /// `base` (any fragment of it dropped) + `#` + the encoded fragment.
    pub fn to_url(&self, base: &str) -> Result<String, LinkError> {
        let base = base.split('#').next().unwrap_or("");
        let url = format!("{base}#{}", self.encode()?);
        if url.len() > LINK_TEXT_MAX {
            return Err(LinkError::TooLong {
                len: url.len(),
                max: LINK_TEXT_MAX,
            });
        }
        Ok(url)
    }

    /// Read a link: a full URL, a `#v1.…` fragment, or the bare `v1.…` payload.
    pub fn decode(text: &str) -> Result<Link, LinkError> {
        if text.len() > LINK_TEXT_MAX {
            return Err(LinkError::TooLong {
                len: text.len(),
                max: LINK_TEXT_MAX,
            });
        }
        let text = text.trim();
        // Base64url has no '#', so everything after the first '#' is the fragment.
        let fragment = match text.split_once('#') {
            Some((_, f)) => f,
            None => text,
        };
        let Some((version, data)) = fragment.split_once('.') else {
            return Err(LinkError::NotALink(
                "expected a fragment like #v1.<data>".into(),
            ));
        };
        let Some(number) = version.strip_prefix('v') else {
            return Err(LinkError::NotALink(
                "expected a fragment like #v1.<data>".into(),
            ));
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LinkError::NotALink(format!(
                "{:?} is not a version like v1",
                shorten(version)
            )));
        }
        if number != LINK_VERSION.to_string() {
            return Err(LinkError::WrongVersion(shorten(number)));
        }
        // Tolerate padding that some tools add back.
        let data = data.trim_end_matches('=');
        if data.is_empty() {
            return Err(LinkError::Truncated);
        }
        let json = match URL_SAFE_NO_PAD.decode(data) {
            Ok(packed) => inflate(&packed)?,
            // A link cut off mid-way usually ends in a partial base64 group:
            // decode the whole groups; if the deflate stream then ends early,
            // the link was truncated, which says more than "bad base64".
            Err(e @ (DecodeError::InvalidLength(_) | DecodeError::InvalidLastSymbol(..))) => {
                let whole = &data[..data.len() / 4 * 4];
                match URL_SAFE_NO_PAD.decode(whole).map(|p| inflate(&p)) {
                    Ok(Err(LinkError::Truncated)) => return Err(LinkError::Truncated),
                    _ => return Err(LinkError::BadBase64(e.to_string())),
                }
            }
            Err(e) => return Err(LinkError::BadBase64(e.to_string())),
        };
        let mut de = serde_json::Deserializer::from_slice(&json);
        let link = Link::deserialize(&mut de).map_err(|e| {
            let path = crate::scenario::error_path(&json, &e);
            if path.is_empty() {
                LinkError::BadPayload(e.to_string())
            } else {
                LinkError::BadPayload(format!("{path}: {e}"))
            }
        })?;
        de.end()
            .map_err(|e| LinkError::BadPayload(format!("trailing data: {e}")))?;
        if link.view.len() > VIEW_LEN_MAX {
            return Err(LinkError::BadPayload(format!(
                "view: at most {VIEW_LEN_MAX} bytes"
            )));
        }
        validate(&link.scenario).map_err(|e| {
            LinkError::InvalidScenario(ScenarioError {
                issues: e
                    .issues
                    .into_iter()
                    .map(|mut i| {
                        i.path = if i.path.is_empty() {
                            "scenario".into()
                        } else {
                            format!("scenario.{}", i.path)
                        };
                        i
                    })
                    .collect(),
            })
        })?;
        Ok(link)
    }
}

/// Inflate at most `PAYLOAD_MAX` bytes, naming why it stopped.
fn inflate(packed: &[u8]) -> Result<Vec<u8>, LinkError> {
    miniz_oxide::inflate::decompress_to_vec_with_limit(packed, PAYLOAD_MAX).map_err(|e| {
        use miniz_oxide::inflate::TINFLStatus as S;
        match e.status {
            S::HasMoreOutput => LinkError::TooBig { max: PAYLOAD_MAX },
            S::FailedCannotMakeProgress | S::NeedsMoreInput => LinkError::Truncated,
            _ => LinkError::Corrupt(e.to_string()),
        }
    })
}

/// Whether `text` looks like a link rather than a file name or a preset: it
/// has a `#` fragment, a URL scheme, or starts with a version prefix `v<N>.`.
pub fn looks_like_link(text: &str) -> bool {
    let t = text.trim();
    if t.contains('#') || t.contains("://") {
        return true;
    }
    match t.strip_prefix('v').and_then(|r| r.split_once('.')) {
        Some((n, _)) => !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// At most 20 characters of untrusted text, for an error message.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(20).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mm1() -> Scenario {
        crate::scenario::preset("mm1").unwrap().scenario()
    }

    fn fragment_of(json: &[u8]) -> String {
        format!(
            "v1.{}",
            URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(json, 6))
        )
    }

    #[test]
    fn round_trips_through_url_fragment_and_payload() {
        let mut link = Link::new(mm1(), 5);
        link.time_us = 1_500_000;
        link.view = "topology".into();
        let url = link.to_url("https://example.org/queuelab/#old").unwrap();
        assert!(
            url.starts_with("https://example.org/queuelab/#v1."),
            "{url}"
        );
        let fragment = url.split_once('#').unwrap().1;
        for text in [url.clone(), format!("#{fragment}"), fragment.to_string()] {
            assert_eq!(Link::decode(&text).unwrap(), link, "{text}");
        }
        // Only URL-safe characters in the data.
        assert!(fragment[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn truncated_links_say_so() {
        let text = Link::new(mm1(), 5).encode().unwrap();
        for cut in 4..text.len() {
            let e = Link::decode(&text[..cut]).unwrap_err();
            assert_eq!(e, LinkError::Truncated, "cut at {cut} of {}", text.len());
        }
        assert_eq!(Link::decode("v1.").unwrap_err(), LinkError::Truncated);
    }

    #[test]
    fn wrong_version_and_non_links_are_named() {
        let text = Link::new(mm1(), 5).encode().unwrap();
        let v2 = text.replacen("v1.", "v2.", 1);
        let e = Link::decode(&v2).unwrap_err();
        assert_eq!(e, LinkError::WrongVersion("2".into()));
        assert!(e.to_string().contains("version 2"), "{e}");
        for junk in ["", "hello", "https://example.org/", "#x1.abc", "#v.abc"] {
            assert!(
                matches!(Link::decode(junk), Err(LinkError::NotALink(_))),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn oversized_text_and_zip_bombs_are_refused() {
        let long = format!("v1.{}", "A".repeat(LINK_TEXT_MAX));
        assert!(matches!(
            Link::decode(&long),
            Err(LinkError::TooLong { .. })
        ));
        // 16 MiB of spaces deflate to ~16 KiB: inflation must stop at PAYLOAD_MAX.
        let bomb = vec![b' '; 16 * 1024 * 1024];
        let text = fragment_of(&bomb);
        assert!(text.len() < LINK_TEXT_MAX, "{}", text.len());
        let e = Link::decode(&text).unwrap_err();
        assert_eq!(e, LinkError::TooBig { max: PAYLOAD_MAX });
        assert!(e.to_string().contains("4 MiB"), "{e}");
    }

    #[test]
    fn garbage_never_panics_and_is_named() {
        let e = Link::decode("v1.!!!!").unwrap_err();
        assert!(matches!(e, LinkError::BadBase64(_)), "{e}");
        // Valid base64 of bytes that are not deflate data.
        let e = Link::decode(&format!("v1.{}", URL_SAFE_NO_PAD.encode([0xffu8; 40]))).unwrap_err();
        assert!(
            matches!(e, LinkError::Corrupt(_) | LinkError::Truncated),
            "{e}"
        );
        // Deflate of text that is not JSON, and of JSON of the wrong shape.
        let e = Link::decode(&fragment_of(b"<script>alert(1)</script>")).unwrap_err();
        assert!(matches!(e, LinkError::BadPayload(_)), "{e}");
        let e = Link::decode(&fragment_of(br#"{"seed": 1}"#)).unwrap_err();
        assert!(e.to_string().contains("scenario"), "{e}");
        let e = Link::decode(&fragment_of(
            br#"{"scenario": {"title": "t"}, "seed": "x"}"#,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("seed"), "{e}");
        let e = Link::decode(&fragment_of(
            br#"{"scenario": {"title": "t"}, "seed": 1, "evil": 1}"#,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("evil"), "{e}");
        // Arbitrary bytes after the version prefix.
        for seed in 0u32..200 {
            let bytes: Vec<u8> = (0..seed % 97)
                .map(|i| (seed.wrapping_mul(2654435761).wrapping_add(i * 40503) >> 7) as u8)
                .collect();
            let _ = Link::decode(&format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes)));
            let _ = Link::decode(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn an_invalid_scenario_names_its_path_inside_the_link() {
        let mut s = mm1();
        s.consumers[0].prefetch = 0;
        let text = Link::new(s, 1).encode().unwrap();
        let e = Link::decode(&text).unwrap_err();
        assert!(matches!(e, LinkError::InvalidScenario(_)), "{e}");
        assert!(
            e.to_string().contains("scenario.consumers[0].prefetch"),
            "{e}"
        );
    }

    #[test]
    fn a_hostile_title_is_kept_as_plain_data() {
        let mut s = mm1();
        s.title = "<img src=x onerror=alert(1)>".into();
        let link = Link::new(s, 3);
        let back = Link::decode(&link.encode().unwrap()).unwrap();
        assert_eq!(back.scenario.title, "<img src=x onerror=alert(1)>");
    }

    #[test]
    fn looks_like_link_tells_links_from_files_and_presets() {
        for yes in ["v1.abc", "#v1.abc", "https://x.org/#v1.a", "v12.x"] {
            assert!(looks_like_link(yes), "{yes}");
        }
        for no in [
            "mm1",
            "scenarios/mm1.json",
            "v.json",
            "vx.json",
            "work-queue",
        ] {
            assert!(!looks_like_link(no), "{no}");
        }
    }
}
