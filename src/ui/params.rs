//! The embed contract: URL query parameters read once at start.
//!
//!   ?preset=mm1&seed=7&speed=10&autoplay=1&embed=1&theme=dark&presenter=1&lesson=why-queues-grow&step=2
//!
//! Unknown or malformed values fall back to defaults; nothing here can fail.

pub struct Params {
    pub preset: Option<String>,
    pub seed: Option<u64>,
    /// Simulation speed, clamped to 0.05–1000.
    pub speed: f64,
    pub autoplay: bool,
    pub embed: bool,
    pub dark: bool,
    /// Start in presenter mode (large type, panels folded).
    pub presenter: bool,
    /// Measurement only: keep this many synthetic tokens moving.
    pub bench_tokens: usize,
    /// Testing only: panic right after start to show the crash banner.
    pub panic_test: bool,
    /// Open a lesson at a step (1-based): `?lesson=why-queues-grow&step=2`.
    pub lesson: Option<(String, usize)>,
    /// Show (`charts=1`) or fold (`charts=0`) the charts and event log at
    /// start; unset, they start folded on a viewport under
    /// `FOLD_CHARTS_BELOW_PX` tall (see `charts_folded_at_start`).
    pub charts: Option<bool>,
    /// Show (`side=1`) or fold (`side=0`) the side panel at start; unset, it
    /// starts folded on a projector (see `side_folded_at_start`).
    pub side: Option<bool>,
}

/// A viewport shorter than this (a 1024×640 or 1024×768 projector, a
/// 1366×768 laptop) starts with the charts and event log folded: at 640 px
/// they would take 175 of the picture's 460 px and its names would shrink
/// to about 10 px; at 768 px they leave the picture 320 px of height (a
/// Pulsar topic with four subscriptions: names at 11 px instead of 17 px).
/// One click on **▴ Charts** brings them back; 800 px and taller (a
/// 1280×800 or 1920×1080 screen) starts with them shown.
pub const FOLD_CHARTS_BELOW_PX: f64 = 800.0;

/// A projector (shorter than `FOLD_CHARTS_BELOW_PX`) narrower than this also
/// starts with the side panel folded: at 1024×640 the panel takes 285 of
/// the picture's 1024 px (a 12-partition topic with three groups: names at
/// 13 px with it, 18 px without). Clicking a node opens it again.
pub const FOLD_SIDE_BELOW_PX: f64 = 1200.0;

/// Whether the side panel starts folded: the `side` parameter if given;
/// never with a lesson open (it lives there); else on a projector narrower
/// than `FOLD_SIDE_BELOW_PX`.
pub fn side_folded_at_start(
    side: Option<bool>,
    lesson: bool,
    viewport_w_px: f64,
    viewport_h_px: f64,
) -> bool {
    match side {
        Some(show) => !show,
        None => {
            !lesson
                && charts_folded_at_start(None, false, viewport_w_px, viewport_h_px)
                && viewport_w_px < FOLD_SIDE_BELOW_PX
        }
    }
}

/// At this width and below the panels are drawers (`app.css`), closed at
/// start whatever the height: nothing to fold.
pub const DRAWERS_AT_PX: f64 = 800.0;

/// Whether the charts start folded: the `charts` parameter if given; never
/// with a lesson open (its steps point at the charts); else whether the
/// viewport (wider than the drawer layout) is shorter than
/// `FOLD_CHARTS_BELOW_PX`.
pub fn charts_folded_at_start(
    charts: Option<bool>,
    lesson: bool,
    viewport_w_px: f64,
    viewport_h_px: f64,
) -> bool {
    match charts {
        Some(show) => !show,
        None => {
            !lesson
                && viewport_w_px > DRAWERS_AT_PX
                && viewport_h_px > 0.0
                && viewport_h_px < FOLD_CHARTS_BELOW_PX
        }
    }
}

/// `1`/`true`/`yes` (or a bare `?charts`, as a bare `?embed` is yes) or
/// `0`/`false`/`no`; anything else is no answer.
fn yes_no(v: &str) -> Option<bool> {
    match v {
        "1" | "true" | "yes" | "" => Some(true),
        "0" | "false" | "no" => Some(false),
        _ => None,
    }
}

impl Params {
    pub fn from_query(search: &str) -> Params {
        let mut p = Params {
            preset: None,
            seed: None,
            speed: 1.0,
            autoplay: false,
            embed: false,
            dark: false,
            presenter: false,
            bench_tokens: 0,
            panic_test: false,
            lesson: None,
            charts: None,
            side: None,
        };
        let mut step = 1usize;
        for kv in search.trim_start_matches('?').split('&') {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let truthy = matches!(v, "1" | "true" | "yes" | "");
            match k {
                "preset" if crate::scenario::preset(v).is_some() => p.preset = Some(v.to_string()),
                "seed" => p.seed = v.parse().ok(),
                "speed" => {
                    if let Some(s) = crate::scenario::parse_f64(v) {
                        if s.is_finite() {
                            p.speed =
                                s.clamp(crate::ui::views::SPEED_MIN, crate::ui::views::SPEED_MAX);
                        }
                    }
                }
                "autoplay" => p.autoplay = truthy,
                "embed" => p.embed = truthy,
                "theme" => p.dark = v == "dark",
                "presenter" => p.presenter = truthy,
                // Only a clear yes or no overrides the viewport's default.
                "charts" => p.charts = yes_no(v),
                "side" => p.side = yes_no(v),
                "bench_tokens" => p.bench_tokens = v.parse::<usize>().unwrap_or(0).min(20_000),
                "panic_test" => p.panic_test = truthy,
                "lesson" if crate::lesson::lesson(v).is_some() => {
                    p.lesson = Some((v.to_string(), 1))
                }
                "step" => step = v.parse::<usize>().unwrap_or(1).clamp(1, 1000),
                _ => {}
            }
        }
        if let Some((_, s)) = p.lesson.as_mut() {
            *s = step;
        }
        p
    }

    /// Whether the query names a speed (it then wins over a link's).
    pub fn has_speed() -> bool {
        web_sys::window()
            .and_then(|w| w.location().search().ok())
            .is_some_and(|s| {
                s.trim_start_matches('?')
                    .split('&')
                    .any(|kv| kv.starts_with("speed="))
            })
    }

    pub fn from_location() -> Params {
        let search = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default();
        Params::from_query(&search)
    }
}
